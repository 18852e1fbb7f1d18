//! Each technician's list version and the version at which each of their tickets last changed:
//! `GET /me/tickets` answers 304 while the version stands, and `GET /me/changes` names the
//! tickets changed since a version the phone holds.
//!
//! Every change to a ticket on a technician's phone appends to their feed
//! ([`crate::store::feed::append`]), which marks the technician and the ticket as touched in the
//! running transaction. [`crate::db::Db::write`] then raises each touched technician's version
//! once, as the transaction's last writes and in user order: the row lock on the version is held
//! until commit, so versions commit in the order they were given (a phone that saw version 7
//! never misses a change that commits later as 6), and two transactions taking the locks in the
//! same order at their very end cannot deadlock on them.

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{list_changes, list_versions};
use crate::db::DbConn;

thread_local! {
    /// Technician → ticket → when, touched by the transaction running on this thread (a write
    /// transaction runs start to commit on one blocking thread).
    static TOUCHED: RefCell<BTreeMap<String, BTreeMap<String, NaiveDateTime>>> =
        const { RefCell::new(BTreeMap::new()) };
}

/// Marks `ticket_id` as changed for `user_id` in the running write transaction.
pub fn touch(user_id: &str, ticket_id: &str, at: NaiveDateTime) {
    TOUCHED.with(|t| {
        let mut t = t.borrow_mut();
        let at_most = t
            .entry(user_id.to_string())
            .or_default()
            .entry(ticket_id.to_string())
            .or_insert(at);
        *at_most = (*at_most).max(at);
    });
}

/// Forgets what an earlier transaction on this thread touched (one that failed before
/// [`record_touched`]).
pub fn forget_touched() {
    TOUCHED.with(|t| t.borrow_mut().clear());
}

/// Raises the version of every technician touched in this transaction and records the tickets
/// changed at it. Called by the write transaction as its last step; answers whose versions it
/// raised.
pub fn record_touched(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let touched = TOUCHED.with(|t| std::mem::take(&mut *t.borrow_mut()));
    let mut raised = Vec::with_capacity(touched.len());
    for (user, tickets) in touched {
        let version = crate::store::dialect::raise_list_version(conn, &user)?;
        for (ticket, at) in tickets {
            crate::store::dialect::record_list_change(conn, &user, &ticket, version, at)?;
        }
        raised.push(user);
    }
    Ok(raised)
}

/// The list versions this instance knows to be current, so that a phone asking whether its
/// list changed is answered without a query. An entry is dropped when this instance commits a
/// change to the technician's list, and when the feed reader sees an entry for them (a change
/// another instance committed: until then, for about as long as the reader takes to hear of
/// it, this instance may still answer the version before).
#[derive(Default)]
pub struct VersionCache {
    known: std::sync::Mutex<std::collections::HashMap<String, Known>>,
    /// Counts the changes forgotten, so a version read before one is not kept after it.
    epoch: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Clone, Copy)]
enum Known {
    Version(ListVersion),
    /// Changed at this epoch; a version read before it is stale.
    Changed(u64),
}

impl VersionCache {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Known>> {
        // A panic while holding the lock leaves a map of plain values: still usable.
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The epoch to pass to [`VersionCache::offer`] with a version read after this call.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn get(&self, user_id: &str) -> Option<ListVersion> {
        match self.map().get(user_id) {
            Some(Known::Version(v)) => Some(*v),
            _ => None,
        }
    }

    /// Keeps `version`, read from the database after [`VersionCache::epoch`] answered `epoch`,
    /// unless the technician's list changed since.
    pub fn offer(&self, user_id: &str, version: ListVersion, epoch: u64) {
        let mut map = self.map();
        match map.get(user_id) {
            Some(Known::Changed(at)) if *at > epoch => {}
            Some(Known::Version(v)) if v.version > version.version => {}
            _ => {
                map.insert(user_id.to_string(), Known::Version(version));
            }
        }
    }

    /// The technician's list changed: whatever is known of it is stale.
    pub fn forget(&self, user_id: &str) {
        let at = self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        self.map().insert(user_id.to_string(), Known::Changed(at));
    }
}

/// A technician's list version, and the floor below which changes were forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListVersion {
    pub version: i64,
    pub floor: i64,
}

pub fn current(conn: &mut DbConn, user_id: &str) -> QueryResult<ListVersion> {
    Ok(list_versions::table
        .find(user_id)
        .select((list_versions::version, list_versions::floor))
        .get_result::<(i64, i64)>(conn)
        .optional()?
        .map(|(version, floor)| ListVersion { version, floor })
        .unwrap_or_default())
}

/// The tickets that changed for `user_id` after version `since`, up to `upto`, in the order
/// they last changed.
pub fn changed_between(
    conn: &mut DbConn,
    user_id: &str,
    since: i64,
    upto: i64,
) -> QueryResult<Vec<String>> {
    list_changes::table
        .filter(list_changes::user_id.eq(user_id))
        .filter(list_changes::version.gt(since))
        .filter(list_changes::version.le(upto))
        .order(list_changes::version.asc())
        .select(list_changes::ticket_id)
        .load(conn)
}

/// How long a ticket's change is remembered: a phone offline for longer reloads its list.
pub const RETENTION: chrono::Duration = chrono::Duration::days(7);

/// Forgets changes recorded before `before`, raising each technician's floor past them.
/// Answers how many were forgotten.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    let floors: Vec<(String, Option<i64>)> = list_changes::table
        .filter(list_changes::changed_at.lt(before))
        .group_by(list_changes::user_id)
        .select((
            list_changes::user_id,
            diesel::dsl::max(list_changes::version),
        ))
        .order(list_changes::user_id.asc())
        .load(conn)?;
    for (user, floor) in floors {
        let Some(floor) = floor else { continue };
        diesel::update(
            list_versions::table
                .filter(list_versions::user_id.eq(&user))
                .filter(list_versions::floor.lt(floor)),
        )
        .set(list_versions::floor.eq(floor))
        .execute(conn)?;
    }
    diesel::delete(list_changes::table.filter(list_changes::changed_at.lt(before))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(version: i64) -> ListVersion {
        ListVersion { version, floor: 0 }
    }

    #[test]
    fn a_version_read_before_a_change_is_not_kept() {
        let cache = VersionCache::default();
        let before = cache.epoch();
        // The read raced a commit: the commit's forget comes first, the stale read after.
        cache.forget("u");
        cache.offer("u", v(3), before);
        assert_eq!(cache.get("u"), None);
        let after = cache.epoch();
        cache.offer("u", v(4), after);
        assert_eq!(cache.get("u"), Some(v(4)));
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = VersionCache::default();
        cache.offer("u", v(5), cache.epoch());
        cache.offer("u", v(4), cache.epoch());
        assert_eq!(cache.get("u"), Some(v(5)));
        cache.forget("u");
        assert_eq!(cache.get("u"), None);
        assert_eq!(cache.get("someone else"), None);
    }
}
