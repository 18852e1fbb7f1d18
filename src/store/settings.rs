//! Deployment-wide values generated once and shared by every instance.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::settings;
use crate::db::DbConn;

pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    settings::table
        .find(key)
        .select(settings::value)
        .get_result(conn)
        .optional()
}

/// The stored value of `key`, storing `value` first if there is none. Two instances starting
/// together agree: the loser of the insert reads the winner's value.
pub fn get_or_insert(
    conn: &mut DbConn,
    key: &str,
    value: &str,
    now: NaiveDateTime,
) -> QueryResult<String> {
    if let Some(v) = get(conn, key)? {
        return Ok(v);
    }
    let inserted = diesel::insert_into(settings::table)
        .values((
            settings::key.eq(key),
            settings::value.eq(value),
            settings::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(value.to_string()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => get(conn, key)?.ok_or(diesel::result::Error::NotFound),
        Err(e) => Err(e),
    }
}
