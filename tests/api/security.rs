//! Security findings, each with the request that used to get through.

use crate::both;
use crate::helpers::{Backend, TestApp};
use serde_json::json;

fn call(external_ref: &str, lat: f64, lon: f64) -> serde_json::Value {
    json!({"kind": "repair", "external_ref": external_ref, "customer_name": "东区客户",
        "customer_phone": "13800005555", "address": "东区某小区 1 幢",
        "location": {"lat": lat, "lon": lon},
        "fault_category": "花屏", "fault_description": "部分频道花屏"})
}

/// An agent of one region who guesses another region's call reference learns nothing of that
/// ticket: the reference is refused, and the ticket's customer stays hidden.
async fn an_external_ref_never_reveals_another_regions_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let districts = app.get("/districts", &admin).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    let centre = |code: &str| {
        let d = districts
            .iter()
            .find(|d| d["code"].as_str().unwrap().starts_with(code))
            .unwrap();
        let b: Vec<f64> = serde_json::from_value(d["bbox"].clone()).unwrap();
        ((b[1] + b[3]) / 2.0, (b[0] + b[2]) / 2.0)
    };
    let (e_lat, e_lon) = centre("ZJG-E");
    let (w_lat, w_lon) = centre("ZJG-W");
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

both!(
    tokens_die_with_their_session,
    sign_in_is_throttled_and_passwords_must_be_strong,
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
