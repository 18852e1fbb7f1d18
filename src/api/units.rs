//! A branch's organisation: teams, sections, the leadership, call-center teams and business
//! halls, with their heads and members (admins, by JSON or one CSV), and the monthly figures
//! imported for call-center teams and halls (managers).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::csv_table::{read_csv, source_param, CsvLine};
use super::extract::CsvBody;
use super::state::AppState;
use super::{created, resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::db::DbConn;
use crate::domain::org::{check_parent, UnitKind};
use crate::domain::period::Month;
use crate::domain::scoring::check_score;
use crate::domain::{new_id, required_text, Code};
use crate::store::org::{self, UnitFiguresRow, UnitRow};
use crate::store::{branches, users};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/units")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/units/import").route(web::post().to(import_units)))
    .service(resource("/units/figures/import").route(web::post().to(import_figures)))
    .service(
        resource("/units/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(
        resource("/units/{id}/members/{user_id}")
            .route(web::put().to(add_member))
            .route(web::delete().to(remove_member)),
    )
    .service(resource("/units/{id}/figures").route(web::get().to(figures_history)))
    .service(resource("/units/{id}/brief").route(web::get().to(brief)))
    .service(resource("/units/{id}/figures/{month}").route(web::put().to(record_figures)));
}

#[derive(Serialize)]
struct UnitDto {
    id: String,
    branch_id: String,
    kind: UnitKind,
    code: String,
    name: String,
    parent_id: Option<String>,
    head_user_id: Option<String>,
    member_ids: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UnitDto {
    fn new(u: UnitRow, member_ids: Vec<String>) -> Self {
        UnitDto {
            id: u.id,
            branch_id: u.branch_id,
            kind: u.kind,
            code: u.code,
            name: u.name,
            parent_id: u.parent_id,
            head_user_id: u.head_user_id,
            member_ids,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        }
    }
}

/// The unit and its members, or 404.
fn load(conn: &mut DbConn, id: &str) -> ApiResult<UnitDto> {
    let u = org::get(conn, id)?.ok_or_else(|| ApiError::not_found("no such unit"))?;
    let members = org::members(conn, id)?;
    Ok(UnitDto::new(u, members))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    branch_id: Option<String>,
    kind: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    _caller: Caller,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let kind = q
        .kind
        .as_deref()
        .map(|k| UnitKind::parse("kind", k))
        .transpose()?;
    let items = state
        .db
        .read(move |conn| -> ApiResult<Vec<UnitDto>> {
            let teams = org::teams(conn)?;
            Ok(org::list(conn)?
                .into_iter()
                .filter(|u| q.branch_id.as_ref().is_none_or(|b| *b == u.branch_id))
                .filter(|u| kind.is_none_or(|k| k == u.kind))
                .map(|u| {
                    let mut members: Vec<String> = teams
                        .iter()
                        .filter(|(_, unit)| **unit == u.id)
                        .map(|(user, _)| user.clone())
                        .collect();
                    members.sort();
                    UnitDto::new(u, members)
                })
                .collect())
        })
        .await?;
    Ok(super::items(items))
}

async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let dto = state.db.read(move |conn| load(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// Checks a unit's place: its parent is of the kind above it and in the same branch, and its
/// head is a user. `field` prefixes the fields named in errors (a CSV line).
fn check_place(conn: &mut DbConn, u: &UnitRow, field: &str) -> ApiResult<()> {
    let kind = u.kind;
    let parent = match &u.parent_id {
        None => None,
        Some(p) => {
            let parent = org::get(conn, p)?
                .ok_or_else(|| ApiError::invalid(format!("{field}parent_id"), "no such unit"))?;
            if parent.branch_id != u.branch_id {
                return Err(ApiError::invalid(
                    format!("{field}parent_id"),
                    "the parent unit is in another branch",
                ));
            }
            if parent.id == u.id {
                return Err(ApiError::invalid(
                    format!("{field}parent_id"),
                    "a unit cannot sit under itself",
                ));
            }
            Some(parent.kind)
        }
    };
    check_parent(kind, parent)
        .map_err(|e| ApiError::invalid(format!("{field}{}", e.field), e.message))?;
    if let Some(head) = &u.head_user_id {
        if users::find_row(conn, head)?.is_none() {
            return Err(ApiError::invalid(
                format!("{field}head_user_id"),
                "no such user",
            ));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUnit {
    branch_id: String,
    kind: String,
    code: String,
    name: String,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    head_user_id: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    _caller: Caller,
    JsonBody(req): JsonBody<NewUnit>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now_naive();
    let row = UnitRow {
        id: new_id(),
        branch_id: req.branch_id,
        kind: UnitKind::parse("kind", &req.kind)?,
        code: Code::parse("code", &req.code)?.into_string(),
        name: required_text("name", &req.name, 100)?,
        parent_id: req.parent_id,
        head_user_id: req.head_user_id,
        created_at: now,
        updated_at: now,
    };
    let dto = state
        .db
        .write(move |conn| -> ApiResult<UnitDto> {
            if branches::get(conn, &row.branch_id)?.is_none() {
                return Err(ApiError::invalid("branch_id", "no such branch"));
            }
            if org::find_by_code(conn, &row.code)?.is_some() {
                return Err(
                    ApiError::conflict(format!("unit code {} is taken", row.code))
                        .with_field("code"),
                );
            }
            check_place(conn, &row, "")?;
            org::insert(conn, &row)?;
            Ok(UnitDto::new(row, Vec::new()))
        })
        .await?;
    Ok(created(&dto))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitPatch {
    /// Absent: unchanged; null is refused (a name cannot be removed).
    #[serde(default, deserialize_with = "super::double_option")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    parent_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    head_user_id: Option<Option<String>>,
}

async fn update(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<UnitPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let name = match req.name {
        None => None,
        Some(None) => return Err(ApiError::invalid("name", "must not be null")),
        Some(Some(n)) => Some(required_text("name", &n, 100)?),
    };
    let now = state.clock.now_naive();
    let dto = state
        .db
        .write(move |conn| -> ApiResult<UnitDto> {
            let mut u = org::get(conn, &id)?.ok_or_else(|| ApiError::not_found("no such unit"))?;
            if let Some(n) = name {
                u.name = n;
            }
            if let Some(p) = req.parent_id {
                u.parent_id = p;
            }
            if let Some(h) = req.head_user_id {
                u.head_user_id = h;
            }
            u.updated_at = now;
            check_place(conn, &u, "")?;
            org::update(conn, &u)?;
            load(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

async fn delete(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            load(conn, &id)?;
            let (children, members, figures) = org::references(conn, &id)?;
            if children + members + figures > 0 {
                return Err(ApiError::conflict(format!(
                    "the unit still has {children} units under it, {members} members and {figures} imported months"
                )));
            }
            org::delete(conn, &id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Puts `user` in `unit` (a unit that has members), out of any other team.
fn join(conn: &mut DbConn, unit: &UnitRow, user_id: &str, field: &str) -> ApiResult<()> {
    let kind = unit.kind;
    if !kind.has_members() {
        return Err(ApiError::invalid(
            field,
            format!(
                "a {} is led, not staffed: add people to its teams",
                kind.as_str()
            ),
        ));
    }
    if users::find_row(conn, user_id)?.is_none() {
        return Err(ApiError::invalid(field, "no such user"));
    }
    org::set_member(conn, user_id, &unit.id)?;
    Ok(())
}

/// Adds a person to the unit, out of any other team.
async fn add_member(
    state: web::Data<AppState>,
    _caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, user_id) = path.into_inner();
    let dto = state
        .db
        .write(move |conn| -> ApiResult<UnitDto> {
            let unit = org::get(conn, &id)?.ok_or_else(|| ApiError::not_found("no such unit"))?;
            join(conn, &unit, &user_id, "user_id")?;
            load(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

async fn remove_member(
    state: web::Data<AppState>,
    _caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, user_id) = path.into_inner();
    let dto = state
        .db
        .write(move |conn| -> ApiResult<UnitDto> {
            load(conn, &id)?;
            if org::remove_member(conn, &id, &user_id)? == 0 {
                return Err(ApiError::not_found("this person is not in the unit"));
            }
            load(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

const UNIT_COLUMNS: [&str; 7] = [
    "kind",
    "code",
    "name",
    "branch_code",
    "parent_code",
    "head_username",
    "members",
];

#[derive(Serialize)]
struct UnitImport {
    created: Vec<String>,
    updated: Vec<String>,
}

/// One CSV line of the organisation as a unit row, with its members' ids.
fn unit_line(
    conn: &mut DbConn,
    line: &CsvLine,
    now: chrono::NaiveDateTime,
) -> ApiResult<(UnitRow, bool, Vec<String>)> {
    let at = |c: &str| line.at(c);
    let code = Code::parse(&at("code"), line.cell("code"))?.into_string();
    let branch = branches::find_by_code(conn, line.cell("branch_code"))?.ok_or_else(|| {
        ApiError::invalid(
            at("branch_code"),
            format!("no branch has the code `{}`", line.cell("branch_code")),
        )
    })?;
    let parent_id = match line.cell("parent_code") {
        "" => None,
        p => Some(
            org::find_by_code(conn, p)?
                .ok_or_else(|| {
                    ApiError::invalid(
                        at("parent_code"),
                        format!("no unit has the code `{p}` (a parent comes on an earlier line)"),
                    )
                })?
                .id,
        ),
    };
    let user = |conn: &mut DbConn, name: &str, col: &str| -> ApiResult<String> {
        users::find_by_username(conn, name)?
            .map(|u| u.id)
            .ok_or_else(|| ApiError::invalid(at(col), format!("no user is called `{name}`")))
    };
    let head_user_id = match line.cell("head_username") {
        "" => None,
        h => Some(user(conn, h, "head_username")?),
    };
    let mut members = Vec::new();
    for name in line.cell("members").split_whitespace() {
        members.push(user(conn, name, "members")?);
    }
    let existing = org::find_by_code(conn, &code)?;
    let row = UnitRow {
        id: existing.as_ref().map_or_else(new_id, |u| u.id.clone()),
        branch_id: branch.id,
        kind: UnitKind::parse(&at("kind"), line.cell("kind"))?,
        code,
        name: required_text(&at("name"), line.cell("name"), 100)?,
        parent_id,
        head_user_id,
        created_at: existing.as_ref().map_or(now, |u| u.created_at),
        updated_at: now,
    };
    Ok((row, existing.is_some(), members))
}

/// Imports the organisation from one CSV, a unit per line, parents before their children;
/// an existing code is updated. All lines or none.
async fn import_units(
    state: web::Data<AppState>,
    _caller: Caller,
    CsvBody(text): CsvBody,
) -> ApiResult<HttpResponse> {
    let lines = read_csv(
        &text,
        &["kind", "code", "name", "branch_code"],
        &UNIT_COLUMNS,
    )?;
    let now = state.clock.now_naive();
    let summary = state
        .db
        .write(move |conn| -> ApiResult<UnitImport> {
            let mut summary = UnitImport {
                created: Vec::new(),
                updated: Vec::new(),
            };
            for line in &lines {
                let (row, existed, members) = unit_line(conn, line, now)?;
                let prefix = format!("line {}: ", line.number);
                check_place(conn, &row, &prefix)?;
                if existed {
                    org::update(conn, &row)?;
                    summary.updated.push(row.code.clone());
                } else {
                    if summary.created.contains(&row.code) {
                        return Err(ApiError::invalid(
                            line.at("code"),
                            "is on an earlier line too",
                        ));
                    }
                    org::insert(conn, &row)?;
                    summary.created.push(row.code.clone());
                }
                for m in &members {
                    join(conn, &row, m, &line.at("members"))?;
                }
            }
            Ok(summary)
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// A call-center team's or hall's imported month.
#[derive(Serialize)]
pub(super) struct UnitFiguresDto {
    id: String,
    unit_id: String,
    month: String,
    kpi: Option<f64>,
    appraisal: Option<f64>,
    calls: Option<i64>,
    service_complaints: Option<i64>,
    government_upheld: Option<i64>,
    inspection_met: Option<bool>,
    callback_met: Option<bool>,
    source: String,
    imported_by: String,
    imported_at: DateTime<Utc>,
}

impl From<&UnitFiguresRow> for UnitFiguresDto {
    fn from(f: &UnitFiguresRow) -> Self {
        UnitFiguresDto {
            id: f.id.clone(),
            unit_id: f.unit_id.clone(),
            month: f.month.clone(),
            kpi: f.kpi,
            appraisal: f.appraisal,
            calls: f.calls,
            service_complaints: f.service_complaints,
            government_upheld: f.government_upheld,
            inspection_met: f.inspection_met,
            callback_met: f.callback_met,
            source: f.source.clone(),
            imported_by: f.imported_by.clone(),
            imported_at: utc(f.imported_at),
        }
    }
}

/// The figures a unit of each kind takes: a call-center team its KPI, calls and complaints; a
/// hall its KPI, service appraisal, complaints and last quarter's results.
fn check_figures(kind: UnitKind, f: &UnitFiguresRow, prefix: &str) -> ApiResult<()> {
    let field = |name: &str| format!("{prefix}{name}");
    for (name, v) in [("kpi", f.kpi), ("appraisal", f.appraisal)] {
        if let Some(v) = v {
            check_score(&field(name), v)?;
        }
    }
    for (name, v) in [
        ("calls", f.calls),
        ("service_complaints", f.service_complaints),
        ("government_upheld", f.government_upheld),
    ] {
        if v.is_some_and(|v| v < 0) {
            return Err(ApiError::invalid(field(name), "must not be negative"));
        }
    }
    let not_for = |name: &str| {
        Err(ApiError::invalid(
            field(name),
            format!("a {} has no {name}", kind.as_str()),
        ))
    };
    match kind {
        UnitKind::CallCenterTeam => {
            if f.appraisal.is_some() {
                return not_for("appraisal");
            }
            if f.inspection_met.is_some() {
                return not_for("inspection_met");
            }
            if f.callback_met.is_some() {
                return not_for("callback_met");
            }
        }
        UnitKind::Hall => {
            if f.calls.is_some() {
                return not_for("calls");
            }
        }
        other => {
            return Err(ApiError::invalid(
                field("unit"),
                format!(
                    "figures are imported for call-center teams and halls, not a {}",
                    other.as_str()
                ),
            ))
        }
    }
    if f.calls
        .is_some_and(|c| f.service_complaints.is_some_and(|s| s > c))
    {
        return Err(ApiError::invalid(
            field("service_complaints"),
            "cannot exceed the calls handled",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitFiguresInput {
    source: String,
    kpi: Option<f64>,
    appraisal: Option<f64>,
    calls: Option<i64>,
    service_complaints: Option<i64>,
    government_upheld: Option<i64>,
    inspection_met: Option<bool>,
    callback_met: Option<bool>,
}

/// Records a unit's figures for a month; the latest import of a month counts.
async fn record_figures(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    JsonBody(req): JsonBody<UnitFiguresInput>,
) -> ApiResult<HttpResponse> {
    let user = caller.user_id()?.to_string();
    let (unit_id, month) = path.into_inner();
    let month = Month::parse("month", &month)?;
    let row = UnitFiguresRow {
        id: new_id(),
        unit_id,
        month: month.to_string(),
        kpi: req.kpi,
        appraisal: req.appraisal,
        calls: req.calls,
        service_complaints: req.service_complaints,
        government_upheld: req.government_upheld,
        inspection_met: req.inspection_met,
        callback_met: req.callback_met,
        source: required_text("source", &req.source, 200)?,
        imported_by: user,
        imported_at: state.clock.now_naive(),
    };
    let stored = row.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            let unit = org::get(conn, &stored.unit_id)?
                .ok_or_else(|| ApiError::not_found("no such unit"))?;
            check_figures(unit.kind, &stored, "")?;
            org::insert_figures(conn, &stored)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(UnitFiguresDto::from(&row)))
}

async fn figures_history(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let rows = state
        .db
        .read(move |conn| -> ApiResult<_> {
            load(conn, &id)?;
            Ok(org::figures_history(conn, &id)?)
        })
        .await?;
    Ok(super::items(
        rows.iter().map(UnitFiguresDto::from).collect(),
    ))
}

const FIGURE_COLUMNS: [&str; 9] = [
    "month",
    "unit_code",
    "kpi",
    "appraisal",
    "calls",
    "service_complaints",
    "government_upheld",
    "inspection_met",
    "callback_met",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    source: Option<String>,
}

#[derive(Serialize)]
struct FiguresImport {
    imported: usize,
    items: Vec<UnitFiguresDto>,
}

/// One CSV line of unit figures.
fn figures_line(
    conn: &mut DbConn,
    line: &CsvLine,
    source: &str,
    user: &str,
    now: chrono::NaiveDateTime,
) -> ApiResult<UnitFiguresRow> {
    let at = |c: &str| line.at(c);
    let month = Month::parse(&at("month"), line.cell("month"))?;
    let code = line.cell("unit_code");
    let unit = org::find_by_code(conn, code)?.ok_or_else(|| {
        ApiError::invalid(at("unit_code"), format!("no unit has the code `{code}`"))
    })?;
    let flag = |c: &str| -> ApiResult<Option<bool>> {
        match line.cell(c).to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "yes" | "true" | "1" | "是" => Ok(Some(true)),
            "no" | "false" | "0" | "否" => Ok(Some(false)),
            v => Err(ApiError::invalid(at(c), format!("`{v}` is not yes or no"))),
        }
    };
    let row = UnitFiguresRow {
        id: new_id(),
        unit_id: unit.id.clone(),
        month: month.to_string(),
        kpi: line.parsed("kpi", "a number")?,
        appraisal: line.parsed("appraisal", "a number")?,
        calls: line.parsed("calls", "a whole number")?,
        service_complaints: line.parsed("service_complaints", "a whole number")?,
        government_upheld: line.parsed("government_upheld", "a whole number")?,
        inspection_met: flag("inspection_met")?,
        callback_met: flag("callback_met")?,
        source: source.to_string(),
        imported_by: user.to_string(),
        imported_at: now,
    };
    check_figures(unit.kind, &row, &format!("line {}: ", line.number))?;
    Ok(row)
}

/// Imports call-center teams' and halls' figures from a CSV; all lines or none.
async fn import_figures(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ImportQuery>,
    CsvBody(text): CsvBody,
) -> ApiResult<HttpResponse> {
    let user = caller.user_id()?.to_string();
    let source = source_param(q.into_inner().source.as_deref())?;
    let lines = read_csv(&text, &["month", "unit_code"], &FIGURE_COLUMNS)?;
    let now = state.clock.now_naive();
    let rows = state
        .db
        .write(move |conn| -> ApiResult<Vec<UnitFiguresRow>> {
            let mut rows: Vec<UnitFiguresRow> = Vec::new();
            for line in &lines {
                let row = figures_line(conn, line, &source, &user, now)?;
                if rows
                    .iter()
                    .any(|r| r.unit_id == row.unit_id && r.month == row.month)
                {
                    return Err(ApiError::invalid(
                        line.at("unit_code"),
                        "this unit and month are on an earlier line too",
                    ));
                }
                rows.push(row);
            }
            for r in &rows {
                org::insert_figures(conn, r)?;
            }
            Ok(rows)
        })
        .await?;
    Ok(HttpResponse::Ok().json(FiguresImport {
        imported: rows.len(),
        items: rows.iter().map(UnitFiguresDto::from).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BriefQuery {
    /// The day reviewed, `YYYY-MM-DD` local; yesterday by default.
    date: Option<String>,
}

#[derive(Serialize)]
struct BriefTicket {
    ticket_id: String,
    external_ref: Option<String>,
    kind: crate::domain::ticket::TicketKind,
    status: crate::domain::ticket::Status,
    assignee_id: Option<String>,
    address: String,
    created_at: DateTime<Utc>,
    appointment_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    /// For a late stage: which.
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<&'static str>,
}

fn brief_ticket(t: &crate::store::tickets::TicketRow, stage: Option<&'static str>) -> BriefTicket {
    BriefTicket {
        ticket_id: t.id.clone(),
        external_ref: t.external_ref.clone(),
        kind: t.kind,
        status: t.status,
        assignee_id: t.assignee_id.clone(),
        address: t.address.clone(),
        created_at: utc(t.created_at),
        appointment_at: t.appointment_at.map(utc),
        resolved_at: t.resolved_at.map(utc),
        stage,
    }
}

#[derive(Serialize)]
struct BriefDto<'a> {
    unit_id: String,
    date: String,
    member_ids: Vec<String>,
    recorded: Vec<BriefTicket>,
    resolved: Vec<BriefTicket>,
    late: Vec<BriefTicket>,
    complaints: Vec<super::complaints::ComplaintDto<'a>>,
    appointments: Vec<BriefTicket>,
    /// The one short message for the team leader.
    text: String,
}

/// A team's morning brief: the day before's tickets, late stages and complaints of its
/// members, and today's appointments.
async fn brief(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
    q: web::Query<BriefQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let tz = state.config.tz;
    let day = match q.into_inner().date {
        Some(d) => chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::invalid("date", format!("`{d}` is not a date (YYYY-MM-DD)")))?,
        None => crate::domain::period::local_day(tz, state.clock.now_naive())
            .pred_opt()
            .unwrap_or_default(),
    };
    let b = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let unit = org::get(conn, &id)?.ok_or_else(|| ApiError::not_found("no such unit"))?;
            if !unit.kind.has_members() {
                return Err(ApiError::invalid(
                    "id",
                    "a morning brief is for a team, a call-center team or a hall",
                ));
            }
            Ok(crate::flow::brief::brief(conn, tz, unit, day)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(BriefDto {
        text: b.text(),
        unit_id: b.unit.id.clone(),
        date: b.day.to_string(),
        member_ids: b.members.clone(),
        recorded: b.recorded.iter().map(|t| brief_ticket(t, None)).collect(),
        resolved: b.resolved.iter().map(|t| brief_ticket(t, None)).collect(),
        late: b
            .late
            .iter()
            .map(|(t, s)| brief_ticket(t, Some(s.as_str())))
            .collect(),
        complaints: b.complaints.iter().map(super::complaints::dto).collect(),
        appointments: b
            .appointments
            .iter()
            .map(|t| brief_ticket(t, None))
            .collect(),
    }))
}
