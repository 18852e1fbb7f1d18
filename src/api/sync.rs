//! Technicians' actions from a phone that may have been offline. Each may carry the phone's
//! action id (the `Idempotency-Key` header, or `action_id` in a batch) and the time the phone
//! says it was done (`device_at`). An action id is applied once: sent again, it is answered with
//! its first result. `POST /me/sync` takes a phone's queue in order and answers per action:
//! `applied`, `duplicate`, `conflict` (with the ticket's current state and why) or `rejected`
//! (with the field at fault).

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::AppState;
use super::tickets::{acting, TicketDto};
use super::{resource, ApiError, ApiResult, Caller, JsonBody};
use crate::db::DbConn;
use crate::domain::Invalid;
use crate::flow::{FlowConfig, FlowError, When};
use crate::store::client_actions::{self, ClientActionRow};
use crate::store::{assignments, tickets, users};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me/sync").route(web::post().to(sync)));
}

/// Actions in one `POST /me/sync`.
pub const MAX_ACTIONS: usize = 100;

/// What an action does, given the flow and when it happened; answers its body and the
/// ticket's next deadline (to wake the engine).
pub type Work = Arc<
    dyn Fn(&mut DbConn, &FlowConfig, When) -> Result<(Value, Option<NaiveDateTime>), FlowError>
        + Send
        + Sync,
>;

/// A technician's action as the phone queued it.
pub struct Queued {
    pub action_id: Option<String>,
    pub device_at: Option<NaiveDateTime>,
    /// Names the action id's field in answers: the header, or the batch entry's.
    pub id_field: String,
    /// What was asked (route and body): the same id for another action is refused.
    pub fingerprint: String,
    pub ticket_id: Option<String>,
}

/// What became of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
    Conflict,
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Conflict => "conflict",
            Outcome::Rejected => "rejected",
        }
    }

    /// How a refusal counts: a state the phone could not know of (the ticket moved on, or is
    /// no longer theirs), or something wrong with the action itself.
    fn of_refusal(e: &ApiError) -> Option<Outcome> {
        match e.status.as_u16() {
            404 | 409 => Some(Outcome::Conflict),
            422 => Some(Outcome::Rejected),
            _ => None,
        }
    }
}

/// An action's answer: what became of it now, and its first answer (status and body).
pub struct Answer {
    pub outcome: Outcome,
    /// For a duplicate, what became of it the first time.
    pub first: Outcome,
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The answer of a single-action route: the first answer again, marked when replayed.
    pub fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::build(
            actix_web::http::StatusCode::from_u16(self.status)
                .unwrap_or(actix_web::http::StatusCode::OK),
        );
        if self.status >= 400 {
            res.content_type("application/problem+json");
        }
        if self.outcome == Outcome::Duplicate {
            res.insert_header(("idempotency-replayed", "true"));
        }
        res.json(self.body)
    }
}

/// A phone's action id: 1 to 128 visible ASCII characters.
pub fn action_id(field: &str, raw: &str) -> Result<String, Invalid> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Invalid::new(
            field,
            "must be 1 to 128 visible ASCII characters",
        ));
    }
    Ok(id.to_string())
}

/// The action id and device time of a single-action request.
pub fn queued(
    req: &HttpRequest,
    route: &str,
    ticket_id: Option<&str>,
    body: &Value,
    device_at: Option<&str>,
) -> ApiResult<Queued> {
    let action_id = req
        .headers()
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| Invalid::new("Idempotency-Key", "must be visible ASCII"))
                .and_then(|v| action_id("Idempotency-Key", v))
        })
        .transpose()?;
    Ok(Queued {
        action_id,
        device_at: device_at
            .map(|d| super::parse_instant("device_at", d))
            .transpose()?,
        id_field: "Idempotency-Key".into(),
        fingerprint: fingerprint(route, ticket_id, body),
        ticket_id: ticket_id.map(str::to_string),
    })
}

fn fingerprint(route: &str, ticket_id: Option<&str>, body: &Value) -> String {
    crate::auth::secret::digest(&format!("{route}\n{}\n{body}", ticket_id.unwrap_or("")))
}

fn replay(row: ClientActionRow, q: &Queued) -> ApiResult<Answer> {
    if row.fingerprint != q.fingerprint {
        return Err(ApiError::invalid(
            q.id_field.clone(),
            "this action id was already used for a different action",
        ));
    }
    let first = match row.outcome.as_str() {
        "applied" => Outcome::Applied,
        "conflict" => Outcome::Conflict,
        _ => Outcome::Rejected,
    };
    Ok(Answer {
        outcome: Outcome::Duplicate,
        first,
        status: u16::try_from(row.status).unwrap_or(500),
        body: serde_json::from_str(&row.body).unwrap_or(Value::Null),
    })
}

/// Runs a technician's action once per action id. Without an id it simply runs. With one, the
/// action and the record of its answer commit together; a refusal the phone cannot fix by
/// retrying (the ticket moved on, the action is invalid) is recorded too, so a retry gets the
/// same answer. A twin sent at the same moment loses the race on the record and is answered
/// with the winner's result.
pub async fn once(
    state: &web::Data<AppState>,
    user_id: &str,
    q: Queued,
    work: Work,
) -> ApiResult<Answer> {
    let lookup = |state: web::Data<AppState>, user: String, id: String| async move {
        state
            .db
            .read(move |conn| client_actions::find(conn, &user, &id).map_err(ApiError::from))
            .await
    };
    if let Some(id) = &q.action_id {
        if let Some(row) = lookup(state.clone(), user_id.into(), id.clone()).await? {
            return replay(row, &q);
        }
    }
    let record = |now: NaiveDateTime, outcome: Outcome, status: u16, body: &Value| {
        q.action_id.as_ref().map(|id| ClientActionRow {
            user_id: user_id.to_string(),
            action_id: id.clone(),
            fingerprint: q.fingerprint.clone(),
            outcome: outcome.as_str().into(),
            status: status.into(),
            body: body.to_string(),
            ticket_id: q.ticket_id.clone(),
            created_at: now,
        })
    };
    let device = q.device_at;
    let applied = crate::flow::retry_changed(crate::flow::CHANGED_TRIES, || {
        let now = state.clock.now_naive();
        let (flow, work) = (state.flow.clone(), work.clone());
        let row = record(now, Outcome::Applied, 200, &Value::Null);
        state.db.write(move |conn| {
            let (body, deadline) = work(
                conn,
                &flow,
                When {
                    received: now,
                    device,
                },
            )?;
            if let Some(mut row) = row {
                row.body = body.to_string();
                client_actions::insert(conn, &row)?;
            }
            Ok::<_, FlowError>((body, deadline))
        })
    })
    .await;
    match applied {
        Ok((body, deadline)) => {
            state.kick_for(deadline);
            Ok(Answer {
                outcome: Outcome::Applied,
                first: Outcome::Applied,
                status: 200,
                body,
            })
        }
        Err(e) => {
            // A twin of this action may have committed first.
            if let Some(id) = &q.action_id {
                if let Some(row) = lookup(state.clone(), user_id.into(), id.clone()).await? {
                    return replay(row, &q);
                }
            }
            let e = ApiError::from(e);
            let Some(outcome) = Outcome::of_refusal(&e).filter(|_| q.action_id.is_some()) else {
                return Err(e);
            };
            let status = e.status.as_u16();
            let body = e.body();
            if let Some(row) = record(state.clock.now_naive(), outcome, status, &body) {
                let stored = state
                    .db
                    .write(move |conn| client_actions::insert(conn, &row).map_err(ApiError::from))
                    .await;
                if stored.is_err() {
                    if let Some(row) = lookup(
                        state.clone(),
                        user_id.into(),
                        q.action_id.clone().unwrap_or_default(),
                    )
                    .await?
                    {
                        return replay(row, &q);
                    }
                }
            }
            Ok(Answer {
                outcome,
                first: outcome,
                status,
                body,
            })
        }
    }
}

/// A ticket action's work: runs `f` and answers the ticket as the API shows it.
pub fn ticket_work<F>(f: F) -> Work
where
    F: Fn(&mut DbConn, &FlowConfig, When) -> Result<tickets::TicketRow, FlowError>
        + Send
        + Sync
        + 'static,
{
    Arc::new(move |conn, flow, when| {
        let t = f(conn, flow, when)?;
        let deadline = t.next_deadline_at;
        let body = serde_json::to_value(TicketDto::new(t, when.received))
            .map_err(|e| FlowError::Conflict(e.to_string()))?;
        Ok((body, deadline))
    })
}

/// Why a technician's queued action on `ticket_id` could not apply, as the ticket stands now;
/// None for a ticket the technician never held (its state is none of their business).
fn conflict_state(
    conn: &mut DbConn,
    ticket_id: &str,
    user_id: &str,
) -> Result<Option<Value>, ApiError> {
    let Some(t) = tickets::get(conn, ticket_id)? else {
        return Ok(None);
    };
    let held = assignments::for_ticket(conn, ticket_id)?
        .iter()
        .any(|a| a.user_id == user_id);
    if !held {
        return Ok(None);
    }
    use crate::domain::ticket::Status;
    let reason = match (t.status, t.assignee_id.as_deref()) {
        (Status::Cancelled, _) => "cancelled",
        (Status::Resolved | Status::Closed, _) => "already_resolved",
        (_, Some(a)) if a != user_id => "reassigned",
        (_, None) => "unassigned",
        _ => "state",
    };
    let assignee_name = match (&t.assignee_id, reason) {
        (Some(a), "reassigned") => users::find_row(conn, a)?.map(|u| u.display_name),
        _ => None,
    };
    Ok(Some(json!({
        "reason": reason,
        "status": t.status.as_str(),
        "assignee_name": assignee_name,
        "version": t.version,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncIn {
    actions: Vec<Value>,
}

/// One queued action of a batch.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Action {
    Acknowledge {
        action_id: String,
        ticket_id: String,
        #[serde(default)]
        device_at: Option<String>,
        appointment_at: String,
        contact_note: String,
    },
    CheckIn {
        action_id: String,
        ticket_id: String,
        #[serde(default)]
        device_at: Option<String>,
        lat: f64,
        lon: f64,
        #[serde(default)]
        crs: Option<String>,
    },
    Resolve {
        action_id: String,
        ticket_id: String,
        #[serde(default)]
        device_at: Option<String>,
        resolution_code: String,
        #[serde(default)]
        notes: String,
    },
}

/// The route a batch action stands for (its fingerprint matches the single-action route's).
fn work_of(
    action: Action,
    who: crate::flow::actions::Acting,
    field: &str,
) -> ApiResult<(String, String, Option<String>, Value, Work)> {
    use crate::flow::actions;
    Ok(match action {
        Action::Acknowledge {
            action_id,
            ticket_id,
            device_at,
            appointment_at,
            contact_note,
        } => {
            let appointment = super::instant(&format!("{field}.appointment_at"), &appointment_at)?;
            let body = json!({"appointment_at": appointment_at, "contact_note": contact_note, "device_at": device_at});
            let id = ticket_id.clone();
            (
                action_id,
                ticket_id,
                device_at,
                body,
                ticket_work(move |conn, flow, when| {
                    actions::acknowledge(conn, flow, &id, &who, appointment, &contact_note, when)
                }),
            )
        }
        Action::CheckIn {
            action_id,
            ticket_id,
            device_at,
            lat,
            lon,
            crs,
        } => {
            let crs_v = crs
                .as_deref()
                .map(|c| crate::domain::Crs::parse(&format!("{field}.crs"), c))
                .transpose()?
                .unwrap_or_default();
            let at = crate::domain::WgsPoint::parse(field, lat, lon, crs_v)?;
            let body = json!({"lat": lat, "lon": lon, "crs": crs, "device_at": device_at});
            let id = ticket_id.clone();
            (
                action_id,
                ticket_id,
                device_at,
                body,
                ticket_work(move |conn, flow, when| {
                    actions::check_in(conn, flow, &id, &who, at, when)
                }),
            )
        }
        Action::Resolve {
            action_id,
            ticket_id,
            device_at,
            resolution_code,
            notes,
        } => {
            let body =
                json!({"resolution_code": resolution_code, "notes": notes, "device_at": device_at});
            let id = ticket_id.clone();
            (
                action_id,
                ticket_id,
                device_at,
                body,
                ticket_work(move |conn, flow, when| {
                    actions::resolve(conn, flow, &id, &who, &resolution_code, &notes, when)
                }),
            )
        }
    })
}

fn route_of(action: &Action) -> &'static str {
    match action {
        Action::Acknowledge { .. } => "/tickets/{id}/ack",
        Action::CheckIn { .. } => "/tickets/{id}/check-in",
        Action::Resolve { .. } => "/tickets/{id}/resolve",
    }
}

/// `POST /me/sync`: the phone's queue, applied in order, each action on its own.
async fn sync(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<SyncIn>,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    if req.actions.is_empty() || req.actions.len() > MAX_ACTIONS {
        return Err(ApiError::invalid(
            "actions",
            format!("send 1 to {MAX_ACTIONS} actions"),
        ));
    }
    let mut results = Vec::with_capacity(req.actions.len());
    for (i, raw) in req.actions.into_iter().enumerate() {
        let field = format!("actions[{i}]");
        let given_id = raw
            .get("action_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let answer = sync_one(&state, &caller, &user_id, raw, &field).await;
        results.push(match answer {
            Ok((action_id, ticket_id, a)) => {
                let mut r = json!({
                    "action_id": action_id,
                    "outcome": a.outcome.as_str(),
                    "status": a.status,
                });
                if a.outcome == Outcome::Duplicate {
                    r["first_outcome"] = a.first.as_str().into();
                }
                let conflicted = a.outcome == Outcome::Conflict
                    || (a.outcome == Outcome::Duplicate && a.first == Outcome::Conflict);
                if a.status < 400 {
                    r["ticket"] = a.body;
                } else {
                    r["problem"] = a.body;
                }
                if conflicted {
                    let u = user_id.clone();
                    let state_now = state
                        .db
                        .read(move |conn| conflict_state(conn, &ticket_id, &u))
                        .await?;
                    match state_now {
                        Some(c) => r["conflict"] = c,
                        None => r["outcome"] = "rejected".into(),
                    }
                }
                r
            }
            Err(e) if e.status.as_u16() == 422 => json!({
                "action_id": given_id,
                "outcome": "rejected",
                "status": 422,
                "problem": e.body(),
            }),
            Err(e) => return Err(e),
        });
    }
    Ok(HttpResponse::Ok().json(json!({ "results": results })))
}

async fn sync_one(
    state: &web::Data<AppState>,
    caller: &Caller,
    user_id: &str,
    raw: Value,
    field: &str,
) -> ApiResult<(String, String, Answer)> {
    let action: Action = serde_json::from_value(raw)
        .map_err(|e| ApiError::invalid(field.to_string(), format!("is not an action: {e}")))?;
    let route = route_of(&action);
    let (action_id, ticket_id, device_at, body, work) = work_of(action, acting(caller), field)?;
    let action_id = self::action_id(&format!("{field}.action_id"), &action_id)?;
    let q = Queued {
        action_id: Some(action_id.clone()),
        device_at: device_at
            .as_deref()
            .map(|d| super::parse_instant(&format!("{field}.device_at"), d))
            .transpose()?,
        id_field: format!("{field}.action_id"),
        fingerprint: fingerprint(route, Some(&ticket_id), &body),
        ticket_id: Some(ticket_id.clone()),
    };
    let answer = once(state, user_id, q, work).await?;
    Ok((action_id, ticket_id, answer))
}
