//! `GET /sms/platforms`: the health of each SMS platform and the outbox backlog, for the
//! dispatcher's board during an outage. `/sms/opt-outs`: the customers who replied TD, and
//! lifting an opt-out when a customer asks for messages again.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::instant::UtcInstant;
use super::state::AppState;
use super::{resource, ApiError, ApiResult, Caller};
use crate::store::{notifications, surveys};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/sms/platforms").route(web::get().to(platforms)))
        .service(resource("/sms/opt-outs").route(web::get().to(opt_outs)))
        .service(resource("/sms/opt-outs/{phone}").route(web::delete().to(lift)));
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OptOutQuery {
    phone: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct OptOutDto {
    phone: String,
    region_id: String,
    opted_out_at: UtcInstant,
    /// What the customer replied.
    text: String,
}

/// The customers of the caller's regions who opted out, latest first; `phone` finds one.
async fn opt_outs(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<OptOutQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let limit = super::limit_param(q.limit, 100, 500)?;
    let phone = q
        .phone
        .as_deref()
        .map(|p| crate::domain::PhoneNumber::parse("phone", p))
        .transpose()?;
    let regions = caller.scope.filter().map(|r| r.to_vec());
    let rows = state
        .db
        .read(move |conn| {
            surveys::opt_outs(
                conn,
                regions.as_deref(),
                phone.as_ref().map(|p| p.as_str()),
                limit,
            )
            .map_err(ApiError::from)
        })
        .await?;
    let items: Vec<OptOutDto> = rows
        .into_iter()
        .map(|r| OptOutDto {
            phone: r.phone,
            region_id: r.region_id,
            opted_out_at: UtcInstant(r.opted_out_at),
            text: r.text,
        })
        .collect();
    Ok(super::items(items))
}

/// Lifts an opt-out: the customer asked (by phone, at a hall) for messages again.
async fn lift(
    state: web::Data<AppState>,
    caller: Caller,
    phone: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let phone = crate::domain::PhoneNumber::parse("phone", &phone.into_inner())?;
    let regions = caller.scope.filter().map(|r| r.to_vec());
    let who = caller.id.clone();
    let number = phone.as_str().to_string();
    let lifted = state
        .db
        .write(move |conn| {
            surveys::lift_opt_out(conn, &number, regions.as_deref()).map_err(ApiError::from)
        })
        .await?;
    if !lifted {
        return Err(ApiError::not_found("this number has not opted out"));
    }
    tracing::info!(by = %who, phone = %phone.as_str(), "SMS opt-out lifted");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct PlatformDto {
    /// `default`, `fallback`, a region code, or `CODE/fallback`.
    name: String,
    /// `log`, `webhook` or `tencent`.
    provider: &'static str,
    region_code: Option<String>,
    /// `up` or `down`, as last recorded by any instance.
    state: &'static str,
    since: Option<UtcInstant>,
    last_error: Option<String>,
    /// This instance holds it for down and sends it only probes.
    down_here: bool,
}

#[derive(Serialize)]
struct PlatformsDto {
    items: Vec<PlatformDto>,
    /// Messages waiting to go out (pending or being sent).
    backlog: i64,
}

async fn platforms(state: web::Data<AppState>, _caller: Caller) -> ApiResult<HttpResponse> {
    let (rows, backlog) = state
        .db
        .read(|conn| {
            Ok::<_, ApiError>((
                notifications::platforms(conn)?,
                notifications::backlog(conn)?,
            ))
        })
        .await?;
    let items = state
        .sender
        .providers()
        .platforms()
        .iter()
        .map(|p| {
            let row = rows.iter().find(|r| r.name == p.name);
            PlatformDto {
                name: p.name.clone(),
                provider: p.provider.name(),
                region_code: p.region_code.clone(),
                state: match row {
                    Some(r) if r.state == "down" => "down",
                    _ => "up",
                },
                since: row.map(|r| UtcInstant(r.since)),
                last_error: row.and_then(|r| r.last_error.clone()),
                down_here: p.is_down(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(PlatformsDto { items, backlog }))
}
