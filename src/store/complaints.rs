//! Complaints and the history of their investigation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{complaint_history, complaints};
use crate::db::DbConn;
use crate::domain::complaint::{Handling, Kind, Status};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = complaints, treat_none_as_null = true)]
pub struct ComplaintRow {
    pub id: String,
    pub region_id: String,
    pub district_id: String,
    pub ticket_id: Option<String>,
    pub callback_id: Option<String>,
    pub source: String,
    pub category: String,
    pub description: String,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub received_at: NaiveDateTime,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: Status,
    pub responsible_user_id: Option<String>,
    pub deduction: Option<f64>,
    pub verified_by: Option<String>,
    pub verified_at: Option<NaiveDateTime>,
    pub verification_note: Option<String>,
    pub version: i64,
    /// Sets the handling clock.
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub kind: Kind,
    /// Whoever received it (first-ask responsibility); None when the system or a customer's SMS
    /// opened it.
    pub owner_user_id: Option<String>,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub handling: Handling,
    /// The reply deadline a 12345/12315 hotline gave.
    pub hotline_due_at: Option<NaiveDateTime>,
    pub handle_due_at: Option<NaiveDateTime>,
    /// Answered by the clock (set at the first reply, or false at the first breach).
    pub handled_on_time: Option<bool>,
    /// Rungs climbed: 1 team leader, 2 section head, 3 branch.
    pub escalation_level: i32,
    /// The next rung's time while the complaint waits for its reply.
    pub next_deadline_at: Option<NaiveDateTime>,
    pub replied_at: Option<NaiveDateTime>,
    pub reply: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    /// Times the customer did not accept the answer, or it was reopened.
    pub reopened: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = complaint_history)]
pub struct HistoryRow {
    pub id: String,
    pub complaint_id: String,
    pub at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    /// JSON object.
    pub detail: String,
}

pub fn insert(conn: &mut DbConn, row: &ComplaintRow) -> QueryResult<()> {
    diesel::insert_into(complaints::table)
        .values(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<ComplaintRow>> {
    complaints::table
        .find(id)
        .select(ComplaintRow::as_select())
        .get_result(conn)
        .optional()
}

/// Writes a changed complaint if nobody changed it since it was read.
pub fn save(conn: &mut DbConn, row: &mut ComplaintRow) -> QueryResult<bool> {
    let read = row.version;
    row.version = read + 1;
    let n = diesel::update(
        complaints::table
            .filter(complaints::id.eq(&row.id))
            .filter(complaints::version.eq(read)),
    )
    .set(row.clone())
    .execute(conn)?;
    if n == 0 {
        row.version = read;
    }
    Ok(n == 1)
}

pub fn append_history(conn: &mut DbConn, h: &HistoryRow) -> QueryResult<()> {
    diesel::insert_into(complaint_history::table)
        .values(h)
        .execute(conn)
        .map(|_| ())
}

pub fn history(conn: &mut DbConn, complaint_id: &str) -> QueryResult<Vec<HistoryRow>> {
    complaint_history::table
        .filter(complaint_history::complaint_id.eq(complaint_id))
        .select(HistoryRow::as_select())
        .order((complaint_history::at.asc(), complaint_history::id.asc()))
        .load(conn)
}

/// Whether any complaint names the ticket.
pub fn exists_for_ticket(conn: &mut DbConn, ticket_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        complaints::table.filter(complaints::ticket_id.eq(ticket_id)),
    ))
    .get_result(conn)
}

/// Filters for the complaint list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub regions: Option<Vec<String>>,
    pub district_id: Option<String>,
    pub status: Option<String>,
    pub received: Option<(NaiveDateTime, NaiveDateTime)>,
    pub offset: i64,
    pub limit: i64,
}

/// Complaints in the filter, newest first.
pub fn list(conn: &mut DbConn, f: &ListFilter) -> QueryResult<Vec<ComplaintRow>> {
    let mut q = complaints::table
        .select(ComplaintRow::as_select())
        .into_boxed();
    if let Some(r) = &f.regions {
        q = q.filter(complaints::region_id.eq_any(r.clone()));
    }
    if let Some(d) = &f.district_id {
        q = q.filter(complaints::district_id.eq(d.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(complaints::status.eq(s.clone()));
    }
    if let Some((s, e)) = f.received {
        q = q
            .filter(complaints::received_at.ge(s))
            .filter(complaints::received_at.lt(e));
    }
    q.order((complaints::received_at.desc(), complaints::id.desc()))
        .offset(f.offset)
        .limit(f.limit)
        .load(conn)
}

/// Upheld complaints received in `[start, end)` that name a person responsible and a
/// deduction, in `scope`'s regions when given, oldest first.
pub fn upheld_with_deduction(
    conn: &mut DbConn,
    start: NaiveDateTime,
    end: NaiveDateTime,
    scope: Option<&[String]>,
) -> QueryResult<Vec<ComplaintRow>> {
    let mut q = complaints::table
        .filter(complaints::received_at.ge(start))
        .filter(complaints::received_at.lt(end))
        .filter(complaints::status.eq(crate::domain::complaint::Status::Upheld.as_str()))
        .filter(complaints::responsible_user_id.is_not_null())
        .filter(complaints::deduction.is_not_null())
        .select(ComplaintRow::as_select())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(complaints::region_id.eq_any(ids.to_vec()));
    }
    q.order((complaints::received_at.asc(), complaints::id.asc()))
        .load(conn)
}

/// Complaints received in `[start, end)` naming any of `people` as responsible; only the
/// upheld ones when `upheld_only`.
pub fn naming(
    conn: &mut DbConn,
    start: NaiveDateTime,
    end: NaiveDateTime,
    people: &[String],
    upheld_only: bool,
) -> QueryResult<Vec<ComplaintRow>> {
    let mut q = complaints::table
        .filter(complaints::received_at.ge(start))
        .filter(complaints::received_at.lt(end))
        .filter(complaints::responsible_user_id.eq_any(people.to_vec()))
        .select(ComplaintRow::as_select())
        .into_boxed();
    if upheld_only {
        q = q.filter(complaints::status.eq(crate::domain::complaint::Status::Upheld.as_str()));
    }
    q.order((complaints::received_at.asc(), complaints::id.asc()))
        .load(conn)
}

/// Complaints received in `[start, end)` that concern any of `people`: naming them as
/// responsible, owned by them, or about a ticket one of them holds (most are not verified by
/// the next morning, so the verdict alone would hide them).
pub fn concerning(
    conn: &mut DbConn,
    start: NaiveDateTime,
    end: NaiveDateTime,
    people: &[String],
) -> QueryResult<Vec<ComplaintRow>> {
    use crate::db::schema::tickets;
    let held = tickets::table
        .filter(tickets::assignee_id.eq_any(people.to_vec()))
        .select(tickets::id.nullable());
    complaints::table
        .filter(complaints::received_at.ge(start))
        .filter(complaints::received_at.lt(end))
        .filter(
            complaints::responsible_user_id
                .eq_any(people.to_vec())
                .or(complaints::owner_user_id.eq_any(people.to_vec()))
                .or(complaints::ticket_id.eq_any(held)),
        )
        .select(ComplaintRow::as_select())
        .order((complaints::received_at.asc(), complaints::id.asc()))
        .load(conn)
}

/// Ids of complaints whose next rung is due at `now`, earliest first.
pub fn due_ids(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    complaints::table
        .filter(complaints::next_deadline_at.le(now))
        .order(complaints::next_deadline_at.asc())
        .select(complaints::id)
        .limit(limit)
        .load(conn)
}
