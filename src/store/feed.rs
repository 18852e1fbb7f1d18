//! The feed: every change to a ticket, in sequence order, for the phone app's stream (the
//! entries of the user who holds the ticket) and the dispatchers' board (the entries of the
//! ticket's region).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::user_feed;
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = user_feed)]
pub struct FeedRow {
    pub seq: i64,
    /// Whose phone hears of it: the ticket's holder (or, for `unassigned`, the one it was taken
    /// from); None for a ticket nobody holds.
    pub user_id: Option<String>,
    pub ticket_id: String,
    pub kind: String,
    pub at: NaiveDateTime,
    /// JSON object.
    pub detail: String,
    /// The ticket's region, whose boards hear of it.
    pub region_id: String,
}

/// Appends an entry about `ticket_id` of `region_id` for `user_id`'s phone (if any) and the
/// region's boards. A user's entry changes their phone's list: it raises their list version
/// ([`crate::store::list_versions`]) at the end of the transaction.
pub fn append(
    conn: &mut DbConn,
    user_id: Option<&str>,
    region_id: &str,
    ticket_id: &str,
    kind: &str,
    at: NaiveDateTime,
    detail: &str,
) -> QueryResult<()> {
    if let Some(user) = user_id {
        crate::store::list_versions::touch(user, ticket_id, at);
    }
    diesel::insert_into(user_feed::table)
        .values((
            user_feed::user_id.eq(user_id),
            user_feed::region_id.eq(region_id),
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

/// The entries of tickets in `regions` (every region: None) after `after`, oldest first, at
/// most `limit`: what a board missed.
pub fn in_regions_after(
    conn: &mut DbConn,
    regions: Option<&[String]>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<FeedRow>> {
    let mut q = user_feed::table
        .filter(user_feed::seq.gt(after))
        .order(user_feed::seq.asc())
        .limit(limit)
        .select(FeedRow::as_select())
        .into_boxed();
    if let Some(r) = regions {
        q = q.filter(user_feed::region_id.eq_any(r.to_vec()));
    }
    q.load(conn)
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
