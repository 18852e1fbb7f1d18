//! Network faults: the open ones with their calls and area, opening one by hand, and the
//! dispatcher's actions (confirm, estimate, link, unlink, restore, dismiss).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::instant::UtcInstant;
use super::state::AppState;
use super::tickets::{acting, parse_point, LocationIn};
use super::{created, resource, ApiResult, Caller, JsonBody};
use crate::domain::storm::{Cause, FaultStatus};
use crate::domain::{required_text, Invalid};
use crate::flow::storms::{self, Reported};
use crate::flow::{retry_changed, CHANGED_TRIES};
use crate::store::network_faults::{self as faults, FaultRow, ListFilter};
use crate::store::tickets::TicketRow;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/network-faults")
            .route(web::get().to(list))
            .route(web::post().to(open)),
    )
    .service(resource("/network-faults/{id}").route(web::get().to(get)))
    .service(resource("/network-faults/{id}/confirm").route(web::post().to(confirm)))
    .service(resource("/network-faults/{id}/estimate").route(web::post().to(estimate)))
    .service(resource("/network-faults/{id}/link").route(web::post().to(link)))
    .service(resource("/network-faults/{id}/unlink").route(web::post().to(unlink)))
    .service(resource("/network-faults/{id}/restore").route(web::post().to(restore)))
    .service(resource("/network-faults/{id}/dismiss").route(web::post().to(dismiss)))
    .service(resource("/network-faults/{id}/crew").route(web::post().to(crew)))
    .service(resource("/network-faults/{id}/crew/ack").route(web::post().to(crew_ack)));
}

#[derive(Serialize)]
pub struct CircleDto {
    pub lat: f64,
    pub lon: f64,
    pub crs: &'static str,
    pub radius_m: f64,
}

/// A network fault as the API shows it.
#[derive(Serialize)]
pub struct FaultDto {
    pub id: String,
    pub region_id: String,
    pub district_id: Option<String>,
    /// The circle it covers across district borders.
    pub circle: Option<CircleDto>,
    pub cause: String,
    pub title: String,
    pub status: String,
    /// Calls linked to it.
    pub calls: i64,
    pub opened_by: String,
    pub opened_at: UtcInstant,
    pub confirmed_at: Option<UtcInstant>,
    pub confirmed_by: Option<String>,
    /// When the on-duty staff's first message about it was accepted.
    pub pushed_at: Option<UtcInstant>,
    /// Restoration as promised, and as the crew estimates it.
    pub promised_at: UtcInstant,
    pub estimate_at: Option<UtcInstant>,
    pub restored_at: Option<UtcInstant>,
    pub restore_on_time: Option<bool>,
    pub dismissed_at: Option<UtcInstant>,
    /// The staff's last message, and how many calls they had heard of by then.
    pub told_at: Option<UtcInstant>,
    pub told_calls: i32,
    /// The crew's lead and its own contact clock; null until a crew is assigned.
    pub crew: Option<CrewDto>,
}

#[derive(Serialize)]
pub struct CrewDto {
    pub lead_id: String,
    pub assigned_at: Option<UtcInstant>,
    pub ack_due_at: Option<UtcInstant>,
    pub acknowledged_at: Option<UtcInstant>,
    /// on_time, late, or null while it runs.
    pub outcome: Option<&'static str>,
}

#[derive(Serialize)]
struct ActorDto {
    kind: String,
    id: Option<String>,
}

/// One entry of a fault's own timeline.
#[derive(Serialize)]
struct FaultEventDto {
    at: UtcInstant,
    actor: ActorDto,
    kind: String,
    detail: serde_json::Value,
}

impl FaultDto {
    /// The fault with its linked calls counted now.
    fn of(conn: &mut crate::db::DbConn, f: FaultRow) -> diesel::QueryResult<Self> {
        let calls = faults::linked_count(conn, &f.id)?;
        Ok(FaultDto::new(f, calls))
    }

    fn new(f: FaultRow, calls: i64) -> Self {
        let u = |x: Option<chrono::NaiveDateTime>| x.map(UtcInstant);
        FaultDto {
            circle: match (f.lat, f.lon, f.radius_m) {
                (Some(lat), Some(lon), Some(radius_m)) => Some(CircleDto {
                    lat,
                    lon,
                    crs: "wgs84",
                    radius_m,
                }),
                _ => None,
            },
            id: f.id,
            region_id: f.region_id,
            district_id: f.district_id,
            cause: f.cause,
            title: f.title,
            status: f.status.as_str().to_string(),
            calls,
            opened_by: f.opened_by,
            opened_at: UtcInstant(f.opened_at),
            confirmed_at: u(f.confirmed_at),
            confirmed_by: f.confirmed_by,
            pushed_at: u(f.pushed_at),
            promised_at: UtcInstant(f.promised_at),
            estimate_at: u(f.estimate_at),
            restored_at: u(f.restored_at),
            restore_on_time: f.restore_on_time,
            dismissed_at: u(f.dismissed_at),
            told_at: u(f.told_at),
            told_calls: f.told_calls,
            crew: f.crew_lead_id.map(|lead_id| CrewDto {
                lead_id,
                assigned_at: u(f.crew_assigned_at),
                ack_due_at: u(f.crew_ack_due_at),
                acknowledged_at: u(f.crew_acknowledged_at),
                outcome: f
                    .crew_ack_on_time
                    .map(|on_time| if on_time { "on_time" } else { "late" }),
            }),
        }
    }
}

/// One linked call, as the fault's page lists it.
#[derive(Serialize)]
pub struct LinkedDto {
    pub id: String,
    pub status: String,
    pub district_id: Option<String>,
    pub address: String,
    pub fault_category: String,
    pub created_at: UtcInstant,
    pub resolved_at: Option<UtcInstant>,
}

impl From<TicketRow> for LinkedDto {
    fn from(t: TicketRow) -> Self {
        LinkedDto {
            id: t.id,
            status: t.status.as_str().to_string(),
            district_id: t.district_id,
            address: t.address,
            fault_category: t.fault_category,
            created_at: UtcInstant(t.created_at),
            resolved_at: t.resolved_at.map(UtcInstant),
        }
    }
}

#[derive(Serialize)]
struct DetailDto {
    #[serde(flatten)]
    fault: FaultDto,
    linked: Vec<LinkedDto>,
    events: Vec<FaultEventDto>,
}

/// A fault after an action that touched its calls, and how many it touched.
#[derive(Serialize)]
struct ActionDto {
    fault: FaultDto,
    tickets: usize,
}

#[derive(Serialize)]
struct ListDto {
    items: Vec<FaultDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// `open` (suspected and confirmed, the default), `all`, or one status.
    status: Option<String>,
    limit: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let statuses = match q.status.as_deref().unwrap_or("open") {
        "open" => vec![FaultStatus::Suspected, FaultStatus::Confirmed],
        "all" => Vec::new(),
        s => vec![FaultStatus::parse("status", s)?],
    };
    let filter = ListFilter {
        regions: caller.scope.filter().map(|r| r.to_vec()),
        statuses,
        limit: super::limit_param(q.limit, 100, 500)?,
    };
    let items = state
        .db
        .read(move |conn| -> ApiResult<Vec<FaultDto>> {
            let rows = faults::list(conn, &filter)?;
            let ids: Vec<String> = rows.iter().map(|f| f.id.clone()).collect();
            let counts = faults::linked_counts(conn, &ids)?;
            Ok(rows
                .into_iter()
                .map(|f| {
                    let n = counts.get(&f.id).copied().unwrap_or(0);
                    FaultDto::new(f, n)
                })
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListDto { items }))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let scope = caller.scope.clone();
    let (f, linked, events) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let f = super::extract::visible(faults::get(conn, &id)?, &scope, "network fault")?;
            let linked = faults::linked(conn, &f.id)?;
            let events = faults::events(conn, &f.id)?;
            Ok((FaultDto::new(f, linked.len() as i64), linked, events))
        })
        .await?;
    Ok(HttpResponse::Ok().json(DetailDto {
        fault: f,
        linked: linked.into_iter().map(LinkedDto::from).collect(),
        events: events
            .into_iter()
            .map(|e| FaultEventDto {
                at: UtcInstant(e.at),
                actor: ActorDto {
                    kind: e.actor_kind,
                    id: e.actor_id,
                },
                kind: e.kind,
                detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenIn {
    /// `reported` (a known outage) or `planned` (maintenance).
    cause: String,
    title: String,
    #[serde(default)]
    district_id: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    center: Option<LocationIn>,
    #[serde(default)]
    radius_m: Option<f64>,
    #[serde(default)]
    estimate_at: Option<String>,
    /// Link the open calls it explains now (default true).
    #[serde(default)]
    link_open: Option<bool>,
}

async fn open(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<OpenIn>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now_naive();
    let cause = Cause::parse("cause", &req.cause)?;
    if cause == Cause::Detected {
        return Err(Invalid::new("cause", "`detected` faults are opened by their calls").into());
    }
    let title = required_text("title", &req.title, 200)?;
    let circle = match (&req.center, req.radius_m) {
        (Some(c), Some(r)) => {
            if !(r.is_finite() && (10.0..=50_000.0).contains(&r)) {
                return Err(Invalid::new("radius_m", "must be from 10 to 50000").into());
            }
            let p = parse_point("center", c.lat, c.lon, c.crs.as_deref())?;
            Some(((p.lat, p.lon), r))
        }
        (Some(_), None) => return Err(Invalid::new("radius_m", "is needed with a center").into()),
        (None, Some(_)) => return Err(Invalid::new("center", "is needed with a radius").into()),
        (None, None) => None,
    };
    if circle.is_none() && req.district_id.is_none() {
        return Err(Invalid::new("district_id", "give a district, or a center and radius").into());
    }
    let estimate_at = req
        .estimate_at
        .as_deref()
        .map(|s| super::parse_instant("estimate_at", s))
        .transpose()?;
    if estimate_at.is_some_and(|e| e <= now) {
        return Err(Invalid::new("estimate_at", "must be in the future").into());
    }
    let who = acting(&caller);
    let cfg = state.flow.clone();
    let (f, n) = state
        .db
        .write(move |conn| -> ApiResult<_> {
            let region_id = match &req.district_id {
                Some(d) => {
                    let d = crate::store::districts::get(conn, d)?
                        .filter(|d| who.scope.allows(&d.region_id))
                        .ok_or_else(|| Invalid::new("district_id", "no such district"))?;
                    if req.region_id.as_ref().is_some_and(|r| *r != d.region_id) {
                        return Err(
                            Invalid::new("region_id", "is not the district's region").into()
                        );
                    }
                    d.region_id
                }
                None => req
                    .region_id
                    .clone()
                    .filter(|r| who.scope.allows(r))
                    .ok_or_else(|| Invalid::new("region_id", "name one of your regions"))?,
            };
            if crate::store::regions::get(conn, &region_id)?.is_none() {
                return Err(Invalid::new("region_id", "no such region").into());
            }
            let r = Reported {
                region_id,
                district_id: req.district_id.clone(),
                circle,
                cause,
                title,
                estimate_at,
                link_open: req.link_open.unwrap_or(true),
            };
            let (f, n) = storms::open(conn, &cfg, &r, &who.actor, now)?;
            Ok((FaultDto::of(conn, f)?, n))
        })
        .await?;
    state.kick();
    Ok(created(&ActionDto {
        fault: f,
        tickets: n,
    }))
}

/// Runs a fault action in a write transaction, again when the fault changed under it.
/// Answers the fault after it, and how many tickets it touched.
async fn act(
    state: &web::Data<AppState>,
    f: impl Fn(
            &mut crate::db::DbConn,
            &crate::flow::FlowConfig,
        ) -> crate::flow::FlowResult<(FaultRow, usize)>
        + Clone
        + Send
        + 'static,
) -> ApiResult<ActionDto> {
    let out = retry_changed(CHANGED_TRIES, || {
        let f = f.clone();
        let cfg = state.flow.clone();
        async move {
            state
                .db
                .write(move |conn| {
                    let (fault, tickets) = f(conn, &cfg)?;
                    Ok(ActionDto {
                        fault: FaultDto::of(conn, fault)?,
                        tickets,
                    })
                })
                .await
        }
    })
    .await?;
    state.kick();
    Ok(out)
}

/// A flow action on the fault alone, by the caller: answers the fault after it.
async fn on_fault(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    action: impl Fn(
            &mut crate::db::DbConn,
            &crate::flow::FlowConfig,
            &str,
            &crate::flow::actions::Acting,
            chrono::NaiveDateTime,
        ) -> crate::flow::FlowResult<FaultRow>
        + Clone
        + Send
        + 'static,
) -> ApiResult<HttpResponse> {
    let who = acting(&caller);
    let now = state.clock.now_naive();
    let id = id.into_inner();
    let done = act(&state, move |conn, cfg| {
        action(conn, cfg, &id, &who, now).map(|f| (f, 0))
    })
    .await?;
    Ok(HttpResponse::Ok().json(done.fault))
}

async fn confirm(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    on_fault(state, caller, id, |conn, cfg, id, who, now| {
        storms::confirm(conn, cfg, id, &who.actor, &who.scope, now)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EstimateIn {
    estimate_at: String,
}

async fn estimate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<EstimateIn>,
) -> ApiResult<HttpResponse> {
    let at = super::parse_instant("estimate_at", &req.estimate_at)?;
    on_fault(state, caller, id, move |conn, cfg, id, who, now| {
        storms::estimate(conn, cfg, id, at, &who.actor, &who.scope, now)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketsIn {
    ticket_ids: Vec<String>,
}

fn ticket_ids(req: TicketsIn) -> Result<Vec<String>, Invalid> {
    if req.ticket_ids.is_empty() || req.ticket_ids.len() > 1000 {
        return Err(Invalid::new("ticket_ids", "give 1 to 1000 ticket ids"));
    }
    Ok(req.ticket_ids)
}

/// A flow action on a fault's tickets: link or unlink.
type TicketsAction = fn(
    &mut crate::db::DbConn,
    &crate::flow::FlowConfig,
    &str,
    &[String],
    &crate::flow::Actor,
    &crate::domain::RegionScope,
    chrono::NaiveDateTime,
) -> crate::flow::FlowResult<(FaultRow, usize)>;

/// A flow action that ends a fault: restore or dismiss.
type EndAction = fn(
    &mut crate::db::DbConn,
    &crate::flow::FlowConfig,
    &str,
    &crate::flow::Actor,
    &crate::domain::RegionScope,
    chrono::NaiveDateTime,
) -> crate::flow::FlowResult<(FaultRow, usize)>;

async fn on_tickets(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: TicketsIn,
    action: TicketsAction,
) -> ApiResult<HttpResponse> {
    let ids = ticket_ids(req)?;
    let who = acting(&caller);
    let now = state.clock.now_naive();
    let id = id.into_inner();
    let done = act(&state, move |conn, cfg| {
        action(conn, cfg, &id, &ids, &who.actor, &who.scope, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(done))
}

async fn end(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    action: EndAction,
) -> ApiResult<HttpResponse> {
    let who = acting(&caller);
    let now = state.clock.now_naive();
    let id = id.into_inner();
    let done = act(&state, move |conn, cfg| {
        action(conn, cfg, &id, &who.actor, &who.scope, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(done))
}

async fn link(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<TicketsIn>,
) -> ApiResult<HttpResponse> {
    on_tickets(state, caller, id, req, storms::link).await
}

async fn unlink(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<TicketsIn>,
) -> ApiResult<HttpResponse> {
    on_tickets(state, caller, id, req, storms::unlink).await
}

async fn restore(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    end(state, caller, id, storms::restore).await
}

async fn dismiss(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    end(state, caller, id, storms::dismiss).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CrewIn {
    lead_id: String,
}

async fn crew(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<CrewIn>,
) -> ApiResult<HttpResponse> {
    on_fault(state, caller, id, move |conn, cfg, id, who, now| {
        storms::assign_crew(conn, cfg, id, &req.lead_id, &who.actor, &who.scope, now)
    })
    .await
}

async fn crew_ack(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    on_fault(state, caller, id, |conn, _, id, who, now| {
        storms::acknowledge_crew(conn, id, &who.actor, &who.scope, now)
    })
    .await
}
