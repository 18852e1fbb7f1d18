//! Users' feeds: the events of their tickets, for the phone app's stream.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::user_feed;
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = user_feed)]
pub struct FeedRow {
    pub seq: i64,
    pub user_id: String,
    pub ticket_id: String,
    pub kind: String,
    pub at: NaiveDateTime,
    /// JSON object.
    pub detail: String,
}

pub fn append(
    conn: &mut DbConn,
    user_id: &str,
    ticket_id: &str,
    kind: &str,
    at: NaiveDateTime,
    detail: &str,
) -> QueryResult<()> {
    crate::store::list_versions::touch(user_id, ticket_id, at);
    diesel::insert_into(user_feed::table)
        .values((
            user_feed::user_id.eq(user_id),
            user_feed::ticket_id.eq(ticket_id),
            user_feed::kind.eq(kind),
            user_feed::at.eq(at),
            user_feed::detail.eq(detail),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A user's entries after `after`, oldest first, at most `limit`.
pub fn after(
    conn: &mut DbConn,
    user_id: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<FeedRow>> {
    user_feed::table
        .filter(user_feed::user_id.eq(user_id))
        .filter(user_feed::seq.gt(after))
        .order(user_feed::seq.asc())
        .limit(limit)
        .select(FeedRow::as_select())
        .load(conn)
}

/// The newest entry of a user (0 when none): where a fresh stream starts.
pub fn last_seq(conn: &mut DbConn, user_id: &str) -> QueryResult<i64> {
    let max: Option<i64> = user_feed::table
        .filter(user_feed::user_id.eq(user_id))
        .select(diesel::dsl::max(user_feed::seq))
        .get_result(conn)?;
    Ok(max.unwrap_or(0))
}

/// Every user's entries after `after`, oldest first, at most `limit`: what an instance's reader
/// hands to the open streams.
pub fn since(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<FeedRow>> {
    user_feed::table
        .filter(user_feed::seq.gt(after))
        .order(user_feed::seq.asc())
        .limit(limit)
        .select(FeedRow::as_select())
        .load(conn)
}

/// The entries among `seqs` that exist now, oldest first.
pub fn with_seqs(conn: &mut DbConn, seqs: &[i64]) -> QueryResult<Vec<FeedRow>> {
    user_feed::table
        .filter(user_feed::seq.eq_any(seqs))
        .order(user_feed::seq.asc())
        .select(FeedRow::as_select())
        .load(conn)
}

/// The newest entry of any user (0 when none).
pub fn max_seq(conn: &mut DbConn) -> QueryResult<i64> {
    let max: Option<i64> = user_feed::table
        .select(diesel::dsl::max(user_feed::seq))
        .get_result(conn)?;
    Ok(max.unwrap_or(0))
}
