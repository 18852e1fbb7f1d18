//! The call center's callback queue and its results.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::extract::visible;
use super::state::AppState;
use super::tickets::acting;
use super::{resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::callback::{rating, CallbackStatus, Outcome};

use crate::flow::callbacks::{record_result, CallbackResult};
use crate::store::callbacks::{self, CallbackRow, QueueFilter};
use crate::store::tickets::{self, TicketRow};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/callbacks").route(web::get().to(queue)))
        .service(resource("/callbacks/{id}").route(web::get().to(get)))
        .service(resource("/callbacks/{id}/result").route(web::post().to(result)));
}

/// A callback with what the agent needs to make the call.
#[derive(Serialize)]
pub struct CallbackDto<'a> {
    id: &'a str,
    ticket_id: &'a str,
    region_id: &'a str,
    district_id: Option<&'a str>,
    technician_id: Option<&'a str>,
    reason: &'a str,
    status: &'a str,
    attempts: i32,
    due_at: DateTime<Utc>,
    due_now: bool,
    resolved_at: DateTime<Utc>,
    outcome: Option<&'a str>,
    ratings: Ratings,
    note: Option<&'a str>,
    agent_id: Option<&'a str>,
    completed_at: Option<DateTime<Utc>>,
    follow_up_ticket_id: Option<&'a str>,
    ticket: Option<CallbackTicket<'a>>,
}

#[derive(Serialize)]
struct Ratings {
    attitude: Option<i32>,
    timeliness: Option<i32>,
    quality: Option<i32>,
}

/// What the agent reads out of the ticket.
#[derive(Serialize)]
struct CallbackTicket<'a> {
    external_ref: Option<&'a str>,
    kind: crate::domain::ticket::TicketKind,
    customer: Party<'a>,
    address: &'a str,
    fault: Fault<'a>,
    resolution: Resolution<'a>,
}

#[derive(Serialize)]
struct Party<'a> {
    name: &'a str,
    phone: &'a str,
}

#[derive(Serialize)]
struct Fault<'a> {
    category: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct Resolution<'a> {
    code: Option<&'a str>,
    notes: Option<&'a str>,
}

pub fn dto<'a>(
    c: &'a CallbackRow,
    t: Option<&'a TicketRow>,
    now: chrono::NaiveDateTime,
) -> CallbackDto<'a> {
    CallbackDto {
        id: &c.id,
        ticket_id: &c.ticket_id,
        region_id: &c.region_id,
        district_id: c.district_id.as_deref(),
        technician_id: c.technician_id.as_deref(),
        reason: &c.reason,
        status: c.status.as_str(),
        attempts: c.attempts,
        due_at: utc(c.due_at),
        due_now: c.status == CallbackStatus::Due && c.due_at <= now,
        resolved_at: utc(c.resolved_at),
        outcome: c.outcome.as_deref(),
        ratings: Ratings {
            attitude: c.rating_attitude,
            timeliness: c.rating_timeliness,
            quality: c.rating_quality,
        },
        note: c.note.as_deref(),
        agent_id: c.agent_id.as_deref(),
        completed_at: c.completed_at.map(utc),
        follow_up_ticket_id: c.follow_up_ticket_id.as_deref(),
        ticket: t.map(|t| CallbackTicket {
            external_ref: t.external_ref.as_deref(),
            kind: t.kind,
            customer: Party {
                name: &t.customer_name,
                phone: &t.customer_phone,
            },
            address: &t.address,
            fault: Fault {
                category: &t.fault_category,
                description: &t.fault_description,
            },
            resolution: Resolution {
                code: t.resolution_code.as_deref(),
                notes: t.resolution_notes.as_deref(),
            },
        }),
    }
}

/// A recorded result: the callback, and the complaint an unsatisfied customer opened.
#[derive(Serialize)]
struct Recorded<'a> {
    #[serde(flatten)]
    callback: CallbackDto<'a>,
    complaint_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    status: Option<String>,
    district_id: Option<String>,
    /// Only callbacks due now (default), or `false` for every one in the status.
    due_only: Option<bool>,
    offset: Option<i64>,
    limit: Option<i64>,
}

/// Due first: the callbacks to make, earliest due first.
async fn queue(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let status = CallbackStatus::parse("status", q.status.as_deref().unwrap_or("due"))?;
    let limit = super::limit_param(q.limit, 50, 500)?;
    let offset = super::offset_param(q.offset)?;
    let now = state.clock.now_naive();
    let filter = QueueFilter {
        regions: caller.scope.filter().map(|r| r.to_vec()),
        status,
        district_id: q.district_id,
        due_by: (status == CallbackStatus::Due && q.due_only.unwrap_or(true)).then_some(now),
        offset,
        limit,
    };
    let (rows, tickets) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let rows = callbacks::queue(conn, &filter)?;
            let ids: Vec<String> = rows.iter().map(|c| c.ticket_id.clone()).collect();
            let tickets: HashMap<String, TicketRow> = tickets::get_many(conn, &ids)?
                .into_iter()
                .map(|t| (t.id.clone(), t))
                .collect();
            Ok((rows, tickets))
        })
        .await?;
    let items: Vec<CallbackDto> = rows
        .iter()
        .map(|c| dto(c, tickets.get(&c.ticket_id), now))
        .collect();
    Ok(HttpResponse::Ok().json(super::Page {
        items,
        offset,
        limit,
    }))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let scope = caller.scope.clone();
    let (c, t) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let c = visible(callbacks::get(conn, &id)?, &scope, "callback")?;
            let t = tickets::get(conn, &c.ticket_id)?;
            Ok((c, t))
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto(&c, t.as_ref(), now)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RatingsIn {
    attitude: Option<i64>,
    timeliness: Option<i64>,
    quality: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultIn {
    outcome: String,
    #[serde(default)]
    ratings: Option<RatingsIn>,
    #[serde(default)]
    note: Option<String>,
}

async fn result(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<ResultIn>,
) -> ApiResult<HttpResponse> {
    let outcome = Outcome::parse("outcome", &req.outcome)?;
    let ratings = req.ratings.unwrap_or_default();
    let note = req
        .note
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::invalid("note", "must be at most 1000 characters"));
    }
    if outcome == Outcome::Unsatisfied && note.is_none() {
        return Err(ApiError::invalid(
            "note",
            "say what the customer is unsatisfied with: it opens the follow-up ticket",
        ));
    }
    let reached = outcome != Outcome::Unreachable;
    let r = CallbackResult {
        outcome,
        attitude: rating("ratings.attitude", ratings.attitude.filter(|_| reached))?,
        timeliness: rating("ratings.timeliness", ratings.timeliness.filter(|_| reached))?,
        quality: rating("ratings.quality", ratings.quality.filter(|_| reached))?,
        note,
    };
    let who = acting(&caller);
    let now = state.clock.now_naive();
    let flow = state.flow.clone();
    let id = id.into_inner();
    let recorded = state
        .db
        .write(move |conn| {
            record_result(conn, &flow, &id, &who.actor, &who.scope, &r, now).map_err(ApiError::from)
        })
        .await?;
    state.kick();
    Ok(HttpResponse::Ok().json(Recorded {
        callback: dto(&recorded.callback, None, now),
        complaint_id: recorded.complaint.map(|c| c.id),
    }))
}
