//! Per-region SLA settings by kind of work: the promised completion time and a business
//! calendar (working hours and holidays; deadlines then count working time only).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::AppState;
use super::{resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::calendar::{BusinessCalendar, CalendarSpec};
use crate::domain::required_text;
use crate::domain::ticket::TicketKind;
use crate::store::policies::{self, PolicyRow, NETWORK_FAULT};
use crate::store::regions;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/regions/{id}/policies").route(web::get().to(list)))
        .service(resource("/regions/{id}/policies/{kind}").route(web::put().to(put)));
}

/// A region's settings for one kind of work.
#[derive(Serialize)]
struct PolicyDto {
    region_id: String,
    kind: String,
    promise_hours: Option<f64>,
    photo_required_for: Vec<String>,
    /// The calendar as it was given.
    calendar: Option<serde_json::Value>,
    updated_at: DateTime<Utc>,
}

fn dto(row: PolicyRow) -> PolicyDto {
    PolicyDto {
        photo_required_for: row.photo_categories(),
        region_id: row.region_id,
        kind: row.kind,
        promise_hours: row.promise_minutes.map(|m| hours(m.into())),
        calendar: row.calendar.and_then(|c| serde_json::from_str(&c).ok()),
        updated_at: utc(row.updated_at),
    }
}

fn hours(minutes: i64) -> f64 {
    minutes as f64 / 60.0
}

#[derive(Serialize)]
struct Promise<H> {
    promise_hours: H,
}

/// What applies where a region sets nothing.
#[derive(Serialize)]
struct Defaults {
    repair: Promise<i64>,
    install: Promise<i64>,
    network_fault: Promise<f64>,
    /// Round the clock.
    calendar: Option<()>,
    timezone: &'static str,
}

#[derive(Serialize)]
struct PoliciesAnswer {
    defaults: Defaults,
    items: Vec<PolicyDto>,
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let region_id = id.into_inner();
    caller.require_region(&region_id)?;
    let rows = state
        .db
        .read(move |conn| policies::list(conn, &region_id).map_err(ApiError::from))
        .await?;
    let cfg = &state.config;
    Ok(HttpResponse::Ok().json(PoliciesAnswer {
        defaults: Defaults {
            repair: Promise {
                promise_hours: cfg.promise_repair_h,
            },
            install: Promise {
                promise_hours: cfg.promise_install_h,
            },
            network_fault: Promise {
                promise_hours: hours(cfg.storms.promise.num_minutes()),
            },
            calendar: None,
            timezone: cfg.tz.name(),
        },
        items: rows.into_iter().map(dto).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyIn {
    /// Hours from recording to the promised completion; null for the default.
    promise_hours: Option<f64>,
    /// Working hours and holidays; null for round-the-clock.
    calendar: Option<CalendarSpec>,
    /// Fault categories whose tickets need a site photo before they are resolved (`"*"`: all).
    #[serde(default)]
    photo_required_for: Vec<String>,
}

async fn put(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    JsonBody(req): JsonBody<PolicyIn>,
) -> ApiResult<HttpResponse> {
    let (region_id, kind) = path.into_inner();
    caller.require_region(&region_id)?;
    // A kind of work, or `network_fault`: the restoration a region promises after a cable cut.
    let kind = match kind.as_str() {
        NETWORK_FAULT => {
            if req.calendar.is_some() || !req.photo_required_for.is_empty() {
                return Err(ApiError::invalid(
                    "calendar",
                    "a network fault's promise runs round the clock and needs no photo",
                ));
            }
            NETWORK_FAULT
        }
        k => TicketKind::parse("kind", k)
            .map_err(|e| ApiError::not_found(e.message))?
            .as_str(),
    };
    let promise_minutes = match req.promise_hours {
        None => None,
        Some(h) if h.is_finite() && (0.25..=24.0 * 60.0).contains(&h) => {
            Some((h * 60.0).round() as i32)
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "promise_hours",
                "must be from 0.25 to 1440 hours",
            ))
        }
    };
    let calendar = match &req.calendar {
        None => None,
        Some(spec) => {
            BusinessCalendar::parse("calendar", spec)?;
            Some(serde_json::to_string(spec).expect("calendar serialises"))
        }
    };
    let mut categories = Vec::with_capacity(req.photo_required_for.len());
    for (i, c) in req.photo_required_for.iter().enumerate() {
        categories.push(required_text(&format!("photo_required_for[{i}]"), c, 64)?);
    }
    if categories.len() > 100 {
        return Err(ApiError::invalid(
            "photo_required_for",
            "at most 100 fault categories",
        ));
    }
    let row = PolicyRow {
        region_id: region_id.clone(),
        kind: kind.into(),
        promise_minutes,
        calendar,
        updated_at: state.clock.now_naive(),
        photo_required_for: (!categories.is_empty())
            .then(|| serde_json::to_string(&categories).expect("strings serialise")),
    };
    let stored = row.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            if regions::get(conn, &stored.region_id)?.is_none() {
                return Err(ApiError::not_found("no such region"));
            }
            policies::put(conn, &stored)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto(row)))
}
