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
