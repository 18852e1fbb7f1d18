//! What the console needs beside the board: who could take a ticket now, whether a call being
//! recorded may be a fault already open, and the staff of the caller's regions with their open
//! load and where each technician last was.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::instant::UtcInstant;
use super::state::AppState;
use super::tickets::{acting, parse_point, TicketDto};
use super::{resource, ApiError, ApiResult, Caller};
use crate::domain::duplicate::{Call, Likeness};
use crate::domain::{PhoneNumber, Role};
use crate::flow::actions::load_visible;
use crate::flow::{self, on_duty_staff, Suggestion};
use crate::store::users::{self, UserFilter};
use crate::store::{duty, regions, tickets};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/tickets/duplicates").route(web::get().to(duplicates)))
        .service(resource("/tickets/{id}/suggestions").route(web::get().to(suggestions)))
        .service(resource("/staff").route(web::get().to(staff)));
}

/// A technician suggested for a ticket.
#[derive(Serialize)]
pub struct SuggestionDto {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub open_tickets: i64,
    pub distance_m: Option<f64>,
    pub position_at: Option<UtcInstant>,
    /// They hold the ticket now.
    pub holder: bool,
}

impl From<Suggestion> for SuggestionDto {
    fn from(s: Suggestion) -> Self {
        SuggestionDto {
            user_id: s.user.id,
            username: s.user.username,
            display_name: s.user.display_name,
            phone: s.user.phone,
            open_tickets: s.open_tickets,
            distance_m: s.distance_m.map(|d| d.round()),
            position_at: s.position_at.map(UtcInstant),
            holder: s.holder,
        }
    }
}

/// The on-duty technicians of the ticket's region, best first, as routing would rank them.
async fn suggestions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (id, who) = (id.into_inner(), acting(&caller));
    let now = state.clock.now_naive();
    let cfg = state.flow.clone();
    let found = state
        .db
        .read(move |conn| -> ApiResult<Vec<Suggestion>> {
            let t = load_visible(conn, &id, &who)?;
            Ok(flow::suggestions(conn, &cfg, &t, now)?)
        })
        .await?;
    Ok(super::items(
        found.into_iter().map(SuggestionDto::from).collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffQuery {
    region_id: Option<String>,
    role: Option<String>,
}

/// A member of staff as the console shows them.
#[derive(Serialize)]
pub struct StaffDto {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub region_ids: Vec<String>,
    /// On a rota or override in one of their regions now.
    pub on_duty: bool,
    pub open_tickets: i64,
    pub position: Option<PositionDto>,
}

#[derive(Serialize)]
pub struct PositionDto {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub at: UtcInstant,
}

/// The active staff of the caller's regions (or of `region_id`), with who is on duty now.
async fn staff(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<StaffQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let role = q
        .role
        .as_deref()
        .map(|r| Role::parse("role", r))
        .transpose()?;
    if let Some(r) = &q.region_id {
        caller.require_region(r)?;
    }
    let scope = caller.scope.clone();
    let now = state.clock.now_naive();
    let cfg = state.flow.clone();
    let out = state
        .db
        .read(move |conn| -> ApiResult<Vec<StaffDto>> {
            let wanted: Vec<String> = match &q.region_id {
                Some(r) => vec![r.clone()],
                None => regions::list(conn, scope.filter())?
                    .into_iter()
                    .map(|r| r.id)
                    .collect(),
            };
            let people: Vec<users::User> = users::list(
                conn,
                &UserFilter {
                    role,
                    region_id: None,
                },
            )?
            .into_iter()
            .filter(|u| u.active && u.region_ids.iter().any(|r| wanted.contains(r)))
            .collect();
            let mut on_duty = std::collections::HashSet::new();
            for region in &wanted {
                let (managers, technicians) = on_duty_staff(conn, &cfg, region, now)?;
                on_duty.extend(managers.into_iter().chain(technicians).map(|u| u.id));
            }
            let ids: Vec<String> = people.iter().map(|u| u.id.clone()).collect();
            let counts = tickets::open_counts(conn, &ids)?;
            let positions = duty::positions(conn, &ids)?;
            Ok(people
                .into_iter()
                .map(|u| StaffDto {
                    on_duty: on_duty.contains(&u.id),
                    open_tickets: counts
                        .iter()
                        .find(|(id, _)| *id == u.id)
                        .map_or(0, |(_, n)| *n),
                    position: positions
                        .iter()
                        .find(|p| p.user_id == u.id)
                        .map(|p| PositionDto {
                            lat: p.lat,
                            lon: p.lon,
                            accuracy_m: p.accuracy_m,
                            at: UtcInstant(p.at),
                        }),
                    id: u.id,
                    username: u.username,
                    display_name: u.display_name,
                    phone: u.phone,
                    role: u.role,
                    region_ids: u.region_ids,
                })
                .collect())
        })
        .await?;
    Ok(super::items(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DuplicatesQuery {
    customer_phone: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    crs: Option<String>,
    /// How close counts as near (metres, 10 to 5,000; default 300).
    within_m: Option<f64>,
    /// How far back to look (hours, 1 to 168; default 24).
    hours: Option<i64>,
}

/// An open ticket that may be the same fault as the call being recorded.
#[derive(Serialize)]
pub struct DuplicateDto {
    /// `same_phone` or `near`.
    pub reason: &'static str,
    pub distance_m: Option<f64>,
    pub ticket: TicketDto,
}

/// Open tickets of the caller's regions from the same phone, or within `within_m` of the
/// point, recorded in the last `hours`: the call center's warning before saving a new call.
async fn duplicates(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<DuplicatesQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let phone = q
        .customer_phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| PhoneNumber::parse("customer_phone", p).map(|p| p.to_string()))
        .transpose()?;
    let point = match (q.lat, q.lon) {
        (Some(lat), Some(lon)) => Some(parse_point("", lat, lon, q.crs.as_deref())?),
        (None, None) => None,
        (Some(_), None) => return Err(ApiError::invalid("lon", "send lat and lon together")),
        (None, Some(_)) => return Err(ApiError::invalid("lat", "send lat and lon together")),
    };
    if phone.is_none() && point.is_none() {
        return Err(ApiError::invalid(
            "customer_phone",
            "send customer_phone, or lat and lon, or both",
        ));
    }
    let within_m = q.within_m.unwrap_or(300.0);
    if !(10.0..=5_000.0).contains(&within_m) {
        return Err(ApiError::invalid("within_m", "must be from 10 to 5000"));
    }
    let hours = q.hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(ApiError::invalid("hours", "must be from 1 to 168"));
    }
    let call = Call {
        phone,
        point: point.map(|p| (p.lat, p.lon)),
        within_m,
    };
    let now = state.clock.now_naive();
    let since = now - chrono::Duration::hours(hours);
    let scope = caller.scope.clone();
    let probe = call.clone();
    let rows = state
        .db
        .read(move |conn| {
            tickets::open_alike(
                conn,
                scope.filter(),
                since,
                probe.phone.as_deref(),
                probe.bbox(),
                MAX_DUPLICATES,
            )
            .map_err(ApiError::from)
        })
        .await?;
    let mut found: Vec<DuplicateDto> = rows
        .into_iter()
        .filter_map(|t| {
            let why = call.likeness(&t.customer_phone, t.lat.zip(t.lon))?;
            let (reason, distance_m) = match why {
                Likeness::SamePhone => ("same_phone", None),
                Likeness::Near(d) => ("near", Some(d.round())),
            };
            Some(DuplicateDto {
                reason,
                distance_m,
                ticket: TicketDto::new(t, now),
            })
        })
        .collect();
    found.truncate(MAX_DUPLICATES as usize);
    Ok(super::items(found))
}

/// Likely duplicates answered at most.
const MAX_DUPLICATES: i64 = 20;
