//! The province: branches (分公司) with their regions, the monthly figures imported for them
//! (JSON or CSV, with source and importer), the branch league and the five-star verdict of every
//! grid district (seed 000, 04-(1) and 04-(2)), each clause with its reason and the records
//! behind it.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::csv_table::{read_csv, source_param};
use super::extract::CsvBody;
use super::reports::{
    csv_answer, csv_field, drill_items, month_param, wants_csv, DrillDownAnswer, DrillQuery,
    ReportQuery,
};
use super::state::AppState;
use super::units::UnitFiguresDto;
use super::{created, resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::five_star::Placing;
use crate::domain::org::UnitKind;
use crate::domain::period::Month;
use crate::domain::scoring::{percent_to_bp, round2, Metric};
use crate::domain::{new_id, required_text, Code};
use crate::flow::province::{
    province_month, unit_verdicts, BranchLine, DistrictVerdict, LedgerLine, ProvinceMonth,
    UnitVerdict,
};
use crate::store::branches::{self, BranchRow, FiguresRow};
use crate::store::reports::Unit;
use crate::store::{org, users};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/branches")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/branches/figures/import").route(web::post().to(import_csv)))
    .service(
        resource("/branches/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(rename))
            .route(web::delete().to(delete)),
    )
    .service(resource("/branches/{id}/figures").route(web::get().to(figures_history)))
    .service(resource("/branches/{id}/figures/{month}").route(web::put().to(record_figures)))
    .service(resource("/reports/province").route(web::get().to(province_report)))
    .service(resource("/reports/province/branches/{id}/tickets").route(web::get().to(branch_drill)))
    .service(resource("/reports/five-star/districts").route(web::get().to(district_verdicts)))
    .service(resource("/reports/five-star/teams").route(web::get().to(team_verdicts)))
    .service(resource("/reports/five-star/halls").route(web::get().to(hall_verdicts)))
    .service(resource("/reports/ledger").route(web::get().to(ledger)));
}

#[derive(Serialize)]
struct BranchDto {
    id: String,
    code: String,
    name: String,
    /// The regions it holds; a branch holding any runs on fixline.
    region_ids: Vec<String>,
    on_fixline: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl BranchDto {
    fn new(b: BranchRow, region_ids: Vec<String>) -> Self {
        BranchDto {
            id: b.id,
            code: b.code,
            name: b.name,
            on_fixline: !region_ids.is_empty(),
            region_ids,
            created_at: utc(b.created_at),
            updated_at: utc(b.updated_at),
        }
    }
}

async fn list(state: web::Data<AppState>, _caller: Caller) -> ApiResult<HttpResponse> {
    let (rows, mut held) = state
        .db
        .read(|conn| -> ApiResult<_> {
            Ok((branches::list(conn)?, branches::regions_by_branch(conn)?))
        })
        .await?;
    Ok(super::items(
        rows.into_iter()
            .map(|b| {
                let regions = held.remove(&b.id).unwrap_or_default();
                BranchDto::new(b, regions)
            })
            .collect(),
    ))
}

/// The branch and its regions, or 404.
fn load_branch(conn: &mut crate::db::DbConn, id: &str) -> ApiResult<(BranchRow, Vec<String>)> {
    let b = branches::get(conn, id)?.ok_or_else(|| ApiError::not_found("no such branch"))?;
    let regions = branches::regions_by_branch(conn)?
        .remove(id)
        .unwrap_or_default();
    Ok((b, regions))
}

async fn get(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (b, regions) = state.db.read(move |conn| load_branch(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(BranchDto::new(b, regions)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBranch {
    code: String,
    name: String,
}

async fn create(
    state: web::Data<AppState>,
    _caller: Caller,
    JsonBody(req): JsonBody<NewBranch>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now_naive();
    let row = BranchRow {
        id: new_id(),
        code: Code::parse("code", &req.code)?.into_string(),
        name: required_text("name", &req.name, 100)?,
        created_at: now,
        updated_at: now,
    };
    let stored = row.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            if branches::find_by_code(conn, &stored.code)?.is_some() {
                return Err(
                    ApiError::conflict(format!("branch code {} is taken", stored.code))
                        .with_field("code"),
                );
            }
            branches::insert(conn, &stored)?;
            Ok(())
        })
        .await?;
    Ok(created(&BranchDto::new(row, Vec::new())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchPatch {
    name: String,
}

async fn rename(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<BranchPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let name = required_text("name", &req.name, 100)?;
    let now = state.clock.now_naive();
    let (b, regions) = state
        .db
        .write(move |conn| {
            if branches::rename(conn, &id, &name, now)? == 0 {
                return Err(ApiError::not_found("no such branch"));
            }
            load_branch(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(BranchDto::new(b, regions)))
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
            load_branch(conn, &id)?;
            let (regions, figures) = branches::references(conn, &id)?;
            if regions > 0 || figures > 0 {
                return Err(ApiError::conflict(format!(
                    "the branch still has {regions} regions and {figures} imported months; move the regions out first (imported figures are kept for the record)"
                )));
            }
            branches::delete(conn, &id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A month's imported figures, percentages as the province publishes them.
#[derive(Serialize)]
struct FiguresDto {
    id: String,
    branch_id: String,
    month: String,
    installation: Option<f64>,
    maintenance: Option<f64>,
    answer_rate: Option<f64>,
    online_resolution: Option<f64>,
    churn: Option<f64>,
    source: String,
    imported_by: String,
    imported_at: DateTime<Utc>,
}

fn percent(bp: Option<i32>) -> Option<f64> {
    bp.map(|v| f64::from(v) / 100.0)
}

impl From<&FiguresRow> for FiguresDto {
    fn from(f: &FiguresRow) -> Self {
        FiguresDto {
            id: f.id.clone(),
            branch_id: f.branch_id.clone(),
            month: f.month.clone(),
            installation: percent(f.install_bp),
            maintenance: percent(f.maintenance_bp),
            answer_rate: percent(f.answer_bp),
            online_resolution: percent(f.online_resolution_bp),
            churn: percent(f.churn_bp),
            source: f.source.clone(),
            imported_by: f.imported_by.clone(),
            imported_at: utc(f.imported_at),
        }
    }
}

/// The measures an import may carry: name, and whether it may be negative (net churn).
const MEASURES: [(&str, bool); 5] = [
    ("installation", false),
    ("maintenance", false),
    ("answer_rate", false),
    ("online_resolution", false),
    ("churn", true),
];

/// A percentage with two decimals at most as basis points: 0 to 100, or -100 to 100 where
/// `signed`.
fn measure_bp(field: &str, text: &str, signed: bool) -> Result<i32, ApiError> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        _ => (false, t),
    };
    let range = if signed { "-100 to 100" } else { "0 to 100" };
    let bp = percent_to_bp(digits).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("`{t}` is not a percentage from {range} with two decimals at most"),
        )
    })? as i32;
    Ok(if negative { -bp } else { bp })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FiguresInput {
    source: String,
    installation: Option<f64>,
    maintenance: Option<f64>,
    answer_rate: Option<f64>,
    online_resolution: Option<f64>,
    churn: Option<f64>,
}

/// Checks one import against its branch: fixline counts installation and maintenance for a
/// branch it runs, so an import may not give them.
fn check_for_branch(
    row: &FiguresRow,
    on_fixline: bool,
    field_prefix: &str,
) -> Result<(), ApiError> {
    if on_fixline {
        for (name, v) in [
            ("installation", row.install_bp),
            ("maintenance", row.maintenance_bp),
        ] {
            if v.is_some() {
                return Err(ApiError::invalid(
                    format!("{field_prefix}{name}"),
                    "this branch runs on fixline, which counts its installation and maintenance timeliness itself; leave it out",
                ));
            }
        }
    }
    if [
        row.install_bp,
        row.maintenance_bp,
        row.answer_bp,
        row.online_resolution_bp,
        row.churn_bp,
    ]
    .iter()
    .all(Option::is_none)
    {
        return Err(ApiError::invalid(
            format!("{field_prefix}churn"),
            "give at least one figure",
        ));
    }
    Ok(())
}

/// Records a branch's figures for a month; a later import replaces it in the report, and both
/// stay in the history.
async fn record_figures(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    JsonBody(req): JsonBody<FiguresInput>,
) -> ApiResult<HttpResponse> {
    let user = caller.user_id()?.to_string();
    let (branch_id, month) = path.into_inner();
    let month = Month::parse("month", &month)?;
    let given = [
        req.installation,
        req.maintenance,
        req.answer_rate,
        req.online_resolution,
        req.churn,
    ];
    let mut bp = [None; 5];
    for (i, ((name, signed), v)) in MEASURES.iter().zip(given).enumerate() {
        if let Some(v) = v {
            bp[i] = Some(measure_bp(name, &v.to_string(), *signed)?);
        }
    }
    let row = FiguresRow {
        id: new_id(),
        branch_id,
        month: month.to_string(),
        install_bp: bp[0],
        maintenance_bp: bp[1],
        answer_bp: bp[2],
        online_resolution_bp: bp[3],
        churn_bp: bp[4],
        source: required_text("source", &req.source, 200)?,
        imported_by: user,
        imported_at: state.clock.now_naive(),
    };
    let stored = row.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            let (_, regions) = load_branch(conn, &stored.branch_id)?;
            check_for_branch(&stored, !regions.is_empty(), "")?;
            branches::insert_figures(conn, &stored)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(FiguresDto::from(&row)))
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
            load_branch(conn, &id)?;
            Ok(branches::figures_history(conn, &id)?)
        })
        .await?;
    Ok(super::items(rows.iter().map(FiguresDto::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    source: Option<String>,
}

#[derive(Serialize)]
struct ImportSummary {
    imported: usize,
    items: Vec<FiguresDto>,
}

/// Imports a CSV of branch figures, all lines or none: any bad line is 422 naming the line and
/// column.
async fn import_csv(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ImportQuery>,
    CsvBody(text): CsvBody,
) -> ApiResult<HttpResponse> {
    let user = caller.user_id()?.to_string();
    let source = source_param(q.into_inner().source.as_deref())?;
    let columns: Vec<&str> = ["month", "branch_code"]
        .into_iter()
        .chain(MEASURES.map(|(m, _)| m))
        .collect();
    let lines = read_csv(&text, &["month", "branch_code"], &columns)?;
    let now = state.clock.now_naive();
    let rows = state
        .db
        .write(move |conn| -> ApiResult<Vec<FiguresRow>> {
            let all = branches::list(conn)?;
            let held = branches::regions_by_branch(conn)?;
            let mut rows = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for line in lines {
                let at = |col: &str| line.at(col);
                let cell = |col: &str| line.cell(col);
                let month = Month::parse(&at("month"), cell("month"))?;
                let code = cell("branch_code");
                let branch = all.iter().find(|b| b.code == code).ok_or_else(|| {
                    ApiError::invalid(
                        at("branch_code"),
                        format!("no branch has the code `{code}`"),
                    )
                })?;
                if !seen.insert((branch.id.clone(), month)) {
                    return Err(ApiError::invalid(
                        at("branch_code"),
                        format!("branch {code} and month {month} are on an earlier line too"),
                    ));
                }
                let mut bp = [None; 5];
                for (i, (name, signed)) in MEASURES.iter().enumerate() {
                    let v = cell(name);
                    if !v.is_empty() {
                        bp[i] = Some(measure_bp(&at(name), v, *signed)?);
                    }
                }
                let row = FiguresRow {
                    id: new_id(),
                    branch_id: branch.id.clone(),
                    month: month.to_string(),
                    install_bp: bp[0],
                    maintenance_bp: bp[1],
                    answer_bp: bp[2],
                    online_resolution_bp: bp[3],
                    churn_bp: bp[4],
                    source: source.clone(),
                    imported_by: user.clone(),
                    imported_at: now,
                };
                check_for_branch(
                    &row,
                    held.contains_key(&branch.id),
                    &format!("line {}: ", line.number),
                )?;
                rows.push(row);
            }
            for r in &rows {
                branches::insert_figures(conn, r)?;
            }
            Ok(rows)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ImportSummary {
        imported: rows.len(),
        items: rows.iter().map(FiguresDto::from).collect(),
    }))
}

async fn load(state: &web::Data<AppState>, month: Option<&str>) -> ApiResult<ProvinceMonth> {
    let month = month_param(month)?;
    let tz = state.config.tz;
    let scoring = state.config.scoring.clone();
    let rules = state.config.province.clone();
    state
        .db
        .read(move |conn| province_month(conn, tz, &scoring, &rules, month).map_err(ApiError::from))
        .await
}

fn rate(bp: Option<i32>) -> Option<f64> {
    bp.map(|v| f64::from(v) / 10_000.0)
}

/// One branch measure in the league.
#[derive(Serialize)]
struct PlacingDto {
    /// null: not known for the month.
    rate: Option<f64>,
    rank: Option<usize>,
    /// The first branch's rate.
    best_rate: Option<f64>,
    /// `fixline` (counted from its regions' tickets), `imported`, or null (not known).
    source: Option<&'static str>,
    /// fixline's count behind the rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    num: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    den: Option<u64>,
}

fn placing(p: Placing, counted: Option<crate::domain::scoring::Ratio>) -> PlacingDto {
    PlacingDto {
        rate: rate(p.value_bp),
        rank: p.rank,
        best_rate: rate(p.best_bp),
        source: match (counted, p.value_bp) {
            (Some(_), _) => Some("fixline"),
            (None, Some(_)) => Some("imported"),
            (None, None) => None,
        },
        num: counted.map(|r| r.num),
        den: counted.map(|r| r.den),
    }
}

#[derive(Serialize)]
struct ImportedDto {
    id: String,
    source: String,
    imported_by: String,
    imported_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct ClauseDto {
    clause: &'static str,
    passed: bool,
    reason: String,
}

/// A branch's line of the province league.
#[derive(Serialize)]
struct BranchStandingDto {
    branch_id: String,
    code: String,
    name: String,
    on_fixline: bool,
    region_ids: Vec<String>,
    installation: PlacingDto,
    maintenance: PlacingDto,
    answer_rate: PlacingDto,
    online_resolution: PlacingDto,
    churn: PlacingDto,
    churn_gate: ClauseDto,
    /// The import this month's figures come from (null: none).
    imported: Option<ImportedDto>,
}

impl BranchStandingDto {
    fn new(rules: &crate::domain::five_star::ProvinceRules, l: &BranchLine) -> Self {
        let s = &l.standing;
        let gate = crate::domain::five_star::churn_gate(rules, s);
        BranchStandingDto {
            branch_id: l.branch.id.clone(),
            code: l.branch.code.clone(),
            name: l.branch.name.clone(),
            on_fixline: l.on_fixline(),
            region_ids: l.region_ids.clone(),
            installation: placing(s.install, l.counted.map(|c| c.0)),
            maintenance: placing(s.maintenance, l.counted.map(|c| c.1)),
            answer_rate: placing(s.answer, None),
            online_resolution: placing(s.online_resolution, None),
            churn: placing(s.churn, None),
            churn_gate: ClauseDto {
                clause: gate.clause,
                passed: gate.passed,
                reason: gate.reason,
            },
            imported: l.imported.as_ref().map(|f| ImportedDto {
                id: f.id.clone(),
                source: f.source.clone(),
                imported_by: f.imported_by.clone(),
                imported_at: utc(f.imported_at),
            }),
        }
    }
}

/// The numbers of the province's rule a report was computed with.
#[derive(Serialize)]
struct ProvinceRulesDto {
    top: usize,
    gap_points: f64,
    churn_top: usize,
    installation_target: f64,
    maintenance_target: f64,
    appraisal_min: f64,
    answer_target: f64,
    online_resolution_target: f64,
    team_kpi_min: f64,
    team_complaint_max: f64,
    hall_score_above: f64,
}

#[derive(Serialize)]
struct ProvinceHeader {
    month: String,
    timezone: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    rules: ProvinceRulesDto,
}

impl ProvinceHeader {
    fn new(state: &AppState, p: &ProvinceMonth) -> Self {
        let r = &state.config.province;
        ProvinceHeader {
            month: p.month.to_string(),
            timezone: state.config.tz.name().to_string(),
            from: utc(p.start),
            to: utc(p.end),
            rules: ProvinceRulesDto {
                top: r.top,
                gap_points: f64::from(r.gap_bp) / 100.0,
                churn_top: r.churn_top,
                installation_target: f64::from(r.install_target_bp) / 10_000.0,
                maintenance_target: f64::from(r.maintenance_target_bp) / 10_000.0,
                appraisal_min: r.appraisal_min,
                answer_target: f64::from(r.answer_target_bp) / 10_000.0,
                online_resolution_target: f64::from(r.online_resolution_target_bp) / 10_000.0,
                team_kpi_min: r.team_kpi_min,
                team_complaint_max: f64::from(r.team_complaint_max_bp) / 10_000.0,
                hall_score_above: r.hall_score_above,
            },
        }
    }
}

/// A province report: its header, then one item per branch or district.
#[derive(Serialize)]
struct ProvinceReport<T> {
    #[serde(flatten)]
    header: ProvinceHeader,
    items: Vec<T>,
}

/// The branch league: every branch of the province, by code.
async fn province_report(
    state: web::Data<AppState>,
    _caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    if q.region_id.is_some() {
        return Err(ApiError::invalid(
            "region_id",
            "the province report covers every branch; filter the district verdicts instead",
        ));
    }
    let csv = wants_csv(q.format.as_deref())?;
    let p = load(&state, q.month.as_deref()).await?;
    let rules = &state.config.province;
    let items: Vec<BranchStandingDto> = p
        .branches
        .iter()
        .map(|l| BranchStandingDto::new(rules, l))
        .collect();
    if csv {
        return Ok(csv_answer("province", p.month, province_csv(&items)));
    }
    Ok(HttpResponse::Ok().json(ProvinceReport {
        header: ProvinceHeader::new(&state, &p),
        items,
    }))
}

fn cell<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| v.to_string())
}

fn province_csv(items: &[BranchStandingDto]) -> String {
    let mut cols = vec!["branch_code", "branch_name", "on_fixline"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    for m in MEASURES.map(|(m, _)| m) {
        cols.push(format!("{m}_rate"));
        cols.push(format!("{m}_rank"));
    }
    cols.extend(["churn_gate", "source", "imported_at"].map(String::from));
    let mut out = cols.join(",") + "\n";
    for b in items {
        let mut cells = vec![
            csv_field(&b.code),
            csv_field(&b.name),
            b.on_fixline.to_string(),
        ];
        for p in [
            &b.installation,
            &b.maintenance,
            &b.answer_rate,
            &b.online_resolution,
            &b.churn,
        ] {
            cells.push(cell(p.rate.map(|r| format!("{r:.4}"))));
            cells.push(cell(p.rank));
        }
        cells.push(if b.churn_gate.passed { "yes" } else { "no" }.into());
        cells.push(csv_field(
            b.imported.as_ref().map_or("", |i| i.source.as_str()),
        ));
        cells.push(cell(
            b.imported.as_ref().map(|i| i.imported_at.to_rfc3339()),
        ));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct VerdictClause {
    clause: &'static str,
    passed: bool,
    reason: String,
    /// The route listing the records behind the clause.
    evidence: String,
}

#[derive(Serialize)]
struct DistrictComplaints {
    upheld: u64,
    upheld_12345_12315: u64,
}

/// A grid district's five-star verdict.
#[derive(Serialize)]
struct DistrictVerdictDto {
    district_id: String,
    code: String,
    name: String,
    region_id: String,
    branch_id: Option<String>,
    branch_code: Option<String>,
    five_star: bool,
    appraisal: Option<f64>,
    complaints: DistrictComplaints,
    clauses: Vec<VerdictClause>,
}

/// Where the records behind a clause are listed.
fn evidence(
    month: Month,
    d: &DistrictVerdict,
    branch: Option<&BranchLine>,
    clause: &str,
) -> String {
    let district = &d.line.id;
    let branch_figures = |b: &BranchLine, metric: &str| {
        if b.on_fixline() {
            format!(
                "/reports/province/branches/{}/tickets?month={month}&metric={metric}",
                b.branch.id
            )
        } else {
            format!("/branches/{}/figures", b.branch.id)
        }
    };
    match (clause, branch) {
        ("branch_install", Some(b)) => branch_figures(b, Metric::Install.as_str()),
        ("branch_maintenance", Some(b)) => branch_figures(b, Metric::Repair.as_str()),
        ("churn_gate", Some(b)) => format!("/branches/{}/figures", b.branch.id),
        ("appraisal", _) => format!("/districts/{district}/appraisals"),
        ("complaints", _) => {
            format!("/reports/districts/{district}/tickets?month={month}&metric=complaints")
        }
        _ => format!("/regions/{}", d.line.region_id),
    }
}

impl DistrictVerdictDto {
    fn new(p: &ProvinceMonth, d: &DistrictVerdict) -> Self {
        let branch = d.branch.map(|i| &p.branches[i]);
        let c = d.line.figures.complaints;
        DistrictVerdictDto {
            district_id: d.line.id.clone(),
            code: d.line.code.clone(),
            name: d.line.name.clone(),
            region_id: d.line.region_id.clone(),
            branch_id: branch.map(|b| b.branch.id.clone()),
            branch_code: branch.map(|b| b.branch.code.clone()),
            five_star: d.verdict.eligible,
            appraisal: d.line.figures.appraisal,
            complaints: DistrictComplaints {
                upheld: c.upheld,
                upheld_12345_12315: c.upheld_government,
            },
            clauses: d
                .verdict
                .clauses
                .iter()
                .map(|c| VerdictClause {
                    clause: c.clause,
                    passed: c.passed,
                    reason: c.reason.clone(),
                    evidence: evidence(p.month, d, branch, c.clause),
                })
                .collect(),
        }
    }
}

/// Every district in the caller's scope (and in `region_id`, if given), five-star ones first,
/// then by code.
async fn district_verdicts(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let csv = wants_csv(q.format.as_deref())?;
    let p = load(&state, q.month.as_deref()).await?;
    let mut items: Vec<DistrictVerdictDto> = p
        .districts
        .iter()
        .filter(|d| caller.scope.allows(&d.line.region_id))
        .filter(|d| q.region_id.as_ref().is_none_or(|r| *r == d.line.region_id))
        .map(|d| DistrictVerdictDto::new(&p, d))
        .collect();
    items.sort_by(|a, b| (!a.five_star, &a.code).cmp(&(!b.five_star, &b.code)));
    if csv {
        return Ok(csv_answer(
            "five-star-districts",
            p.month,
            verdict_csv(&items),
        ));
    }
    Ok(HttpResponse::Ok().json(ProvinceReport {
        header: ProvinceHeader::new(&state, &p),
        items,
    }))
}

fn verdict_csv(items: &[DistrictVerdictDto]) -> String {
    let mut out = String::from(
        "district_code,district_name,region_id,branch_code,five_star,appraisal,complaints_upheld,complaints_upheld_12345_12315,failed_clauses,reasons\n",
    );
    for d in items {
        let failed: Vec<&str> = d
            .clauses
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.clause)
            .collect();
        let reasons: Vec<&str> = d.clauses.iter().map(|c| c.reason.as_str()).collect();
        let cells = [
            csv_field(&d.code),
            csv_field(&d.name),
            d.region_id.clone(),
            csv_field(d.branch_code.as_deref().unwrap_or("")),
            if d.five_star { "yes" } else { "no" }.to_string(),
            cell(d.appraisal),
            d.complaints.upheld.to_string(),
            d.complaints.upheld_12345_12315.to_string(),
            csv_field(&failed.join(" ")),
            csv_field(&reasons.join("; ")),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// The tickets behind a branch's installation or maintenance timeliness, as fixline counts it
/// over the branch's regions (only for branches it runs).
async fn branch_drill(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
    q: web::Query<DrillQuery>,
) -> ApiResult<HttpResponse> {
    let page =
        q.into_inner().read(state.config.tz, |m| {
            match Metric::parse("metric", m) {
        Ok(m @ (Metric::Install | Metric::Repair)) => Ok(m),
        _ => Err(ApiError::invalid(
            "metric",
            "must be install_timeliness or repair_timeliness (the branch measures fixline counts)",
        )),
    }
        })?;
    let metric = page.metric;
    // The branch's regions are read with the rows.
    let mut d = page.of(Unit::Regions(Vec::new()));
    let branch_id = id.into_inner();
    let id = branch_id.clone();
    let items = state
        .db
        .read(move |conn| -> ApiResult<Vec<Value>> {
            let (_, regions) = load_branch(conn, &id)?;
            if regions.is_empty() {
                return Err(ApiError::conflict(
                    "this branch does not run on fixline: its figures are imported (see /branches/{id}/figures)",
                ));
            }
            d.unit = Unit::Regions(regions);
            drill_items(conn, Some(metric), &d)
        })
        .await?;
    Ok(HttpResponse::Ok().json(BranchDrillAnswer {
        branch_id,
        answer: page.answer(None, items),
    }))
}

#[derive(Serialize)]
struct BranchDrillAnswer {
    branch_id: String,
    #[serde(flatten)]
    answer: DrillDownAnswer,
}

/// A call-center team's or hall's verdict.
#[derive(Serialize)]
struct UnitVerdictDto {
    unit_id: String,
    code: String,
    name: String,
    kind: &'static str,
    branch_id: String,
    branch_code: String,
    five_star: bool,
    /// The month's import (null: nothing imported).
    figures: Option<UnitFiguresDto>,
    /// A hall's: the import of last quarter that carried its inspection and callback results.
    #[serde(skip_serializing_if = "Option::is_none")]
    quarter: Option<UnitFiguresDto>,
    clauses: Vec<VerdictClause>,
}

impl UnitVerdictDto {
    fn new(p: &ProvinceMonth, kind: UnitKind, v: &UnitVerdict) -> Self {
        let b = &p.branches[v.branch];
        UnitVerdictDto {
            unit_id: v.unit.id.clone(),
            code: v.unit.code.clone(),
            name: v.unit.name.clone(),
            kind: kind.as_str(),
            branch_id: b.branch.id.clone(),
            branch_code: b.branch.code.clone(),
            five_star: v.verdict.eligible,
            figures: v.figures.as_ref().map(UnitFiguresDto::from),
            quarter: (kind == UnitKind::Hall)
                .then(|| v.quarter.as_ref().map(UnitFiguresDto::from))
                .flatten(),
            clauses: v
                .verdict
                .clauses
                .iter()
                .map(|c| VerdictClause {
                    clause: c.clause,
                    passed: c.passed,
                    reason: c.reason.clone(),
                    evidence: if c.clause.starts_with("branch_") || c.clause == "churn_gate" {
                        format!("/branches/{}/figures", b.branch.id)
                    } else {
                        format!("/units/{}/figures", v.unit.id)
                    },
                })
                .collect(),
        }
    }
}

/// Five-star call-center teams (04-(3)) or business halls (04-(4)): every unit of the kind,
/// five-star ones first, then by code.
async fn unit_report(
    state: web::Data<AppState>,
    q: web::Query<ReportQuery>,
    kind: UnitKind,
) -> ApiResult<HttpResponse> {
    if q.region_id.is_some() {
        return Err(ApiError::invalid(
            "region_id",
            "teams and halls belong to branches, not regions",
        ));
    }
    let csv = wants_csv(q.format.as_deref())?;
    let month = month_param(q.month.as_deref())?;
    let tz = state.config.tz;
    let scoring = state.config.scoring.clone();
    let rules = state.config.province.clone();
    let (p, verdicts) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let p = province_month(conn, tz, &scoring, &rules, month)?;
            let v = unit_verdicts(conn, tz, &p, &rules, kind)?;
            Ok((p, v))
        })
        .await?;
    let mut items: Vec<UnitVerdictDto> = verdicts
        .iter()
        .map(|v| UnitVerdictDto::new(&p, kind, v))
        .collect();
    items.sort_by(|a, b| (!a.five_star, &a.code).cmp(&(!b.five_star, &b.code)));
    if csv {
        let mut out =
            String::from("unit_code,unit_name,branch_code,five_star,failed_clauses,reasons\n");
        for u in &items {
            let failed: Vec<&str> = u
                .clauses
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.clause)
                .collect();
            let reasons: Vec<&str> = u.clauses.iter().map(|c| c.reason.as_str()).collect();
            let cells = [
                csv_field(&u.code),
                csv_field(&u.name),
                csv_field(&u.branch_code),
                if u.five_star { "yes" } else { "no" }.to_string(),
                csv_field(&failed.join(" ")),
                csv_field(&reasons.join("; ")),
            ];
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        let name = if kind == UnitKind::Hall {
            "five-star-halls"
        } else {
            "five-star-teams"
        };
        return Ok(csv_answer(name, p.month, out));
    }
    Ok(HttpResponse::Ok().json(ProvinceReport {
        header: ProvinceHeader::new(&state, &p),
        items,
    }))
}

async fn team_verdicts(
    state: web::Data<AppState>,
    _caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    unit_report(state, q, UnitKind::CallCenterTeam).await
}

async fn hall_verdicts(
    state: web::Data<AppState>,
    _caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    unit_report(state, q, UnitKind::Hall).await
}

/// One line of the ledger: a share of a complaint's deduction.
#[derive(Serialize)]
struct LedgerLineDto {
    complaint_id: String,
    received_at: DateTime<Utc>,
    source: String,
    category: String,
    district_id: String,
    /// The whole deduction the complaint carries.
    deduction: f64,
    level: &'static str,
    user_id: String,
    unit_id: Option<String>,
    points: f64,
}

#[derive(Serialize)]
struct LedgerPerson {
    user_id: String,
    username: String,
    display_name: String,
    points: f64,
    lines: Vec<LedgerLineDto>,
}

#[derive(Serialize)]
struct LedgerUnit {
    unit_id: String,
    code: String,
    name: String,
    kind: UnitKind,
    points: f64,
    lines: Vec<LedgerLineDto>,
}

#[derive(Serialize)]
struct LedgerShares {
    person: f64,
    team_leader: f64,
    section_head: f64,
    leadership: f64,
}

#[derive(Serialize)]
struct LedgerReport {
    month: String,
    timezone: String,
    shares: LedgerShares,
    people: Vec<LedgerPerson>,
    units: Vec<LedgerUnit>,
}

/// The month's accountability ledger per person and per unit, every line with its complaint.
async fn ledger(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let csv = wants_csv(q.format.as_deref())?;
    let month = month_param(q.month.as_deref())?;
    let tz = state.config.tz;
    let shares = state.config.accountability_shares;
    let scope = caller.scope.filter().map(<[String]>::to_vec);
    let only = q.region_id.clone();
    if let Some(r) = &only {
        caller.require_region(r)?;
    }
    let (lines, people, units) = state
        .db
        .read(move |conn| -> ApiResult<_> {
            let scope = match (&only, &scope) {
                (Some(r), _) => Some(vec![r.clone()]),
                (None, s) => s.clone(),
            };
            let lines = crate::flow::province::ledger(conn, tz, shares, month, scope.as_deref())?;
            let ids: Vec<String> = lines.iter().map(|l| l.user_id.clone()).collect();
            let people = users::find_rows(conn, &ids)?;
            Ok((lines, people, org::list(conn)?))
        })
        .await?;
    let dto = |l: &LedgerLine| LedgerLineDto {
        complaint_id: l.complaint.id.clone(),
        received_at: utc(l.complaint.received_at),
        source: l.complaint.source.clone(),
        category: l.complaint.category.clone(),
        district_id: l.complaint.district_id.clone(),
        deduction: l.complaint.deduction.unwrap_or(0.0),
        level: l.level.as_str(),
        user_id: l.user_id.clone(),
        unit_id: l.unit_id.clone(),
        points: l.points,
    };
    if csv {
        let mut out = String::from(
            "complaint_id,received_at,source,district_id,deduction,level,username,unit_code,points\n",
        );
        for l in &lines {
            let username = people
                .iter()
                .find(|p| p.id == l.user_id)
                .map_or(l.user_id.as_str(), |p| p.username.as_str());
            let unit = l
                .unit_id
                .as_ref()
                .and_then(|u| units.iter().find(|x| &x.id == u))
                .map_or("", |u| u.code.as_str());
            let cells = [
                l.complaint.id.clone(),
                utc(l.complaint.received_at).to_rfc3339(),
                csv_field(&l.complaint.source),
                l.complaint.district_id.clone(),
                l.complaint.deduction.unwrap_or(0.0).to_string(),
                l.level.as_str().to_string(),
                csv_field(username),
                csv_field(unit),
                l.points.to_string(),
            ];
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        return Ok(csv_answer("ledger", month, out));
    }
    let mut by_person: Vec<LedgerPerson> = Vec::new();
    let mut by_unit: Vec<LedgerUnit> = Vec::new();
    for l in &lines {
        match by_person.iter_mut().find(|p| p.user_id == l.user_id) {
            Some(p) => {
                p.points = round2(p.points + l.points);
                p.lines.push(dto(l));
            }
            None => {
                let u = people.iter().find(|p| p.id == l.user_id);
                by_person.push(LedgerPerson {
                    user_id: l.user_id.clone(),
                    username: u.map_or_else(String::new, |u| u.username.clone()),
                    display_name: u.map_or_else(String::new, |u| u.display_name.clone()),
                    points: l.points,
                    lines: vec![dto(l)],
                });
            }
        }
        let Some(unit) = l
            .unit_id
            .as_ref()
            .and_then(|u| units.iter().find(|x| &x.id == u))
        else {
            continue;
        };
        match by_unit.iter_mut().find(|u| u.unit_id == unit.id) {
            Some(u) => {
                u.points = round2(u.points + l.points);
                u.lines.push(dto(l));
            }
            None => by_unit.push(LedgerUnit {
                unit_id: unit.id.clone(),
                code: unit.code.clone(),
                name: unit.name.clone(),
                kind: unit.kind,
                points: l.points,
                lines: vec![dto(l)],
            }),
        }
    }
    by_person.sort_by(|a, b| {
        b.points
            .total_cmp(&a.points)
            .then(a.username.cmp(&b.username))
    });
    by_unit.sort_by(|a, b| b.points.total_cmp(&a.points).then(a.code.cmp(&b.code)));
    let pct = |x: f64| round2(x * 100.0);
    Ok(HttpResponse::Ok().json(LedgerReport {
        month: month.to_string(),
        timezone: tz.name().to_string(),
        shares: LedgerShares {
            person: pct(shares[0]),
            team_leader: pct(shares[1]),
            section_head: pct(shares[2]),
            leadership: pct(shares[3]),
        },
        people: by_person,
        units: by_unit,
    }))
}
