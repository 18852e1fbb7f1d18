//! Circuit breaker for one SMS platform, as a pure state machine over the server clock: a
//! platform that keeps failing is tripped open, probed with one message at a time at a slow pace,
//! and closed again by the first message it accepts. The sender asks it before every send, so a
//! platform that is down costs one request per probe interval instead of one per message, and the
//! next platform of the chain takes the traffic meanwhile.

use chrono::{Duration, NaiveDateTime};

/// When to trip and how often to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive temporary failures (timeouts, refused connections, 5xx, 429) that trip it.
    pub trip_after: u32,
    /// How long a tripped platform rests before one probe message is let through.
    pub probe_every: Duration,
    /// A probe that has not been answered after this long lets the next one through.
    pub probe_timeout: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            trip_after: 5,
            probe_every: Duration::seconds(30),
            probe_timeout: Duration::seconds(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { probe_at: NaiveDateTime },
    Probing { since: NaiveDateTime },
}

/// What a recorded outcome did to the platform's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// The platform was just declared down.
    Tripped,
    /// A platform that was down accepted a message.
    Recovered,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: State,
}

impl Breaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        Breaker {
            policy,
            state: State::Closed { failures: 0 },
        }
    }

    /// Whether a message may go to the platform now. A tripped platform lets one probe through
    /// per interval; the caller must then [`record`](Self::record) the probe's outcome.
    pub fn try_acquire(&mut self, now: NaiveDateTime) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { probe_at } if now >= probe_at => {
                self.state = State::Probing { since: now };
                true
            }
            State::Open { .. } => false,
            State::Probing { since } if now - since >= self.policy.probe_timeout => {
                self.state = State::Probing { since: now };
                true
            }
            State::Probing { .. } => false,
        }
    }

    /// Records what the platform did with a message: `Ok` accepted, `Err(true)` a temporary
    /// failure, `Err(false)` a permanent refusal of that one message (the platform answered, so
    /// it is up).
    pub fn record(&mut self, outcome: Result<(), bool>, now: NaiveDateTime) -> Change {
        let down = self.is_down();
        match (outcome, self.state) {
            (Ok(()) | Err(false), _) => {
                self.state = State::Closed { failures: 0 };
                if down {
                    Change::Recovered
                } else {
                    Change::None
                }
            }
            (Err(true), State::Closed { failures }) => {
                if failures + 1 >= self.policy.trip_after {
                    self.state = State::Open {
                        probe_at: now + self.policy.probe_every,
                    };
                    Change::Tripped
                } else {
                    self.state = State::Closed {
                        failures: failures + 1,
                    };
                    Change::None
                }
            }
            // A failed probe (or a send that started before the trip): rest again.
            (Err(true), _) => {
                self.state = State::Open {
                    probe_at: now + self.policy.probe_every,
                };
                Change::None
            }
        }
    }

    /// Tripped: declared down and not yet recovered.
    pub fn is_down(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }

    /// When a tripped platform takes its next probe; None when it takes messages now.
    pub fn next_probe(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        match self.state {
            State::Closed { .. } => None,
            State::Open { probe_at } => Some(probe_at.max(now)),
            State::Probing { since } => Some((since + self.policy.probe_timeout).max(now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> NaiveDateTime {
        "2026-11-23T09:00:00".parse::<NaiveDateTime>().unwrap() + Duration::seconds(s)
    }

    #[test]
    fn trips_after_consecutive_temporary_failures_only() {
        let mut b = Breaker::new(BreakerPolicy::default());
        for i in 0..4 {
            assert!(b.try_acquire(t(i)));
            assert_eq!(b.record(Err(true), t(i)), Change::None);
        }
        // A success in between starts the count again.
        assert_eq!(b.record(Ok(()), t(4)), Change::None);
        for i in 0..4 {
            assert_eq!(b.record(Err(true), t(5 + i)), Change::None);
        }
        // A permanent refusal means the platform answered: not a failure of the platform.
        assert_eq!(b.record(Err(false), t(9)), Change::None);
        for i in 0..4 {
            assert_eq!(b.record(Err(true), t(10 + i)), Change::None);
        }
        assert!(!b.is_down());
        assert_eq!(b.record(Err(true), t(14)), Change::Tripped);
        assert!(b.is_down());
        assert_eq!(b.next_probe(t(14)), Some(t(44)));
    }

    #[test]
    fn a_tripped_platform_takes_one_probe_per_interval() {
        let mut b = Breaker::new(BreakerPolicy::default());
        for i in 0..5 {
            b.record(Err(true), t(i));
        }
        assert!(!b.try_acquire(t(10)));
        assert!(!b.try_acquire(t(33)));
        assert!(b.try_acquire(t(34)), "the probe");
        assert!(!b.try_acquire(t(35)), "one probe at a time");
        assert_eq!(b.record(Err(true), t(36)), Change::None);
        assert!(!b.try_acquire(t(50)));
        assert!(b.try_acquire(t(66)));
        assert_eq!(b.record(Ok(()), t(67)), Change::Recovered);
        assert!(!b.is_down());
        assert!(b.try_acquire(t(67)));
        assert_eq!(b.record(Ok(()), t(68)), Change::None);
    }

    #[test]
    fn an_unanswered_probe_lets_the_next_one_through() {
        let mut b = Breaker::new(BreakerPolicy::default());
        for i in 0..5 {
            b.record(Err(true), t(i));
        }
        assert!(b.try_acquire(t(34)));
        assert!(!b.try_acquire(t(93)));
        assert_eq!(b.next_probe(t(40)), Some(t(94)));
        assert!(b.try_acquire(t(94)));
    }
}
