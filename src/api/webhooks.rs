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

/// Whose secret signed a webhook request, and so whose messages it may act on: the
/// deployment's platform speaks for the regions without a platform of their own, a region's
/// platform for that region only.
#[derive(Debug, Clone, Default)]
pub struct Signed {
    /// Signed with the deployment's (or its fallback's) secret.
    deployment: bool,
    /// Codes of the regions that have their own platform.
    own_platforms: Vec<String>,
    /// Codes of the regions whose platform's secret signed it.
    regions: Vec<String>,
    /// The signature, to refuse a replay.
    pub signature: String,
}

impl Signed {
    /// Whether the signer may act on a message or ticket of region `code`.
    pub fn allows(&self, code: &str) -> bool {
        (self.deployment && !self.own_platforms.iter().any(|c| c == code))
            || self.regions.iter().any(|c| c == code)
    }

    /// The ids, among `regions`, of those the signer may act on.
    fn region_ids(&self, regions: &[crate::store::regions::Region]) -> Vec<String> {
        regions
            .iter()
            .filter(|r| self.allows(&r.code))
            .map(|r| r.id.clone())
            .collect()
    }
}

/// Checks the provider is the configured one and the request is signed, freshly, with the secret
/// of one of its platforms; answers whose.
fn verify(state: &AppState, provider: &str, req: &HttpRequest, body: &[u8]) -> ApiResult<Signed> {
    let c = &state.config;
    // Every webhook platform with the region it belongs to (None: the deployment's).
    let platforms: Vec<(&[u8], Option<&str>)> = std::iter::once((&c.sms, None))
        .chain(c.sms_fallback.iter().map(|f| (f, None)))
        .chain(c.sms_regions.iter().flat_map(|(code, own, fallback)| {
            std::iter::once((own, Some(code.as_str())))
                .chain(fallback.iter().map(move |f| (f, Some(code.as_str()))))
        }))
        .filter_map(|(sms, region)| match (sms, provider) {
            (SmsConfig::Webhook { secret, .. }, "webhook") => {
                Some((secret.expose_secret().as_bytes(), region))
            }
            _ => None,
        })
        .collect();
    if platforms.is_empty() {
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
    let mut signed = Signed {
        own_platforms: c
            .sms_regions
            .iter()
            .map(|(code, _, _)| code.clone())
            .collect(),
        signature: given.to_string(),
        ..Signed::default()
    };
    let mut any = false;
    for (secret, region) in platforms {
        let expected = signature(secret, ts, body);
        let same = given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            any = true;
            match region {
                None => signed.deployment = true,
                Some(code) => signed.regions.push(code.to_string()),
            }
        }
    }
    if !fresh || !any {
        return Err(ApiError::unauthorized(
            "the webhook signature is missing, wrong or stale",
        ));
    }
    Ok(signed)
}

/// Records that a signed request was received; false for a replay within the freshness window.
fn first_time(conn: &mut crate::db::DbConn, signed: &Signed) -> diesel::QueryResult<bool> {
    let now = chrono::Utc::now().naive_utc();
    crate::store::dialect::remember_webhook(
        conn,
        &signed.signature,
        now,
        now - chrono::Duration::seconds(2 * MAX_SKEW_S),
    )
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

/// Records one delivery receipt. Answers whether it changed anything.
fn record(
    conn: &mut crate::db::DbConn,
    flow: &crate::flow::FlowConfig,
    id: &str,
    delivered: bool,
    error: Option<&str>,
    now: chrono::NaiveDateTime,
) -> ApiResult<bool> {
    let changed = notifications::record_receipt(conn, id, delivered, error, now)?;
    if changed && !delivered {
        crate::flow::outbox::undelivered(conn, flow, id, error.unwrap_or("failed"), now)?;
    }
    Ok(changed)
}

async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    provider: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    if provider.as_str() == "tencent" {
        return tencent_status(state, req, body).await;
    }
    let signed = verify(&state, &provider, &req, &body)?;
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
    let result = state
        .db
        .write(move |conn| -> ApiResult<&'static str> {
            if !first_time(conn, &signed)? {
                return Ok("duplicate");
            }
            // A receipt for a message of a region this platform does not serve changes nothing.
            let region = match notifications::get(conn, &r.id)? {
                Some(n) => crate::store::regions::get(conn, &n.region_id)?.map(|g| g.code),
                None => None,
            };
            if !region.is_some_and(|code| signed.allows(&code)) {
                return Ok("ignored");
            }
            let recorded = record(conn, &flow, &r.id, delivered, r.error.as_deref(), now)?;
            Ok(if recorded { "recorded" } else { "ignored" })
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "result": result })))
}

/// Tencent Cloud SMS does not sign callbacks: the URL it was given carries a shared token.
fn verify_tencent(state: &AppState, req: &HttpRequest) -> ApiResult<()> {
    let Some(expected) = &state.config.tencent_callback_token else {
        return Err(ApiError::not_found(
            "Tencent callbacks are not configured (FIXLINE_TENCENT_CALLBACK_TOKEN)",
        ));
    };
    let given =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("token").cloned())
            .unwrap_or_default();
    let expected = expected.expose_secret().as_bytes();
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(ApiError::unauthorized(
            "the callback token is missing or wrong",
        ));
    }
    Ok(())
}

/// One entry of Tencent's delivery-status callback (a JSON array of them).
#[derive(Deserialize)]
struct TencentStatus {
    /// The `SerialNo` SendSms answered.
    sid: String,
    /// `SUCCESS` or `FAIL`.
    report_status: String,
    #[serde(default)]
    errmsg: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

async fn tencent_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    verify_tencent(&state, &req)?;
    let items: Vec<TencentStatus> = parse_json(&body)?;
    for (i, item) in items.iter().enumerate() {
        if !matches!(item.report_status.as_str(), "SUCCESS" | "FAIL") {
            return Err(ApiError::invalid(
                format!("[{i}].report_status"),
                "must be SUCCESS or FAIL",
            ));
        }
    }
    let now = state.clock.now_naive();
    let flow = state.flow.clone();
    let recorded = state
        .db
        .write(move |conn| -> ApiResult<usize> {
            let mut recorded = 0;
            for item in &items {
                // A receipt for a message fixline does not know (another system's) is ignored.
                let Some(id) = notifications::id_by_provider_message(conn, "tencent", &item.sid)?
                else {
                    continue;
                };
                let delivered = item.report_status == "SUCCESS";
                let error = [item.errmsg.as_deref(), item.description.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                let error = (!delivered).then_some(error.as_str());
                if record(conn, &flow, &id, delivered, error, now)? {
                    recorded += 1;
                }
            }
            Ok(recorded)
        })
        .await?;
    tracing::info!(recorded, "tencent delivery status");
    // The answer Tencent expects.
    Ok(HttpResponse::Ok().json(json!({"result": 0, "errmsg": "OK"})))
}

/// Tencent's reply callback.
#[derive(Deserialize)]
struct TencentReply {
    mobile: String,
    nationcode: String,
    text: String,
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
    let tencent = provider.as_str() == "tencent";
    let (m, signed): (Inbound, Option<Signed>) = if tencent {
        verify_tencent(&state, &req)?;
        let r: TencentReply = parse_json(&body)?;
        let m = Inbound {
            from: format!("+{}{}", r.nationcode.trim_start_matches('+'), r.mobile),
            text: r.text,
        };
        (m, None)
    } else {
        let signed = verify(&state, &provider, &req, &body)?;
        (parse_json(&body)?, Some(signed))
    };
    let from = PhoneNumber::parse("from", &m.from)?;
    // A reply often comes moments after the push it answers, while the sender records that
    // push on the same ticket: a reply that lost that race is handled again.
    let outcome = crate::flow::retry_changed(crate::flow::CHANGED_TRIES, || {
        let (now, flow, from, text, signed) = (
            state.clock.now_naive(),
            state.flow.clone(),
            from.clone(),
            m.text.clone(),
            signed.clone(),
        );
        state
            .db
            .write(move |conn| -> Result<Option<_>, crate::flow::FlowError> {
                // A signed reply acts once, and only on tickets of the regions its platform serves.
                let regions = match &signed {
                    Some(signed) => {
                        if !first_time(conn, signed)? {
                            return Ok(None);
                        }
                        Some(signed.region_ids(&crate::store::regions::list(conn, None)?))
                    }
                    None => None,
                };
                replies::handle(conn, &flow, &from, &text, regions.as_deref(), now).map(Some)
            })
    })
    .await?;
    let Some(outcome) = outcome else {
        return Ok(HttpResponse::Ok().json(json!({"result": "duplicate"})));
    };
    state.kick();
    if tencent {
        tracing::info!(outcome = ?outcome, "tencent reply");
        return Ok(HttpResponse::Ok().json(json!({"result": 0, "errmsg": "OK"})));
    }
    Ok(HttpResponse::Ok().json(outcome))
}
