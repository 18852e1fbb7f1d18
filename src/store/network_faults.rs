//! Network faults and the calls linked to them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{network_fault_events, network_faults, tickets};
use crate::db::DbConn;
use crate::domain::storm::{Area, Call, FaultStatus};
use crate::domain::ticket::Status;
use crate::store::tickets::TicketRow;

/// A network fault as stored. Times are UTC.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = network_faults, treat_none_as_null = true)]
pub struct FaultRow {
    pub id: String,
    pub region_id: String,
    pub district_id: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub radius_m: Option<f64>,
    /// `detected`, `reported` or `planned`.
    pub cause: String,
    pub title: String,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: FaultStatus,
    pub opened_by: String,
    pub opened_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub confirmed_by: Option<String>,
    pub pushed_at: Option<NaiveDateTime>,
    pub promised_at: NaiveDateTime,
    pub estimate_at: Option<NaiveDateTime>,
    pub restored_at: Option<NaiveDateTime>,
    pub restore_on_time: Option<bool>,
    pub dismissed_at: Option<NaiveDateTime>,
    /// The last message to the on-duty staff, and the calls linked by then.
    pub told_at: Option<NaiveDateTime>,
    pub told_calls: i32,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    /// The crew's lead technician, and the crew's own contact clock: assigned, due,
    /// acknowledged, on time.
    pub crew_lead_id: Option<String>,
    pub crew_assigned_at: Option<NaiveDateTime>,
    pub crew_ack_due_at: Option<NaiveDateTime>,
    pub crew_acknowledged_at: Option<NaiveDateTime>,
    pub crew_ack_on_time: Option<bool>,
}

/// One entry of a fault's own timeline.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = network_fault_events)]
pub struct FaultEventRow {
    pub id: String,
    pub fault_id: String,
    pub at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub kind: String,
    /// JSON.
    pub detail: String,
}

pub fn append_event(conn: &mut DbConn, e: &FaultEventRow) -> QueryResult<()> {
    diesel::insert_into(network_fault_events::table)
        .values(e)
        .execute(conn)
        .map(|_| ())
}

/// A fault's timeline, oldest first.
pub fn events(conn: &mut DbConn, fault_id: &str) -> QueryResult<Vec<FaultEventRow>> {
    network_fault_events::table
        .filter(network_fault_events::fault_id.eq(fault_id))
        .order((network_fault_events::at, network_fault_events::id))
        .select(FaultEventRow::as_select())
        .load(conn)
}

impl FaultRow {
    /// The area it covers.
    pub fn area(&self) -> Area {
        Area {
            district_id: self.district_id.clone(),
            circle: match (self.lat, self.lon, self.radius_m) {
                (Some(lat), Some(lon), Some(r)) => Some(((lat, lon), r)),
                _ => None,
            },
        }
    }
}

impl crate::store::Regional for FaultRow {
    fn region_id(&self) -> &str {
        &self.region_id
    }
}

const OPEN: [&str; 2] = ["suspected", "confirmed"];

pub fn insert(conn: &mut DbConn, row: &FaultRow) -> QueryResult<()> {
    diesel::insert_into(network_faults::table)
        .values(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<FaultRow>> {
    network_faults::table
        .find(id)
        .select(FaultRow::as_select())
        .first(conn)
        .optional()
}

/// Saves a fault read in this transaction; false when someone else saved it meanwhile.
pub fn save(conn: &mut DbConn, row: &mut FaultRow) -> QueryResult<bool> {
    let read = row.version;
    row.version = read + 1;
    let n = diesel::update(
        network_faults::table
            .filter(network_faults::id.eq(&row.id))
            .filter(network_faults::version.eq(read)),
    )
    .set(row.clone())
    .execute(conn)?;
    if n == 0 {
        row.version = read;
    }
    Ok(n == 1)
}

/// Records that the on-duty staff heard of the fault at `at`, if nobody recorded it before.
/// Answers whether this call recorded it. A dispatcher's action that read the fault earlier
/// then finds it changed and is tried again.
pub fn mark_pushed(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        network_faults::table
            .find(id)
            .filter(network_faults::pushed_at.is_null()),
    )
    .set((
        network_faults::pushed_at.eq(at),
        network_faults::version.eq(network_faults::version + 1),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records a message to the staff at `at`, who then knew of `calls` linked calls.
pub fn mark_told(conn: &mut DbConn, id: &str, at: NaiveDateTime, calls: i64) -> QueryResult<()> {
    diesel::update(network_faults::table.find(id))
        .set((
            network_faults::told_at.eq(at),
            network_faults::told_calls.eq(calls as i32),
            network_faults::updated_at.eq(at),
            network_faults::version.eq(network_faults::version + 1),
        ))
        .execute(conn)
        .map(|_| ())
}

/// How many calls are linked to each of these faults (faults with none are left out).
pub fn linked_counts(
    conn: &mut DbConn,
    ids: &[String],
) -> QueryResult<std::collections::HashMap<String, i64>> {
    let rows: Vec<(Option<String>, i64)> = tickets::table
        .filter(tickets::network_fault_id.eq_any(ids))
        .group_by(tickets::network_fault_id)
        .select((tickets::network_fault_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| Some((id?, n)))
        .collect())
}

/// How many calls are linked to a fault.
pub fn linked_count(conn: &mut DbConn, id: &str) -> QueryResult<i64> {
    Ok(linked_counts(conn, &[id.to_string()])?
        .get(id)
        .copied()
        .unwrap_or(0))
}

/// The faults of a region still gathering calls, oldest first.
pub fn open_in_region(conn: &mut DbConn, region_id: &str) -> QueryResult<Vec<FaultRow>> {
    network_faults::table
        .filter(network_faults::region_id.eq(region_id))
        .filter(network_faults::status.eq_any(OPEN))
        .order((network_faults::opened_at, network_faults::id))
        .select(FaultRow::as_select())
        .load(conn)
}

/// Every open fault with calls the on-duty staff have not heard of yet, with its count.
pub fn with_untold_calls(conn: &mut DbConn) -> QueryResult<Vec<(FaultRow, i64)>> {
    let open: Vec<FaultRow> = network_faults::table
        .filter(network_faults::status.eq_any(OPEN))
        .select(FaultRow::as_select())
        .load(conn)?;
    let ids: Vec<String> = open.iter().map(|f| f.id.clone()).collect();
    let counts = linked_counts(conn, &ids)?;
    Ok(open
        .into_iter()
        .filter_map(|f| {
            let n = counts.get(&f.id).copied().unwrap_or(0);
            (n > f.told_calls as i64).then_some((f, n))
        })
        .collect())
}

/// Open faults whose crew let its contact deadline pass unacknowledged, not yet marked late.
pub fn crew_overdue(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<FaultRow>> {
    network_faults::table
        .filter(network_faults::status.eq_any(OPEN))
        .filter(network_faults::crew_ack_due_at.lt(now))
        .filter(network_faults::crew_acknowledged_at.is_null())
        .filter(network_faults::crew_ack_on_time.is_null())
        .select(FaultRow::as_select())
        .load(conn)
}

/// Open faults whose crew this technician leads and has not acknowledged yet, oldest first.
pub fn awaiting_crew_ack(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<FaultRow>> {
    network_faults::table
        .filter(network_faults::status.eq_any(OPEN))
        .filter(network_faults::crew_lead_id.eq(user_id))
        .filter(network_faults::crew_acknowledged_at.is_null())
        .order(network_faults::crew_assigned_at)
        .select(FaultRow::as_select())
        .load(conn)
}

/// Which faults a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only these regions (None: all).
    pub regions: Option<Vec<String>>,
    pub statuses: Vec<FaultStatus>,
    pub limit: i64,
}

/// Faults, newest first.
pub fn list(conn: &mut DbConn, f: &ListFilter) -> QueryResult<Vec<FaultRow>> {
    let mut q = network_faults::table
        .select(FaultRow::as_select())
        .order((network_faults::opened_at.desc(), network_faults::id))
        .limit(f.limit)
        .into_boxed();
    if let Some(r) = &f.regions {
        q = q.filter(network_faults::region_id.eq_any(r.clone()));
    }
    if !f.statuses.is_empty() {
        let s: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        q = q.filter(network_faults::status.eq_any(s));
    }
    q.load(conn)
}

/// The tickets linked to a fault, in call order.
pub fn linked(conn: &mut DbConn, fault_id: &str) -> QueryResult<Vec<TicketRow>> {
    tickets::table
        .filter(tickets::network_fault_id.eq(fault_id))
        .order((tickets::created_at, tickets::id))
        .select(TicketRow::as_select())
        .load(conn)
}

/// A call's columns the storm rules read: id, time, district, point, category.
type CallRow = (
    String,
    NaiveDateTime,
    Option<String>,
    Option<f64>,
    Option<f64>,
    String,
);

/// Which recent calls a storm rule looks at: open calls of a region since an instant, of the
/// categories a network fault explains, no fault explains yet, in a district or a box around a
/// point (the rule then measures the distance).
#[derive(Debug, Clone)]
pub struct Nearby {
    pub region_id: String,
    pub since: NaiveDateTime,
    /// Only calls after this (a dismissal: the calls before it were judged no network fault).
    pub after: Option<NaiveDateTime>,
    pub categories: Vec<String>,
    pub district_id: Option<String>,
    /// (min lat, max lat, min lon, max lon)
    pub bbox: Option<(f64, f64, f64, f64)>,
}

impl Nearby {
    /// The box of `radius_m` metres around `point` (lat, lon).
    pub fn around(point: (f64, f64), radius_m: f64) -> (f64, f64, f64, f64) {
        let dlat = radius_m / 111_320.0;
        let dlon = radius_m / (111_320.0 * point.0.to_radians().cos().max(0.01));
        (
            point.0 - dlat,
            point.0 + dlat,
            point.1 - dlon,
            point.1 + dlon,
        )
    }
}

type Boxed<'a> = tickets::BoxedQuery<'a, crate::db::MultiBackend>;

fn nearby_query(n: &Nearby) -> Boxed<'static> {
    let open: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(Status::as_str)
        .collect();
    let mut q = tickets::table
        .filter(tickets::region_id.eq(n.region_id.clone()))
        .filter(tickets::created_at.ge(n.since))
        .filter(tickets::network_fault_id.is_null())
        .filter(tickets::follow_up_of.is_null())
        .filter(tickets::status.eq_any(open))
        .filter(tickets::fault_category.eq_any(n.categories.clone()))
        .into_boxed();
    if let Some(after) = n.after {
        q = q.filter(tickets::created_at.gt(after));
    }
    match (&n.district_id, n.bbox) {
        (Some(d), Some((a, b, c, e))) => {
            q = q.filter(
                tickets::district_id.eq(d.clone()).or(tickets::lat
                    .between(a, b)
                    .and(tickets::lon.between(c, e))
                    .assume_not_null()),
            )
        }
        (Some(d), None) => q = q.filter(tickets::district_id.eq(d.clone())),
        (None, Some((a, b, c, e))) => {
            q = q
                .filter(tickets::lat.between(a, b))
                .filter(tickets::lon.between(c, e))
        }
        (None, None) => q = q.filter(tickets::id.is_null()),
    }
    q
}

/// How many calls [`recent_calls`] would look at.
pub fn count_recent_calls(conn: &mut DbConn, n: &Nearby) -> QueryResult<i64> {
    nearby_query(n).count().get_result(conn)
}

/// The recent calls near a place, as the storm rules see them, with their ticket ids: the
/// latest `limit`.
pub fn recent_calls(conn: &mut DbConn, n: &Nearby, limit: i64) -> QueryResult<Vec<(String, Call)>> {
    let rows: Vec<CallRow> = nearby_query(n)
        .order((tickets::created_at.desc(), tickets::id))
        .limit(limit)
        .select((
            tickets::id,
            tickets::created_at,
            tickets::district_id,
            tickets::lat,
            tickets::lon,
            tickets::fault_category,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, at, district_id, lat, lon, category)| {
            (
                id,
                Call {
                    at: at.and_utc(),
                    district_id,
                    point: lat.zip(lon),
                    category,
                },
            )
        })
        .collect())
}

/// When a fault over this district was last dismissed: calls before it were judged no network
/// fault, and do not count again.
pub fn last_dismissed(conn: &mut DbConn, district_id: &str) -> QueryResult<Option<NaiveDateTime>> {
    network_faults::table
        .filter(network_faults::district_id.eq(district_id))
        .filter(network_faults::dismissed_at.is_not_null())
        .select(diesel::dsl::max(network_faults::dismissed_at))
        .first::<Option<NaiveDateTime>>(conn)
}
