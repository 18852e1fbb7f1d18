//! Tickets: intake from the call center, the dispatcher's board and assignment, the phone app's
//! actions, and the timeline.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::extract::CallerKind;
use super::instant::UtcInstant;
use super::state::AppState;
use super::{instant, resource, sync, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::sla::Stage;
use crate::domain::ticket::{Status, TicketKind};
use crate::domain::{field_in, required_text, Code, Crs, Invalid, PhoneNumber, WgsPoint};
use crate::flow::actions::{self, Acting};
use crate::flow::intake::{self, prepare, record, NewTicket, Prepared};
use crate::flow::{Actor, FlowError};
use crate::store::notifications;
use crate::store::tickets::{self, BoardFilter, EventRow, TicketRow};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/tickets")
            .route(web::get().to(board))
            .route(web::post().to(create)),
    )
    .service(
        resource("/tickets/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(amend)),
    )
    .service(resource("/tickets/{id}/events").route(web::get().to(timeline)))
    .service(resource("/tickets/{id}/notifications").route(web::get().to(messages)))
    .service(resource("/tickets/{id}/ack").route(web::post().to(tech_route::<AckIn>)))
    .service(resource("/tickets/{id}/check-in").route(web::post().to(tech_route::<CheckInIn>)))
    .service(resource("/tickets/{id}/resolve").route(web::post().to(tech_route::<ResolveIn>)))
    .service(resource("/tickets/{id}/assign").route(web::post().to(assign)))
    .service(resource("/tickets/{id}/cancel").route(web::post().to(cancel)))
    .service(resource("/tickets/{id}/close").route(web::post().to(close)));
}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Invalid(i) => i.into(),
            FlowError::Illegal(t) => {
                ApiError::illegal_transition(t.current.as_str(), t.to_string())
            }
            FlowError::NotFound(m) => ApiError::not_found(m),
            FlowError::Forbidden(m) => ApiError::forbidden(m),
            FlowError::Conflict(m) => ApiError::conflict(m),
            FlowError::Changed => ApiError::conflict(FlowError::Changed.to_string()),
            FlowError::ExternalRefTaken => {
                ApiError::conflict(FlowError::ExternalRefTaken.to_string())
                    .with_field("external_ref")
            }
            FlowError::Db(d) => d.into(),
            FlowError::Store(s) => s.into(),
        }
    }
}

/// A ticket as the API shows it.
#[derive(Serialize)]
pub struct TicketDto {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub external_ref: Option<String>,
    pub region_id: String,
    pub district_id: Option<String>,
    pub customer: CustomerDto,
    pub address: String,
    pub location: Option<LocationDto>,
    pub fault: FaultDto,
    pub assignee_id: Option<String>,
    pub flagged: bool,
    pub flag_reason: Option<String>,
    pub appointment_at: Option<UtcInstant>,
    pub contact_note: Option<String>,
    pub deadlines: DeadlinesDto,
    /// Each SLA stage by name: `on_time`, `late`, or null while undecided.
    pub outcomes: std::collections::BTreeMap<&'static str, Option<&'static str>>,
    pub escalation_level: i32,
    pub postponements: i32,
    pub check_in: Option<CheckInDto>,
    pub resolution: Option<ResolutionDto>,
    pub cancel_reason: Option<String>,
    /// The ticket whose unsatisfied callback opened this follow-up.
    pub follow_up_of: Option<String>,
    /// The network fault this call is linked to.
    pub network_fault_id: Option<String>,
    pub next_deadline_at: Option<UtcInstant>,
    /// Seconds until `next_deadline_at` (negative when overdue).
    pub seconds_left: Option<i64>,
    pub created_at: UtcInstant,
    pub updated_at: UtcInstant,
}

#[derive(Serialize)]
pub struct CustomerDto {
    pub name: String,
    pub phone: String,
    pub account_no: Option<String>,
}

#[derive(Serialize)]
pub struct LocationDto {
    pub lat: f64,
    pub lon: f64,
    pub crs: &'static str,
}

#[derive(Serialize)]
pub struct FaultDto {
    pub category: String,
    pub description: String,
}

/// Every deadline of the ticket and when each was met.
#[derive(Serialize)]
pub struct DeadlinesDto {
    pub dispatch_due_at: UtcInstant,
    pub pushed_at: Option<UtcInstant>,
    pub ack_due_at: Option<UtcInstant>,
    pub assignment_ack_due_at: Option<UtcInstant>,
    pub acknowledged_at: Option<UtcInstant>,
    pub arrival_due_at: Option<UtcInstant>,
    pub arrived_at: Option<UtcInstant>,
    pub promised_at: UtcInstant,
    pub original_promised_at: UtcInstant,
    pub resolved_at: Option<UtcInstant>,
    pub closed_at: Option<UtcInstant>,
    pub cancelled_at: Option<UtcInstant>,
}

#[derive(Serialize)]
pub struct CheckInDto {
    pub distance_m: Option<f64>,
    pub far: Option<bool>,
}

#[derive(Serialize)]
pub struct ResolutionDto {
    pub code: String,
    pub notes: Option<String>,
}

impl TicketDto {
    pub fn new(t: TicketRow, now: NaiveDateTime) -> Self {
        let u = |x: Option<NaiveDateTime>| x.map(UtcInstant);
        let outcomes = Stage::ALL
            .into_iter()
            .map(|s| (s.as_str(), t.stage(s).outcome()))
            .collect();
        TicketDto {
            customer: CustomerDto {
                name: t.customer_name,
                phone: t.customer_phone,
                account_no: t.account_no,
            },
            location: t.lat.zip(t.lon).map(|(lat, lon)| LocationDto {
                lat,
                lon,
                crs: "wgs84",
            }),
            fault: FaultDto {
                category: t.fault_category,
                description: t.fault_description,
            },
            deadlines: DeadlinesDto {
                dispatch_due_at: UtcInstant(t.dispatch_due_at),
                pushed_at: u(t.pushed_at),
                ack_due_at: u(t.ack_due_at),
                assignment_ack_due_at: u(t.assignment_ack_due_at),
                acknowledged_at: u(t.acknowledged_at),
                arrival_due_at: u(t.arrival_due_at),
                arrived_at: u(t.arrived_at),
                promised_at: UtcInstant(t.promised_at),
                original_promised_at: UtcInstant(t.original_promised_at),
                resolved_at: u(t.resolved_at),
                closed_at: u(t.closed_at),
                cancelled_at: u(t.cancelled_at),
            },
            outcomes,
            check_in: t.arrived_at.map(|_| CheckInDto {
                distance_m: t.check_in_distance_m,
                far: t.check_in_far,
            }),
            resolution: t.resolution_code.map(|code| ResolutionDto {
                code,
                notes: t.resolution_notes,
            }),
            seconds_left: t.next_deadline_at.map(|d| (d - now).num_seconds()),
            next_deadline_at: u(t.next_deadline_at),
            appointment_at: u(t.appointment_at),
            id: t.id,
            kind: t.kind.as_str().to_string(),
            status: t.status.as_str().to_string(),
            external_ref: t.external_ref,
            region_id: t.region_id,
            district_id: t.district_id,
            address: t.address,
            assignee_id: t.assignee_id,
            flagged: t.flagged,
            flag_reason: t.flag_reason,
            contact_note: t.contact_note,
            escalation_level: t.escalation_level,
            postponements: t.postponement_count,
            cancel_reason: t.cancel_reason,
            follow_up_of: t.follow_up_of,
            network_fault_id: t.network_fault_id,
            created_at: UtcInstant(t.created_at),
            updated_at: UtcInstant(t.updated_at),
        }
    }
}

/// The caller as the flow sees them.
pub fn acting(caller: &Caller) -> Acting {
    Acting {
        actor: match caller.kind {
            CallerKind::User => Actor::user(&caller.id),
            CallerKind::ApiKey => Actor::api_key(&caller.id),
        },
        role: caller.role,
        scope: caller.scope.clone(),
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LocationIn {
    pub(super) lat: f64,
    pub(super) lon: f64,
    #[serde(default)]
    pub(super) crs: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTicketIn {
    kind: String,
    #[serde(default)]
    external_ref: Option<String>,
    customer_name: String,
    customer_phone: String,
    address: String,
    #[serde(default)]
    location: Option<LocationIn>,
    #[serde(default)]
    district_code: Option<String>,
    #[serde(default)]
    account_no: Option<String>,
    fault_category: String,
    fault_description: String,
}

/// A point sent as `lat`, `lon` and an optional `crs`; `field` prefixes the names in errors.
pub(super) fn parse_point(
    field: &str,
    lat: f64,
    lon: f64,
    crs: Option<&str>,
) -> Result<WgsPoint, Invalid> {
    let crs = crs
        .map(|c| Crs::parse(&field_in(field, "crs"), c))
        .transpose()?
        .unwrap_or_default();
    WgsPoint::parse(field, lat, lon, crs)
}

fn parse_new(req: &NewTicketIn) -> Result<NewTicket, Invalid> {
    let external_ref = req
        .external_ref
        .as_deref()
        .map(|r| required_text("external_ref", r, 100))
        .transpose()?;
    Ok(NewTicket {
        kind: TicketKind::parse("kind", &req.kind)?,
        external_ref,
        customer_name: required_text("customer_name", &req.customer_name, 100)?,
        customer_phone: PhoneNumber::parse("customer_phone", &req.customer_phone)?,
        address: required_text("address", &req.address, 300)?,
        point: req
            .location
            .as_ref()
            .map(|l| parse_point("location", l.lat, l.lon, l.crs.as_deref()))
            .transpose()?,
        account_no: crate::domain::optional_text("account_no", req.account_no.as_deref(), 64)?,
        fault_category: required_text("fault_category", &req.fault_category, 64)?,
        fault_description: required_text("fault_description", &req.fault_description, 1000)?,
        follow_up_of: None,
    })
}

/// Where an address belongs: the district named by `district_code`, else the one holding
/// `point` (or the nearest). Read before the write transaction: the spatial index lives in
/// memory.
pub(super) async fn place(
    state: &web::Data<AppState>,
    point: Option<WgsPoint>,
    district_code: Option<&str>,
    prefix: &str,
) -> ApiResult<crate::flow::intake::Placement> {
    match (point, district_code) {
        (_, Some(code)) => {
            let code = Code::parse(&field_in(prefix, "district_code"), code)?;
            state
                .db
                .read(move |conn| intake::place_by_code(conn, &code).map_err(ApiError::from))
                .await
        }
        (Some(p), None) => {
            let index = state.districts.get(&state.db).await?;
            intake::place_at(index.locate(p.lat, p.lon)).ok_or_else(|| {
                ApiError::conflict("no grid districts are defined yet; import them first")
            })
        }
        (None, None) => Err(ApiError::invalid(
            field_in(prefix, "location"),
            "give the customer's location or a district_code",
        )),
    }
}

/// Records a fault. The same `external_ref` again answers the first ticket with 200.
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewTicketIn>,
) -> ApiResult<HttpResponse> {
    let new = parse_new(&req)?;
    let placement = place(&state, new.point, req.district_code.as_deref(), "").await?;
    if !caller.scope.allows(&placement.region_id) {
        return Err(ApiError::forbidden(
            "this address is in a region outside your scope",
        ));
    }
    let actor = acting(&caller).actor;
    let now = state.clock.now_naive();
    let flow = state.flow.clone();
    let external_ref = new.external_ref.clone();
    let prepared = {
        let (new, placement, flow) = (new.clone(), placement.clone(), flow.clone());
        state
            .db
            .read(move |conn| prepare(conn, &flow, &new, &placement, now).map_err(ApiError::from))
            .await?
    };
    let (ticket, created) = match prepared {
        Prepared::Known(t) => (*t, false),
        Prepared::New(routing) => {
            let outcome = state
                .db
                .write(move |conn| record(conn, &flow, &new, &placement, &routing, &actor, now))
                .await;
            match outcome {
                Ok(t) => (t, true),
                // Two intakes of one external_ref raced: the loser answers the winner's ticket.
                Err(FlowError::ExternalRefTaken) => {
                    let r = external_ref.clone().unwrap_or_default();
                    let existing = state
                        .db
                        .read(move |conn| {
                            tickets::find_by_external_ref(conn, &r).map_err(ApiError::from)
                        })
                        .await?
                        .ok_or_else(|| ApiError::from(FlowError::ExternalRefTaken))?;
                    (existing, false)
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    // A reference known outside the caller's regions reveals nothing of that ticket.
    if !created && !caller.scope.allows(&ticket.region_id) {
        return Err(ApiError::conflict(
            "this external_ref is already used by a ticket outside your regions",
        )
        .with_field("external_ref"));
    }
    if created {
        state.kick_for(ticket.next_deadline_at);
    }
    let dto = TicketDto::new(ticket, now);
    Ok(if created {
        HttpResponse::Created().json(dto)
    } else {
        HttpResponse::Ok().json(dto)
    })
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let who = acting(&caller);
    let t = state
        .db
        .read(move |conn| actions::load_visible(conn, &id, &who).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(TicketDto::new(t, state.clock.now_naive())))
}

#[derive(Serialize)]
struct EventDto {
    id: String,
    at: DateTime<Utc>,
    kind: String,
    actor: Value,
    detail: Value,
    location: Option<Value>,
}

impl From<EventRow> for EventDto {
    fn from(e: EventRow) -> Self {
        EventDto {
            id: e.id,
            at: utc(e.at),
            kind: e.kind,
            actor: json!({"kind": e.actor_kind, "id": e.actor_id}),
            detail: serde_json::from_str(&e.detail).unwrap_or(Value::Null),
            location: e
                .lat
                .zip(e.lon)
                .map(|(lat, lon)| json!({"lat": lat, "lon": lon})),
        }
    }
}

async fn timeline(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let who = acting(&caller);
    let events = state
        .db
        .read(move |conn| -> ApiResult<Vec<EventRow>> {
            actions::load_visible(conn, &id, &who)?;
            Ok(tickets::events(conn, &id)?)
        })
        .await?;
    let items: Vec<EventDto> = events.into_iter().map(EventDto::from).collect();
    Ok(super::items(items))
}

/// The ticket's messages with every delivery attempt: how "pushed within 3 minutes" is known.
async fn messages(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let who = acting(&caller);
    let (rows, attempts) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            actions::load_visible(conn, &id, &who)?;
            let rows = notifications::for_ticket(conn, &id)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let attempts = notifications::attempts(conn, &ids)?;
            Ok((rows, attempts))
        })
        .await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|n| {
            let tried: Vec<Value> = attempts
                .iter()
                .filter(|a| a.notification_id == n.id)
                .map(|a| json!({"attempt": a.attempt, "at": utc(a.at), "outcome": a.outcome, "provider": a.provider,
                                "answer": a.answer, "latency_ms": a.latency_ms}))
                .collect();
            json!({"id": n.id, "to": n.recipient_phone, "recipient_user_id": n.recipient_user_id, "purpose": n.purpose,
                   "text": n.body, "chars": n.body.chars().count(),
                   "segments": crate::flow::messages::segments(&n.body), "status": n.status, "created_at": utc(n.created_at),
                   "accepted_at": n.accepted_at.map(utc), "delivered_at": n.delivered_at.map(utc),
                   "next_attempt_at": utc(n.next_attempt_at), "last_error": n.last_error, "attempts": tried})
        })
        .collect();
    Ok(super::items(items))
}

/// Runs one flow action in a write transaction and answers the ticket. When a background writer
/// (the SMS sender recording a push, the engine stepping a deadline) saved the ticket between
/// the action's read and its save, the action runs again on the new state, as if the request
/// had come a moment later; the caller sees 409 only if that keeps happening.
pub(super) async fn act<F>(state: web::Data<AppState>, f: F) -> ApiResult<HttpResponse>
where
    F: Fn(
            &mut crate::db::DbConn,
            &crate::flow::FlowConfig,
            NaiveDateTime,
        ) -> Result<TicketRow, FlowError>
        + Send
        + Sync
        + 'static,
{
    let work = sync::ticket_work(move |conn, flow, when| f(conn, flow, when.received));
    Ok(sync::once(&state, "", None, None, work)
        .await?
        .into_response())
}

/// A technician's action from its body: from the single route (`prefix` "") or an entry of
/// `POST /me/sync` (`prefix` names the entry in errors).
pub(super) fn tech_action<T: Serialize>(
    route: &'static str,
    ticket_id: String,
    req: &T,
    device_at: Option<&str>,
    prefix: &str,
    work: sync::Work,
) -> ApiResult<sync::TechAction> {
    Ok(sync::TechAction {
        route,
        ticket_id: Some(ticket_id),
        body: serde_json::to_value(req).map_err(|e| ApiError::internal(e.to_string()))?,
        device_at: device_at
            .map(|d| super::parse_instant(&field_in(prefix, "device_at"), d))
            .transpose()?,
        work,
    })
}

/// A technician's action as its route's body and an entry of `POST /me/sync` carry it.
pub(super) trait TechRequest: serde::de::DeserializeOwned + Serialize {
    /// The action on ticket `id` by `who`; `prefix` names the entry in errors ("" for the
    /// route's own body).
    fn action(self, id: String, who: Acting, prefix: &str) -> ApiResult<sync::TechAction>;
}

/// `POST /tickets/{id}/ack`, `/check-in`, `/resolve`, `/postpone`.
pub(super) async fn tech_route<T: TechRequest>(
    state: web::Data<AppState>,
    caller: Caller,
    http: HttpRequest,
    id: web::Path<String>,
    JsonBody(req): JsonBody<T>,
) -> ApiResult<HttpResponse> {
    let action = req.action(id.into_inner(), acting(&caller), "")?;
    sync::run_from_route(&state, &caller, &http, action).await
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AckIn {
    appointment_at: String,
    contact_note: String,
    #[serde(default)]
    device_at: Option<String>,
}

impl TechRequest for AckIn {
    fn action(self, id: String, who: Acting, prefix: &str) -> ApiResult<sync::TechAction> {
        let appointment = instant(&field_in(prefix, "appointment_at"), &self.appointment_at)?;
        let (route_id, note) = (id.clone(), self.contact_note.clone());
        tech_action(
            "/tickets/{id}/ack",
            route_id,
            &self,
            self.device_at.as_deref(),
            prefix,
            sync::ticket_work(move |conn, flow, when| {
                actions::acknowledge(conn, flow, &id, &who, appointment, &note, when)
            }),
        )
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckInIn {
    lat: f64,
    lon: f64,
    #[serde(default)]
    crs: Option<String>,
    #[serde(default)]
    device_at: Option<String>,
}

impl TechRequest for CheckInIn {
    fn action(self, id: String, who: Acting, prefix: &str) -> ApiResult<sync::TechAction> {
        let at = parse_point(prefix, self.lat, self.lon, self.crs.as_deref())?;
        let route_id = id.clone();
        tech_action(
            "/tickets/{id}/check-in",
            route_id,
            &self,
            self.device_at.as_deref(),
            prefix,
            sync::ticket_work(move |conn, flow, when| {
                actions::check_in(conn, flow, &id, &who, at, when)
            }),
        )
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResolveIn {
    resolution_code: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    device_at: Option<String>,
}

impl TechRequest for ResolveIn {
    fn action(self, id: String, who: Acting, prefix: &str) -> ApiResult<sync::TechAction> {
        let (route_id, code, notes) =
            (id.clone(), self.resolution_code.clone(), self.notes.clone());
        tech_action(
            "/tickets/{id}/resolve",
            route_id,
            &self,
            self.device_at.as_deref(),
            prefix,
            sync::ticket_work(move |conn, flow, when| {
                actions::resolve(conn, flow, &id, &who, &code, &notes, when)
            }),
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignIn {
    assignee_id: String,
}

async fn assign(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<AssignIn>,
) -> ApiResult<HttpResponse> {
    let (id, who) = (id.into_inner(), acting(&caller));
    act(state, move |conn, flow, now| {
        actions::assign(conn, flow, &id, &who, &req.assignee_id, now)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmendIn {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    district_code: Option<String>,
}

async fn amend(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<AmendIn>,
) -> ApiResult<HttpResponse> {
    let kind = req
        .kind
        .as_deref()
        .map(|k| TicketKind::parse("kind", k))
        .transpose()?;
    let code = req
        .district_code
        .as_deref()
        .map(|c| Code::parse("district_code", c))
        .transpose()?
        .map(Code::into_string);
    if kind.is_none() && code.is_none() {
        return Err(ApiError::invalid("kind", "send kind and/or district_code"));
    }
    let (id, who) = (id.into_inner(), acting(&caller));
    act(state, move |conn, flow, now| {
        actions::amend(conn, flow, &id, &who, kind, code.as_deref(), now)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelIn {
    reason: String,
}

async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<CancelIn>,
) -> ApiResult<HttpResponse> {
    let (id, who) = (id.into_inner(), acting(&caller));
    act(state, move |conn, flow, now| {
        actions::cancel(conn, flow, &id, &who, &req.reason, now)
    })
    .await
}

async fn close(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (id, who) = (id.into_inner(), acting(&caller));
    act(state, move |conn, flow, now| {
        actions::close(conn, flow, &id, &who, now)
    })
    .await
}

#[derive(Deserialize)]
struct BoardQuery {
    /// Only these tickets (comma-separated ids), as the console asks for the ones its stream
    /// named.
    ids: Option<String>,
    status: Option<String>,
    district_id: Option<String>,
    region_id: Option<String>,
    overdue: Option<bool>,
    unassigned: Option<bool>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// The dispatcher's board: newest first, cursor-paginated.
async fn board(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<BoardQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let limit = super::limit_param(q.limit, 50, 500)?;
    let statuses = q
        .status
        .as_deref()
        .map(|s| {
            s.split(',')
                .map(|x| Status::parse("status", x.trim()).map(|s| s.as_str().to_string()))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let regions = match (&q.region_id, caller.scope.filter()) {
        (Some(r), _) => {
            caller.require_region(r)?;
            Some(vec![r.clone()])
        }
        (None, Some(only)) => Some(only.to_vec()),
        (None, None) => None,
    };
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let ids = q
        .ids
        .as_deref()
        .map(|list| {
            let ids: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            if ids.is_empty() || ids.len() > MAX_IDS {
                Err(ApiError::invalid(
                    "ids",
                    format!("name 1 to {MAX_IDS} ticket ids, comma-separated"),
                ))
            } else {
                Ok(ids)
            }
        })
        .transpose()?;
    let filter = BoardFilter {
        regions,
        ids,
        statuses,
        district_id: q.district_id,
        unassigned: q.unassigned.unwrap_or(false),
        overdue: q.overdue.unwrap_or(false),
        after,
        limit: limit + 1,
    };
    let mut rows = state
        .db
        .read(move |conn| tickets::board(conn, &filter).map_err(ApiError::from))
        .await?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|t| encode_cursor(t.created_at, &t.id))
    });
    let now = state.clock.now_naive();
    let items: Vec<TicketDto> = rows.into_iter().map(|t| TicketDto::new(t, now)).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next.flatten() })))
}

/// Ticket ids one board query may name.
const MAX_IDS: usize = 500;

fn encode_cursor(at: NaiveDateTime, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}|{id}", at.and_utc().timestamp_micros()))
}

fn decode_cursor(c: &str) -> Result<(NaiveDateTime, String), ApiError> {
    use base64::Engine;
    let bad = || ApiError::invalid("cursor", "is not a cursor this server gave out");
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (micros, id) = text.split_once('|').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at.naive_utc(), id.to_string()))
}
