//! The monthly work-order analysis (seed 002: tickets by type and category with counts and
//! shares): shares that add up to exactly 100 %, and repeat faults, the same customer or
//! address again within a window after a repair (the first-time-fix rate's complement).

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};

/// Shares of `counts` in basis points, adding up to exactly 10,000 when any count is positive:
/// each share rounded down, then the points left over given to the largest remainders (ties
/// to the earlier entry).
pub fn shares_bp(counts: &[u64]) -> Vec<u32> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let exact: Vec<(u64, u64)> = counts
        .iter()
        .map(|&c| {
            let scaled = c as u128 * 10_000;
            (
                (scaled / total as u128) as u64,
                (scaled % total as u128) as u64,
            )
        })
        .collect();
    let mut out: Vec<u32> = exact.iter().map(|(q, _)| *q as u32).collect();
    let left = 10_000 - out.iter().map(|&s| s as u64).sum::<u64>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for &i in order.iter().take(left as usize) {
        out[i] += 1;
    }
    out
}

/// An address as compared for repeats: trimmed, inner runs of white space made one space,
/// ASCII letters lower-cased.
pub fn normal_address(address: &str) -> String {
    address
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// A finished repair, as the repeat check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub id: String,
    pub phone: String,
    pub address: String,
    pub resolved_at: NaiveDateTime,
}

/// A repair call, as the repeat check sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub id: String,
    pub phone: String,
    pub address: String,
    pub created_at: NaiveDateTime,
}

/// Each call that repeats an earlier repair: one for the same customer phone or the same
/// address, finished no more than `window` before the call (and not after it). Answers the
/// call's id with the earlier repair's id (the latest such), in the order of `calls`.
pub fn repeats(finished: &[Finished], calls: &[Call], window: Duration) -> Vec<(String, String)> {
    let mut by_phone: HashMap<&str, Vec<&Finished>> = HashMap::new();
    let mut by_address: HashMap<String, Vec<&Finished>> = HashMap::new();
    for f in finished {
        by_phone.entry(f.phone.as_str()).or_default().push(f);
        by_address
            .entry(normal_address(&f.address))
            .or_default()
            .push(f);
    }
    let mut out = Vec::new();
    for c in calls {
        let address = normal_address(&c.address);
        let earlier = by_phone
            .get(c.phone.as_str())
            .into_iter()
            .flatten()
            .chain(by_address.get(&address).into_iter().flatten())
            .filter(|f| f.id != c.id)
            .filter(|f| f.resolved_at <= c.created_at && c.created_at - f.resolved_at <= window)
            .max_by_key(|f| (f.resolved_at, f.id.clone()));
        if let Some(f) = earlier {
            out.push((c.id.clone(), f.id.clone()));
        }
    }
    out
}

/// Where a ticket came from, read off who recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A call-center agent took the call.
    CallCenter,
    /// A dispatcher recorded it.
    Dispatcher,
    /// A technician or account manager in the field.
    Field,
    /// Another system, through an API key.
    Integration,
    /// fixline opened it: an unsatisfied callback's follow-up or a customer's "still broken"
    /// after a network fault.
    FollowUp,
    Other,
}

impl Source {
    pub const ALL: [Source; 6] = [
        Source::CallCenter,
        Source::Dispatcher,
        Source::Field,
        Source::Integration,
        Source::FollowUp,
        Source::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::CallCenter => "call_center",
            Source::Dispatcher => "dispatcher",
            Source::Field => "field",
            Source::Integration => "integration",
            Source::FollowUp => "follow_up",
            Source::Other => "other",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Source, super::Invalid> {
        Source::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| super::Invalid::new(field, format!("`{s}` is not a source")))
    }

    /// The source of a ticket recorded by a user of `role` (None: not a user), through an API
    /// key (`by_key`), or as a follow-up of another ticket.
    pub fn of(role: Option<super::Role>, by_key: bool, follow_up: bool) -> Source {
        use super::Role;
        if follow_up {
            return Source::FollowUp;
        }
        if by_key {
            return Source::Integration;
        }
        match role {
            Some(Role::Agent) => Source::CallCenter,
            Some(Role::Dispatcher) => Source::Dispatcher,
            Some(Role::Technician | Role::AccountManager) => Source::Field,
            _ => Source::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 10, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    #[test]
    fn shares_add_up_to_exactly_one_hundred_percent() {
        assert_eq!(shares_bp(&[1, 1, 1]), vec![3334, 3333, 3333]);
        assert_eq!(shares_bp(&[2, 1]), vec![6667, 3333]);
        assert_eq!(shares_bp(&[0, 0]), vec![0, 0]);
        assert_eq!(shares_bp(&[5]), vec![10_000]);
        let odd = shares_bp(&[7, 13, 29, 1, 1, 3]);
        assert_eq!(odd.iter().sum::<u32>(), 10_000);
        assert_eq!(shares_bp(&[1, 6]), vec![1429, 8571]);
    }

    #[test]
    fn a_repeat_within_thirty_days_counts_and_after_does_not() {
        let window = Duration::days(30);
        let done = |id: &str, phone: &str, address: &str, day| Finished {
            id: id.into(),
            phone: phone.into(),
            address: address.into(),
            resolved_at: at(day, 10),
        };
        let call = |id: &str, phone: &str, address: &str, created_at| Call {
            id: id.into(),
            phone: phone.into(),
            address: address.into(),
            created_at,
        };
        let finished = [
            done("p1", "+861", "杨舍镇 人民路 1 号", 1),
            done("p2", "+862", "塘桥镇 2 号", 1),
        ];
        let calls = [
            // 29 days after: a repeat, by phone.
            call("a", "+861", "elsewhere", at(30, 10)),
            // 31 days after: not.
            call("b", "+862", "x", at(1, 10) + Duration::days(31)),
            // The same address written with other spacing, 10 days after: a repeat.
            call("c", "+869", "  杨舍镇  人民路 1 号 ", at(11, 9)),
            // Before the repair was finished: not a repeat of it.
            call("d", "+861", "x", at(1, 9)),
            // Exactly 30 days: still within.
            call("e", "+862", "x", at(31, 10)),
        ];
        assert_eq!(
            repeats(&finished, &calls, window),
            vec![
                ("a".to_string(), "p1".to_string()),
                ("c".to_string(), "p1".to_string()),
                ("e".to_string(), "p2".to_string()),
            ]
        );
    }
}
