//! What every handler can reach.

use std::sync::Arc;

use crate::auth::JwtKeys;
use crate::clock::{ManualClock, SharedClock};
use crate::config::Config;
use crate::db::Db;
use crate::engine::Engine;
use crate::flow::FlowConfig;
use crate::notify::sender::Sender;
use crate::store::districts::DistrictIndexCache;
use crate::telemetry::Metrics;

pub struct AppState {
    pub db: Db,
    pub clock: SharedClock,
    /// Present only with `FIXLINE_TEST_CLOCK=1`.
    pub manual_clock: Option<Arc<ManualClock>>,
    pub jwt: JwtKeys,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    pub districts: DistrictIndexCache,
    pub flow: Arc<FlowConfig>,
    pub engine: Engine,
    pub sender: Sender,
    /// Wakes open event streams after a write through the API.
    pub feed_wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// After a write that queued messages or set deadlines: let the background tasks look now.
    pub fn kick(&self) {
        self.sender.wake();
        self.engine.wake();
        self.feed_wake.notify_waiters();
        // Other instances on the same PostgreSQL hear of it too.
        if self.db.backend() == crate::db::Backend::Postgres {
            let db = self.db.clone();
            tokio::spawn(async move {
                let sent = db
                    .read(|conn| {
                        Ok::<_, crate::db::DbError>(crate::store::dialect::notify_wake(conn)?)
                    })
                    .await;
                if let Err(e) = sent {
                    tracing::debug!(error = %e, "NOTIFY failed; other instances will poll");
                }
            });
        }
    }
}
