//! Technicians' actions from a phone that may have been offline. Each may carry the phone's
//! action id (the `Idempotency-Key` header, or `action_id` in a batch) and the time the phone
//! says it was done (`device_at`). An action id is applied once: sent again, it is answered with
//! its first result. `POST /me/sync` takes a phone's queue in order and answers per action:
//! `applied`, `duplicate`, `conflict` (with the ticket's current state and why) or `rejected`
//! (with the field at fault).

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::positions::FixesIn;
use super::postponements::PostponeIn;
use super::state::AppState;
use super::tickets::{acting, AckIn, CheckInIn, ResolveIn, TechRequest, TicketDto};
use super::visits::VisitIn;
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

/// What an action did: its answer, and the ticket's next deadline (to wake the engine).
pub struct Done {
    pub status: u16,
    pub body: Value,
    pub deadline: Option<NaiveDateTime>,
}

/// What an action does, given the flow and when it happened.
pub type Work =
    Arc<dyn Fn(&mut DbConn, &FlowConfig, When) -> Result<Done, FlowError> + Send + Sync>;

/// A technician's action, ready to run once: what was asked (the route and its body, which an
/// action id's fingerprint covers) and what it does.
pub struct TechAction {
    pub route: &'static str,
    /// None for an action on no ticket (a position report).
    pub ticket_id: Option<String>,
    /// The request body as the route reads it.
    pub body: Value,
    pub device_at: Option<NaiveDateTime>,
    pub work: Work,
}

impl TechAction {
    /// The record key of this action under the phone's `action_id`; `field` names the id in
    /// answers (the header, or the batch entry's).
    fn key(&self, action_id: String, field: String) -> Key {
        Key {
            action_id,
            field,
            fingerprint: crate::auth::secret::digest(&format!(
                "{}\n{}\n{}",
                self.route,
                self.ticket_id.as_deref().unwrap_or(""),
                self.body
            )),
            ticket_id: self.ticket_id.clone(),
        }
    }
}

/// An action's phone-given id and what it must match when sent again.
pub struct Key {
    action_id: String,
    field: String,
    /// What was asked (route, ticket, body): the same id for another action is refused.
    fingerprint: String,
    ticket_id: Option<String>,
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

/// Runs a technician's action from its single-action route, once per `Idempotency-Key` when
/// the phone sends one.
pub async fn run_from_route(
    state: &web::Data<AppState>,
    caller: &Caller,
    req: &HttpRequest,
    action: TechAction,
) -> ApiResult<HttpResponse> {
    let key = req
        .headers()
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| Invalid::new("Idempotency-Key", "must be visible ASCII"))
                .and_then(|v| action_id("Idempotency-Key", v))
        })
        .transpose()?
        .map(|id| action.key(id, "Idempotency-Key".into()));
    let answer = once(state, &caller.id, key, action.device_at, action.work).await?;
    Ok(answer.into_response())
}

fn replay(row: ClientActionRow, key: &Key) -> ApiResult<Answer> {
    if row.fingerprint != key.fingerprint {
        return Err(ApiError::invalid(
            key.field.clone(),
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

/// Runs `work` in a write transaction, again on the new state while a background writer saved
/// the ticket between its read and its save (as if the request came a moment later); with
/// `record`, the record of its answer commits with it.
async fn apply(
    state: &web::Data<AppState>,
    device: Option<NaiveDateTime>,
    work: &Work,
    record: Option<&ClientActionRow>,
) -> Result<Done, FlowError> {
    let done = crate::flow::retry_changed(crate::flow::CHANGED_TRIES, || {
        let received = state.clock.now_naive();
        let (flow, work) = (state.flow.clone(), work.clone());
        let record = record.cloned();
        state.db.write(move |conn| {
            let done = work(conn, &flow, When { received, device })?;
            if let Some(mut row) = record {
                row.status = done.status.into();
                row.body = done.body.to_string();
                row.created_at = received;
                client_actions::insert(conn, &row)?;
            }
            Ok::<_, FlowError>(done)
        })
    })
    .await?;
    state.kick_for(done.deadline);
    Ok(done)
}

async fn recorded(
    state: &web::Data<AppState>,
    user_id: &str,
    key: &Key,
) -> ApiResult<Option<ClientActionRow>> {
    let (user, id) = (user_id.to_string(), key.action_id.clone());
    state
        .db
        .read(move |conn| client_actions::find(conn, &user, &id).map_err(ApiError::from))
        .await
}

/// Runs a technician's action once per action id; without one it simply runs. With one, the
/// action and the record of its answer commit together; a refusal the phone cannot fix by
/// retrying (the ticket moved on, the action is invalid or not the caller's to take) is
/// recorded too, so a retry gets the same answer. A twin sent at the same moment loses the
/// race on the record and is answered with the winner's result.
pub async fn once(
    state: &web::Data<AppState>,
    user_id: &str,
    key: Option<Key>,
    device: Option<NaiveDateTime>,
    work: Work,
) -> ApiResult<Answer> {
    let applied = |done: Done| Answer {
        outcome: Outcome::Applied,
        first: Outcome::Applied,
        status: done.status,
        body: done.body,
    };
    let Some(key) = key else {
        return Ok(applied(apply(state, device, &work, None).await?));
    };
    if let Some(row) = recorded(state, user_id, &key).await? {
        return replay(row, &key);
    }
    let record = |outcome: Outcome, status: u16, body: &Value| ClientActionRow {
        user_id: user_id.to_string(),
        action_id: key.action_id.clone(),
        fingerprint: key.fingerprint.clone(),
        outcome: outcome.as_str().into(),
        status: status.into(),
        body: body.to_string(),
        ticket_id: key.ticket_id.clone(),
        created_at: state.clock.now_naive(),
    };
    let e = match apply(
        state,
        device,
        &work,
        Some(&record(Outcome::Applied, 200, &Value::Null)),
    )
    .await
    {
        Ok(done) => return Ok(applied(done)),
        Err(e) => ApiError::from(e),
    };
    // A twin of this action may have committed first.
    if let Some(row) = recorded(state, user_id, &key).await? {
        return replay(row, &key);
    }
    let outcome = match e.status.as_u16() {
        404 | 409 => {
            // A ticket moved on is a conflict only for a technician who held it: for anyone
            // else it does not exist.
            let (ticket, user) = (key.ticket_id.clone(), user_id.to_string());
            let held = match ticket {
                Some(ticket) => {
                    state
                        .db
                        .read(move |conn| {
                            assignments::ever_held(conn, &ticket, &user).map_err(ApiError::from)
                        })
                        .await?
                }
                None => false,
            };
            if held {
                Outcome::Conflict
            } else {
                Outcome::Rejected
            }
        }
        403 | 422 => Outcome::Rejected,
        _ => return Err(e),
    };
    let (status, body) = (e.status.as_u16(), e.body());
    let row = record(outcome, status, &body);
    let stored = state
        .db
        .write(move |conn| client_actions::insert(conn, &row).map_err(ApiError::from))
        .await;
    if stored.is_err() {
        if let Some(row) = recorded(state, user_id, &key).await? {
            return replay(row, &key);
        }
    }
    Ok(Answer {
        outcome,
        first: outcome,
        status,
        body,
    })
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
        ticket_done(t, when.received)
    })
}

/// 200 with the ticket as the API shows it.
pub fn ticket_done(t: tickets::TicketRow, now: NaiveDateTime) -> Result<Done, FlowError> {
    let deadline = t.next_deadline_at;
    Ok(Done {
        status: 200,
        body: json_of(&TicketDto::new(t, now))?,
        deadline,
    })
}

/// A typed answer as JSON.
pub fn json_of<T: serde::Serialize>(body: &T) -> Result<Value, FlowError> {
    serde_json::to_value(body).map_err(|e| FlowError::Conflict(e.to_string()))
}

/// Why ticket `t` is no longer on `user_id`'s phone (`cancelled`, `already_resolved`,
/// `reassigned`, `unassigned`); None while it is still theirs to work.
pub fn gone_from(t: &tickets::TicketRow, user_id: &str) -> Option<&'static str> {
    use crate::domain::ticket::Status;
    match (t.status, t.assignee_id.as_deref()) {
        (Status::Cancelled, _) => Some("cancelled"),
        (Status::Resolved | Status::Closed, _) => Some("already_resolved"),
        (_, Some(a)) if a != user_id => Some("reassigned"),
        (_, None) => Some("unassigned"),
        _ => None,
    }
}

/// The ticket as it stands, beside an action that conflicted with it.
#[derive(Serialize)]
struct ConflictDto {
    reason: &'static str,
    status: crate::domain::ticket::Status,
    assignee_name: Option<String>,
    version: i64,
}

/// What became of one queued action: its outcome and the status the route answered, with the
/// route's body under the name of what it is.
#[derive(Serialize, Default)]
struct SyncResult {
    action_id: Option<String>,
    outcome: &'static str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postponement: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    positions: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visit: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conflict: Option<ConflictDto>,
}

#[derive(Serialize)]
struct SyncAnswer {
    results: Vec<SyncResult>,
}

/// Why a technician's queued action on `ticket_id` could not apply, as the ticket stands now;
/// None for a ticket the technician never held (its state is none of their business).
fn conflict_state(
    conn: &mut DbConn,
    ticket_id: &str,
    user_id: &str,
) -> Result<Option<ConflictDto>, ApiError> {
    let Some(t) = tickets::get(conn, ticket_id)? else {
        return Ok(None);
    };
    if !assignments::ever_held(conn, ticket_id, user_id)? {
        return Ok(None);
    }
    let reason = gone_from(&t, user_id).unwrap_or("state");
    let assignee_name = match (&t.assignee_id, reason) {
        (Some(a), "reassigned") => users::find_row(conn, a)?.map(|u| u.display_name),
        _ => None,
    };
    Ok(Some(ConflictDto {
        reason,
        status: t.status,
        assignee_name,
        version: t.version,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncIn {
    actions: Vec<Value>,
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
            Ok((action_id, kind, ticket_id, a)) => {
                let mut r = SyncResult {
                    action_id: Some(action_id),
                    outcome: a.outcome.as_str(),
                    status: a.status,
                    first_outcome: (a.outcome == Outcome::Duplicate).then(|| a.first.as_str()),
                    ..SyncResult::default()
                };
                let conflicted = a.outcome == Outcome::Conflict
                    || (a.outcome == Outcome::Duplicate && a.first == Outcome::Conflict);
                // What the route answers: the ticket; a request awaiting confirmation (202);
                // the visit recorded; for positions, what was kept.
                let slot = match (a.status, kind.as_str(), &ticket_id) {
                    (400.., _, _) => &mut r.problem,
                    (_, VISIT, _) => &mut r.visit,
                    (_, _, None) => &mut r.positions,
                    (202, _, _) => &mut r.postponement,
                    _ => &mut r.ticket,
                };
                *slot = Some(a.body);
                if let (true, Some(ticket_id)) = (conflicted, ticket_id) {
                    let u = user_id.clone();
                    r.conflict = state
                        .db
                        .read(move |conn| conflict_state(conn, &ticket_id, &u))
                        .await?;
                }
                r
            }
            Err(e) if e.status.as_u16() == 422 => SyncResult {
                action_id: given_id,
                outcome: "rejected",
                status: 422,
                problem: Some(e.body()),
                ..SyncResult::default()
            },
            Err(e) => return Err(e),
        });
    }
    Ok(HttpResponse::Ok().json(SyncAnswer { results }))
}

/// The entry type of a household visit.
const VISIT: &str = "visit";

/// One entry of a batch: `type`, `action_id` and (but for a position batch or a visit)
/// `ticket_id`, then the body of the route it stands for. Answers the action id, the type, the
/// ticket and the answer.
async fn sync_one(
    state: &web::Data<AppState>,
    caller: &Caller,
    user_id: &str,
    raw: Value,
    field: &str,
) -> ApiResult<(String, String, Option<String>, Answer)> {
    let not_an_action =
        |why: String| ApiError::invalid(field.to_string(), format!("is not an action: {why}"));
    let Value::Object(mut body) = raw else {
        return Err(not_an_action("send an object".into()));
    };
    let mut take = |name: &str| match body.remove(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(not_an_action(format!("`{name}` must be a string"))),
    };
    let (kind, action_id) = (take("type")?, take("action_id")?);
    let action_id = self::action_id(&format!("{field}.action_id"), &action_id)?;
    let ticket_id = match kind.as_str() {
        "position" | VISIT => None,
        _ => Some(take("ticket_id")?),
    };
    let who = acting(caller);
    let body = Value::Object(body);
    fn read<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, String> {
        serde_json::from_value(body).map_err(|e| e.to_string())
    }
    let id = ticket_id.clone().unwrap_or_default();
    let action = match kind.as_str() {
        "acknowledge" => read::<AckIn>(body).map(|r| r.action(id, who, field)),
        "check_in" => read::<CheckInIn>(body).map(|r| r.action(id, who, field)),
        "resolve" => read::<ResolveIn>(body).map(|r| r.action(id, who, field)),
        "postpone" => read::<PostponeIn>(body).map(|r| r.action(id, who, field)),
        "position" => {
            read::<FixesIn>(body).map(|r| r.action(user_id, field, state.clock.now_naive()))
        }
        VISIT => match read::<VisitIn>(body) {
            Ok(v) => Ok(v.action(state, caller, field).await),
            Err(e) => Err(e),
        },
        other => Err(format!(
            "unknown type `{other}`: acknowledge, check_in, resolve, postpone, position or visit"
        )),
    }
    .map_err(not_an_action)??;
    let key = action.key(action_id.clone(), format!("{field}.action_id"));
    let answer = once(state, user_id, Some(key), action.device_at, action.work).await?;
    Ok((action_id, kind, ticket_id, answer))
}
