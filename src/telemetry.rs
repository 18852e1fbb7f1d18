//! Logging setup and Prometheus metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Installs the global log subscriber (once per process).
pub fn init_logging(filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// The metrics of one server instance (its own registry, so tests can run many side by side).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    /// Ticket recorded → first push accepted by the SMS gateway (business clock).
    pub push_latency: Histogram,
    /// SMS send attempts by result: accepted, retry, dead.
    pub sms_attempts: IntCounterVec,
    /// Messages waiting in the outbox (pending or leased), read when scraped.
    pub outbox_backlog: IntGauge,
    /// Deadline checks applied by the engine, by check.
    pub deadline_steps: IntCounterVec,
    /// Wake-ups from other instances' writes (PostgreSQL NOTIFY).
    pub peer_wakeups: IntCounter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "fixline_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "fixline_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let push_latency = Histogram::with_opts(
            HistogramOpts::new(
                "fixline_push_latency_seconds",
                "Ticket recorded to its first push accepted by the SMS gateway",
            )
            .buckets(vec![
                0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0,
            ]),
        )
        .expect("valid metric");
        let sms_attempts = IntCounterVec::new(
            Opts::new(
                "fixline_sms_attempts_total",
                "SMS send attempts by result (accepted, retry, dead)",
            ),
            &["result"],
        )
        .expect("valid metric");
        let outbox_backlog =
            IntGauge::new("fixline_outbox_backlog", "Messages pending or being sent")
                .expect("valid metric");
        let deadline_steps = IntCounterVec::new(
            Opts::new(
                "fixline_deadline_steps_total",
                "SLA deadline checks applied by the engine",
            ),
            &["check"],
        )
        .expect("valid metric");
        let peer_wakeups = IntCounter::new(
            "fixline_peer_wakeups_total",
            "Wake-ups received from writes (any instance's) through PostgreSQL NOTIFY",
        )
        .expect("valid metric");
        for m in [
            Box::new(peer_wakeups.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_requests.clone()),
            Box::new(http_duration.clone()),
            Box::new(push_latency.clone()),
            Box::new(sms_attempts.clone()),
            Box::new(outbox_backlog.clone()),
            Box::new(deadline_steps.clone()),
        ] {
            registry.register(m).expect("registers once");
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            push_latency,
            sms_attempts,
            outbox_backlog,
            deadline_steps,
            peer_wakeups,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(seconds);
    }
}

/// Middleware: counts and times each request under its route pattern (not its raw path, which
/// would give every ticket id a series of its own).
pub async fn record_http(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let metrics = req
        .app_data::<actix_web::web::Data<crate::api::state::AppState>>()
        .map(|s| s.metrics.clone());
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "(unmatched)".to_string());
        metrics.observe(
            &method,
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}
