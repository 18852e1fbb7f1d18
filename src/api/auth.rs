//! Sign-in, token refresh with rotation, sign-out, and API-key authentication.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::admin::UserDto;
use super::extract::{Caller, CallerKind};
use super::state::AppState;
use super::{resource, ApiError, ApiResult, JsonBody};
use crate::auth::throttle::{Throttle, ThrottlePolicy};
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
    http: HttpRequest,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let username = req.username.trim().to_string();
    let user_key = username.to_lowercase();
    let address = http
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let now = state.clock.now_naive();
    let guard = &state.sign_in;
    let wait = guard
        .by_username
        .wait(&user_key, now)
        .max(guard.by_address.wait(&address, now));
    if let Some(wait) = wait {
        let secs = (wait.num_milliseconds() as u64).div_ceil(1000);
        return Err(ApiError::too_many_requests(
            format!("too many failed sign-ins; try again in {secs} s"),
            secs,
        ));
    }
    // The account is read on a pooled connection; the password is checked off it, a few at a
    // time, so a flood of sign-ins neither holds the pool nor takes every core.
    let account = state
        .db
        .read(
            move |conn| -> ApiResult<Option<(String, bool, users::User)>> {
                let Some(row) = users::find_by_username(conn, &username)? else {
                    return Ok(None);
                };
                Ok(users::get(conn, &row.id)?.map(|u| (row.password_hash, row.active, u)))
            },
        )
        .await?;
    let checked = {
        let _permit = guard
            .hashing
            .acquire()
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let password = req.password;
        web::block(move || match account {
            None => {
                password::verify_nothing(&password);
                None
            }
            Some((hash, active, user)) => {
                (password::verify(&password, &hash) && active).then_some(user)
            }
        })
        .await?
    };
    let Some(user) = checked else {
        guard.by_username.failed(&user_key, now);
        guard.by_address.failed(&address, now);
        return Err(bad_credentials());
    };
    guard.by_username.succeeded(&user_key);
    let st = state.clone();
    let tokens = state
        .db
        .write(move |conn| issue_tokens(conn, &st, user, new_id(), now))
        .await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// What stands between a password guesser and the accounts: throttles per username and per
/// client address, and a bound on password checks running at once.
pub struct SignInGuard {
    pub by_username: Throttle,
    pub by_address: Throttle,
    pub hashing: tokio::sync::Semaphore,
}

impl Default for SignInGuard {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        SignInGuard {
            by_username: Throttle::new(ThrottlePolicy::USERNAME),
            by_address: Throttle::new(ThrottlePolicy::ADDRESS),
            hashing: tokio::sync::Semaphore::new(cores),
        }
    }
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
            // The access tokens signed out go at once; other devices refresh theirs.
            users::end_sessions(conn, &user_id)?;
            Ok(())
        })
        .await?;
    state.sessions.forget(caller.user_id()?);
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
    let sv = users::session_state(conn, &user.id)?.map_or(0, |s| s.version);
    let iat = now.and_utc().timestamp();
    let claims = AccessClaims {
        sub: user.id.clone(),
        role: user.role,
        regions: if user.role == Role::Admin {
            vec![]
        } else {
            user.region_ids.clone()
        },
        sv,
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

/// Refuses an access token whose session has ended: the user is gone or disabled, or their
/// sessions were ended (sign-out, new role, regions or password) after it was issued. The state
/// is looked up at most once a second per user and instance.
pub async fn check_session(state: &AppState, claims: &AccessClaims) -> ApiResult<()> {
    session_holds(state, &claims.sub, claims.sv).await
}

/// 401 unless user `user_id`'s sessions of version `sv` still hold.
pub async fn session_holds(state: &AppState, user_id: &str, sv: i32) -> ApiResult<()> {
    let session = match state.sessions.get(user_id) {
        Some(s) => Some(s),
        None => {
            let id = user_id.to_string();
            let s = state
                .db
                .read(move |conn| users::session_state(conn, &id).map_err(ApiError::from))
                .await?;
            if let Some(s) = s {
                state.sessions.put(user_id.to_string(), s);
            }
            s
        }
    };
    match session {
        Some(s) if s.active && s.version == sv => Ok(()),
        _ => Err(ApiError::unauthorized(
            "this session has ended; refresh the token or sign in again",
        )),
    }
}

/// Authenticates an `X-Api-Key`: an integration acting as an agent in the key's regions, on the
/// routes of its purpose (`pattern` is the route called), until the key expires.
pub async fn authenticate_api_key(
    state: &AppState,
    key: String,
    pattern: Option<String>,
) -> ApiResult<Caller> {
    let hash = secret::digest(key.trim());
    let row = match state.api_keys.get(&hash) {
        Some(row) => row,
        None => {
            let row = state
                .db
                .read(move |conn| api_keys::find_active(conn, &hash).map_err(ApiError::from))
                .await?
                .ok_or_else(|| ApiError::unauthorized("the API key is invalid or revoked"))?;
            state.api_keys.put(row.key_hash.clone(), row.clone());
            row
        }
    };
    let now = state.clock.now_naive();
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::unauthorized("the API key has expired"));
    }
    let purpose = crate::domain::key_purpose::KeyPurpose::parse("purpose", &row.purpose)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if !pattern.as_deref().is_some_and(|p| purpose.allows(p)) {
        return Err(ApiError::forbidden(format!(
            "this API key is for {}; it cannot call this route",
            purpose.as_str()
        )));
    }
    if row
        .last_used_at
        .is_none_or(|t| t < now - chrono::Duration::seconds(60))
    {
        let id = row.id.clone();
        state
            .db
            .write(move |conn| api_keys::touch(conn, &id, now).map_err(ApiError::from))
            .await?;
        state.api_keys.put(
            row.key_hash.clone(),
            ApiKeyRow {
                last_used_at: Some(now),
                ..row.clone()
            },
        );
    }
    let role = Role::parse("role", &row.role).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Caller {
        scope: match row.regions() {
            Some(ids) => RegionScope::Only(ids),
            None => RegionScope::All,
        },
        id: row.id,
        kind: CallerKind::ApiKey,
        role,
        session: None,
    })
}

/// The live API keys this instance looked up in the last second, by digest: a call center
/// sending a storm of calls with one key costs a lookup a second, not one a call. Unknown and
/// revoked keys are never kept, so each of them is looked up every time.
pub type ApiKeyCache = super::recheck::Recheck<ApiKeyRow>;
