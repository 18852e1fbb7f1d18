//! Sign-in throttling: a run of failed sign-ins for one username, or from one client address,
//! locks further tries out for a time that doubles with each failure past the allowance, up to
//! a ceiling. A success clears the username's record. Kept per instance, in memory; the lockout
//! is a brake on guessing, not an account state (an admin never has to unlock anyone).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{Duration, NaiveDateTime};

/// How many failures are free and how long the lockouts get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub free_failures: u32,
    /// The first lockout; each further failure doubles it.
    pub first_lockout: Duration,
    pub max_lockout: Duration,
    /// A record with no failure for this long is forgotten.
    pub forget_after: Duration,
}

impl ThrottlePolicy {
    /// Per username: five tries, then 1 s, 2 s, 4 s ... up to 15 minutes.
    pub const USERNAME: ThrottlePolicy = ThrottlePolicy {
        free_failures: 5,
        first_lockout: Duration::seconds(1),
        max_lockout: Duration::minutes(15),
        forget_after: Duration::hours(1),
    };

    /// Per client address: a call center's agents may share one, so more tries are free.
    pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
        free_failures: 20,
        first_lockout: Duration::seconds(1),
        max_lockout: Duration::minutes(15),
        forget_after: Duration::hours(1),
    };

    /// The lockout after `failures` failures in a row (none within the allowance).
    pub fn lockout(&self, failures: u32) -> Duration {
        if failures <= self.free_failures {
            return Duration::zero();
        }
        let doublings = (failures - self.free_failures - 1).min(30);
        let ms = self
            .first_lockout
            .num_milliseconds()
            .saturating_mul(1_i64 << doublings);
        Duration::milliseconds(ms).min(self.max_lockout)
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: NaiveDateTime,
    locked_until: NaiveDateTime,
}

/// Failures by key (a username or an address).
pub struct Throttle {
    policy: ThrottlePolicy,
    records: Mutex<HashMap<String, Record>>,
}

/// Records kept before old ones are swept out.
const SWEEP_ABOVE: usize = 10_000;

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Throttle {
            policy,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must still wait, if it is locked out at `now`.
    pub fn wait(&self, key: &str, now: NaiveDateTime) -> Option<Duration> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records
            .get(key)
            .filter(|r| r.locked_until > now)
            .map(|r| r.locked_until - now)
    }

    /// A failed sign-in for `key` at `now`.
    pub fn failed(&self, key: &str, now: NaiveDateTime) {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() > SWEEP_ABOVE {
            let forget = self.policy.forget_after;
            records.retain(|_, r| now - r.last < forget);
        }
        let r = records.entry(key.to_string()).or_insert(Record {
            failures: 0,
            last: now,
            locked_until: now,
        });
        if now - r.last >= self.policy.forget_after {
            r.failures = 0;
        }
        r.failures += 1;
        r.last = now;
        r.locked_until = now + self.policy.lockout(r.failures);
    }

    /// A successful sign-in: the key starts afresh.
    pub fn succeeded(&self, key: &str) {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> NaiveDateTime {
        "2026-11-23T09:00:00".parse::<NaiveDateTime>().unwrap() + Duration::seconds(s)
    }

    #[test]
    fn lockouts_double_after_the_free_failures_up_to_the_ceiling() {
        let p = ThrottlePolicy::USERNAME;
        let secs: Vec<i64> = (1..=8).map(|n| p.lockout(n).num_seconds()).collect();
        assert_eq!(secs, [0, 0, 0, 0, 0, 1, 2, 4]);
        assert_eq!(p.lockout(40), Duration::minutes(15));
        assert_eq!(p.lockout(u32::MAX), Duration::minutes(15));
    }

    #[test]
    fn a_key_waits_out_its_lockout_and_a_success_clears_it() {
        let th = Throttle::new(ThrottlePolicy::USERNAME);
        for _ in 0..5 {
            assert_eq!(th.wait("admin", t(0)), None);
            th.failed("admin", t(0));
        }
        assert_eq!(th.wait("admin", t(0)), None, "five are free");
        th.failed("admin", t(0));
        assert_eq!(th.wait("admin", t(0)), Some(Duration::seconds(1)));
        assert_eq!(th.wait("admin", t(1)), None);
        th.failed("admin", t(1));
        assert_eq!(th.wait("admin", t(1)), Some(Duration::seconds(2)));
        assert_eq!(th.wait("someone-else", t(1)), None);
        th.succeeded("admin");
        assert_eq!(th.wait("admin", t(1)), None);
        // Failures an hour apart start over.
        for _ in 0..6 {
            th.failed("tech01", t(10));
        }
        th.failed("tech01", t(10 + 3600));
        assert_eq!(th.wait("tech01", t(10 + 3600)), None);
    }
}
