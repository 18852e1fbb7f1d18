//! Monthly district scores with the five-star ranking, roll-ups per technician and region, the
//! tickets behind every number, CSV export, and the district leaders' appraisals.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::visible;
use super::state::AppState;
use super::{resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::callback::{CallbackStatus, Outcome};
use crate::domain::complaint::Status as ComplaintStatus;
use crate::domain::new_id;
use crate::domain::period::Month;
use crate::domain::scoring::{Figures, Metric, Rules, METRICS};
use crate::domain::sla::Stage;
use crate::flow::report::{month_report, DistrictLine, MonthReport, RollUpLine};
use crate::store::appraisals::{self, AppraisalRow};
use crate::store::reports::{self, DrillDown, Unit};
use crate::store::tickets::TicketRow;
use crate::store::{districts, tickets};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/reports/districts").route(web::get().to(district_report)))
        .service(resource("/reports/districts/trend").route(web::get().to(district_trend)))
        .service(resource("/reports/districts/{id}/tickets").route(web::get().to(drill_down)))
        .service(resource("/reports/technicians").route(web::get().to(technician_report)))
        .service(resource("/reports/regions").route(web::get().to(region_report)))
        .service(resource("/districts/{id}/appraisals").route(web::get().to(appraisal_history)))
        .service(
            resource("/districts/{id}/appraisals/{month}").route(web::put().to(record_appraisal)),
        );
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// One metric of a line: its ratio, rate and target (and, for districts, its rank).
#[derive(Serialize)]
struct MetricFigure {
    num: u64,
    den: u64,
    /// null: no tickets (n/a).
    rate: Option<f64>,
    target: f64,
    meets_target: Option<bool>,
    /// A district's rank on this metric (null when n/a); absent from roll-ups.
    #[serde(skip_serializing_if = "Option::is_none")]
    rank: Option<Option<usize>>,
}

type Metrics = BTreeMap<&'static str, MetricFigure>;

fn metrics(rules: &Rules, f: &Figures, ranks: Option<&[Option<usize>; METRICS]>) -> Metrics {
    Metric::ALL
        .iter()
        .map(|m| {
            let r = f.get(*m);
            let target = rules.targets_bp[m.index()];
            let figure = MetricFigure {
                num: r.num,
                den: r.den,
                rate: r.rate().map(round6),
                target: target as f64 / 10_000.0,
                meets_target: (r.den > 0).then(|| r.reaches_bp(target)),
                rank: ranks.map(|ranks| ranks[m.index()]),
            };
            (m.as_str(), figure)
        })
        .collect()
}

#[derive(Serialize)]
struct ComplaintFigures {
    upheld: u64,
    upheld_12345_12315: u64,
    open: u64,
    dismissed: u64,
    /// Answered by their handling clock.
    handled_on_time: u64,
    /// Answered, or past their clock.
    handled: u64,
    /// null: none answered or due yet.
    timeliness: Option<f64>,
}

impl From<&Figures> for ComplaintFigures {
    fn from(f: &Figures) -> Self {
        let c = f.complaints;
        ComplaintFigures {
            upheld: c.upheld,
            upheld_12345_12315: c.upheld_government,
            open: c.open,
            dismissed: c.dismissed,
            handled_on_time: c.handled.num,
            handled: c.handled.den,
            timeliness: c.handled.rate().map(round6),
        }
    }
}

/// Network faults restored in the month, counted apart from the individual repairs.
#[derive(Serialize)]
struct NetworkFaultFigures {
    faults: u64,
    linked_calls: u64,
    restored_on_time: u64,
    restored: u64,
    /// null: no fault restored.
    rate: Option<f64>,
}

impl From<&Figures> for NetworkFaultFigures {
    fn from(f: &Figures) -> Self {
        let n = f.network;
        NetworkFaultFigures {
            faults: n.faults,
            linked_calls: n.linked_calls,
            restored_on_time: n.restorations.num,
            restored: n.restorations.den,
            rate: n.restorations.rate().map(round6),
        }
    }
}

/// One channel's satisfaction answers.
#[derive(Serialize)]
struct ChannelFigure {
    num: u64,
    den: u64,
    /// null: nobody answered this way.
    rate: Option<f64>,
}

/// Satisfaction by how customers answered; the two add up to the `satisfaction` metric.
#[derive(Serialize)]
struct SatisfactionChannels {
    phone: ChannelFigure,
    sms: ChannelFigure,
}

impl From<&Figures> for SatisfactionChannels {
    fn from(f: &Figures) -> Self {
        let c = |r: crate::domain::scoring::Ratio| ChannelFigure {
            num: r.num,
            den: r.den,
            rate: r.rate().map(round6),
        };
        SatisfactionChannels {
            phone: c(f.satisfaction_by.phone),
            sms: c(f.satisfaction_by.sms),
        }
    }
}

#[derive(Serialize)]
struct Clause {
    clause: String,
    passed: bool,
    reason: String,
}

#[derive(Serialize)]
struct FiveStar {
    eligible: bool,
    clauses: Vec<Clause>,
}

/// A district's line of the monthly report.
#[derive(Serialize)]
struct DistrictScore {
    district_id: String,
    code: String,
    name: String,
    region_id: String,
    metrics: Metrics,
    satisfaction_by_channel: SatisfactionChannels,
    complaints: ComplaintFigures,
    network_faults: NetworkFaultFigures,
    appraisal: Option<f64>,
    composite: Option<f64>,
    rank: Option<usize>,
    /// The managers' internal league: districts against each other, not the seed's rule.
    league_star: FiveStar,
}

impl DistrictScore {
    fn new(rules: &Rules, d: &DistrictLine) -> Self {
        let s = &d.standing;
        DistrictScore {
            district_id: d.id.clone(),
            code: d.code.clone(),
            name: d.name.clone(),
            region_id: d.region_id.clone(),
            metrics: metrics(rules, &d.figures, Some(&s.metric_ranks)),
            satisfaction_by_channel: (&d.figures).into(),
            complaints: (&d.figures).into(),
            network_faults: (&d.figures).into(),
            appraisal: d.figures.appraisal,
            composite: s.composite,
            rank: s.rank,
            league_star: FiveStar {
                eligible: s.five_star.eligible,
                clauses: s
                    .five_star
                    .clauses
                    .iter()
                    .map(|c| Clause {
                        clause: c.clause.to_string(),
                        passed: c.passed,
                        reason: c.reason.clone(),
                    })
                    .collect(),
            },
        }
    }
}

/// A technician's or region's line.
#[derive(Serialize)]
struct RollUpScore {
    id: String,
    code: String,
    name: String,
    region_ids: Vec<String>,
    metrics: Metrics,
    satisfaction_by_channel: SatisfactionChannels,
    complaints: ComplaintFigures,
    network_faults: NetworkFaultFigures,
    composite: Option<f64>,
    rank: Option<usize>,
}

impl RollUpScore {
    fn new(rules: &Rules, l: &RollUpLine) -> Self {
        RollUpScore {
            id: l.id.clone(),
            code: l.code.clone(),
            name: l.name.clone(),
            region_ids: l.region_ids.clone(),
            metrics: metrics(rules, &l.figures, None),
            satisfaction_by_channel: (&l.figures).into(),
            complaints: (&l.figures).into(),
            network_faults: (&l.figures).into(),
            composite: l.composite,
            rank: l.rank,
        }
    }
}

#[derive(Serialize)]
struct FiveStarRules {
    top: usize,
    gap_points: f64,
    appraisal_min: f64,
}

/// The scoring rules a report was computed with.
#[derive(Serialize)]
struct RulesDto {
    weights: BTreeMap<&'static str, f64>,
    targets: BTreeMap<&'static str, f64>,
    complaint_penalty: f64,
    league_star: FiveStarRules,
}

impl From<&Rules> for RulesDto {
    fn from(rules: &Rules) -> Self {
        let per = |v: &[u32; METRICS], scale: f64| {
            Metric::ALL
                .iter()
                .map(|m| (m.as_str(), v[m.index()] as f64 / scale))
                .collect()
        };
        RulesDto {
            weights: per(&rules.weights, 1.0),
            targets: per(&rules.targets_bp, 10_000.0),
            complaint_penalty: rules.complaint_penalty,
            league_star: FiveStarRules {
                top: rules.five_star_top,
                gap_points: rules.five_star_gap_bp as f64 / 100.0,
                appraisal_min: rules.appraisal_min,
            },
        }
    }
}

/// What every report answer starts with: the month, its bounds and the rules.
#[derive(Serialize)]
struct Header {
    month: String,
    timezone: String,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    rules: RulesDto,
}

impl Header {
    fn new(report: &MonthReport, tz: &str, rules: &Rules) -> Self {
        Header {
            month: report.month.to_string(),
            timezone: tz.to_string(),
            from: utc(report.start),
            to: utc(report.end),
            rules: rules.into(),
        }
    }
}

#[derive(Serialize)]
struct DistrictReport {
    #[serde(flatten)]
    header: Header,
    ranked_among: usize,
    items: Vec<DistrictScore>,
}

#[derive(Serialize)]
struct RollUpReport {
    #[serde(flatten)]
    header: Header,
    items: Vec<RollUpScore>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportQuery {
    pub month: Option<String>,
    pub region_id: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Whether `format` asks for CSV (`json`, the default, or `csv`).
pub(super) fn wants_csv(format: Option<&str>) -> ApiResult<bool> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::invalid("format", "must be json or csv")),
    }
}

/// A month's report as a CSV download named `{name}-{month}.csv`.
pub(super) fn csv_answer(name: &str, month: Month, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}-{month}.csv\""),
        ))
        .body(body)
}

/// The required `month` query parameter.
pub(super) fn month_param(month: Option<&str>) -> ApiResult<Month> {
    Ok(Month::parse(
        "month",
        month.ok_or_else(|| ApiError::invalid("month", "is required (YYYY-MM)"))?,
    )?)
}

async fn load(state: &web::Data<AppState>, month: Option<&str>) -> ApiResult<MonthReport> {
    let month = month_param(month)?;
    let tz = state.config.tz;
    let rules = state.config.scoring.clone();
    state
        .db
        .read(move |conn| month_report(conn, tz, &rules, month).map_err(ApiError::from))
        .await
}

/// Ranks cover every district; the rows shown are those in the caller's scope.
async fn district_report(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let csv = wants_csv(q.format.as_deref())?;
    let report = load(&state, q.month.as_deref()).await?;
    let rules = &state.config.scoring;
    let mut rows: Vec<&DistrictLine> = report
        .districts
        .iter()
        .filter(|d| caller.scope.allows(&d.region_id))
        .filter(|d| q.region_id.as_ref().is_none_or(|r| *r == d.region_id))
        .collect();
    rows.sort_by(|a, b| {
        (a.standing.rank.is_none(), a.standing.rank, &a.code).cmp(&(
            b.standing.rank.is_none(),
            b.standing.rank,
            &b.code,
        ))
    });
    if csv {
        return Ok(csv_answer("districts", report.month, district_csv(&rows)));
    }
    Ok(HttpResponse::Ok().json(DistrictReport {
        header: Header::new(&report, state.config.tz.name(), rules),
        ranked_among: report
            .districts
            .iter()
            .filter(|d| d.standing.rank.is_some())
            .count(),
        items: rows.iter().map(|d| DistrictScore::new(rules, d)).collect(),
    }))
}

/// One CSV cell: quoted when it holds a separator, a quote or a line break; text a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading `'`,
/// so a district named `=HYPERLINK(...)` stays text. Numbers stay numbers.
pub(super) fn csv_field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err();
    let s = if formula {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The same table as the JSON report, one line per district.
pub fn district_csv(rows: &[&DistrictLine]) -> String {
    let mut cols = vec!["rank", "district_code", "district_name", "region_id"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    for m in Metric::ALL {
        for part in ["num", "den", "rate"] {
            cols.push(format!("{}_{part}", m.as_str()));
        }
    }
    cols.extend(
        [
            "satisfaction_phone_num",
            "satisfaction_phone_den",
            "satisfaction_sms_num",
            "satisfaction_sms_den",
            "complaints_handled_on_time",
            "complaints_handled",
            "complaints_upheld",
            "complaints_upheld_12345_12315",
            "appraisal",
            "composite",
            "league_star",
            "league_star_reasons",
            "network_faults",
            "network_linked_calls",
            "network_restored_on_time",
            "network_restored",
        ]
        .map(String::from),
    );
    let mut out = cols.join(",") + "\n";
    let opt = |v: Option<String>| v.unwrap_or_else(|| "n/a".into());
    for d in rows {
        let f = &d.figures;
        let mut cells = vec![
            opt(d.standing.rank.map(|r| r.to_string())),
            csv_field(&d.code),
            csv_field(&d.name),
            d.region_id.clone(),
        ];
        for m in Metric::ALL {
            let r = f.get(m);
            cells.push(r.num.to_string());
            cells.push(r.den.to_string());
            cells.push(opt(r.rate().map(|x| format!("{:.4}", x))));
        }
        let by = f.satisfaction_by;
        for r in [by.phone, by.sms, f.complaints.handled] {
            cells.push(r.num.to_string());
            cells.push(r.den.to_string());
        }
        cells.push(f.complaints.upheld.to_string());
        cells.push(f.complaints.upheld_government.to_string());
        cells.push(opt(f.appraisal.map(|a| a.to_string())));
        cells.push(opt(d.standing.composite.map(|c| format!("{c:.2}"))));
        cells.push(
            if d.standing.five_star.eligible {
                "yes"
            } else {
                "no"
            }
            .into(),
        );
        let reasons: Vec<&str> = d
            .standing
            .five_star
            .clauses
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.reason.as_str())
            .collect();
        cells.push(csv_field(&reasons.join("; ")));
        let n = f.network;
        for v in [
            n.faults,
            n.linked_calls,
            n.restorations.num,
            n.restorations.den,
        ] {
            cells.push(v.to_string());
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Technicians or regions: the lines in the caller's scope (and in `region_id`, if given).
async fn rollup(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ReportQuery>,
    lines: fn(&MonthReport) -> &[RollUpLine],
) -> ApiResult<HttpResponse> {
    let report = load(&state, q.month.as_deref()).await?;
    let rules = &state.config.scoring;
    let items: Vec<RollUpScore> = lines(&report)
        .iter()
        .filter(|l| l.region_ids.iter().any(|r| caller.scope.allows(r)))
        .filter(|l| {
            q.region_id
                .as_ref()
                .is_none_or(|r| l.region_ids.contains(r))
        })
        .map(|l| RollUpScore::new(rules, l))
        .collect();
    Ok(HttpResponse::Ok().json(RollUpReport {
        header: Header::new(&report, state.config.tz.name(), rules),
        items,
    }))
}

async fn technician_report(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    rollup(state, caller, q, |r| &r.technicians).await
}

async fn region_report(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    rollup(state, caller, q, |r| &r.regions).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DrillQuery {
    pub month: Option<String>,
    pub metric: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// A drill-down request read: the month and its bounds, the metric as asked and as `parse`
/// read it, and the page.
pub(super) struct DrillPage<M> {
    pub month: Month,
    pub metric_s: String,
    pub metric: M,
    pub start: chrono::NaiveDateTime,
    pub end: chrono::NaiveDateTime,
    pub offset: i64,
    pub limit: i64,
}

impl DrillQuery {
    /// Reads the month, the required metric (through `parse`), and the page, in that order.
    pub(super) fn read<M>(
        self,
        tz: chrono_tz::Tz,
        parse: impl FnOnce(&str) -> ApiResult<M>,
    ) -> ApiResult<DrillPage<M>> {
        let month = month_param(self.month.as_deref())?;
        let metric_s = self
            .metric
            .ok_or_else(|| ApiError::invalid("metric", "is required"))?;
        let metric = parse(&metric_s)?;
        let limit = super::limit_param(self.limit, 500, 5000)?;
        let offset = super::offset_param(self.offset)?;
        let (start, end) = month.bounds(tz);
        Ok(DrillPage {
            month,
            metric_s,
            metric,
            start,
            end,
            offset,
            limit,
        })
    }
}

impl<M> DrillPage<M> {
    /// The rows of `unit` this page covers.
    pub(super) fn of(&self, unit: Unit) -> DrillDown {
        DrillDown {
            unit,
            start: self.start,
            end: self.end,
            offset: self.offset,
            limit: self.limit,
        }
    }

    pub(super) fn answer(self, district_id: Option<String>, items: Vec<Value>) -> DrillDownAnswer {
        DrillDownAnswer {
            district_id,
            month: self.month.to_string(),
            metric: self.metric_s,
            offset: self.offset,
            limit: self.limit,
            items,
        }
    }
}

/// A ticket behind a stage's number: the stage's deadline, when it was met, and whether it
/// counts in the numerator.
#[derive(Serialize)]
struct StageRow<'a> {
    ticket_id: &'a str,
    external_ref: Option<&'a str>,
    kind: crate::domain::ticket::TicketKind,
    status: crate::domain::ticket::Status,
    assignee_id: Option<&'a str>,
    created_at: chrono::DateTime<chrono::Utc>,
    resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    due_at: Option<chrono::DateTime<chrono::Utc>>,
    done_at: Option<chrono::DateTime<chrono::Utc>>,
    outcome: Option<&'static str>,
    in_numerator: bool,
    /// Timeliness of installations and repairs: the promise first given, and how often it moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    original_promised_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postponements: Option<i32>,
}

fn stage_item(metric: Metric, t: &TicketRow) -> Value {
    // The callback metrics list finished tickets: their resolve stage.
    let stage = t.stage(Stage::of_metric(metric).unwrap_or(Stage::Resolve));
    let timeliness = matches!(metric, Metric::Install | Metric::Repair);
    let row = StageRow {
        ticket_id: &t.id,
        external_ref: t.external_ref.as_deref(),
        kind: t.kind,
        status: t.status,
        assignee_id: t.assignee_id.as_deref(),
        created_at: utc(t.created_at),
        resolved_at: t.resolved_at.map(utc),
        due_at: stage.due,
        done_at: stage.done,
        outcome: stage.outcome(),
        in_numerator: stage.on_time == Some(true),
        original_promised_at: timeliness.then(|| utc(t.original_promised_at)),
        postponements: timeliness.then_some(t.postponement_count),
    };
    serde_json::to_value(row).unwrap_or(Value::Null)
}

/// A resolved ticket behind the callback coverage, with its callback if one was drawn.
#[derive(Serialize)]
struct CoverageRow<'a> {
    ticket_id: &'a str,
    external_ref: Option<&'a str>,
    kind: crate::domain::ticket::TicketKind,
    assignee_id: Option<&'a str>,
    resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    callback: Option<CoverageCallback<'a>>,
    /// Called (reached, or unreachable after every attempt).
    in_numerator: bool,
}

#[derive(Serialize)]
struct CoverageCallback<'a> {
    id: &'a str,
    reason: &'a str,
    status: &'a str,
    attempts: i32,
    outcome: Option<&'a str>,
}

/// A complaint behind the complaint count: upheld ones are in the numerator.
#[derive(Serialize)]
struct ComplaintItem<'a> {
    #[serde(flatten)]
    complaint: super::complaints::ComplaintDto<'a>,
    in_numerator: bool,
}

/// A phone callback behind the satisfaction figure.
#[derive(Serialize)]
struct CallbackItem<'a> {
    channel: &'static str,
    #[serde(flatten)]
    callback: super::callbacks::CallbackDto<'a>,
    in_numerator: bool,
}

/// An SMS survey answer behind the satisfaction figure.
#[derive(Serialize)]
struct SurveyItem<'a> {
    channel: &'static str,
    survey_id: &'a str,
    ticket_id: &'a str,
    technician_id: Option<&'a str>,
    resolved_at: chrono::DateTime<chrono::Utc>,
    asked_at: chrono::DateTime<chrono::Utc>,
    answered_at: Option<chrono::DateTime<chrono::Utc>>,
    outcome: Option<&'a str>,
    rating: Option<i32>,
    remark: Option<&'a str>,
    follow_up_ticket_id: Option<&'a str>,
    in_numerator: bool,
}

/// The rows behind one number: tickets, callbacks or complaints, each with `in_numerator`.
#[derive(Serialize)]
pub(super) struct DrillDownAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district_id: Option<String>,
    pub month: String,
    pub metric: String,
    pub offset: i64,
    pub limit: i64,
    pub items: Vec<Value>,
}

/// The tickets (or callbacks, or complaints) behind one number of the district report.
async fn drill_down(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<DrillQuery>,
) -> ApiResult<HttpResponse> {
    let page = q.into_inner().read(state.config.tz, |m| {
        Ok(match m {
            "complaints" => None,
            m => Some(Metric::parse("metric", m).map_err(|e| {
                ApiError::invalid("metric", format!("{}, or complaints", e.message))
            })?),
        })
    })?;
    let metric = page.metric;
    let district_id = id.into_inner();
    let scope = caller.scope.clone();
    let d = page.of(Unit::District(district_id.clone()));
    let id = district_id.clone();
    let items = state
        .db
        .read(move |conn| -> ApiResult<Vec<Value>> {
            visible(districts::get(conn, &id)?, &scope, "district")?;
            drill_items(conn, metric, &d)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.answer(Some(district_id), items)))
}

/// The rows behind one number of a unit's month: tickets, callbacks or complaints (`metric`
/// None), each with `in_numerator`.
pub(super) fn drill_items(
    conn: &mut crate::db::DbConn,
    metric: Option<Metric>,
    d: &DrillDown,
) -> ApiResult<Vec<Value>> {
    Ok(match metric {
        None => reports::district_complaints(conn, d)?
            .iter()
            .map(|c| {
                let row = ComplaintItem {
                    complaint: super::complaints::dto(c),
                    in_numerator: c.status == ComplaintStatus::Upheld,
                };
                serde_json::to_value(row).unwrap_or(Value::Null)
            })
            .collect(),
        Some(Metric::Satisfaction) => {
            // Phone callbacks first, then SMS survey answers, paged as one list.
            let calls = reports::reached_callbacks(conn, d)?;
            let ids: Vec<String> = calls.iter().map(|c| c.ticket_id.clone()).collect();
            let ts: HashMap<String, TicketRow> = tickets::get_many(conn, &ids)?
                .into_iter()
                .map(|t| (t.id.clone(), t))
                .collect();
            let content = |o: Option<&str>| {
                o.and_then(|o| Outcome::parse("outcome", o).ok())
                    .is_some_and(Outcome::is_content)
            };
            let mut items: Vec<Value> = calls
                .iter()
                .map(|c| {
                    let row = CallbackItem {
                        channel: "phone",
                        callback: super::callbacks::dto(c, ts.get(&c.ticket_id), c.due_at),
                        in_numerator: content(c.outcome.as_deref()),
                    };
                    serde_json::to_value(row).unwrap_or(Value::Null)
                })
                .collect();
            let room = d.limit - items.len() as i64;
            if room > 0 {
                let phone_total = reports::reached_callbacks_count(conn, d)?;
                let offset = (d.offset - phone_total).max(0);
                for s in reports::answered_surveys(conn, d, offset, room)? {
                    let row = SurveyItem {
                        channel: "sms",
                        survey_id: &s.id,
                        ticket_id: &s.ticket_id,
                        technician_id: s.technician_id.as_deref(),
                        resolved_at: utc(s.resolved_at),
                        asked_at: utc(s.asked_at),
                        answered_at: s.answered_at.map(utc),
                        outcome: s.outcome.as_deref(),
                        rating: s.rating,
                        remark: s.remark.as_deref(),
                        follow_up_ticket_id: s.follow_up_ticket_id.as_deref(),
                        in_numerator: content(s.outcome.as_deref()),
                    };
                    items.push(serde_json::to_value(row).unwrap_or(Value::Null));
                }
            }
            items
        }
        Some(Metric::CallbackCoverage) => {
            let ts = reports::stage_tickets(conn, Metric::CallbackCoverage, d)?;
            let ids: Vec<String> = ts.iter().map(|t| t.id.clone()).collect();
            let calls: HashMap<String, _> = reports::callbacks_of(conn, &ids)?
                .into_iter()
                .map(|c| (c.ticket_id.clone(), c))
                .collect();
            ts.iter()
                .map(|t| {
                    let c = calls.get(&t.id);
                    let row = CoverageRow {
                        ticket_id: &t.id,
                        external_ref: t.external_ref.as_deref(),
                        kind: t.kind,
                        assignee_id: t.assignee_id.as_deref(),
                        resolved_at: t.resolved_at.map(utc),
                        callback: c.map(|c| CoverageCallback {
                            id: &c.id,
                            reason: &c.reason,
                            status: c.status.as_str(),
                            attempts: c.attempts,
                            outcome: c.outcome.as_deref(),
                        }),
                        in_numerator: c.is_some_and(|c| c.status != CallbackStatus::Due),
                    };
                    serde_json::to_value(row).unwrap_or(Value::Null)
                })
                .collect()
        }
        Some(m) => reports::stage_tickets(conn, m, d)?
            .iter()
            .map(|t| stage_item(m, t))
            .collect(),
    })
}

/// A district leader's appraisal for a month.
#[derive(Serialize)]
struct Appraisal {
    district_id: String,
    month: String,
    score: f64,
    note: Option<String>,
    recorded_by: String,
    recorded_at: chrono::DateTime<chrono::Utc>,
}

impl From<&AppraisalRow> for Appraisal {
    fn from(a: &AppraisalRow) -> Self {
        Appraisal {
            district_id: a.district_id.clone(),
            month: a.month.clone(),
            score: a.score,
            note: a.note.clone(),
            recorded_by: a.recorded_by.clone(),
            recorded_at: utc(a.recorded_at),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppraisalIn {
    score: f64,
    #[serde(default)]
    note: Option<String>,
}

/// Records the district leader's appraisal for a month; a later one replaces it in the report,
/// and both stay in the history.
async fn record_appraisal(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    JsonBody(req): JsonBody<AppraisalIn>,
) -> ApiResult<HttpResponse> {
    let user = caller.user_id()?.to_string();
    let (district_id, month) = path.into_inner();
    let month = Month::parse("month", &month)?;
    if !(req.score.is_finite() && (0.0..=100.0).contains(&req.score)) {
        return Err(ApiError::invalid("score", "must be from 0 to 100"));
    }
    if (req.score * 100.0).fract().abs() > 1e-9 {
        return Err(ApiError::invalid("score", "has at most two decimals"));
    }
    let row = AppraisalRow {
        id: new_id(),
        district_id,
        month: month.to_string(),
        score: req.score,
        note: req
            .note
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        recorded_by: user,
        recorded_at: state.clock.now_naive(),
    };
    let scope = caller.scope.clone();
    let stored = row.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            visible(
                districts::get(conn, &stored.district_id)?,
                &scope,
                "district",
            )?;
            appraisals::insert(conn, &stored)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(Appraisal::from(&row)))
}

async fn appraisal_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let scope = caller.scope.clone();
    let rows = state
        .db
        .read(move |conn| -> ApiResult<_> {
            visible(districts::get(conn, &id)?, &scope, "district")?;
            Ok(appraisals::history(conn, &id)?)
        })
        .await?;
    Ok(super::items(rows.iter().map(Appraisal::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrendQuery {
    from: Option<String>,
    to: Option<String>,
    region_id: Option<String>,
}

/// Months one trend may span.
const MAX_TREND_MONTHS: usize = 24;

/// The months from `from` to `to`, both included (at most [`MAX_TREND_MONTHS`]).
fn month_range(from: Option<&str>, to: Option<&str>) -> ApiResult<Vec<Month>> {
    let required = |v: Option<&str>, field: &str| {
        v.ok_or_else(|| ApiError::invalid(field, "is required (YYYY-MM)"))
            .and_then(|m| Month::parse(field, m).map_err(ApiError::from))
    };
    let (from, to) = (required(from, "from")?, required(to, "to")?);
    if to < from {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    let mut months = vec![from];
    while *months.last().expect("one month") < to {
        if months.len() == MAX_TREND_MONTHS {
            return Err(ApiError::invalid(
                "to",
                format!("a trend spans at most {MAX_TREND_MONTHS} months"),
            ));
        }
        months.push(months.last().expect("one month").next());
    }
    Ok(months)
}

/// One district's month in a trend.
#[derive(Serialize)]
struct TrendPoint {
    month: String,
    composite: Option<f64>,
    rank: Option<usize>,
    league_star: bool,
    /// Each metric's rate (null: no tickets).
    rates: BTreeMap<&'static str, Option<f64>>,
}

#[derive(Serialize)]
struct TrendLine {
    district_id: String,
    code: String,
    name: String,
    region_id: String,
    points: Vec<TrendPoint>,
}

#[derive(Serialize)]
struct Trend {
    timezone: String,
    months: Vec<String>,
    /// Each metric's target rate.
    targets: BTreeMap<&'static str, f64>,
    items: Vec<TrendLine>,
}

/// `GET /reports/districts/trend`: each district's composite, rank and rates, month by month,
/// in one answer (for the scoreboard's charts).
async fn district_trend(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<TrendQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let months = month_range(q.from.as_deref(), q.to.as_deref())?;
    if let Some(r) = &q.region_id {
        caller.require_region(r)?;
    }
    let tz = state.config.tz;
    let rules = state.config.scoring.clone();
    let reports = {
        let (months, rules) = (months.clone(), rules.clone());
        state
            .db
            .read(move |conn| -> ApiResult<Vec<MonthReport>> {
                months
                    .iter()
                    .map(|m| month_report(conn, tz, &rules, *m).map_err(ApiError::from))
                    .collect()
            })
            .await?
    };
    let mut lines: Vec<TrendLine> = Vec::new();
    for report in &reports {
        for d in report
            .districts
            .iter()
            .filter(|d| caller.scope.allows(&d.region_id))
            .filter(|d| q.region_id.as_ref().is_none_or(|r| *r == d.region_id))
        {
            let point = TrendPoint {
                month: report.month.to_string(),
                composite: d.standing.composite,
                rank: d.standing.rank,
                league_star: d.standing.five_star.eligible,
                rates: Metric::ALL
                    .iter()
                    .map(|m| (m.as_str(), d.figures.get(*m).rate().map(round6)))
                    .collect(),
            };
            match lines.iter_mut().find(|l| l.district_id == d.id) {
                Some(l) => l.points.push(point),
                None => lines.push(TrendLine {
                    district_id: d.id.clone(),
                    code: d.code.clone(),
                    name: d.name.clone(),
                    region_id: d.region_id.clone(),
                    points: vec![point],
                }),
            }
        }
    }
    lines.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(HttpResponse::Ok().json(Trend {
        timezone: tz.name().to_string(),
        months: months.iter().map(ToString::to_string).collect(),
        targets: Metric::ALL
            .iter()
            .map(|m| (m.as_str(), rules.targets_bp[m.index()] as f64 / 10_000.0))
            .collect(),
        items: lines,
    }))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_cells_never_run_as_formulas() {
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_field("@SUM(A1:A9)"), "'@SUM(A1:A9)");
        assert_eq!(csv_field("+86 139"), "'+86 139");
        assert_eq!(csv_field("-5"), "-5");
        assert_eq!(csv_field("97.5"), "97.5");
        assert_eq!(csv_field("杨舍西网格"), "杨舍西网格");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
