//! The monthly work-order analysis (seed 002): tickets by kind, fault category, source and
//! resolution code with counts, shares and the change from the month before; repeat faults and
//! the addresses that come back; CSV; and the tickets behind every count.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::extract::visible;
use super::reports::{csv_answer, csv_field, month_param, wants_csv};
use super::state::AppState;
use super::{resource, utc, ApiError, ApiResult, Caller};
use crate::domain::analysis::Source;
use crate::domain::period::Month;
use crate::domain::RegionScope;
use crate::flow::analysis::{analyse, repeat_calls, sources, Count, NO_CODE};
use crate::store::analysis::{self, Filter, Scope};
use crate::store::{districts, tickets};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/reports/work-orders").route(web::get().to(report)))
        .service(resource("/reports/work-orders/tickets").route(web::get().to(drill)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisQuery {
    month: Option<String>,
    region_id: Option<String>,
    district_id: Option<String>,
    format: Option<String>,
}

/// The scope asked for, within the caller's: a district (404 outside the scope), a region
/// (403 outside it), or every region the caller sees.
async fn scope_of(
    state: &web::Data<AppState>,
    caller: &Caller,
    region_id: Option<String>,
    district_id: Option<String>,
) -> ApiResult<Scope> {
    if let Some(r) = &region_id {
        caller.require_region(r)?;
    }
    if let Some(d) = district_id.clone() {
        let scope = caller.scope.clone();
        state
            .db
            .read(move |conn| -> ApiResult<()> {
                visible(districts::get(conn, &d)?, &scope, "district")?;
                Ok(())
            })
            .await?;
    }
    let regions = match (&region_id, &caller.scope) {
        (Some(r), _) => Some(vec![r.clone()]),
        (None, RegionScope::All) => None,
        (None, RegionScope::Only(ids)) => Some(ids.clone()),
    };
    Ok(Scope {
        regions,
        district: district_id,
    })
}

#[derive(Serialize)]
struct CountDto {
    key: String,
    count: u64,
    /// Percent of the month's total, two decimals; the shares add up to exactly 100.
    share: f64,
    previous: u64,
    change: i64,
}

fn counts(list: &[Count]) -> Vec<CountDto> {
    list.iter()
        .map(|c| CountDto {
            key: c.key.clone(),
            count: c.count,
            share: f64::from(c.share_bp) / 100.0,
            previous: c.previous,
            change: c.count as i64 - c.previous as i64,
        })
        .collect()
}

#[derive(Serialize)]
struct RepeatsDto {
    window_days: i64,
    repairs: u64,
    repeated: u64,
    /// Repeats per repair call, a fraction; null when no repair was recorded.
    rate: Option<f64>,
    first_time_fix: Option<f64>,
    previous_repairs: u64,
    previous_repeated: u64,
}

#[derive(Serialize)]
struct AddressDto {
    address: String,
    repeats: usize,
    ticket_ids: Vec<String>,
}

#[derive(Serialize)]
struct AnalysisDto {
    month: String,
    timezone: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    region_id: Option<String>,
    district_id: Option<String>,
    recorded: u64,
    previous_recorded: u64,
    by_kind: Vec<CountDto>,
    by_category: Vec<CountDto>,
    by_source: Vec<CountDto>,
    resolved: u64,
    previous_resolved: u64,
    by_resolution: Vec<CountDto>,
    repeats: RepeatsDto,
    top_repeat_addresses: Vec<AddressDto>,
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| (n as f64 / d as f64 * 1e6).round() / 1e6)
}

async fn report(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<AnalysisQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let csv = wants_csv(q.format.as_deref())?;
    let month = month_param(q.month.as_deref())?;
    let scope = scope_of(&state, &caller, q.region_id.clone(), q.district_id.clone()).await?;
    let tz = state.config.tz;
    let days = state.config.repeat_window_d;
    let a = state
        .db
        .read(move |conn| {
            analyse(conn, tz, &scope, month, chrono::Duration::days(days)).map_err(ApiError::from)
        })
        .await?;
    if csv {
        let mut out = String::from("dimension,key,count,share,previous,change\n");
        for (dim, list) in [
            ("kind", &a.by_kind),
            ("category", &a.by_category),
            ("source", &a.by_source),
            ("resolution", &a.by_resolution),
        ] {
            for c in counts(list) {
                out.push_str(&format!(
                    "{dim},{},{},{:.2},{},{}\n",
                    csv_field(&c.key),
                    c.count,
                    c.share,
                    c.previous,
                    c.change
                ));
            }
        }
        out.push_str(&format!(
            "repeat,repeated,{},{},{},{}\n",
            a.repeats.len(),
            ratio(a.repeats.len() as u64, a.repairs)
                .map_or("n/a".into(), |r| format!("{:.2}", r * 100.0)),
            a.previous_repeats,
            a.repeats.len() as i64 - a.previous_repeats as i64
        ));
        return Ok(csv_answer("work-orders", month, out));
    }
    let repeated = a.repeats.len() as u64;
    Ok(HttpResponse::Ok().json(AnalysisDto {
        month: month.to_string(),
        timezone: tz.name().to_string(),
        from: utc(a.start),
        to: utc(a.end),
        region_id: q.region_id,
        district_id: q.district_id,
        recorded: a.recorded,
        previous_recorded: a.previous_recorded,
        by_kind: counts(&a.by_kind),
        by_category: counts(&a.by_category),
        by_source: counts(&a.by_source),
        resolved: a.resolved,
        previous_resolved: a.previous_resolved,
        by_resolution: counts(&a.by_resolution),
        repeats: RepeatsDto {
            window_days: days,
            repairs: a.repairs,
            repeated,
            rate: ratio(repeated, a.repairs),
            first_time_fix: ratio(a.repairs - repeated, a.repairs),
            previous_repairs: a.previous_repairs,
            previous_repeated: a.previous_repeats,
        },
        top_repeat_addresses: a
            .top_addresses
            .iter()
            .map(|r| AddressDto {
                address: r.address.clone(),
                repeats: r.calls.len(),
                ticket_ids: r.calls.clone(),
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillQuery {
    month: Option<String>,
    region_id: Option<String>,
    district_id: Option<String>,
    dimension: Option<String>,
    key: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

/// A ticket behind a count.
#[derive(Serialize)]
struct Row {
    ticket_id: String,
    external_ref: Option<String>,
    kind: crate::domain::ticket::TicketKind,
    status: crate::domain::ticket::Status,
    fault_category: String,
    resolution_code: Option<String>,
    district_id: Option<String>,
    address: String,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    /// For a repeat: the earlier repair it repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat_of: Option<String>,
}

#[derive(Serialize)]
struct DrillAnswer {
    month: String,
    dimension: String,
    key: String,
    offset: i64,
    limit: i64,
    items: Vec<Row>,
}

/// The tickets behind one count: `dimension` kind, category, source or resolution with its
/// `key`, or `repeat` (the repeated calls, each with the repair it repeats).
async fn drill(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<DrillQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let month: Month = month_param(q.month.as_deref())?;
    let dimension = q
        .dimension
        .ok_or_else(|| ApiError::invalid("dimension", "is required"))?;
    let key = q.key.unwrap_or_default();
    let needs_key = dimension != "repeat";
    if needs_key && key.trim().is_empty() {
        return Err(ApiError::invalid("key", "is required for this dimension"));
    }
    let source = if dimension == "source" {
        Some(Source::parse("key", &key)?)
    } else {
        None
    };
    if !matches!(
        dimension.as_str(),
        "kind" | "category" | "source" | "resolution" | "repeat"
    ) {
        return Err(ApiError::invalid(
            "dimension",
            "must be kind, category, source, resolution or repeat",
        ));
    }
    let limit = super::limit_param(q.limit, 500, 5000)?;
    let offset = super::offset_param(q.offset)?;
    let scope = scope_of(&state, &caller, q.region_id, q.district_id).await?;
    let (start, end) = month.bounds(state.config.tz);
    let window = chrono::Duration::days(state.config.repeat_window_d);
    let (dim, k) = (dimension.clone(), key.clone());
    let items = state
        .db
        .read(move |conn| -> ApiResult<Vec<Row>> {
            let skip = offset as usize;
            let take = limit as usize;
            let (ids, repeat_of): (Vec<String>, std::collections::HashMap<String, String>) =
                match dim.as_str() {
                    "repeat" => {
                        let (_, found) = repeat_calls(conn, &scope, start, end, window)?;
                        let page: Vec<(String, String)> =
                            found.into_iter().skip(skip).take(take).collect();
                        (
                            page.iter().map(|(c, _)| c.clone()).collect(),
                            page.into_iter().collect(),
                        )
                    }
                    "source" => {
                        let all = analysis::recorded_ids(conn, &scope, start, end)?;
                        let mut recorders: Vec<String> =
                            all.iter().map(|(_, by, _)| by.clone()).collect();
                        recorders.sort();
                        recorders.dedup();
                        let (roles, keys) = sources(conn, &recorders)?;
                        let want = source.unwrap_or(Source::Other);
                        let ids = all
                            .into_iter()
                            .filter(|(_, by, f)| {
                                Source::of(roles.get(by).copied(), keys.contains(by), f.is_some())
                                    == want
                            })
                            .map(|(id, ..)| id)
                            .skip(skip)
                            .take(take)
                            .collect();
                        (ids, Default::default())
                    }
                    other => {
                        let filter = match other {
                            "kind" => Filter::Kind(k.clone()),
                            "category" => Filter::Category(k.clone()),
                            _ => Filter::Resolution((k != NO_CODE).then(|| k.clone())),
                        };
                        (
                            analysis::ids_where(conn, &scope, start, end, &filter, offset, limit)?,
                            Default::default(),
                        )
                    }
                };
            let mut rows = tickets::get_many(conn, &ids)?;
            rows.sort_by_key(|t| ids.iter().position(|i| *i == t.id));
            Ok(rows
                .into_iter()
                .map(|t| Row {
                    repeat_of: repeat_of.get(&t.id).cloned(),
                    ticket_id: t.id,
                    external_ref: t.external_ref,
                    kind: t.kind,
                    status: t.status,
                    fault_category: t.fault_category,
                    resolution_code: t.resolution_code,
                    district_id: t.district_id,
                    address: t.address,
                    created_at: utc(t.created_at),
                    resolved_at: t.resolved_at.map(utc),
                })
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(DrillAnswer {
        month: month.to_string(),
        dimension,
        key,
        offset,
        limit,
        items,
    }))
}
