//! Per-region SLA settings by kind of work.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::region_policies;
use crate::db::DbConn;

/// The policy kind holding a region's promise for restoring a network fault (beside the
/// kinds of work, `repair` and `install`).
pub const NETWORK_FAULT: &str = "network_fault";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = region_policies, treat_none_as_null = true)]
pub struct PolicyRow {
    pub region_id: String,
    pub kind: String,
    pub promise_minutes: Option<i32>,
    /// JSON [`crate::domain::calendar::CalendarSpec`].
    pub calendar: Option<String>,
    pub updated_at: NaiveDateTime,
    /// JSON array of the fault categories whose tickets need a site photo before they are
    /// resolved (`"*"`: all of them).
    pub photo_required_for: Option<String>,
}

impl PolicyRow {
    /// The fault categories that need a photo, as stored.
    pub fn photo_categories(&self) -> Vec<String> {
        self.photo_required_for
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

pub fn get(conn: &mut DbConn, region_id: &str, kind: &str) -> QueryResult<Option<PolicyRow>> {
    region_policies::table
        .find((region_id, kind))
        .select(PolicyRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn list(conn: &mut DbConn, region_id: &str) -> QueryResult<Vec<PolicyRow>> {
    region_policies::table
        .filter(region_policies::region_id.eq(region_id))
        .order(region_policies::kind)
        .select(PolicyRow::as_select())
        .load(conn)
}

/// Inserts or replaces (update first, insert when absent: portable to every backend).
pub fn put(conn: &mut DbConn, row: &PolicyRow) -> QueryResult<()> {
    let n = diesel::update(region_policies::table.find((&row.region_id, &row.kind)))
        .set(row)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(region_policies::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}
