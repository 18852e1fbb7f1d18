//! Household visits.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::household_visits;
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = household_visits)]
pub struct VisitRow {
    pub id: String,
    pub region_id: String,
    pub district_id: Option<String>,
    /// Who visited.
    pub user_id: String,
    pub customer_name: Option<String>,
    pub customer_phone: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub visited_at: NaiveDateTime,
    /// JSON object keyed by question.
    pub answers: String,
    /// The repair the visit opened for a fault the customer reported.
    pub ticket_id: Option<String>,
    /// The complaint the visit opened.
    pub complaint_id: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &VisitRow) -> QueryResult<()> {
    diesel::insert_into(household_visits::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// What to list.
#[derive(Debug, Clone)]
pub struct VisitFilter {
    /// None: every region.
    pub regions: Option<Vec<String>>,
    pub user_id: Option<String>,
    pub between: (NaiveDateTime, NaiveDateTime),
    pub offset: i64,
    pub limit: i64,
}

/// Visits in the filter, latest first.
pub fn list(conn: &mut DbConn, f: &VisitFilter) -> QueryResult<Vec<VisitRow>> {
    let mut q = household_visits::table
        .filter(household_visits::visited_at.ge(f.between.0))
        .filter(household_visits::visited_at.lt(f.between.1))
        .into_boxed();
    if let Some(r) = &f.regions {
        q = q.filter(household_visits::region_id.eq_any(r.clone()));
    }
    if let Some(u) = &f.user_id {
        q = q.filter(household_visits::user_id.eq(u.clone()));
    }
    q.order((
        household_visits::visited_at.desc(),
        household_visits::id.desc(),
    ))
    .offset(f.offset)
    .limit(f.limit)
    .select(VisitRow::as_select())
    .load(conn)
}

/// Per visitor in `[start, end)` within `regions`: (user, visits, tickets opened, complaints
/// opened).
pub fn counts(
    conn: &mut DbConn,
    regions: Option<&[String]>,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<(String, i64, i64, i64)>> {
    use diesel::dsl::{count, count_star};
    macro_rules! per_visitor {
        ($q:expr) => {
            $q.filter(household_visits::visited_at.ge(start))
                .filter(household_visits::visited_at.lt(end))
                .group_by(household_visits::user_id)
                .select((
                    household_visits::user_id,
                    count_star(),
                    count(household_visits::ticket_id),
                    count(household_visits::complaint_id),
                ))
                .load(conn)
        };
    }
    match regions {
        Some(r) => per_visitor!(
            household_visits::table.filter(household_visits::region_id.eq_any(r.to_vec()))
        ),
        None => per_visitor!(household_visits::table),
    }
}
