//! The outbox sender: lease due messages and record each attempt as it starts (one short
//! transaction), send outside any transaction, record the outcomes (another). A crash between
//! the two leaves an attempt under way and a lease that expires; the message then goes out again
//! under the same id, which the gateway can dedup, and the attempt shows as `unknown`.
//!
//! Temporary failures (timeouts, refused connections, 5xx, 429) are retried with capped,
//! jittered backoff for as long as the message still matters, up to a horizon; only a permanent
//! refusal makes a message dead at once. Each platform has a circuit breaker: a platform that
//! keeps failing is rested and probed, the next platform of its chain takes the messages
//! meanwhile, and with none left they wait for the next probe instead of hammering it.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::Notify;

use super::breaker::Change;
use super::sms::{OutMessage, Platform, Providers};
use crate::clock::SharedClock;
use crate::config::OutboxConfig;
use crate::db::{Db, DbError};
use crate::flow::{self, FlowConfig, FlowError};
use crate::store::notifications::{self, AttemptRow, NotificationRow};
use crate::telemetry::Metrics;

/// At most this many messages are leased, and recorded, in one transaction.
const BATCH: usize = 100;

/// A message leased for sending, with the platform chosen and its attempt under way.
struct Leased {
    row: NotificationRow,
    platform: Arc<Platform>,
    attempt_id: String,
    /// Another platform of the chain can take the message.
    failover: bool,
}

/// One send's outcome, to record.
struct Sent {
    row: NotificationRow,
    attempt_id: String,
    /// When the gateway answered.
    at: NaiveDateTime,
    platform: Arc<Platform>,
    latency_ms: i64,
    outcome: Result<super::sms::Accepted, super::sms::SendFailure>,
    /// When a failed message goes out again; None when it was accepted or is dead. Decided
    /// once per send, so every try at recording it records the same time.
    retry_at: Option<NaiveDateTime>,
}

impl Sent {
    /// The attempt's outcome as recorded: accepted, retry, unknown or dead.
    fn label(&self) -> &'static str {
        match (&self.outcome, self.retry_at) {
            (Ok(_), _) => "accepted",
            (Err(f), Some(_)) if f.unknown => notifications::ATTEMPT_UNKNOWN,
            (Err(_), Some(_)) => "retry",
            (Err(_), None) => "dead",
        }
    }
}

/// When a message that failed at `at` is tried again: None for a permanent refusal, or once
/// the message is older than the retry horizon. Waits double from about 2 s up to the cap, with
/// ±20 % jitter (`jitter` in 0..1) so a backlog does not come back in one wave.
pub fn retry_at(
    cfg: &OutboxConfig,
    temporary: bool,
    attempt: i32,
    created_at: NaiveDateTime,
    at: NaiveDateTime,
    jitter: f64,
) -> Option<NaiveDateTime> {
    if !temporary || at >= created_at + cfg.horizon {
        return None;
    }
    let cap = cfg.backoff_cap.num_milliseconds() as f64 / 1000.0;
    let base = 2f64.powi(attempt.clamp(1, 20)).min(cap);
    let wait = base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    Some(at + chrono::Duration::milliseconds((wait * 1000.0) as i64))
}

/// Records one send inside the caller's transaction: how the attempt ended, the message's new
/// state, and what the flow makes of it (a ticket's first push, a message lost for good).
/// Answers the push latency (seconds) when this was the ticket's first push.
fn record(
    conn: &mut crate::db::DbConn,
    cfg: &FlowConfig,
    s: &Sent,
) -> Result<Option<f64>, FlowError> {
    let row = &s.row;
    let answer = match &s.outcome {
        Ok(a) => a.provider_message_id.clone(),
        Err(f) => Some(f.detail.clone()),
    };
    notifications::finish_attempt(
        conn,
        &s.attempt_id,
        s.label(),
        answer.as_deref(),
        s.latency_ms,
    )?;
    match &s.outcome {
        Ok(accepted) => {
            if notifications::mark_accepted(
                conn,
                &row.id,
                s.at,
                s.platform.provider.name(),
                accepted.provider_message_id.as_deref(),
            )? {
                return flow::outbox::accepted(conn, cfg, row, s.at);
            }
        }
        Err(failure) => {
            notifications::mark_failed(conn, &row.id, &failure.detail, s.retry_at)?;
            if s.retry_at.is_none() {
                flow::outbox::lost(conn, cfg, row, &failure.detail, s.at)?;
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
    outbox: OutboxConfig,
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
        outbox: OutboxConfig,
        concurrency: usize,
        metrics: Metrics,
    ) -> Self {
        for p in providers.platforms() {
            metrics
                .sms_platform_down
                .with_label_values(&[p.name.as_str()])
                .set(0);
        }
        Sender {
            db,
            clock,
            providers,
            cfg,
            outbox,
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
        self.rounds(true).await
    }

    /// [`drain`](Self::drain) while the caller holds the [`quiesce`](Self::quiesce) guard: the
    /// test clock sends everything due before it moves.
    pub async fn drain_paused(
        &self,
        _paused: &tokio::sync::OwnedRwLockWriteGuard<()>,
    ) -> Result<usize, DbError> {
        self.rounds(false).await
    }

    async fn rounds(&self, lock: bool) -> Result<usize, DbError> {
        use futures_util::StreamExt;
        let mut accepted = 0;
        loop {
            let _sending = if lock {
                Some(self.sending.read().await)
            } else {
                None
            };
            let leased = self.lease_round().await?;
            if leased.is_empty() {
                return Ok(accepted);
            }
            let mut done = futures_util::stream::iter(leased)
                .map(|l| self.send(l))
                .buffer_unordered(self.concurrency)
                .ready_chunks(BATCH);
            // Every send in flight is recorded even when a record fails: dropping one midway
            // would leave a message the gateway may have accepted leased and unrecorded.
            let mut failed = None;
            while let Some(sent) = done.next().await {
                accepted += sent.iter().filter(|s| s.outcome.is_ok()).count();
                for s in &sent {
                    match s.platform.record(&s.outcome, s.at) {
                        Change::None => {}
                        Change::Tripped => s
                            .platform
                            .changed(true, s.outcome.as_ref().err().map(|f| f.detail.clone())),
                        Change::Recovered => s.platform.changed(false, None),
                    }
                }
                if let Err(e) = self.record_all(sent).await {
                    failed.get_or_insert(e);
                }
                self.record_platforms().await;
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
    }

    /// Leases up to [`BATCH`] due messages: drops those that no longer matter, puts back those
    /// whose platforms are all down until the next probe, and records an attempt under way for
    /// each of the others on the first platform of its chain that takes messages now.
    async fn lease_round(&self) -> Result<Vec<Leased>, DbError> {
        let now = self.clock.now_naive();
        let until = now
            + chrono::Duration::from_std(self.outbox.timeout).unwrap_or_default()
            + chrono::Duration::seconds(15);
        let providers = self.providers.clone();
        let cfg = self.cfg.clone();
        self.db
            .write(move |conn| -> Result<Vec<Leased>, FlowError> {
                let mut leased = Vec::new();
                for row in notifications::due(conn, now, BATCH as i64)? {
                    // A message sent as it was written is fresh; one that waited, or a notice,
                    // may have gone stale.
                    if row.has_waited() || row.ticket_id.is_none() {
                        if let Some(why) = flow::outbox::obsolete(conn, &row)? {
                            notifications::mark_obsolete(conn, &row, why)?;
                            continue;
                        }
                    }
                    if let Some(until) = flow::outbox::held(&cfg, &row, now) {
                        notifications::defer(conn, &row, until)?;
                        continue;
                    }
                    let chain = providers.chain_for(&row.region_id, |id| {
                        crate::store::regions::get(conn, id).map(|r| r.map(|r| r.code))
                    })?;
                    let Some(platform) = chain.iter().find(|p| p.try_acquire(now)).cloned() else {
                        let next = chain
                            .iter()
                            .filter_map(|p| p.next_probe(now))
                            .min()
                            .unwrap_or(now)
                            .max(now + chrono::Duration::seconds(1));
                        notifications::defer(conn, &row, next)?;
                        continue;
                    };
                    let attempt = AttemptRow {
                        id: crate::domain::new_id(),
                        notification_id: row.id.clone(),
                        attempt: row.attempts + 1,
                        at: now,
                        outcome: notifications::ATTEMPT_SENDING.into(),
                        provider: platform.provider.name().into(),
                        answer: None,
                        latency_ms: 0,
                    };
                    // Another sender may have taken it since: skip it.
                    if notifications::lease(conn, &row, until, &attempt)? {
                        leased.push(Leased {
                            row,
                            platform,
                            attempt_id: attempt.id,
                            failover: chain.len() > 1,
                        });
                    }
                }
                Ok(leased)
            })
            .await
            .map_err(DbError::from)
    }

    /// Sends one leased message through the platform chosen for it.
    async fn send(&self, leased: Leased) -> Sent {
        let Leased {
            row,
            platform,
            attempt_id,
            failover,
        } = leased;
        let msg = OutMessage {
            id: row.id.clone(),
            to: row.recipient_phone.clone(),
            text: row.body.clone(),
            ticket_id: row.ticket_id.clone(),
            purpose: row.purpose.clone(),
        };
        let started = std::time::Instant::now();
        let outcome = platform.provider.send(&msg).await;
        let at = self.clock.now_naive();
        let attempt = row.attempts + 1;
        let retry_at = match &outcome {
            Ok(_) => None,
            Err(f) => retry_at(
                &self.outbox,
                f.temporary,
                attempt,
                row.created_at,
                at,
                rand::random::<f64>(),
            )
            // With another platform to go to, the first tries go again at once: the platform
            // that failed is tripped within a few of them and the next one takes over, well
            // inside the 3-minute push.
            .map(|later| {
                if failover && attempt <= self.outbox.breaker.trip_after as i32 {
                    at
                } else {
                    later
                }
            }),
        };
        Sent {
            latency_ms: started.elapsed().as_millis() as i64,
            at,
            platform,
            outcome,
            retry_at,
            attempt_id,
            row,
        }
    }

    /// Records every platform that went down or came back, tells the dispatchers if this
    /// instance is the first to see it, and wakes the sender on recovery. A change that cannot
    /// be recorded now (the database is busy or away) is tried again after the next round.
    async fn record_platforms(&self) {
        for platform in self.providers.platforms() {
            let Some(seen) = platform.unrecorded() else {
                continue;
            };
            let (down, detail) = seen.clone();
            self.metrics
                .sms_platform_down
                .with_label_values(&[platform.name.as_str()])
                .set(i64::from(down));
            let now = self.clock.now_naive();
            let name = platform.name.clone();
            let region_code = platform.region_code.clone();
            let result = self
                .db
                .write(move |conn| -> Result<bool, FlowError> {
                    let region_id = match &region_code {
                        Some(code) => {
                            crate::store::regions::find_by_code(conn, code)?.map(|r| r.id)
                        }
                        None => None,
                    };
                    flow::outbox::platform_changed(
                        conn,
                        &name,
                        region_id.as_deref(),
                        down,
                        detail.as_deref(),
                        now,
                    )
                })
                .await;
            match result {
                Ok(first) => {
                    platform.recorded(&seen);
                    if first && down {
                        tracing::warn!(platform = %platform.name, error = ?seen.1, "SMS platform down: messages wait or go through the next platform");
                    } else if first {
                        tracing::info!(platform = %platform.name, "SMS platform back");
                    }
                    self.wake();
                }
                Err(e) => {
                    tracing::warn!(platform = %platform.name, error = %e, "platform state not recorded yet")
                }
            }
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
                    tracing::info!(notification = %s.row.id, to = %crate::telemetry::mask_phone(&s.row.recipient_phone), attempt,
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
                self.record_platforms().await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> OutboxConfig {
        OutboxConfig {
            timeout: Duration::from_secs(15),
            backoff_cap: chrono::Duration::seconds(30),
            horizon: chrono::Duration::hours(24),
            breaker: Default::default(),
        }
    }

    fn t(s: i64) -> NaiveDateTime {
        "2026-11-23T09:00:00".parse::<NaiveDateTime>().unwrap() + chrono::Duration::seconds(s)
    }

    #[test]
    fn retries_back_off_to_the_cap_until_the_horizon() {
        let c = cfg();
        let waits: Vec<i64> = (1..=8)
            .map(|n| (retry_at(&c, true, n, t(0), t(100), 0.5).unwrap() - t(100)).num_seconds())
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 30, 30, 30, 30]);
        // Jitter stays within ±20 %.
        assert_eq!(retry_at(&c, true, 9, t(0), t(0), 0.0), Some(t(24)));
        assert_eq!(retry_at(&c, true, 9, t(0), t(0), 1.0), Some(t(36)));
        // A 10-minute outage is well inside the horizon; a day is not.
        assert!(retry_at(&c, true, 40, t(0), t(600), 0.5).is_some());
        assert_eq!(retry_at(&c, true, 2, t(0), t(86_400), 0.5), None);
        // A permanent refusal is never retried.
        assert_eq!(retry_at(&c, false, 1, t(0), t(1), 0.5), None);
    }
}
