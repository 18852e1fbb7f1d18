//! What every handler can reach.

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::auth::ApiKeyCache;
use crate::auth::JwtKeys;
use crate::clock::{ManualClock, SharedClock};
use crate::config::Config;
use crate::db::Db;
use crate::engine::listen::PeerWake;
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
    /// Hands new feed entries to the event streams open on this instance.
    pub feed: Arc<crate::live::FeedHub>,
    /// Tells the other instances on the same PostgreSQL of writes.
    pub peers: Arc<PeerWake>,
    /// API keys looked up in the last second.
    pub api_keys: ApiKeyCache,
    /// Write limits per API key and per user.
    pub writes_by_key: super::ratelimit::RateLimit,
    pub writes_by_user: super::ratelimit::RateLimit,
    /// Sign-in throttles and the bound on password checks.
    pub sign_in: super::auth::SignInGuard,
    /// Users' session states looked up in the last second, by user id.
    pub sessions: super::recheck::Recheck<crate::store::users::SessionState>,
    /// Where photos are kept.
    pub blobs: crate::blobs::Blobs,
    /// The console's embedded files.
    pub assets: Arc<crate::web::Assets>,
}

impl AppState {
    /// After a write that queued messages or set deadlines: let the background tasks look now.
    pub fn kick(&self) {
        self.wake_here();
        self.tell_peers();
    }

    /// After a write to one ticket whose earliest deadline is now `deadline`: as [`Self::kick`],
    /// but the engine is woken only if that deadline may come before it looks again anyway.
    pub fn kick_for(&self, deadline: Option<NaiveDateTime>) {
        if let Some(d) = deadline {
            self.engine.wake_for(d);
        }
        self.wake_sender_and_streams();
        self.tell_peers();
    }

    /// This instance's engine, sender and open event streams: after a write here, or one on
    /// another instance that the listener heard of.
    pub fn wake_here(&self) {
        self.engine.wake();
        self.wake_sender_and_streams();
    }

    fn wake_sender_and_streams(&self) {
        self.sender.wake();
        self.feed.wake();
    }

    /// On PostgreSQL, the other instances.
    fn tell_peers(&self) {
        if self.db.backend() == crate::db::Backend::Postgres {
            self.peers.notify(&self.db);
        }
    }
}
