//! Regions: the unit of on-duty rosters, scoping and (at province scale) sharding.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{districts, regions, user_regions};
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = regions)]
pub struct Region {
    pub id: String,
    pub code: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The branch (分公司) the region belongs to, if any.
    pub branch_id: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &Region) -> QueryResult<()> {
    diesel::insert_into(regions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<Region>> {
    regions::table
        .find(id)
        .select(Region::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Region>> {
    regions::table
        .filter(regions::code.eq(code))
        .select(Region::as_select())
        .get_result(conn)
        .optional()
}

/// Regions, limited to `only` when given.
pub fn list(conn: &mut DbConn, only: Option<&[String]>) -> QueryResult<Vec<Region>> {
    let mut q = regions::table.select(Region::as_select()).into_boxed();
    if let Some(ids) = only {
        q = q.filter(regions::id.eq_any(ids.to_vec()));
    }
    q.order(regions::code).load(conn)
}

/// Which of `ids` exist.
pub fn existing(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<String>> {
    regions::table
        .filter(regions::id.eq_any(ids.to_vec()))
        .select(regions::id)
        .load(conn)
}

pub fn rename(conn: &mut DbConn, id: &str, name: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(regions::table.find(id))
        .set((regions::name.eq(name), regions::updated_at.eq(now)))
        .execute(conn)
}

/// Moves a region into a branch, or out of any (`None`).
pub fn set_branch(
    conn: &mut DbConn,
    id: &str,
    branch_id: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(regions::table.find(id))
        .set((
            regions::branch_id.eq(branch_id),
            regions::updated_at.eq(now),
        ))
        .execute(conn)
}

/// What still refers to a region: (districts, users).
pub fn references(conn: &mut DbConn, id: &str) -> QueryResult<(i64, i64)> {
    let d = districts::table
        .filter(districts::region_id.eq(id))
        .count()
        .get_result(conn)?;
    let u = user_regions::table
        .filter(user_regions::region_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok((d, u))
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(regions::table.find(id)).execute(conn)
}
