//! Instances of one PostgreSQL deployment wake each other: every API write sends `NOTIFY
//! fixline_wake`, and each instance listens on a connection of its own, so another instance's
//! new ticket, outbox message or earlier deadline is seen at once rather than at the next poll.
//! Polling stays as the fallback (a dropped connection loses nothing, it only delays).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::store::dialect::WAKE_CHANNEL;

/// How often the listening connection is read for notifications (no query is sent).
const POLL: Duration = Duration::from_millis(50);

/// Listens on its own thread until `running` turns false; calls `wake` once per batch of
/// notifications.
pub fn spawn_listener(
    url: String,
    running: Arc<AtomicBool>,
    wake: impl Fn() + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("fixline-listen".into())
        .spawn(move || {
            while running.load(Ordering::Relaxed) {
                let mut conn = match PgConnection::establish(&url)
                    .map_err(|e| e.to_string())
                    .and_then(|mut c| {
                        c.batch_execute(&format!("LISTEN {WAKE_CHANNEL}"))
                            .map(|_| c)
                            .map_err(|e| e.to_string())
                    }) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for other instances; retrying");
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                };
                'listen: while running.load(Ordering::Relaxed) {
                    let mut woke = false;
                    for n in conn.notifications_iter() {
                        match n {
                            Ok(_) => woke = true,
                            Err(e) => {
                                tracing::warn!(error = %e, "listening connection lost");
                                break 'listen;
                            }
                        }
                    }
                    if woke {
                        wake();
                    }
                    std::thread::sleep(POLL);
                }
            }
        })
        .expect("spawn the listener thread")
}

/// Tells the other instances of a PostgreSQL deployment that something was written, sending
/// one `NOTIFY` at a time: writes that arrive while one is under way share the next. Every
/// write is still followed by a `NOTIFY` sent after it, but a storm of intakes costs a round
/// trip per batch of them instead of one each.
#[derive(Default)]
pub struct PeerWake {
    batches: Batches,
}

impl PeerWake {
    /// After a write has committed: makes sure a `NOTIFY` follows it.
    pub fn notify(self: &Arc<Self>, db: &crate::db::Db) {
        if !self.batches.request() {
            return;
        }
        let (this, db) = (self.clone(), db.clone());
        tokio::spawn(async move {
            loop {
                this.batches.begin();
                let sent = db
                    .read(|conn| {
                        Ok::<_, crate::db::DbError>(crate::store::dialect::notify_wake(conn)?)
                    })
                    .await;
                if let Err(e) = sent {
                    tracing::debug!(error = %e, "NOTIFY failed; other instances will poll");
                }
                if !this.batches.done() {
                    break;
                }
            }
        });
    }
}

/// Batches requests for a signal that takes a while to send: at most one send runs at a time,
/// and every request is followed by a send that begins after it.
#[derive(Default)]
struct Batches {
    running: AtomicBool,
    asked: AtomicBool,
}

impl Batches {
    /// Records a request. True: no send is running, and the caller must start one.
    fn request(&self) -> bool {
        self.asked.store(true, Ordering::SeqCst);
        !self.running.swap(true, Ordering::SeqCst)
    }

    /// Just before each send: the requests so far are served by it.
    fn begin(&self) {
        self.asked.store(false, Ordering::SeqCst);
    }

    /// After each send. True: requests came in meanwhile, and the caller must send again.
    fn done(&self) -> bool {
        if self.asked.load(Ordering::SeqCst) {
            return true;
        }
        self.running.store(false, Ordering::SeqCst);
        // A request between the check and the release saw a send running and left it to us.
        self.asked.load(Ordering::SeqCst) && !self.running.swap(true, Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_request_is_followed_by_a_send_that_began_after_it() {
        let batches = Arc::new(Batches::default());
        let requests = Arc::new(AtomicUsize::new(0));
        let sends = Arc::new(AtomicUsize::new(0));
        // The highest request number each send had seen when it began.
        let covered = Arc::new(AtomicUsize::new(0));
        let sender = |batches: Arc<Batches>,
                      requests: Arc<AtomicUsize>,
                      sends: Arc<AtomicUsize>,
                      covered: Arc<AtomicUsize>| {
            std::thread::spawn(move || loop {
                batches.begin();
                covered.fetch_max(requests.load(Ordering::SeqCst), Ordering::SeqCst);
                sends.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
                if !batches.done() {
                    break;
                }
            })
        };
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (b, r, s, c) = (
                    batches.clone(),
                    requests.clone(),
                    sends.clone(),
                    covered.clone(),
                );
                std::thread::spawn(move || {
                    let mut started = Vec::new();
                    for _ in 0..2_000 {
                        r.fetch_add(1, Ordering::SeqCst);
                        if b.request() {
                            started.push(sender(b.clone(), r.clone(), s.clone(), c.clone()));
                        }
                    }
                    started
                })
            })
            .collect();
        for w in writers {
            for s in w.join().unwrap() {
                s.join().unwrap();
            }
        }
        assert!(!batches.running.load(Ordering::SeqCst));
        assert_eq!(
            covered.load(Ordering::SeqCst),
            8_000,
            "the last request was sent"
        );
        let n = sends.load(Ordering::SeqCst);
        assert!(
            n < 8_000 / 2,
            "{n} sends for 8,000 requests: they were not batched"
        );
    }

    #[test]
    fn a_lone_request_starts_a_send_and_a_finished_send_stops() {
        let b = Batches::default();
        assert!(b.request());
        assert!(!b.request(), "a send is running");
        b.begin();
        assert!(!b.done(), "nothing came in during the send");
        assert!(b.request(), "the next request starts a send again");
    }
}
