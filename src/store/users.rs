//! Users, their roles and the regions they are scoped to.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{user_regions, users};
use crate::db::DbConn;
use crate::domain::Role;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A user with parsed role and region ids; the password hash stays in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub active: bool,
    pub region_ids: Vec<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl UserRow {
    pub fn role(&self) -> QueryResult<Role> {
        Role::parse("role", &self.role).map_err(|e| super::corrupt("role", e))
    }

    fn into_user(self, region_ids: Vec<String>) -> QueryResult<User> {
        let role = self.role()?;
        Ok(User {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            phone: self.phone,
            role,
            active: self.active,
            region_ids,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Inserts a user and their region links.
pub fn insert(conn: &mut DbConn, row: &UserRow, region_ids: &[String]) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)?;
    set_regions(conn, &row.id, region_ids)
}

/// Replaces a user's region links.
pub fn set_regions(conn: &mut DbConn, user_id: &str, region_ids: &[String]) -> QueryResult<()> {
    diesel::delete(user_regions::table.filter(user_regions::user_id.eq(user_id))).execute(conn)?;
    for region_id in region_ids {
        diesel::insert_into(user_regions::table)
            .values((
                user_regions::user_id.eq(user_id),
                user_regions::region_id.eq(region_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// The username of another user (not `except_id`) who has this phone number, if any: a phone
/// number names one person, or an SMS reply could be taken for the wrong one.
pub fn phone_taken(conn: &mut DbConn, phone: &str, except_id: &str) -> QueryResult<Option<String>> {
    users::table
        .filter(users::phone.eq(phone))
        .filter(users::id.ne(except_id))
        .select(users::username)
        .first(conn)
        .optional()
}

/// Whether a user's signed-in sessions still hold: active, and under which session version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    pub active: bool,
    pub version: i32,
}

pub fn session_state(conn: &mut DbConn, id: &str) -> QueryResult<Option<SessionState>> {
    users::table
        .find(id)
        .select((users::active, users::session_version))
        .get_result::<(bool, i32)>(conn)
        .optional()
        .map(|r| r.map(|(active, version)| SessionState { active, version }))
}

/// The session states of `ids` (users that no longer exist are left out).
pub fn session_states(conn: &mut DbConn, ids: &[&str]) -> QueryResult<Vec<(String, SessionState)>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::active, users::session_version))
        .load::<(String, bool, i32)>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(|(id, active, version)| (id, SessionState { active, version }))
                .collect()
        })
}

/// Ends every signed-in session of a user: access tokens issued before are refused from now on.
pub fn end_sessions(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::session_version.eq(users::session_version + 1))
        .execute(conn)
}

pub fn find_row(conn: &mut DbConn, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// The users with these ids, in no particular order (one query).
pub fn find_rows(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<UserRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(conn)
}

pub fn region_ids(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<String>> {
    user_regions::table
        .filter(user_regions::user_id.eq(user_id))
        .select(user_regions::region_id)
        .order(user_regions::region_id)
        .load(conn)
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    match find_row(conn, id)? {
        Some(row) => {
            let regions = region_ids(conn, id)?;
            row.into_user(regions).map(Some)
        }
        None => Ok(None),
    }
}

/// Filters for listing users.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub region_id: Option<String>,
}

pub fn list(conn: &mut DbConn, filter: &UserFilter) -> QueryResult<Vec<User>> {
    let mut q = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(role) = filter.role {
        q = q.filter(users::role.eq(role.as_str()));
    }
    if let Some(region_id) = &filter.region_id {
        q = q.filter(
            users::id.eq_any(
                user_regions::table
                    .filter(user_regions::region_id.eq(region_id.clone()))
                    .select(user_regions::user_id),
            ),
        );
    }
    let rows: Vec<UserRow> = q.order(users::username).load(conn)?;
    let links: Vec<(String, String)> = user_regions::table
        .filter(user_regions::user_id.eq_any(rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>()))
        .select((user_regions::user_id, user_regions::region_id))
        .order((user_regions::user_id, user_regions::region_id))
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            let regions = links
                .iter()
                .filter(|(u, _)| *u == row.id)
                .map(|(_, r)| r.clone())
                .collect();
            row.into_user(regions)
        })
        .collect()
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub role: Option<String>,
    pub password_hash: Option<String>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update(conn: &mut DbConn, id: &str, changes: &UserChanges) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}
