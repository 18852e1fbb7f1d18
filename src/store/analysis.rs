//! The counts behind the monthly work-order analysis, in one scope (regions, or a district).

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::db::schema::tickets;
use crate::db::DbConn;

/// Which tickets an analysis covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only these regions (None: every region).
    pub regions: Option<Vec<String>>,
    pub district: Option<String>,
}

macro_rules! scoped {
    ($q:expr, $scope:expr) => {{
        let mut q = $q.into_boxed();
        if let Some(r) = &$scope.regions {
            q = q.filter(tickets::region_id.eq_any(r.clone()));
        }
        if let Some(d) = &$scope.district {
            q = q.filter(tickets::district_id.eq(d.clone()));
        }
        q
    }};
}

/// kind, fault category, recorded by, follow-up of, count
pub type RecordedGroup = (String, String, String, Option<String>, i64);

/// Tickets recorded in `[start, end)`, counted by kind, category, who recorded them and
/// whether they follow up another ticket.
pub fn recorded(
    conn: &mut DbConn,
    scope: &Scope,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<RecordedGroup>> {
    scoped!(
        tickets::table
            .filter(tickets::created_at.ge(start))
            .filter(tickets::created_at.lt(end))
            .group_by((
                tickets::kind,
                tickets::fault_category,
                tickets::created_by,
                tickets::follow_up_of,
            ))
            .select((
                tickets::kind,
                tickets::fault_category,
                tickets::created_by,
                tickets::follow_up_of,
                count_star(),
            )),
        scope
    )
    .load(conn)
}

/// Tickets finished in `[start, end)`, counted by resolution code.
pub fn resolved(
    conn: &mut DbConn,
    scope: &Scope,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<(Option<String>, i64)>> {
    scoped!(
        tickets::table
            .filter(tickets::resolved_at.ge(start))
            .filter(tickets::resolved_at.lt(end))
            .group_by(tickets::resolution_code)
            .select((tickets::resolution_code, count_star())),
        scope
    )
    .load(conn)
}

/// id, customer phone, address, time
pub type RepairRow = (String, String, String, NaiveDateTime);

/// Repairs recorded in `[start, end)`.
pub fn repair_calls(
    conn: &mut DbConn,
    scope: &Scope,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<RepairRow>> {
    scoped!(
        tickets::table
            .filter(tickets::created_at.ge(start))
            .filter(tickets::created_at.lt(end))
            .filter(tickets::kind.eq("repair")),
        scope
    )
    .select((
        tickets::id,
        tickets::customer_phone,
        tickets::address,
        tickets::created_at,
    ))
    .order((tickets::created_at.asc(), tickets::id.asc()))
    .load(conn)
}

/// Repairs finished in `[start, end)`.
pub fn finished_repairs(
    conn: &mut DbConn,
    scope: &Scope,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<RepairRow>> {
    scoped!(
        tickets::table
            .filter(tickets::resolved_at.ge(start))
            .filter(tickets::resolved_at.lt(end))
            .filter(tickets::kind.eq("repair")),
        scope
    )
    .select((
        tickets::id,
        tickets::customer_phone,
        tickets::address,
        tickets::resolved_at.assume_not_null(),
    ))
    .load(conn)
}

/// The ids of tickets recorded in `[start, end)` with who recorded them and what they follow
/// up, in time order (for a drill-down by source).
pub fn recorded_ids(
    conn: &mut DbConn,
    scope: &Scope,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<(String, String, Option<String>)>> {
    scoped!(
        tickets::table
            .filter(tickets::created_at.ge(start))
            .filter(tickets::created_at.lt(end)),
        scope
    )
    .select((tickets::id, tickets::created_by, tickets::follow_up_of))
    .order((tickets::created_at.asc(), tickets::id.asc()))
    .load(conn)
}

/// Which dimension a drill-down filters on.
#[derive(Debug, Clone)]
pub enum Filter {
    Kind(String),
    Category(String),
    /// A resolution code; None: finished without one.
    Resolution(Option<String>),
}

/// The ids of the tickets one count covers, in time order, one page.
pub fn ids_where(
    conn: &mut DbConn,
    scope: &Scope,
    start: NaiveDateTime,
    end: NaiveDateTime,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let q = match filter {
        Filter::Kind(k) => scoped!(
            tickets::table
                .filter(tickets::created_at.ge(start))
                .filter(tickets::created_at.lt(end))
                .filter(tickets::kind.eq(k.clone())),
            scope
        )
        .order((tickets::created_at.asc(), tickets::id.asc())),
        Filter::Category(c) => scoped!(
            tickets::table
                .filter(tickets::created_at.ge(start))
                .filter(tickets::created_at.lt(end))
                .filter(tickets::fault_category.eq(c.clone())),
            scope
        )
        .order((tickets::created_at.asc(), tickets::id.asc())),
        Filter::Resolution(code) => {
            let q = scoped!(
                tickets::table
                    .filter(tickets::resolved_at.ge(start))
                    .filter(tickets::resolved_at.lt(end)),
                scope
            );
            match code {
                Some(c) => q.filter(tickets::resolution_code.eq(c.clone())),
                None => q.filter(tickets::resolution_code.is_null()),
            }
            .order((tickets::resolved_at.asc(), tickets::id.asc()))
        }
    };
    q.select(tickets::id).offset(offset).limit(limit).load(conn)
}

/// Which of `ids` are API keys.
pub fn key_ids(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<String>> {
    crate::db::schema::api_keys::table
        .filter(crate::db::schema::api_keys::id.eq_any(ids.to_vec()))
        .select(crate::db::schema::api_keys::id)
        .load(conn)
}
