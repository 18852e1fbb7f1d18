//! Each technician's holding of a ticket, with their own contact deadline and outcome.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::assignments;
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = assignments)]
pub struct AssignmentRow {
    pub id: String,
    pub ticket_id: String,
    pub region_id: String,
    pub user_id: String,
    pub assigned_at: NaiveDateTime,
    pub ack_due_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    /// Recorded once known: at the acknowledgement, or late once the deadline passed.
    pub contact_on_time: Option<bool>,
    pub ended_at: Option<NaiveDateTime>,
}

impl AssignmentRow {
    /// A holding of ticket `t` by `user_id` from `at`, with its contact deadline `ack_due_at`.
    pub fn new(
        t: &crate::store::tickets::TicketRow,
        user_id: &str,
        at: NaiveDateTime,
        ack_due_at: NaiveDateTime,
    ) -> Self {
        AssignmentRow {
            id: crate::domain::new_id(),
            ticket_id: t.id.clone(),
            region_id: t.region_id.clone(),
            user_id: user_id.to_string(),
            assigned_at: at,
            ack_due_at,
            acknowledged_at: None,
            contact_on_time: None,
            ended_at: None,
        }
    }
}

/// Starts a holding: ends the one under way (late if its deadline passed without contact) and
/// opens the new one.
pub fn start(conn: &mut DbConn, row: &AssignmentRow) -> QueryResult<()> {
    end(conn, &row.ticket_id, row.assigned_at)?;
    diesel::insert_into(assignments::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Ends the holding under way at `at` (the ticket went to someone else, or to the queue).
pub fn end(conn: &mut DbConn, ticket_id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        assignments::table
            .filter(assignments::ticket_id.eq(ticket_id))
            .filter(assignments::ended_at.is_null())
            .filter(assignments::contact_on_time.is_null())
            .filter(assignments::ack_due_at.lt(at)),
    )
    .set(assignments::contact_on_time.eq(false))
    .execute(conn)?;
    diesel::update(
        assignments::table
            .filter(assignments::ticket_id.eq(ticket_id))
            .filter(assignments::ended_at.is_null()),
    )
    .set(assignments::ended_at.eq(at))
    .execute(conn)
    .map(|_| ())
}

/// The holder contacted the customer at `at`: on time if no later than their own deadline.
pub fn acknowledged(conn: &mut DbConn, ticket_id: &str, at: NaiveDateTime) -> QueryResult<()> {
    let open: Option<AssignmentRow> = assignments::table
        .filter(assignments::ticket_id.eq(ticket_id))
        .filter(assignments::ended_at.is_null())
        .select(AssignmentRow::as_select())
        .get_result(conn)
        .optional()?;
    let Some(open) = open.filter(|a| a.acknowledged_at.is_none()) else {
        return Ok(());
    };
    let on_time = open.contact_on_time.unwrap_or(crate::domain::sla::on_time(
        at.and_utc(),
        open.ack_due_at.and_utc(),
    ));
    diesel::update(assignments::table.find(&open.id))
        .set((
            assignments::acknowledged_at.eq(at),
            assignments::contact_on_time.eq(on_time),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The holder's contact deadline passed without contact.
pub fn contact_missed(conn: &mut DbConn, ticket_id: &str) -> QueryResult<()> {
    diesel::update(
        assignments::table
            .filter(assignments::ticket_id.eq(ticket_id))
            .filter(assignments::ended_at.is_null())
            .filter(assignments::contact_on_time.is_null()),
    )
    .set(assignments::contact_on_time.eq(false))
    .execute(conn)
    .map(|_| ())
}

/// A ticket's holdings, oldest first.
pub fn for_ticket(conn: &mut DbConn, ticket_id: &str) -> QueryResult<Vec<AssignmentRow>> {
    assignments::table
        .filter(assignments::ticket_id.eq(ticket_id))
        .order((assignments::assigned_at.asc(), assignments::id.asc()))
        .select(AssignmentRow::as_select())
        .load(conn)
}

/// Whether `user_id` ever held the ticket.
pub fn ever_held(conn: &mut DbConn, ticket_id: &str, user_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        assignments::table
            .filter(assignments::ticket_id.eq(ticket_id))
            .filter(assignments::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Contact outcomes of the holdings that started in `[start, end)`: (technician, on time,
/// count).
pub fn contact_counts(
    conn: &mut DbConn,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<(String, Option<bool>, i64)>> {
    assignments::table
        .filter(assignments::assigned_at.ge(start))
        .filter(assignments::assigned_at.lt(end))
        .filter(assignments::contact_on_time.is_not_null())
        .group_by((assignments::user_id, assignments::contact_on_time))
        .select((
            assignments::user_id,
            assignments::contact_on_time,
            diesel::dsl::count_star(),
        ))
        .load(conn)
}

/// A person's holdings that started in `[start, end)` with a contact outcome: the rows behind
/// their own contact figure.
pub fn holdings(
    conn: &mut DbConn,
    user_id: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<AssignmentRow>> {
    assignments::table
        .filter(assignments::user_id.eq(user_id))
        .filter(assignments::assigned_at.ge(start))
        .filter(assignments::assigned_at.lt(end))
        .filter(assignments::contact_on_time.is_not_null())
        .select(AssignmentRow::as_select())
        .order((assignments::assigned_at.asc(), assignments::id.asc()))
        .offset(offset)
        .limit(limit)
        .load(conn)
}
