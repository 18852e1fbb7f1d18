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
/// changed at it. Called by the write transaction as its last step.
pub fn record_touched(conn: &mut DbConn) -> QueryResult<()> {
    let touched = TOUCHED.with(|t| std::mem::take(&mut *t.borrow_mut()));
    for (user, tickets) in touched {
        let version = crate::store::dialect::raise_list_version(conn, &user)?;
        for (ticket, at) in tickets {
            crate::store::dialect::record_list_change(conn, &user, &ticket, version, at)?;
        }
    }
    Ok(())
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
