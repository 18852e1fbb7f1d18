//! Business time. Every rule reads the time through a [`Clock`], so tests (and the black-box
//! simulator, through `FIXLINE_TEST_CLOCK=1` and `POST /test/clock`) can move it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// The current time as stored in the database: UTC, microsecond precision (the finest both
    /// backends keep).
    fn now_naive(&self) -> NaiveDateTime {
        truncate_micros(self.now()).naive_utc()
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a given instant and moves only when told.
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(truncate_micros(at)),
        }
    }

    /// Moves the clock forward by `seconds` (never backwards) and answers the new time.
    pub fn advance(&self, seconds: i64) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += chrono::Duration::seconds(seconds.max(0));
        *now
    }

    /// Sets the clock to `at` and answers it.
    pub fn set(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = truncate_micros(at);
        *now
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc::now();
        let clock = ManualClock::starting_at(start);
        let t0 = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now(), t0);
        assert_eq!(clock.advance(180), t0 + chrono::Duration::seconds(180));
        assert_eq!(clock.advance(-5), t0 + chrono::Duration::seconds(180));
        let at = "2026-11-30T15:59:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(clock.set(at), at);
        assert_eq!(clock.now_naive(), at.naive_utc());
    }
}
