//! The SLA engine and the outbox sender, as background tasks. Deadlines are rows
//! (`tickets.next_deadline_at`, `notifications.next_attempt_at`); the tasks wake at the earliest
//! one, when a write asks them to, and at least every few seconds, so after a restart everything
//! overdue is processed at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub mod listen;

use crate::clock::SharedClock;
use crate::db::{Db, DbError};
use crate::flow::{callbacks, escalation, FlowConfig, FlowError};
use crate::store::tickets;
use crate::telemetry::Metrics;

/// Tickets stepped per batch.
const BATCH: i64 = 200;

/// Processes due ticket deadlines.
#[derive(Clone)]
pub struct Engine {
    db: Db,
    clock: SharedClock,
    cfg: Arc<FlowConfig>,
    wake: Arc<Notify>,
    metrics: Metrics,
}

impl Engine {
    pub fn new(db: Db, clock: SharedClock, cfg: Arc<FlowConfig>, metrics: Metrics) -> Self {
        Engine {
            db,
            clock,
            cfg,
            wake: Arc::new(Notify::new()),
            metrics,
        }
    }

    /// Asks the background task to look again now (a write set an earlier deadline).
    pub fn wake(&self) {
        self.wake.notify_one();
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
        if let Err(e) = self.close_callback_days().await {
            tracing::error!(error = %e, "closing callback days failed");
        }
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
                    Err(FlowError::Conflict(_)) => {
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
    /// a wake-up, or 5 seconds, whichever comes first.
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
                        .min(Duration::from_secs(5)),
                    _ => Duration::from_secs(5),
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
                    _ = self.wake.notified() => {}
                }
            }
        })
    }
}
