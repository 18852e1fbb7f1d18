//! On-duty rosters and technicians' last known positions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{duty_overrides, duty_rotations, technician_positions};
use crate::db::DbConn;
use crate::domain::duty::{DutyRole, Override, Rotation};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = duty_rotations)]
pub struct RotationRow {
    pub id: String,
    pub region_id: String,
    pub user_id: String,
    pub role: String,
    pub weekday: i32,
    pub start_minute: i32,
    pub end_minute: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = duty_overrides)]
pub struct OverrideRow {
    pub id: String,
    pub region_id: String,
    pub user_id: String,
    pub role: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub on_duty: bool,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert_rotations(conn: &mut DbConn, rows: &[RotationRow]) -> QueryResult<()> {
    for r in rows {
        diesel::insert_into(duty_rotations::table)
            .values(r)
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_override(conn: &mut DbConn, row: &OverrideRow) -> QueryResult<()> {
    diesel::insert_into(duty_overrides::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn rotations(conn: &mut DbConn, region_id: &str) -> QueryResult<Vec<RotationRow>> {
    duty_rotations::table
        .filter(duty_rotations::region_id.eq(region_id))
        .select(RotationRow::as_select())
        .order((
            duty_rotations::weekday,
            duty_rotations::start_minute,
            duty_rotations::user_id,
        ))
        .load(conn)
}

pub fn delete_rotation(conn: &mut DbConn, region_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        duty_rotations::table
            .filter(duty_rotations::id.eq(id))
            .filter(duty_rotations::region_id.eq(region_id)),
    )
    .execute(conn)
}

/// Overrides of a region still in force at or after `from`.
pub fn overrides(
    conn: &mut DbConn,
    region_id: &str,
    from: NaiveDateTime,
) -> QueryResult<Vec<OverrideRow>> {
    duty_overrides::table
        .filter(duty_overrides::region_id.eq(region_id))
        .filter(duty_overrides::ends_at.gt(from))
        .select(OverrideRow::as_select())
        .order(duty_overrides::starts_at)
        .load(conn)
}

/// The region's roster as domain values for [`crate::domain::duty::on_duty`] at `at`.
pub fn roster(
    conn: &mut DbConn,
    region_id: &str,
    at: NaiveDateTime,
) -> QueryResult<(Vec<Rotation>, Vec<Override>)> {
    let rotations = rotations(conn, region_id)?
        .into_iter()
        .map(|r| {
            Ok(Rotation {
                role: DutyRole::parse("role", &r.role)
                    .map_err(|e| super::corrupt("duty role", e))?,
                user_id: r.user_id,
                weekday: r.weekday as u32,
                start_minute: r.start_minute as u32,
                end_minute: r.end_minute as u32,
            })
        })
        .collect::<QueryResult<Vec<_>>>()?;
    let overrides = overrides(conn, region_id, at)?
        .into_iter()
        .map(|o| {
            Ok(Override {
                role: DutyRole::parse("role", &o.role)
                    .map_err(|e| super::corrupt("duty role", e))?,
                user_id: o.user_id,
                starts_at: o.starts_at.and_utc(),
                ends_at: o.ends_at.and_utc(),
                on_duty: o.on_duty,
            })
        })
        .collect::<QueryResult<Vec<_>>>()?;
    Ok((rotations, overrides))
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = technician_positions, treat_none_as_null = true)]
pub struct PositionRow {
    pub user_id: String,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub at: NaiveDateTime,
}

/// Records a position unless a newer one is already stored (phones replay old fixes after a
/// signal loss).
pub fn record_position(conn: &mut DbConn, p: &PositionRow) -> QueryResult<()> {
    let updated = diesel::update(
        technician_positions::table
            .filter(technician_positions::user_id.eq(&p.user_id))
            .filter(technician_positions::at.le(p.at)),
    )
    .set(p)
    .execute(conn)?;
    if updated == 0 {
        let exists: bool = diesel::select(diesel::dsl::exists(
            technician_positions::table.find(&p.user_id),
        ))
        .get_result(conn)?;
        if !exists {
            diesel::insert_into(technician_positions::table)
                .values(p)
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn positions(conn: &mut DbConn, user_ids: &[String]) -> QueryResult<Vec<PositionRow>> {
    technician_positions::table
        .filter(technician_positions::user_id.eq_any(user_ids.to_vec()))
        .select(PositionRow::as_select())
        .load(conn)
}
