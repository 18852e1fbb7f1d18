//! The counts behind the monthly report, read from stored per-stage outcomes, and the tickets
//! behind each count (the audit drill-down). Both use the same filters, so a drill-down lists
//! exactly the tickets a number counts.
//!
//! Which month a ticket counts in:
//! - dispatch, contact and arrival: the month the ticket was recorded (`created_at`);
//! - installation and repair timeliness, and callback coverage and satisfaction: the month
//!   the work was finished (`resolved_at`);
//! - complaints: the month they were received;
//! - a technician's own contact timeliness: each holding of a ticket against its own 20-minute
//!   deadline, in the month the holding started (a ticket reassigned after a missed contact
//!   counts late for the first holder and on its own merits for the next).
//!
//! A stage counts once its outcome is recorded (on time or late); cancelled tickets count for
//! the stages they reached. Calls linked to a network fault are counted apart: once per fault
//! and unit, by its restoration, in the month it was restored.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::db::schema::{callbacks, complaints, tickets};
use crate::db::DbConn;
use crate::domain::callback::{CallbackStatus, Outcome};
use crate::domain::complaint::{Source, Status as ComplaintStatus};
use crate::domain::scoring::{Figures, Metric, Ratio};
use crate::domain::sla::Stage;
use crate::domain::ticket::TicketKind;
use crate::store::callbacks::CallbackRow;
use crate::store::complaints::ComplaintRow;
use crate::store::tickets::{with_stage_columns, TicketRow};

/// Counted figures for one month.
#[derive(Debug, Clone, Default)]
pub struct MonthFigures {
    pub by_district: HashMap<String, Figures>,
    pub by_technician: HashMap<String, Figures>,
    /// Tickets that belong to no district, per region.
    pub unplaced_by_region: HashMap<String, Figures>,
}

/// region, district, technician, status, outcome, count
type CallGroup = (
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    i64,
);
/// region, district, responsible person, source, status, handled on time, count
type ComplaintGroup = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<bool>,
    i64,
);
/// region, district, technician, kind, outcome, count
type StageGroup = (
    String,
    Option<String>,
    Option<String>,
    String,
    Option<bool>,
    i64,
);

/// Tickets whose `$outcome` is recorded and whose `$range` column falls in `[$s, $e)`.
macro_rules! stage_tickets {
    ($range:expr, $outcome:expr, $s:expr, $e:expr) => {
        tickets::table
            .filter($range.ge($s))
            .filter($range.lt($e))
            .filter($outcome.is_not_null())
            .filter(tickets::network_fault_id.is_null())
    };
}

macro_rules! stage_counts {
    ($conn:expr, $range:expr, $outcome:expr, $s:expr, $e:expr) => {
        stage_tickets!($range, $outcome, $s, $e)
            .group_by((
                tickets::region_id,
                tickets::district_id,
                tickets::assignee_id,
                tickets::kind,
                $outcome,
            ))
            .select((
                tickets::region_id,
                tickets::district_id,
                tickets::assignee_id,
                tickets::kind,
                $outcome,
                count_star(),
            ))
            .load::<StageGroup>($conn)
    };
}

/// The month's counts of one stage's outcomes: a stage counts in the month the ticket was
/// recorded, or finished ([`Stage::counted_when_finished`]).
fn stage_counts(
    conn: &mut DbConn,
    stage: Stage,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<StageGroup>> {
    with_stage_columns!(stage, |month, outcome| stage_counts!(
        conn, month, outcome, start, end
    ))
}

/// Every count of the month `[start, end)`.
pub fn month_figures(
    conn: &mut DbConn,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<MonthFigures> {
    let mut out = MonthFigures::default();
    for stage in Stage::ALL {
        for (region, district, person, kind, on_time, n) in stage_counts(conn, stage, start, end)? {
            let kind = TicketKind::parse("kind", &kind).unwrap_or(TicketKind::Repair);
            let metric = stage.metric(kind);
            let hit = on_time == Some(true);
            let r = Ratio::new(if hit { n as u64 } else { 0 }, n as u64);
            let f = |f: &mut Figures| f.metrics[metric.index()].add(r);
            // A technician's contact figure counts their own holdings (below), not the
            // ticket's first contact deadline, which may have been someone else's.
            let credited = person.as_deref().filter(|_| metric != Metric::Contact);
            apply(&mut out, district.as_deref(), &region, credited, f);
            if matches!(metric, Metric::Install | Metric::Repair) {
                // Every finished ticket is a candidate for a callback: the coverage denominator.
                let f = |f: &mut Figures| {
                    f.metrics[Metric::CallbackCoverage.index()].den += n as u64;
                };
                apply(&mut out, district.as_deref(), &region, person.as_deref(), f);
            }
        }
    }
    for (person, on_time, n) in super::assignments::contact_counts(conn, start, end)? {
        let hit = on_time == Some(true);
        let r = Ratio::new(if hit { n as u64 } else { 0 }, n as u64);
        out.by_technician.entry(person).or_default().metrics[Metric::Contact.index()].add(r);
    }
    let calls: Vec<CallGroup> = callbacks::table
        .filter(callbacks::resolved_at.ge(start))
        .filter(callbacks::resolved_at.lt(end))
        .group_by((
            callbacks::region_id,
            callbacks::district_id,
            callbacks::technician_id,
            callbacks::status,
            callbacks::outcome,
        ))
        .select((
            callbacks::region_id,
            callbacks::district_id,
            callbacks::technician_id,
            callbacks::status,
            callbacks::outcome,
            count_star(),
        ))
        .load(conn)?;
    for (region, district, person, status, outcome, n) in calls {
        let n = n as u64;
        let made = status != CallbackStatus::Due.as_str();
        let reached = status == CallbackStatus::Done.as_str();
        let content = outcome
            .as_deref()
            .and_then(|o| Outcome::parse("outcome", o).ok())
            .is_some_and(Outcome::is_content);
        let f = |f: &mut Figures| {
            if made {
                f.metrics[Metric::CallbackCoverage.index()].num += n;
            }
            if reached {
                let r = Ratio::new(if content { n } else { 0 }, n);
                f.metrics[Metric::Satisfaction.index()].add(r);
                f.satisfaction_by.phone.add(r);
            }
        };
        apply(&mut out, district.as_deref(), &region, person.as_deref(), f);
    }
    for (region, district, person, outcome, n) in
        crate::store::surveys::answered_counts(conn, start, end)?
    {
        let n = n as u64;
        let content = outcome
            .as_deref()
            .and_then(|o| Outcome::parse("outcome", o).ok())
            .is_some_and(Outcome::is_content);
        let r = Ratio::new(if content { n } else { 0 }, n);
        let f = |f: &mut Figures| {
            f.metrics[Metric::Satisfaction.index()].add(r);
            f.satisfaction_by.sms.add(r);
        };
        apply(&mut out, district.as_deref(), &region, person.as_deref(), f);
    }
    let comps: Vec<ComplaintGroup> = complaints::table
        .filter(complaints::received_at.ge(start))
        .filter(complaints::received_at.lt(end))
        .group_by((
            complaints::region_id,
            complaints::district_id,
            complaints::responsible_user_id,
            complaints::source,
            complaints::status,
            complaints::handled_on_time,
        ))
        .select((
            complaints::region_id,
            complaints::district_id,
            complaints::responsible_user_id,
            complaints::source,
            complaints::status,
            complaints::handled_on_time,
            count_star(),
        ))
        .load(conn)?;
    for (region, district, person, source, status, on_time, n) in comps {
        let n = n as u64;
        let gov = Source::parse("source", &source).is_ok_and(Source::is_government);
        let status = ComplaintStatus::parse("status", &status).unwrap_or(ComplaintStatus::Open);
        let handled = match on_time {
            Some(hit) => Ratio::new(if hit { n } else { 0 }, n),
            None => Ratio::default(),
        };
        let f = |f: &mut Figures| {
            f.complaints.handled.add(handled);
            count_verdict(f, status, gov, n)
        };
        apply(&mut out, Some(&district), &region, person.as_deref(), f);
    }
    // Network faults: one restoration per fault and district, however many calls it had.
    let linked: Vec<LinkedGroup> = tickets::table
        .filter(tickets::resolved_at.ge(start))
        .filter(tickets::resolved_at.lt(end))
        .filter(tickets::network_fault_id.is_not_null())
        .filter(tickets::resolve_on_time.is_not_null())
        .group_by((
            tickets::region_id,
            tickets::district_id,
            tickets::network_fault_id,
            tickets::resolve_on_time,
        ))
        .select((
            tickets::region_id,
            tickets::district_id,
            tickets::network_fault_id,
            tickets::resolve_on_time,
            count_star(),
        ))
        .load(conn)?;
    for (region, district, _, on_time, n) in linked {
        let hit = on_time == Some(true);
        let f = |f: &mut Figures| {
            f.network.faults += 1;
            f.network.linked_calls += n as u64;
            f.network.restorations.add(Ratio::new(u64::from(hit), 1));
        };
        apply(&mut out, district.as_deref(), &region, None, f);
    }
    Ok(out)
}

/// region, district, fault, restored on time, calls
type LinkedGroup = (String, Option<String>, Option<String>, Option<bool>, i64);

/// Counts `n` complaints with investigation `status` (from 12345/12315 when `gov`).
fn count_verdict(f: &mut Figures, status: ComplaintStatus, gov: bool, n: u64) {
    match status {
        ComplaintStatus::Upheld => {
            f.complaints.upheld += n;
            if gov {
                f.complaints.upheld_government += n;
            }
        }
        ComplaintStatus::Open => f.complaints.open += n,
        ComplaintStatus::Dismissed => f.complaints.dismissed += n,
    }
}

fn apply(
    out: &mut MonthFigures,
    district: Option<&str>,
    region: &str,
    person: Option<&str>,
    f: impl Fn(&mut Figures),
) {
    match district {
        Some(d) => f(out.by_district.entry(d.to_string()).or_default()),
        None => f(out
            .unplaced_by_region
            .entry(region.to_string())
            .or_default()),
    }
    if let Some(p) = person {
        f(out.by_technician.entry(p.to_string()).or_default());
    }
}

/// Whose tickets a drill-down lists.
#[derive(Debug, Clone)]
pub enum Unit {
    District(String),
    /// A branch: every ticket of its regions, placed in a district or not.
    Regions(Vec<String>),
    /// A person: the tickets they held (callbacks of tickets they resolved, complaints naming
    /// them), as the monthly report credits them.
    Person(String),
}

/// Which rows a drill-down lists.
#[derive(Debug, Clone)]
pub struct DrillDown {
    pub unit: Unit,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub offset: i64,
    pub limit: i64,
}

/// The tickets counted by a stage metric in the unit and month, with their outcomes.
pub fn stage_tickets(
    conn: &mut DbConn,
    metric: Metric,
    d: &DrillDown,
) -> QueryResult<Vec<TicketRow>> {
    macro_rules! in_unit {
        ($q:expr) => {
            match &d.unit {
                Unit::District(id) => $q.filter(tickets::district_id.eq(id.clone())),
                Unit::Regions(ids) => $q.filter(tickets::region_id.eq_any(ids.clone())),
                Unit::Person(id) => $q.filter(tickets::assignee_id.eq(id.clone())),
            }
        };
    }
    // Coverage lists every finished ticket, called back or not.
    let stage = Stage::of_metric(metric);
    // The kinds of work whose stage feeds this metric, when not all do (the resolve stage
    // feeds one metric per kind).
    let kinds: Option<Vec<&'static str>> = stage.and_then(|s| {
        let k: Vec<_> = TicketKind::ALL
            .into_iter()
            .filter(|k| s.metric(*k) == metric)
            .map(TicketKind::as_str)
            .collect();
        (k.len() < TicketKind::ALL.len()).then_some(k)
    });
    with_stage_columns!(stage.unwrap_or(Stage::Resolve), |month, outcome| {
        let q = in_unit!(stage_tickets!(month, outcome, d.start, d.end).into_boxed());
        let q = match kinds {
            Some(k) => q.filter(tickets::kind.eq_any(k)),
            None => q,
        };
        q.select(TicketRow::as_select())
            .order((month.asc(), tickets::id.asc()))
            .offset(d.offset)
            .limit(d.limit)
            .load(conn)
    })
}

/// The callbacks of the given tickets.
pub fn callbacks_of(conn: &mut DbConn, ticket_ids: &[String]) -> QueryResult<Vec<CallbackRow>> {
    callbacks::table
        .filter(callbacks::ticket_id.eq_any(ticket_ids.to_vec()))
        .select(CallbackRow::as_select())
        .load(conn)
}

/// Reached callbacks of tickets finished in the month in the unit, as a boxed query.
macro_rules! reached_calls {
    ($d:expr) => {{
        let q = callbacks::table.into_boxed();
        let q = match &$d.unit {
            Unit::District(id) => q.filter(callbacks::district_id.eq(id.clone())),
            Unit::Regions(ids) => q.filter(callbacks::region_id.eq_any(ids.clone())),
            Unit::Person(id) => q.filter(callbacks::technician_id.eq(id.clone())),
        };
        q.filter(callbacks::resolved_at.ge($d.start))
            .filter(callbacks::resolved_at.lt($d.end))
            .filter(callbacks::status.eq(CallbackStatus::Done.as_str()))
    }};
}

/// Reached callbacks of tickets finished in the month in the unit (the satisfaction rows).
pub fn reached_callbacks(conn: &mut DbConn, d: &DrillDown) -> QueryResult<Vec<CallbackRow>> {
    reached_calls!(d)
        .select(CallbackRow::as_select())
        .order((callbacks::resolved_at.asc(), callbacks::id.asc()))
        .offset(d.offset)
        .limit(d.limit)
        .load(conn)
}

/// How many reached callbacks [`reached_callbacks`] pages through.
pub fn reached_callbacks_count(conn: &mut DbConn, d: &DrillDown) -> QueryResult<i64> {
    reached_calls!(d).count().get_result(conn)
}

/// Answered SMS surveys of tickets finished in the month in the unit (the satisfaction rows
/// after the callbacks), `offset` and `limit` of their own.
pub fn answered_surveys(
    conn: &mut DbConn,
    d: &DrillDown,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<crate::store::surveys::SurveyRow>> {
    use crate::db::schema::sms_surveys;
    let q = sms_surveys::table.into_boxed();
    let q = match &d.unit {
        Unit::District(id) => q.filter(sms_surveys::district_id.eq(id.clone())),
        Unit::Regions(ids) => q.filter(sms_surveys::region_id.eq_any(ids.clone())),
        Unit::Person(id) => q.filter(sms_surveys::technician_id.eq(id.clone())),
    };
    q.filter(sms_surveys::resolved_at.ge(d.start))
        .filter(sms_surveys::resolved_at.lt(d.end))
        .filter(sms_surveys::answered_at.is_not_null())
        .select(crate::store::surveys::SurveyRow::as_select())
        .order((sms_surveys::resolved_at.asc(), sms_surveys::id.asc()))
        .offset(offset)
        .limit(limit)
        .load(conn)
}

/// Complaints received in the month in the unit.
pub fn district_complaints(conn: &mut DbConn, d: &DrillDown) -> QueryResult<Vec<ComplaintRow>> {
    let q = complaints::table.into_boxed();
    let q = match &d.unit {
        Unit::District(id) => q.filter(complaints::district_id.eq(id.clone())),
        Unit::Regions(ids) => q.filter(complaints::region_id.eq_any(ids.clone())),
        Unit::Person(id) => q.filter(complaints::responsible_user_id.eq(id.clone())),
    };
    q.filter(complaints::received_at.ge(d.start))
        .filter(complaints::received_at.lt(d.end))
        .select(ComplaintRow::as_select())
        .order((complaints::received_at.asc(), complaints::id.asc()))
        .offset(d.offset)
        .limit(d.limit)
        .load(conn)
}
