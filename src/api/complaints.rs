//! Complaints (hotline, 12345, 12315, callback, walk-in) and their verification.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::visible;
use super::state::AppState;
use super::tickets::acting;
use super::{created, resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::complaint::{Kind, Source, Status};
use crate::domain::period::Month;
use crate::domain::{optional_text, required_text, PhoneNumber};
use crate::flow::complaints::{self as flow, receive, verify, NewComplaint, Verdict};
use crate::store::complaints::{self, ComplaintRow, HistoryRow, ListFilter};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/complaints")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(resource("/complaints/{id}").route(web::get().to(get)))
    .service(resource("/complaints/{id}/verify").route(web::post().to(verify_one)))
    .service(resource("/complaints/{id}/reply").route(web::post().to(reply_one)))
    .service(resource("/complaints/{id}/close").route(web::post().to(close_one)))
    .service(resource("/complaints/{id}/reopen").route(web::post().to(reopen_one)));
}

/// A complaint as answered.
#[derive(Serialize)]
pub struct ComplaintDto<'a> {
    id: &'a str,
    region_id: &'a str,
    district_id: &'a str,
    ticket_id: Option<&'a str>,
    callback_id: Option<&'a str>,
    source: &'a str,
    government_hotline: bool,
    category: &'a str,
    description: &'a str,
    customer: ComplaintCustomer<'a>,
    received_at: DateTime<Utc>,
    created_by: &'a str,
    status: &'a str,
    counts_against_district: bool,
    responsible_user_id: Option<&'a str>,
    deduction: Option<f64>,
    verified_by: Option<&'a str>,
    verified_at: Option<DateTime<Utc>>,
    verification_note: Option<&'a str>,
    kind: &'a str,
    owner_user_id: Option<&'a str>,
    handling: Handling<'a>,
}

#[derive(Serialize)]
struct ComplaintCustomer<'a> {
    name: Option<&'a str>,
    phone: Option<&'a str>,
}

/// Where answering the customer stands.
#[derive(Serialize)]
struct Handling<'a> {
    state: &'a str,
    due_at: Option<DateTime<Utc>>,
    hotline_due_at: Option<DateTime<Utc>>,
    on_time: Option<bool>,
    escalation_level: i32,
    next_escalation_at: Option<DateTime<Utc>>,
    replied_at: Option<DateTime<Utc>>,
    reply: Option<&'a str>,
    closed_at: Option<DateTime<Utc>>,
    reopened: i32,
}

pub fn dto(c: &ComplaintRow) -> ComplaintDto<'_> {
    ComplaintDto {
        id: &c.id,
        region_id: &c.region_id,
        district_id: &c.district_id,
        ticket_id: c.ticket_id.as_deref(),
        callback_id: c.callback_id.as_deref(),
        source: &c.source,
        government_hotline: Source::parse("source", &c.source).is_ok_and(Source::is_government),
        category: &c.category,
        description: &c.description,
        customer: ComplaintCustomer {
            name: c.customer_name.as_deref(),
            phone: c.customer_phone.as_deref(),
        },
        received_at: utc(c.received_at),
        created_by: &c.created_by,
        status: c.status.as_str(),
        counts_against_district: c.status == Status::Upheld,
        responsible_user_id: c.responsible_user_id.as_deref(),
        deduction: c.deduction,
        verified_by: c.verified_by.as_deref(),
        verified_at: c.verified_at.map(utc),
        verification_note: c.verification_note.as_deref(),
        kind: c.kind.as_str(),
        owner_user_id: c.owner_user_id.as_deref(),
        handling: Handling {
            state: c.handling.as_str(),
            due_at: c.handle_due_at.map(utc),
            hotline_due_at: c.hotline_due_at.map(utc),
            on_time: c.handled_on_time,
            escalation_level: c.escalation_level,
            next_escalation_at: c.next_deadline_at.map(utc),
            replied_at: c.replied_at.map(utc),
            reply: c.reply.as_deref(),
            closed_at: c.closed_at.map(utc),
            reopened: c.reopened,
        },
    }
}

/// One step of a complaint's history.
#[derive(Serialize)]
struct HistoryDto<'a> {
    at: DateTime<Utc>,
    actor: HistoryActor<'a>,
    action: &'a str,
    detail: Value,
}

#[derive(Serialize)]
struct HistoryActor<'a> {
    kind: &'a str,
    id: Option<&'a str>,
}

fn history_dto(h: &HistoryRow) -> HistoryDto<'_> {
    HistoryDto {
        at: utc(h.at),
        actor: HistoryActor {
            kind: &h.actor_kind,
            id: h.actor_id.as_deref(),
        },
        action: &h.action,
        detail: serde_json::from_str::<Value>(&h.detail).unwrap_or(Value::Null),
    }
}

/// A complaint with its history.
#[derive(Serialize)]
struct ComplaintDetail<'a> {
    #[serde(flatten)]
    complaint: ComplaintDto<'a>,
    history: Vec<HistoryDto<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComplaintIn {
    source: String,
    #[serde(default)]
    ticket_id: Option<String>,
    #[serde(default)]
    district_id: Option<String>,
    #[serde(default)]
    customer_name: Option<String>,
    #[serde(default)]
    customer_phone: Option<String>,
    category: String,
    description: String,
    /// When the complaint was made; defaults to now.
    #[serde(default)]
    received_at: Option<String>,
    /// simple or general (default); hotline for 12345/12315 cases.
    #[serde(default)]
    kind: Option<String>,
    /// The reply deadline a 12345/12315 hotline gave.
    #[serde(default)]
    reply_due_at: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ComplaintIn>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now_naive();
    let received_at = super::past_instant("received_at", req.received_at.as_deref(), now)?;
    let new = NewComplaint {
        source: Source::parse("source", &req.source)?,
        ticket_id: req.ticket_id.filter(|t| !t.trim().is_empty()),
        district_id: req.district_id.filter(|d| !d.trim().is_empty()),
        callback_id: None,
        customer_name: optional_text("customer_name", req.customer_name.as_deref(), 100)?,
        customer_phone: req
            .customer_phone
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| PhoneNumber::parse("customer_phone", p))
            .transpose()?,
        category: required_text("category", &req.category, 64)?,
        description: required_text("description", &req.description, 2000)?,
        received_at,
        kind: req
            .kind
            .as_deref()
            .map(|k| Kind::parse("kind", k))
            .transpose()?,
        hotline_due_at: req
            .reply_due_at
            .as_deref()
            .map(|s| super::parse_instant("reply_due_at", s))
            .transpose()?,
    };
    let who = acting(&caller);
    let flow = state.flow.clone();
    let c = state
        .db
        .write(move |conn| {
            receive(conn, &flow, &new, &who.actor, &who.scope, now).map_err(ApiError::from)
        })
        .await?;
    state.kick();
    Ok(created(&dto(&c)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    month: Option<String>,
    district_id: Option<String>,
    status: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let limit = super::limit_param(q.limit, 50, 500)?;
    let offset = super::offset_param(q.offset)?;
    let filter = ListFilter {
        regions: caller.scope.filter().map(|r| r.to_vec()),
        district_id: q.district_id,
        status: q
            .status
            .as_deref()
            .map(|s| Status::parse("status", s).map(|s| s.as_str().to_string()))
            .transpose()?,
        received: q
            .month
            .as_deref()
            .map(|m| Month::parse("month", m).map(|m| m.bounds(state.config.tz)))
            .transpose()?,
        offset,
        limit,
    };
    let rows = state
        .db
        .read(move |conn| complaints::list(conn, &filter).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(super::Page {
        items: rows.iter().map(dto).collect(),
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
    let scope = caller.scope.clone();
    let (c, h) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let c = visible(complaints::get(conn, &id)?, &scope, "complaint")?;
            let h = complaints::history(conn, &c.id)?;
            Ok((c, h))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ComplaintDetail {
        complaint: dto(&c),
        history: h.iter().map(history_dto).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyIn {
    /// `upheld` (caused by service) or `dismissed`.
    verdict: String,
    #[serde(default)]
    responsible_user_id: Option<String>,
    #[serde(default)]
    deduction: Option<f64>,
    note: String,
}

async fn verify_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<VerifyIn>,
) -> ApiResult<HttpResponse> {
    let v = Verdict {
        status: Status::parse("verdict", &req.verdict)?,
        responsible_user_id: req.responsible_user_id.filter(|u| !u.trim().is_empty()),
        deduction: req.deduction,
        note: required_text("note", &req.note, 2000)?,
    };
    let who = acting(&caller);
    let now = state.clock.now_naive();
    let id = id.into_inner();
    act(&state, move |conn, _| {
        verify(conn, &id, &v, &who.actor, &who.scope, now)
    })
    .await
}

/// Runs a change to one complaint, again when the engine saved it meanwhile, and answers it.
async fn act(
    state: &web::Data<AppState>,
    f: impl Fn(
            &mut crate::db::DbConn,
            &crate::flow::FlowConfig,
        ) -> crate::flow::FlowResult<ComplaintRow>
        + Clone
        + Send
        + 'static,
) -> ApiResult<HttpResponse> {
    let c = crate::flow::retry_changed(crate::flow::CHANGED_TRIES, || {
        let f = f.clone();
        let cfg = state.flow.clone();
        async move { state.db.write(move |conn| f(conn, &cfg)).await }
    })
    .await?;
    state.kick();
    Ok(HttpResponse::Ok().json(dto(&c)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyIn {
    /// What the customer was told.
    reply: String,
}

/// Records the answer given to the customer: the handling clock stops.
async fn reply_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<ReplyIn>,
) -> ApiResult<HttpResponse> {
    let text = required_text("reply", &req.reply, 2000)?;
    let who = acting(&caller);
    let now = state.clock.now_naive();
    let id = id.into_inner();
    act(&state, move |conn, _| {
        flow::reply(conn, &id, &text, &who.actor, &who.scope, now)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseIn {
    /// The customer accepted the answer; false reopens the complaint.
    accepted: bool,
    #[serde(default)]
    note: Option<String>,
}

/// The customer's word on the answer.
async fn close_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<CloseIn>,
) -> ApiResult<HttpResponse> {
    let note = optional_text("note", req.note.as_deref(), 2000)?;
    let who = acting(&caller);
    let now = state.clock.now_naive();
    let id = id.into_inner();
    act(&state, move |conn, cfg| {
        flow::close(
            conn,
            cfg,
            &id,
            req.accepted,
            note.as_deref(),
            &who.actor,
            &who.scope,
            now,
        )
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReopenIn {
    reason: String,
}

/// Opens an answered or closed complaint again with a fresh clock.
async fn reopen_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<ReopenIn>,
) -> ApiResult<HttpResponse> {
    let reason = required_text("reason", &req.reason, 2000)?;
    let who = acting(&caller);
    let now = state.clock.now_naive();
    let id = id.into_inner();
    act(&state, move |conn, cfg| {
        flow::reopen(conn, cfg, &id, &reason, &who.actor, &who.scope, now)
    })
    .await
}
