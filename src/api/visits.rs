//! Household visits (百人访百户): the questionnaire, recording a visit (a reported fault opens a
//! repair, a complaint opens a complaint), the visits made, and each person's month against the
//! target.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::reports::month_param;
use super::state::AppState;
use super::sync::{json_of, run_from_route, Done, TechAction};
use super::tickets::{parse_point, place, LocationIn};
use super::{resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::visit::Progress;
use crate::domain::{field_in, optional_text, required_text, PhoneNumber, RegionScope, Role};
use crate::flow::visits::NewVisit;
use crate::flow::FlowError;
use crate::store::tickets;
use crate::store::users::{self, UserFilter};
use crate::store::visits::{self, VisitFilter, VisitRow};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/visits")
            .route(web::post().to(record))
            .route(web::get().to(list)),
    )
    .service(resource("/visits/questionnaire").route(web::get().to(questionnaire)))
    .service(resource("/reports/visits").route(web::get().to(report)));
}

/// A visit as answered.
#[derive(Serialize)]
struct VisitDto {
    id: String,
    region_id: String,
    district_id: Option<String>,
    user_id: String,
    customer: Customer,
    address: String,
    location: Option<Location>,
    visited_at: DateTime<Utc>,
    answers: Value,
    ticket_id: Option<String>,
    complaint_id: Option<String>,
}

#[derive(Serialize)]
struct Customer {
    name: Option<String>,
    phone: String,
}

#[derive(Serialize)]
struct Location {
    lat: f64,
    lon: f64,
}

impl From<VisitRow> for VisitDto {
    fn from(v: VisitRow) -> Self {
        VisitDto {
            answers: serde_json::from_str(&v.answers).unwrap_or(Value::Object(Map::new())),
            location: v.lat.zip(v.lon).map(|(lat, lon)| Location { lat, lon }),
            id: v.id,
            region_id: v.region_id,
            district_id: v.district_id,
            user_id: v.user_id,
            customer: Customer {
                name: v.customer_name,
                phone: v.customer_phone,
            },
            address: v.address,
            visited_at: utc(v.visited_at),
            ticket_id: v.ticket_id,
            complaint_id: v.complaint_id,
        }
    }
}

async fn questionnaire(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(&state.config.visit_questionnaire)
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Reported {
    category: String,
    description: String,
}

/// A visit as `POST /visits` and an entry of `POST /me/sync` carry it.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VisitIn {
    #[serde(default)]
    customer_name: Option<String>,
    customer_phone: String,
    address: String,
    #[serde(default)]
    location: Option<LocationIn>,
    #[serde(default)]
    district_code: Option<String>,
    /// When the visit was made (the phone's clock); now when absent.
    #[serde(default)]
    visited_at: Option<String>,
    answers: Value,
    /// A fault the customer reported: opens a repair.
    #[serde(default)]
    fault: Option<Reported>,
    /// A complaint the customer made: opens a complaint.
    #[serde(default)]
    complaint: Option<Reported>,
}

fn reported(field: &str, r: &Option<Reported>) -> Result<Option<(String, String)>, ApiError> {
    r.as_ref()
        .map(|r| {
            Ok((
                required_text(&field_in(field, "category"), &r.category, 64)?,
                required_text(&field_in(field, "description"), &r.description, 1000)?,
            ))
        })
        .transpose()
}

impl VisitIn {
    /// The visit by the caller as an action run once per action id: checked and placed now,
    /// recorded when it runs. `prefix` names the entry in errors ("" for the route's body).
    pub(super) async fn action(
        self,
        state: &web::Data<AppState>,
        caller: &Caller,
        prefix: &str,
    ) -> ApiResult<TechAction> {
        let visitor = caller.user_id()?.to_string();
        let f = |name: &str| field_in(prefix, name);
        let now = state.clock.now_naive();
        let visited_at = self
            .visited_at
            .as_deref()
            .map(|s| super::parse_instant(&f("visited_at"), s))
            .transpose()?;
        // A phone's clock a little ahead of the server's counts as now; further is refused.
        if visited_at.is_some_and(|v| v > now + state.flow.device_time.skew) {
            return Err(ApiError::invalid(f("visited_at"), "is in the future"));
        }
        let new = NewVisit {
            customer_name: optional_text(&f("customer_name"), self.customer_name.as_deref(), 100)?,
            customer_phone: PhoneNumber::parse(&f("customer_phone"), &self.customer_phone)?,
            address: required_text(&f("address"), &self.address, 300)?,
            point: self
                .location
                .as_ref()
                .map(|l| parse_point(&f("location"), l.lat, l.lon, l.crs.as_deref()))
                .transpose()?,
            visited_at: visited_at.unwrap_or(now),
            answers: state
                .config
                .visit_questionnaire
                .check(&f("answers"), &self.answers)?,
            fault: reported(&f("fault"), &self.fault)?,
            complaint: reported(&f("complaint"), &self.complaint)?,
        };
        let placement = place(state, new.point, self.district_code.as_deref(), prefix).await?;
        let scope = caller.scope.clone();
        let body = serde_json::to_value(&self).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(TechAction {
            route: "/visits",
            ticket_id: None,
            body,
            device_at: None,
            work: Arc::new(move |conn, flow, when| {
                if !scope.allows(&placement.region_id) {
                    return Err(FlowError::Forbidden(
                        "the visited address is in a region outside your scope".into(),
                    ));
                }
                let mut new = new.clone();
                new.visited_at = visited_at.unwrap_or(when.received).min(when.received);
                let row = crate::flow::visits::record(
                    conn,
                    flow,
                    &new,
                    &placement,
                    &visitor,
                    when.received,
                )?;
                // A repair or a complaint it opened has its clocks running.
                let deadline = match (&row.ticket_id, &row.complaint_id) {
                    (Some(id), _) => tickets::get(conn, id)?.and_then(|t| t.next_deadline_at),
                    (None, Some(_)) => Some(when.received),
                    (None, None) => None,
                };
                Ok(Done {
                    status: 201,
                    body: json_of(&VisitDto::from(row))?,
                    deadline,
                })
            }),
        })
    }
}

/// Records a household visit by the caller, once per `Idempotency-Key` when one is sent.
async fn record(
    state: web::Data<AppState>,
    caller: Caller,
    http: HttpRequest,
    JsonBody(req): JsonBody<VisitIn>,
) -> ApiResult<HttpResponse> {
    let action = req.action(&state, &caller, "").await?;
    run_from_route(&state, &caller, &http, action).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    month: Option<String>,
    user_id: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

/// Whether the caller sees everyone's visits in their regions (else only their own).
fn oversees(caller: &Caller) -> bool {
    matches!(caller.role, Role::Admin | Role::Manager | Role::Dispatcher)
}

/// The visits of a month, latest first: a manager's or dispatcher's regions, anyone else's own.
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let month = month_param(q.month.as_deref())?;
    let limit = super::limit_param(q.limit, 100, 500)?;
    let offset = super::offset_param(q.offset)?;
    let user_id = if oversees(&caller) {
        q.user_id
    } else {
        Some(caller.user_id()?.to_string())
    };
    let filter = VisitFilter {
        regions: caller.scope.filter().map(|r| r.to_vec()),
        user_id,
        between: month.bounds(state.config.tz),
        offset,
        limit,
    };
    let rows = state
        .db
        .read(move |conn| visits::list(conn, &filter).map_err(ApiError::from))
        .await?;
    /// A month's visits, one page of them.
    #[derive(Serialize)]
    struct MonthPage {
        month: String,
        #[serde(flatten)]
        page: super::Page<VisitDto>,
    }
    Ok(HttpResponse::Ok().json(MonthPage {
        month: month.to_string(),
        page: super::Page {
            items: rows.into_iter().map(VisitDto::from).collect(),
            offset,
            limit,
        },
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    month: Option<String>,
}

/// One person's month of visits.
#[derive(Serialize)]
struct PersonVisits {
    user_id: String,
    username: String,
    display_name: String,
    role: Role,
    visits: u32,
    target: u32,
    /// Percent of the target, two decimals.
    percent: Option<f64>,
    met: bool,
    tickets_opened: u32,
    complaints_opened: u32,
}

#[derive(Serialize)]
struct VisitReport {
    month: String,
    target: u32,
    visits: u32,
    people: u32,
    met: u32,
    items: Vec<PersonVisits>,
}

/// Each person's visits in the month against the target: the field staff of the caller's
/// regions (technicians and account managers), and anyone else who made visits; most first.
async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let month = month_param(q.into_inner().month.as_deref())?;
    let (start, end) = month.bounds(state.config.tz);
    let target = state.config.visit_target;
    let scope = caller.scope.clone();
    let (people, counts) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let regions = scope.filter().map(|r| r.to_vec());
            let counts = visits::counts(conn, regions.as_deref(), start, end)?;
            let people: Vec<users::User> = users::list(
                conn,
                &UserFilter {
                    role: None,
                    region_id: None,
                },
            )?
            .into_iter()
            .filter(|u| {
                let in_scope = match &scope {
                    RegionScope::All => true,
                    RegionScope::Only(_) => u.region_ids.iter().any(|r| scope.allows(r)),
                };
                let field = u.active && matches!(u.role, Role::Technician | Role::AccountManager);
                in_scope && (field || counts.iter().any(|c| c.0 == u.id))
            })
            .collect();
            Ok((people, counts))
        })
        .await?;
    let mut items: Vec<PersonVisits> = people
        .into_iter()
        .map(|u| {
            let (n, t, c) = counts
                .iter()
                .find(|c| c.0 == u.id)
                .map_or((0, 0, 0), |c| (c.1 as u32, c.2 as u32, c.3 as u32));
            let p = Progress { visits: n, target };
            PersonVisits {
                percent: p.percent(),
                met: p.met(),
                user_id: u.id,
                username: u.username,
                display_name: u.display_name,
                role: u.role,
                visits: n,
                target,
                tickets_opened: t,
                complaints_opened: c,
            }
        })
        .collect();
    items.sort_by(|a, b| b.visits.cmp(&a.visits).then(a.username.cmp(&b.username)));
    Ok(HttpResponse::Ok().json(VisitReport {
        month: month.to_string(),
        target,
        visits: items.iter().map(|i| i.visits).sum(),
        people: items.len() as u32,
        met: items.iter().filter(|i| i.met).count() as u32,
        items,
    }))
}
