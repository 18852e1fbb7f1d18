//! Builds the running service from a [`Config`]: database (migrated), keys, clock, HTTP server.
//! `fixline serve` and the HTTP tests both start it through [`App::build`].

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::api;
use crate::api::state::AppState;
use crate::auth::JwtKeys;
use crate::clock::{ManualClock, SharedClock, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::domain::callback::RetryRule;
use crate::domain::sampling::SamplingRule;
use crate::domain::sla::SlaPolicy;
use crate::engine::Engine;
use crate::flow::callbacks::CallbackConfig;
use crate::flow::FlowConfig;
use crate::notify::sender::Sender;
use crate::notify::sms::{Platform, Provider, Providers};
use crate::store::districts::DistrictIndexCache;
use crate::telemetry::{record_http, Metrics};
use secrecy::ExposeSecret;

/// A built, not yet running, service.
pub struct App {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

impl App {
    /// Opens and migrates the database, loads keys and binds the listener (port 0 picks a free
    /// port; see [`App::port`]).
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let url = config.database_url.clone();
        let pool_size = config.db_pool_size;
        let db = tokio::task::spawn_blocking(move || Db::open(&url, pool_size))
            .await?
            .with_context(|| format!("opening {}", crate::db::describe(&config.database_url)))?;
        let jwt =
            JwtKeys::load(config.jwt_secret.as_ref(), &config.data_dir).with_context(|| {
                format!("loading the JWT secret from {}", config.data_dir.display())
            })?;
        let (clock, manual_clock): (SharedClock, _) = if config.test_clock {
            let m = Arc::new(ManualClock::starting_at(
                config.test_clock_start.unwrap_or_else(chrono::Utc::now),
            ));
            (m.clone(), Some(m))
        } else {
            (Arc::new(SystemClock), None)
        };
        let callback_salt = match &config.callback_salt {
            Some(s) => s.expose_secret().to_string(),
            None => {
                let fresh = crate::auth::secret::random_token();
                let now = clock.now_naive();
                db.write(move |conn| {
                    crate::store::settings::get_or_insert(conn, "callback_salt", &fresh, now)
                        .map_err(crate::db::DbError::from)
                })
                .await
                .context("storing the callback sampling salt")?
            }
        };
        let config = Arc::new(config);
        let flow = Arc::new(FlowConfig {
            policy: SlaPolicy {
                arrival_grace: chrono::Duration::minutes(config.arrival_grace_min),
                promise_repair: chrono::Duration::hours(config.promise_repair_h),
                promise_install: chrono::Duration::hours(config.promise_install_h),
                ..SlaPolicy::default()
            },
            tz: config.tz,
            far_check_in_m: config.check_in_far_m,
            device_time: crate::domain::device_time::DeviceTimeRule {
                skew: chrono::Duration::seconds(config.device_clock_skew_s),
                window: chrono::Duration::hours(config.device_time_window_h),
            },
            track_retention: chrono::Duration::days(config.track_retention_d),
            storms: config.storms.clone(),
            customers: config.customers.clone(),
            brief_at: config.brief_at,
            complaint_clock: config.complaint_clock,
            templates: Arc::new(config.sms_templates.clone()),
            callbacks: CallbackConfig {
                sampling: SamplingRule::new(
                    config.callback_rate_bp,
                    callback_salt.as_bytes(),
                    config.callback_force,
                ),
                retry: RetryRule {
                    attempts: config.callback_attempts,
                    window: chrono::Duration::hours(config.callback_retry_h),
                },
            },
        });
        let providers = providers(&config);
        let metrics = Metrics::new();
        if manual_clock.is_some() {
            metrics.test_clock.set(1);
            tracing::warn!(listen = %config.listen, "the test clock is on: the clock moves only through POST /test/clock; never run production like this");
        }
        let published = db
            .read(|conn| Ok::<_, crate::db::DbError>(crate::store::feed::max_seq(conn)?))
            .await
            .context("reading the newest feed entry")?;
        let feed = crate::live::FeedHub::new(db.clone(), clock.clone(), published);
        let engine = Engine::new(
            db.clone(),
            clock.clone(),
            flow.clone(),
            metrics.clone(),
            feed.clone(),
        );
        let sender = Sender::new(
            db.clone(),
            clock.clone(),
            providers,
            flow.clone(),
            config.outbox,
            config.sms_concurrency,
            metrics.clone(),
        );
        let blobs = crate::blobs::Blobs::open(&config.blob_store)
            .context("opening the blob store for photos")?;
        let state = web::Data::new(AppState {
            db,
            clock,
            manual_clock,
            jwt,
            config: config.clone(),
            metrics,
            districts: DistrictIndexCache::default(),
            flow,
            engine,
            sender,
            feed,
            peers: Default::default(),
            api_keys: Default::default(),
            sessions: Default::default(),
            sign_in: Default::default(),
            writes_by_key: crate::api::ratelimit::RateLimit::new(config.rate_limit_key),
            writes_by_user: crate::api::ratelimit::RateLimit::new(config.rate_limit_user),
            blobs,
            assets: Arc::new(crate::web::Assets::embedded(&crate::web::Settings {
                map_tiles: config.map_tiles.clone(),
                tz: config.tz.name().to_string(),
            })),
        });
        let listener = TcpListener::bind(&config.listen)
            .with_context(|| format!("binding {}", config.listen))?;
        let port = listener.local_addr()?.port();
        let server_state = state.clone();
        let workers = config.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
        let server = HttpServer::new(move || {
            let config = server_state.config.clone();
            actix_web::App::new()
                .app_data(server_state.clone())
                .configure(|c| api::configure(c, &config))
                .configure(crate::web::configure)
                .default_service(web::to(api::not_found))
                .wrap(from_fn(api::access::gate))
                .wrap(from_fn(api::reject_control_characters))
                .wrap(from_fn(record_http))
                .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
        })
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        Ok(App {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, with the SLA engine and the outbox sender running beside it
    /// (they catch up on everything overdue first). The background work ends with this future,
    /// whether the server stopped or the future was dropped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let mut background = Background {
            engine: self.state.engine.clone().spawn(),
            sender: self.state.sender.clone().spawn(),
            feed: self.state.feed.clone().spawn(),
            listening: Arc::new(AtomicBool::new(true)),
            listener: None,
        };
        if self.state.db.backend() == crate::db::Backend::Postgres {
            let state = self.state.clone();
            background.listener = Some(crate::engine::listen::spawn_listener(
                self.state.config.database_url.clone(),
                background.listening.clone(),
                move || {
                    state.metrics.peer_wakeups.inc();
                    state.wake_here();
                },
            ));
        }
        let result = self.server.await;
        background.stop_and_wait().await;
        result
    }
}

/// The SMS platforms of a configuration: the deployment's chain (its provider, then its
/// fallback) and each region's (its own, then its own fallback or else the deployment's).
fn providers(config: &Config) -> Providers {
    let o = &config.outbox;
    let platform = |name: String, code: Option<&String>, sms| {
        Arc::new(Platform::new(
            name,
            code.cloned(),
            Provider::from_config(sms, o.timeout),
            o.breaker,
        ))
    };
    let fallback = config
        .sms_fallback
        .as_ref()
        .map(|f| platform("fallback".into(), None, f));
    let mut default = vec![platform("default".into(), None, &config.sms)];
    default.extend(fallback.clone());
    let regions = config
        .sms_regions
        .iter()
        .map(|(code, own, own_fallback)| {
            let mut chain = vec![platform(code.clone(), Some(code), own)];
            match own_fallback {
                Some(f) => chain.push(platform(format!("{code}/fallback"), Some(code), f)),
                None => chain.extend(fallback.clone()),
            }
            (code.clone(), chain)
        })
        .collect();
    Providers::new(default, regions)
}

/// How long a stopping server waits for the listening thread to close its connection.
const LISTENER_STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The SLA engine, the outbox sender, the feed reader and the PostgreSQL listener of one running
/// server.
/// Dropping it stops them: a server whose future is dropped (its runtime shut down) leaves no
/// thread behind still talking to the database.
struct Background {
    engine: tokio::task::JoinHandle<()>,
    sender: tokio::task::JoinHandle<()>,
    feed: tokio::task::JoinHandle<()>,
    listening: Arc<AtomicBool>,
    listener: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Stops everything and waits (briefly) for the listener to close its connection, so the
    /// process does not exit while that thread is still inside the database client library.
    async fn stop_and_wait(&mut self) {
        self.stop();
        if let Some(listener) = self.listener.take() {
            let joined = tokio::task::spawn_blocking(move || listener.join());
            if tokio::time::timeout(LISTENER_STOP_WAIT, joined)
                .await
                .is_err()
            {
                tracing::warn!("the listening thread did not stop in time");
            }
        }
    }

    fn stop(&self) {
        self.listening.store(false, Ordering::Relaxed);
        self.engine.abort();
        self.sender.abort();
        self.feed.abort();
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}
