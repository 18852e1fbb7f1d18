//! What every handler can reach.

use std::sync::Arc;

use crate::auth::JwtKeys;
use crate::clock::{ManualClock, SharedClock};
use crate::config::Config;
use crate::db::Db;
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
}
