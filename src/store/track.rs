//! Every position fix technicians' phones sent: where the holder of a ticket was while they
//! held it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::technician_track;
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = technician_track)]
pub struct FixRow {
    pub user_id: String,
    /// When the phone took the fix.
    pub at: NaiveDateTime,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub received_at: NaiveDateTime,
}

/// Keeps the fixes not already kept (by technician and time). Answers how many were new.
pub fn insert(conn: &mut DbConn, fixes: &[FixRow]) -> QueryResult<usize> {
    if fixes.is_empty() {
        return Ok(0);
    }
    match conn {
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(technician_track::table)
            .values(fixes)
            .execute(c),
        DbConn::Postgres(c) => diesel::insert_into(technician_track::table)
            .values(fixes)
            .on_conflict_do_nothing()
            .execute(c),
    }
}

/// A technician's fixes from `from` to `to`, oldest first, at most `limit`.
pub fn between(
    conn: &mut DbConn,
    user_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<FixRow>> {
    technician_track::table
        .filter(technician_track::user_id.eq(user_id))
        .filter(technician_track::at.ge(from))
        .filter(technician_track::at.le(to))
        .order(technician_track::at.asc())
        .limit(limit)
        .select(FixRow::as_select())
        .load(conn)
}

/// Forgets fixes taken before `before`.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(technician_track::table.filter(technician_track::at.lt(before))).execute(conn)
}
