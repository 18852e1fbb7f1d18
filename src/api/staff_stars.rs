//! Staff stars: managers appraise a person's month (skill, knowledge, attitude), and the
//! monthly report rates every technician from that and from fixline's own counts, with star
//! levels, reasons, and the top three and bottom three of each team and branch.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::reports::{
    csv_answer, csv_field, drill_items, month_param, wants_csv, DrillDownAnswer, DrillQuery,
    ReportQuery,
};
use super::state::AppState;
use super::{resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::period::Month;
use crate::domain::scoring::{check_score, round2, Metric};
use crate::domain::staff::Part;
use crate::domain::{new_id, RegionScope};
use crate::flow::province::{staff_month, Named, StaffLine, StaffReport as Staff};
use crate::store::org::{self, StaffAppraisalRow};
use crate::store::reports::Unit;
use crate::store::{assignments, branches, users};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/staff/{id}/appraisals").route(web::get().to(history)))
        .service(resource("/staff/{id}/appraisals/{month}").route(web::put().to(record)))
        .service(resource("/reports/five-star/staff").route(web::get().to(report)))
        .service(resource("/reports/five-star/staff/{id}/tickets").route(web::get().to(drill)));
}

#[derive(Serialize)]
struct AppraisalDto {
    id: String,
    user_id: String,
    month: String,
    skill: f64,
    knowledge: f64,
    attitude: f64,
    note: Option<String>,
    recorded_by: String,
    recorded_at: DateTime<Utc>,
}

impl From<&StaffAppraisalRow> for AppraisalDto {
    fn from(a: &StaffAppraisalRow) -> Self {
        AppraisalDto {
            id: a.id.clone(),
            user_id: a.user_id.clone(),
            month: a.month.clone(),
            skill: a.skill,
            knowledge: a.knowledge,
            attitude: a.attitude,
            note: a.note.clone(),
            recorded_by: a.recorded_by.clone(),
            recorded_at: utc(a.recorded_at),
        }
    }
}

/// The person, if the caller's scope holds one of their regions (404 otherwise).
fn visible_person(conn: &mut crate::db::DbConn, id: &str, scope: &RegionScope) -> ApiResult<()> {
    let user = users::get(conn, id)?.ok_or_else(|| ApiError::not_found("no such person"))?;
    let seen = matches!(scope, RegionScope::All) || user.region_ids.iter().any(|r| scope.allows(r));
    if !seen {
        return Err(ApiError::not_found("no such person"));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppraisalIn {
    skill: f64,
    knowledge: f64,
    attitude: f64,
    #[serde(default)]
    note: Option<String>,
}

/// Records a person's appraisal for a month; a later one replaces it in the report.
async fn record(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    JsonBody(req): JsonBody<AppraisalIn>,
) -> ApiResult<HttpResponse> {
    let by = caller.user_id()?.to_string();
    let (user_id, month) = path.into_inner();
    let month = Month::parse("month", &month)?;
    for (field, v) in [
        ("skill", req.skill),
        ("knowledge", req.knowledge),
        ("attitude", req.attitude),
    ] {
        check_score(field, v)?;
    }
    let row = StaffAppraisalRow {
        id: new_id(),
        user_id,
        month: month.to_string(),
        skill: req.skill,
        knowledge: req.knowledge,
        attitude: req.attitude,
        note: req
            .note
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        recorded_by: by,
        recorded_at: state.clock.now_naive(),
    };
    let scope = caller.scope.clone();
    let stored = row.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            visible_person(conn, &stored.user_id, &scope)?;
            org::insert_appraisal(conn, &stored)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(AppraisalDto::from(&row)))
}

async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let scope = caller.scope.clone();
    let rows = state
        .db
        .read(move |conn| -> ApiResult<_> {
            visible_person(conn, &id, &scope)?;
            Ok(org::appraisal_history(conn, &id)?)
        })
        .await?;
    Ok(super::items(rows.iter().map(AppraisalDto::from).collect()))
}

#[derive(Serialize)]
struct PartDto {
    /// Out of 100; null when there was nothing to judge.
    value: Option<f64>,
    weight: u32,
}

#[derive(Serialize)]
struct StaffDto {
    user_id: String,
    username: String,
    display_name: String,
    team_id: Option<String>,
    team_code: Option<String>,
    branch_id: Option<String>,
    score: Option<f64>,
    /// 1 to 5; 0 when unrated.
    stars: u8,
    parts: std::collections::BTreeMap<&'static str, PartDto>,
    volume: u64,
    complaints: u64,
    appraisal: Option<AppraisalDto>,
    reasons: Vec<String>,
}

impl From<&StaffLine> for StaffDto {
    fn from(l: &StaffLine) -> Self {
        StaffDto {
            user_id: l.user_id.clone(),
            username: l.username.clone(),
            display_name: l.display_name.clone(),
            team_id: l.team.as_ref().map(|t| t.id.clone()),
            team_code: l.team.as_ref().map(|t| t.code.clone()),
            branch_id: l.branch_id.clone(),
            score: l.rating.score,
            stars: l.rating.stars,
            parts: l
                .rating
                .components
                .iter()
                .map(|c| {
                    (
                        c.part.as_str(),
                        PartDto {
                            value: c.value.map(round2),
                            weight: c.weight,
                        },
                    )
                })
                .collect(),
            volume: l.month.volume,
            complaints: l.month.complaints,
            appraisal: l.appraisal.as_ref().map(AppraisalDto::from),
            reasons: l.rating.reasons.clone(),
        }
    }
}

#[derive(Serialize)]
struct NamedPerson {
    user_id: String,
    username: String,
    display_name: String,
    score: Option<f64>,
}

#[derive(Serialize)]
struct GroupDto {
    id: String,
    code: String,
    name: String,
    top: Vec<NamedPerson>,
    bottom: Vec<NamedPerson>,
}

#[derive(Serialize)]
struct StaffReport {
    month: String,
    timezone: String,
    items: Vec<StaffDto>,
    teams: Vec<GroupDto>,
    branches: Vec<GroupDto>,
}

/// Every technician in the caller's scope rated for the month, best first; each team's and
/// branch's top three and bottom three.
async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let csv = wants_csv(q.format.as_deref())?;
    let month = month_param(q.month.as_deref())?;
    let tz = state.config.tz;
    let scoring = state.config.scoring.clone();
    let rules = state.config.staff.clone();
    let (staff, all_branches) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            Ok((
                staff_month(conn, tz, &scoring, &rules, month)?,
                branches::list(conn)?,
            ))
        })
        .await?;
    let Staff {
        lines,
        teams,
        branches: by_branch,
    } = staff;
    let seen = |l: &StaffLine| {
        l.region_ids.iter().any(|r| caller.scope.allows(r))
            && q.region_id
                .as_ref()
                .is_none_or(|r| l.region_ids.contains(r))
    };
    let mut shown: Vec<&StaffLine> = lines.iter().filter(|l| seen(l)).collect();
    shown.sort_by(|a, b| {
        (a.rating.score.is_none(), b.rating.score, &a.username)
            .partial_cmp(&(b.rating.score.is_none(), a.rating.score, &b.username))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if csv {
        let mut out = String::from("username,display_name,team_code,score,stars");
        for p in Part::ALL {
            out.push(',');
            out.push_str(p.as_str());
        }
        out.push_str(",complaints\n");
        for l in &shown {
            let mut cells = vec![
                csv_field(&l.username),
                csv_field(&l.display_name),
                csv_field(l.team.as_ref().map_or("", |t| t.code.as_str())),
                l.rating.score.map_or("n/a".into(), |s| format!("{s:.2}")),
                l.rating.stars.to_string(),
            ];
            for c in &l.rating.components {
                cells.push(c.value.map_or("n/a".into(), |v| format!("{v:.2}")));
            }
            cells.push(l.month.complaints.to_string());
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        return Ok(csv_answer("five-star-staff", month, out));
    }
    let person = |i: &usize| {
        let l = &lines[*i];
        NamedPerson {
            user_id: l.user_id.clone(),
            username: l.username.clone(),
            display_name: l.display_name.clone(),
            score: l.rating.score,
        }
    };
    let group = |id: String, code: String, name: String, n: &Named| GroupDto {
        id,
        code,
        name,
        top: n.top.iter().map(person).collect(),
        bottom: n.bottom.iter().map(person).collect(),
    };
    let any_seen = |n: &Named| n.top.iter().chain(&n.bottom).any(|i| seen(&lines[*i]));
    Ok(HttpResponse::Ok().json(StaffReport {
        month: month.to_string(),
        timezone: tz.name().to_string(),
        items: shown.iter().map(|l| StaffDto::from(*l)).collect(),
        teams: teams
            .iter()
            .filter(|(_, n)| any_seen(n))
            .map(|(u, n)| group(u.id.clone(), u.code.clone(), u.name.clone(), n))
            .collect(),
        branches: by_branch
            .iter()
            .filter(|(_, n)| any_seen(n))
            .filter_map(|(id, n)| {
                let b = all_branches.iter().find(|b| &b.id == id)?;
                Some(group(b.id.clone(), b.code.clone(), b.name.clone(), n))
            })
            .collect(),
    }))
}

/// A holding behind a person's contact figure.
#[derive(Serialize)]
struct HoldingRow {
    ticket_id: String,
    assigned_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    done_at: Option<DateTime<Utc>>,
    outcome: &'static str,
    in_numerator: bool,
}

/// The rows behind one part of a person's rating: their holdings (`contact`), the tickets they
/// held (`arrival`, `install_timeliness`, `repair_timeliness`), the callbacks of tickets they
/// resolved (`satisfaction`) or the complaints naming them (`complaints`).
async fn drill(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<DrillQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.into_inner().read(state.config.tz, |m| match m {
        "complaints" => Ok(None),
        m => match Metric::parse("metric", m) {
            Ok(m @ (Metric::Contact | Metric::Arrival | Metric::Install | Metric::Repair | Metric::Satisfaction)) => Ok(Some(m)),
            _ => Err(ApiError::invalid(
                "metric",
                "must be contact, arrival, install_timeliness, repair_timeliness, satisfaction or complaints",
            )),
        },
    })?;
    let metric = page.metric;
    let user_id = id.into_inner();
    let d = page.of(Unit::Person(user_id.clone()));
    let scope = caller.scope.clone();
    let who = user_id.clone();
    let items = state
        .db
        .read(move |conn| -> ApiResult<Vec<serde_json::Value>> {
            visible_person(conn, &who, &scope)?;
            if metric == Some(Metric::Contact) {
                return Ok(
                    assignments::holdings(conn, &who, d.start, d.end, d.offset, d.limit)?
                        .into_iter()
                        .map(|a| {
                            let on_time = a.contact_on_time == Some(true);
                            serde_json::to_value(HoldingRow {
                                ticket_id: a.ticket_id,
                                assigned_at: utc(a.assigned_at),
                                due_at: utc(a.ack_due_at),
                                done_at: a.acknowledged_at.map(utc),
                                outcome: if on_time { "on_time" } else { "late" },
                                in_numerator: on_time,
                            })
                            .unwrap_or_default()
                        })
                        .collect(),
                );
            }
            drill_items(conn, metric, &d)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PersonDrill {
        user_id,
        answer: page.answer(None, items),
    }))
}

#[derive(Serialize)]
struct PersonDrill {
    user_id: String,
    #[serde(flatten)]
    answer: DrillDownAnswer,
}
