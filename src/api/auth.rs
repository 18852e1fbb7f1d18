//! Sign-in, token refresh with rotation, sign-out, and API-key authentication.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::admin::UserDto;
use super::extract::{Caller, CallerKind};
use super::state::AppState;
use super::{resource, ApiError, ApiResult, JsonBody};
use crate::auth::{password, secret, AccessClaims};
use crate::db::DbConn;
use crate::domain::{new_id, RegionScope, Role};
use crate::store::api_keys::ApiKeyRow;
use crate::store::refresh_tokens::{self, RefreshTokenRow};
use crate::store::{api_keys, users};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/login").route(web::post().to(login)))
        .service(resource("/auth/refresh").route(web::post().to(refresh)))
        .service(resource("/auth/logout").route(web::post().to(logout)))
        .service(resource("/me").route(web::get().to(me)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LogoutRequest {
    /// Revokes this token's chain; without it, every refresh token of the caller.
    refresh_token: Option<String>,
}

#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub user: UserDto,
}

fn bad_credentials() -> ApiError {
    ApiError::unauthorized("wrong username or password")
}

async fn login(
    state: web::Data<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let username = req.username.trim().to_string();
    let st = state.clone();
    let user = state
        .db
        .read(move |conn| {
            let Some(row) = users::find_by_username(conn, &username)? else {
                password::verify_nothing(&req.password);
                return Err(bad_credentials());
            };
            if !password::verify(&req.password, &row.password_hash) || !row.active {
                return Err(bad_credentials());
            }
            users::get(conn, &row.id)?.ok_or_else(bad_credentials)
        })
        .await?;
    let now = st.clock.now_naive();
    let tokens = state
        .db
        .write(move |conn| issue_tokens(conn, &st, user, new_id(), now))
        .await?;
    Ok(HttpResponse::Ok().json(tokens))
}

async fn refresh(
    state: web::Data<AppState>,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let st = state.clone();
    let now = state.clock.now_naive();
    let hash = secret::digest(req.refresh_token.trim());
    // The rotation and the reuse check commit in one transaction; a reuse revokes the chain and
    // commits that too, so the refusal is computed inside and returned after the commit.
    let outcome = state
        .db
        .write(move |conn| -> ApiResult<Result<TokenResponse, ApiError>> {
            let invalid = || ApiError::unauthorized("the refresh token is invalid, expired or revoked; sign in again");
            let Some(row) = refresh_tokens::find_by_hash(conn, &hash)? else {
                return Ok(Err(invalid()));
            };
            if row.revoked_at.is_some() || row.used_at.is_some() || !refresh_tokens::mark_used(conn, &row.id, now)? {
                refresh_tokens::revoke_family(conn, &row.family_id, now)?;
                tracing::warn!(user_id = %row.user_id, "refresh token reused; its chain is revoked");
                return Ok(Err(invalid()));
            }
            if row.expires_at <= now {
                return Ok(Err(invalid()));
            }
            match users::get(conn, &row.user_id)? {
                Some(user) if user.active => Ok(Ok(issue_tokens(conn, &st, user, row.family_id, now)?)),
                _ => Ok(Err(invalid())),
            }
        })
        .await?;
    outcome.map(|t| HttpResponse::Ok().json(t))
}

async fn logout(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let now = state.clock.now_naive();
    // No body signs out everywhere; a body that cannot be read is refused, never taken as that.
    let req: LogoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest::default()
    } else {
        super::extract::parse_json(&body)?
    };
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            match req.refresh_token {
                Some(token) => {
                    let row = refresh_tokens::find_by_hash(conn, &secret::digest(token.trim()))?
                        .filter(|r| r.user_id == user_id)
                        .ok_or_else(|| {
                            ApiError::invalid("refresh_token", "is not one of your refresh tokens")
                        })?;
                    refresh_tokens::revoke_family(conn, &row.family_id, now)?;
                }
                None => {
                    refresh_tokens::revoke_user(conn, &user_id, now)?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let user = state
        .db
        .read(move |conn| users::get(conn, &user_id).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

/// Issues an access token and a refresh token in `family_id` for `user`.
fn issue_tokens(
    conn: &mut DbConn,
    state: &AppState,
    user: users::User,
    family_id: String,
    now: NaiveDateTime,
) -> ApiResult<TokenResponse> {
    let config = &state.config;
    let refresh = secret::random_token();
    refresh_tokens::insert(
        conn,
        &RefreshTokenRow {
            id: new_id(),
            user_id: user.id.clone(),
            family_id,
            token_hash: secret::digest(&refresh),
            created_at: now,
            expires_at: now + chrono::Duration::seconds(config.refresh_token_ttl_s),
            used_at: None,
            revoked_at: None,
        },
    )?;
    let iat = now.and_utc().timestamp();
    let claims = AccessClaims {
        sub: user.id.clone(),
        role: user.role,
        regions: if user.role == Role::Admin {
            vec![]
        } else {
            user.region_ids.clone()
        },
        iat,
        exp: iat + config.access_token_ttl_s,
    };
    Ok(TokenResponse {
        access_token: state.jwt.sign(&claims),
        token_type: "Bearer",
        expires_in: config.access_token_ttl_s,
        refresh_token: refresh,
        refresh_expires_in: config.refresh_token_ttl_s,
        user: UserDto::from(user),
    })
}

/// Authenticates an `X-Api-Key`: a call-center integration, acting as an agent in every region.
pub async fn authenticate_api_key(state: &AppState, key: String) -> ApiResult<Caller> {
    let hash = secret::digest(key.trim());
    let row = match state.api_keys.get(&hash) {
        Some(row) => row,
        None => {
            let row = state
                .db
                .read(move |conn| api_keys::find_active(conn, &hash).map_err(ApiError::from))
                .await?
                .ok_or_else(|| ApiError::unauthorized("the API key is invalid or revoked"))?;
            state.api_keys.put(row.clone());
            row
        }
    };
    let now = state.clock.now_naive();
    if row
        .last_used_at
        .is_none_or(|t| t < now - chrono::Duration::seconds(60))
    {
        let id = row.id.clone();
        state
            .db
            .write(move |conn| api_keys::touch(conn, &id, now).map_err(ApiError::from))
            .await?;
        state.api_keys.put(ApiKeyRow {
            last_used_at: Some(now),
            ..row.clone()
        });
    }
    let role = Role::parse("role", &row.role).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Caller {
        id: row.id,
        kind: CallerKind::ApiKey,
        role,
        scope: RegionScope::All,
    })
}

/// How long an instance trusts an API key it has looked up. A revoked key stops working at
/// once on the instance that revoked it, and within this time on the others.
pub const API_KEY_RECHECK: Duration = Duration::from_secs(1);

/// The live API keys this instance looked up in the last [`API_KEY_RECHECK`], by digest: a
/// call center sending a storm of calls with one key costs a lookup a second, not one a call.
/// Unknown and revoked keys are never kept, so each of them is looked up every time.
#[derive(Default)]
pub struct ApiKeyCache {
    keys: Mutex<HashMap<String, (Instant, ApiKeyRow)>>,
}

impl ApiKeyCache {
    /// The key with this digest, if it was found live within [`API_KEY_RECHECK`].
    fn get(&self, digest: &str) -> Option<ApiKeyRow> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(digest)
            .filter(|(at, _)| at.elapsed() < API_KEY_RECHECK)
            .map(|(_, row)| row.clone())
    }

    fn put(&self, row: ApiKeyRow) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.retain(|_, (at, _)| at.elapsed() < API_KEY_RECHECK);
        keys.insert(row.key_hash.clone(), (Instant::now(), row));
    }

    /// After a key is revoked here: every key is looked up again.
    pub fn forget_all(&self) {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
