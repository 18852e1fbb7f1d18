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

/// At most this many messages are leased, and recorded, in one transaction.
const BATCH: usize = 100;

/// One send's outcome, to record.
struct Sent {
    row: NotificationRow,
    /// When the gateway answered.
    at: NaiveDateTime,
    provider: &'static str,
    latency_ms: i64,
    outcome: Result<super::sms::Accepted, super::sms::SendFailure>,
    /// When a failed message goes out again; None when it was accepted or is dead. Decided
    /// once per send, so every try at recording it records the same time.
    retry_at: Option<NaiveDateTime>,
}

impl Sent {
    /// The attempt's outcome as recorded: accepted, retry or dead.
    fn label(&self) -> &'static str {
        match (&self.outcome, self.retry_at) {
            (Ok(_), _) => "accepted",
            (Err(_), Some(_)) => "retry",
            (Err(_), None) => "dead",
        }
    }
}

/// Records one send inside the caller's transaction: the attempt, the message's new state,
/// and on the first push of a ticket its dispatch outcome, or on a dead message the alert.
/// Answers the push latency (seconds) when this was the ticket's first push.
fn record(
    conn: &mut crate::db::DbConn,
    cfg: &FlowConfig,
    s: &Sent,
) -> Result<Option<f64>, FlowError> {
    let row = &s.row;
    notifications::record_attempt(
        conn,
        &AttemptRow {
            id: crate::domain::new_id(),
            notification_id: row.id.clone(),
            attempt: row.attempts + 1,
            at: s.at,
            outcome: s.label().into(),
            provider: s.provider.into(),
            answer: match &s.outcome {
                Ok(a) => a.provider_message_id.clone(),
                Err(f) => Some(f.detail.clone()),
            },
            latency_ms: s.latency_ms,
        },
    )?;
    match &s.outcome {
        Ok(accepted) => {
            if notifications::mark_accepted(
                conn,
                &row.id,
                s.at,
                s.provider,
                accepted.provider_message_id.as_deref(),
            )? {
                return record_push(conn, cfg, row, s.at);
            }
        }
        Err(failure) => {
            notifications::mark_failed(conn, &row.id, &failure.detail, s.retry_at)?;
            if s.retry_at.is_none() {
                raise_failed(conn, cfg, row, &failure.detail, s.at)?;
            }
        }
    }
    Ok(None)
}

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
    ///
    /// Each round leases up to [`BATCH`] due messages in one transaction, sends them, and
    /// records the outcomes in one transaction per group of sends that finished together, so a
    /// storm of messages costs a few commits per round rather than two per message.
    pub async fn drain(&self) -> Result<usize, DbError> {
        use futures_util::StreamExt;
        let mut accepted = 0;
        loop {
            let _sending = self.sending.read().await;
            let now = self.clock.now_naive();
            let until = now + chrono::Duration::seconds(LEASE_S);
            let leased = self
                .db
                .write(move |conn| -> Result<Vec<NotificationRow>, DbError> {
                    let mut leased = Vec::new();
                    for row in notifications::due(conn, now, BATCH as i64)? {
                        // Another sender may have taken it since: skip it.
                        if notifications::lease(conn, &row, until)? {
                            leased.push(row);
                        }
                    }
                    Ok(leased)
                })
                .await?;
            if leased.is_empty() {
                return Ok(accepted);
            }
            let mut done = futures_util::stream::iter(leased)
                .map(|row| self.send(row))
                .buffer_unordered(self.concurrency)
                .ready_chunks(BATCH);
            // Every send in flight is recorded even when a record fails: dropping one midway
            // would leave a message the gateway may have accepted leased and unrecorded.
            let mut failed = None;
            while let Some(sent) = done.next().await {
                accepted += sent.iter().filter(|s| s.outcome.is_ok()).count();
                if let Err(e) = self.record_all(sent).await {
                    failed.get_or_insert(e);
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
    }

    /// Sends one leased message; touches the database only to find the region's provider once.
    async fn send(&self, row: NotificationRow) -> Sent {
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
            .await;
        let started = std::time::Instant::now();
        let (provider, outcome) = match provider {
            Ok(p) => (p.name(), p.send(&msg).await),
            // A temporary failure: the message goes out again after the backoff.
            Err(e) => (
                "none",
                Err(super::sms::SendFailure {
                    temporary: true,
                    detail: format!("cannot choose a provider: {e}"),
                }),
            ),
        };
        let at = self.clock.now_naive();
        let attempt = row.attempts + 1;
        let retry_at = match &outcome {
            Err(f) if f.temporary && attempt < self.max_attempts => Some(at + backoff(attempt)),
            _ => None,
        };
        Sent {
            latency_ms: started.elapsed().as_millis() as i64,
            at,
            provider,
            outcome,
            retry_at,
            row,
        }
    }

    /// Records the outcomes of sends in one transaction; when that fails, each on its own, so
    /// one bad record does not hold back the others.
    async fn record_all(&self, sent: Vec<Sent>) -> Result<(), DbError> {
        let sent = Arc::new(sent);
        let mut result = self.record_sends(sent.clone(), 0..sent.len()).await;
        if result.is_err() && sent.len() > 1 {
            result = Ok(());
            for i in 0..sent.len() {
                if let Err(e) = self.record_sends(sent.clone(), i..i + 1).await {
                    tracing::error!(notification = %sent[i].row.id, error = %e, "send not recorded");
                    result = result.and(Err(e));
                }
            }
        }
        result
    }

    /// Records the sends `sent[range]` in one transaction, again when a concurrent change to a
    /// ticket won the race (each try reads the tickets afresh), so a result is never lost to a
    /// conflict.
    async fn record_sends(
        &self,
        sent: Arc<Vec<Sent>>,
        range: std::ops::Range<usize>,
    ) -> Result<(), DbError> {
        let mut tries = 0;
        let pushed = loop {
            let (sent, cfg, range) = (sent.clone(), self.cfg.clone(), range.clone());
            let result = self
                .db
                .write(move |conn| -> Result<Vec<Option<f64>>, FlowError> {
                    sent[range].iter().map(|s| record(conn, &cfg, s)).collect()
                })
                .await;
            match result {
                Err(FlowError::Conflict(_) | FlowError::Changed) if tries < 5 => tries += 1,
                r => break r.map_err(DbError::from)?,
            }
        };
        for (s, pushed) in sent[range].iter().zip(pushed) {
            let attempt = s.row.attempts + 1;
            let label = s.label();
            self.metrics.sms_attempts.with_label_values(&[label]).inc();
            if let Some(seconds) = pushed {
                self.metrics.push_latency.observe(seconds);
            }
            match &s.outcome {
                Ok(_) => {
                    tracing::info!(notification = %s.row.id, to = %s.row.recipient_phone, attempt,
                                   latency_ms = s.latency_ms, "sms accepted")
                }
                Err(f) => {
                    tracing::warn!(notification = %s.row.id, attempt, latency_ms = s.latency_ms,
                                   error = %f.detail, dead = label == "dead", "sms not accepted")
                }
            }
        }
        Ok(())
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
