//! Household visits (百人访百户): the questionnaire, visits that open a repair or a complaint,
//! the answers checked, who sees which visits, and each person's month against the target.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Backend, TestApp, TEST_CLOCK_START};
use crate::mobile::sync;
use crate::scores::user_id;

fn visit(extra: Value) -> Value {
    let mut v = json!({"customer_name": "周阿姨", "customer_phone": "13800007777",
        "address": "杨舍镇人民中路 8 号", "district_code": "ZJG-W-01",
        "answers": {"signal": 4, "attitude": 5, "regime_kept": true, "suggestions": " 晚上信号差 "}});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

async fn household_visits(backend: Backend) {
    let app = TestApp::spawn_with_env(backend, &[("FIXLINE_VISIT_TARGET", "3".into())]).await;
    let tech01 = app.login("tech01").await;
    let q = app.get("/visits/questionnaire", &tech01).await;
    let keys: Vec<&str> = q.ok(200)["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "signal",
            "repair_quality",
            "attitude",
            "regime_kept",
            "suggestions"
        ]
    );

    let plain = app.post("/visits", &tech01, visit(json!({}))).await;
    let plain = plain.ok(201).clone();
    assert_eq!(plain["ticket_id"], Value::Null);
    assert_eq!(plain["answers"]["suggestions"], "晚上信号差");
    assert_eq!(plain["user_id"], user_id(&app, "tech01").await.as_str());

    // A fault reported on the visit opens a repair like any call.
    let with_fault = app
        .post(
            "/visits",
            &tech01,
            visit(json!({"fault": {"category": "马赛克", "description": "晚上信号时有马赛克"}})),
        )
        .await;
    let ticket_id = with_fault.ok(201)["ticket_id"]
        .as_str()
        .unwrap()
        .to_string();
    let dispatcher = app.login("dispatcher").await;
    let t = app.get(&format!("/tickets/{ticket_id}"), &dispatcher).await;
    let t = t.ok(200).clone();
    assert_eq!(t["kind"], "repair");
    assert_eq!(t["fault"]["category"], "马赛克");
    assert!(t["fault"]["description"]
        .as_str()
        .unwrap()
        .starts_with("入户走访发现"));
    assert_eq!(t["customer"]["phone"], "+8613800007777");
    assert!(t["assignee_id"].is_string(), "routed to the on-duty staff");

    // A complaint made on the visit opens a complaint the visitor owns.
    let with_complaint = app
        .post(
            "/visits",
            &tech01,
            visit(json!({"complaint": {"category": "收费", "description": "月租比宣传的高"}})),
        )
        .await;
    let complaint_id = with_complaint.ok(201)["complaint_id"]
        .as_str()
        .unwrap()
        .to_string();
    let manager = app.login("manager").await;
    let c = app
        .get(&format!("/complaints/{complaint_id}"), &manager)
        .await;
    let c = c.ok(200).clone();
    assert_eq!(c["source"], "visit");
    assert_eq!(c["kind"], "general");
    assert_eq!(c["owner_user_id"], user_id(&app, "tech01").await.as_str());

    // Answers are checked against the questionnaire; nothing is written for a refused visit.
    for (extra, field) in [
        (json!({"answers": {"attitude": 5}}), "answers.signal"),
        (
            json!({"answers": {"signal": 9, "attitude": 5}}),
            "answers.signal",
        ),
        (
            json!({"answers": {"signal": 4, "attitude": 5, "price": 3}}),
            "answers.price",
        ),
        (
            json!({"answers": {"signal": 4, "attitude": 5, "regime_kept": "yes"}}),
            "answers.regime_kept",
        ),
        (json!({"district_code": null}), "location"),
        (
            json!({"visited_at": "2026-11-24T09:00:00+08:00"}),
            "visited_at",
        ),
        (json!({"customer_phone": "12"}), "customer_phone"),
        (
            json!({"fault": {"category": " ", "description": "x"}}),
            "fault.category",
        ),
    ] {
        let a = app.post("/visits", &tech01, visit(extra.clone())).await;
        assert_eq!(a.problem(422)["field"], field, "{extra}");
    }
    // A district of another region is outside a technician's scope.
    let other = app
        .post(
            "/visits",
            &tech01,
            visit(json!({"district_code": "ZJG-E-01"})),
        )
        .await;
    other.problem(403);

    // tech04 made one visit; tech07 one on the last evening of October.
    let tech04 = app.login("tech04").await;
    app.post("/visits", &tech04, visit(json!({}))).await.ok(201);
    let tech07 = app.login("tech07").await;
    app.post(
        "/visits",
        &tech07,
        visit(json!({"visited_at": "2026-10-31T23:59:00+08:00"})),
    )
    .await
    .ok(201);

    let own = app.get("/visits?month=2026-11", &tech01).await;
    assert_eq!(
        own.ok(200)["items"].as_array().unwrap().len(),
        3,
        "their own"
    );
    let all = app.get("/visits?month=2026-11", &manager).await;
    assert_eq!(all.ok(200)["items"].as_array().unwrap().len(), 4);
    let id04 = user_id(&app, "tech04").await;
    let one = app
        .get(&format!("/visits?month=2026-11&user_id={id04}"), &manager)
        .await;
    assert_eq!(one.ok(200)["items"].as_array().unwrap().len(), 1);

    let report = app.get("/reports/visits?month=2026-11", &manager).await;
    let report = report.ok(200).clone();
    assert_eq!(report["target"], 3);
    assert_eq!(report["visits"], 4);
    assert_eq!(report["met"], 1);
    assert_eq!(
        report["people"], 33,
        "30 technicians and 3 account managers"
    );
    let items = report["items"].as_array().unwrap();
    assert_eq!(items[0]["username"], "tech01");
    assert_eq!(
        (
            items[0]["visits"].clone(),
            items[0]["percent"].clone(),
            items[0]["met"].clone()
        ),
        (json!(3), json!(100.0), json!(true))
    );
    assert_eq!(items[0]["tickets_opened"], 1);
    assert_eq!(items[0]["complaints_opened"], 1);
    assert_eq!(items[1]["username"], "tech04");
    assert_eq!(items[1]["percent"], 33.33);
    assert_eq!(items[1]["met"], false);
    let october = app.get("/reports/visits?month=2026-10", &manager).await;
    let october = october.ok(200).clone();
    assert_eq!(october["visits"], 1);
    assert_eq!(october["items"][0]["username"], "tech07");
    let forbidden = app.get("/reports/visits?month=2026-11", &tech01).await;
    forbidden.problem(403);
}

/// An entry of the phone's queue for `body`.
fn queued(action_id: &str, mut body: Value) -> Value {
    body["type"] = json!("visit");
    body["action_id"] = json!(action_id);
    body
}

/// A visit made with no signal comes in the phone's queue: recorded once however often it is
/// sent, at the time the phone says (a phone a minute ahead counts as now), opening its repair;
/// a visit in another region and a malformed one are refused on their own without stopping
/// the queue. Online, a visit sent twice with one `Idempotency-Key` is recorded once.
async fn a_visit_made_offline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tech01 = app.login("tech01").await;
    let start = chrono::DateTime::parse_from_rfc3339(TEST_CLOCK_START).unwrap();
    let earlier = start - chrono::Duration::minutes(40);
    let ahead = start + chrono::Duration::seconds(60);
    let with_fault = queued(
        "v-1",
        visit(
            json!({"fault": {"category": "马赛克", "description": "晚上信号时有马赛克"},
                     "visited_at": earlier.to_rfc3339()}),
        ),
    );
    let r = sync(
        &app,
        &tech01,
        vec![
            with_fault.clone(),
            queued("v-2", visit(json!({"district_code": "ZJG-E-01"}))),
            queued(
                "v-3",
                visit(json!({"visited_at": ahead.to_rfc3339(), "customer_phone": "13800008888"})),
            ),
            queued("v-4", visit(json!({"customer_phone": "12"}))),
        ],
    )
    .await;
    let instant = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        (r[0]["outcome"].as_str(), r[0]["status"].as_u64()),
        (Some("applied"), Some(201))
    );
    assert_eq!(instant(&r[0]["visit"]["visited_at"]), earlier);
    let ticket_id = r[0]["visit"]["ticket_id"]
        .as_str()
        .expect("a repair")
        .to_string();
    assert_eq!(
        (r[1]["outcome"].as_str(), r[1]["status"].as_u64()),
        (Some("rejected"), Some(403))
    );
    assert!(r[1].get("visit").is_none(), "{}", r[1]);
    assert_eq!(r[2]["outcome"], "applied");
    assert_eq!(
        instant(&r[2]["visit"]["visited_at"]),
        start,
        "a phone ahead counts as now"
    );
    assert_eq!(
        (r[3]["outcome"].as_str(), r[3]["status"].as_u64()),
        (Some("rejected"), Some(422))
    );
    assert_eq!(r[3]["problem"]["field"], "actions[3].customer_phone");

    // The answer was lost and the phone sends its queue again: nothing is recorded twice.
    let again = sync(&app, &tech01, vec![with_fault]).await[0].clone();
    assert_eq!(
        (again["outcome"].as_str(), again["first_outcome"].as_str()),
        (Some("duplicate"), Some("applied"))
    );
    assert_eq!(again["visit"]["id"], r[0]["visit"]["id"]);
    let mine = app.get("/visits?month=2026-11", &tech01).await;
    assert_eq!(mine.ok(200)["items"].as_array().unwrap().len(), 2);
    let dispatcher = app.login("dispatcher").await;
    let t = app.get(&format!("/tickets/{ticket_id}"), &dispatcher).await;
    assert_eq!(t.ok(200)["status"], "dispatched");
    let repairs = app.get("/tickets?limit=100", &dispatcher).await;
    let opened = repairs.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["customer"]["phone"] == "+8613800007777")
        .count();
    assert_eq!(opened, 1, "one repair");

    // Online, the save tapped twice on one bar of signal.
    let send = || {
        app.client
            .post(format!("{}/visits", app.base))
            .bearer_auth(&tech01)
            .header("idempotency-key", "v-online-1")
            .json(&visit(json!({"customer_phone": "13800009999"})))
            .send()
    };
    let one = send().await.unwrap();
    assert_eq!(one.status(), 201);
    let one: Value = one.json().await.unwrap();
    let two = send().await.unwrap();
    assert_eq!(two.status(), 201);
    assert_eq!(two.headers()["idempotency-replayed"], "true");
    let two: Value = two.json().await.unwrap();
    assert_eq!(one, two);
    let mine = app.get("/visits?month=2026-11", &tech01).await;
    assert_eq!(mine.ok(200)["items"].as_array().unwrap().len(), 3);
}

both!(household_visits, a_visit_made_offline);
