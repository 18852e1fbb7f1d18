//! Callbacks to repaired customers and the days whose sampling top-up has run.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{callback_days, callbacks, tickets};
use crate::db::DbConn;
use crate::domain::callback::CallbackStatus;

/// A callback as stored. Region, district, technician and resolution time are the ticket's,
/// copied so the per-district, per-day and per-month counts need no join.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = callbacks, treat_none_as_null = true)]
pub struct CallbackRow {
    pub id: String,
    pub ticket_id: String,
    pub region_id: String,
    pub district_id: Option<String>,
    /// The technician who resolved the ticket.
    pub technician_id: Option<String>,
    pub resolved_at: NaiveDateTime,
    pub reason: String,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: CallbackStatus,
    pub attempts: i32,
    pub due_at: NaiveDateTime,
    pub outcome: Option<String>,
    pub rating_attitude: Option<i32>,
    pub rating_timeliness: Option<i32>,
    pub rating_quality: Option<i32>,
    pub note: Option<String>,
    pub agent_id: Option<String>,
    pub completed_at: Option<NaiveDateTime>,
    pub follow_up_ticket_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

pub fn insert(conn: &mut DbConn, row: &CallbackRow) -> QueryResult<()> {
    diesel::insert_into(callbacks::table)
        .values(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<CallbackRow>> {
    callbacks::table
        .find(id)
        .select(CallbackRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn for_ticket(conn: &mut DbConn, ticket_id: &str) -> QueryResult<Option<CallbackRow>> {
    callbacks::table
        .filter(callbacks::ticket_id.eq(ticket_id))
        .select(CallbackRow::as_select())
        .get_result(conn)
        .optional()
}

/// Writes a changed callback if nobody changed it since it was read.
pub fn save(conn: &mut DbConn, row: &mut CallbackRow) -> QueryResult<bool> {
    let read = row.version;
    row.version = read + 1;
    let n = diesel::update(
        callbacks::table
            .filter(callbacks::id.eq(&row.id))
            .filter(callbacks::version.eq(read)),
    )
    .set(row.clone())
    .execute(conn)?;
    if n == 0 {
        row.version = read;
    }
    Ok(n == 1)
}

/// Filters for the call center's queue.
#[derive(Debug, Clone)]
pub struct QueueFilter {
    pub regions: Option<Vec<String>>,
    pub status: CallbackStatus,
    pub district_id: Option<String>,
    /// Only callbacks due by then.
    pub due_by: Option<NaiveDateTime>,
    pub offset: i64,
    pub limit: i64,
}

/// Callbacks in the filter, earliest due first.
pub fn queue(conn: &mut DbConn, f: &QueueFilter) -> QueryResult<Vec<CallbackRow>> {
    let mut q = callbacks::table
        .select(CallbackRow::as_select())
        .filter(callbacks::status.eq(f.status.as_str()))
        .into_boxed();
    if let Some(r) = &f.regions {
        q = q.filter(callbacks::region_id.eq_any(r.clone()));
    }
    if let Some(d) = &f.district_id {
        q = q.filter(callbacks::district_id.eq(d.clone()));
    }
    if let Some(t) = f.due_by {
        q = q.filter(callbacks::due_at.le(t));
    }
    q.order((callbacks::due_at.asc(), callbacks::id.asc()))
        .offset(f.offset)
        .limit(f.limit)
        .load(conn)
}

/// A resolved ticket as the daily top-up sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub ticket_id: String,
    pub region_id: String,
    pub district_id: Option<String>,
    pub resolved_at: NaiveDateTime,
    pub called_back: bool,
}

/// Tickets resolved in `[start, end)`, and whether each has a callback.
pub fn resolved_between(
    conn: &mut DbConn,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<Resolved>> {
    let rows: Vec<(String, String, Option<String>, Option<NaiveDateTime>)> = tickets::table
        .filter(tickets::resolved_at.ge(start))
        .filter(tickets::resolved_at.lt(end))
        // A network fault's calls are asked by SMS whether service is back, not called back.
        .filter(tickets::network_fault_id.is_null())
        .select((
            tickets::id,
            tickets::region_id,
            tickets::district_id,
            tickets::resolved_at,
        ))
        .load(conn)?;
    let called: std::collections::HashSet<String> = callbacks::table
        .filter(callbacks::resolved_at.ge(start))
        .filter(callbacks::resolved_at.lt(end))
        .select(callbacks::ticket_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|(id, region_id, district_id, at)| {
            Some(Resolved {
                called_back: called.contains(&id),
                ticket_id: id,
                region_id,
                district_id,
                resolved_at: at?,
            })
        })
        .collect())
}

/// The last local day (`YYYY-MM-DD`) whose top-up has run.
pub fn last_closed_day(conn: &mut DbConn) -> QueryResult<Option<String>> {
    callback_days::table
        .select(diesel::dsl::max(callback_days::day))
        .get_result(conn)
}

/// Marks a day closed. False if it already was (another instance closed it first).
pub fn close_day(
    conn: &mut DbConn,
    day: &str,
    at: NaiveDateTime,
    resolved: i32,
    topped_up: i32,
) -> QueryResult<bool> {
    if callback_days::table
        .find(day)
        .select(callback_days::day)
        .first::<String>(conn)
        .optional()?
        .is_some()
    {
        return Ok(false);
    }
    diesel::insert_into(callback_days::table)
        .values((
            callback_days::day.eq(day),
            callback_days::closed_at.eq(at),
            callback_days::resolved.eq(resolved),
            callback_days::topped_up.eq(topped_up),
        ))
        .execute(conn)?;
    Ok(true)
}

/// The earliest resolution time of any ticket.
pub fn first_resolution(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    tickets::table
        .select(diesel::dsl::min(tickets::resolved_at))
        .get_result(conn)
}
