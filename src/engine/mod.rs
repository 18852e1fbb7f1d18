//! The SLA engine and the outbox sender, as background tasks. Deadlines are rows
//! (`tickets.next_deadline_at`, `notifications.next_attempt_at`); the tasks wake at the earliest
//! one, when a write asks them to, and at least every few seconds, so after a restart everything
//! overdue is processed at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use tokio::sync::Notify;

pub mod listen;

use crate::clock::SharedClock;
use crate::db::{Db, DbError};
use crate::flow::{callbacks, escalation, FlowConfig, FlowError};
use crate::store::{client_actions, list_versions, tickets, track};
use crate::telemetry::Metrics;

/// Tickets stepped per batch.
const BATCH: i64 = 200;

/// The longest the engine sleeps before it looks at the earliest deadline again.
pub const MAX_SLEEP: Duration = Duration::from_secs(5);

/// Whether a write that set `deadline` at `now` must wake the engine. The engine reads the
/// earliest deadline from the database after every pass and sleeps at most [`MAX_SLEEP`], so a
/// deadline at least that far off is found in time without a wake; only a nearer one (or one
/// already past) needs it. During a storm this keeps every intake (whose first deadline is
/// minutes away) from sending the engine round its queries again.
pub fn needs_wake(deadline: NaiveDateTime, now: NaiveDateTime) -> bool {
    deadline - now < chrono::Duration::from_std(MAX_SLEEP).unwrap_or(chrono::Duration::MAX)
}

/// Processes due ticket deadlines.
#[derive(Clone)]
pub struct Engine {
    db: Db,
    clock: SharedClock,
    cfg: Arc<FlowConfig>,
    wake: Arc<Notify>,
    metrics: Metrics,
    /// Told after steps that may have added feed entries.
    feed: Arc<crate::live::FeedHub>,
    /// When phones' action ids were last pruned (business time).
    pruned_at: Arc<std::sync::Mutex<Option<NaiveDateTime>>>,
    /// Held by every pass; see [`Engine::pause`].
    passing: Arc<tokio::sync::Mutex<()>>,
}

/// How often old action ids are pruned.
const PRUNE_EVERY: chrono::Duration = chrono::Duration::hours(1);

impl Engine {
    pub fn new(
        db: Db,
        clock: SharedClock,
        cfg: Arc<FlowConfig>,
        metrics: Metrics,
        feed: Arc<crate::live::FeedHub>,
    ) -> Self {
        Engine {
            db,
            clock,
            cfg,
            wake: Arc::new(Notify::new()),
            metrics,
            feed,
            pruned_at: Default::default(),
            passing: Default::default(),
        }
    }

    /// Waits for the background pass under way, then keeps this instance's background task from
    /// starting another until the guard is dropped: the test clock settles everything itself
    /// and must not miss a step another pass holds uncommitted.
    pub async fn pause(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.passing.clone().lock_owned().await
    }

    /// [`run_due`](Self::run_due) while the caller holds the [`pause`](Self::pause) guard.
    pub async fn run_due_paused(
        &self,
        _paused: &tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<usize, DbError> {
        self.pass().await
    }

    /// Asks the background task to look again now (a write set an earlier deadline).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Wakes the background task if `deadline`, just set by a write, may fall before its next
    /// look ([`needs_wake`]).
    pub fn wake_for(&self, deadline: NaiveDateTime) {
        if needs_wake(deadline, self.clock.now_naive()) {
            self.wake();
        }
    }

    /// Closes every local day that has ended since the last one closed: each district that fell
    /// short of the callback rate that day is topped up. Answers the callbacks added.
    pub async fn close_callback_days(&self) -> Result<usize, DbError> {
        let mut added = 0;
        loop {
            let now = self.clock.now_naive();
            let cfg = self.cfg.clone();
            let day = self
                .db
                .read(move |conn| callbacks::next_day_to_close(conn, &cfg, now))
                .await;
            let day = match day {
                Ok(Some(d)) => d,
                Ok(None) => return Ok(added),
                Err(e) => return Err(e.into()),
            };
            let cfg = self.cfg.clone();
            match self
                .db
                .write(move |conn| callbacks::close_day(conn, &cfg, day, now))
                .await
            {
                Ok(n) => {
                    let n = n.unwrap_or(0);
                    added += n;
                    tracing::info!(%day, added = n, "callback day closed");
                }
                // Another instance closed it first.
                Err(FlowError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Applies every deadline due now. Answers how many tickets had steps applied.
    pub async fn run_due(&self) -> Result<usize, DbError> {
        let _passing = self.passing.lock().await;
        self.pass().await
    }

    async fn pass(&self) -> Result<usize, DbError> {
        if let Err(e) = self.close_callback_days().await {
            tracing::error!(error = %e, "closing callback days failed");
        }
        if let Err(e) = self.prune_phone_records().await {
            tracing::error!(error = %e, "pruning old action ids and list changes failed");
        }
        if let Err(e) = self.fault_digests().await {
            tracing::error!(error = %e, "network fault digests failed");
        }
        if let Err(e) = self.morning_briefs().await {
            tracing::error!(error = %e, "morning briefs failed");
        }
        if let Err(e) = self.complaint_steps().await {
            tracing::error!(error = %e, "complaint escalation failed");
        }
        let stepped = self.step_due().await?;
        // Steps write to the assignees' feeds: their open streams hear of them now.
        if stepped > 0 {
            self.feed.wake();
        }
        Ok(stepped)
    }

    /// Climbs the escalation ladder of every complaint whose next rung is due. Answers how many
    /// rungs were climbed.
    async fn complaint_steps(&self) -> Result<usize, DbError> {
        let mut climbed = 0;
        loop {
            let now = self.clock.now_naive();
            let ids = self
                .db
                .read(move |conn| {
                    Ok::<_, DbError>(crate::store::complaints::due_ids(conn, now, BATCH)?)
                })
                .await?;
            let mut progressed = false;
            for id in ids {
                let cfg = self.cfg.clone();
                let span_id = id.clone();
                match self
                    .db
                    .write(move |conn| crate::flow::complaints::step(conn, &cfg, &id, now))
                    .await
                {
                    Ok(true) => {
                        climbed += 1;
                        progressed = true;
                        tracing::info!(complaint_id = %span_id, "late complaint escalated");
                    }
                    Ok(false) => progressed = true,
                    // Another instance stepped or changed it first.
                    Err(FlowError::Conflict(_) | FlowError::Changed) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if !progressed {
                return Ok(climbed);
            }
        }
    }

    /// The team leaders' morning briefs, once a local day.
    async fn morning_briefs(&self) -> Result<(), DbError> {
        let now = self.clock.now_naive();
        let cfg = self.cfg.clone();
        match self
            .db
            .write(move |conn| crate::flow::brief::send_due(conn, &cfg, now))
            .await
        {
            Ok(Some(n)) => tracing::info!(teams = n, "morning briefs queued"),
            // Not yet time, or another instance sent them first.
            Ok(None) | Err(FlowError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Marks late the network-fault crews that did not acknowledge in time (their dispatchers
    /// are told), and tells the staff of open faults about the calls linked since their last
    /// message, each at most once per digest interval.
    async fn fault_digests(&self) -> Result<(), DbError> {
        let now = self.clock.now_naive();
        let cfg = self.cfg.clone();
        let told = self
            .db
            .write(move |conn| {
                crate::flow::storms::crew_overdue(conn, now)?;
                crate::flow::storms::digests(conn, &cfg, now)
            })
            .await;
        match told {
            Ok(n) if n > 0 => tracing::info!(faults = n, "network fault digests queued"),
            Ok(_) | Err(FlowError::Changed) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Forgets phones' action ids older than [`client_actions::RETENTION`], list changes older
    /// than [`list_versions::RETENTION`] and position fixes past their retention, once an hour.
    async fn prune_phone_records(&self) -> Result<(), DbError> {
        let now = self.clock.now_naive();
        {
            let mut at = self.pruned_at.lock().unwrap_or_else(|p| p.into_inner());
            if at.is_some_and(|t| now - t < PRUNE_EVERY) {
                return Ok(());
            }
            *at = Some(now);
        }
        let track_retention = self.cfg.track_retention;
        let (actions, changes, fixes) = self
            .db
            .write(move |conn| {
                Ok::<_, DbError>((
                    client_actions::prune(conn, now - client_actions::RETENTION)?,
                    list_versions::prune(conn, now - list_versions::RETENTION)?,
                    track::prune(conn, now - track_retention)?,
                ))
            })
            .await?;
        if actions + changes + fixes > 0 {
            tracing::info!(
                actions,
                changes,
                fixes,
                "old action ids, list changes and fixes forgotten"
            );
        }
        Ok(())
    }

    async fn step_due(&self) -> Result<usize, DbError> {
        let mut stepped = 0;
        loop {
            let now = self.clock.now_naive();
            let ids = self
                .db
                .read(move |conn| Ok::<_, DbError>(tickets::due_ids(conn, now, BATCH)?))
                .await?;
            if ids.is_empty() {
                return Ok(stepped);
            }
            let mut progressed = false;
            for id in ids {
                let cfg = self.cfg.clone();
                let clock = self.clock.clone();
                let span_id = id.clone();
                // Each step is stamped with the time it is applied (inside the transaction), not
                // the time the pass began: a long pass must not under-report its lateness.
                let result = self
                    .db
                    .write(move |conn| -> Result<Vec<_>, FlowError> {
                        escalation::step(conn, &cfg, &id, clock.now_naive().max(now))
                    })
                    .await;
                match result {
                    Ok(applied) if !applied.is_empty() => {
                        stepped += 1;
                        progressed = true;
                        for check in &applied {
                            self.metrics
                                .deadline_steps
                                .with_label_values(&[check.as_str()])
                                .inc();
                        }
                        tracing::info!(ticket_id = %span_id, checks = ?applied, "deadline steps applied");
                    }
                    // Nothing applied: another instance holds it, or it was not due after all.
                    Ok(_) => {}
                    // Expected between instances: another one stepped or changed it first.
                    Err(FlowError::Conflict(_) | FlowError::Changed) => {
                        self.metrics.step_conflicts.inc();
                        tracing::debug!(ticket_id = %span_id, "step already applied elsewhere");
                    }
                    Err(FlowError::Db(e)) => return Err(DbError::Query(e)),
                    Err(FlowError::Store(e)) => return Err(e),
                    Err(e) => {
                        tracing::error!(ticket_id = %span_id, error = %e, "deadline step failed");
                    }
                }
            }
            if !progressed {
                return Ok(stepped);
            }
        }
    }

    /// Runs until the process ends: steps due tickets, then sleeps until the earliest deadline,
    /// a wake-up, or [`MAX_SLEEP`], whichever comes first.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.run_due().await {
                    tracing::error!(error = %e, "engine pass failed");
                }
                let wait = match self
                    .db
                    .read(|conn| Ok::<_, DbError>(tickets::earliest_deadline(conn)?))
                    .await
                {
                    Ok(Some(at)) => (at - self.clock.now_naive())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .min(MAX_SLEEP),
                    _ => MAX_SLEEP,
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
                    _ = self.wake.notified() => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn only_a_deadline_before_the_next_look_wakes_the_engine() {
        let now = at("2026-11-23 09:00:00");
        // An intake's first deadline, three minutes off: the engine finds it on its own.
        assert!(!needs_wake(at("2026-11-23 09:03:00"), now));
        assert!(!needs_wake(at("2026-11-23 09:00:05"), now));
        assert!(needs_wake(at("2026-11-23 09:00:04.999"), now));
        assert!(needs_wake(now, now));
        // Already past: due now.
        assert!(needs_wake(at("2026-11-23 08:40:00"), now));
    }
}
