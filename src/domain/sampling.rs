//! Which repaired customers get a callback (DESIGN rule 5: at least 20 %, per district,
//! auditable). The rule is reproducible, never hand-picked:
//!
//! 1. When a ticket is resolved, tickets with an escalation, a late stage or a complaint are
//!    taken if the configuration forces them in.
//! 2. Otherwise the ticket's *draw* decides: HMAC-SHA256 of the ticket id under a
//!    per-deployment salt, read as a number in [0, 1). Below the rate, it is called back.
//! 3. At the end of each local day, every district whose callbacks fall short of the rate over
//!    that day's resolved tickets is topped up with the tickets of lowest draw.
//!
//! Anyone holding the salt can recompute every decision from the ticket ids.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Invalid;

/// Rates are basis points: 2000 = 20 %.
pub const BASIS: u32 = 10_000;

/// Why a ticket is called back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Its draw fell under the rate.
    Drawn,
    /// Forced in: the acknowledgement was escalated.
    Escalated,
    /// Forced in: a stage was late.
    Late,
    /// Forced in: the customer complained.
    Complaint,
    /// Added at the end of the day so the district reaches the rate.
    TopUp,
}

impl Reason {
    pub const ALL: [Reason; 5] = [
        Reason::Drawn,
        Reason::Escalated,
        Reason::Late,
        Reason::Complaint,
        Reason::TopUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Drawn => "drawn",
            Reason::Escalated => "escalated",
            Reason::Late => "late",
            Reason::Complaint => "complaint",
            Reason::TopUp => "top_up",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Reason, Invalid> {
        Reason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Invalid::new(field, format!("`{s}` is not a callback reason")))
    }
}

/// Which kinds of ticket are always called back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Force {
    pub escalated: bool,
    pub late: bool,
    pub complaint: bool,
}

impl Force {
    /// `escalated,late,complaint` (any subset, comma-separated) or `none`.
    pub fn parse(field: &str, s: &str) -> Result<Force, Invalid> {
        let mut f = Force::default();
        let s = s.trim();
        if s == "none" || s.is_empty() {
            return Ok(f);
        }
        for part in s.split(',').map(str::trim) {
            match part {
                "escalated" => f.escalated = true,
                "late" => f.late = true,
                "complaint" => f.complaint = true,
                other => {
                    return Err(Invalid::new(
                        field,
                        format!("`{other}` is not escalated, late or complaint"),
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// What is known about a resolved ticket when it is sampled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    pub escalated: bool,
    pub late: bool,
    pub complaint: bool,
}

/// The sampling rule of a deployment.
#[derive(Clone)]
pub struct SamplingRule {
    rate_bp: u32,
    salt: Vec<u8>,
    pub force: Force,
}

impl fmt::Debug for SamplingRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamplingRule")
            .field("rate_bp", &self.rate_bp)
            .field("salt", &"***")
            .field("force", &self.force)
            .finish()
    }
}

impl SamplingRule {
    /// `rate_bp` is clamped to 0..=10000.
    pub fn new(rate_bp: u32, salt: &[u8], force: Force) -> Self {
        SamplingRule {
            rate_bp: rate_bp.min(BASIS),
            salt: salt.to_vec(),
            force,
        }
    }

    pub fn rate_bp(&self) -> u32 {
        self.rate_bp
    }

    /// The ticket's draw: the first 8 bytes of HMAC-SHA256(salt, ticket id), big-endian.
    pub fn draw(&self, ticket_id: &str) -> u64 {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.salt).expect("HMAC takes any key");
        mac.update(ticket_id.as_bytes());
        let out = mac.finalize().into_bytes();
        u64::from_be_bytes(out[..8].try_into().expect("8 bytes"))
    }

    /// True if the draw, read as a fraction of 2^64, is under the rate.
    pub fn drawn(&self, ticket_id: &str) -> bool {
        (self.draw(ticket_id) as u128) * (BASIS as u128) < (self.rate_bp as u128) << 64
    }

    /// The decision when a ticket is resolved: forced reasons first, then the draw.
    pub fn decide(&self, ticket_id: &str, facts: Facts) -> Option<Reason> {
        if self.force.escalated && facts.escalated {
            Some(Reason::Escalated)
        } else if self.force.late && facts.late {
            Some(Reason::Late)
        } else if self.force.complaint && facts.complaint {
            Some(Reason::Complaint)
        } else if self.drawn(ticket_id) {
            Some(Reason::Drawn)
        } else {
            None
        }
    }

    /// Callbacks a district needs for `resolved` tickets in a day: the rate, rounded up.
    pub fn required(&self, resolved: usize) -> usize {
        (resolved * self.rate_bp as usize).div_ceil(BASIS as usize)
    }

    /// The end-of-day top-up of one district: given the day's resolved tickets and whether each
    /// already has a callback, the ids to add, lowest draw first (ties by id).
    pub fn top_up<'a>(&self, day: &'a [(String, bool)]) -> Vec<&'a str> {
        let have = day.iter().filter(|(_, s)| *s).count();
        let need = self.required(day.len()).saturating_sub(have);
        if need == 0 {
            return Vec::new();
        }
        let mut rest: Vec<(u64, &str)> = day
            .iter()
            .filter(|(_, s)| !*s)
            .map(|(id, _)| (self.draw(id), id.as_str()))
            .collect();
        rest.sort_unstable();
        rest.into_iter().take(need).map(|(_, id)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(rate_bp: u32) -> SamplingRule {
        SamplingRule::new(rate_bp, b"deployment-salt", Force::default())
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("ticket-{i:06}")).collect()
    }

    #[test]
    fn the_draw_is_reproducible_and_depends_on_the_salt() {
        let a = rule(2000);
        assert_eq!(a.draw("t-1"), rule(2000).draw("t-1"));
        let other = SamplingRule::new(2000, b"another", Force::default());
        assert_ne!(a.draw("t-1"), other.draw("t-1"));
    }

    #[test]
    fn the_drawn_share_follows_the_rate() {
        for rate in [0, 500, 2000, 5000, 10_000] {
            let r = rule(rate);
            let n = 100_000;
            let drawn = ids(n).iter().filter(|id| r.drawn(id)).count();
            let expected = n * rate as usize / BASIS as usize;
            let slack = n / 100; // 1 point
            assert!(
                drawn + slack >= expected && drawn <= expected + slack,
                "rate {rate}: {drawn} of {n}"
            );
        }
    }

    #[test]
    fn forced_reasons_come_first_when_configured() {
        let facts = Facts {
            escalated: true,
            late: true,
            complaint: true,
        };
        let none = rule(0);
        assert_eq!(none.decide("x", facts), None);
        let all = SamplingRule::new(0, b"s", Force::parse("f", "late,complaint").unwrap());
        assert_eq!(all.decide("x", facts), Some(Reason::Late));
        let esc = SamplingRule::new(0, b"s", Force::parse("f", "escalated").unwrap());
        assert_eq!(esc.decide("x", facts), Some(Reason::Escalated));
        assert_eq!(esc.decide("x", Facts::default()), None);
        assert_eq!(
            rule(10_000).decide("x", Facts::default()),
            Some(Reason::Drawn)
        );
        assert!(Force::parse("f", "late,tardy").is_err());
        assert_eq!(Force::parse("f", "none").unwrap(), Force::default());
    }

    #[test]
    fn required_rounds_up() {
        let r = rule(2000);
        assert_eq!(r.required(0), 0);
        assert_eq!(r.required(1), 1);
        assert_eq!(r.required(5), 1);
        assert_eq!(r.required(6), 2);
        assert_eq!(r.required(10), 2);
    }

    #[test]
    fn top_up_reaches_the_rate_with_the_lowest_draws() {
        let r = rule(2000);
        let day: Vec<(String, bool)> = ids(37).into_iter().map(|id| (id, false)).collect();
        let picked = r.top_up(&day);
        assert_eq!(picked.len(), 8); // ceil(37 * 0.2)
        let worst_picked = picked.iter().map(|id| r.draw(id)).max().unwrap();
        for (id, _) in &day {
            if !picked.contains(&id.as_str()) {
                assert!(r.draw(id) > worst_picked);
            }
        }
        // Already enough: nothing to add; some already: only the difference.
        let mut some = day.clone();
        for x in some.iter_mut().take(8) {
            x.1 = true;
        }
        assert!(r.top_up(&some).is_empty());
        some[0].1 = false;
        assert_eq!(r.top_up(&some).len(), 1);
        assert_eq!(
            r.top_up(&day),
            picked,
            "the same inputs give the same sample"
        );
    }
}
