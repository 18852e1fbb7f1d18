//! Tickets, their timeline and the queries the board, the phone app and the engine need.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{ticket_events, tickets};
use crate::db::DbConn;
use crate::domain::sla::{Clocks, Stage, StageClock};
use crate::domain::ticket::{transition, Action, Flag, IllegalTransition, Status, TicketKind};

/// A ticket as stored. Times are UTC.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = tickets, treat_none_as_null = true)]
pub struct TicketRow {
    pub id: String,
    pub region_id: String,
    pub district_id: Option<String>,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub kind: TicketKind,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: Status,
    pub external_ref: Option<String>,
    pub customer_name: String,
    pub customer_phone: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub account_no: Option<String>,
    pub fault_category: String,
    pub fault_description: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub assignee_id: Option<String>,
    pub assigned_at: Option<NaiveDateTime>,
    pub flagged: bool,
    pub flag_reason: Option<String>,
    pub dispatch_due_at: NaiveDateTime,
    pub pushed_at: Option<NaiveDateTime>,
    pub dispatch_on_time: Option<bool>,
    pub ack_due_at: Option<NaiveDateTime>,
    pub assignment_ack_due_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub ack_on_time: Option<bool>,
    pub escalation_level: i32,
    pub appointment_at: Option<NaiveDateTime>,
    pub contact_note: Option<String>,
    pub arrival_due_at: Option<NaiveDateTime>,
    pub arrived_at: Option<NaiveDateTime>,
    pub arrival_on_time: Option<bool>,
    pub check_in_distance_m: Option<f64>,
    pub check_in_far: Option<bool>,
    pub promised_at: NaiveDateTime,
    pub original_promised_at: NaiveDateTime,
    pub postponement_count: i32,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolve_on_time: Option<bool>,
    pub resolution_code: Option<String>,
    pub resolution_notes: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: Option<String>,
    pub next_deadline_at: Option<NaiveDateTime>,
    /// The ticket this one follows up: its callback was unsatisfied, or its caller still had
    /// no service after a network fault's restoration.
    pub follow_up_of: Option<String>,
    /// The network fault this call is linked to: its stages are settled by the fault.
    pub network_fault_id: Option<String>,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

impl TicketRow {
    /// A call just recorded at `now`: new, unassigned, with its push deadline and its promise;
    /// the caller fills in the customer and the fault.
    pub fn recorded(
        id: String,
        region_id: String,
        kind: TicketKind,
        created_by: String,
        now: NaiveDateTime,
        dispatch_due_at: NaiveDateTime,
        promised_at: NaiveDateTime,
    ) -> TicketRow {
        TicketRow {
            id,
            region_id,
            district_id: None,
            kind,
            status: Status::New,
            external_ref: None,
            customer_name: String::new(),
            customer_phone: String::new(),
            address: String::new(),
            lat: None,
            lon: None,
            account_no: None,
            fault_category: String::new(),
            fault_description: String::new(),
            created_by,
            created_at: now,
            updated_at: now,
            version: 0,
            assignee_id: None,
            assigned_at: None,
            flagged: false,
            flag_reason: None,
            dispatch_due_at,
            pushed_at: None,
            dispatch_on_time: None,
            ack_due_at: None,
            assignment_ack_due_at: None,
            acknowledged_at: None,
            ack_on_time: None,
            escalation_level: 0,
            appointment_at: None,
            contact_note: None,
            arrival_due_at: None,
            arrived_at: None,
            arrival_on_time: None,
            check_in_distance_m: None,
            check_in_far: None,
            promised_at,
            original_promised_at: promised_at,
            postponement_count: 0,
            resolved_at: None,
            resolve_on_time: None,
            resolution_code: None,
            resolution_notes: None,
            closed_at: None,
            cancelled_at: None,
            cancel_reason: None,
            next_deadline_at: None,
            follow_up_of: None,
            network_fault_id: None,
        }
    }

    /// One SLA stage of this ticket, from its columns: the one place that maps stages to them.
    pub fn stage(&self, s: Stage) -> StageClock {
        let (due, done, on_time) = match s {
            Stage::Dispatch => (
                Some(self.dispatch_due_at),
                self.pushed_at,
                self.dispatch_on_time,
            ),
            Stage::Contact => (self.ack_due_at, self.acknowledged_at, self.ack_on_time),
            Stage::Arrival => (self.arrival_due_at, self.arrived_at, self.arrival_on_time),
            Stage::Resolve => (
                Some(self.promised_at),
                self.resolved_at,
                self.resolve_on_time,
            ),
        };
        StageClock {
            due: due.map(utc),
            done: done.map(utc),
            on_time,
        }
    }

    /// Writes back what changed in a stage: when it was done and its outcome (deadlines are
    /// set where they are decided).
    fn put_stage(&mut self, s: Stage, c: StageClock) {
        let done = c.done.map(|d| d.naive_utc());
        let (done_col, outcome_col) = match s {
            Stage::Dispatch => (&mut self.pushed_at, &mut self.dispatch_on_time),
            Stage::Contact => (&mut self.acknowledged_at, &mut self.ack_on_time),
            Stage::Arrival => (&mut self.arrived_at, &mut self.arrival_on_time),
            Stage::Resolve => (&mut self.resolved_at, &mut self.resolve_on_time),
        };
        *done_col = done;
        *outcome_col = c.on_time;
    }

    /// Stage `s` was done at `at`: see [`StageClock::settle`]. Answers the outcome.
    pub fn settle(&mut self, s: Stage, at: NaiveDateTime) -> Option<bool> {
        let mut c = self.stage(s);
        c.settle(at.and_utc());
        self.put_stage(s, c);
        c.on_time
    }

    /// Stage `s` done at `at` as the technician's phone proved it: see
    /// [`StageClock::settle_as_of`].
    pub fn settle_as_of(&mut self, s: Stage, at: NaiveDateTime) -> Option<bool> {
        let mut c = self.stage(s);
        c.settle_as_of(at.and_utc());
        self.put_stage(s, c);
        c.on_time
    }

    /// Gives the ticket to `user_id` at `now` with a contact deadline of their own, `ack_due`
    /// (the contact stage keeps the first holder's deadline). The escalation ladder starts
    /// again and any flag is cleared.
    pub fn assign(
        &mut self,
        user_id: &str,
        now: NaiveDateTime,
        ack_due: NaiveDateTime,
    ) -> Result<(), IllegalTransition> {
        self.status = transition(self.status, Action::Assign)?;
        self.assignee_id = Some(user_id.to_string());
        self.assigned_at = Some(now);
        self.assignment_ack_due_at = Some(ack_due);
        self.ack_due_at.get_or_insert(ack_due);
        self.escalation_level = 0;
        self.flagged = false;
        self.flag_reason = None;
        Ok(())
    }

    /// Marks the ticket for a dispatcher's eye.
    pub fn flag(&mut self, why: Flag) {
        self.flagged = true;
        self.flag_reason = Some(why.to_string());
    }

    /// The latest step of this ticket a technician's action follows: its creation, its
    /// assignment, the contact, the arrival.
    pub fn previous_step_at(&self) -> NaiveDateTime {
        [self.assigned_at, self.acknowledged_at, self.arrived_at]
            .into_iter()
            .flatten()
            .fold(self.created_at, NaiveDateTime::max)
    }

    /// Stage `s` passed its deadline undone: see [`StageClock::miss`].
    pub fn miss(&mut self, s: Stage) {
        let mut c = self.stage(s);
        c.miss();
        self.put_stage(s, c);
    }

    /// Whether any stage is recorded late.
    pub fn any_stage_late(&self) -> bool {
        Stage::ALL
            .into_iter()
            .any(|s| self.stage(s).on_time == Some(false))
    }

    /// The SLA view of this ticket.
    pub fn clocks(&self) -> QueryResult<Clocks> {
        Ok(Clocks {
            status: self.status,
            dispatch_due_at: utc(self.dispatch_due_at),
            dispatch_on_time: self.dispatch_on_time,
            assignment_ack_due_at: self.assignment_ack_due_at.map(utc),
            escalation_level: self.escalation_level,
            arrival_due_at: self.arrival_due_at.map(utc),
            arrival_on_time: self.arrival_on_time,
            promised_at: utc(self.promised_at),
            resolve_on_time: self.resolve_on_time,
            linked: self.network_fault_id.is_some(),
        })
    }
}

type Condition = Box<
    dyn BoxableExpression<
        tickets::table,
        crate::db::MultiBackend,
        SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
    >,
>;

/// Evaluates `$body` with `$month` bound to the column that places a stage in a month (when
/// the ticket was recorded, or finished: [`Stage::counted_when_finished`]) and `$outcome` to the
/// column holding its outcome. Queries that need a stage's columns as concrete types (grouped
/// counts, ordered lists) get them here, next to [`TicketRow::stage`].
macro_rules! with_stage_columns {
    ($stage:expr, |$month:ident, $outcome:ident| $body:expr) => {{
        use $crate::db::schema::tickets as cols;
        use $crate::domain::sla::Stage;
        match $stage {
            Stage::Dispatch => {
                let ($month, $outcome) = (cols::created_at, cols::dispatch_on_time);
                $body
            }
            Stage::Contact => {
                let ($month, $outcome) = (cols::created_at, cols::ack_on_time);
                $body
            }
            Stage::Arrival => {
                let ($month, $outcome) = (cols::created_at, cols::arrival_on_time);
                $body
            }
            Stage::Resolve => {
                let ($month, $outcome) = (cols::resolved_at, cols::resolve_on_time);
                $body
            }
        }
    }};
}
pub(crate) use with_stage_columns;

/// The column holding a stage's outcome.
pub fn outcome_column(s: Stage) -> Condition {
    with_stage_columns!(s, |_month, outcome| Box::new(outcome) as Condition)
}

pub fn insert(conn: &mut DbConn, row: &TicketRow) -> QueryResult<()> {
    diesel::insert_into(tickets::table)
        .values(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<TicketRow>> {
    tickets::table
        .find(id)
        .select(TicketRow::as_select())
        .get_result(conn)
        .optional()
}

/// A customer's calls resolved by a network fault's restoration since `since`, latest first.
pub fn restored_for_customer(
    conn: &mut DbConn,
    phone: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<TicketRow>> {
    tickets::table
        .filter(tickets::customer_phone.eq(phone))
        .filter(tickets::created_at.ge(since - chrono::Duration::days(30)))
        .filter(tickets::network_fault_id.is_not_null())
        .filter(tickets::resolution_code.eq("network_fault_restored"))
        .filter(tickets::resolved_at.ge(since))
        .order((tickets::resolved_at.desc(), tickets::id))
        .select(TicketRow::as_select())
        .load(conn)
}

/// The ticket opened to follow `id` up, if any.
pub fn follow_up_of(conn: &mut DbConn, id: &str) -> QueryResult<Option<TicketRow>> {
    tickets::table
        .filter(tickets::follow_up_of.eq(id))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_external_ref(
    conn: &mut DbConn,
    external_ref: &str,
) -> QueryResult<Option<TicketRow>> {
    tickets::table
        .filter(tickets::external_ref.eq(external_ref))
        .select(TicketRow::as_select())
        .get_result(conn)
        .optional()
}

/// Writes a changed ticket if nobody else changed it since it was read (`row.version` is the
/// version read; the stored one becomes `version + 1`). False means a concurrent change won:
/// the caller's transaction must roll back.
pub fn save(conn: &mut DbConn, row: &mut TicketRow) -> QueryResult<bool> {
    let read_version = row.version;
    row.version = read_version + 1;
    let n = diesel::update(
        tickets::table
            .filter(tickets::id.eq(&row.id))
            .filter(tickets::version.eq(read_version)),
    )
    .set(row.clone())
    .execute(conn)?;
    if n == 0 {
        row.version = read_version;
    }
    Ok(n == 1)
}

/// Open tickets assigned to a user, most urgent first. The phone app asks for this on every
/// refresh; it reads the partial index `tickets_open_assignee_idx`, so a technician's resolved
/// history is never walked, and that index holds them in this order, so they are not sorted.
/// The latest ticket of the customer with `phone`, within `regions` when given.
pub fn latest_for_customer(
    conn: &mut DbConn,
    phone: &str,
    regions: Option<&[String]>,
) -> QueryResult<Option<TicketRow>> {
    let mut q = tickets::table
        .filter(tickets::customer_phone.eq(phone))
        .into_boxed();
    if let Some(only) = regions {
        q = q.filter(tickets::region_id.eq_any(only.to_vec()));
    }
    q.order((tickets::created_at.desc(), tickets::id.desc()))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()
}

pub fn open_for_assignee(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<TicketRow>> {
    open_for_assignee_query(user_id)
        .select(TicketRow::as_select())
        .load(conn)
}

/// The query behind [`open_for_assignee`], without its select list (public so that a test can
/// ask each database how it plans it).
#[diesel::dsl::auto_type(no_type_alias)]
pub fn open_for_assignee_query<'a>(user_id: &'a str) -> _ {
    let order: (
        diesel::dsl::IsNull<tickets::next_deadline_at>,
        diesel::dsl::Asc<tickets::next_deadline_at>,
        diesel::dsl::Asc<tickets::created_at>,
    ) = (
        tickets::next_deadline_at.is_null(),
        tickets::next_deadline_at.asc(),
        tickets::created_at.asc(),
    );
    tickets::table
        .filter(tickets::assignee_id.eq(user_id))
        .filter(IsOpen)
        .order(order)
}

/// `tickets.status NOT IN ('resolved', 'closed', 'cancelled')`: the statuses of
/// [`Status::FINISHED`] written into the SQL as literals, exactly as the partial index
/// `tickets_open_assignee_idx` states its condition.
///
/// Literals, because with bound values PostgreSQL's cached generic plan cannot prove that the
/// partial index applies: it then weighs a scan of the technician's whole history (about 100 ms
/// for 20,000 tickets) against planning every call afresh. `NOT IN`, because no other index can
/// serve it: a positive list of open statuses also matches `tickets_status_idx`, which the
/// planner took for a walk over every open ticket of every technician when open tickets were
/// stored in clusters, as they are after a storm. The statement text never changes, so diesel
/// caches it like any other.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub struct IsOpen;

impl IsOpen {
    /// The condition as SQL.
    pub fn sql() -> &'static str {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let list: Vec<String> = Status::FINISHED
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            format!("\"tickets\".\"status\" NOT IN ({})", list.join(", "))
        });
        &SQL
    }
}

impl diesel::expression::Expression for IsOpen {
    type SqlType = diesel::sql_types::Bool;
}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for IsOpen {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql(Self::sql());
        Ok(())
    }
}

impl diesel::expression::AppearsOnTable<tickets::table> for IsOpen {}

impl diesel::expression::SelectableExpression<tickets::table> for IsOpen {}

impl<GB> diesel::expression::ValidGrouping<GB> for IsOpen {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// How many open tickets each of `user_ids` holds, as the triggers on `tickets` keep it
/// (`technician_load`); a technician without a row holds none.
pub fn open_counts(conn: &mut DbConn, user_ids: &[String]) -> QueryResult<Vec<(String, i64)>> {
    use crate::db::schema::technician_load;
    let rows: Vec<(String, i32)> = technician_load::table
        .filter(technician_load::user_id.eq_any(user_ids))
        .select((technician_load::user_id, technician_load::open_tickets))
        .load(conn)?;
    Ok(rows.into_iter().map(|(u, n)| (u, n as i64)).collect())
}

/// Filters for the dispatcher's board.
#[derive(Debug, Default, Clone)]
pub struct BoardFilter {
    pub regions: Option<Vec<String>>,
    /// Only these tickets.
    pub ids: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub district_id: Option<String>,
    pub unassigned: bool,
    /// Some stage already late (a recorded late outcome) while the ticket is open.
    pub overdue: bool,
    /// Only tickets after this (created_at, id), for cursor pagination.
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// Tickets newest first, then by id, within the filter.
pub fn board(conn: &mut DbConn, f: &BoardFilter) -> QueryResult<Vec<TicketRow>> {
    let mut q = tickets::table.select(TicketRow::as_select()).into_boxed();
    if let Some(r) = &f.regions {
        q = q.filter(tickets::region_id.eq_any(r.clone()));
    }
    if let Some(ids) = &f.ids {
        q = q.filter(tickets::id.eq_any(ids.clone()));
    }
    if let Some(s) = &f.statuses {
        q = q.filter(tickets::status.eq_any(s.clone()));
    }
    if let Some(d) = &f.district_id {
        q = q.filter(tickets::district_id.eq(d.clone()));
    }
    if f.unassigned {
        q = q.filter(tickets::assignee_id.is_null());
    }
    if f.overdue {
        let late = |s: Stage| -> Condition { Box::new(outcome_column(s).eq(false)) };
        let any_late = Stage::ALL[1..]
            .iter()
            .fold(late(Stage::ALL[0]), |acc, s| Box::new(acc.or(late(*s))));
        q = q.filter(IsOpen).filter(any_late);
    }
    if let Some((at, id)) = &f.after {
        q = q.filter(
            tickets::created_at
                .lt(*at)
                .or(tickets::created_at.eq(*at).and(tickets::id.lt(id.clone()))),
        );
    }
    q.order((tickets::created_at.desc(), tickets::id.desc()))
        .limit(f.limit)
        .load(conn)
}

/// Open tickets of `regions` recorded since `since` from `phone` or with a point inside `bbox`
/// (min_lat, max_lat, min_lon, max_lon), newest first, at most `limit` of each.
pub fn open_alike(
    conn: &mut DbConn,
    regions: Option<&[String]>,
    since: NaiveDateTime,
    phone: Option<&str>,
    bbox: Option<(f64, f64, f64, f64)>,
    limit: i64,
) -> QueryResult<Vec<TicketRow>> {
    let base = || {
        let mut q = tickets::table
            .select(TicketRow::as_select())
            .filter(IsOpen)
            .filter(tickets::created_at.ge(since))
            .into_boxed();
        if let Some(r) = regions {
            q = q.filter(tickets::region_id.eq_any(r.to_vec()));
        }
        q.order((tickets::created_at.desc(), tickets::id.desc()))
            .limit(limit)
    };
    let mut out: Vec<TicketRow> = match phone {
        Some(p) => base()
            .filter(tickets::customer_phone.eq(p.to_string()))
            .load(conn)?,
        None => Vec::new(),
    };
    if let Some((lat0, lat1, lon0, lon1)) = bbox {
        let near: Vec<TicketRow> = base()
            .filter(tickets::lat.between(lat0, lat1))
            .filter(tickets::lon.between(lon0, lon1))
            .load(conn)?;
        out.extend(
            near.into_iter()
                .filter(|t| !out.iter().any(|o| o.id == t.id))
                .collect::<Vec<_>>(),
        );
    }
    Ok(out)
}

/// Ids of tickets whose next deadline has passed (is before `now`), earliest first, at most
/// `limit`.
pub fn due_ids(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    tickets::table
        .filter(tickets::next_deadline_at.lt(now))
        .order(tickets::next_deadline_at.asc())
        .select(tickets::id)
        .limit(limit)
        .load(conn)
}

/// The earliest deadline of any ticket.
pub fn earliest_deadline(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    tickets::table
        .select(diesel::dsl::min(tickets::next_deadline_at))
        .get_result(conn)
}

/// One entry of a ticket's timeline.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_events)]
pub struct EventRow {
    pub id: String,
    pub ticket_id: String,
    pub region_id: String,
    pub at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub kind: String,
    /// JSON object.
    pub detail: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

pub fn append_event(conn: &mut DbConn, e: &EventRow) -> QueryResult<()> {
    diesel::insert_into(ticket_events::table)
        .values(e)
        .execute(conn)
        .map(|_| ())
}

pub fn events(conn: &mut DbConn, ticket_id: &str) -> QueryResult<Vec<EventRow>> {
    ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .select(EventRow::as_select())
        .order((ticket_events::at.asc(), ticket_events::id.asc()))
        .load(conn)
}

/// The tickets with these ids (in no particular order).
pub fn get_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<TicketRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            tickets::table
                .filter(tickets::id.eq_any(chunk.to_vec()))
                .select(TicketRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Tickets held by any of `people` that were recorded since `since` or have an appointment or
/// a finish at or after it: what a team's morning brief looks at.
pub fn held_since(
    conn: &mut DbConn,
    people: &[String],
    since: NaiveDateTime,
) -> QueryResult<Vec<TicketRow>> {
    tickets::table
        .filter(tickets::assignee_id.eq_any(people.to_vec()))
        .filter(
            tickets::created_at
                .ge(since)
                .or(tickets::appointment_at.ge(since))
                .or(tickets::resolved_at.ge(since)),
        )
        .select(TicketRow::as_select())
        .order((tickets::created_at.asc(), tickets::id.asc()))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn call() -> TicketRow {
        TicketRow::recorded(
            "t".into(),
            "r".into(),
            TicketKind::Repair,
            "agent".into(),
            at(9, 0),
            at(9, 3),
            at(9, 0) + chrono::Duration::hours(24),
        )
    }

    #[test]
    fn a_recorded_call_is_new_unassigned_and_promised() {
        let t = call();
        assert_eq!(t.status, Status::New);
        assert_eq!((t.assignee_id.as_deref(), t.flagged), (None, false));
        assert_eq!(t.original_promised_at, t.promised_at);
        assert_eq!(t.stage(Stage::Dispatch).due, Some(at(9, 3).and_utc()));
    }

    #[test]
    fn each_holder_gets_a_contact_deadline_and_the_stage_keeps_the_first() {
        let mut t = call();
        t.assign("tech01", at(9, 1), at(9, 21)).unwrap();
        assert_eq!(t.status, Status::Dispatched);
        assert_eq!(t.ack_due_at, Some(at(9, 21)));
        t.escalation_level = 2;
        t.flag(Flag::NotContactedNoOtherTechnician);
        t.assign("tech04", at(9, 40), at(10, 0)).unwrap();
        assert_eq!(t.assignee_id.as_deref(), Some("tech04"));
        assert_eq!(t.assigned_at, Some(at(9, 40)));
        assert_eq!(t.assignment_ack_due_at, Some(at(10, 0)));
        assert_eq!(t.ack_due_at, Some(at(9, 21)));
        assert_eq!(
            (t.escalation_level, t.flagged, t.flag_reason),
            (0, false, None)
        );
    }

    #[test]
    fn a_stage_is_counted_in_the_month_its_domain_rule_names() {
        fn name<C: diesel::Column>(_: C) -> &'static str {
            C::NAME
        }
        for s in Stage::ALL {
            let month = with_stage_columns!(s, |month, _outcome| name(month));
            let expected = if s.counted_when_finished() {
                "resolved_at"
            } else {
                "created_at"
            };
            assert_eq!(month, expected, "{s:?}");
        }
    }

    #[test]
    fn a_finished_ticket_cannot_be_assigned() {
        let mut t = call();
        t.status = Status::Resolved;
        assert!(t.assign("tech01", at(9, 1), at(9, 21)).is_err());
        assert_eq!(t.assignee_id, None);
    }

    #[test]
    fn a_flag_says_why_in_the_consoles_words() {
        let mut t = call();
        t.flag(Flag::NotPushed { minutes: 3 });
        assert!(t.flagged);
        assert_eq!(
            t.flag_reason.as_deref(),
            Some("not pushed to the on-duty staff within 3 minutes")
        );
        t.flag(Flag::SmsFailed {
            phone: "+8613900000001".into(),
        });
        assert_eq!(
            t.flag_reason.as_deref(),
            Some("an SMS to +8613900000001 failed for good")
        );
    }
}
