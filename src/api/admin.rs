//! Administration: users (roles, regions, passwords) and integration API keys. Admins only.

use std::collections::BTreeSet;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::AppState;
use super::{created, resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::auth::{password, secret};
use crate::domain::{new_id, required_text, Invalid, PhoneNumber, Role};
use crate::store::api_keys::{self, ApiKeyRow};
use crate::store::users::{self, User, UserChanges, UserFilter, UserRow};
use crate::store::{refresh_tokens, regions};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/admin/users")
            .route(web::get().to(list_users))
            .route(web::post().to(create_user)),
    )
    .service(
        resource("/admin/users/{id}")
            .route(web::get().to(get_user))
            .route(web::patch().to(update_user)),
    )
    .service(
        resource("/admin/api-keys")
            .route(web::get().to(list_keys))
            .route(web::post().to(create_key)),
    )
    .service(resource("/admin/api-keys/{id}").route(web::delete().to(revoke_key)));
}

/// A user as the API shows it.
#[derive(Debug, Serialize)]
pub struct UserDto {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub active: bool,
    pub region_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            phone: u.phone,
            role: u.role,
            active: u.active,
            region_ids: u.region_ids,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    display_name: String,
    role: String,
    password: String,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    region_ids: Vec<String>,
}

/// A user ready to insert, checked field by field. Shared by the API and `fixline user add`.
pub struct ValidUser {
    pub row: UserRow,
    pub region_ids: Vec<String>,
}

/// Checks a new user's fields (region existence is checked against the database by the caller)
/// and hashes the password with `hash` once the fields pass.
#[allow(clippy::too_many_arguments)]
pub fn validate_new_user(
    username: &str,
    display_name: &str,
    role: &str,
    password_text: &str,
    phone: Option<&str>,
    region_ids: Vec<String>,
    now: chrono::NaiveDateTime,
    hash: impl FnOnce(&str) -> String,
) -> Result<ValidUser, Invalid> {
    let username = username.trim();
    if username.len() < 2
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Invalid::new(
            "username",
            "must be 2 to 64 letters, digits, '.', '_' or '-'",
        ));
    }
    let display_name = required_text("display_name", display_name, 100)?;
    let role = Role::parse("role", role)?;
    password::check_new("password", password_text, Some(username))?;
    let phone = phone
        .filter(|p| !p.trim().is_empty())
        .map(|p| PhoneNumber::parse("phone", p))
        .transpose()?;
    if role != Role::Admin && region_ids.is_empty() {
        return Err(Invalid::new(
            "region_ids",
            "every role but admin needs at least one region",
        ));
    }
    let mut region_ids = region_ids;
    region_ids.sort();
    region_ids.dedup();
    Ok(ValidUser {
        row: UserRow {
            id: new_id(),
            username: username.to_string(),
            display_name,
            phone: phone.map(|p| p.to_string()),
            role: role.as_str().to_string(),
            password_hash: hash(password_text),
            active: true,
            created_at: now,
            updated_at: now,
        },
        region_ids,
    })
}

/// 409 on `phone` when another user has this number.
fn check_phone_free(conn: &mut crate::db::DbConn, phone: &str, user_id: &str) -> ApiResult<()> {
    match users::phone_taken(conn, phone, user_id)? {
        Some(other) => Err(ApiError::conflict(format!(
            "{other} already has this phone number; SMS replies must name one person"
        ))
        .with_field("phone")),
        None => Ok(()),
    }
}

/// Fails with 422 on `field` unless every region id exists.
pub fn check_regions_exist(
    conn: &mut crate::db::DbConn,
    field: &str,
    ids: &[String],
) -> ApiResult<()> {
    let found = regions::existing(conn, ids)?;
    if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
        return Err(ApiError::invalid(
            field,
            format!("no region has id {missing}"),
        ));
    }
    Ok(())
}

async fn create_user(
    state: web::Data<AppState>,
    _caller: Caller,
    JsonBody(req): JsonBody<NewUser>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now_naive();
    let valid = web::block(move || {
        validate_new_user(
            &req.username,
            &req.display_name,
            &req.role,
            &req.password,
            req.phone.as_deref(),
            req.region_ids,
            now,
            password::hash,
        )
    })
    .await??;
    let user = state
        .db
        .write(move |conn| insert_user(conn, &valid))
        .await?;
    Ok(created(&UserDto::from(user)))
}

/// Stores a validated new user: its regions must exist (422), its username and phone number be
/// free (409). The admin route and `fixline user add` both create users through it.
pub fn insert_user(conn: &mut crate::db::DbConn, valid: &ValidUser) -> ApiResult<User> {
    check_regions_exist(conn, "region_ids", &valid.region_ids)?;
    if users::find_by_username(conn, &valid.row.username)?.is_some() {
        return Err(
            ApiError::conflict(format!("username {} is taken", valid.row.username))
                .with_field("username"),
        );
    }
    if let Some(phone) = &valid.row.phone {
        check_phone_free(conn, phone, &valid.row.id)?;
    }
    users::insert(conn, &valid.row, &valid.region_ids)?;
    users::get(conn, &valid.row.id)?.ok_or_else(|| ApiError::internal("user vanished after insert"))
}

#[derive(Deserialize)]
struct UserQuery {
    role: Option<String>,
    region_id: Option<String>,
}

async fn list_users(
    state: web::Data<AppState>,
    _caller: Caller,
    query: web::Query<UserQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let filter = UserFilter {
        role: q
            .role
            .as_deref()
            .map(|r| Role::parse("role", r))
            .transpose()?,
        region_id: q.region_id,
    };
    let list = state
        .db
        .read(move |conn| users::list(conn, &filter).map_err(ApiError::from))
        .await?;
    let items: Vec<UserDto> = list.into_iter().map(UserDto::from).collect();
    Ok(super::items(items))
}

async fn get_user(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let user = state
        .db
        .read(move |conn| users::get(conn, &id).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    display_name: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    phone: Option<Option<String>>,
    role: Option<String>,
    password: Option<String>,
    active: Option<bool>,
    region_ids: Option<Vec<String>>,
}

async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<UserPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let mut changes = UserChanges {
        updated_at: Some(now),
        ..Default::default()
    };
    if let Some(name) = &patch.display_name {
        changes.display_name = Some(required_text("display_name", name, 100)?);
    }
    if let Some(phone) = &patch.phone {
        changes.phone = Some(
            phone
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(|p| PhoneNumber::parse("phone", p).map(|p| p.to_string()))
                .transpose()?,
        );
    }
    let role = patch
        .role
        .as_deref()
        .map(|r| Role::parse("role", r))
        .transpose()?;
    // An admin who demoted or disabled themselves could leave nobody to undo it.
    if caller.user_id().ok() == Some(id.as_str()) {
        if patch.active == Some(false) {
            return Err(ApiError::invalid(
                "active",
                "you cannot disable your own account; another admin can",
            ));
        }
        if role.is_some_and(|r| r != Role::Admin) {
            return Err(ApiError::invalid(
                "role",
                "you cannot give up your own admin role; another admin can",
            ));
        }
    }
    changes.role = role.map(|r| r.as_str().to_string());
    if let Some(pw) = patch.password {
        let uid = id.clone();
        let username = state
            .db
            .read(move |conn| users::get(conn, &uid).map_err(ApiError::from))
            .await?
            .ok_or_else(|| ApiError::not_found("no such user"))?
            .username;
        password::check_new("password", &pw, Some(&username))?;
        changes.password_hash = Some(web::block(move || password::hash(&pw)).await?);
    }
    changes.active = patch.active;
    let region_ids = patch.region_ids;
    let (user, revoke) = state
        .db
        .write(move |conn| -> ApiResult<(User, bool)> {
            let current =
                users::get(conn, &id)?.ok_or_else(|| ApiError::not_found("no such user"))?;
            if let Some(ids) = &region_ids {
                check_regions_exist(conn, "region_ids", ids)?;
            }
            let final_role = role.unwrap_or(current.role);
            let final_regions = region_ids.as_ref().unwrap_or(&current.region_ids);
            if final_role != Role::Admin && final_regions.is_empty() {
                return Err(ApiError::invalid(
                    "region_ids",
                    "every role but admin needs at least one region",
                ));
            }
            if let Some(Some(phone)) = &changes.phone {
                check_phone_free(conn, phone, &id)?;
            }
            // Changed rights or credentials: the user signs in again to get them. Restating
            // what the user already has changes nothing.
            let regions = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
            let revoke = (current.active && changes.active == Some(false))
                || changes.password_hash.is_some()
                || final_role != current.role
                || regions(final_regions) != regions(&current.region_ids);
            users::update(conn, &id, &changes)?;
            if let Some(ids) = &region_ids {
                users::set_regions(conn, &id, ids)?;
            }
            if revoke {
                refresh_tokens::revoke_user(conn, &id, now)?;
                users::end_sessions(conn, &id)?;
            }
            let user = users::get(conn, &id)?.ok_or_else(|| ApiError::not_found("no such user"))?;
            Ok((user, revoke))
        })
        .await?;
    if revoke {
        state.sessions.forget(&user.id);
    }
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

#[derive(Serialize)]
struct ApiKeyDto {
    id: String,
    name: String,
    prefix: String,
    role: String,
    created_by: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    purpose: String,
    /// The regions the key acts in; null: every region.
    region_ids: Option<Vec<String>>,
    expires_at: Option<DateTime<Utc>>,
    /// The key itself: in the creation answer only, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl From<ApiKeyRow> for ApiKeyDto {
    fn from(r: ApiKeyRow) -> Self {
        ApiKeyDto {
            region_ids: r.regions(),
            id: r.id,
            name: r.name,
            prefix: r.key_prefix,
            role: r.role,
            created_by: r.created_by,
            created_at: utc(r.created_at),
            last_used_at: r.last_used_at.map(utc),
            revoked_at: r.revoked_at.map(utc),
            purpose: r.purpose,
            expires_at: r.expires_at.map(utc),
            key: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    /// `intake` (default) or `complaints`.
    #[serde(default)]
    purpose: Option<String>,
    /// The regions the key may act in; absent: every region.
    #[serde(default)]
    region_ids: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<String>,
}

async fn create_key(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewKey>,
) -> ApiResult<HttpResponse> {
    let name = required_text("name", &req.name, 100)?;
    let purpose = crate::domain::key_purpose::KeyPurpose::parse(
        "purpose",
        req.purpose.as_deref().unwrap_or("intake"),
    )?;
    let now = state.clock.now_naive();
    let expires_at = req
        .expires_at
        .as_deref()
        .map(|s| super::parse_instant("expires_at", s))
        .transpose()?;
    if expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::invalid("expires_at", "must be in the future"));
    }
    let region_ids = match req.region_ids {
        Some(ids) if ids.is_empty() => {
            return Err(ApiError::invalid(
                "region_ids",
                "name at least one region, or leave it out for every region",
            ))
        }
        Some(mut ids) => {
            ids.sort();
            ids.dedup();
            let check = ids.clone();
            state
                .db
                .read(move |conn| check_regions_exist(conn, "region_ids", &check))
                .await?;
            Some(ids.join(","))
        }
        None => None,
    };
    let (prefix, key) = secret::new_api_key();
    let row = ApiKeyRow {
        id: new_id(),
        name,
        key_prefix: prefix,
        key_hash: secret::digest(&key),
        role: Role::Agent.as_str().to_string(),
        created_by: Some(caller.user_id()?.to_string()),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        purpose: purpose.as_str().to_string(),
        region_ids,
        expires_at,
    };
    let stored = row.clone();
    state
        .db
        .write(move |conn| api_keys::insert(conn, &stored).map_err(ApiError::from))
        .await?;
    let mut dto = ApiKeyDto::from(row);
    dto.key = Some(key);
    Ok(created(&dto))
}

async fn list_keys(state: web::Data<AppState>, _caller: Caller) -> ApiResult<HttpResponse> {
    let rows = state
        .db
        .read(|conn| api_keys::list(conn).map_err(ApiError::from))
        .await?;
    let items: Vec<ApiKeyDto> = rows.into_iter().map(ApiKeyDto::from).collect();
    Ok(super::items(items))
}

async fn revoke_key(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            if !api_keys::exists(conn, &id)? {
                return Err(ApiError::not_found("no such API key"));
            }
            api_keys::revoke(conn, &id, now)?;
            Ok(())
        })
        .await?;
    state.api_keys.forget_all();
    Ok(HttpResponse::NoContent().finish())
}
