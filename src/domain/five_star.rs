//! The five-star evaluation as the customer's rule states it (seed 000, section 04): branches
//! ranked across the province, the churn gate before anything else, then the grid district's,
//! the call-center team's and the business hall's own clauses; and the joint accountability of
//! seed 002, a deduction shared up the chain.
//!
//! Branch rates are compared in hundredths of a percent (basis points), as the province
//! publishes them: a branch fixline runs has its rate rounded so, an imported one is given so.

use super::scoring::{competition_ranks, round2, Clause, Complaints, FiveStar};

/// The numbers of the rule, the seed's as defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvinceRules {
    /// Branches must rank within this many of the province ...
    pub top: usize,
    /// ... and reach the province's target, or be within this many basis points of the first
    /// (50 = 0.5 points).
    pub gap_bp: u32,
    /// The province's targets, basis points.
    pub install_target_bp: u32,
    pub maintenance_target_bp: u32,
    pub answer_target_bp: u32,
    pub online_resolution_target_bp: u32,
    /// 04 (1): a branch competes only within this many of the province for net churn of
    /// terminals in use (lowest first).
    pub churn_top: usize,
    /// 04 (2): the district leader's appraisal must be at least this.
    pub appraisal_min: f64,
    /// 04 (3): the team's KPI score must be at least this ...
    pub team_kpi_min: f64,
    /// ... and its complaints about the call center's service per call at most this many
    /// basis points (15 = 0.15 %).
    pub team_complaint_max_bp: u32,
    /// 04 (4): the hall's score (KPI and service appraisal, half each) must be more than this.
    pub hall_score_above: f64,
}

impl Default for ProvinceRules {
    fn default() -> Self {
        ProvinceRules {
            top: 5,
            gap_bp: 50,
            install_target_bp: 9500,
            maintenance_target_bp: 9500,
            answer_target_bp: 9000,
            online_resolution_target_bp: 8000,
            churn_top: 5,
            appraisal_min: 95.0,
            team_kpi_min: 95.0,
            team_complaint_max_bp: 15,
            hall_score_above: 95.0,
        }
    }
}

/// A branch's month as the province compares it. `None`: not known this month.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchMonth {
    pub code: String,
    pub install_bp: Option<i32>,
    pub maintenance_bp: Option<i32>,
    pub answer_bp: Option<i32>,
    pub online_resolution_bp: Option<i32>,
    /// Net churn of terminals in use, basis points (lower is better; negative when the branch
    /// gained more terminals than it lost).
    pub churn_bp: Option<i32>,
}

/// One branch measure across the province: its value, rank and the first's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placing {
    pub value_bp: Option<i32>,
    pub rank: Option<usize>,
    pub best_bp: Option<i32>,
}

/// A branch's standing in the province league.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchStanding {
    pub code: String,
    pub install: Placing,
    pub maintenance: Placing,
    pub answer: Placing,
    pub online_resolution: Placing,
    /// Rank for net churn, lowest churn first.
    pub churn: Placing,
}

fn placings(values: &[Option<i32>], higher_is_better: bool) -> Vec<Placing> {
    let ranks = competition_ranks(values, |a: i32, b| {
        if higher_is_better {
            a.cmp(&b)
        } else {
            b.cmp(&a)
        }
    });
    let known = values.iter().flatten().copied();
    let best = if higher_is_better {
        known.max()
    } else {
        known.min()
    };
    values
        .iter()
        .zip(ranks)
        .map(|(&value_bp, rank)| Placing {
            value_bp,
            rank,
            best_bp: best,
        })
        .collect()
}

/// Ranks every branch of the province on each measure; the answer is in the order given.
pub fn league(branches: &[BranchMonth]) -> Vec<BranchStanding> {
    let column = |f: fn(&BranchMonth) -> Option<i32>, higher: bool| {
        placings(&branches.iter().map(f).collect::<Vec<_>>(), higher)
    };
    let install = column(|b| b.install_bp, true);
    let maintenance = column(|b| b.maintenance_bp, true);
    let answer = column(|b| b.answer_bp, true);
    let online = column(|b| b.online_resolution_bp, true);
    let churn = column(|b| b.churn_bp, false);
    branches
        .iter()
        .enumerate()
        .map(|(i, b)| BranchStanding {
            code: b.code.clone(),
            install: install[i],
            maintenance: maintenance[i],
            answer: answer[i],
            online_resolution: online[i],
            churn: churn[i],
        })
        .collect()
}

fn pct(bp: i32) -> String {
    format!("{:.2}%", bp as f64 / 100.0)
}

/// 04 (1): the branch may compete only if it ranks within the top for net churn.
pub fn churn_gate(rules: &ProvinceRules, b: &BranchStanding) -> Clause {
    let (passed, reason) = match (b.churn.value_bp, b.churn.rank) {
        (Some(v), Some(rank)) if rank <= rules.churn_top => (
            true,
            format!(
                "branch {} net churn {} ranks {rank} in the province (top {})",
                b.code,
                pct(v),
                rules.churn_top
            ),
        ),
        (Some(v), Some(rank)) => (
            false,
            format!(
                "branch {} net churn {} ranks {rank} in the province, outside the top {}: none of its units may compete",
                b.code,
                pct(v),
                rules.churn_top
            ),
        ),
        _ => (
            false,
            format!("branch {}'s net churn is not known for the month", b.code),
        ),
    };
    Clause {
        clause: "churn_gate",
        passed,
        reason,
    }
}

/// A branch measure: within the province's top and at its target, or within the gap of the
/// first.
pub fn branch_clause(
    rules: &ProvinceRules,
    clause: &'static str,
    label: &str,
    branch: &str,
    p: Placing,
    target_bp: u32,
) -> Clause {
    let (Some(v), Some(rank), Some(best)) = (p.value_bp, p.rank, p.best_bp) else {
        return Clause {
            clause,
            passed: false,
            reason: format!("branch {branch}'s {label} is not known for the month"),
        };
    };
    let top = rules.top;
    let in_top = rank <= top;
    let reaches = i64::from(v) >= i64::from(target_bp);
    let gap = (i64::from(best) - i64::from(v)).max(0);
    let near = gap <= i64::from(rules.gap_bp);
    let head = format!(
        "branch {branch}'s {label} {} ranks {rank} in the province",
        pct(v)
    );
    let behind = format!(
        "{:.2} points behind the first ({})",
        gap as f64 / 100.0,
        pct(best)
    );
    let limit = format!("{:.1}", rules.gap_bp as f64 / 100.0);
    let (passed, reason) = if in_top && reaches {
        (
            true,
            format!(
                "{head} (top {top}) and reaches the target {}",
                pct(target_bp as i32)
            ),
        )
    } else if near {
        (true, format!("{head}; {behind}, within {limit}"))
    } else if in_top {
        (
            false,
            format!(
                "{head} (top {top}) but is below the target {}, and {behind}, more than {limit}",
                pct(target_bp as i32)
            ),
        )
    } else {
        (
            false,
            format!("{head}, outside the top {top}, and {behind}, more than {limit}"),
        )
    };
    Clause {
        clause,
        passed,
        reason,
    }
}

fn verdict(clauses: Vec<Clause>) -> FiveStar {
    FiveStar {
        eligible: clauses.iter().all(|c| c.passed),
        clauses,
    }
}

fn at_least(clause: &'static str, what: &str, value: Option<f64>, min: f64) -> Clause {
    let (passed, reason) = match value {
        None => (false, format!("{what} is not recorded for the month")),
        Some(v) if v >= min => (true, format!("{what} {v} is at least {min}")),
        Some(v) => (false, format!("{what} {v} is below {min}")),
    };
    Clause {
        clause,
        passed,
        reason,
    }
}

fn no_upheld(clause: &'static str, whose: &str, c: Complaints) -> Clause {
    let passed = c.upheld == 0;
    let reason = if passed {
        format!("no verified complaint against {whose} this month")
    } else {
        format!(
            "{} verified complaint(s) against {whose} this month, {} of them from 12345/12315",
            c.upheld, c.upheld_government
        )
    };
    Clause {
        clause,
        passed,
        reason,
    }
}

/// 04 (2) with 04 (1): a five-star grid district.
pub fn district(
    rules: &ProvinceRules,
    branch: &BranchStanding,
    appraisal: Option<f64>,
    complaints: Complaints,
) -> FiveStar {
    verdict(vec![
        churn_gate(rules, branch),
        branch_clause(
            rules,
            "branch_install",
            "installation timeliness",
            &branch.code,
            branch.install,
            rules.install_target_bp,
        ),
        branch_clause(
            rules,
            "branch_maintenance",
            "maintenance timeliness",
            &branch.code,
            branch.maintenance,
            rules.maintenance_target_bp,
        ),
        at_least(
            "appraisal",
            "the district leader's appraisal",
            appraisal,
            rules.appraisal_min,
        ),
        no_upheld("complaints", "the district's grid staff", complaints),
    ])
}

/// A call-center team's month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TeamMonth {
    pub kpi: Option<f64>,
    /// Calls handled, and complaints about the call center's own service among them.
    pub calls: u64,
    pub service_complaints: u64,
    /// Verified 12345/12315 complaints.
    pub government_upheld: u64,
}

/// 04 (3) with 04 (1): a five-star call-center team.
pub fn team(rules: &ProvinceRules, branch: &BranchStanding, t: TeamMonth) -> FiveStar {
    let rate = Clause {
        clause: "complaint_rate",
        passed: t.calls > 0
            && t.service_complaints as u128 * 10_000
                <= rules.team_complaint_max_bp as u128 * t.calls as u128,
        reason: if t.calls == 0 {
            "no calls handled this month".to_string()
        } else {
            format!(
                "{} complaint(s) about the service in {} calls: {:.2}%, limit {:.2}%",
                t.service_complaints,
                t.calls,
                t.service_complaints as f64 * 100.0 / t.calls as f64,
                rules.team_complaint_max_bp as f64 / 100.0
            )
        },
    };
    verdict(vec![
        churn_gate(rules, branch),
        branch_clause(
            rules,
            "branch_answer_rate",
            "manual answer rate",
            &branch.code,
            branch.answer,
            rules.answer_target_bp,
        ),
        branch_clause(
            rules,
            "branch_online_resolution",
            "online resolution rate",
            &branch.code,
            branch.online_resolution,
            rules.online_resolution_target_bp,
        ),
        at_least("kpi", "the team's KPI score", t.kpi, rules.team_kpi_min),
        rate,
        no_upheld(
            "government_complaints",
            "the team from 12345/12315",
            Complaints {
                upheld: t.government_upheld,
                upheld_government: t.government_upheld,
                ..Complaints::default()
            },
        ),
    ])
}

/// A business hall's month, with last quarter's gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HallMonth {
    /// Last quarter's on-site inspection and hall callback satisfaction reached the
    /// province's targets (None: not known).
    pub inspection_met: Option<bool>,
    pub callback_met: Option<bool>,
    pub kpi: Option<f64>,
    pub appraisal: Option<f64>,
    pub complaints: Complaints,
}

/// 04 (4) with 04 (1): a five-star business hall.
pub fn hall(rules: &ProvinceRules, branch: &BranchStanding, h: HallMonth) -> FiveStar {
    let gate = match (h.inspection_met, h.callback_met) {
        (Some(true), Some(true)) => Clause {
            clause: "quarter_gate",
            passed: true,
            reason: "last quarter's inspection and hall callback satisfaction reached the province's targets".into(),
        },
        (i, c) => Clause {
            clause: "quarter_gate",
            passed: false,
            reason: format!(
                "not eligible this quarter: last quarter's inspection {} and hall callback satisfaction {}",
                met(i),
                met(c)
            ),
        },
    };
    let score = match (h.kpi, h.appraisal) {
        (Some(k), Some(a)) => {
            // Two decimals, as the province publishes it: 96 and 94 make 95.00, not more.
            let s = round2(k * 0.5 + a * 0.5);
            Clause {
                clause: "score",
                passed: s > rules.hall_score_above,
                reason: format!(
                    "score {s:.2} (KPI {k} × 50% + service appraisal {a} × 50%) {} {}",
                    if s > rules.hall_score_above {
                        "is more than"
                    } else {
                        "is not more than"
                    },
                    rules.hall_score_above
                ),
            }
        }
        _ => Clause {
            clause: "score",
            passed: false,
            reason: "the hall's KPI or service appraisal is not recorded for the month".into(),
        },
    };
    verdict(vec![
        churn_gate(rules, branch),
        gate,
        score,
        no_upheld("complaints", "the hall", h.complaints),
    ])
}

fn met(x: Option<bool>) -> &'static str {
    match x {
        Some(true) => "met its target",
        Some(false) => "missed its target",
        None => "is not known",
    }
}

/// Who shares a deduction for an at-fault complaint (seed 002, joint accountability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// The person responsible.
    Person,
    TeamLeader,
    SectionHead,
    Leadership,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Person,
        Level::TeamLeader,
        Level::SectionHead,
        Level::Leadership,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Person => "person",
            Level::TeamLeader => "team_leader",
            Level::SectionHead => "section_head",
            Level::Leadership => "leadership",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A deduction shared up the chain: each level's share of it, in points, the person first.
/// Levels with no share are left out.
pub fn shared(deduction: f64, shares: [f64; 4]) -> Vec<(Level, f64)> {
    [
        Level::Person,
        Level::TeamLeader,
        Level::SectionHead,
        Level::Leadership,
    ]
    .into_iter()
    .zip(shares)
    .filter(|(_, s)| *s > 0.0)
    .map(|(l, s)| (l, round2(deduction * s)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked province: six branches, A and B on fixline, C to F imported.
    fn province() -> Vec<BranchMonth> {
        let b = |code: &str, install, maintenance, churn| BranchMonth {
            code: code.into(),
            install_bp: Some(install),
            maintenance_bp: Some(maintenance),
            answer_bp: Some(9200),
            online_resolution_bp: Some(8500),
            churn_bp: Some(churn),
        };
        vec![
            // A: last on installation, first on churn.
            b("A", 9700, 9800, 120),
            // B: the best figures, but the most churn: out, whatever its figures.
            b("B", 9900, 9900, 400),
            b("C", 9740, 9600, 150),
            b("D", 9750, 9700, 160),
            b("E", 9760, 9650, 170),
            b("F", 9720, 9550, 180),
        ]
    }

    fn standing(code: &str) -> BranchStanding {
        league(&province())
            .into_iter()
            .find(|s| s.code == code)
            .unwrap()
    }

    fn clause<'a>(f: &'a FiveStar, name: &str) -> &'a Clause {
        f.clauses.iter().find(|c| c.clause == name).unwrap()
    }

    #[test]
    fn the_league_ranks_by_rate_and_churn_lowest_first() {
        let a = standing("A");
        assert_eq!(a.install.rank, Some(6));
        assert_eq!(a.install.best_bp, Some(9900));
        assert_eq!(a.churn.rank, Some(1), "the lowest churn ranks first");
        assert_eq!(standing("B").churn.rank, Some(6));
    }

    #[test]
    fn sixth_but_within_half_a_point_of_the_first_qualifies() {
        let rules = ProvinceRules::default();
        // Installation: B 99.00, C 98.90, D 98.80, E 98.75, F 98.70, A 98.60.
        let mut p = province();
        for (i, v) in [9860, 9900, 9890, 9880, 9875, 9870].into_iter().enumerate() {
            p[i].install_bp = Some(v);
        }
        let a = league(&p).remove(0);
        assert_eq!(a.install.rank, Some(6));
        let c = branch_clause(
            &rules,
            "branch_install",
            "installation timeliness",
            "A",
            a.install,
            9950,
        );
        assert!(c.passed, "{}", c.reason);
        assert!(
            c.reason.contains("0.40 points behind the first (99.00%)"),
            "{}",
            c.reason
        );
        // 0.51 behind, sixth: out.
        p[0].install_bp = Some(9849);
        let a = league(&p).remove(0);
        let c = branch_clause(
            &rules,
            "branch_install",
            "installation timeliness",
            "A",
            a.install,
            9950,
        );
        assert!(!c.passed, "{}", c.reason);
        assert!(c.reason.contains("outside the top 5"), "{}", c.reason);
    }

    #[test]
    fn a_branch_failing_the_churn_gate_disqualifies_every_district() {
        let rules = ProvinceRules::default();
        let v = district(&rules, &standing("B"), Some(99.0), Complaints::default());
        assert!(!v.eligible);
        assert!(!clause(&v, "churn_gate").passed);
        assert!(
            clause(&v, "branch_install").passed,
            "its figures are the best"
        );
        assert!(clause(&v, "churn_gate").reason.contains("ranks 6"));
    }

    #[test]
    fn appraisal_94_9_fails_and_95_passes() {
        let rules = ProvinceRules::default();
        let d = standing("D");
        assert!(!district(&rules, &d, Some(94.9), Complaints::default()).eligible);
        let v = district(&rules, &d, Some(95.0), Complaints::default());
        assert!(v.eligible, "{:?}", v.clauses);
        assert!(!district(&rules, &d, None, Complaints::default()).eligible);
    }

    #[test]
    fn one_verified_12345_complaint_fails_its_district_only() {
        let rules = ProvinceRules::default();
        let d = standing("D");
        let one = Complaints {
            upheld: 1,
            upheld_government: 1,
            ..Complaints::default()
        };
        let v = district(&rules, &d, Some(96.0), one);
        assert!(!v.eligible);
        assert!(clause(&v, "complaints")
            .reason
            .contains("1 of them from 12345/12315"));
        assert!(district(&rules, &d, Some(96.0), Complaints::default()).eligible);
    }

    #[test]
    fn a_team_at_0_16_percent_complaints_fails() {
        let rules = ProvinceRules::default();
        let d = standing("D");
        let t = |complaints| TeamMonth {
            kpi: Some(96.0),
            calls: 10_000,
            service_complaints: complaints,
            government_upheld: 0,
        };
        let v = team(&rules, &d, t(16));
        assert!(!v.eligible);
        assert!(clause(&v, "complaint_rate").reason.contains("0.16%"));
        assert!(team(&rules, &d, t(15)).eligible, "0.15 % is at the limit");
    }

    #[test]
    fn a_hall_needs_last_quarters_gate_and_more_than_95() {
        let rules = ProvinceRules::default();
        let d = standing("D");
        let h = |inspection, kpi, appraisal| HallMonth {
            inspection_met: Some(inspection),
            callback_met: Some(true),
            kpi: Some(kpi),
            appraisal: Some(appraisal),
            complaints: Complaints::default(),
        };
        let gated = hall(&rules, &d, h(false, 99.0, 99.0));
        assert!(!gated.eligible);
        assert!(!clause(&gated, "quarter_gate").passed);
        let exactly = hall(&rules, &d, h(true, 96.0, 94.0));
        assert!(!exactly.eligible, "95 is not more than 95");
        assert!(clause(&exactly, "score")
            .reason
            .contains("is not more than 95"));
        assert!(hall(&rules, &d, h(true, 96.0, 94.1)).eligible);
    }

    #[test]
    fn a_deduction_is_shared_up_the_chain() {
        assert_eq!(
            shared(2.0, [1.0, 0.5, 0.3, 0.2]),
            vec![
                (Level::Person, 2.0),
                (Level::TeamLeader, 1.0),
                (Level::SectionHead, 0.6),
                (Level::Leadership, 0.4)
            ]
        );
        assert_eq!(
            shared(2.0, [1.0, 0.0, 0.0, 0.0]),
            vec![(Level::Person, 2.0)]
        );
    }
}
