//! The monthly work-order analysis (seed 002): tickets by kind, fault category, source and
//! resolution code with counts, shares and the change from the month before, and repeat
//! faults (the same customer or address within `FIXLINE_REPEAT_WINDOW_D` days of a repair).

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use diesel::QueryResult;

use crate::db::DbConn;
use crate::domain::analysis::{normal_address, repeats, shares_bp, Call, Finished, Source};
use crate::domain::period::Month;
use crate::domain::Role;
use crate::store::analysis::{self, Scope};
use crate::store::users;

/// One line of a breakdown: this month's count and share, and last month's count.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    pub key: String,
    pub count: u64,
    pub share_bp: u32,
    pub previous: u64,
}

/// An address that came back, with the calls that repeated an earlier repair.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatAddress {
    pub address: String,
    pub calls: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub month: Month,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub recorded: u64,
    pub previous_recorded: u64,
    pub by_kind: Vec<Count>,
    pub by_category: Vec<Count>,
    pub by_source: Vec<Count>,
    pub resolved: u64,
    pub previous_resolved: u64,
    pub by_resolution: Vec<Count>,
    /// Repairs recorded in the month, and those repeating an earlier repair: (call, earlier).
    pub repairs: u64,
    pub repeats: Vec<Repeat>,
    pub previous_repairs: u64,
    pub previous_repeats: u64,
    /// The addresses with the most repeats, most first (at most 10).
    pub top_addresses: Vec<RepeatAddress>,
}

/// Counts by key for this month and the one before, largest first, with shares summing to
/// 100 %.
fn breakdown(now: BTreeMap<String, u64>, before: BTreeMap<String, u64>) -> Vec<Count> {
    let mut keys: Vec<String> = now.keys().chain(before.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let counts: Vec<u64> = keys
        .iter()
        .map(|k| now.get(k).copied().unwrap_or(0))
        .collect();
    let shares = shares_bp(&counts);
    let mut out: Vec<Count> = keys
        .into_iter()
        .zip(counts.into_iter().zip(shares))
        .map(|(key, (count, share_bp))| Count {
            previous: before.get(&key).copied().unwrap_or(0),
            key,
            count,
            share_bp,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    out
}

/// Each recorder's source: a user's role, an API key, or a follow-up.
pub fn sources(
    conn: &mut DbConn,
    recorders: &[String],
) -> QueryResult<(HashMap<String, Role>, Vec<String>)> {
    let roles = users::find_rows(conn, recorders)?
        .into_iter()
        .filter_map(|u| Some((u.id, Role::parse("role", &u.role).ok()?)))
        .collect();
    Ok((roles, analysis::key_ids(conn, recorders)?))
}

struct Month1 {
    recorded: u64,
    kind: BTreeMap<String, u64>,
    category: BTreeMap<String, u64>,
    source: BTreeMap<String, u64>,
    resolved: u64,
    resolution: BTreeMap<String, u64>,
}

/// The resolution key of a finished ticket without a code.
pub const NO_CODE: &str = "none";

fn one_month(
    conn: &mut DbConn,
    scope: &Scope,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Month1> {
    let groups = analysis::recorded(conn, scope, start, end)?;
    let mut recorders: Vec<String> = groups.iter().map(|g| g.2.clone()).collect();
    recorders.sort();
    recorders.dedup();
    let (roles, keys) = sources(conn, &recorders)?;
    let mut m = Month1 {
        recorded: 0,
        kind: BTreeMap::new(),
        category: BTreeMap::new(),
        source: BTreeMap::new(),
        resolved: 0,
        resolution: BTreeMap::new(),
    };
    for (kind, category, by, follow_up, n) in groups {
        let n = n as u64;
        m.recorded += n;
        *m.kind.entry(kind).or_default() += n;
        *m.category.entry(category).or_default() += n;
        let source = Source::of(
            roles.get(&by).copied(),
            keys.contains(&by),
            follow_up.is_some(),
        );
        *m.source.entry(source.as_str().to_string()).or_default() += n;
    }
    for (code, n) in analysis::resolved(conn, scope, start, end)? {
        m.resolved += n as u64;
        *m.resolution
            .entry(code.unwrap_or_else(|| NO_CODE.to_string()))
            .or_default() += n as u64;
    }
    Ok(m)
}

/// A repair call and the earlier repair it repeats.
pub type Repeat = (String, String);

/// The repair calls of `[start, end)` that repeat an earlier repair within `window`.
pub fn repeat_calls(
    conn: &mut DbConn,
    scope: &Scope,
    start: NaiveDateTime,
    end: NaiveDateTime,
    window: Duration,
) -> QueryResult<(Vec<Call>, Vec<Repeat>)> {
    let calls: Vec<Call> = analysis::repair_calls(conn, scope, start, end)?
        .into_iter()
        .map(|(id, phone, address, created_at)| Call {
            id,
            phone,
            address,
            created_at,
        })
        .collect();
    let finished: Vec<Finished> = analysis::finished_repairs(conn, scope, start - window, end)?
        .into_iter()
        .map(|(id, phone, address, resolved_at)| Finished {
            id,
            phone,
            address,
            resolved_at,
        })
        .collect();
    let found = repeats(&finished, &calls, window);
    Ok((calls, found))
}

/// Analyses `month` in `scope`.
pub fn analyse(
    conn: &mut DbConn,
    tz: Tz,
    scope: &Scope,
    month: Month,
    window: Duration,
) -> QueryResult<Analysis> {
    let (start, end) = month.bounds(tz);
    let (pstart, pend) = month.previous().bounds(tz);
    let now = one_month(conn, scope, start, end)?;
    let before = one_month(conn, scope, pstart, pend)?;
    let (calls, found) = repeat_calls(conn, scope, start, end, window)?;
    let (pcalls, pfound) = repeat_calls(conn, scope, pstart, pend, window)?;
    let address_of: HashMap<&str, &str> = calls
        .iter()
        .map(|c| (c.id.as_str(), c.address.as_str()))
        .collect();
    let mut by_address: BTreeMap<String, RepeatAddress> = BTreeMap::new();
    for (call, _) in &found {
        let address = address_of.get(call.as_str()).copied().unwrap_or("");
        by_address
            .entry(normal_address(address))
            .or_insert_with(|| RepeatAddress {
                address: address.trim().to_string(),
                calls: Vec::new(),
            })
            .calls
            .push(call.clone());
    }
    let mut top: Vec<RepeatAddress> = by_address.into_values().collect();
    top.sort_by(|a, b| {
        b.calls
            .len()
            .cmp(&a.calls.len())
            .then(a.address.cmp(&b.address))
    });
    top.truncate(10);
    Ok(Analysis {
        month,
        start,
        end,
        recorded: now.recorded,
        previous_recorded: before.recorded,
        by_kind: breakdown(now.kind, before.kind),
        by_category: breakdown(now.category, before.category),
        by_source: breakdown(now.source, before.source),
        resolved: now.resolved,
        previous_resolved: before.resolved,
        by_resolution: breakdown(now.resolution, before.resolution),
        repairs: calls.len() as u64,
        repeats: found,
        previous_repairs: pcalls.len() as u64,
        previous_repeats: pfound.len() as u64,
        top_addresses: top,
    })
}
