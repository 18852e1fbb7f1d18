//! Write rate limits per caller: a token bucket per API key and per user, so one broken
//! integration or runaway client cannot starve the others. A bucket holds a minute's allowance
//! and refills evenly; a write finding it empty is refused with 429 and the seconds until the
//! next token. Kept per instance, in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDateTime;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: NaiveDateTime,
}

/// Buckets of one kind of caller, `per_minute` writes each (0: no limit).
pub struct RateLimit {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Buckets kept before full ones are swept out.
const SWEEP_ABOVE: usize = 10_000;

impl RateLimit {
    pub fn new(per_minute: u32) -> Self {
        RateLimit {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one write from `key`'s bucket at `now`: Ok, or how many seconds until one is left.
    pub fn take(&self, key: &str, now: NaiveDateTime) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + (now - b.at).num_milliseconds() as f64 / 1000.0 * per_second < capacity
            });
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = (now - b.at).num_milliseconds().max(0) as f64 / 1000.0;
        b.tokens = (b.tokens + elapsed * per_second).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> NaiveDateTime {
        "2026-11-23T09:00:00".parse::<NaiveDateTime>().unwrap() + chrono::Duration::milliseconds(ms)
    }

    #[test]
    fn a_minutes_allowance_then_an_even_refill() {
        let r = RateLimit::new(60);
        for _ in 0..60 {
            assert_eq!(r.take("k", t(0)), Ok(()));
        }
        assert_eq!(r.take("k", t(0)), Err(1));
        assert_eq!(
            r.take("other", t(0)),
            Ok(()),
            "each caller has its own bucket"
        );
        assert_eq!(r.take("k", t(999)), Err(1));
        assert_eq!(r.take("k", t(1000)), Ok(()));
        assert_eq!(r.take("k", t(1000)), Err(1));
        let slow = RateLimit::new(6);
        for _ in 0..6 {
            slow.take("k", t(0)).unwrap();
        }
        assert_eq!(slow.take("k", t(0)), Err(10), "one write every ten seconds");
        assert!(RateLimit::new(0).take("k", t(0)).is_ok());
    }
}
