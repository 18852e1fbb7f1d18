//! The outbox sender: lease a due message (one short transaction), send it outside any
//! transaction, record the outcome (another). A crash between the two leaves a lease that
//! expires, and the message goes out again under the same id, which the gateway can dedup.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::json;
use tokio::sync::Notify;

use super::sms::{OutMessage, Providers};
use super::templates::Purpose;
use crate::clock::SharedClock;
use crate::db::{Db, DbError};
use crate::flow::{self, Actor, FlowConfig, FlowError};
use crate::store::notifications::{self, AttemptRow, NotificationRow};
use crate::store::tickets;
use crate::telemetry::Metrics;

/// How long a lease lasts: longer than the provider's 5 s timeout.
const LEASE_S: i64 = 30;

#[derive(Clone)]
pub struct Sender {
    db: Db,
    clock: SharedClock,
    providers: Providers,
    cfg: Arc<FlowConfig>,
    max_attempts: i32,
    /// Messages in flight to the platform at once.
    concurrency: usize,
    /// Held for reading by every send from lease to record; see [`Sender::quiesce`].
    sending: Arc<tokio::sync::RwLock<()>>,
    wake: Arc<Notify>,
    metrics: Metrics,
}

impl Sender {
    pub fn new(
        db: Db,
        clock: SharedClock,
        providers: Providers,
        cfg: Arc<FlowConfig>,
        max_attempts: i32,
        concurrency: usize,
        metrics: Metrics,
    ) -> Self {
        Sender {
            db,
            clock,
            providers,
            cfg,
            max_attempts,
            concurrency: concurrency.max(1),
            sending: Arc::default(),
            wake: Arc::new(Notify::new()),
            metrics,
        }
    }

    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// Asks the background task to send now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits until every send in flight is recorded and holds new ones back until the guard is
    /// dropped. The test clock moves under it, so that a message the gateway accepted before a
    /// move is recorded at the time it was accepted, not after the jump.
    pub async fn quiesce(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.sending.clone().write_owned().await
    }

    /// Sends everything due now, `concurrency` messages at a time. Answers how many messages
    /// the gateway accepted.
    pub async fn drain(&self) -> Result<usize, DbError> {
        use futures_util::StreamExt;
        let mut accepted = 0;
        loop {
            let now = self.clock.now_naive();
            let due = self
                .db
                .read(move |conn| Ok::<_, DbError>(notifications::due(conn, now, 100)?))
                .await?;
            if due.is_empty() {
                return Ok(accepted);
            }
            let mut progressed = false;
            let mut failed = None;
            let mut sends = futures_util::stream::iter(due)
                .map(|row| self.send_one(row))
                .buffer_unordered(self.concurrency);
            // Every send in flight finishes even when one fails: dropping one midway would
            // leave a message the gateway may have accepted leased and unrecorded.
            while let Some(outcome) = sends.next().await {
                match outcome {
                    Ok(Some(true)) => {
                        accepted += 1;
                        progressed = true;
                    }
                    Ok(Some(false)) => progressed = true,
                    Ok(None) => {}
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
            if !progressed {
                return Ok(accepted);
            }
        }
    }

    /// Some(true): accepted; Some(false): failed this time; None: another sender had it.
    async fn send_one(&self, row: NotificationRow) -> Result<Option<bool>, DbError> {
        let _sending = self.sending.read().await;
        let now = self.clock.now_naive();
        let until = now + chrono::Duration::seconds(LEASE_S);
        let leased = row.clone();
        let got = self
            .db
            .write(move |conn| Ok::<_, DbError>(notifications::lease(conn, &leased, until)?))
            .await?;
        if !got {
            return Ok(None);
        }
        let attempt = row.attempts + 1;
        let msg = OutMessage {
            id: row.id.clone(),
            to: row.recipient_phone.clone(),
            text: row.body.clone(),
            ticket_id: row.ticket_id.clone(),
            purpose: row.purpose.clone(),
        };
        let db = self.db.clone();
        let provider = self
            .providers
            .for_region(&row.region_id, |id| async move {
                db.read(move |conn| {
                    Ok::<_, DbError>(crate::store::regions::get(conn, &id)?.map(|r| r.code))
                })
                .await
            })
            .await?;
        let started = std::time::Instant::now();
        let outcome = provider.send(&msg).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let at = self.clock.now_naive();
        let provider = provider.name();
        match outcome {
            Ok(accepted) => {
                let cfg = self.cfg.clone();
                let attempt_row = AttemptRow {
                    id: crate::domain::new_id(),
                    notification_id: row.id.clone(),
                    attempt,
                    at,
                    outcome: "accepted".into(),
                    provider: provider.into(),
                    answer: accepted.provider_message_id.clone(),
                    latency_ms: latency_ms as i64,
                };
                let pushed = self
                    .record(move |conn| -> Result<Option<f64>, FlowError> {
                        notifications::record_attempt(conn, &attempt_row)?;
                        if notifications::mark_accepted(
                            conn,
                            &row.id,
                            at,
                            provider,
                            accepted.provider_message_id.as_deref(),
                        )? {
                            return record_push(conn, &cfg, &row, at);
                        }
                        Ok(None)
                    })
                    .await?;
                self.metrics
                    .sms_attempts
                    .with_label_values(&["accepted"])
                    .inc();
                if let Some(seconds) = pushed {
                    self.metrics.push_latency.observe(seconds);
                }
                tracing::info!(notification = %msg.id, to = %msg.to, attempt, latency_ms, "sms accepted");
                Ok(Some(true))
            }
            Err(failure) => {
                let retry_at = (failure.temporary && attempt < self.max_attempts)
                    .then(|| at + backoff(attempt));
                let detail = failure.detail.clone();
                let dead = retry_at.is_none();
                let cfg = self.cfg.clone();
                let attempt_row = AttemptRow {
                    id: crate::domain::new_id(),
                    notification_id: row.id.clone(),
                    attempt,
                    at,
                    outcome: if dead { "dead" } else { "retry" }.into(),
                    provider: provider.into(),
                    answer: Some(detail.clone()),
                    latency_ms: latency_ms as i64,
                };
                self.record(move |conn| -> Result<(), FlowError> {
                    notifications::record_attempt(conn, &attempt_row)?;
                    notifications::mark_failed(conn, &row.id, &detail, retry_at)?;
                    if dead {
                        raise_failed(conn, &cfg, &row, &detail, at)?;
                    }
                    Ok(())
                })
                .await?;
                self.metrics
                    .sms_attempts
                    .with_label_values(&[if dead { "dead" } else { "retry" }])
                    .inc();
                tracing::warn!(notification = %msg.id, attempt, latency_ms, error = %failure.detail, dead, "sms not accepted");
                Ok(Some(false))
            }
        }
    }

    /// Runs a transaction recording a send, again when a concurrent change to its ticket won
    /// the race (each try reads the ticket afresh), so a result is never lost to a conflict.
    async fn record<T: Send + 'static>(
        &self,
        f: impl Fn(&mut crate::db::DbConn) -> Result<T, FlowError> + Send + Sync + 'static,
    ) -> Result<T, DbError> {
        let f = std::sync::Arc::new(f);
        let mut tries = 0;
        loop {
            let g = f.clone();
            match self.db.write(move |conn| g(conn)).await {
                Err(FlowError::Conflict(_)) if tries < 5 => tries += 1,
                r => return r.map_err(DbError::from),
            }
        }
    }

    /// Runs until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.drain().await {
                    tracing::error!(error = %e, "sender pass failed");
                }
                let wait = match self
                    .db
                    .read(|conn| Ok::<_, DbError>(notifications::earliest_due(conn)?))
                    .await
                {
                    Ok(Some(at)) => (at - self.clock.now_naive())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .min(Duration::from_secs(2)),
                    _ => Duration::from_secs(2),
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait.max(Duration::from_millis(20))) => {}
                    _ = self.wake.notified() => {}
                }
            }
        })
    }
}

/// Exponential backoff with ±20 % jitter: about 2, 4, 8, 16 ... seconds, at most 5 minutes.
pub fn backoff(attempt: i32) -> chrono::Duration {
    let base = 2f64.powi(attempt.clamp(1, 9)).min(300.0);
    let jitter = 0.8 + 0.4 * rand::random::<f64>();
    chrono::Duration::milliseconds((base * jitter * 1000.0) as i64)
}

/// The first accepted push of a ticket settles its dispatch outcome. Answers the push latency
/// (recorded to accepted, seconds) when this was the first push.
fn record_push(
    conn: &mut crate::db::DbConn,
    cfg: &FlowConfig,
    row: &NotificationRow,
    at: NaiveDateTime,
) -> Result<Option<f64>, FlowError> {
    let Some(ticket_id) = &row.ticket_id else {
        return Ok(None);
    };
    if !Purpose::counts_as_push(&row.purpose) {
        return Ok(None);
    }
    let Some(mut t) = tickets::get(conn, ticket_id)? else {
        return Ok(None);
    };
    if t.pushed_at.is_some() {
        return Ok(None);
    }
    t.pushed_at = Some(at);
    if t.dispatch_on_time.is_none() {
        t.dispatch_on_time = Some(at <= t.dispatch_due_at);
    }
    flow::save(conn, &mut t, cfg, at)?;
    flow::event(
        conn,
        &t,
        at,
        &Actor::system(),
        "pushed",
        json!({"notification": row.id, "to": row.recipient_user_id, "accepted_at": at.and_utc(),
               "dispatch_on_time": t.dispatch_on_time}),
        None,
    )?;
    Ok(Some((at - t.created_at).num_milliseconds() as f64 / 1000.0))
}

/// A message that will never go out: the dispatcher must know.
fn raise_failed(
    conn: &mut crate::db::DbConn,
    cfg: &FlowConfig,
    row: &NotificationRow,
    detail: &str,
    at: NaiveDateTime,
) -> Result<(), FlowError> {
    let Some(ticket_id) = &row.ticket_id else {
        return Ok(());
    };
    let Some(mut t) = tickets::get(conn, ticket_id)? else {
        return Ok(());
    };
    t.flagged = true;
    t.flag_reason = Some(format!("an SMS to {} failed for good", row.recipient_phone));
    flow::save(conn, &mut t, cfg, at)?;
    flow::event(
        conn,
        &t,
        at,
        &Actor::system(),
        "notification_failed",
        json!({"notification": row.id, "to": row.recipient_user_id, "error": detail}),
        None,
    )?;
    // Tell the region's dispatchers, unless the lost message was already such an alert.
    if row.purpose != SMS_FAILED {
        let text = format!(
            "【短信未送达 {}】发给 {} 的通知未能送达，请电话联系。地址：{}。",
            crate::notify::templates::short_ref(&t),
            row.recipient_phone,
            t.address
        );
        for d in flow::staff(conn, &t.region_id, crate::domain::Role::Dispatcher)? {
            flow::queue_sms(conn, &t.region_id, Some(&t.id), &d, SMS_FAILED, &text, at)?;
        }
    }
    Ok(())
}

/// Purpose of the alert sent to dispatchers when a message is lost.
const SMS_FAILED: &str = "sms_failed";

/// A message the gateway reported undelivered: flag its ticket for the dispatcher.
pub fn raise_undelivered(
    conn: &mut crate::db::DbConn,
    cfg: &FlowConfig,
    notification_id: &str,
    detail: &str,
    at: NaiveDateTime,
) -> Result<(), FlowError> {
    match notifications::get(conn, notification_id)? {
        Some(row) => raise_failed(conn, cfg, &row, detail, at),
        None => Ok(()),
    }
}
