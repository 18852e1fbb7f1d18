//! On-duty rosters per region: weekly rotations, one-off overrides, and who is on duty now.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::AppState;
use super::{created, resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::duty::{on_duty, parse_clock_time, DutyRole, Rotation};
use crate::domain::{new_id, Role};
use crate::store::duty::{self, OverrideRow, RotationRow};
use crate::store::users;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/regions/{id}/on-duty").route(web::get().to(who_is_on_duty)))
        .service(
            resource("/regions/{id}/duty/rotations")
                .route(web::get().to(list_rotations))
                .route(web::post().to(add_rotations)),
        )
        .service(
            resource("/regions/{id}/duty/rotations/{rotation_id}")
                .route(web::delete().to(delete_rotation)),
        )
        .service(resource("/regions/{id}/duty/overrides").route(web::post().to(add_override)));
}

#[derive(Deserialize)]
struct AtQuery {
    at: Option<String>,
}

/// Someone on duty at the asked instant.
#[derive(Serialize)]
struct OnDutyDto {
    user_id: String,
    username: String,
    display_name: String,
    phone: Option<String>,
    duty_role: DutyRole,
    active: bool,
}

#[derive(Serialize)]
struct OnDutyAnswer {
    at: DateTime<Utc>,
    on_duty: Vec<OnDutyDto>,
}

/// A dated exception to the rotations.
#[derive(Serialize)]
struct OverrideDto {
    id: String,
    user_id: String,
    role: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    on_duty: bool,
    note: Option<String>,
}

async fn who_is_on_duty(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<AtQuery>,
) -> ApiResult<HttpResponse> {
    let region_id = id.into_inner();
    caller.require_region(&region_id)?;
    let at = match q.into_inner().at {
        None => state.clock.now(),
        Some(s) => super::instant("at", &s)?,
    };
    let tz = state.flow.tz;
    let people = state
        .db
        .read(move |conn| -> ApiResult<Vec<OnDutyDto>> {
            let (rotations, overrides) = duty::roster(conn, &region_id, at.naive_utc())?;
            let mut out = Vec::new();
            for (user_id, role) in on_duty(&rotations, &overrides, at, tz) {
                if let Some(u) = users::find_row(conn, &user_id)? {
                    out.push(OnDutyDto {
                        user_id: u.id,
                        username: u.username,
                        display_name: u.display_name,
                        phone: u.phone,
                        duty_role: role,
                        active: u.active,
                    });
                }
            }
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OnDutyAnswer {
        at,
        on_duty: people,
    }))
}

#[derive(Serialize)]
struct RotationDto {
    id: String,
    user_id: String,
    role: String,
    weekday: i32,
    start: String,
    end: String,
    created_at: DateTime<Utc>,
}

fn clock_time(m: i32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl From<RotationRow> for RotationDto {
    fn from(r: RotationRow) -> Self {
        RotationDto {
            start: clock_time(r.start_minute),
            end: clock_time(r.end_minute),
            id: r.id,
            user_id: r.user_id,
            role: r.role,
            weekday: r.weekday,
            created_at: utc(r.created_at),
        }
    }
}

async fn list_rotations(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let region_id = id.into_inner();
    caller.require_region(&region_id)?;
    let rows = state
        .db
        .read(move |conn| duty::rotations(conn, &region_id).map_err(ApiError::from))
        .await?;
    let items: Vec<RotationDto> = rows.into_iter().map(RotationDto::from).collect();
    Ok(super::items(items))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationIn {
    user_id: String,
    role: String,
    /// 1 = Monday .. 7 = Sunday; several at once.
    weekdays: Vec<i32>,
    /// Local "HH:MM".
    start: String,
    /// Local "HH:MM" ("24:00" for midnight); at or before `start` runs past midnight.
    end: String,
}

/// Checks the person may hold this duty in this region.
fn check_person(
    conn: &mut crate::db::DbConn,
    region_id: &str,
    user_id: &str,
    role: DutyRole,
) -> ApiResult<()> {
    let u = users::get(conn, user_id)?
        .ok_or_else(|| ApiError::invalid("user_id", format!("no user has id {user_id}")))?;
    let expected = match role {
        DutyRole::Technician => Role::Technician,
        DutyRole::AccountManager => Role::AccountManager,
    };
    if u.role != expected {
        return Err(ApiError::invalid(
            "role",
            format!("{} is a {}, not a {}", u.username, u.role, role.as_str()),
        ));
    }
    if !u.region_ids.iter().any(|r| r == region_id) {
        return Err(ApiError::invalid(
            "user_id",
            format!("{} does not work in this region", u.username),
        ));
    }
    Ok(())
}

async fn add_rotations(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<RotationIn>,
) -> ApiResult<HttpResponse> {
    let region_id = id.into_inner();
    caller.require_region(&region_id)?;
    let role = DutyRole::parse("role", &req.role)?;
    let start = parse_clock_time("start", &req.start)?;
    let end = parse_clock_time("end", &req.end)?;
    if req.weekdays.is_empty() || req.weekdays.len() > 7 {
        return Err(ApiError::invalid(
            "weekdays",
            "name one to seven days, 1 (Monday) to 7 (Sunday)",
        ));
    }
    let mut days = req.weekdays.clone();
    days.sort_unstable();
    days.dedup();
    if days.len() != req.weekdays.len() {
        return Err(ApiError::invalid("weekdays", "names a day twice"));
    }
    for wd in &req.weekdays {
        Rotation::check(*wd, start, end).map_err(|e| {
            if e.field == "weekday" {
                ApiError::invalid("weekdays", e.message)
            } else {
                e.into()
            }
        })?;
    }
    let now = state.clock.now_naive();
    let rows: Vec<RotationRow> = req
        .weekdays
        .iter()
        .map(|wd| RotationRow {
            id: new_id(),
            region_id: region_id.clone(),
            user_id: req.user_id.clone(),
            role: role.as_str().into(),
            weekday: *wd,
            start_minute: start,
            end_minute: end,
            created_at: now,
        })
        .collect();
    let stored = rows.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            check_person(conn, &region_id, &req.user_id, role)?;
            duty::insert_rotations(conn, &stored)?;
            Ok(())
        })
        .await?;
    let items: Vec<RotationDto> = rows.into_iter().map(RotationDto::from).collect();
    Ok(created(&super::Items { items }))
}

async fn delete_rotation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (region_id, rotation_id) = path.into_inner();
    caller.require_region(&region_id)?;
    let n = state
        .db
        .write(move |conn| {
            duty::delete_rotation(conn, &region_id, &rotation_id).map_err(ApiError::from)
        })
        .await?;
    if n == 0 {
        return Err(ApiError::not_found("no such rotation in this region"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideIn {
    user_id: String,
    role: String,
    starts_at: String,
    ends_at: String,
    on_duty: bool,
    #[serde(default)]
    note: Option<String>,
}

async fn add_override(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<OverrideIn>,
) -> ApiResult<HttpResponse> {
    let region_id = id.into_inner();
    caller.require_region(&region_id)?;
    let role = DutyRole::parse("role", &req.role)?;
    let starts = super::parse_instant("starts_at", &req.starts_at)?;
    let ends = super::parse_instant("ends_at", &req.ends_at)?;
    if ends <= starts {
        return Err(ApiError::invalid("ends_at", "must be after starts_at"));
    }
    let row = OverrideRow {
        id: new_id(),
        region_id: region_id.clone(),
        user_id: req.user_id.clone(),
        role: role.as_str().into(),
        starts_at: starts,
        ends_at: ends,
        on_duty: req.on_duty,
        note: crate::domain::optional_text("note", req.note.as_deref(), 500)?,
        created_at: state.clock.now_naive(),
    };
    let stored = row.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            check_person(conn, &region_id, &stored.user_id, role)?;
            duty::insert_override(conn, &stored)?;
            Ok(())
        })
        .await?;
    Ok(created(&OverrideDto {
        id: row.id,
        user_id: row.user_id,
        role: row.role,
        starts_at: utc(row.starts_at),
        ends_at: utc(row.ends_at),
        on_duty: row.on_duty,
        note: row.note,
    }))
}
