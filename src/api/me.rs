//! The phone app's own routes: my open tickets, most urgent first, and my position.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::state::AppState;
use super::tickets::TicketDto;
use super::{resource, ApiError, ApiResult, Caller, JsonBody};
use crate::store::duty::{self, PositionRow};
use crate::store::tickets;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me/tickets").route(web::get().to(my_tickets)))
        .service(resource("/me/position").route(web::post().to(position)));
}

async fn my_tickets(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let rows = state
        .db
        .read(move |conn| tickets::open_for_assignee(conn, &user_id).map_err(ApiError::from))
        .await?;
    let now = state.clock.now_naive();
    let items: Vec<TicketDto> = rows.into_iter().map(|t| TicketDto::new(t, now)).collect();
    Ok(super::items(items))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionIn {
    lat: f64,
    lon: f64,
    #[serde(default)]
    crs: Option<String>,
    #[serde(default)]
    accuracy_m: Option<f64>,
    /// When the phone took the fix (RFC 3339); defaults to now. Fixes replayed after a signal
    /// loss never overwrite a newer one.
    #[serde(default)]
    at: Option<String>,
}

async fn position(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<PositionIn>,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let p = super::tickets::parse_point("", req.lat, req.lon, req.crs.as_deref())?;
    if req
        .accuracy_m
        .is_some_and(|a| !(0.0..=100_000.0).contains(&a))
    {
        return Err(ApiError::invalid("accuracy_m", "must be from 0 to 100000"));
    }
    let now = state.clock.now_naive();
    let at = match req.at.as_deref() {
        None => now,
        Some(s) => super::parse_instant("at", s)?.min(now),
    };
    let row = PositionRow {
        user_id,
        lat: p.lat,
        lon: p.lon,
        accuracy_m: req.accuracy_m,
        at,
    };
    state
        .db
        .write(move |conn| duty::record_position(conn, &row).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
