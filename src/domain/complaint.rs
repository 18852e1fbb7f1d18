//! Complaints and their investigation (DESIGN rule 6). A complaint is *upheld* when a manager
//! verifies that service caused it; only upheld complaints count against a district.

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
}

impl Source {
    pub const ALL: [Source; 5] = [
        Source::Hotline,
        Source::Gov12345,
        Source::Gov12315,
        Source::Callback,
        Source::WalkIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Hotline => "hotline",
            Source::Gov12345 => "12345",
            Source::Gov12315 => "12315",
            Source::Callback => "callback",
            Source::WalkIn => "walk_in",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Source, Invalid> {
        Source::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!("`{s}` is not hotline, 12345, 12315, callback or walk_in"),
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
}
