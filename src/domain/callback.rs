//! The call center's callback to a repaired customer: its outcome, the ratings, and when an
//! unreachable customer is tried again.

use chrono::{DateTime, Duration, Utc};

use super::Invalid;

/// What the customer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
    /// Nobody answered; tried again until the attempts run out.
    Unreachable,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Satisfied,
        Outcome::BasicallySatisfied,
        Outcome::Unsatisfied,
        Outcome::Unreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Satisfied => "satisfied",
            Outcome::BasicallySatisfied => "basically_satisfied",
            Outcome::Unsatisfied => "unsatisfied",
            Outcome::Unreachable => "unreachable",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Outcome, Invalid> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!(
                        "`{s}` is not satisfied, basically_satisfied, unsatisfied or unreachable"
                    ),
                )
            })
    }

    /// Satisfied or basically satisfied: counts toward the satisfaction rate.
    pub fn is_content(self) -> bool {
        matches!(self, Outcome::Satisfied | Outcome::BasicallySatisfied)
    }
}

/// Where a callback stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackStatus {
    /// To be called (first time, or again after nobody answered).
    Due,
    /// The customer was reached.
    Done,
    /// Nobody answered, and the attempts are used up.
    Unreachable,
}

impl CallbackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Due => "due",
            CallbackStatus::Done => "done",
            CallbackStatus::Unreachable => "unreachable",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<CallbackStatus, Invalid> {
        [
            CallbackStatus::Due,
            CallbackStatus::Done,
            CallbackStatus::Unreachable,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| Invalid::new(field, format!("`{s}` is not due, done or unreachable")))
    }
}

super::stored_as_text!(CallbackStatus => "status");

/// A rating from 1 (poor) to 5 (excellent).
pub fn rating(field: &str, v: Option<i64>) -> Result<Option<i32>, Invalid> {
    match v {
        None => Ok(None),
        Some(n @ 1..=5) => Ok(Some(n as i32)),
        Some(_) => Err(Invalid::new(field, "must be a whole number from 1 to 5")),
    }
}

/// How often an unreachable customer is tried: `attempts` calls spread evenly over `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryRule {
    pub attempts: u32,
    pub window: Duration,
}

impl Default for RetryRule {
    fn default() -> Self {
        RetryRule {
            attempts: 3,
            window: Duration::hours(48),
        }
    }
}

impl RetryRule {
    /// After `made` unanswered calls (counting the one just made): when to call again, or
    /// `None` when the attempts are used up and the callback counts as unreachable.
    pub fn next_try(&self, made: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if made >= self.attempts {
            return None;
        }
        let gaps = (self.attempts - 1).max(1) as i32;
        Some(now + self.window / gaps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse("outcome", o.as_str()).unwrap(), o);
        }
        assert_eq!(
            Outcome::parse("outcome", "happy").unwrap_err().field,
            "outcome"
        );
        assert!(Outcome::BasicallySatisfied.is_content());
        assert!(!Outcome::Unsatisfied.is_content());
    }

    #[test]
    fn ratings_are_one_to_five() {
        assert_eq!(rating("r", Some(5)).unwrap(), Some(5));
        assert_eq!(rating("r", None).unwrap(), None);
        assert!(rating("r", Some(0)).is_err());
        assert!(rating("r", Some(6)).is_err());
    }

    #[test]
    fn unreachable_retries_spread_over_the_window_then_stop() {
        let r = RetryRule {
            attempts: 3,
            window: Duration::hours(48),
        };
        let now = "2026-11-23T02:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(r.next_try(1, now), Some(now + Duration::hours(24)));
        assert_eq!(r.next_try(2, now), Some(now + Duration::hours(24)));
        assert_eq!(r.next_try(3, now), None);
        let once = RetryRule {
            attempts: 1,
            window: Duration::hours(48),
        };
        assert_eq!(once.next_try(1, now), None);
    }
}
