//! A fake SMS platform for the HTTP tests and the load harness, shared by both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use serde_json::Value;

/// A fake SMS platform on 127.0.0.1: checks each request's HMAC signature, drops repeats of an
/// idempotency key (as a real gateway would), and keeps what it accepted. It can be told to fail
/// a number of requests, to be down (503 to everything), or to answer slowly.
pub struct FakeGateway {
    pub url: String,
    pub secret: String,
    received: Arc<Mutex<Vec<Value>>>,
    attempts: Arc<Mutex<usize>>,
    /// Answer 500 to this many requests before accepting.
    fail_next: Arc<Mutex<usize>>,
    /// Answer 503 to every request while set.
    down: Arc<std::sync::atomic::AtomicBool>,
    /// Wait this long before answering, milliseconds.
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Requests that were answered 200, by outbox id.
    accepted_requests: Arc<Mutex<HashMap<String, usize>>>,
    handle: ServerHandle,
}

#[derive(Clone)]
struct GatewayState {
    /// Keep each accepted message (tests read them; the load harness only counts).
    keep: bool,
    received: Arc<Mutex<Vec<Value>>>,
    attempts: Arc<Mutex<usize>>,
    fail_next: Arc<Mutex<usize>>,
    down: Arc<std::sync::atomic::AtomicBool>,
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    accepted_requests: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

async fn gateway_answer(
    g: GatewayState,
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
) -> actix_web::HttpResponse {
    use std::sync::atomic::Ordering;
    *g.attempts.lock().unwrap() += 1;
    let delay = g.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let expected =
        fixline::notify::sms::signature(g.key.as_bytes(), &h("x-fixline-timestamp"), &body);
    if h("x-fixline-signature") != expected {
        return actix_web::HttpResponse::Unauthorized().body("bad signature");
    }
    if g.down.load(Ordering::Relaxed) {
        return actix_web::HttpResponse::ServiceUnavailable().body("platform down");
    }
    {
        let mut left = g.fail_next.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            return actix_web::HttpResponse::InternalServerError().body("gateway busy");
        }
    }
    let msg: Value = serde_json::from_slice(&body).unwrap();
    let id = msg["id"].as_str().unwrap_or("").to_string();
    *g.accepted_requests
        .lock()
        .unwrap()
        .entry(id.clone())
        .or_default() += 1;
    if g.keep {
        let mut got = g.received.lock().unwrap();
        if !got.iter().any(|m| m["id"] == msg["id"]) {
            got.push(msg.clone());
        }
    }
    actix_web::HttpResponse::Ok().json(serde_json::json!({"message_id": format!("gw-{id}")}))
}

impl FakeGateway {
    pub async fn start() -> FakeGateway {
        Self::start_keeping(true).await
    }

    /// A platform that only counts what it accepts (for the load harness: no memory growth).
    pub async fn start_counting() -> FakeGateway {
        Self::start_keeping(false).await
    }

    async fn start_keeping(keep: bool) -> FakeGateway {
        let secret = "test-gateway-secret-0123456789".to_string();
        let g = GatewayState {
            keep,
            received: Arc::default(),
            attempts: Arc::default(),
            fail_next: Arc::default(),
            down: Arc::default(),
            delay_ms: Arc::default(),
            accepted_requests: Arc::default(),
            key: secret.clone(),
        };
        let state = g.clone();
        let (port, handle) = super::local_server::serve(2, move |cfg| {
            let state = state.clone();
            cfg.route(
                "/sms",
                actix_web::web::post().to(
                    move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                        gateway_answer(state.clone(), req, body)
                    },
                ),
            );
        });
        FakeGateway {
            url: format!("http://127.0.0.1:{port}/sms"),
            secret,
            received: g.received,
            attempts: g.attempts,
            fail_next: g.fail_next,
            down: g.down,
            delay_ms: g.delay_ms,
            accepted_requests: g.accepted_requests,
            handle,
        }
    }

    /// While down, every request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every answer waits this long.
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.delay_ms.store(
            delay.as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// How many requests for each outbox id were answered 200.
    pub fn accepted_requests(&self) -> HashMap<String, usize> {
        self.accepted_requests.lock().unwrap().clone()
    }

    /// Messages accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        *self.attempts.lock().unwrap()
    }

    pub fn fail_next(&self, n: usize) {
        *self.fail_next.lock().unwrap() = n;
    }

    /// Messages to `phone`.
    pub fn to(&self, phone: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["to"] == phone)
            .collect()
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
