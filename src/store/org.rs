//! Organisational units (teams, sections, the leadership, call-center teams, halls), who
//! belongs to which team, and the monthly figures imported for call-center teams and halls.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{org_units, staff_appraisals, unit_figures, unit_members};
use crate::db::DbConn;
use crate::domain::org::UnitKind;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = org_units, treat_none_as_null = true)]
pub struct UnitRow {
    pub id: String,
    pub branch_id: String,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub kind: UnitKind,
    pub code: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub head_user_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &UnitRow) -> QueryResult<()> {
    diesel::insert_into(org_units::table)
        .values(row.clone())
        .execute(conn)
        .map(|_| ())
}

pub fn update(conn: &mut DbConn, row: &UnitRow) -> QueryResult<usize> {
    diesel::update(org_units::table.find(&row.id))
        .set(row.clone())
        .execute(conn)
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<UnitRow>> {
    org_units::table
        .find(id)
        .select(UnitRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<UnitRow>> {
    org_units::table
        .filter(org_units::code.eq(code))
        .select(UnitRow::as_select())
        .get_result(conn)
        .optional()
}

/// Every unit, by code.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<UnitRow>> {
    org_units::table
        .select(UnitRow::as_select())
        .order(org_units::code)
        .load(conn)
}

/// Every unit as the accountability chain reads it (kind, parent, head).
pub fn chain_units(conn: &mut DbConn) -> QueryResult<Vec<crate::domain::org::Unit>> {
    use crate::domain::org::Unit;
    Ok(list(conn)?
        .into_iter()
        .map(|u| Unit {
            kind: u.kind,
            id: u.id,
            parent_id: u.parent_id,
            head_user_id: u.head_user_id,
        })
        .collect())
}

/// What still refers to a unit: (units under it, members, imported figures).
pub fn references(conn: &mut DbConn, id: &str) -> QueryResult<(i64, i64, i64)> {
    let children = org_units::table
        .filter(org_units::parent_id.eq(id))
        .count()
        .get_result(conn)?;
    let members = unit_members::table
        .filter(unit_members::unit_id.eq(id))
        .count()
        .get_result(conn)?;
    let figures = unit_figures::table
        .filter(unit_figures::unit_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok((children, members, figures))
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(org_units::table.find(id)).execute(conn)
}

/// Puts a person in a team, taking them out of any other.
pub fn set_member(conn: &mut DbConn, user_id: &str, unit_id: &str) -> QueryResult<()> {
    diesel::delete(unit_members::table.find(user_id)).execute(conn)?;
    diesel::insert_into(unit_members::table)
        .values((
            unit_members::user_id.eq(user_id),
            unit_members::unit_id.eq(unit_id),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn remove_member(conn: &mut DbConn, unit_id: &str, user_id: &str) -> QueryResult<usize> {
    diesel::delete(
        unit_members::table
            .filter(unit_members::user_id.eq(user_id))
            .filter(unit_members::unit_id.eq(unit_id)),
    )
    .execute(conn)
}

/// Everyone's team: user id to unit id.
pub fn teams(conn: &mut DbConn) -> QueryResult<HashMap<String, String>> {
    Ok(unit_members::table
        .select((unit_members::user_id, unit_members::unit_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// A unit's members, by user id.
pub fn members(conn: &mut DbConn, unit_id: &str) -> QueryResult<Vec<String>> {
    unit_members::table
        .filter(unit_members::unit_id.eq(unit_id))
        .select(unit_members::user_id)
        .order(unit_members::user_id)
        .load(conn)
}

/// One import of a call-center team's or hall's month.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = unit_figures)]
pub struct UnitFiguresRow {
    pub id: String,
    pub unit_id: String,
    pub month: String,
    pub kpi: Option<f64>,
    pub appraisal: Option<f64>,
    pub calls: Option<i64>,
    pub service_complaints: Option<i64>,
    pub government_upheld: Option<i64>,
    pub inspection_met: Option<bool>,
    pub callback_met: Option<bool>,
    pub source: String,
    pub imported_by: String,
    pub imported_at: NaiveDateTime,
}

pub fn insert_figures(conn: &mut DbConn, row: &UnitFiguresRow) -> QueryResult<()> {
    diesel::insert_into(unit_figures::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A unit's imports, newest month first, newest import first within a month.
pub fn figures_history(conn: &mut DbConn, unit_id: &str) -> QueryResult<Vec<UnitFiguresRow>> {
    unit_figures::table
        .filter(unit_figures::unit_id.eq(unit_id))
        .select(UnitFiguresRow::as_select())
        .order((
            unit_figures::month.desc(),
            unit_figures::imported_at.desc(),
            unit_figures::id.desc(),
        ))
        .load(conn)
}

/// The imports of `months`, newest first.
pub fn figures_for_months(
    conn: &mut DbConn,
    months: &[String],
) -> QueryResult<Vec<UnitFiguresRow>> {
    unit_figures::table
        .filter(unit_figures::month.eq_any(months.to_vec()))
        .select(UnitFiguresRow::as_select())
        .order((unit_figures::imported_at.desc(), unit_figures::id.desc()))
        .load(conn)
}

/// A manager's appraisal of a person's month.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_appraisals)]
pub struct StaffAppraisalRow {
    pub id: String,
    pub user_id: String,
    pub month: String,
    pub skill: f64,
    pub knowledge: f64,
    pub attitude: f64,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

pub fn insert_appraisal(conn: &mut DbConn, row: &StaffAppraisalRow) -> QueryResult<()> {
    diesel::insert_into(staff_appraisals::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A person's appraisals, newest month first, newest recording first within a month.
pub fn appraisal_history(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<StaffAppraisalRow>> {
    staff_appraisals::table
        .filter(staff_appraisals::user_id.eq(user_id))
        .select(StaffAppraisalRow::as_select())
        .order((
            staff_appraisals::month.desc(),
            staff_appraisals::recorded_at.desc(),
            staff_appraisals::id.desc(),
        ))
        .load(conn)
}

/// The appraisal that counts for each person in `month`: the latest.
pub fn appraisals_for_month(
    conn: &mut DbConn,
    month: &str,
) -> QueryResult<HashMap<String, StaffAppraisalRow>> {
    let rows: Vec<StaffAppraisalRow> = staff_appraisals::table
        .filter(staff_appraisals::month.eq(month))
        .select(StaffAppraisalRow::as_select())
        .order((
            staff_appraisals::recorded_at.desc(),
            staff_appraisals::id.desc(),
        ))
        .load(conn)?;
    let mut out = HashMap::new();
    for r in rows {
        out.entry(r.user_id.clone()).or_insert(r);
    }
    Ok(out)
}

/// Records that the morning briefs of local day `day` went out (`teams` of them); false when
/// another instance recorded it first.
pub fn brief_day_sent(
    conn: &mut DbConn,
    day: &str,
    at: NaiveDateTime,
    teams: i32,
) -> QueryResult<bool> {
    use crate::db::schema::morning_brief_days;
    if brief_day_done(conn, day)? {
        return Ok(false);
    }
    diesel::insert_into(morning_brief_days::table)
        .values((
            morning_brief_days::day.eq(day),
            morning_brief_days::sent_at.eq(at),
            morning_brief_days::teams.eq(teams),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Whether the morning briefs of local day `day` went out.
pub fn brief_day_done(conn: &mut DbConn, day: &str) -> QueryResult<bool> {
    use crate::db::schema::morning_brief_days;
    diesel::select(diesel::dsl::exists(
        morning_brief_days::table.filter(morning_brief_days::day.eq(day)),
    ))
    .get_result(conn)
}
