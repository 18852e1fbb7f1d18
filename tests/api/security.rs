//! Security findings, each with the request that used to get through.

use crate::both;
use crate::helpers::{Backend, TestApp};
use serde_json::{json, Value};

fn call(external_ref: &str, lat: f64, lon: f64) -> serde_json::Value {
    json!({"kind": "repair", "external_ref": external_ref, "customer_name": "东区客户",
        "customer_phone": "13800005555", "address": "东区某小区 1 幢",
        "location": {"lat": lat, "lon": lon},
        "fault_category": "花屏", "fault_description": "部分频道花屏"})
}

/// The middle (lat, lon) of the first district whose code starts with `prefix`.
async fn district_centre(app: &TestApp, token: &str, prefix: &str) -> (f64, f64) {
    let districts = app.get("/districts", token).await.ok(200)["items"].clone();
    let d = districts
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"].as_str().unwrap().starts_with(prefix))
        .unwrap()
        .clone();
    let b: Vec<f64> = serde_json::from_value(d["bbox"].clone()).unwrap();
    ((b[1] + b[3]) / 2.0, (b[0] + b[2]) / 2.0)
}

/// An agent of one region who guesses another region's call reference learns nothing of that
/// ticket: the reference is refused, and the ticket's customer stays hidden.
async fn an_external_ref_never_reveals_another_regions_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let (e_lat, e_lon) = district_centre(&app, &admin, "ZJG-E").await;
    let (w_lat, w_lon) = district_centre(&app, &admin, "ZJG-W").await;
    let agent = app.login("agent").await;
    let east = app
        .post("/tickets", &agent, call("CC-000123", e_lat, e_lon))
        .await
        .ok(201)
        .clone();
    let west = app.region_id("ZJG-W").await;
    app.add_user("agent_w", "agent", &[west.as_str()]).await;
    let agent_w = app.login("agent_w").await;
    let guess = app
        .post("/tickets", &agent_w, call("CC-000123", w_lat, w_lon))
        .await;
    assert_eq!(guess.problem(409)["field"], "external_ref");
    assert!(!guess.text.contains("东区客户"), "{}", guess.text);
    assert!(!guess.text.contains(east["id"].as_str().unwrap()));
    // The agent who may see it gets it back as before.
    let again = app
        .post("/tickets", &agent, call("CC-000123", e_lat, e_lon))
        .await;
    assert_eq!(again.ok(200)["id"], east["id"]);
}

/// A phone number names one person: an SMS reply must not be matched to the wrong technician.
async fn staff_phone_numbers_are_unique(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let region = app.region_id("ZJG-C").await;
    let a = app
        .post(
            "/admin/users",
            &admin,
            json!({"username": "tech_a", "display_name": "甲", "role": "technician",
                   "password": crate::helpers::PASSWORD, "region_ids": [region], "phone": "13900009999"}),
        )
        .await;
    let a_id = a.ok(201)["id"].as_str().unwrap().to_string();
    let b = app
        .post(
            "/admin/users",
            &admin,
            json!({"username": "tech_b", "display_name": "乙", "role": "technician",
                   "password": crate::helpers::PASSWORD, "region_ids": [region], "phone": "+86 139-0000-9999"}),
        )
        .await;
    assert_eq!(b.problem(409)["field"], "phone");
    let b = app
        .post(
            "/admin/users",
            &admin,
            json!({"username": "tech_b", "display_name": "乙", "role": "technician",
                   "password": crate::helpers::PASSWORD, "region_ids": [region], "phone": "13900008888"}),
        )
        .await;
    let b_id = b.ok(201)["id"].as_str().unwrap().to_string();
    let taken = app
        .patch(
            &format!("/admin/users/{b_id}"),
            &admin,
            json!({"phone": "13900009999"}),
        )
        .await;
    assert_eq!(taken.problem(409)["field"], "phone");
    // Keeping one's own number is no conflict.
    app.patch(
        &format!("/admin/users/{a_id}"),
        &admin,
        json!({"phone": "13900009999"}),
    )
    .await
    .ok(200);
}

/// A district named like a spreadsheet formula stays text in the report's CSV.
async fn report_csv_cells_never_run_as_formulas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let districts = app.get("/districts", &admin).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    let id = districts[0]["id"].as_str().unwrap();
    app.patch(
        &format!("/districts/{id}"),
        &admin,
        json!({"name": "=HYPERLINK(\"http://evil.example\",\"点我\")"}),
    )
    .await
    .ok(200);
    let csv = app
        .call(
            reqwest::Method::GET,
            "/reports/districts?month=2026-11&format=csv",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.text.contains("\"'=HYPERLINK("), "{}", csv.text);
    assert!(!csv.text.contains(",=HYPERLINK") && !csv.text.contains(",\"=HYPERLINK"));
}

both!(
    an_external_ref_never_reveals_another_regions_ticket,
    staff_phone_numbers_are_unique,
    report_csv_cells_never_run_as_formulas,
);

/// An access token dies with its session: after sign-out, when the account is disabled, when
/// its role or regions change, and when it names no account at all.
async fn tokens_die_with_their_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    // Signed out: the very token is refused, not only its refresh token.
    let tech = app.login("tech01").await;
    app.get("/me", &tech).await.ok(200);
    let out = app
        .call(reqwest::Method::POST, "/auth/logout", Some(&tech), None)
        .await;
    assert_eq!(out.status, 204);
    app.get("/me", &tech).await.problem(401);
    app.get("/me/tickets", &tech).await.problem(401);

    // Disabled: refused at once.
    let tech = app.login("tech02").await;
    let id = app.get("/me", &tech).await.ok(200)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get("/me/tickets", &tech).await.ok(200);
    app.patch(
        &format!("/admin/users/{id}"),
        &admin,
        json!({"active": false}),
    )
    .await
    .ok(200);
    app.get("/me/tickets", &tech).await.problem(401);

    // Demoted and moved: the old rights go with the old token.
    let dispatcher = app.login("dispatcher").await;
    let did = app.get("/me", &dispatcher).await.ok(200)["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get("/tickets", &dispatcher).await.ok(200);
    let west = app.region_id("ZJG-W").await;
    app.patch(
        &format!("/admin/users/{did}"),
        &admin,
        json!({"role": "agent", "region_ids": [west]}),
    )
    .await
    .ok(200);
    app.get("/tickets", &dispatcher).await.problem(401);

    // A validly signed token for an account that does not exist.
    let keys = fixline::auth::JwtKeys::from_secret(b"test-jwt-secret-shared-by-instances-0123");
    let now = chrono::Utc::now().timestamp() + 10 * 86_400;
    let forged = keys.sign(&fixline::auth::AccessClaims {
        sub: "no-such-user".into(),
        role: fixline::domain::Role::Admin,
        regions: vec![],
        sv: 0,
        iat: now - 60,
        exp: now,
    });
    app.get("/regions", &forged).await.problem(401);
    // A fresh sign-in works again for those still allowed in.
    let dispatcher = app.login("dispatcher").await;
    app.get("/me", &dispatcher).await.ok(200);
}

/// Guessing a password is slowed down: after five failures each try waits longer, the right
/// password included; weak new passwords are refused.
async fn sign_in_is_throttled_and_passwords_must_be_strong(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for _ in 0..6 {
        app.call(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "admin", "password": "guess-guess-1"})),
        )
        .await
        .problem(401);
    }
    let locked = app
        .client
        .post(format!("{}/auth/login", app.base))
        .json(&json!({"username": "admin", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status().as_u16(), 429);
    assert_eq!(locked.headers()["retry-after"], "1");
    let body: serde_json::Value = locked.json().await.unwrap();
    assert_eq!(body["type"], "urn:fixline:problem:too-many-requests");
    // Another account is not locked by it.
    let agent = app.login("agent").await;
    app.get("/me", &agent).await.ok(200);
    // Once the lockout has passed, the right password works (and clears the record).
    let admin_token = {
        let clock = app.state.manual_clock.as_ref().unwrap();
        clock.advance(1);
        app.login("admin").await
    };
    app.get("/me", &admin_token).await.ok(200);

    let region = app.region_id("ZJG-C").await;
    for (password, why) in [
        ("aaaaaaaaaa", "different characters"),
        ("1234567890", "common"),
        ("Password123", "common"),
        ("weak.user-2026!", "username"),
    ] {
        let a = app
            .post(
                "/admin/users",
                &admin_token,
                json!({"username": "weak.user", "display_name": "弱", "role": "agent",
                       "password": password, "region_ids": [region]}),
            )
            .await;
        let p = a.problem(422);
        assert_eq!(p["field"], "password");
        assert!(p["detail"].as_str().unwrap().contains(why), "{p}");
    }
}

/// Restating what an account already has (its role, its regions in any order, active) leaves
/// its sessions alone; an admin cannot disable or demote themselves, so somebody is always left
/// to undo a mistake.
async fn only_real_changes_end_a_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let me = app.get("/me", &dispatcher).await.ok(200).clone();
    let did = me["id"].as_str().unwrap().to_string();
    let mut regions: Vec<Value> = me["region_ids"].as_array().unwrap().clone();
    regions.reverse();
    app.patch(
        &format!("/admin/users/{did}"),
        &admin,
        json!({"role": "dispatcher", "region_ids": regions, "active": true, "display_name": "值班调度"}),
    )
    .await
    .ok(200);
    app.get("/tickets", &dispatcher).await.ok(200);
    // One region fewer is a change.
    let one = app.region_id("ZJG-C").await;
    app.patch(
        &format!("/admin/users/{did}"),
        &admin,
        json!({"region_ids": [one]}),
    )
    .await
    .ok(200);
    app.get("/tickets", &dispatcher).await.problem(401);

    let aid = app.get("/me", &admin).await.ok(200)["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (body, field) in [
        (json!({"active": false}), "active"),
        (json!({"role": "manager", "region_ids": [one]}), "role"),
    ] {
        let p = app
            .patch(&format!("/admin/users/{aid}"), &admin, body)
            .await
            .problem(422)
            .clone();
        assert_eq!(p["field"], field, "{p}");
    }
    // Nothing was written: still an admin, still signed in.
    let again = app.get("/me", &admin).await.ok(200).clone();
    assert_eq!(
        (again["role"].as_str(), again["active"].as_bool()),
        (Some("admin"), Some(true))
    );
    app.patch(
        &format!("/admin/users/{aid}"),
        &admin,
        json!({"role": "admin"}),
    )
    .await
    .ok(200);
    app.get("/regions", &admin).await.ok(200);
}

both!(
    tokens_die_with_their_session,
    sign_in_is_throttled_and_passwords_must_be_strong,
    only_real_changes_end_a_session,
);

/// Two instances on one PostgreSQL: a sign-out on one ends the session on the other within a
/// second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_on_one_instance_ends_the_session_on_the_other() {
    let first = TestApp::spawn(Backend::Postgres).await;
    let second = TestApp::start(first._db.share(), None).await;
    let tech = first.login("tech01").await;
    second.get("/me", &tech).await.ok(200);
    let out = first
        .call(reqwest::Method::POST, "/auth/logout", Some(&tech), None)
        .await;
    assert_eq!(out.status, 204);
    first.get("/me", &tech).await.problem(401);
    let recheck = fixline::api::recheck::RECHECK;
    let ended = std::time::Instant::now();
    loop {
        let answer = second.get("/me", &tech).await;
        if answer.status == 401 {
            break;
        }
        answer.ok(200);
        assert!(
            ended.elapsed() < recheck + std::time::Duration::from_millis(500),
            "the other instance still accepts the signed-out token"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// One runaway client cannot starve the others: writes beyond a caller's allowance answer 429
/// with the seconds to wait, reads go on, and other callers are not touched.
async fn writes_are_rate_limited_per_caller(backend: Backend) {
    let app = TestApp::spawn_with_env(
        backend,
        &[
            ("FIXLINE_RATE_LIMIT_USER", "3".into()),
            ("FIXLINE_RATE_LIMIT_KEY", "2".into()),
        ],
    )
    .await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let agent = app.login("agent").await;
    for i in 0..3 {
        app.post("/tickets", &agent, call(&format!("RL-{i}"), 31.87, 120.55))
            .await
            .ok(201);
    }
    let refused = app
        .client
        .post(format!("{}/tickets", app.base))
        .bearer_auth(&agent)
        .json(&call("RL-3", 31.87, 120.55))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(
        refused.headers()["retry-after"],
        "20",
        "three a minute: one every 20 s"
    );
    app.get("/tickets", &agent).await.ok(200);
    let dispatcher = app.login("dispatcher").await;
    app.post("/tickets", &dispatcher, call("RL-4", 31.87, 120.55))
        .await
        .ok(201);
    let admin = app.login("admin").await;
    app.post("/test/clock", &admin, json!({"advance_s": 20}))
        .await
        .ok(200);
    let agent = app.login("agent").await;
    app.post("/tickets", &agent, call("RL-5", 31.87, 120.55))
        .await
        .ok(201);

    // An API key has its own allowance.
    let key = app
        .post("/admin/api-keys", &admin, json!({"name": "call center"}))
        .await
        .ok(201)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let with_key = |n: usize| {
        app.client
            .post(format!("{}/tickets", app.base))
            .header("x-api-key", key.clone())
            .json(&call(&format!("KEY-{n}"), 31.87, 120.55))
            .send()
    };
    assert_eq!(with_key(0).await.unwrap().status().as_u16(), 201);
    assert_eq!(with_key(1).await.unwrap().status().as_u16(), 201);
    assert_eq!(with_key(2).await.unwrap().status().as_u16(), 429);
}

both!(writes_are_rate_limited_per_caller);

/// One request cannot buy unbounded work: a district boundary has a vertex ceiling, a rota at
/// most seven distinct days, an override note at most 500 characters.
async fn one_request_does_bounded_work(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let ring: Vec<[f64; 2]> = (0..=6000)
        .map(|i| {
            let a = (i % 6000) as f64 / 6000.0 * std::f64::consts::TAU;
            [121.3 + 0.05 * a.cos(), 32.3 + 0.05 * a.sin()]
        })
        .collect();
    let fc = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": "T-HUGE", "name": "巨型网格", "region": "TEST9"},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]});
    let p = app.post("/districts/import", &admin, fc).await;
    let p = p.problem(422);
    assert_eq!(p["field"], "features[0].geometry");
    assert!(
        p["detail"].as_str().unwrap().contains("at most 5000"),
        "{p}"
    );

    let region = app.region_id("ZJG-C").await;
    let tech = app.get("/me", &app.login("tech01").await).await.ok(200)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rota = |weekdays: serde_json::Value| json!({"user_id": tech, "role": "technician", "weekdays": weekdays, "start": "08:00", "end": "20:00"});
    let path = format!("/regions/{region}/duty/rotations");
    let many: Vec<i32> = (0..20_000).map(|i| i % 7 + 1).collect();
    let a = app.post(&path, &admin, rota(json!(many))).await;
    assert_eq!(a.problem(422)["field"], "weekdays");
    let a = app.post(&path, &admin, rota(json!([1, 1]))).await;
    assert_eq!(a.problem(422)["field"], "weekdays");
    let note = "备注".repeat(300);
    let a = app
        .post(
            &format!("/regions/{region}/duty/overrides"),
            &admin,
            json!({"user_id": tech, "role": "technician", "starts_at": "2026-11-24T08:00:00+08:00",
                   "ends_at": "2026-11-24T20:00:00+08:00", "on_duty": true, "note": note}),
        )
        .await;
    assert_eq!(a.problem(422)["field"], "note");
}

both!(one_request_does_bounded_work);

/// A signed callback acts once (a replay within its freshness window is a duplicate), and a
/// region's platform acts only on that region's messages and tickets.
async fn signed_webhooks_act_once_and_for_their_own_region(backend: Backend) {
    const WEST_SECRET: &str = "west-platform-secret-987654";
    let west_gw = crate::helpers::FakeGateway::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sms-regions.toml");
    std::fs::write(
        &file,
        format!(
            "[ZJG-W]\nsms_provider = \"webhook\"\nsms_webhook_url = \"{}\"\nsms_webhook_secret = \"{WEST_SECRET}\"\n",
            west_gw.url
        ),
    )
    .unwrap();
    let app = TestApp::spawn_with_gateway_env(
        backend,
        crate::helpers::FakeGateway::start().await,
        &[("FIXLINE_SMS_REGIONS", file.display().to_string())],
    )
    .await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let agent = app.login("agent").await;
    let t = app
        .post("/tickets", &agent, call("WH-1", 31.87, 120.55))
        .await
        .ok(201)
        .clone();
    assert_ne!(t["region_id"], app.region_id("ZJG-W").await);
    let gw = app.gateway.as_ref().unwrap();
    app.settle().await;
    let msgs = gw.messages();
    let deployment = gw.secret.clone();
    let now = chrono::Utc::now().timestamp();

    let receipt = json!({"id": msgs[0]["id"], "status": "delivered"});
    let path = "/webhooks/sms/webhook/status";
    let first = crate::helpers::signed_post(&app, path, &receipt, &deployment, now).await;
    assert_eq!(first.ok(200)["result"], "recorded");
    let again = crate::helpers::signed_post(&app, path, &receipt, &deployment, now).await;
    assert_eq!(again.ok(200)["result"], "duplicate");
    // The west platform's secret does not speak for this region's messages.
    let other = json!({"id": msgs[1]["id"], "status": "failed"});
    let west = crate::helpers::signed_post(&app, path, &other, WEST_SECRET, now).await;
    assert_eq!(west.ok(200)["result"], "ignored");

    // A reply through the west platform cannot acknowledge this region's ticket.
    let admin = app.login("admin").await;
    let tech = app
        .get(
            &format!("/admin/users/{}", t["assignee_id"].as_str().unwrap()),
            &admin,
        )
        .await
        .ok(200)
        .clone();
    let reply = json!({"from": tech["phone"], "text": "A 1430"});
    let inbound = "/webhooks/sms/webhook/inbound";
    crate::helpers::signed_post(&app, inbound, &reply, WEST_SECRET, now)
        .await
        .ok(200);
    let id = t["id"].as_str().unwrap();
    let still = app.get(&format!("/tickets/{id}"), &agent).await;
    assert_eq!(still.ok(200)["status"], "dispatched");
    // Through its own platform it does, once; the replay does nothing more.
    crate::helpers::signed_post(&app, inbound, &reply, &deployment, now)
        .await
        .ok(200);
    let acked = app.get(&format!("/tickets/{id}"), &agent).await;
    assert_eq!(acked.ok(200)["status"], "acknowledged");
    let replay = crate::helpers::signed_post(&app, inbound, &reply, &deployment, now).await;
    assert_eq!(replay.ok(200)["result"], "duplicate");
    let events = app.get(&format!("/tickets/{id}/events"), &agent).await;
    let acks = events.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "acknowledged")
        .count();
    assert_eq!(acks, 1);
}

both!(signed_webhooks_act_once_and_for_their_own_region);

/// An API key acts only in its regions, on its purpose's routes, until it expires; its last use
/// is shown.
async fn api_keys_have_regions_a_purpose_and_an_expiry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let admin = app.login("admin").await;
    let west = app.region_id("ZJG-W").await;
    let key = app
        .post(
            "/admin/api-keys",
            &admin,
            json!({"name": "west call center", "purpose": "intake", "region_ids": [west],
                   "expires_at": "2026-11-24T10:00:00+08:00"}),
        )
        .await;
    let key = key.ok(201).clone();
    assert_eq!(key["purpose"], "intake");
    assert_eq!(key["region_ids"], json!([west]));
    let secret = key["key"].as_str().unwrap().to_string();
    let with_key = |method: reqwest::Method, path: String, body: Option<serde_json::Value>| {
        let mut req = app
            .client
            .request(method, format!("{}{path}", app.base))
            .header("x-api-key", secret.clone());
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { crate::helpers::read(req.send().await.unwrap()).await }
    };
    let (w_lat, w_lon) = district_centre(&app, &admin, "ZJG-W").await;
    let (c_lat, c_lon) = district_centre(&app, &admin, "ZJG-C").await;
    with_key(
        reqwest::Method::POST,
        "/tickets".into(),
        Some(call("K-W", w_lat, w_lon)),
    )
    .await
    .ok(201);
    with_key(
        reqwest::Method::POST,
        "/tickets".into(),
        Some(call("K-C", c_lat, c_lon)),
    )
    .await
    .problem(403);
    with_key(reqwest::Method::GET, "/complaints".into(), None)
        .await
        .problem(403);
    with_key(reqwest::Method::GET, "/admin/users".into(), None)
        .await
        .problem(403);
    let listed = app.get("/admin/api-keys", &admin).await;
    let shown = listed.ok(200)["items"][0].clone();
    assert!(shown["last_used_at"].is_string(), "{shown}");
    assert_eq!(shown["expires_at"], "2026-11-24T02:00:00Z");

    // A complaints key reaches complaints only.
    let hotline = app
        .post(
            "/admin/api-keys",
            &admin,
            json!({"name": "12345 bridge", "purpose": "complaints"}),
        )
        .await
        .ok(201)["key"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |path: &str| {
        app.client
            .get(format!("{}{path}", app.base))
            .header("x-api-key", hotline.clone())
            .send()
    };
    assert_eq!(get("/complaints").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/tickets").await.unwrap().status().as_u16(), 403);

    // Past its expiry the key is refused.
    app.post("/test/clock", &admin, json!({"advance_s": 86_400}))
        .await
        .ok(200);
    with_key(reqwest::Method::GET, "/tickets".into(), None)
        .await
        .problem(401);
    let bad = app
        .post(
            "/admin/api-keys",
            &app.login("admin").await,
            json!({"name": "x", "purpose": "everything"}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "purpose");
}

both!(api_keys_have_regions_a_purpose_and_an_expiry);

/// A user holds at most three event streams at once, and a stream ends when its token does (the
/// app reconnects with a fresh one).
async fn event_streams_are_capped_and_end_with_their_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tech = app.login("tech05").await;
    let open = || app.open_stream(&tech, None);
    let mut streams = Vec::new();
    for _ in 0..3 {
        let res = open().await;
        assert_eq!(res.status().as_u16(), 200);
        streams.push(res);
    }
    let fourth = open().await;
    assert_eq!(fourth.status().as_u16(), 429);
    // The token expires (15 minutes of server time): every stream ends by itself, and their
    // places are free again for a fresh token.
    let admin = app.login("admin").await;
    app.post("/test/clock", &admin, json!({"advance_s": 15 * 60 + 1}))
        .await
        .ok(200);
    for mut res in streams {
        let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Ok(Some(_)) = res.chunk().await {}
        })
        .await;
        assert!(ended.is_ok(), "the stream outlived its token");
    }
    let fresh = app.login("tech05").await;
    let again = app.open_stream(&fresh, None).await;
    assert_eq!(again.status().as_u16(), 200);
}

/// Disabling an account ends its open event stream within seconds, not at the next token expiry.
async fn a_disabled_users_stream_ends(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tech = app.login("tech06").await;
    let id = app.get("/me", &tech).await.ok(200)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut stream = app.open_stream(&tech, None).await;
    assert_eq!(stream.status().as_u16(), 200);
    let admin = app.login("admin").await;
    app.patch(
        &format!("/admin/users/{id}"),
        &admin,
        json!({"active": false}),
    )
    .await
    .ok(200);
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the disabled user's stream stayed open");
}

both!(
    event_streams_are_capped_and_end_with_their_token,
    a_disabled_users_stream_ends,
);

/// A new ticket for the customer 13800005555 at (lat, lon), acknowledged by its holder
/// (appointment 11:00): the ticket, its id and the holder's token.
async fn acknowledged_ticket(
    app: &TestApp,
    external_ref: &str,
    lat: f64,
    lon: f64,
) -> (serde_json::Value, String, String) {
    let agent = app.login("agent").await;
    let t = app
        .post("/tickets", &agent, call(external_ref, lat, lon))
        .await
        .ok(201)
        .clone();
    let id = t["id"].as_str().unwrap().to_string();
    let holder = app.username_of(t["assignee_id"].as_str().unwrap()).await;
    let tech = app.login(&holder).await;
    app.post(
        &format!("/tickets/{id}/ack"),
        &tech,
        json!({"appointment_at": "2026-11-23T11:00:00+08:00", "contact_note": "约上午"}),
    )
    .await
    .ok(200);
    (t, id, tech)
}

/// The technician records the customer's wish for a promise at `to`.
async fn record_postponement(
    app: &TestApp,
    tech: &str,
    id: &str,
    to: &str,
) -> crate::helpers::Answer {
    app.post(&format!("/tickets/{id}/postpone"), tech, postpone_body(to))
        .await
}

/// The first event of `kind` on the ticket's timeline.
async fn first_event(app: &TestApp, token: &str, id: &str, kind: &str) -> serde_json::Value {
    let events = app
        .get(&format!("/tickets/{id}/events"), token)
        .await
        .ok(200)["items"]
        .clone();
    events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {events}"))
        .clone()
}

fn postpone_body(to: &str) -> serde_json::Value {
    json!({"new_promised_at": to, "reason": "用户出差", "customer_requested": true})
}

/// A technician cannot move their own promise: what they record waits, the old promise and its
/// clocks govern meanwhile, they cannot confirm it themselves, and the confirmation names the
/// account manager who gave it.
async fn a_technician_cannot_approve_their_own_postponement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let agent = app.login("agent").await;
    let (t, id, tech) = acknowledged_ticket(&app, "PP-1", 31.87, 120.55).await;
    let promised = t["deadlines"]["promised_at"].clone();

    // Free-text approval is gone: the field is refused, and nothing moved.
    let mut body = postpone_body("2026-12-23T10:00:00+08:00");
    body["approved_by"] = json!("myself");
    let refused = app
        .post(&format!("/tickets/{id}/postpone"), &tech, body)
        .await;
    assert!(
        matches!(refused.status.as_u16(), 400 | 422),
        "{}",
        refused.text
    );

    // Recorded by the technician: 202, the promise stands.
    let request = record_postponement(&app, &tech, &id, "2026-11-25T10:00:00+08:00").await;
    assert_eq!(request.status, 202, "{}", request.text);
    let request_id = request.body["id"].as_str().unwrap().to_string();
    assert_eq!(request.body["status"], "pending");
    let now = app
        .get(&format!("/tickets/{id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(now["status"], "acknowledged");
    assert_eq!(now["deadlines"]["promised_at"], promised);

    // The technician cannot confirm it, nor can an account manager of another region.
    let confirm = format!("/tickets/{id}/postponements/{request_id}/confirm");
    app.post(&confirm, &tech, json!({})).await.problem(403);
    let west = app.login("am.west").await;
    app.post(&confirm, &west, json!({})).await.problem(404);
    app.post(&confirm, &agent, json!({})).await.problem(403);

    // The region's account manager and the customer were asked.
    let msgs = app
        .get(&format!("/tickets/{id}/notifications"), &agent)
        .await
        .ok(200)["items"]
        .clone();
    let purposes: Vec<&str> = msgs
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["purpose"].as_str().unwrap())
        .collect();
    assert!(purposes.contains(&"postponement_requested"), "{purposes:?}");
    let check = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["purpose"] == "postponement_check")
        .expect("the customer is asked");
    assert!(check["to"].as_str().unwrap().ends_with("13800005555"));
    assert!(check["text"].as_str().unwrap().contains("回复1"));

    // The old promise governs while the request waits: past it, the ticket is overdue.
    app.advance(25 * 3600).await;
    let agent = app.login("agent").await;
    let events = app
        .get(&format!("/tickets/{id}/events"), &agent)
        .await
        .ok(200)["items"]
        .clone();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "resolve_overdue"),
        "{events}"
    );

    // The region's account manager confirms: the promise moves, and the timeline names them.
    let am = app.login("am.city").await;
    let am_id = app.get("/me", &am).await.ok(200)["id"].clone();
    let done = app
        .post(&confirm, &am, json!({"note": "已与用户核实"}))
        .await;
    assert_eq!(done.ok(200)["status"], "postponed", "{}", done.text);
    assert_eq!(
        done.body["deadlines"]["promised_at"],
        "2026-11-25T02:00:00Z"
    );
    app.post(&confirm, &am, json!({})).await.problem(409);
    let postponed = first_event(&app, &agent, &id, "postponed").await;
    assert_eq!(postponed["detail"]["approved_by"]["user_id"], am_id);
    assert_eq!(postponed["detail"]["approved_by"]["via"], "staff");
    assert_eq!(postponed["actor"]["id"], am_id);
    let list = app
        .get(&format!("/tickets/{id}/postponements"), &agent)
        .await
        .ok(200)["items"]
        .clone();
    assert_eq!(list[0]["status"], "confirmed");
    assert_eq!(list[0]["decided_by"], am_id);
    assert_eq!(list[0]["decided_via"], "staff");
}

/// The customer's own SMS answer confirms or refuses what the technician recorded; a refusal
/// tells the technician the old promise stands.
async fn the_customer_confirms_a_postponement_by_sms(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let agent = app.login("agent").await;
    // Each answer signed at its own second, so none is taken for a replay of another.
    let sent = std::sync::atomic::AtomicI64::new(0);
    let inbound = |text: &str| {
        let app = &app;
        let body = json!({"from": "13800005555", "text": text});
        let ts = chrono::Utc::now().timestamp()
            - sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            let gw = app.gateway.as_ref().unwrap();
            crate::helpers::signed_post(app, "/webhooks/sms/webhook/inbound", &body, &gw.secret, ts)
                .await
        }
    };
    // Nothing pending: the customer's number is nobody's.
    assert_eq!(inbound("1").await.ok(200)["result"], "unknown_sender");

    let (_, id, tech) = acknowledged_ticket(&app, "PP-2", 31.87, 120.55).await;
    record_postponement(&app, &tech, &id, "2026-11-25T10:00:00+08:00")
        .await
        .ok(202);
    let unclear = inbound("明天再说").await;
    assert_eq!(unclear.ok(200)["result"], "customer_not_understood");
    let yes = inbound("１").await;
    assert_eq!(
        yes.ok(200)["result"],
        "postponement_confirmed",
        "{}",
        yes.text
    );
    assert_eq!(yes.body["ticket_id"], id.as_str());
    let t = app
        .get(&format!("/tickets/{id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(t["status"], "postponed");
    assert_eq!(t["deadlines"]["promised_at"], "2026-11-25T02:00:00Z");
    let postponed = first_event(&app, &agent, &id, "postponed").await;
    assert_eq!(postponed["detail"]["approved_by"]["via"], "customer_sms");
    assert_eq!(postponed["actor"]["kind"], "customer");
    // A second "1" finds nothing pending.
    assert_eq!(inbound("1").await.ok(200)["result"], "unknown_sender");

    // Another ticket of the same customer: this time they refuse.
    let (second, id2, tech2) = acknowledged_ticket(&app, "PP-3", 31.871, 120.551).await;
    record_postponement(&app, &tech2, &id2, "2026-11-26T10:00:00+08:00")
        .await
        .ok(202);
    let no = inbound("不同意").await;
    assert_eq!(no.ok(200)["result"], "postponement_declined", "{}", no.text);
    let t2 = app
        .get(&format!("/tickets/{id2}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(t2["status"], "acknowledged");
    assert_eq!(
        t2["deadlines"]["promised_at"],
        second["deadlines"]["promised_at"]
    );
    let told = app
        .get(&format!("/tickets/{id2}/notifications"), &agent)
        .await
        .ok(200)["items"]
        .clone();
    let declined: Vec<&serde_json::Value> = told
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["purpose"] == "postponement_declined")
        .collect();
    assert_eq!(declined.len(), 1, "{told}");
    assert_eq!(declined[0]["recipient_user_id"], second["assignee_id"]);
    let list = app
        .get(&format!("/tickets/{id2}/postponements"), &agent)
        .await
        .ok(200)["items"]
        .clone();
    assert_eq!(list[0]["status"], "declined");
    assert_eq!(list[0]["decided_via"], "customer_sms");
    assert_eq!(list[0]["decided_by"], serde_json::Value::Null);
}

/// A request replaced by a later one cannot be confirmed; one still pending when the ticket is
/// resolved lapses.
async fn a_stale_postponement_request_cannot_be_confirmed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let (_, id, tech) = acknowledged_ticket(&app, "PP-4", 31.87, 120.55).await;
    let old = record_postponement(&app, &tech, &id, "2026-11-25T10:00:00+08:00")
        .await
        .ok(202)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let new = record_postponement(&app, &tech, &id, "2026-11-26T10:00:00+08:00")
        .await
        .ok(202)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dispatcher = app.login("dispatcher").await;
    app.post(
        &format!("/tickets/{id}/postponements/{old}/confirm"),
        &dispatcher,
        json!({}),
    )
    .await
    .problem(409);
    app.post(
        &format!("/tickets/{id}/resolve"),
        &tech,
        json!({"resolution_code": "remote_fix"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/tickets/{id}/postponements/{new}/confirm"),
        &dispatcher,
        json!({}),
    )
    .await
    .problem(409);
    let list = app
        .get(&format!("/tickets/{id}/postponements"), &dispatcher)
        .await
        .ok(200)["items"]
        .clone();
    let statuses: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "lapsed"]);
}

both!(
    a_technician_cannot_approve_their_own_postponement,
    the_customer_confirms_a_postponement_by_sms,
    a_stale_postponement_request_cannot_be_confirmed,
);
