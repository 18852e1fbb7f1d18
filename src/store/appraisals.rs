//! District leaders' (格长) monthly appraisals. Every recording is kept; the latest counts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::district_appraisals;
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = district_appraisals)]
pub struct AppraisalRow {
    pub id: String,
    pub district_id: String,
    pub month: String,
    pub score: f64,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &AppraisalRow) -> QueryResult<()> {
    diesel::insert_into(district_appraisals::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A district's appraisals, newest first.
pub fn history(conn: &mut DbConn, district_id: &str) -> QueryResult<Vec<AppraisalRow>> {
    district_appraisals::table
        .filter(district_appraisals::district_id.eq(district_id))
        .select(AppraisalRow::as_select())
        .order((
            district_appraisals::month.desc(),
            district_appraisals::recorded_at.desc(),
            district_appraisals::id.desc(),
        ))
        .load(conn)
}

/// The score in force for each district in `month`: the latest recorded.
pub fn for_month(conn: &mut DbConn, month: &str) -> QueryResult<Vec<(String, f64)>> {
    let rows: Vec<(String, f64)> = district_appraisals::table
        .filter(district_appraisals::month.eq(month))
        .order((
            district_appraisals::recorded_at.asc(),
            district_appraisals::id.asc(),
        ))
        .select((district_appraisals::district_id, district_appraisals::score))
        .load(conn)?;
    let mut latest = std::collections::BTreeMap::new();
    for (d, s) in rows {
        latest.insert(d, s);
    }
    Ok(latest.into_iter().collect())
}
