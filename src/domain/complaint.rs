//! Complaints: their handling clock and their investigation (DESIGN rule 6). Whoever receives
//! a complaint owns it until the customer accepts the answer (first-ask responsibility, seed
//! 004); a late one climbs to the team leader, the section head and the branch, once each. A
//! complaint is *upheld* when a manager verifies that service caused it; only upheld complaints
//! count against a district.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::Invalid;

/// Where the complaint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The operator's own service hotline.
    Hotline,
    /// The 12345 government service hotline.
    Gov12345,
    /// The 12315 consumer-protection hotline.
    Gov12315,
    /// An unsatisfied callback.
    Callback,
    /// In person at a service hall.
    WalkIn,
    /// Told to staff on a household visit.
    Visit,
}

impl Source {
    pub const ALL: [Source; 6] = [
        Source::Hotline,
        Source::Gov12345,
        Source::Gov12315,
        Source::Callback,
        Source::WalkIn,
        Source::Visit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Hotline => "hotline",
            Source::Gov12345 => "12345",
            Source::Gov12315 => "12315",
            Source::Callback => "callback",
            Source::WalkIn => "walk_in",
            Source::Visit => "visit",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Source, Invalid> {
        Source::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!("`{s}` is not hotline, 12345, 12315, callback, walk_in or visit"),
                )
            })
    }

    /// 12345 or 12315: reported separately, and any upheld one bars the five stars.
    pub fn is_government(self) -> bool {
        matches!(self, Source::Gov12345 | Source::Gov12315)
    }
}

/// Where the investigation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Being investigated.
    Open,
    /// Verified as caused by service: counts against the district and the person responsible.
    Upheld,
    /// Verified as not caused by service.
    Dismissed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Upheld => "upheld",
            Status::Dismissed => "dismissed",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Status, Invalid> {
        [Status::Open, Status::Upheld, Status::Dismissed]
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Invalid::new(field, format!("`{s}` is not open, upheld or dismissed")))
    }
}

/// A manager's verdict. Upholding may name the person responsible and a deduction (points off
/// their monthly appraisal); dismissing takes neither.
pub fn check_verdict(
    verdict: Status,
    responsible: Option<&str>,
    deduction: Option<f64>,
) -> Result<(), Invalid> {
    match verdict {
        Status::Open => Err(Invalid::new("verdict", "must be upheld or dismissed")),
        Status::Dismissed if responsible.is_some() => Err(Invalid::new(
            "responsible_user_id",
            "a dismissed complaint names nobody responsible",
        )),
        Status::Dismissed if deduction.is_some() => Err(Invalid::new(
            "deduction",
            "a dismissed complaint carries no deduction",
        )),
        _ => match deduction {
            Some(d) if !(d.is_finite() && (0.0..=100.0).contains(&d)) => {
                Err(Invalid::new("deduction", "must be from 0 to 100 points"))
            }
            _ => Ok(()),
        },
    }
}

/// How a complaint is handled, which sets its clock (seed 004: simple ones at once, general
/// ones the same day; 12345/12315 cases by the hotline's own deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Simple,
    General,
    /// A 12345 or 12315 case, due by the deadline the hotline gave.
    Hotline,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Simple => "simple",
            Kind::General => "general",
            Kind::Hotline => "hotline",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Kind, Invalid> {
        [Kind::Simple, Kind::General, Kind::Hotline]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Invalid::new(field, format!("`{s}` is not simple, general or hotline")))
    }

    /// The kind of a new complaint from `source`: a government hotline's case is `hotline` and
    /// needs the hotline's deadline; the others are `simple` or `general` as the receiver
    /// judged (general when not said) and carry none.
    pub fn of_new(
        source: Source,
        asked: Option<Kind>,
        deadline_given: bool,
    ) -> Result<Kind, Invalid> {
        if source.is_government() {
            if asked.is_some_and(|k| k != Kind::Hotline) {
                return Err(Invalid::new(
                    "kind",
                    "a 12345 or 12315 case is handled by the hotline's deadline (hotline)",
                ));
            }
            if !deadline_given {
                return Err(Invalid::new(
                    "reply_due_at",
                    "a 12345 or 12315 case needs the hotline's reply deadline",
                ));
            }
            return Ok(Kind::Hotline);
        }
        if asked == Some(Kind::Hotline) {
            return Err(Invalid::new(
                "kind",
                "only 12345 and 12315 cases are hotline cases",
            ));
        }
        if deadline_given {
            return Err(Invalid::new(
                "reply_due_at",
                "only a 12345 or 12315 case carries the hotline's deadline",
            ));
        }
        Ok(asked.unwrap_or(Kind::General))
    }
}

/// Where the handling of a complaint stands (apart from the investigation's verdict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Waiting for the reply to the customer; the clock runs.
    Open,
    /// The customer was answered; waiting for them to accept it.
    Replied,
    /// The customer accepted the answer.
    Closed,
}

impl Handling {
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Open => "handling",
            Handling::Replied => "replied",
            Handling::Closed => "closed",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Handling, Invalid> {
        [Handling::Open, Handling::Replied, Handling::Closed]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Invalid::new(field, format!("`{s}` is not handling, replied or closed")))
    }
}

/// The handling clock's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockRule {
    /// How long a simple complaint may take.
    pub simple: Duration,
    /// The time between one rung of the escalation ladder and the next.
    pub escalate_every: Duration,
}

/// The rungs a late complaint climbs, once each (seed 002's second line).
pub const RUNGS: [super::five_star::Level; 3] = [
    super::five_star::Level::TeamLeader,
    super::five_star::Level::SectionHead,
    super::five_star::Level::Leadership,
];

super::stored_as_text!(Status => "status", Kind => "kind", Handling => "handling");

impl ClockRule {
    /// When a complaint of `kind` received (or reopened) at `at` must be answered: a simple
    /// one within the short time; a general one by the end of that local day; a hotline case
    /// by the hotline's deadline, or by the end of the day when it has passed (reopened late).
    pub fn due(
        &self,
        kind: Kind,
        at: DateTime<Utc>,
        tz: Tz,
        hotline_deadline: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        let end_of_day = || {
            let day = at.with_timezone(&tz).date_naive();
            let (_, end) = super::period::day_bounds(tz, day);
            end.and_utc()
        };
        match kind {
            Kind::Simple => at + self.simple,
            Kind::General => end_of_day(),
            Kind::Hotline => match hotline_deadline {
                Some(d) if d > at => d,
                _ => end_of_day(),
            },
        }
    }

    /// When the next rung is due for a complaint due at `due` that has climbed `level` rungs;
    /// None once it has climbed them all.
    pub fn next_rung(&self, due: DateTime<Utc>, level: usize) -> Option<DateTime<Utc>> {
        (level < RUNGS.len()).then(|| due + self.escalate_every * level as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_and_government_ones_are_marked() {
        for s in Source::ALL {
            assert_eq!(Source::parse("source", s.as_str()).unwrap(), s);
        }
        assert!(Source::Gov12345.is_government());
        assert!(Source::Gov12315.is_government());
        assert!(!Source::Hotline.is_government());
        assert_eq!(Source::parse("source", "110").unwrap_err().field, "source");
    }

    #[test]
    fn verdicts() {
        assert!(check_verdict(Status::Upheld, Some("u"), Some(2.0)).is_ok());
        assert!(check_verdict(Status::Dismissed, None, None).is_ok());
        assert_eq!(
            check_verdict(Status::Dismissed, Some("u"), None)
                .unwrap_err()
                .field,
            "responsible_user_id"
        );
        assert_eq!(
            check_verdict(Status::Upheld, None, Some(-1.0))
                .unwrap_err()
                .field,
            "deduction"
        );
        assert_eq!(
            check_verdict(Status::Open, None, None).unwrap_err().field,
            "verdict"
        );
    }
    #[test]
    fn kinds_of_new_complaints() {
        use Kind::*;
        assert_eq!(Kind::of_new(Source::Hotline, None, false).unwrap(), General);
        assert_eq!(
            Kind::of_new(Source::WalkIn, Some(Simple), false).unwrap(),
            Simple
        );
        assert_eq!(Kind::of_new(Source::Gov12345, None, true).unwrap(), Hotline);
        assert_eq!(
            Kind::of_new(Source::Gov12315, Some(Hotline), true).unwrap(),
            Hotline
        );
        let field = |r: Result<Kind, Invalid>| r.unwrap_err().field;
        assert_eq!(
            field(Kind::of_new(Source::Gov12345, None, false)),
            "reply_due_at"
        );
        assert_eq!(
            field(Kind::of_new(Source::Gov12345, Some(Simple), true)),
            "kind"
        );
        assert_eq!(
            field(Kind::of_new(Source::Hotline, Some(Hotline), false)),
            "kind"
        );
        assert_eq!(
            field(Kind::of_new(Source::Hotline, None, true)),
            "reply_due_at"
        );
        for k in [Simple, General, Hotline] {
            assert_eq!(Kind::parse("kind", k.as_str()).unwrap(), k);
        }
        for h in [Handling::Open, Handling::Replied, Handling::Closed] {
            assert_eq!(Handling::parse("h", h.as_str()).unwrap(), h);
        }
    }

    #[test]
    fn clocks_and_the_ladder() {
        use chrono::TimeZone;
        let tz = chrono_tz::Asia::Shanghai;
        let at = |s: &str| {
            tz.from_local_datetime(
                &chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
            )
            .unwrap()
            .with_timezone(&Utc)
        };
        let rule = ClockRule {
            simple: Duration::hours(2),
            escalate_every: Duration::hours(2),
        };
        assert_eq!(
            rule.due(Kind::Simple, at("2026-11-23 10:00"), tz, None),
            at("2026-11-23 12:00")
        );
        assert_eq!(
            rule.due(Kind::General, at("2026-11-23 23:30"), tz, None),
            at("2026-11-24 00:00")
        );
        assert_eq!(
            rule.due(Kind::General, at("2026-11-23 00:00"), tz, None),
            at("2026-11-24 00:00")
        );
        let given = at("2026-11-26 17:00");
        assert_eq!(
            rule.due(Kind::Hotline, at("2026-11-23 10:00"), tz, Some(given)),
            given
        );
        // Reopened after the hotline's deadline: by the end of that day.
        assert_eq!(
            rule.due(Kind::Hotline, at("2026-11-27 10:00"), tz, Some(given)),
            at("2026-11-28 00:00")
        );
        let due = at("2026-11-23 12:00");
        assert_eq!(rule.next_rung(due, 0), Some(due));
        assert_eq!(rule.next_rung(due, 1), Some(at("2026-11-23 14:00")));
        assert_eq!(rule.next_rung(due, 2), Some(at("2026-11-23 16:00")));
        assert_eq!(rule.next_rung(due, 3), None);
    }
}
