//! The monthly report: counted figures per district, technician and region, scored by the
//! domain rules. Read-only; the same month always gives the same answer for the same data.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::QueryResult;

use crate::db::DbConn;
use crate::domain::period::Month;
use crate::domain::scoring::{competition_ranks, composite, standings, Figures, Rules, Standing};
use crate::domain::Role;
use crate::store::users::{self, UserFilter};
use crate::store::{appraisals, districts, regions, reports};

/// One district's line of the report.
#[derive(Debug, Clone)]
pub struct DistrictLine {
    pub id: String,
    pub code: String,
    pub name: String,
    pub region_id: String,
    pub figures: Figures,
    pub standing: Standing,
}

/// A technician's or region's line: figures, composite score and rank among its peers.
#[derive(Debug, Clone)]
pub struct RollUpLine {
    pub id: String,
    pub code: String,
    pub name: String,
    pub region_ids: Vec<String>,
    pub figures: Figures,
    pub composite: Option<f64>,
    pub rank: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct MonthReport {
    pub month: Month,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Every district in the deployment, ranked among all of them.
    pub districts: Vec<DistrictLine>,
    pub technicians: Vec<RollUpLine>,
    pub regions: Vec<RollUpLine>,
}

fn ranked(rules: &Rules, mut lines: Vec<RollUpLine>) -> Vec<RollUpLine> {
    for l in &mut lines {
        l.composite = composite(rules, &l.figures);
    }
    let ranks = competition_ranks(
        &lines.iter().map(|l| l.composite).collect::<Vec<_>>(),
        |a: f64, b| a.total_cmp(&b),
    );
    for (l, r) in lines.iter_mut().zip(ranks) {
        l.rank = r;
    }
    lines
}

/// Builds the report for `month`.
pub fn month_report(
    conn: &mut DbConn,
    tz: Tz,
    rules: &Rules,
    month: Month,
) -> QueryResult<MonthReport> {
    let (start, end) = month.bounds(tz);
    let mut counted = reports::month_figures(conn, start, end)?;
    let appraised: HashMap<String, f64> = appraisals::for_month(conn, &month.to_string())?
        .into_iter()
        .collect();
    let all = districts::summaries(conn)?;
    let figures: Vec<Figures> = all
        .iter()
        .map(|(id, ..)| {
            let mut f = counted.by_district.remove(id).unwrap_or_default();
            f.appraisal = appraised.get(id).copied();
            f
        })
        .collect();
    let scored = standings(rules, &month.to_string(), &figures);
    let districts: Vec<DistrictLine> = all
        .into_iter()
        .zip(figures)
        .zip(scored)
        .map(
            |(((id, code, name, region_id), figures), standing)| DistrictLine {
                id,
                code,
                name,
                region_id,
                figures,
                standing,
            },
        )
        .collect();

    let mut regions: Vec<RollUpLine> = regions::list(conn, None)?
        .into_iter()
        .map(|r| RollUpLine {
            figures: counted.unplaced_by_region.remove(&r.id).unwrap_or_default(),
            region_ids: vec![r.id.clone()],
            id: r.id,
            code: r.code,
            name: r.name,
            composite: None,
            rank: None,
        })
        .collect();
    for d in &districts {
        if let Some(r) = regions.iter_mut().find(|r| r.id == d.region_id) {
            r.figures.absorb(&d.figures);
        }
    }

    let technicians: Vec<RollUpLine> = users::list(
        conn,
        &UserFilter {
            role: Some(Role::Technician),
            region_id: None,
        },
    )?
    .into_iter()
    .filter_map(|u| {
        let figures = counted.by_technician.remove(&u.id)?;
        Some(RollUpLine {
            id: u.id,
            code: u.username,
            name: u.display_name,
            region_ids: u.region_ids,
            figures,
            composite: None,
            rank: None,
        })
    })
    .collect();

    Ok(MonthReport {
        month,
        start,
        end,
        districts,
        technicians: ranked(rules, technicians),
        regions: ranked(rules, regions),
    })
}
