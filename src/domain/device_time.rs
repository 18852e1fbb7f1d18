//! When a technician's action happened. A phone that was offline sends its queued actions later,
//! each with the time the phone says it was done; that time decides the stage outcome when it is
//! believable, and otherwise the server's receipt does and the event is flagged.

use chrono::{Duration, NaiveDateTime};

/// Which device times are believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceTimeRule {
    /// How far a phone's clock may run ahead of the server's.
    pub skew: Duration,
    /// How old a queued action may be.
    pub window: Duration,
}

impl Default for DeviceTimeRule {
    fn default() -> Self {
        DeviceTimeRule {
            skew: Duration::seconds(120),
            window: Duration::hours(12),
        }
    }
}

/// Why a device time was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// After the server received the action (beyond the allowed skew).
    Future,
    /// Before the ticket's previous step: the action cannot have come first.
    BeforePrevious,
    /// Older than the window.
    TooOld,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Future => "future",
            Refusal::BeforePrevious => "before_previous_step",
            Refusal::TooOld => "too_old",
        }
    }
}

/// When an action counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The time that counts.
    pub at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    /// What the phone said, if it said anything.
    pub device_at: Option<NaiveDateTime>,
    /// Set when the phone's time was given and not believed.
    pub refused: Option<Refusal>,
}

impl Timing {
    /// An action timed by the server alone.
    pub fn receipt(received_at: NaiveDateTime) -> Self {
        Timing {
            at: received_at,
            received_at,
            device_at: None,
            refused: None,
        }
    }

    /// Whether the phone's time was believed.
    pub fn by_device(&self) -> bool {
        self.device_at.is_some() && self.refused.is_none()
    }
}

impl DeviceTimeRule {
    /// Judges `device_at`, sent with an action the server received at `received_at`, on a
    /// ticket whose previous step was at `previous`.
    pub fn judge(
        &self,
        device_at: Option<NaiveDateTime>,
        received_at: NaiveDateTime,
        previous: NaiveDateTime,
    ) -> Timing {
        let Some(device) = device_at else {
            return Timing::receipt(received_at);
        };
        let refused = if device > received_at + self.skew {
            Some(Refusal::Future)
        } else if device < previous {
            Some(Refusal::BeforePrevious)
        } else if device < received_at - self.window {
            Some(Refusal::TooOld)
        } else {
            None
        };
        Timing {
            // A phone a little ahead of the server counts as now, never later.
            at: match refused {
                None => device.min(received_at),
                Some(_) => received_at,
            },
            received_at,
            device_at,
            refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(m: i64) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
            + Duration::minutes(m)
    }

    #[test]
    fn without_a_device_time_the_receipt_counts() {
        let t = DeviceTimeRule::default().judge(None, at(25), at(0));
        assert_eq!(t, Timing::receipt(at(25)));
        assert!(!t.by_device());
    }

    #[test]
    fn a_believable_device_time_counts() {
        let t = DeviceTimeRule::default().judge(Some(at(18)), at(25), at(0));
        assert_eq!(t.at, at(18));
        assert_eq!(t.received_at, at(25));
        assert!(t.by_device());
    }

    #[test]
    fn a_phone_slightly_ahead_counts_as_the_receipt() {
        let t = DeviceTimeRule::default().judge(Some(at(26)), at(25), at(0));
        assert_eq!((t.at, t.refused), (at(25), None));
    }

    #[test]
    fn unbelievable_device_times_fall_back_to_the_receipt() {
        let rule = DeviceTimeRule::default();
        for (device, previous, why) in [
            (at(30), at(0), Refusal::Future),
            (at(18), at(19), Refusal::BeforePrevious),
            (
                at(25) - Duration::hours(13),
                at(25) - Duration::hours(14),
                Refusal::TooOld,
            ),
        ] {
            let t = rule.judge(Some(device), at(25), previous);
            assert_eq!((t.at, t.refused), (at(25), Some(why)), "{why:?}");
            assert!(!t.by_device());
        }
    }

    #[test]
    fn the_edges_are_believed() {
        let rule = DeviceTimeRule::default();
        assert_eq!(rule.judge(Some(at(19)), at(25), at(19)).refused, None);
        assert_eq!(rule.judge(Some(at(27)), at(25), at(0)).refused, None);
        let oldest = at(25) - Duration::hours(12);
        assert_eq!(rule.judge(Some(oldest), at(25), oldest).refused, None);
    }
}
