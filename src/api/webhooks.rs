//! Signed webhooks from the SMS provider: delivery receipts and inbound replies. They carry no
//! token; each request is signed like outgoing messages (`X-Fixline-Timestamp`,
//! `X-Fixline-Signature: sha256=HMAC(secret, timestamp + "." + body)`) and must be fresh.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::extract::parse_json;
use super::state::AppState;
use super::{resource, ApiError, ApiResult};
use crate::config::SmsConfig;
use crate::domain::PhoneNumber;
use crate::flow::replies;
use crate::notify::sms::signature;
use crate::store::notifications;
use secrecy::ExposeSecret;

/// How far a webhook's timestamp may be from the server's own clock.
const MAX_SKEW_S: i64 = 300;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/webhooks/sms/{provider}/status").route(web::post().to(status)))
        .service(resource("/webhooks/sms/{provider}/inbound").route(web::post().to(inbound)));
}

/// Checks the provider is the configured one and the request is signed with its secret.
fn verify(state: &AppState, provider: &str, req: &HttpRequest, body: &[u8]) -> ApiResult<()> {
    // The deployment's webhook platform, or any region's own: each signs with its secret.
    let secrets: Vec<&[u8]> = std::iter::once(&state.config.sms)
        .chain(state.config.sms_regions.iter().map(|(_, sms)| sms))
        .filter_map(|sms| match (sms, provider) {
            (SmsConfig::Webhook { secret, .. }, "webhook") => {
                Some(secret.expose_secret().as_bytes())
            }
            _ => None,
        })
        .collect();
    if secrets.is_empty() {
        return Err(ApiError::not_found(format!(
            "no SMS provider `{provider}` is configured"
        )));
    }
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let ts = header("x-fixline-timestamp");
    // Freshness is network security, so it uses the real clock, not business time.
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= MAX_SKEW_S);
    let given = header("x-fixline-signature");
    let same = secrets.iter().any(|secret| {
        let expected = signature(secret, ts, body);
        given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if !fresh || !same {
        return Err(ApiError::unauthorized(
            "the webhook signature is missing, wrong or stale",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Receipt {
    /// The outbox id sent as the idempotency key.
    id: String,
    /// `delivered` or `failed`.
    status: String,
    #[serde(default)]
    error: Option<String>,
}

async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    provider: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    verify(&state, &provider, &req, &body)?;
    let r: Receipt = parse_json(&body)?;
    let delivered = match r.status.as_str() {
        "delivered" => true,
        "failed" => false,
        other => {
            return Err(ApiError::invalid(
                "status",
                format!("`{other}` is not delivered or failed"),
            ))
        }
    };
    let now = state.clock.now_naive();
    let flow = state.flow.clone();
    let recorded = state
        .db
        .write(move |conn| -> ApiResult<bool> {
            let changed =
                notifications::record_receipt(conn, &r.id, delivered, r.error.as_deref(), now)?;
            if changed && !delivered {
                crate::notify::sender::raise_undelivered(
                    conn,
                    &flow,
                    &r.id,
                    r.error.as_deref().unwrap_or("failed"),
                    now,
                )?;
            }
            Ok(changed)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"result": if recorded { "recorded" } else { "ignored" }})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Inbound {
    from: String,
    text: String,
}

async fn inbound(
    state: web::Data<AppState>,
    req: HttpRequest,
    provider: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    verify(&state, &provider, &req, &body)?;
    let m: Inbound = parse_json(&body)?;
    let from = PhoneNumber::parse("from", &m.from)?;
    let now = state.clock.now_naive();
    let flow = state.flow.clone();
    let outcome = state
        .db
        .write(move |conn| {
            replies::handle(conn, &flow, &from, &m.text, now).map_err(ApiError::from)
        })
        .await?;
    state.kick();
    Ok(HttpResponse::Ok().json(outcome))
}
