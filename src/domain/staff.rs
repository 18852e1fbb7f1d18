//! Staff stars (seeds 001 and 004: 五星员工, star-rated staff judged on attitude, skill, volume
//! and satisfaction): a technician's month rated from what fixline measures and what their
//! manager appraises, with a star level and the reason for every part, and the top three and
//! bottom three of a team or branch named.

use super::scoring::{competition_ranks, round2, Ratio};

/// The parts of a rating, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// Customers contacted within 20 minutes, of the holdings they had.
    Contact,
    /// On site by the appointment.
    Arrival,
    /// Installations and repairs finished by the promise, of those they finished.
    Repair,
    /// Satisfied or basically satisfied, of their customers reached by a callback.
    Satisfaction,
    /// Tickets finished, against the monthly volume target.
    Volume,
    /// The manager's appraisals: skill, knowledge, attitude (0 to 100).
    Skill,
    Knowledge,
    Attitude,
}

pub const PARTS: usize = 8;

impl Part {
    pub const ALL: [Part; PARTS] = [
        Part::Contact,
        Part::Arrival,
        Part::Repair,
        Part::Satisfaction,
        Part::Volume,
        Part::Skill,
        Part::Knowledge,
        Part::Attitude,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Part::Contact => "contact",
            Part::Arrival => "arrival",
            Part::Repair => "repair",
            Part::Satisfaction => "satisfaction",
            Part::Volume => "volume",
            Part::Skill => "skill",
            Part::Knowledge => "knowledge",
            Part::Attitude => "attitude",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Weights, the volume target, the complaint penalty and the star thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffRules {
    pub weights: [u32; PARTS],
    /// Tickets a month that count as full volume.
    pub volume_target: u64,
    /// Points off per upheld complaint against the person.
    pub complaint_penalty: f64,
    /// The least score for 5, 4, 3 and 2 stars; below the last, 1 star.
    pub stars: [f64; 4],
}

impl Default for StaffRules {
    fn default() -> Self {
        StaffRules {
            weights: [15, 15, 20, 20, 10, 10, 5, 5],
            volume_target: 60,
            complaint_penalty: 10.0,
            stars: [95.0, 90.0, 80.0, 70.0],
        }
    }
}

/// A technician's month as fixline counted it, with the manager's appraisal if recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StaffMonth {
    pub contact: Ratio,
    pub arrival: Ratio,
    pub repair: Ratio,
    pub satisfaction: Ratio,
    /// Tickets finished.
    pub volume: u64,
    /// Upheld complaints naming the person.
    pub complaints: u64,
    /// Skill, knowledge, attitude.
    pub appraisal: Option<[f64; 3]>,
}

/// One part of a rating: its value out of 100 (None: nothing to judge) and its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    pub part: Part,
    pub value: Option<f64>,
    pub weight: u32,
}

/// A technician's rating.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// 0 to 100, two decimals; None when no part could be judged.
    pub score: Option<f64>,
    /// 1 to 5; 0 when unrated.
    pub stars: u8,
    pub components: Vec<Component>,
    pub reasons: Vec<String>,
}

/// Rates a month: the weighted mean of the parts that could be judged, minus the penalty per
/// upheld complaint, floored at 0; the stars by the thresholds.
pub fn rate(rules: &StaffRules, m: &StaffMonth) -> Rating {
    let pct = |r: Ratio| r.rate().map(|x| x * 100.0);
    let appraisal = |i: usize| m.appraisal.map(|a| a[i]);
    let volume = (rules.volume_target > 0)
        .then(|| (m.volume as f64 * 100.0 / rules.volume_target as f64).min(100.0));
    let values = [
        pct(m.contact),
        pct(m.arrival),
        pct(m.repair),
        pct(m.satisfaction),
        volume,
        appraisal(0),
        appraisal(1),
        appraisal(2),
    ];
    let components: Vec<Component> = Part::ALL
        .iter()
        .map(|&part| Component {
            part,
            value: values[part.index()],
            weight: rules.weights[part.index()],
        })
        .collect();
    // Volume alone judges nothing: a month with no work and no appraisal is unrated.
    let judged: Vec<&Component> = components
        .iter()
        .filter(|c| c.value.is_some() && c.weight > 0)
        .collect();
    let judged = if judged.iter().all(|c| c.part == Part::Volume) {
        Vec::new()
    } else {
        judged
    };
    let weight: u32 = judged.iter().map(|c| c.weight).sum();
    let mut reasons: Vec<String> = Vec::new();
    for c in &components {
        let what = match (c.part, c.value) {
            (_, None) => "n/a".to_string(),
            (Part::Volume, Some(v)) => {
                format!("{} tickets of {} ({v:.2})", m.volume, rules.volume_target)
            }
            (Part::Skill | Part::Knowledge | Part::Attitude, Some(v)) => format!("{v}"),
            (_, Some(v)) => format!("{v:.2}%"),
        };
        reasons.push(format!("{} {what}, weight {}", c.part.as_str(), c.weight));
    }
    let score = (weight > 0).then(|| {
        let mean = judged
            .iter()
            .map(|c| c.value.unwrap_or(0.0) * c.weight as f64)
            .sum::<f64>()
            / weight as f64;
        round2((mean - rules.complaint_penalty * m.complaints as f64).max(0.0))
    });
    if m.complaints > 0 {
        reasons.push(format!(
            "{} upheld complaint(s): {} points off",
            m.complaints,
            rules.complaint_penalty * m.complaints as f64
        ));
    }
    if m.appraisal.is_none() {
        reasons.push("no appraisal recorded for the month".into());
    }
    let stars = match score {
        None => 0,
        Some(s) => 5 - rules.stars.iter().take_while(|t| s < **t).count() as u8,
    };
    match score {
        Some(s) => reasons.push(format!("score {s:.2}: {stars} star(s)")),
        None => reasons.push("nothing to judge this month: unrated".into()),
    }
    Rating {
        score,
        stars,
        components,
        reasons,
    }
}

/// The top three and bottom three of a group by score (ties share a rank, so more may be
/// named; unrated people are left out). Indexes into `scores`, best first and worst first.
pub fn top_and_bottom(scores: &[Option<f64>]) -> (Vec<usize>, Vec<usize>) {
    let best = competition_ranks(scores, |a: f64, b| a.total_cmp(&b));
    let worst = competition_ranks(scores, |a: f64, b| b.total_cmp(&a));
    let pick = |ranks: &[Option<usize>]| {
        let mut named: Vec<(usize, usize)> = ranks
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.filter(|r| *r <= 3).map(|r| (r, i)))
            .collect();
        named.sort();
        named.into_iter().map(|(_, i)| i).collect::<Vec<_>>()
    };
    (pick(&best), pick(&worst))
}

/// Competition ranks of `scores`, best first.
pub fn ranks(scores: &[Option<f64>]) -> Vec<Option<usize>> {
    competition_ranks(scores, |a: f64, b| a.total_cmp(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(
        c: (u64, u64),
        a: (u64, u64),
        r: (u64, u64),
        s: (u64, u64),
        volume: u64,
    ) -> StaffMonth {
        StaffMonth {
            contact: Ratio::new(c.0, c.1),
            arrival: Ratio::new(a.0, a.1),
            repair: Ratio::new(r.0, r.1),
            satisfaction: Ratio::new(s.0, s.1),
            volume,
            complaints: 0,
            appraisal: Some([90.0, 80.0, 100.0]),
        }
    }

    #[test]
    fn a_month_is_the_weighted_mean_of_its_parts() {
        // contact 100, arrival 90, repair 95, satisfaction 100, volume 30/60 = 50, skill 90,
        // knowledge 80, attitude 100: (1500 + 1350 + 1900 + 2000 + 500 + 900 + 400 + 500) / 100.
        let r = rate(
            &StaffRules::default(),
            &month((10, 10), (9, 10), (19, 20), (4, 4), 30),
        );
        assert_eq!(r.score, Some(90.5));
        assert_eq!(r.stars, 4);
        assert!(r
            .reasons
            .contains(&"volume 30 tickets of 60 (50.00), weight 10".to_string()));
        assert_eq!(r.reasons.last().unwrap(), "score 90.50: 4 star(s)");
    }

    #[test]
    fn parts_without_data_leave_the_weighting_and_complaints_cost_points() {
        let mut m = month((10, 10), (0, 0), (0, 0), (0, 0), 60);
        m.appraisal = None;
        // contact 100 (15) and volume 100 (10) only.
        let r = rate(&StaffRules::default(), &m);
        assert_eq!(r.score, Some(100.0));
        assert_eq!(r.stars, 5);
        m.complaints = 1;
        let r = rate(&StaffRules::default(), &m);
        assert_eq!(r.score, Some(90.0));
        assert_eq!(r.stars, 4);
        assert!(r
            .reasons
            .contains(&"1 upheld complaint(s): 10 points off".to_string()));
        assert!(r
            .reasons
            .contains(&"no appraisal recorded for the month".to_string()));
        let none = rate(&StaffRules::default(), &StaffMonth::default());
        assert_eq!((none.score, none.stars), (None, 0), "no work, no appraisal");
    }

    #[test]
    fn stars_by_threshold() {
        let rules = StaffRules::default();
        let at = |score: f64| 5 - rules.stars.iter().take_while(|t| score < **t).count() as u8;
        assert_eq!(
            [95.0, 94.99, 90.0, 80.0, 79.99, 70.0, 69.0].map(at),
            [5, 4, 4, 3, 2, 2, 1]
        );
    }

    #[test]
    fn top_three_and_bottom_three_with_ties() {
        let scores = [
            Some(80.0),
            Some(95.0),
            None,
            Some(90.0),
            Some(90.0),
            Some(70.0),
        ];
        let (top, bottom) = top_and_bottom(&scores);
        assert_eq!(top, vec![1, 3, 4], "95, then 90 and 90 sharing second");
        assert_eq!(
            bottom,
            vec![5, 0, 3, 4],
            "70, 80, then the two 90s sharing third"
        );
    }
}
