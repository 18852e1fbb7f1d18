//! Postponement requests and their decisions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{postponement_requests as pr, tickets};
use crate::db::DbConn;
use crate::domain::postponement::{DecidedVia, RequestStatus};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pr)]
pub struct PostponementRow {
    pub id: String,
    pub ticket_id: String,
    pub region_id: String,
    pub requested_by: String,
    pub requested_at: NaiveDateTime,
    pub new_promised_at: NaiveDateTime,
    pub new_appointment_at: Option<NaiveDateTime>,
    pub reason: String,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: RequestStatus,
    pub decided_by: Option<String>,
    pub decided_via: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_note: Option<String>,
}

impl PostponementRow {
    pub fn is_pending(&self) -> bool {
        self.status == RequestStatus::Pending
    }
}

/// A decision on a pending request.
pub struct Decision<'a> {
    pub status: RequestStatus,
    pub by: Option<&'a str>,
    pub via: Option<DecidedVia>,
    pub note: Option<&'a str>,
    pub at: NaiveDateTime,
}

/// Stores a new request, first closing any request of the ticket still pending as superseded.
pub fn insert(conn: &mut DbConn, row: &PostponementRow) -> QueryResult<()> {
    close_pending(
        conn,
        &row.ticket_id,
        RequestStatus::Superseded,
        row.requested_at,
    )?;
    diesel::insert_into(pr::table)
        .values(row.clone())
        .execute(conn)
        .map(|_| ())
}

/// Records a decision on request `id` if it is still pending; false when it no longer was.
pub fn decide(conn: &mut DbConn, id: &str, d: &Decision) -> QueryResult<bool> {
    diesel::update(
        pr::table
            .find(id)
            .filter(pr::status.eq(RequestStatus::Pending.as_str())),
    )
    .set((
        pr::status.eq(d.status.as_str()),
        pr::decided_by.eq(d.by),
        pr::decided_via.eq(d.via.map(DecidedVia::as_str)),
        pr::decided_at.eq(d.at),
        pr::decision_note.eq(d.note),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Closes the ticket's pending requests (superseded, or lapsed when the ticket finished).
pub fn close_pending(
    conn: &mut DbConn,
    ticket_id: &str,
    status: RequestStatus,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        pr::table
            .filter(pr::ticket_id.eq(ticket_id))
            .filter(pr::status.eq(RequestStatus::Pending.as_str())),
    )
    .set((pr::status.eq(status.as_str()), pr::decided_at.eq(at)))
    .execute(conn)
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<PostponementRow>> {
    pr::table
        .find(id)
        .select(PostponementRow::as_select())
        .first(conn)
        .optional()
}

/// A ticket's requests, oldest first.
pub fn for_ticket(conn: &mut DbConn, ticket_id: &str) -> QueryResult<Vec<PostponementRow>> {
    pr::table
        .filter(pr::ticket_id.eq(ticket_id))
        .order((pr::requested_at.asc(), pr::id.asc()))
        .select(PostponementRow::as_select())
        .load(conn)
}

/// The ticket's pending request, if any.
pub fn pending_for_ticket(
    conn: &mut DbConn,
    ticket_id: &str,
) -> QueryResult<Option<PostponementRow>> {
    pr::table
        .filter(pr::ticket_id.eq(ticket_id))
        .filter(pr::status.eq(RequestStatus::Pending.as_str()))
        .order(pr::requested_at.desc())
        .select(PostponementRow::as_select())
        .first(conn)
        .optional()
}

/// Pending requests on tickets of the customer with this phone number, newest first.
pub fn pending_for_customer(
    conn: &mut DbConn,
    customer_phone: &str,
) -> QueryResult<Vec<PostponementRow>> {
    pr::table
        .inner_join(tickets::table)
        .filter(tickets::customer_phone.eq(customer_phone))
        .filter(pr::status.eq(RequestStatus::Pending.as_str()))
        .order(pr::requested_at.desc())
        .select(PostponementRow::as_select())
        .load(conn)
}
