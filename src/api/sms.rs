//! `GET /sms/platforms`: the health of each SMS platform and the outbox backlog, for the
//! dispatcher's board during an outage.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::instant::UtcInstant;
use super::state::AppState;
use super::{resource, ApiError, ApiResult, Caller};
use crate::store::notifications;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/sms/platforms").route(web::get().to(platforms)));
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
