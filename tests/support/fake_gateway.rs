//! A fake SMS platform for the HTTP tests and the load harness, shared by both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use serde_json::Value;

/// A fake SMS platform on 127.0.0.1: checks each request's HMAC signature, drops repeats of an
/// idempotency key (as a real gateway would), and keeps what it accepted. It can be told to fail
/// a number of requests, to be down (503 to everything), or to answer slowly. When it goes
/// away it fails the test that used it if it took a message no phone could receive (not E.164,
/// empty, or longer than 8 segments) or took one message twice, unless that test expected
/// repeats ([`FakeGateway::expect_repeats`]).
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
    /// The test sends one message twice on purpose (a send cut short, then resent).
    repeats_expected: std::sync::atomic::AtomicBool,
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
            // The load harness only counts: it reports repeats itself.
            repeats_expected: std::sync::atomic::AtomicBool::new(!keep),
            handle,
        }
    }

    /// The test makes the server send a message again under its id (a send cut by a crash or a
    /// timeout): the platform taking it twice is not a fault.
    pub fn expect_repeats(&self) {
        self.repeats_expected
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// What is wrong with what the platform took, and forgets it (for the test of the check).
    pub fn take_faults(&self) -> Vec<String> {
        let faults = self.faults();
        self.received.lock().unwrap().clear();
        self.accepted_requests.lock().unwrap().clear();
        faults
    }

    /// What is wrong with what the platform took, if anything.
    fn faults(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in self.messages() {
            let to = m["to"].as_str().unwrap_or("");
            let text = m["text"].as_str().unwrap_or("");
            let e164 =
                to.len() > 8 && to.starts_with('+') && to[1..].chars().all(|c| c.is_ascii_digit());
            if !e164 {
                out.push(format!("a message to `{to}`, not an E.164 number: {m}"));
            }
            if text.trim().is_empty() {
                out.push(format!("an empty message: {m}"));
            }
            if fixline::flow::messages::segments(text) > 8 {
                out.push(format!("a message of more than 8 segments: {m}"));
            }
        }
        if !self
            .repeats_expected
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            for (id, n) in self.accepted_requests() {
                if n > 1 {
                    out.push(format!("message {id} taken {n} times"));
                }
            }
        }
        out
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
        // A test already failing keeps its own message.
        if !std::thread::panicking() {
            let faults = self.faults();
            assert!(
                faults.is_empty(),
                "the SMS platform took what it should not have:\n{}",
                faults.join("\n")
            );
        }
    }
}
