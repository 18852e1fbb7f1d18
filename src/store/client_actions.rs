//! Technicians' actions by the phone's own action id, with their first answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::client_actions;
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_actions)]
pub struct ClientActionRow {
    pub user_id: String,
    pub action_id: String,
    pub fingerprint: String,
    /// `applied`, `conflict` or `rejected`.
    pub outcome: String,
    pub status: i32,
    /// JSON.
    pub body: String,
    pub ticket_id: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn find(
    conn: &mut DbConn,
    user_id: &str,
    action_id: &str,
) -> QueryResult<Option<ClientActionRow>> {
    client_actions::table
        .find((user_id, action_id))
        .select(ClientActionRow::as_select())
        .get_result(conn)
        .optional()
}

/// Records an action's first answer; fails on a second record of the same action id.
pub fn insert(conn: &mut DbConn, row: &ClientActionRow) -> QueryResult<()> {
    diesel::insert_into(client_actions::table)
        .values(row.clone())
        .execute(conn)
        .map(|_| ())
}

/// How long an action id is remembered: a phone resends a queued action within hours, not
/// weeks.
pub const RETENTION: chrono::Duration = chrono::Duration::days(7);

/// Forgets actions recorded before `before`.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(client_actions::table.filter(client_actions::created_at.lt(before)))
        .execute(conn)
}
