//! Technicians' positions: one fix as it is taken, a phone's buffered fixes at once, and for
//! dispatchers, where each holder of a ticket was while they held it.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::instant::UtcInstant;
use super::state::AppState;
use super::sync::{json_of, Done, TechAction};
use super::tickets::{acting, parse_point};
use super::{resource, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::{field_in, Invalid};
use crate::flow::actions::load_visible;
use crate::flow::FlowError;
use crate::store::duty::{self, PositionRow};
use crate::store::track::{self, FixRow};
use crate::store::{assignments, users};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me/position").route(web::post().to(position)))
        .service(resource("/me/positions").route(web::post().to(positions)))
        .service(resource("/tickets/{id}/track").route(web::get().to(ticket_track)));
}

/// Fixes in one batch.
pub const MAX_FIXES: usize = 500;

/// Fixes answered per holder of a ticket.
const MAX_TRACK: i64 = 2_000;

/// One position fix as the phone sends it.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FixIn {
    lat: f64,
    lon: f64,
    #[serde(default)]
    crs: Option<String>,
    #[serde(default)]
    accuracy_m: Option<f64>,
    /// When the phone took the fix (RFC 3339); defaults to now for a single fix.
    #[serde(default)]
    at: Option<String>,
}

impl FixIn {
    /// The fix as kept; `prefix` names it in errors. A fix from the future counts as taken now.
    fn row(&self, prefix: &str, user_id: &str, now: NaiveDateTime) -> Result<FixRow, ApiError> {
        let p = parse_point(prefix, self.lat, self.lon, self.crs.as_deref())?;
        if self
            .accuracy_m
            .is_some_and(|a| !(0.0..=100_000.0).contains(&a))
        {
            return Err(
                Invalid::new(field_in(prefix, "accuracy_m"), "must be from 0 to 100000").into(),
            );
        }
        let at = match self.at.as_deref() {
            None => now,
            Some(s) => super::parse_instant(&field_in(prefix, "at"), s)?.min(now),
        };
        Ok(FixRow {
            user_id: user_id.to_string(),
            at,
            lat: p.lat,
            lon: p.lon,
            accuracy_m: self.accuracy_m,
            received_at: now,
        })
    }
}

/// A phone's buffered fixes, in any order.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FixesIn {
    fixes: Vec<FixIn>,
}

/// What a batch of fixes did.
#[derive(Serialize)]
struct Recorded {
    /// Fixes kept now.
    recorded: usize,
    /// Fixes already kept (sent before).
    duplicates: usize,
    /// The time of the technician's current position after the batch.
    current_at: Option<UtcInstant>,
}

impl FixesIn {
    /// Checks every fix (`prefix` names the batch in errors): the batch is kept whole or not
    /// at all.
    fn rows(&self, prefix: &str, user_id: &str, now: NaiveDateTime) -> ApiResult<Vec<FixRow>> {
        if self.fixes.is_empty() || self.fixes.len() > MAX_FIXES {
            return Err(ApiError::invalid(
                field_in(prefix, "fixes"),
                format!("send 1 to {MAX_FIXES} fixes"),
            ));
        }
        let mut rows = Vec::with_capacity(self.fixes.len());
        for (i, f) in self.fixes.iter().enumerate() {
            let field = field_in(prefix, &format!("fixes[{i}]"));
            if f.at.is_none() {
                return Err(ApiError::invalid(
                    field_in(&field, "at"),
                    "a buffered fix needs the time it was taken",
                ));
            }
            rows.push(f.row(&field, user_id, now)?);
        }
        Ok(rows)
    }

    /// The batch as a queued action of `POST /me/sync`.
    pub(super) fn action(
        self,
        user_id: &str,
        prefix: &str,
        now: NaiveDateTime,
    ) -> ApiResult<TechAction> {
        let rows = self.rows(prefix, user_id, now)?;
        let body = serde_json::to_value(&self).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(TechAction {
            route: "/me/positions",
            ticket_id: None,
            body,
            device_at: None,
            work: Arc::new(move |conn, _flow, _when| {
                let r = keep(conn, &rows)?;
                Ok(Done {
                    status: 200,
                    body: json_of(&r)?,
                    deadline: None,
                })
            }),
        })
    }
}

/// Keeps the fixes in the track and the newest as the current position (which a fix older than
/// the one stored never replaces).
fn keep(conn: &mut crate::db::DbConn, rows: &[FixRow]) -> Result<Recorded, FlowError> {
    let recorded = track::insert(conn, rows)?;
    let Some(newest) = rows.iter().max_by_key(|r| r.at) else {
        return Ok(Recorded {
            recorded,
            duplicates: 0,
            current_at: None,
        });
    };
    duty::record_position(
        conn,
        &PositionRow {
            user_id: newest.user_id.clone(),
            lat: newest.lat,
            lon: newest.lon,
            accuracy_m: newest.accuracy_m,
            at: newest.at,
        },
    )?;
    let current_at = duty::positions(conn, std::slice::from_ref(&newest.user_id))?
        .first()
        .map(|p| UtcInstant(p.at));
    Ok(Recorded {
        recorded,
        duplicates: rows.len() - recorded,
        current_at,
    })
}

/// `POST /me/position`: one fix, as it is taken.
async fn position(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<FixIn>,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let row = req.row("", &user_id, state.clock.now_naive())?;
    state
        .db
        .write(move |conn| keep(conn, &[row]).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /me/positions`: a phone's buffered fixes at once, in any order.
async fn positions(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<FixesIn>,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let rows = req.rows("", &user_id, state.clock.now_naive())?;
    let recorded = state
        .db
        .write(move |conn| keep(conn, &rows).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(recorded))
}

#[derive(Serialize)]
struct FixDto {
    at: UtcInstant,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
}

/// One holder of the ticket and where they were while they held it.
#[derive(Serialize)]
struct HoldingTrack {
    user_id: String,
    display_name: String,
    from: UtcInstant,
    to: UtcInstant,
    /// WGS-84.
    fixes: Vec<FixDto>,
    /// More fixes were taken than answered (the first [`MAX_TRACK`] are).
    truncated: bool,
}

/// `GET /tickets/{id}/track`: each holding of the ticket, oldest first, with the holder's fixes
/// from when it was given to them to when it was taken away or finished (or now).
async fn ticket_track(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (id, who) = (id.into_inner(), acting(&caller));
    let now = state.clock.now_naive();
    let items = state
        .db
        .read(move |conn| -> ApiResult<Vec<HoldingTrack>> {
            let t = load_visible(conn, &id, &who)?;
            let finished = t.resolved_at.or(t.cancelled_at).or(t.closed_at);
            let mut items = vec![];
            for a in assignments::for_ticket(conn, &t.id)? {
                let to = a.ended_at.or(finished).unwrap_or(now).min(now);
                let mut fixes = track::between(conn, &a.user_id, a.assigned_at, to, MAX_TRACK + 1)?;
                let truncated = fixes.len() as i64 > MAX_TRACK;
                fixes.truncate(MAX_TRACK as usize);
                let display_name = users::find_row(conn, &a.user_id)?
                    .map(|u| u.display_name)
                    .unwrap_or_default();
                items.push(HoldingTrack {
                    user_id: a.user_id,
                    display_name,
                    from: UtcInstant(a.assigned_at),
                    to: UtcInstant(to),
                    fixes: fixes
                        .into_iter()
                        .map(|f| FixDto {
                            at: UtcInstant(f.at),
                            lat: f.lat,
                            lon: f.lon,
                            accuracy_m: f.accuracy_m,
                        })
                        .collect(),
                    truncated,
                });
            }
            Ok(items)
        })
        .await?;
    Ok(super::items(items))
}
