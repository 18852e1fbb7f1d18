//! Log hygiene: a whole scenario runs with known secrets and customer data, and the captured log
//! holds none of them (the log gets masked phones and lengths, never texts, tokens or passwords).

#[path = "api/contract.rs"]
mod contract;
#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use helpers::{Backend, TestApp, PASSWORD};
use serde_json::json;

const TENCENT_TOKEN: &str = "tencent-callback-token-4b1d9e";
const CUSTOMER: &str = "欧阳测试";
const CUSTOMER_PHONE: &str = "13811112222";
const ADDRESS: &str = "凤凰镇保密路 99 号";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary, at debug level.
fn captured() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Captured::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,hyper_util=info,reqwest=info,rustls=info,h2=info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        log
    })
}

async fn scenario(backend: Backend) {
    let log = captured();
    let app = TestApp::spawn_with_env(
        backend,
        &[("FIXLINE_TENCENT_CALLBACK_TOKEN", TENCENT_TOKEN.into())],
    )
    .await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let agent = app.login("agent").await;
    let t = app
        .post(
            "/tickets",
            &agent,
            json!({"kind": "repair", "customer_name": CUSTOMER, "customer_phone": CUSTOMER_PHONE,
                   "address": ADDRESS, "location": {"lat": 31.87, "lon": 120.55},
                   "fault_category": "花屏", "fault_description": "部分频道花屏"}),
        )
        .await;
    t.ok(201);
    app.advance(5).await;
    let status = app
        .client
        .post(format!(
            "{}/webhooks/sms/tencent/status?token={TENCENT_TOKEN}",
            app.base
        ))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(status.status().as_u16(), 200);
    // A wrong password and a refused request are logged too, without what was sent.
    let wrong = app
        .call(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "agent", "password": "not-the-password-1"})),
        )
        .await;
    assert_eq!(wrong.status.as_u16(), 401);

    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).to_string();
    assert!(text.contains("sms (log provider)"), "the log was captured");
    assert!(
        text.contains("tencent delivery status"),
        "the callback was logged"
    );
    for secret in [
        TENCENT_TOKEN,
        CUSTOMER,
        CUSTOMER_PHONE,
        ADDRESS,
        PASSWORD,
        "not-the-password-1",
        &agent,
        "test-jwt-secret-shared-by-instances-0123",
    ] {
        assert!(!text.contains(secret), "the log holds {secret}");
    }
    // Staff phones appear masked: the demo city's phones all start +86139622.
    assert!(
        !text.contains("+86139622"),
        "a staff phone is logged in full"
    );
}

mod log_hygiene {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::scenario(crate::helpers::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::scenario(crate::helpers::Backend::Postgres).await
    }
}
