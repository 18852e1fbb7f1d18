//! Logging setup and Prometheus metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
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
    /// 1 while this instance holds an SMS platform for down, by platform.
    pub sms_platform_down: IntGaugeVec,
    /// Deadline checks applied by the engine, by check.
    pub deadline_steps: IntCounterVec,
    /// Wake-ups from other instances' writes (PostgreSQL NOTIFY).
    pub peer_wakeups: IntCounter,
    /// 1 when the server runs on the test clock.
    pub test_clock: IntGauge,
    /// Engine steps that lost a race to another instance (or to a request) and were skipped.
    pub step_conflicts: IntCounter,
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
                "SMS send attempts by result (accepted, retry, unknown, dead)",
            ),
            &["result"],
        )
        .expect("valid metric");
        let outbox_backlog =
            IntGauge::new("fixline_outbox_backlog", "Messages pending or being sent")
                .expect("valid metric");
        let sms_platform_down = IntGaugeVec::new(
            Opts::new(
                "fixline_sms_platform_down",
                "1 while an SMS platform is held for down (tripped after failures in a row)",
            ),
            &["platform"],
        )
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
        let test_clock = IntGauge::new(
            "fixline_test_clock",
            "1 when the clock is the frozen test clock (FIXLINE_TEST_CLOCK=1): never in production",
        )
        .expect("valid metric");
        let step_conflicts = IntCounter::new(
            "fixline_engine_step_conflicts_total",
            "Engine steps skipped because another instance (or a request) changed the ticket first",
        )
        .expect("valid metric");
        for m in [
            Box::new(peer_wakeups.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(step_conflicts.clone()),
            Box::new(test_clock.clone()),
            Box::new(http_requests.clone()),
            Box::new(http_duration.clone()),
            Box::new(push_latency.clone()),
            Box::new(sms_attempts.clone()),
            Box::new(outbox_backlog.clone()),
            Box::new(sms_platform_down.clone()),
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
            sms_platform_down,
            deadline_steps,
            peer_wakeups,
            step_conflicts,
            test_clock,
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

/// The root span of each request, as tracing-actix-web's default one but with secrets taken out
/// of the logged target: a query parameter named like a credential (`token`, `secret`, `key`,
/// `password`, `signature`) is written as `***`, so a callback URL carrying Tencent's token
/// never reaches the log.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let target = redact_target(
            request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or(""),
        );
        let route = request.match_pattern().unwrap_or_default();
        let client_ip = request
            .connection_info()
            .realip_remote_addr()
            .unwrap_or("")
            .to_string();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %target,
            http.client_ip = %client_ip,
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome)
    }
}

/// A path and query with the values of credential-like parameters replaced by `***`.
pub fn redact_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_string();
    };
    let secret = |name: &str| {
        let n = name.to_ascii_lowercase();
        ["token", "secret", "key", "password", "signature", "sig"]
            .iter()
            .any(|s| n.contains(s))
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secret(name) => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A phone number for the log: its country code and last four digits.
pub fn mask_phone(phone: &str) -> String {
    let digits = phone.chars().filter(|c| c.is_ascii_digit()).count();
    if digits <= 4 {
        return "*".repeat(phone.chars().count());
    }
    let keep_from = phone
        .char_indices()
        .filter(|(_, c)| c.is_ascii_digit())
        .nth(digits - 4);
    let prefix = if phone.starts_with("+86") { "+86" } else { "" };
    match keep_from {
        Some((i, _)) => format!("{prefix}****{}", &phone[i..]),
        None => "****".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_leave_the_logged_target() {
        assert_eq!(
            redact_target("/webhooks/sms/tencent/status?token=s3cr3t-value-123&x=1"),
            "/webhooks/sms/tencent/status?token=***&x=1"
        );
        assert_eq!(
            redact_target("/tickets?region_id=abc"),
            "/tickets?region_id=abc"
        );
        assert_eq!(
            redact_target("/a?api_key=k&PASSWORD=p"),
            "/a?api_key=***&PASSWORD=***"
        );
        assert_eq!(redact_target("/healthz"), "/healthz");
    }

    #[test]
    fn phones_keep_four_digits() {
        assert_eq!(mask_phone("+8613962200101"), "+86****0101");
        assert_eq!(mask_phone("13800001111"), "****1111");
        assert_eq!(mask_phone("123"), "***");
    }
}
