//! The province's branches (分公司) and the monthly figures imported for them.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{branch_figures, branches, regions};
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = branches)]
pub struct BranchRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &BranchRow) -> QueryResult<()> {
    diesel::insert_into(branches::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<BranchRow>> {
    branches::table
        .find(id)
        .select(BranchRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<BranchRow>> {
    branches::table
        .filter(branches::code.eq(code))
        .select(BranchRow::as_select())
        .get_result(conn)
        .optional()
}

/// Every branch, by code.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<BranchRow>> {
    branches::table
        .select(BranchRow::as_select())
        .order(branches::code)
        .load(conn)
}

pub fn rename(conn: &mut DbConn, id: &str, name: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(branches::table.find(id))
        .set((branches::name.eq(name), branches::updated_at.eq(now)))
        .execute(conn)
}

/// Each branch's regions: branch id to region ids, by region code.
pub fn regions_by_branch(conn: &mut DbConn) -> QueryResult<HashMap<String, Vec<String>>> {
    let rows: Vec<(Option<String>, String)> = regions::table
        .filter(regions::branch_id.is_not_null())
        .select((regions::branch_id, regions::id))
        .order(regions::code)
        .load(conn)?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (b, r) in rows {
        if let Some(b) = b {
            out.entry(b).or_default().push(r);
        }
    }
    Ok(out)
}

/// What still refers to a branch: (regions, imported figures).
pub fn references(conn: &mut DbConn, id: &str) -> QueryResult<(i64, i64)> {
    let r = regions::table
        .filter(regions::branch_id.eq(id))
        .count()
        .get_result(conn)?;
    let f = branch_figures::table
        .filter(branch_figures::branch_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok((r, f))
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(branches::table.find(id)).execute(conn)
}

/// One import of a branch's figures for a month, basis points (`None`: not given).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = branch_figures)]
pub struct FiguresRow {
    pub id: String,
    pub branch_id: String,
    pub month: String,
    pub install_bp: Option<i32>,
    pub maintenance_bp: Option<i32>,
    pub answer_bp: Option<i32>,
    pub online_resolution_bp: Option<i32>,
    pub churn_bp: Option<i32>,
    pub source: String,
    pub imported_by: String,
    pub imported_at: NaiveDateTime,
}

pub fn insert_figures(conn: &mut DbConn, row: &FiguresRow) -> QueryResult<()> {
    diesel::insert_into(branch_figures::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A branch's imports, newest first.
pub fn figures_history(conn: &mut DbConn, branch_id: &str) -> QueryResult<Vec<FiguresRow>> {
    branch_figures::table
        .filter(branch_figures::branch_id.eq(branch_id))
        .select(FiguresRow::as_select())
        .order((
            branch_figures::month.desc(),
            branch_figures::imported_at.desc(),
            branch_figures::id.desc(),
        ))
        .load(conn)
}

/// The import that counts for each branch in `month`: the latest.
pub fn figures_for_month(
    conn: &mut DbConn,
    month: &str,
) -> QueryResult<HashMap<String, FiguresRow>> {
    let rows: Vec<FiguresRow> = branch_figures::table
        .filter(branch_figures::month.eq(month))
        .select(FiguresRow::as_select())
        .order((
            branch_figures::imported_at.desc(),
            branch_figures::id.desc(),
        ))
        .load(conn)?;
    let mut out = HashMap::new();
    for r in rows {
        out.entry(r.branch_id.clone()).or_insert(r);
    }
    Ok(out)
}
