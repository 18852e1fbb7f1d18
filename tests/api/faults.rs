//! Real faults: SMS platform outages and failover, slow platforms, a crash mid-send.

use std::collections::HashMap;

use crate::both;
use crate::helpers::{Backend, FakeGateway, TestApp};
use serde_json::{json, Value};

const MONDAY_10AM: &str = "2026-11-23T10:00:00+08:00";

fn call(n: usize) -> Value {
    json!({"kind": "repair", "external_ref": format!("FAULT-{n}"), "customer_name": "李先生",
        "customer_phone": "13800001111", "address": "暨阳湖小区 5 幢",
        "location": {"lat": 31.87 + (n % 7) as f64 * 0.001, "lon": 120.55},
        "fault_category": "花屏", "fault_description": "部分频道花屏"})
}

/// Moves the test clock with a token already in hand.
async fn advance(app: &TestApp, admin: &str, seconds: i64) {
    app.post("/test/clock", admin, json!({ "advance_s": seconds }))
        .await
        .ok(200);
}

/// Every outbox row: (id, purpose, status, created_at, accepted_at).
type Outbox = Vec<(
    String,
    String,
    String,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
)>;

async fn outbox(app: &TestApp) -> Outbox {
    use diesel::prelude::*;
    use fixline::db::schema::notifications::dsl as n;
    app.state
        .db
        .read(|conn| -> Result<Outbox, fixline::db::DbError> {
            Ok(n::notifications
                .select((n::id, n::purpose, n::status, n::created_at, n::accepted_at))
                .load(conn)?)
        })
        .await
        .unwrap()
}

/// Messages about the SMS platform (or lost messages) each dispatcher was sent, by phone.
fn outage_notices(gw: &FakeGateway) -> HashMap<String, usize> {
    let mut by_phone = HashMap::new();
    for m in gw.messages() {
        let p = m["purpose"].as_str().unwrap_or("");
        if [
            "sms_platform_down",
            "sms_platform_up",
            "sms_failed",
            "dispatch_overdue",
        ]
        .contains(&p)
        {
            *by_phone
                .entry(m["to"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
    }
    by_phone
}

/// A 10-minute platform outage while 200 calls arrive: nothing is lost, each message is accepted
/// exactly once after recovery, the backlog drains within a minute of it, the platform is not
/// hammered meanwhile, and the dispatchers hear of it at most twice.
async fn a_ten_minute_outage_loses_no_push(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let gw = app.gateway.as_ref().unwrap();
    let admin = app.login("admin").await;
    let agent = app.login("agent").await;
    gw.set_down(true);
    for i in 0..200 {
        app.post("/tickets", &agent, call(i)).await.ok(201);
        if i % 10 == 9 {
            advance(&app, &admin, 30).await;
        }
    }
    assert!(gw.messages().is_empty());
    let during = gw.attempts();
    // Tripped after 5 failures in a row, then one probe every 30 s: 20 probes in 10 minutes,
    // plus the sends already in flight when it tripped.
    assert!(
        during <= 40,
        "{during} requests to a platform that was down"
    );
    let pushes: Vec<_> = outbox(&app)
        .await
        .into_iter()
        .filter(|m| m.1 == "new_ticket")
        .collect();
    assert_eq!(pushes.len(), 400);
    assert!(pushes.iter().all(|m| m.2 == "pending"), "none dead");
    // The board shows the outage and what waits.
    let dispatcher = app.login("dispatcher").await;
    let board = app.get("/sms/platforms", &dispatcher).await;
    let board = board.ok(200).clone();
    assert_eq!(board["items"][0]["name"], "default");
    assert_eq!(board["items"][0]["state"], "down", "{board}");
    assert_eq!(board["items"][0]["down_here"], true);
    assert!(board["backlog"].as_i64().unwrap() >= 400, "{board}");

    gw.set_down(false);
    // The next probe (at most 30 s on) finds it back; everything waiting goes at once.
    advance(&app, &admin, 30).await;
    advance(&app, &admin, 30).await;
    let after = outbox(&app).await;
    let accepted = gw.accepted_requests();
    for m in after.iter().filter(|m| m.1 == "new_ticket") {
        assert_eq!(m.2, "accepted", "{m:?}");
        assert_eq!(accepted.get(&m.0), Some(&1), "accepted exactly once: {m:?}");
    }
    let board = app.get("/sms/platforms", &dispatcher).await;
    let board = board.ok(200).clone();
    assert_eq!(board["items"][0]["state"], "up", "{board}");
    assert_eq!(board["backlog"], 0, "{board}");
    for (phone, n) in outage_notices(gw) {
        let told: Vec<String> = gw
            .to(&phone)
            .iter()
            .map(|m| format!("{} {}", m["purpose"], m["text"]))
            .collect();
        assert!(n <= 2, "{phone} was told {n} times: {told:#?}");
    }
    assert!(
        gw.messages()
            .iter()
            .any(|m| m["purpose"] == "sms_platform_up"),
        "the dispatchers hear it is back"
    );
    let metrics = app
        .call(reqwest::Method::GET, "/metrics", None, None)
        .await
        .text;
    assert!(
        metrics.contains(r#"fixline_sms_platform_down{platform="default"} 0"#),
        "{metrics}"
    );
}

/// With a second platform configured, the first one's outage costs no dispatch deadline:
/// every push is accepted by the second within 3 minutes of its call.
async fn a_second_platform_takes_over(backend: Backend) {
    let primary = FakeGateway::start().await;
    let second = FakeGateway::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fallback.toml");
    std::fs::write(
        &file,
        format!(
            "sms_provider = \"webhook\"\nsms_webhook_url = \"{}\"\nsms_webhook_secret = \"{}\"\n",
            second.url, second.secret
        ),
    )
    .unwrap();
    let app = TestApp::spawn_with_gateway_env(
        backend,
        primary,
        &[("FIXLINE_SMS_FALLBACK", file.display().to_string())],
    )
    .await;
    app.set_clock(MONDAY_10AM).await;
    let gw = app.gateway.as_ref().unwrap();
    gw.set_down(true);
    let admin = app.login("admin").await;
    let agent = app.login("agent").await;
    for i in 0..60 {
        app.post("/tickets", &agent, call(i)).await.ok(201);
        if i % 10 == 9 {
            advance(&app, &admin, 10).await;
        }
    }
    advance(&app, &admin, 10).await;
    let pushes: Vec<_> = outbox(&app)
        .await
        .into_iter()
        .filter(|m| m.1 == "new_ticket")
        .collect();
    assert_eq!(pushes.len(), 120);
    let taken = second.accepted_requests();
    for m in &pushes {
        assert_eq!(m.2, "accepted", "{m:?}");
        let waited = m.4.unwrap() - m.3;
        assert!(waited <= chrono::Duration::minutes(3), "{m:?}");
        assert_eq!(
            taken.get(&m.0),
            Some(&1),
            "through the second platform: {m:?}"
        );
    }
    assert!(gw.messages().is_empty());
    // The dispatcher heard once, through the platform that works.
    let notices: Vec<Value> = second
        .messages()
        .into_iter()
        .filter(|m| m["purpose"] == "sms_platform_down")
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let tickets = app.get("/tickets?limit=100", &agent).await;
    for t in tickets.ok(200)["items"].as_array().unwrap() {
        assert_eq!(t["outcomes"]["dispatch"], "on_time", "{t}");
    }
}

/// A platform slower than usual but within the send timeout is slow, not down: each message
/// reaches it once. (The timeout is 2 s here so the test waits little; 15 s by default.)
async fn a_slow_platform_gets_each_message_once(backend: Backend) {
    let gateway = crate::helpers::FakeGateway::start().await;
    let app = TestApp::spawn_with_gateway_env(
        backend,
        gateway,
        &[("FIXLINE_SMS_TIMEOUT_S", "2".to_string())],
    )
    .await;
    app.set_clock(MONDAY_10AM).await;
    let gw = app.gateway.as_ref().unwrap();
    gw.set_delay(std::time::Duration::from_millis(1_500));
    let admin = app.login("admin").await;
    let agent = app.login("agent").await;
    for i in 0..3 {
        app.post("/tickets", &agent, call(i)).await.ok(201);
    }
    advance(&app, &admin, 1).await;
    advance(&app, &admin, 60).await;
    let sent = outbox(&app).await;
    assert_eq!(sent.len(), 6);
    for m in &sent {
        assert_eq!(m.2, "accepted", "{m:?}");
    }
    let accepted = gw.accepted_requests();
    assert_eq!(accepted.len(), 6);
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    assert_eq!(gw.attempts(), 6);
}

/// The server dies while a message is with the platform: after the restart the history shows
/// that attempt, with its outcome unknown, before the resend under the same id.
async fn a_send_cut_by_a_crash_stays_in_the_history(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let gw = app.gateway.as_ref().unwrap();
    gw.set_delay(std::time::Duration::from_secs(30));
    let agent = app.login("agent").await;
    let t = app.post("/tickets", &agent, call(1)).await.ok(201).clone();
    for _ in 0..200 {
        if gw.attempts() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(gw.attempts(), 2, "both messages are with the platform");
    let mut app = app;
    let gateway = app.gateway.take();
    let db = app.abandon();
    let gw = gateway.unwrap();
    gw.set_delay(std::time::Duration::ZERO);

    let app = TestApp::start(db, Some(gw)).await;
    // The dead sender's lease (30 s) runs out; the messages go again.
    app.set_clock("2026-11-23T10:00:31+08:00").await;
    let agent = app.login("agent").await;
    let msgs = app
        .get(
            &format!("/tickets/{}/notifications", t["id"].as_str().unwrap()),
            &agent,
        )
        .await;
    let items = msgs.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    for m in &items {
        let outcomes: Vec<&str> = m["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["unknown", "accepted"], "{m}");
        assert_eq!(m["status"], "accepted");
    }
    let gw = app.gateway.as_ref().unwrap();
    assert_eq!(gw.messages().len(), 2, "the same two ids, once each");
}

both!(
    a_ten_minute_outage_loses_no_push,
    a_second_platform_takes_over,
    a_slow_platform_gets_each_message_once,
    a_send_cut_by_a_crash_stays_in_the_history,
);

/// Counts the rows of a table, to show a refused request wrote nothing. After a database
/// outage a pooled connection that proved alive in the last `TRUST_ALIVE_FOR` is used without
/// a ping, so the count may meet one the outage killed, once: it asks again.
async fn tickets_stored(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use fixline::db::schema::tickets::dsl as t;
    for _ in 0..20 {
        let counted = app
            .state
            .db
            .read(|conn| -> Result<i64, fixline::db::DbError> {
                Ok(t::tickets.count().get_result(conn)?)
            })
            .await;
        if let Ok(n) = counted {
            return n;
        }
        tokio::time::sleep(fixline::db::TRUST_ALIVE_FOR).await;
    }
    panic!("the database answers again");
}

/// Sends a body as raw bytes, the way a broken client would.
async fn raw(app: &TestApp, path: &str, token: Option<&str>, body: &str) -> crate::helpers::Answer {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    crate::helpers::read(req.send().await.unwrap()).await
}

/// NUL and other control characters, trailing text after the JSON value, and arrays where an
/// object is expected are refused with the field at fault, on both databases, and change
/// nothing.
async fn bad_bytes_and_shapes_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let agent = app.login("agent").await;
    let admin = app.login("admin").await;
    let before = tickets_stored(&app).await;
    for field in [
        "external_ref",
        "customer_name",
        "customer_phone",
        "address",
        "account_no",
        "fault_category",
        "fault_description",
        "kind",
    ] {
        let mut body = call(1);
        body[field] = json!("a\u{0}b");
        let a = app.post("/tickets", &agent, body).await;
        assert_eq!(a.problem(422)["field"], field, "{}", a.text);
        let mut body = call(1);
        body[field] = json!("a\u{1b}[31mb");
        assert_eq!(
            app.post("/tickets", &agent, body).await.problem(422)["field"],
            field
        );
    }
    // Tabs and line breaks are text.
    let mut body = call(2);
    body["fault_description"] = json!("第一行\n第二行\t完");
    app.post("/tickets", &agent, body).await.ok(201);
    let a = app
        .call(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "ad\u{0}min", "password": "x"})),
        )
        .await;
    assert_eq!(a.problem(422)["field"], "username");
    let a = app
        .post(
            "/admin/api-keys",
            &admin,
            json!({"name": "call center\u{0}"}),
        )
        .await;
    assert_eq!(a.problem(422)["field"], "name");
    // In the query and the path.
    let a = app.get("/tickets?region_id=a%00b", &agent).await;
    assert_eq!(a.problem(422)["field"], "region_id");
    app.get("/tickets/a%00b", &agent).await.problem(404);
    app.get("/tickets/a%00b/events", &agent).await.problem(404);

    // Trailing text after the value is malformed JSON.
    let text = format!("{} xyz", call(3));
    raw(&app, "/tickets", Some(&agent), &text)
        .await
        .problem(400);
    // Arrays are not objects: no positional sign-in, intake or policy.
    let a = raw(&app, "/auth/login", None, r#"["admin", "test-password-1"]"#).await;
    assert_eq!(a.problem(422)["field"], "body");
    let a = raw(
        &app,
        "/tickets",
        Some(&agent),
        r#"["repair", "X-1", "李", "13800001111", "某地", null, null, null, "花屏", "花屏"]"#,
    )
    .await;
    assert_eq!(a.problem(422)["field"], "body");
    let mut body = call(4);
    body["location"] = json!([31.87, 120.55]);
    let a = app.post("/tickets", &agent, body).await;
    assert_eq!(a.problem(422)["field"], "location", "{}", a.text);
    let region = app.region_id("ZJG-C").await;
    let policy_path = format!("/regions/{region}/policies/repair");
    let put = |body: &'static str| {
        let app = &app;
        let admin = admin.clone();
        let path = policy_path.clone();
        async move {
            crate::helpers::read(
                app.client
                    .put(format!("{}{path}", app.base))
                    .bearer_auth(&admin)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    put(r#"{"promise_hours": 12}"#).await.ok(200);
    assert_eq!(put("[null, null]").await.problem(422)["field"], "body");
    let policies = app
        .get(&format!("/regions/{region}/policies"), &admin)
        .await;
    let repair = policies.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "repair")
        .cloned()
        .unwrap();
    assert_eq!(repair["promise_hours"], 12.0, "unchanged: {repair}");
    assert_eq!(
        tickets_stored(&app).await,
        before + 1,
        "only the good call was stored"
    );

    // One rule for offset; an unreadable sign-out body signs nobody out.
    for path in ["/callbacks?offset=-1", "/complaints?offset=-1"] {
        assert_eq!(app.get(path, &admin).await.problem(422)["field"], "offset");
    }
    let tokens = app.login_full("agent").await;
    let access = tokens["access_token"].as_str().unwrap();
    raw(&app, "/auth/logout", Some(access), "{not json")
        .await
        .problem(400);
    let refreshed = app
        .call(
            reqwest::Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": tokens["refresh_token"]})),
        )
        .await;
    refreshed.ok(200);
}

both!(bad_bytes_and_shapes_are_refused);

/// The server was down from +1 to +45 minutes: on restart the steps that came due are applied
/// in order with their own deadlines, the ticket goes to the next technician with 20 minutes of
/// their own, and the first technician is told it was taken away, not asked to act now.
async fn catch_up_sends_only_what_still_makes_sense(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let t = app.post("/tickets", &agent, call(1)).await.ok(201).clone();
    let id = t["id"].as_str().unwrap().to_string();
    let first = t["assignee_id"].as_str().unwrap().to_string();
    app.settle().await;
    let (db, gateway) = app.stop().await;

    let app = TestApp::start(db, gateway).await;
    app.set_clock("2026-11-23T10:45:00+08:00").await;
    let agent = app.login("agent").await;
    let now = app
        .get(&format!("/tickets/{id}"), &agent)
        .await
        .ok(200)
        .clone();
    let second = now["assignee_id"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(
        now["deadlines"]["assignment_ack_due_at"],
        "2026-11-23T03:05:00Z"
    );
    let ev = app.get(&format!("/tickets/{id}/events"), &agent).await;
    let steps: Vec<(String, String, String)> = ev.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "escalated")
        .map(|e| {
            (
                e["detail"]["step"].as_str().unwrap().to_string(),
                e["detail"]["deadline"].as_str().unwrap().to_string(),
                e["detail"]["applied_at"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (
                "renotify".into(),
                "2026-11-23T02:20:00Z".into(),
                "2026-11-23T02:45:00Z".into()
            ),
            (
                "reassign".into(),
                "2026-11-23T02:30:00Z".into(),
                "2026-11-23T02:45:00Z".into()
            ),
        ]
    );
    let admin = app.login("admin").await;
    let user = |id: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.get(&format!("/admin/users/{id}"), &admin)
                .await
                .ok(200)
                .clone()
        }
    };
    let first_phone = user(first).await["phone"].as_str().unwrap().to_string();
    let to_first: Vec<String> = app
        .gateway
        .as_ref()
        .unwrap()
        .to(&first_phone)
        .iter()
        .map(|m| m["purpose"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        to_first,
        ["new_ticket", "taken_away"],
        "no 'act now' in the pass that took it"
    );
}

/// Forty calls, then one clock move: every push was sent before the clock moved, so every
/// dispatch is on time and no dispatcher hears of an overdue push.
async fn a_clock_move_waits_for_every_send(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let admin = app.login("admin").await;
    for i in 0..40 {
        app.post("/tickets", &agent, call(i)).await.ok(201);
    }
    advance(&app, &admin, 600).await;
    let tickets = app.get("/tickets?limit=100", &agent).await;
    let items = tickets.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 40);
    for t in &items {
        assert_eq!(t["outcomes"]["dispatch"], "on_time", "{t}");
    }
    let gw = app.gateway.as_ref().unwrap();
    assert!(
        gw.messages()
            .iter()
            .all(|m| m["purpose"] != "dispatch_overdue"),
        "no spurious overdue pushes"
    );
}

/// A technician who fixes the fault by phone after a postponement resolves it straight away.
async fn a_postponed_ticket_can_be_resolved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let t = app.post("/tickets", &agent, call(1)).await.ok(201).clone();
    let id = t["id"].as_str().unwrap();
    let tech = app.username_of(t["assignee_id"].as_str().unwrap()).await;
    let token = app.login(&tech).await;
    app.post(
        &format!("/tickets/{id}/ack"),
        &token,
        json!({"appointment_at": "2026-11-23T11:00:00+08:00", "contact_note": "约上午"}),
    )
    .await
    .ok(200);
    let am = app.login("am.city").await;
    app.post(
        &format!("/tickets/{id}/postpone"),
        &am,
        json!({"new_promised_at": "2026-11-25T10:00:00+08:00", "reason": "用户出差",
               "customer_requested": true}),
    )
    .await
    .ok(200);
    let r = app
        .post(
            &format!("/tickets/{id}/resolve"),
            &token,
            json!({"resolution_code": "remote_fix", "notes": "电话指导重启后恢复"}),
        )
        .await;
    assert_eq!(r.ok(200)["status"], "resolved", "{}", r.text);
    assert_eq!(r.body["outcomes"]["resolve"], "on_time");
}

both!(
    catch_up_sends_only_what_still_makes_sense,
    a_clock_move_waits_for_every_send,
    a_postponed_ticket_can_be_resolved,
);

/// PostgreSQL refuses new connections and drops the open ones: requests answer 503 with
/// Retry-After within about 2 s, `/readyz` within 1 s, nothing is half-written, and the service
/// recovers by itself when the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_quickly() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let app = TestApp::spawn(Backend::Postgres).await;
    let agent = app.login("agent").await;
    let before = tickets_stored(&app).await;
    let name = app
        .state
        .config
        .database_url
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let admin_url = format!("{}/postgres", crate::helpers::pg_server());
    let sql = move |q: String| {
        let url = admin_url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut c = diesel::PgConnection::establish(&url).unwrap();
                c.batch_execute(&q).unwrap();
            })
            .await
            .unwrap()
        }
    };
    sql(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
    ))
    .await;

    let started = std::time::Instant::now();
    let a = app.post("/tickets", &agent, call(1)).await;
    let took = started.elapsed();
    a.problem(503);
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    let started = std::time::Instant::now();
    let ready = app.call(reqwest::Method::GET, "/readyz", None, None).await;
    let ready_took = started.elapsed();
    ready.problem(503);
    let res = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "2");
    assert!(
        ready_took < std::time::Duration::from_millis(1500),
        "{ready_took:?}"
    );
    println!("503 after {took:?}; /readyz after {ready_took:?}");

    sql(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true;")).await;
    let mut ok = None;
    for _ in 0..50 {
        let a = app.post("/tickets", &agent, call(2)).await;
        if a.status.as_u16() == 201 {
            ok = Some(a);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok.is_some(), "recovers on its own");
    assert_eq!(
        tickets_stored(&app).await,
        before + 1,
        "the refused call left nothing"
    );
}

/// Whether an outage overlapped a ticket's dispatch window, as the engine asks before telling
/// the dispatchers of a late push: the platform down now, or back only since the ticket came.
async fn an_outage_is_known_to_have_overlapped_a_ticket(backend: Backend) {
    use fixline::store::notifications::{outage_since, set_platform_state};
    let app = TestApp::spawn(backend).await;
    let at = |m: i64| {
        "2026-11-23T02:00:00"
            .parse::<chrono::NaiveDateTime>()
            .unwrap()
            + chrono::Duration::minutes(m)
    };
    let answers = app
        .state
        .db
        .write(move |conn| -> Result<Vec<bool>, fixline::db::DbError> {
            let mut out = vec![outage_since(conn, at(0))?];
            assert!(set_platform_state(
                conn,
                "default",
                true,
                at(10),
                Some("503")
            )?);
            assert!(
                !set_platform_state(conn, "default", true, at(11), None)?,
                "once"
            );
            out.push(outage_since(conn, at(0))?);
            out.push(outage_since(conn, at(30))?);
            assert!(set_platform_state(conn, "default", false, at(20), None)?);
            out.push(outage_since(conn, at(15))?);
            out.push(outage_since(conn, at(20))?);
            out.push(outage_since(conn, at(21))?);
            Ok(out)
        })
        .await
        .unwrap();
    assert_eq!(answers, [false, true, true, true, true, false]);
}

both!(an_outage_is_known_to_have_overlapped_a_ticket);
