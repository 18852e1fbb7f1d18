//! Request extractors: JSON bodies with field-level errors, and the authenticated caller.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::HttpMessage;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::AppState;
use crate::domain::{RegionScope, Role};

/// The body size limit of a route, in bytes (app data; defaults to the configured body limit).
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body. Refuses a non-JSON content type (415), a body over the limit (413), malformed
/// JSON (400) and a value of the wrong shape (422, naming the field by its path).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = LimitedBody::new(req, payload, |essence| {
            essence == "application/json" || essence.ends_with("+json")
        });
        Box::pin(async move {
            let body = read
                .read(
                    "send the body as application/json",
                    "a JSON body with Content-Type: application/json is required",
                )
                .await?;
            parse_json(&body).map(JsonBody)
        })
    }
}

/// A CSV body (`text/csv`, UTF-8): refuses another content type (415), a body over the limit
/// (413), text that is not UTF-8 and control characters other than tab and line breaks (422).
pub struct CsvBody(pub String);

impl FromRequest for CsvBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = LimitedBody::new(req, payload, |essence| essence == "text/csv");
        Box::pin(async move {
            let body = read
                .read(
                    "send the body as text/csv",
                    "a CSV body with Content-Type: text/csv is required",
                )
                .await?;
            let text = String::from_utf8(body.to_vec())
                .map_err(|_| ApiError::invalid("body", "is not UTF-8 text"))?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
            if text
                .chars()
                .any(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}')
            {
                return Err(ApiError::invalid(
                    "body",
                    "must not contain control characters (only tab and line breaks)",
                ));
            }
            Ok(CsvBody(text))
        })
    }
}

/// A request body read up to the route's limit, once its content type was accepted.
struct LimitedBody {
    limit: usize,
    declared: Option<usize>,
    /// None: no content type; Some(accepted).
    content_type_ok: Option<bool>,
    payload: Payload,
}

impl LimitedBody {
    fn new(req: &HttpRequest, payload: &mut Payload, accept: fn(&str) -> bool) -> Self {
        let limit = req
            .app_data::<BodyLimit>()
            .copied()
            .or_else(|| {
                req.app_data::<web::Data<AppState>>()
                    .map(|s| BodyLimit(s.config.body_limit))
            })
            .map(|l| l.0)
            .unwrap_or(1 << 20);
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                accept(&essence)
            });
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        LimitedBody {
            limit,
            declared,
            content_type_ok,
            payload: payload.take(),
        }
    }

    async fn read(mut self, wrong_type: &str, no_type: &str) -> Result<web::BytesMut, ApiError> {
        let limit = self.limit;
        if self.declared.is_some_and(|n| n > limit) {
            return Err(ApiError::payload_too_large(limit));
        }
        match self.content_type_ok {
            Some(true) => {}
            Some(false) => return Err(ApiError::unsupported_media_type(wrong_type)),
            None => return Err(ApiError::unsupported_media_type(no_type)),
        }
        let mut body = web::BytesMut::with_capacity(self.declared.unwrap_or(1024).min(limit));
        while let Some(chunk) = self.payload.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::bad_request(format!("could not read the body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Deserialises one JSON value (trailing data is 400, like any malformed JSON), refusing control
/// characters in any text and structs given as arrays (422, naming the field by its path), and
/// turning serde's other shape errors into 422 with the field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    if let Some(field) = super::strict_json::control_character_at(&value) {
        return Err(ApiError::invalid(
            field,
            "must not contain control characters (only tab and line breaks are allowed in text)",
        ));
    }
    match serde_path_to_error::deserialize::<_, T>(super::strict_json::Strict(value)) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            Err(ApiError::invalid(field_name(&path, &message), message))
        }
    }
}

/// The field a serde error is about: its path, completed by the name in "missing field `x`".
fn field_name(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let base = if path == "." { "" } else { path };
    match (base, missing) {
        ("", Some(m)) => m.to_string(),
        (b, Some(m)) => format!("{b}.{m}"),
        ("", None) => "body".to_string(),
        (b, None) => b.to_string(),
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    User,
    ApiKey,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// User id, or API key id.
    pub id: String,
    pub kind: CallerKind,
    pub role: Role,
    pub scope: RegionScope,
    /// For a signed-in user: when the access token expires (Unix seconds) and the session
    /// version it was issued under. None for API keys.
    pub session: Option<(i64, i32)>,
}

impl Caller {
    /// 403 unless the caller has one of `roles` (admins always pass).
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the role {}; you are {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                self.role
            )))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require(&[Role::Admin])
    }

    /// 403 unless the region is in the caller's scope.
    pub fn require_region(&self, region_id: &str) -> Result<(), ApiError> {
        if self.scope.allows(region_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this belongs to a region outside your scope",
            ))
        }
    }

    /// The user id, for routes only people may call.
    pub fn user_id(&self) -> Result<&str, ApiError> {
        match self.kind {
            CallerKind::User => Ok(&self.id),
            CallerKind::ApiKey => Err(ApiError::forbidden(
                "this route is for signed-in users, not API keys",
            )),
        }
    }
}

/// `row` if it is in the caller's regions; otherwise, as when it does not exist, 404 "no such
/// `what`", so ids of other regions reveal nothing.
pub fn visible<T: crate::store::Regional>(
    row: Option<T>,
    scope: &RegionScope,
    what: &str,
) -> Result<T, ApiError> {
    row.filter(|r| scope.allows(r.region_id()))
        .ok_or_else(|| ApiError::not_found(format!("no such {what}")))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let write = !matches!(
            *req.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        );
        // The gate authenticated the caller already on every operation that needs it.
        let gated = req.extensions().get::<Caller>().cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let fut = gated.is_none().then(|| Self::authenticate(req));
        Box::pin(async move {
            let caller = match (gated, fut, state) {
                (Some(caller), _, Some(state)) => Charged(caller, state),
                (_, Some(fut), _) => fut.await?,
                _ => return Err(ApiError::internal("application state missing")),
            };
            if write {
                caller.take_write()?;
            }
            Ok(caller.0)
        })
    }
}

/// An authenticated caller with the state to charge its writes to.
struct Charged(Caller, web::Data<AppState>);

impl Charged {
    /// One write from the caller's allowance, or 429 with the seconds to wait.
    fn take_write(&self) -> Result<(), ApiError> {
        let Charged(caller, state) = self;
        let (limit, key) = match caller.kind {
            CallerKind::ApiKey => (&state.writes_by_key, caller.id.as_str()),
            CallerKind::User => (&state.writes_by_user, caller.id.as_str()),
        };
        limit.take(key, state.clock.now_naive()).map_err(|wait| {
            ApiError::too_many_requests(
                format!("too many writes from this caller; try again in {wait} s"),
                wait,
            )
        })
    }
}

impl Caller {
    /// Who is calling, from the request's credentials, without charging a write.
    pub(crate) fn authenticate_only(
        req: &HttpRequest,
    ) -> impl Future<Output = Result<Caller, ApiError>> {
        let fut = Self::authenticate(req);
        async move { fut.await.map(|c| c.0) }
    }

    fn authenticate(req: &HttpRequest) -> Pin<Box<dyn Future<Output = Result<Charged, ApiError>>>> {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let pattern = req.match_pattern();
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("").to_string());
        let api_key = req
            .headers()
            .get("x-api-key")
            .map(|v| v.to_str().unwrap_or("").to_string());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            if let Some(value) = bearer {
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .ok_or_else(|| {
                        ApiError::unauthorized("use Authorization: Bearer <access token>")
                    })?;
                let claims = state
                    .jwt
                    .verify(token.trim(), state.clock.now().timestamp())
                    .ok_or_else(|| {
                        ApiError::unauthorized("the access token is invalid or expired")
                    })?;
                super::auth::check_session(&state, &claims).await?;
                let scope = if claims.role == Role::Admin {
                    RegionScope::All
                } else {
                    RegionScope::Only(claims.regions)
                };
                let caller = Caller {
                    session: Some((claims.exp, claims.sv)),
                    id: claims.sub,
                    kind: CallerKind::User,
                    role: claims.role,
                    scope,
                };
                return Ok(Charged(caller, state));
            }
            if let Some(key) = api_key {
                let caller = super::auth::authenticate_api_key(&state, key, pattern).await?;
                return Ok(Charged(caller, state));
            }
            Err(ApiError::unauthorized(
                "sign in (POST /auth/login) and send Authorization: Bearer <access token>",
            ))
        })
    }
}
