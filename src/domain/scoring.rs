//! Monthly district scores and the five-star rule (DESIGN rules 7 and 8, seed 000 section
//! 04-(2)), as pure functions of counted figures.
//!
//! Every metric is a [`Ratio`] of whole counts, so a rate is never a division by zero (no
//! tickets is *n/a*) and comparisons are exact: "within 0.5 points of the best" and "reaches
//! the target" are decided by cross-multiplying integers, not by floating-point rates.

use std::cmp::Ordering;

use super::Invalid;

/// The scored metrics, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Pushed to the on-duty staff within 3 minutes, of tickets recorded in the month.
    Dispatch,
    /// Acknowledged (customer contacted, appointment agreed) within 20 minutes of assignment.
    Contact,
    /// Checked in on site by the appointment (plus grace).
    Arrival,
    /// Installations finished by their promise, of installations finished in the month.
    Install,
    /// Repairs finished by their promise, of repairs finished in the month.
    Repair,
    /// Resolved tickets whose callback was made (reached, or unreachable after every attempt).
    CallbackCoverage,
    /// Satisfied or basically satisfied, of customers who answered: reached by a phone
    /// callback, or replying to the SMS survey.
    Satisfaction,
}

/// How many metrics there are.
pub const METRICS: usize = 7;

impl Metric {
    pub const ALL: [Metric; METRICS] = [
        Metric::Dispatch,
        Metric::Contact,
        Metric::Arrival,
        Metric::Install,
        Metric::Repair,
        Metric::CallbackCoverage,
        Metric::Satisfaction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Dispatch => "dispatch",
            Metric::Contact => "contact",
            Metric::Arrival => "arrival",
            Metric::Install => "install_timeliness",
            Metric::Repair => "repair_timeliness",
            Metric::CallbackCoverage => "callback_coverage",
            Metric::Satisfaction => "satisfaction",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Metric, Invalid> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!(
                        "`{s}` is not one of {}",
                        Metric::ALL.map(|m| m.as_str()).join(", ")
                    ),
                )
            })
    }

    pub fn index(self) -> usize {
        self as usize
    }

    fn label(self) -> &'static str {
        match self {
            Metric::Install => "installation timeliness",
            Metric::Repair => "repair timeliness",
            other => other.as_str(),
        }
    }
}

/// `num` of `den`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

impl Ratio {
    pub fn new(num: u64, den: u64) -> Ratio {
        Ratio { num, den }
    }

    /// The rate, or `None` (n/a) when nothing was counted.
    pub fn rate(self) -> Option<f64> {
        (self.den > 0).then(|| self.num as f64 / self.den as f64)
    }

    pub fn add(&mut self, other: Ratio) {
        self.num += other.num;
        self.den += other.den;
    }

    /// Exact comparison of two rates (both must have a denominator).
    pub fn cmp_rate(self, other: Ratio) -> Ordering {
        (self.num as u128 * other.den as u128).cmp(&(other.num as u128 * self.den as u128))
    }

    /// The rate in basis points, rounded half up, as the province publishes rates; `None`
    /// when nothing was counted.
    pub fn bp(self) -> Option<i32> {
        (self.den > 0).then(|| {
            let num = self.num as u128 * 20_000 + self.den as u128;
            (num / (2 * self.den as u128)) as i32
        })
    }

    /// The rate reaches `bp` basis points.
    pub fn reaches_bp(self, bp: u32) -> bool {
        self.den > 0 && self.num as u128 * 10_000 >= bp as u128 * self.den as u128
    }

    /// `best - self` is at most `gap_bp` basis points.
    pub fn within_bp_of(self, best: Ratio, gap_bp: u32) -> bool {
        if self.den == 0 || best.den == 0 {
            return false;
        }
        let diff = best.num as i128 * self.den as i128 - self.num as i128 * best.den as i128;
        diff * 10_000 <= gap_bp as i128 * best.den as i128 * self.den as i128
    }

    fn percent(self) -> String {
        match self.rate() {
            Some(r) => format!("{:.2}%", r * 100.0),
            None => "n/a".into(),
        }
    }
}

/// Weights, targets and the five-star thresholds. Defaults are documented in the README.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Relative weight of each metric in the composite score.
    pub weights: [u32; METRICS],
    /// Target of each metric, basis points.
    pub targets_bp: [u32; METRICS],
    /// Points off the composite score per upheld complaint.
    pub complaint_penalty: f64,
    /// Five stars need a rank within this many ...
    pub five_star_top: usize,
    /// ... or a rate within this many basis points of the best (50 = 0.5 points).
    pub five_star_gap_bp: u32,
    /// ... and a district leader's appraisal of at least this.
    pub appraisal_min: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            weights: [10, 15, 15, 20, 20, 5, 15],
            targets_bp: [9800, 9500, 9000, 9500, 9500, 2000, 9000],
            complaint_penalty: 5.0,
            five_star_top: 5,
            five_star_gap_bp: 50,
            appraisal_min: 95.0,
        }
    }
}

/// Parses `metric=value,...` over `defaults`; `value` goes through `one`.
pub fn parse_per_metric(
    field: &str,
    s: &str,
    defaults: [u32; METRICS],
    one: impl Fn(&str) -> Option<u32>,
) -> Result<[u32; METRICS], Invalid> {
    let mut out = defaults;
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| Invalid::new(field, format!("`{part}` is not metric=value")))?;
        let m = Metric::parse(field, name.trim())?;
        out[m.index()] = one(value.trim())
            .ok_or_else(|| Invalid::new(field, format!("`{value}` is not valid for {name}")))?;
    }
    Ok(out)
}

/// A percentage with at most two decimals ("95", "99.5") as basis points.
pub fn percent_to_bp(s: &str) -> Option<u32> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let w: u32 = whole.parse().ok()?;
    let f: u32 = format!("{frac:0<2}").parse().ok()?;
    let bp = w.checked_mul(100)?.checked_add(f)?;
    (bp <= 10_000).then_some(bp)
}

/// Complaints received in the month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Complaints {
    /// Verified as caused by service.
    pub upheld: u64,
    /// Of those, from 12345 / 12315.
    pub upheld_government: u64,
    /// Still being investigated: not counted.
    pub open: u64,
    /// Verified as not caused by service: not counted.
    pub dismissed: u64,
    /// Answered by their handling clock, of those answered or past it (first-ask
    /// responsibility, seed 004): reported, not scored.
    pub handled: Ratio,
}

/// What was counted for one district (or technician, or region) in a month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub metrics: [Ratio; METRICS],
    pub complaints: Complaints,
    /// Calls linked to network faults, counted apart from the individual repairs.
    pub network: NetworkFigures,
    /// The district leader's appraisal for the month.
    pub appraisal: Option<f64>,
    /// The satisfaction figure split by how the customer answered: the call center's phone
    /// callback or the SMS survey. Their sum is [`Metric::Satisfaction`].
    pub satisfaction_by: Channels,
}

/// Satisfied-or-basically answers of all answers, per channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Channels {
    pub phone: Ratio,
    pub sms: Ratio,
}

impl Figures {
    pub fn get(&self, m: Metric) -> Ratio {
        self.metrics[m.index()]
    }

    /// Adds another unit's counts (for roll-ups; appraisals do not add up).
    pub fn absorb(&mut self, other: &Figures) {
        for (a, b) in self.metrics.iter_mut().zip(other.metrics.iter()) {
            a.add(*b);
        }
        self.complaints.upheld += other.complaints.upheld;
        self.complaints.upheld_government += other.complaints.upheld_government;
        self.complaints.open += other.complaints.open;
        self.complaints.dismissed += other.complaints.dismissed;
        self.complaints.handled.add(other.complaints.handled);
        self.network.faults += other.network.faults;
        self.network.linked_calls += other.network.linked_calls;
        self.network.restorations.add(other.network.restorations);
        self.satisfaction_by.phone.add(other.satisfaction_by.phone);
        self.satisfaction_by.sms.add(other.satisfaction_by.sms);
    }
}

/// A unit's network faults in the month: a storm counts once per fault, not once per call, so
/// it neither drowns the unit's repair timeliness nor hides a late restoration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkFigures {
    /// Faults restored in the month with calls from the unit.
    pub faults: u64,
    /// Those faults' calls from the unit (resolved by the restoration).
    pub linked_calls: u64,
    /// Restorations by the fault's promise, one per fault: a late one is late for every unit
    /// it had calls from.
    pub restorations: Ratio,
}

/// One five-star condition and why it passed or failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// `install_timeliness`, `repair_timeliness`, `appraisal` or `complaints`.
    pub clause: &'static str,
    pub passed: bool,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FiveStar {
    pub eligible: bool,
    pub clauses: Vec<Clause>,
}

/// A district's standing among all districts in scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// 0 to 100, two decimals; `None` when no metric has data.
    pub composite: Option<f64>,
    /// By composite, 1 = best; equal scores share a rank.
    pub rank: Option<usize>,
    /// Per metric, by rate; equal rates share a rank; n/a is unranked.
    pub metric_ranks: [Option<usize>; METRICS],
    pub five_star: FiveStar,
}

/// The composite score: the weighted mean of the available rates (n/a metrics leave the
/// weighting), times 100, minus the penalty per upheld complaint, never below 0.
pub fn composite(rules: &Rules, f: &Figures) -> Option<f64> {
    let mut sum = 0.0;
    let mut weight = 0u64;
    for m in Metric::ALL {
        if let Some(r) = f.get(m).rate() {
            let w = rules.weights[m.index()];
            sum += r * w as f64;
            weight += w as u64;
        }
    }
    if weight == 0 {
        return None;
    }
    let score = 100.0 * sum / weight as f64 - rules.complaint_penalty * f.complaints.upheld as f64;
    Some(round2(score.max(0.0)))
}

/// Rounded to two decimals, as scores and points are published.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A score out of 100 as people enter them: 0 to 100, two decimals at most.
pub fn check_score(field: &str, v: f64) -> Result<(), Invalid> {
    if !(v.is_finite() && (0.0..=100.0).contains(&v)) || (v * 100.0).fract().abs() > 1e-6 {
        return Err(Invalid::new(
            field,
            "must be from 0 to 100 with two decimals at most",
        ));
    }
    Ok(())
}

/// Competition ranking ("1, 2, 2, 4"): an item's rank is one more than the number of items
/// strictly better. `None` items are unranked.
/// `order` compares two values, greater = better. O(n log n).
pub fn competition_ranks<T: Copy>(
    items: &[Option<T>],
    order: impl Fn(T, T) -> Ordering,
) -> Vec<Option<usize>> {
    let mut ranked: Vec<(usize, T)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, x)| x.map(|x| (i, x)))
        .collect();
    ranked.sort_by(|a, b| order(b.1, a.1));
    let mut out = vec![None; items.len()];
    for (pos, &(i, x)) in ranked.iter().enumerate() {
        let rank = match pos.checked_sub(1).map(|p| ranked[p]) {
            Some((prev, y)) if order(y, x) == Ordering::Equal => out[prev],
            _ => Some(pos + 1),
        };
        out[i] = rank;
    }
    out
}

/// Scores every district in scope; the answer is in the same order as `all`.
pub fn standings(rules: &Rules, month: &str, all: &[Figures]) -> Vec<Standing> {
    let composites: Vec<Option<f64>> = all.iter().map(|f| composite(rules, f)).collect();
    let ranks = competition_ranks(&composites, |a: f64, b| a.total_cmp(&b));
    let mut metric_ranks = vec![[None; METRICS]; all.len()];
    let mut best = [None::<Ratio>; METRICS];
    for m in Metric::ALL {
        let vals: Vec<Option<Ratio>> = all
            .iter()
            .map(|f| Some(f.get(m)).filter(|r| r.den > 0))
            .collect();
        let r = competition_ranks(&vals, |a, b| a.cmp_rate(b));
        for (i, rank) in r.into_iter().enumerate() {
            metric_ranks[i][m.index()] = rank;
        }
        best[m.index()] = vals.iter().flatten().copied().max_by(|a, b| a.cmp_rate(*b));
    }
    all.iter()
        .enumerate()
        .map(|(i, f)| Standing {
            composite: composites[i],
            rank: ranks[i],
            metric_ranks: metric_ranks[i],
            five_star: five_star(rules, month, f, &metric_ranks[i], &best),
        })
        .collect()
}

fn five_star(
    rules: &Rules,
    month: &str,
    f: &Figures,
    ranks: &[Option<usize>; METRICS],
    best: &[Option<Ratio>; METRICS],
) -> FiveStar {
    let mut clauses = Vec::new();
    for m in [Metric::Install, Metric::Repair] {
        clauses.push(timeliness_clause(
            rules,
            m,
            f.get(m),
            ranks[m.index()],
            best[m.index()],
        ));
    }
    clauses.push(match f.appraisal {
        None => Clause {
            clause: "appraisal",
            passed: false,
            reason: format!("no district leader appraisal recorded for {month}"),
        },
        Some(a) if a >= rules.appraisal_min => Clause {
            clause: "appraisal",
            passed: true,
            reason: format!(
                "district leader appraisal {a} is at least {}",
                rules.appraisal_min
            ),
        },
        Some(a) => Clause {
            clause: "appraisal",
            passed: false,
            reason: format!(
                "district leader appraisal {a} is below {}",
                rules.appraisal_min
            ),
        },
    });
    let c = f.complaints;
    clauses.push(if c.upheld == 0 {
        Clause {
            clause: "complaints",
            passed: true,
            reason: format!(
                "no upheld service complaint and no upheld 12345/12315 complaint in {month} ({} open, {} dismissed, not counted)",
                c.open, c.dismissed
            ),
        }
    } else {
        Clause {
            clause: "complaints",
            passed: false,
            reason: format!(
                "{} upheld complaint(s) in {month}, {} of them from 12345/12315",
                c.upheld, c.upheld_government
            ),
        }
    });
    FiveStar {
        eligible: clauses.iter().all(|c| c.passed),
        clauses,
    }
}

fn timeliness_clause(
    rules: &Rules,
    m: Metric,
    value: Ratio,
    rank: Option<usize>,
    best: Option<Ratio>,
) -> Clause {
    let (Some(rank), Some(best)) = (rank, best) else {
        return Clause {
            clause: m.as_str(),
            passed: false,
            reason: format!("{} is n/a: no such tickets finished this month", m.label()),
        };
    };
    let target = rules.targets_bp[m.index()];
    let target_s = format!("{:.2}%", target as f64 / 100.0);
    let top = rules.five_star_top;
    let in_top = rank <= top;
    let reaches = value.reaches_bp(target);
    let near = value.within_bp_of(best, rules.five_star_gap_bp);
    let gap_points = (best.rate().unwrap_or(0.0) - value.rate().unwrap_or(0.0)) * 100.0;
    let near_s = format!(
        "{:.2} points behind the best ({})",
        gap_points.max(0.0),
        best.percent()
    );
    let gap_limit = format!("{:.1}", rules.five_star_gap_bp as f64 / 100.0);
    let label = m.label();
    let v = value.percent();
    let (passed, reason) = if in_top && reaches {
        (
            true,
            format!("{label} {v} ranks {rank} (top {top}) and reaches the target {target_s}"),
        )
    } else if near {
        let why_not_a = if in_top {
            format!("below the target {target_s}")
        } else {
            format!("rank {rank} is outside the top {top}")
        };
        (
            true,
            format!("{label} {v}: {why_not_a}, but it is {near_s}, within {gap_limit}"),
        )
    } else if in_top {
        (
            false,
            format!("{label} {v} ranks {rank} (top {top}) but is below the target {target_s}, and {near_s}, more than {gap_limit}"),
        )
    } else {
        (
            false,
            format!("{label} {v} ranks {rank}, outside the top {top}, and {near_s}, more than {gap_limit}"),
        )
    };
    Clause {
        clause: m.as_str(),
        passed,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(install: (u64, u64), repair: (u64, u64), appraisal: Option<f64>) -> Figures {
        let mut f = Figures::default();
        f.metrics[Metric::Install.index()] = Ratio::new(install.0, install.1);
        f.metrics[Metric::Repair.index()] = Ratio::new(repair.0, repair.1);
        f.appraisal = appraisal;
        f
    }

    #[test]
    fn ratios_compare_exactly() {
        let best = Ratio::new(1, 1);
        assert!(Ratio::new(199, 200).within_bp_of(best, 50));
        assert!(!Ratio::new(198, 200).within_bp_of(best, 50));
        assert!(Ratio::new(19, 20).reaches_bp(9500));
        assert!(!Ratio::new(189, 200).reaches_bp(9500));
        assert_eq!(Ratio::new(1, 3).cmp_rate(Ratio::new(2, 6)), Ordering::Equal);
        assert_eq!(Ratio::new(0, 0).rate(), None);
        assert!(!Ratio::new(0, 0).reaches_bp(0));
    }

    #[test]
    fn basis_points_round_half_up() {
        assert_eq!(Ratio::new(2, 3).bp(), Some(6667));
        assert_eq!(Ratio::new(1, 3).bp(), Some(3333));
        // 1/80000 = 0.125 bp rounds down; 1/20000 = 0.5 bp rounds up.
        assert_eq!(Ratio::new(1, 80_000).bp(), Some(0));
        assert_eq!(Ratio::new(1, 20_000).bp(), Some(1));
        assert_eq!(Ratio::new(5, 5).bp(), Some(10_000));
        assert_eq!(Ratio::new(0, 0).bp(), None);
    }

    #[test]
    fn competition_ranking_shares_ranks_and_skips_na() {
        let r = competition_ranks(&[Some(3), Some(5), None, Some(5), Some(1)], |a: i32, b| {
            a.cmp(&b)
        });
        assert_eq!(r, vec![Some(3), Some(1), None, Some(1), Some(4)]);
    }

    #[test]
    fn composite_weights_available_metrics_and_subtracts_complaints() {
        let rules = Rules::default();
        assert_eq!(composite(&rules, &Figures::default()), None);
        let f = figures((1, 2), (1, 1), None);
        // install 50 % and repair 100 %, both weight 20.
        assert_eq!(composite(&rules, &f), Some(75.0));
        let mut g = f.clone();
        g.complaints.upheld = 2;
        assert_eq!(composite(&rules, &g), Some(65.0));
        g.complaints.upheld = 100;
        assert_eq!(composite(&rules, &g), Some(0.0));
    }

    #[test]
    fn each_five_star_clause_can_decide() {
        let rules = Rules::default();
        let all = vec![
            figures((8, 10), (4, 4), Some(97.0)), // A: install rank 6, far behind
            figures((4, 4), (199, 200), Some(96.0)), // B: repair rank 6, within 0.5
            figures((9, 10), (4, 4), Some(98.0)), // C: install rank 5, below target
            figures((4, 4), (4, 4), Some(94.9)),  // D: appraisal
            figures((4, 4), (4, 4), Some(99.0)),  // E: complaint
            figures((4, 4), (4, 4), Some(95.0)),  // F: eligible
        ];
        let mut all = all;
        all[4].complaints = Complaints {
            upheld: 1,
            upheld_government: 1,
            ..Default::default()
        };
        all[5].complaints.open = 1;
        let s = standings(&rules, "2026-11", &all);
        let failing: Vec<Vec<&str>> = s
            .iter()
            .map(|x| {
                x.five_star
                    .clauses
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.clause)
                    .collect()
            })
            .collect();
        assert_eq!(failing[0], vec!["install_timeliness"]);
        assert!(failing[1].is_empty(), "{:?}", s[1].five_star);
        assert_eq!(failing[2], vec!["install_timeliness"]);
        assert_eq!(failing[3], vec!["appraisal"]);
        assert_eq!(failing[4], vec!["complaints"]);
        assert!(failing[5].is_empty());
        assert_eq!(s[0].metric_ranks[Metric::Install.index()], Some(6));
        assert_eq!(s[2].metric_ranks[Metric::Install.index()], Some(5));
        assert!(s[2].five_star.clauses[0]
            .reason
            .contains("below the target 95.00%"));
        assert!(s[1].five_star.clauses[1]
            .reason
            .contains("outside the top 5"));
        assert!(s[1].five_star.clauses[1].reason.contains("within 0.5"));
        assert!(s[3].five_star.clauses[2]
            .reason
            .contains("94.9 is below 95"));
    }

    #[test]
    fn no_tickets_is_na_not_a_score() {
        let rules = Rules::default();
        let s = standings(&rules, "2026-11", &[Figures::default()]);
        assert_eq!(s[0].composite, None);
        assert_eq!(s[0].rank, None);
        assert!(!s[0].five_star.eligible);
        assert!(s[0].five_star.clauses[0].reason.contains("n/a"));
    }

    #[test]
    fn per_metric_settings_parse() {
        let w = parse_per_metric(
            "weights",
            "repair_timeliness=40, dispatch=0",
            Rules::default().weights,
            |v| v.parse().ok(),
        )
        .unwrap();
        assert_eq!(w[Metric::Repair.index()], 40);
        assert_eq!(w[Metric::Dispatch.index()], 0);
        assert!(parse_per_metric("weights", "speed=3", w, |v| v.parse().ok()).is_err());
        assert_eq!(percent_to_bp("95"), Some(9500));
        assert_eq!(percent_to_bp("99.5"), Some(9950));
        assert_eq!(percent_to_bp("20.25"), Some(2025));
        assert_eq!(percent_to_bp("100.01"), None);
        assert_eq!(percent_to_bp("9.999"), None);
        assert_eq!(percent_to_bp("-1"), None);
    }
}
