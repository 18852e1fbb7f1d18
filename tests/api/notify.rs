//! Signed SMS webhooks: two-way replies and delivery receipts.

use crate::both;
use crate::helpers::{read, read_until, ticket_for, Backend, TestApp};
use serde_json::{json, Value};

const MONDAY_10AM: &str = "2026-11-23T10:00:00+08:00";

/// Posts a webhook signed with the gateway's secret (or a wrong one), stamped now.
async fn webhook(
    app: &TestApp,
    path: &str,
    body: Value,
    secret: Option<&str>,
) -> crate::helpers::Answer {
    let gw = app.gateway.as_ref().unwrap();
    let secret = secret.unwrap_or(&gw.secret);
    crate::helpers::signed_post(app, path, &body, secret, chrono::Utc::now().timestamp()).await
}

async fn user(app: &TestApp, id: &str) -> Value {
    let admin = app.login("admin").await;
    app.get(&format!("/admin/users/{id}"), &admin)
        .await
        .ok(200)
        .clone()
}

async fn sms_reply_acknowledges(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let t = ticket_for(&app, "SMS-1").await;
    let id = t["id"].as_str().unwrap();
    let owner = user(&app, t["assignee_id"].as_str().unwrap()).await;
    let owner_phone = owner["phone"].as_str().unwrap().to_string();
    let gw = app.gateway.as_ref().unwrap();
    app.settle().await;

    // Wrong signature: refused, nothing happens.
    let forged = webhook(
        &app,
        "/webhooks/sms/webhook/inbound",
        json!({"from": owner_phone, "text": "A 1430"}),
        Some("not-the-secret-at-all"),
    )
    .await;
    forged.problem(401);

    // Another technician's number cannot acknowledge it.
    let other = if owner["username"] == "tech02" {
        "tech05"
    } else {
        "tech02"
    };
    let other_token = app.login(other).await;
    let other_phone = app.get("/me", &other_token).await.ok(200)["phone"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = webhook(
        &app,
        "/webhooks/sms/webhook/inbound",
        json!({"from": other_phone, "text": "A 1430"}),
        None,
    )
    .await;
    assert_eq!(refused.ok(200)["result"], "help_sent");
    let agent = app.login("agent").await;
    assert_eq!(
        app.get(&format!("/tickets/{id}"), &agent).await.ok(200)["status"],
        "dispatched"
    );

    // Garbage from the owner: the help text comes back, and the reply is on the timeline.
    let garbage = webhook(
        &app,
        "/webhooks/sms/webhook/inbound",
        json!({"from": owner_phone, "text": "好的马上到"}),
        None,
    )
    .await;
    assert_eq!(garbage.ok(200)["result"], "help_sent");
    app.settle().await;
    let got = gw.messages();
    let help: Vec<&Value> = got
        .iter()
        .filter(|m| {
            m["to"] == owner_phone.as_str() && m["text"].as_str().unwrap().contains("回复格式")
        })
        .collect();
    assert_eq!(help.len(), 1, "{got:?}");

    // A stranger's number: ignored, nothing sent.
    let stranger = webhook(
        &app,
        "/webhooks/sms/webhook/inbound",
        json!({"from": "13700000000", "text": "A 1430"}),
        None,
    )
    .await;
    assert_eq!(stranger.ok(200)["result"], "unknown_sender");

    // The owner's "A 1430" acknowledges with an appointment at 14:30 today, local time.
    let ok = webhook(
        &app,
        "/webhooks/sms/webhook/inbound",
        json!({"from": owner_phone, "text": "Ａ １４:３０"}),
        None,
    )
    .await;
    assert_eq!(ok.ok(200)["result"], "acknowledged", "{}", ok.text);
    let fresh = app
        .get(&format!("/tickets/{id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(fresh["status"], "acknowledged");
    assert_eq!(fresh["appointment_at"], "2026-11-23T06:30:00Z");
    assert_eq!(fresh["outcomes"]["contact"], "on_time");
    let kinds: Vec<String> = app
        .get(&format!("/tickets/{id}/events"), &agent)
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds.contains(&"sms_reply_refused".to_string()),
        "{kinds:?}"
    );
    assert_eq!(kinds.last().unwrap(), "sms_reply");
}

async fn delivery_receipts(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let t = ticket_for(&app, "RCPT-1").await;
    let gw = app.gateway.as_ref().unwrap();
    app.settle().await;
    let sent = gw.messages();
    let (a, b) = (
        sent[0]["id"].as_str().unwrap(),
        sent[1]["id"].as_str().unwrap(),
    );
    let path = "/webhooks/sms/webhook/status";
    let r = webhook(&app, path, json!({"id": a, "status": "delivered"}), None).await;
    assert_eq!(r.ok(200)["result"], "recorded");
    // The platform sends the receipt again (signed anew; an exact replay is a duplicate).
    let again = webhook(
        &app,
        path,
        json!({"id": a, "status": "delivered", "error": null}),
        None,
    )
    .await;
    assert_eq!(
        again.ok(200)["result"],
        "ignored",
        "a repeated receipt changes nothing"
    );
    let failed = webhook(
        &app,
        path,
        json!({"id": b, "status": "failed", "error": "handset off"}),
        None,
    )
    .await;
    assert_eq!(failed.ok(200)["result"], "recorded");
    // A late "delivered" cannot revive the failed one.
    let late = webhook(&app, path, json!({"id": b, "status": "delivered"}), None).await;
    assert_eq!(late.ok(200)["result"], "ignored");
    let bad = webhook(&app, path, json!({"id": a, "status": "read"}), None).await;
    assert_eq!(bad.problem(422)["field"], "status");
    let agent = app.login("agent").await;
    let id = t["id"].as_str().unwrap();
    let fresh = app
        .get(&format!("/tickets/{id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(
        fresh["flagged"], true,
        "the dispatcher sees the undelivered SMS"
    );
    let events = app
        .get(&format!("/tickets/{id}/events"), &agent)
        .await
        .ok(200)["items"]
        .clone();
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "notification_failed"));
    // Without a configured provider of that name: 404.
    webhook(
        &app,
        "/webhooks/sms/tencent/status",
        json!({"id": a, "status": "delivered"}),
        None,
    )
    .await
    .problem(404);
}

/// Reads an event stream until `needle` shows up (or 10 s of wall time pass).
async fn event_stream_pushes_and_replays(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let tech = app.login("tech11").await;
    let me = app.get("/me", &tech).await.ok(200)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut res = app.open_stream(&tech, None).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut buf = String::new();
    assert!(read_until(&mut res, &mut buf, ": connected").await);

    // The dispatcher hands a ticket to tech11: the open app hears of it within a second.
    let t = ticket_for(&app, "SSE-1").await;
    let id = t["id"].as_str().unwrap();
    let dispatcher = app.login("dispatcher").await;
    let started = std::time::Instant::now();
    if t["assignee_id"] != me.as_str() {
        app.post(
            &format!("/tickets/{id}/assign"),
            &dispatcher,
            json!({"assignee_id": me}),
        )
        .await
        .ok(200);
    }
    assert!(
        read_until(&mut res, &mut buf, "event: assigned").await,
        "{buf}"
    );
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    assert!(buf.contains(id), "{buf}");
    let last_id: i64 = buf
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .parse()
        .unwrap();
    drop(res);

    // While the app is closed, the dispatcher cancels the ticket.
    app.post(
        &format!("/tickets/{id}/cancel"),
        &dispatcher,
        json!({"reason": "用户自行恢复"}),
    )
    .await
    .ok(200);
    let mut again = app.open_stream(&tech, Some(&last_id.to_string())).await;
    let mut buf = String::new();
    assert!(
        read_until(&mut again, &mut buf, "event: cancelled").await,
        "{buf}"
    );
    assert!(
        !buf.contains("event: assigned"),
        "only what was missed is replayed: {buf}"
    );
    let bad = app.open_stream(&tech, Some("yesterday")).await;
    assert_eq!(read(bad).await.problem(422)["field"], "Last-Event-ID");
}

/// A sender leased the messages and died before it could record what the gateway said: after a
/// restart the lease runs out and the messages go out again, under the same ids.
async fn a_crash_mid_send_resends_after_restart(backend: Backend) {
    use diesel::prelude::*;
    use fixline::db::schema::notifications::dsl as n;
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let gw = app.gateway.as_ref().unwrap();
    gw.fail_next(2);
    let t = ticket_for(&app, "CRASH-1").await;
    for _ in 0..100 {
        if gw.attempts() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Both failures recorded: the two messages wait for their retry.
    for _ in 0..100 {
        let db = app.state.db.clone();
        let pending: i64 = db
            .read(|conn| -> Result<i64, fixline::db::DbError> {
                Ok(n::notifications
                    .filter(n::status.eq("pending"))
                    .count()
                    .get_result(conn)?)
            })
            .await
            .unwrap();
        if pending == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let db = app.state.db.clone();
    let until = "2026-11-23T02:00:30"
        .parse::<chrono::NaiveDateTime>()
        .unwrap();
    let leased = tokio::task::spawn_blocking(move || {
        db.write_blocking(|conn| -> Result<usize, fixline::db::DbError> {
            Ok(
                diesel::update(n::notifications.filter(n::status.eq("pending")))
                    .set((n::status.eq("sending"), n::lease_until.eq(until)))
                    .execute(conn)?,
            )
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(leased, 2);
    let (db, gateway) = app.stop().await;

    let app = TestApp::start(db, gateway).await;
    app.set_clock("2026-11-23T10:00:20+08:00").await;
    let gw = app.gateway.as_ref().unwrap();
    assert!(gw.messages().is_empty(), "the lease still holds");
    app.set_clock("2026-11-23T10:00:31+08:00").await;
    let got = gw.messages();
    assert_eq!(got.len(), 2, "{got:?}");
    let agent = app.login("agent").await;
    let msgs = app
        .get(
            &format!("/tickets/{}/notifications", t["id"].as_str().unwrap()),
            &agent,
        )
        .await;
    let ids: Vec<String> = msgs.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    for m in &got {
        assert!(
            ids.contains(&m["id"].as_str().unwrap().to_string()),
            "sent under its outbox id"
        );
    }
}

/// A region with its own SMS platform: its messages go there, the others' to the deployment's,
/// and receipts signed by either platform are accepted.
async fn regions_can_have_their_own_provider(backend: Backend) {
    let west_gw = crate::helpers::FakeGateway::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sms-regions.toml");
    std::fs::write(
        &file,
        format!(
            "[ZJG-W]\nsms_provider = \"webhook\"\nsms_webhook_url = \"{}\"\nsms_webhook_secret = \"{}\"\n",
            west_gw.url, west_gw.secret
        ),
    )
    .unwrap();
    let app = TestApp::spawn_with_gateway_env(
        backend,
        crate::helpers::FakeGateway::start().await,
        &[("FIXLINE_SMS_REGIONS", file.display().to_string())],
    )
    .await;
    app.set_clock(MONDAY_10AM).await;
    let admin = app.login("admin").await;
    let districts = app.get("/districts", &admin).await;
    let west = districts.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "ZJG-W-01")
        .unwrap()["bbox"]
        .clone();
    let (lon, lat) = (
        (west[0].as_f64().unwrap() + west[2].as_f64().unwrap()) / 2.0,
        (west[1].as_f64().unwrap() + west[3].as_f64().unwrap()) / 2.0,
    );
    let agent = app.login("agent").await;
    let body = json!({"kind": "repair", "customer_name": "周女士", "customer_phone": "13800002222",
        "address": "凤凰镇", "location": {"lat": lat, "lon": lon},
        "fault_category": "无信号", "fault_description": "全部黑屏"});
    let t = app.post("/tickets", &agent, body).await;
    assert_eq!(t.ok(201)["region_id"], app.region_id("ZJG-W").await);
    app.settle().await;
    let sent = west_gw.messages();
    assert_eq!(sent.len(), 2, "the account manager and the technician");
    assert!(west_gw.to("+8613962200100").len() == 1, "{sent:?}");
    // A city ticket goes through the deployment's platform.
    ticket_for(&app, "CITY-1").await;
    let main_gw = app.gateway.as_ref().unwrap();
    app.settle().await;
    assert_eq!(main_gw.to("+8613962200101").len(), 1);
    assert_eq!(west_gw.messages().len(), 2, "nothing else went west");
    assert!(main_gw.to("+8613962200100").is_empty());
    // The west platform's receipts are signed with its own secret.
    let id = sent[0]["id"].as_str().unwrap();
    let r = webhook(
        &app,
        "/webhooks/sms/webhook/status",
        json!({"id": id, "status": "delivered"}),
        Some(&west_gw.secret),
    )
    .await;
    assert_eq!(r.ok(200)["result"], "recorded");
    let t_id = t.ok(201)["id"].as_str().unwrap();
    let msgs = app
        .get(&format!("/tickets/{t_id}/notifications"), &agent)
        .await;
    let providers: Vec<&str> = msgs.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["attempts"][0]["provider"].as_str())
        .collect();
    assert_eq!(providers, ["webhook", "webhook"]);
}

/// On PostgreSQL a write through one instance wakes the others at once (LISTEN/NOTIFY), instead
/// of at their next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_instance_wakes_the_other() {
    let first = TestApp::spawn(Backend::Postgres).await;
    let second = TestApp::start(first._db.share(), None).await;
    let wakeups = |app: &TestApp| app.state.metrics.peer_wakeups.get();
    // Let the second instance's listener connect.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = wakeups(&second);
    first.set_clock(MONDAY_10AM).await;
    ticket_for(&first, "WAKE-1").await;
    let mut woke = false;
    for _ in 0..100 {
        if wakeups(&second) > before {
            woke = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(woke, "the second instance heard of the write within 2 s");
    let metrics = second
        .call(reqwest::Method::GET, "/metrics", None, None)
        .await
        .text;
    assert!(metrics.contains("fixline_peer_wakeups_total"), "{metrics}");
}

/// An instance whose serving task is dropped without a graceful stop (its runtime shut down)
/// stops listening: no thread is left talking to the database after the server is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_instance_stops_listening() {
    use diesel::{Connection, RunQueryDsl};
    let app = TestApp::spawn(Backend::Postgres).await;
    let name = app._db.url.rsplit('/').next().unwrap().to_string();
    let listening = move || {
        let name = name.clone();
        std::thread::spawn(move || {
            let mut admin = diesel::PgConnection::establish(&format!(
                "{}/postgres",
                crate::helpers::pg_server()
            ))
            .expect("admin connection");
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query(format!(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = '{name}' AND query ILIKE 'LISTEN%'"
            ))
            .get_result::<Count>(&mut admin)
            .expect("count listeners")
            .n
        })
        .join()
        .unwrap()
    };
    let mut seen = 0;
    for _ in 0..100 {
        seen = listening();
        if seen > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, 1, "the running instance listens on one connection");
    let _db = app.abandon();
    let mut left = seen;
    for _ in 0..100 {
        left = listening();
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the abandoned instance still listens after 5 s");
}

both!(
    regions_can_have_their_own_provider,
    sms_reply_acknowledges,
    delivery_receipts,
    event_stream_pushes_and_replays,
    a_crash_mid_send_resends_after_restart,
);

/// The fake platform fails the test that made it take a message no phone could receive, or one
/// message twice.
#[tokio::test]
async fn the_fake_platform_flags_what_no_platform_should_take() {
    let gw = crate::helpers::FakeGateway::start().await;
    let client = reqwest::Client::new();
    let send = |id: &str, to: &str, text: &str| {
        let body = serde_json::to_vec(&json!({"id": id, "to": to, "text": text})).unwrap();
        let ts = chrono::Utc::now().timestamp().to_string();
        let sig = fixline::notify::sms::signature(gw.secret.as_bytes(), &ts, &body);
        client
            .post(&gw.url)
            .header("content-type", "application/json")
            .header("x-fixline-timestamp", ts)
            .header("x-fixline-signature", sig)
            .body(body)
            .send()
    };
    assert!(send("a", "+8613912345678", "好")
        .await
        .unwrap()
        .status()
        .is_success());
    assert!(gw.take_faults().is_empty(), "a good message is no fault");
    send("b", "13912345678", "好").await.unwrap();
    send("c", "+8613912345678", " ").await.unwrap();
    send("d", "+8613912345678", &"长".repeat(67 * 8 + 1))
        .await
        .unwrap();
    send("e", "+8613912345678", "好").await.unwrap();
    send("e", "+8613912345678", "好").await.unwrap();
    let faults = gw.take_faults();
    assert_eq!(faults.len(), 4, "{faults:#?}");
    assert!(faults.iter().any(|f| f.contains("not an E.164")));
    assert!(faults.iter().any(|f| f.contains("empty")));
    assert!(faults.iter().any(|f| f.contains("8 segments")));
    assert!(faults.iter().any(|f| f.contains("message e taken 2 times")));
    // Expected repeats are no fault.
    send("f", "+8613912345678", "好").await.unwrap();
    send("f", "+8613912345678", "好").await.unwrap();
    gw.expect_repeats();
    assert!(gw.take_faults().is_empty());
}

/// A stand-in for Tencent Cloud SMS on 127.0.0.1: it checks each request's TC3-HMAC-SHA256
/// signature the way the provider documents it, and answers like SendSms.
struct FakeTencent {
    url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    handle: actix_web::dev::ServerHandle,
}

const TENCENT_ID: &str = "AKIDtestsecretid0123456789";
const TENCENT_KEY: &str = "testsecretkey0123456789abcdef";

impl FakeTencent {
    async fn start() -> FakeTencent {
        let received: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
        let r = received.clone();
        let (port, handle) = crate::helpers::local_server::serve(1, move |cfg| {
            let r = r.clone();
            cfg.default_service(actix_web::web::to(move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                let r = r.clone();
                async move {
                    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let ts: i64 = h("x-tc-timestamp").parse().unwrap_or(0);
                    let expected = fixline::notify::tencent::authorization(TENCENT_ID, TENCENT_KEY, "sms", &h("host"), ts, &body);
                    let answer = if h("authorization") != expected
                        || h("x-tc-action") != "SendSms"
                        || h("x-tc-version") != "2021-01-11"
                        || h("content-type") != fixline::notify::tencent::CONTENT_TYPE
                    {
                        json!({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "signature mismatch"}, "RequestId": "r"}})
                    } else {
                        let msg: Value = serde_json::from_slice(&body).unwrap();
                        r.lock().unwrap().push(msg.clone());
                        json!({"Response": {"SendStatusSet": [{"SerialNo": format!("5000:{}", msg["SessionContext"].as_str().unwrap_or("")),
                            "PhoneNumber": msg["PhoneNumberSet"][0], "Fee": 1, "SessionContext": msg["SessionContext"], "Code": "Ok",
                            "Message": "send success", "IsoCode": "CN"}], "RequestId": "r"}})
                    };
                    actix_web::HttpResponse::Ok().json(answer)
                }
            }));
        });
        FakeTencent {
            url: format!("http://127.0.0.1:{port}/"),
            received,
            handle,
        }
    }
}

impl Drop for FakeTencent {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

const TENCENT_TOKEN: &str = "tencent-callback-token-0123";

async fn tencent_sms_is_signed_as_documented(backend: Backend) {
    let fake = FakeTencent::start().await;
    let env = |key: &str| {
        vec![
            ("FIXLINE_SMS_PROVIDER", "tencent".to_string()),
            (
                "FIXLINE_TENCENT_SMS",
                format!("{TENCENT_ID},{key},1400006666,张家港广电,1234567"),
            ),
            ("FIXLINE_TENCENT_SMS_ENDPOINT", fake.url.clone()),
            ("FIXLINE_TENCENT_CALLBACK_TOKEN", TENCENT_TOKEN.to_string()),
        ]
    };
    let app = TestApp::spawn_with_env(backend, &env(TENCENT_KEY)).await;
    app.set_clock(MONDAY_10AM).await;
    let t = ticket_for(&app, "TC-1").await;
    let id = t["id"].as_str().unwrap();
    let agent = app.login("agent").await;
    let mut msgs = Value::Null;
    for _ in 0..100 {
        msgs = app
            .get(&format!("/tickets/{id}/notifications"), &agent)
            .await
            .ok(200)["items"]
            .clone();
        if msgs
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "accepted")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let got = fake.received.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{msgs}");
    for m in msgs.as_array().unwrap() {
        assert_eq!(m["status"], "accepted", "{m}");
        let sent = got
            .iter()
            .find(|g| g["SessionContext"] == m["id"])
            .expect("sent with its outbox id");
        assert_eq!(sent["PhoneNumberSet"][0], m["to"]);
        assert_eq!(sent["TemplateParamSet"][0], m["text"]);
        assert_eq!(sent["SmsSdkAppId"], "1400006666");
        assert!(m["attempts"][0]["answer"]
            .as_str()
            .unwrap()
            .starts_with("5000:"));
    }

    // Tencent's own callbacks, authenticated by the token in the URL they were given.
    let post = |path: &str, body: Value| {
        let url = format!("{}{path}", app.base);
        let client = app.client.clone();
        async move { read(client.post(url).json(&body).send().await.unwrap()).await }
    };
    let m = &msgs.as_array().unwrap()[0];
    let sid = m["attempts"][0]["answer"].as_str().unwrap().to_string();
    let receipt = json!([{"user_receive_time": "2026-11-23 10:00:09", "nationcode": "86",
        "mobile": m["to"].as_str().unwrap().trim_start_matches("+86"), "report_status": "SUCCESS",
        "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": sid}]);
    let wrong = post(
        "/webhooks/sms/tencent/status?token=not-the-token-at-all",
        receipt.clone(),
    )
    .await;
    wrong.problem(401);
    let r = post(
        &format!("/webhooks/sms/tencent/status?token={TENCENT_TOKEN}"),
        receipt,
    )
    .await;
    assert_eq!(r.ok(200)["result"], 0);
    let fresh = app
        .get(&format!("/tickets/{id}/notifications"), &agent)
        .await;
    let delivered = fresh.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == m["id"])
        .unwrap()["delivered_at"]
        .clone();
    assert!(delivered.is_string(), "delivered: {fresh:?}");
    // A technician's reply through Tencent acknowledges like any other.
    let tech = user(&app, t["assignee_id"].as_str().unwrap()).await;
    let mobile = tech["phone"]
        .as_str()
        .unwrap()
        .trim_start_matches("+86")
        .to_string();
    let reply = json!({"extend": "", "mobile": mobile, "nationcode": "86", "sign": "张家港广电",
        "text": "A 1430", "time": 1_795_400_000});
    let r = post(
        &format!("/webhooks/sms/tencent/inbound?token={TENCENT_TOKEN}"),
        reply,
    )
    .await;
    assert_eq!(r.ok(200)["errmsg"], "OK");
    let acked = app.get(&format!("/tickets/{id}"), &agent).await;
    assert_eq!(acked.ok(200)["status"], "acknowledged");

    // With the wrong key Tencent refuses the signature: that is permanent, so no retries.
    let bad = TestApp::spawn_with_env(backend, &env("wrong-key-wrong-key-wrong")).await;
    bad.set_clock(MONDAY_10AM).await;
    let t = ticket_for(&bad, "TC-2").await;
    let agent = bad.login("agent").await;
    let mut statuses = vec![];
    for _ in 0..100 {
        let msgs = bad
            .get(
                &format!("/tickets/{}/notifications", t["id"].as_str().unwrap()),
                &agent,
            )
            .await;
        statuses = msgs.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["status"].as_str().unwrap().to_string())
            .collect();
        if statuses.iter().filter(|s| *s == "dead").count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        statuses.iter().filter(|s| *s == "dead").count() >= 2,
        "{statuses:?}"
    );
    assert_eq!(
        fake.received.lock().unwrap().len(),
        2,
        "nothing more got through"
    );
}

mod tencent {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::tencent_sms_is_signed_as_documented(crate::helpers::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::tencent_sms_is_signed_as_documented(crate::helpers::Backend::Postgres).await
    }
}
