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
use crate::domain::five_star::{self, league, BranchMonth, BranchStanding, ProvinceRules};
use crate::domain::period::Month;
use crate::domain::scoring::{Clause, FiveStar, Metric, Ratio, Rules};
use crate::store::branches::{self, BranchRow, FiguresRow};
use crate::store::regions;

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
    let mut lines: Vec<BranchLine> = Vec::new();
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
        lines.push(BranchLine {
            standing: league(std::slice::from_ref(&figures)).remove(0),
            branch,
            region_ids,
            counted,
            imported,
            figures,
        });
    }
    let months: Vec<BranchMonth> = lines.iter().map(|l| l.figures.clone()).collect();
    for (line, standing) in lines.iter_mut().zip(league(&months)) {
        line.standing = standing;
    }

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
