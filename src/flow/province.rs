//! The province's five-star month (seed 000, section 04): every branch ranked across the
//! province, from fixline's own counts for the branches it runs and from imported figures for
//! the rest, then each grid district's verdict by 04-(1) and 04-(2). Read-only; the same month
//! always gives the same answer for the same data.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::QueryResult;

use super::report::{month_report, DistrictLine};
use crate::db::DbConn;
use crate::domain::five_star::{
    self, league, BranchMonth, BranchStanding, HallMonth, Level, ProvinceRules, TeamMonth,
};
use crate::domain::org::{chain, UnitKind};
use crate::domain::period::Month;
use crate::domain::scoring::{Clause, Complaints, FiveStar, Metric, Ratio, Rules};
use crate::domain::staff::{self, Rating, StaffMonth, StaffRules};
use crate::domain::Role;
use crate::store::branches::{self, BranchRow, FiguresRow};
use crate::store::complaints::{self, ComplaintRow};
use crate::store::org::{self, StaffAppraisalRow, UnitFiguresRow, UnitRow};
use crate::store::regions;
use crate::store::users::{self, UserFilter};

/// One branch's month in the province league.
#[derive(Debug, Clone)]
pub struct BranchLine {
    pub branch: BranchRow,
    /// The regions it holds; a branch holding any runs on fixline.
    pub region_ids: Vec<String>,
    /// fixline's counts for a branch it runs: installation and maintenance (repair)
    /// timeliness over all its regions' tickets.
    pub counted: Option<(Ratio, Ratio)>,
    /// The import that counts this month.
    pub imported: Option<FiguresRow>,
    pub figures: BranchMonth,
    pub standing: BranchStanding,
}

impl BranchLine {
    pub fn on_fixline(&self) -> bool {
        self.counted.is_some()
    }
}

/// A grid district's five-star verdict.
#[derive(Debug, Clone)]
pub struct DistrictVerdict {
    pub line: DistrictLine,
    /// Index of its branch in [`ProvinceMonth::branches`]; `None` when its region is in no
    /// branch.
    pub branch: Option<usize>,
    pub verdict: FiveStar,
}

#[derive(Debug, Clone)]
pub struct ProvinceMonth {
    pub month: Month,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Every branch, by code.
    pub branches: Vec<BranchLine>,
    /// Every district of the deployment.
    pub districts: Vec<DistrictVerdict>,
}

/// A branch's figures for the league: fixline's where it counts them, the import's otherwise.
fn branch_month(
    code: &str,
    counted: Option<(Ratio, Ratio)>,
    imported: Option<&FiguresRow>,
) -> BranchMonth {
    let pick = |f: fn(&FiguresRow) -> Option<i32>| imported.and_then(f);
    BranchMonth {
        code: code.to_string(),
        install_bp: match counted {
            Some((install, _)) => install.bp(),
            None => pick(|f| f.install_bp),
        },
        maintenance_bp: match counted {
            Some((_, maintenance)) => maintenance.bp(),
            None => pick(|f| f.maintenance_bp),
        },
        answer_bp: pick(|f| f.answer_bp),
        online_resolution_bp: pick(|f| f.online_resolution_bp),
        churn_bp: pick(|f| f.churn_bp),
    }
}

/// Builds the province's month.
pub fn province_month(
    conn: &mut DbConn,
    tz: Tz,
    scoring: &Rules,
    rules: &ProvinceRules,
    month: Month,
) -> QueryResult<ProvinceMonth> {
    let report = month_report(conn, tz, scoring, month)?;
    let held = branches::regions_by_branch(conn)?;
    let mut imported = branches::figures_for_month(conn, &month.to_string())?;
    // Each branch's figures first: the league ranks them all at once.
    let mut parts = Vec::new();
    for branch in branches::list(conn)? {
        let region_ids = held.get(&branch.id).cloned().unwrap_or_default();
        let counted = (!region_ids.is_empty()).then(|| {
            let mut install = Ratio::default();
            let mut maintenance = Ratio::default();
            for r in report.regions.iter().filter(|r| region_ids.contains(&r.id)) {
                install.add(r.figures.get(Metric::Install));
                maintenance.add(r.figures.get(Metric::Repair));
            }
            (install, maintenance)
        });
        let imported = imported.remove(&branch.id);
        let figures = branch_month(&branch.code, counted, imported.as_ref());
        parts.push((branch, region_ids, counted, imported, figures));
    }
    let months: Vec<BranchMonth> = parts.iter().map(|p| p.4.clone()).collect();
    let lines: Vec<BranchLine> = parts
        .into_iter()
        .zip(league(&months))
        .map(
            |((branch, region_ids, counted, imported, figures), standing)| BranchLine {
                branch,
                region_ids,
                counted,
                imported,
                figures,
                standing,
            },
        )
        .collect();

    let of_region: HashMap<&str, usize> = lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.region_ids.iter().map(move |r| (r.as_str(), i)))
        .collect();
    let region_codes: HashMap<String, String> = regions::list(conn, None)?
        .into_iter()
        .map(|r| (r.id, r.code))
        .collect();
    let districts = report
        .districts
        .into_iter()
        .map(|line| {
            let branch = of_region.get(line.region_id.as_str()).copied();
            let verdict = match branch {
                Some(i) => five_star::district(
                    rules,
                    &lines[i].standing,
                    line.figures.appraisal,
                    line.figures.complaints,
                ),
                None => FiveStar {
                    eligible: false,
                    clauses: vec![Clause {
                        clause: "branch",
                        passed: false,
                        reason: format!(
                            "region {} belongs to no branch, so the district has no place in the province",
                            region_codes
                                .get(&line.region_id)
                                .map_or(line.region_id.as_str(), String::as_str)
                        ),
                    }],
                },
            };
            DistrictVerdict {
                line,
                branch,
                verdict,
            }
        })
        .collect();
    Ok(ProvinceMonth {
        month,
        start: report.start,
        end: report.end,
        branches: lines,
        districts,
    })
}

/// A call-center team's or business hall's verdict.
#[derive(Debug, Clone)]
pub struct UnitVerdict {
    pub unit: UnitRow,
    /// Index of its branch in [`ProvinceMonth::branches`].
    pub branch: usize,
    /// The month's import (None: nothing imported).
    pub figures: Option<UnitFiguresRow>,
    /// For a hall: the import of last quarter that carried its inspection and callback
    /// results.
    pub quarter: Option<UnitFiguresRow>,
    pub verdict: FiveStar,
}

/// The month's verdict for every unit of `kind` (call-center teams, 04-(3), or halls,
/// 04-(4)), from their imported figures and the upheld complaints fixline holds against their
/// members (received in the month).
pub fn unit_verdicts(
    conn: &mut DbConn,
    tz: Tz,
    p: &ProvinceMonth,
    rules: &ProvinceRules,
    kind: UnitKind,
) -> QueryResult<Vec<UnitVerdict>> {
    let (start, end) = p.month.bounds(tz);
    let teams = org::teams(conn)?;
    let members: Vec<String> = teams.keys().cloned().collect();
    // (service, 12345/12315) complaints fixline upheld against each unit's members.
    let mut held: HashMap<String, (u64, u64)> = HashMap::new();
    for c in complaints::naming(conn, start, end, &members, true)? {
        let Some(unit) = c.responsible_user_id.as_ref().and_then(|u| teams.get(u)) else {
            continue;
        };
        let government = crate::domain::complaint::Source::parse("source", &c.source)
            .is_ok_and(crate::domain::complaint::Source::is_government);
        let e = held.entry(unit.clone()).or_default();
        if government {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    let quarter = p.month.previous_quarter().map(|m| m.to_string());
    let mut months: Vec<String> = quarter.to_vec();
    months.push(p.month.to_string());
    let imports = org::figures_for_months(conn, &months)?;
    let latest = |unit: &str, months: &[String], pick: fn(&UnitFiguresRow) -> bool| {
        imports
            .iter()
            .find(|f| f.unit_id == unit && months.contains(&f.month) && pick(f))
            .cloned()
    };
    let this_month = [p.month.to_string()];
    let mut out = Vec::new();
    for unit in org::list(conn)?.into_iter().filter(|u| u.kind == kind) {
        let Some(branch) = p
            .branches
            .iter()
            .position(|b| b.branch.id == unit.branch_id)
        else {
            continue;
        };
        let standing = &p.branches[branch].standing;
        let figures = latest(&unit.id, &this_month, |_| true);
        let f = figures.as_ref();
        let count = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
        let (own_service, own_government) = held.get(&unit.id).copied().unwrap_or_default();
        let government = count(f.and_then(|f| f.government_upheld)) + own_government;
        let service = count(f.and_then(|f| f.service_complaints)) + own_service;
        let (quarter_row, verdict) = match kind {
            UnitKind::Hall => {
                let q = latest(&unit.id, &quarter, |f| {
                    f.inspection_met.is_some() || f.callback_met.is_some()
                });
                let v = five_star::hall(
                    rules,
                    standing,
                    HallMonth {
                        inspection_met: q.as_ref().and_then(|q| q.inspection_met),
                        callback_met: q.as_ref().and_then(|q| q.callback_met),
                        kpi: f.and_then(|f| f.kpi),
                        appraisal: f.and_then(|f| f.appraisal),
                        complaints: Complaints {
                            upheld: service + government,
                            upheld_government: government,
                            ..Complaints::default()
                        },
                    },
                );
                (q, v)
            }
            _ => (
                None,
                five_star::team(
                    rules,
                    standing,
                    TeamMonth {
                        kpi: f.and_then(|f| f.kpi),
                        calls: count(f.and_then(|f| f.calls)),
                        service_complaints: service,
                        government_upheld: government,
                    },
                ),
            ),
        };
        out.push(UnitVerdict {
            unit,
            branch,
            figures,
            quarter: quarter_row,
            verdict,
        });
    }
    Ok(out)
}

/// One line of the accountability ledger: a share of an upheld complaint's deduction charged
/// to a person at a level, counted in a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerLine {
    pub complaint: ComplaintRow,
    pub level: Level,
    pub user_id: String,
    pub unit_id: Option<String>,
    pub points: f64,
}

/// The month's ledger: every upheld complaint received in the month that names a person
/// responsible and a deduction, shared up that person's chain by `shares` (person, team
/// leader, section head, leadership). A complaint later dismissed on appeal leaves it.
pub fn ledger(
    conn: &mut DbConn,
    tz: Tz,
    shares: [f64; 4],
    month: Month,
    scope: Option<&[String]>,
) -> QueryResult<Vec<LedgerLine>> {
    let (start, end) = month.bounds(tz);
    let upheld = complaints::upheld_with_deduction(conn, start, end, scope)?;
    let teams = org::teams(conn)?;
    let units = org::chain_units(conn)?;
    let mut out = Vec::new();
    for c in upheld {
        let (Some(person), Some(deduction)) = (c.responsible_user_id.clone(), c.deduction) else {
            continue;
        };
        let parts: HashMap<Level, f64> = five_star::shared(deduction, shares).into_iter().collect();
        for (level, unit_id, user_id) in
            chain(&person, teams.get(&person).map(String::as_str), &units)
        {
            if let Some(points) = parts.get(&level) {
                out.push(LedgerLine {
                    complaint: c.clone(),
                    level,
                    user_id,
                    unit_id,
                    points: *points,
                });
            }
        }
    }
    Ok(out)
}

/// A technician's staff-star month.
#[derive(Debug, Clone)]
pub struct StaffLine {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub region_ids: Vec<String>,
    /// Their team, if they are in one.
    pub team: Option<UnitRow>,
    /// Their branch (through their first region), by id.
    pub branch_id: Option<String>,
    pub month: StaffMonth,
    pub appraisal: Option<StaffAppraisalRow>,
    pub rating: Rating,
}

/// A group's top three and bottom three, as indexes into the staff lines.
#[derive(Debug, Clone)]
pub struct Named {
    pub top: Vec<usize>,
    pub bottom: Vec<usize>,
}

/// The month's staff stars.
#[derive(Debug, Clone)]
pub struct StaffReport {
    pub lines: Vec<StaffLine>,
    /// Each team with people in it, and its named.
    pub teams: Vec<(UnitRow, Named)>,
    /// Each branch (by id) with technicians, and its named.
    pub branches: Vec<(String, Named)>,
}

/// Every technician's rating for the month, with the top three and bottom three of each team
/// and each branch.
pub fn staff_month(
    conn: &mut DbConn,
    tz: Tz,
    scoring: &Rules,
    rules: &StaffRules,
    month: Month,
) -> QueryResult<StaffReport> {
    let report = month_report(conn, tz, scoring, month)?;
    let appraisals = org::appraisals_for_month(conn, &month.to_string())?;
    let teams = org::teams(conn)?;
    let units = org::list(conn)?;
    let branch_of: HashMap<String, String> = regions::list(conn, None)?
        .into_iter()
        .filter_map(|r| Some((r.id, r.branch_id?)))
        .collect();
    let technicians = users::list(
        conn,
        &UserFilter {
            role: Some(Role::Technician),
            region_id: None,
        },
    )?;
    let mut lines = Vec::new();
    for u in technicians.into_iter().filter(|u| u.active) {
        let f = report
            .technicians
            .iter()
            .find(|t| t.id == u.id)
            .map(|t| t.figures.clone())
            .unwrap_or_default();
        let mut finished = f.get(Metric::Install);
        finished.add(f.get(Metric::Repair));
        let appraisal = appraisals.get(&u.id).cloned();
        let m = StaffMonth {
            contact: f.get(Metric::Contact),
            arrival: f.get(Metric::Arrival),
            repair: finished,
            satisfaction: f.get(Metric::Satisfaction),
            volume: finished.den,
            complaints: f.complaints.upheld,
            appraisal: appraisal
                .as_ref()
                .map(|a| [a.skill, a.knowledge, a.attitude]),
        };
        let team = teams
            .get(&u.id)
            .and_then(|t| units.iter().find(|x| &x.id == t))
            .cloned();
        lines.push(StaffLine {
            branch_id: u.region_ids.iter().find_map(|r| branch_of.get(r).cloned()),
            rating: staff::rate(rules, &m),
            user_id: u.id,
            username: u.username,
            display_name: u.display_name,
            region_ids: u.region_ids,
            team,
            month: m,
            appraisal,
        });
    }
    let named = |members: &[usize]| {
        let scores: Vec<Option<f64>> = members.iter().map(|&i| lines[i].rating.score).collect();
        let (top, bottom) = staff::top_and_bottom(&scores);
        Named {
            top: top.into_iter().map(|i| members[i]).collect(),
            bottom: bottom.into_iter().map(|i| members[i]).collect(),
        }
    };
    let mut by_team = Vec::new();
    for unit in units.iter().filter(|u| u.kind == UnitKind::Team) {
        let members: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].team.as_ref().is_some_and(|t| t.id == unit.id))
            .collect();
        if !members.is_empty() {
            by_team.push((unit.clone(), named(&members)));
        }
    }
    let mut by_branch = Vec::new();
    for b in branches::list(conn)? {
        let members: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].branch_id.as_deref() == Some(b.id.as_str()))
            .collect();
        if !members.is_empty() {
            by_branch.push((b.id, named(&members)));
        }
    }
    Ok(StaffReport {
        lines,
        teams: by_team,
        branches: by_branch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imported(install: Option<i32>, churn: Option<i32>) -> FiguresRow {
        FiguresRow {
            id: "f".into(),
            branch_id: "b".into(),
            month: "2026-11".into(),
            install_bp: install,
            maintenance_bp: Some(9600),
            answer_bp: Some(9100),
            online_resolution_bp: None,
            churn_bp: churn,
            source: "province".into(),
            imported_by: "u".into(),
            imported_at: NaiveDateTime::default(),
        }
    }

    #[test]
    fn a_branch_on_fixline_takes_its_own_timeliness_and_the_imported_rest() {
        let counted = Some((Ratio::new(2, 3), Ratio::new(0, 0)));
        let f = branch_month("A", counted, Some(&imported(Some(9900), Some(-25))));
        assert_eq!(f.install_bp, Some(6667), "fixline's count, not the import");
        assert_eq!(f.maintenance_bp, None, "no repair finished: n/a");
        assert_eq!(f.answer_bp, Some(9100));
        assert_eq!(f.churn_bp, Some(-25));
        let g = branch_month("C", None, Some(&imported(Some(9900), None)));
        assert_eq!(g.install_bp, Some(9900));
        assert_eq!(g.maintenance_bp, Some(9600));
        assert_eq!(g.churn_bp, None);
        assert_eq!(branch_month("D", None, None).install_bp, None);
    }
}
