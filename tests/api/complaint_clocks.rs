//! The complaint's handling clock: first-ask ownership, simple / general / hotline deadlines,
//! the escalation ladder climbed once a rung, the reply, the customer's acceptance, reopening,
//! and complaint timeliness in the monthly report.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Answer, Backend, FakeGateway, TestApp};
use crate::province::organisation;
use crate::scores::{at, districts, store, stored_ticket, user_id};

async fn app_with_gateway(backend: Backend) -> TestApp {
    TestApp::spawn_with_gateway_env(backend, FakeGateway::start().await, &[]).await
}

/// The phone of a user, set when `phone` is given.
async fn phone_of(app: &TestApp, username: &str, phone: Option<&str>) -> String {
    let admin = app.login("admin").await;
    let id = user_id(app, username).await;
    if let Some(p) = phone {
        app.patch(&format!("/admin/users/{id}"), &admin, json!({"phone": p}))
            .await
            .ok(200);
    }
    app.get(&format!("/admin/users/{id}"), &admin).await.ok(200)["phone"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The late-complaint SMS each phone got.
fn overdue_to(app: &TestApp, phone: &str) -> usize {
    app.gateway
        .as_ref()
        .unwrap()
        .to(phone)
        .iter()
        .filter(|m| m["text"].as_str().unwrap().starts_with("【投诉超时"))
        .count()
}

fn overdue_total(app: &TestApp) -> usize {
    app.gateway
        .as_ref()
        .unwrap()
        .messages()
        .iter()
        .filter(|m| m["text"].as_str().unwrap().starts_with("【投诉超时"))
        .count()
}

/// The complaint as the agent reads it (signed in afresh: the clock moves past tokens).
async fn complaint(app: &TestApp, id: &str) -> Value {
    let agent = app.login("agent").await;
    app.get(&format!("/complaints/{id}"), &agent)
        .await
        .ok(200)
        .clone()
}

fn actions(c: &Value) -> Vec<String> {
    c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap().to_string())
        .collect()
}

async fn district_line(app: &TestApp, month: &str, district: &str) -> Value {
    let manager = app.login("manager").await;
    let r = app
        .get(&format!("/reports/districts?month={month}"), &manager)
        .await;
    r.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["district_id"] == district)
        .unwrap()
        .clone()
}

/// A simple complaint about tech04's repair, recorded by the agent at 10:00, is due at 12:00.
/// Unanswered, it goes to tech04's team leader at 12:00, the section head at 14:00 and the
/// branch leadership at 16:00, once each; the agent owns it throughout.
async fn a_late_simple_complaint_climbs_the_ladder_once_a_rung(backend: Backend) {
    let app = app_with_gateway(backend).await;
    organisation(&app).await;
    let leader = phone_of(&app, "tech01", None).await;
    let section = phone_of(&app, "am.west", None).await;
    let gm = phone_of(&app, "gm.zjg", Some("13962209999")).await;
    let ds = districts(&app).await;
    let (district, region) = ds["ZJG-W-01"].clone();
    let tech04 = user_id(&app, "tech04").await;
    let repaired = stored_ticket(
        "complained",
        &region,
        &district,
        "repair",
        Some(&tech04),
        at("2026-11-23T08:00:00+08:00"),
        true,
    );
    store(&app, vec![repaired.clone()], Vec::new()).await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let agent = app.login("agent").await;
    let c = app
        .post(
            "/complaints",
            &agent,
            json!({"source": "hotline", "kind": "simple", "ticket_id": repaired.id,
                   "category": "维修态度", "description": "师傅态度差"}),
        )
        .await;
    let c = c.ok(201).clone();
    let id = c["id"].as_str().unwrap().to_string();
    let agent_id = user_id(&app, "agent").await;
    assert_eq!(c["kind"], "simple");
    assert_eq!(c["owner_user_id"], agent_id.as_str());
    assert_eq!(c["handling"]["state"], "handling");
    assert_eq!(c["handling"]["due_at"], "2026-11-23T04:00:00Z");
    assert_eq!(c["handling"]["on_time"], Value::Null);

    app.set_clock("2026-11-23T11:59:00+08:00").await;
    assert_eq!(overdue_total(&app), 0);
    app.set_clock("2026-11-23T12:00:00+08:00").await;
    assert_eq!(overdue_to(&app, &leader), 1, "the team leader, at 12:00");
    assert_eq!(overdue_total(&app), 1);
    let now = complaint(&app, &id).await;
    assert_eq!(now["handling"]["escalation_level"], 1);
    assert_eq!(now["handling"]["on_time"], false);
    assert_eq!(
        now["handling"]["next_escalation_at"],
        "2026-11-23T06:00:00Z"
    );
    app.set_clock("2026-11-23T13:59:00+08:00").await;
    assert_eq!(overdue_total(&app), 1, "exactly once");
    app.set_clock("2026-11-23T14:00:00+08:00").await;
    assert_eq!(overdue_to(&app, &section), 1, "the section head, at 14:00");
    app.set_clock("2026-11-23T16:00:00+08:00").await;
    assert_eq!(overdue_to(&app, &gm), 1, "the branch, at 16:00");
    app.set_clock("2026-11-24T10:00:00+08:00").await;
    assert_eq!(overdue_total(&app), 3, "three rungs, once each");
    assert_eq!(overdue_to(&app, &leader), 1);
    let now = complaint(&app, &id).await;
    assert_eq!(now["owner_user_id"], agent_id.as_str(), "the owner stays");
    assert_eq!(now["handling"]["escalation_level"], 3);
    assert_eq!(now["handling"]["next_escalation_at"], Value::Null);
    assert_eq!(
        actions(&now),
        ["received", "escalated", "escalated", "escalated"]
    );
    let rungs: Vec<&str> = now["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] == "escalated")
        .map(|h| h["detail"]["rung"].as_str().unwrap())
        .collect();
    assert_eq!(rungs, ["team_leader", "section_head", "leadership"]);

    // Answered late, then accepted.
    let agent = app.login("agent").await;
    let r = app
        .post(
            &format!("/complaints/{id}/reply"),
            &agent,
            json!({"reply": "已致歉并安排班组长回访"}),
        )
        .await;
    assert_eq!(r.ok(200)["handling"]["state"], "replied");
    assert_eq!(r.ok(200)["handling"]["on_time"], false);
    let closed = app
        .post(
            &format!("/complaints/{id}/close"),
            &agent,
            json!({"accepted": true}),
        )
        .await;
    assert_eq!(closed.ok(200)["handling"]["state"], "closed");
    let line = district_line(&app, "2026-11", &district).await;
    assert_eq!(line["complaints"]["handled"], 1);
    assert_eq!(line["complaints"]["handled_on_time"], 0);
    assert_eq!(line["complaints"]["timeliness"], 0.0);
}

/// A general complaint recorded at 23:30 is due at 24:00 local; answered at 23:50 it is on
/// time. The customer does not accept the answer: it is handled again on a fresh clock,
/// answered, accepted, and reopened later, with every step in its history.
async fn a_general_complaint_is_due_by_midnight_and_reopens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ds = districts(&app).await;
    let (district, _) = ds["ZJG-W-01"].clone();
    app.set_clock("2026-11-23T23:30:00+08:00").await;
    let agent = app.login("agent").await;
    let c = app
        .post(
            "/complaints",
            &agent,
            json!({"source": "walk_in", "district_id": district, "customer_phone": "13800005555",
                   "category": "收费", "description": "多收月租"}),
        )
        .await;
    let c = c.ok(201).clone();
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["kind"], "general");
    assert_eq!(
        c["handling"]["due_at"], "2026-11-23T16:00:00Z",
        "24:00 local"
    );

    // Nothing to close or reopen before an answer.
    let early = app
        .post(
            &format!("/complaints/{id}/close"),
            &agent,
            json!({"accepted": true}),
        )
        .await;
    early.problem(409);
    let early = app
        .post(
            &format!("/complaints/{id}/reopen"),
            &agent,
            json!({"reason": "x"}),
        )
        .await;
    early.problem(409);
    let empty = app
        .post(
            &format!("/complaints/{id}/reply"),
            &agent,
            json!({"reply": "  "}),
        )
        .await;
    assert_eq!(empty.problem(422)["field"], "reply");

    app.set_clock("2026-11-23T23:50:00+08:00").await;
    let agent = app.login("agent").await;
    let r = app
        .post(
            &format!("/complaints/{id}/reply"),
            &agent,
            json!({"reply": "核实后退还多收费用"}),
        )
        .await;
    assert_eq!(r.ok(200)["handling"]["on_time"], true);
    let again = app
        .post(
            &format!("/complaints/{id}/reply"),
            &agent,
            json!({"reply": "再答一次"}),
        )
        .await;
    again.problem(409);

    // The customer does not accept it: handled again, due by the end of the 24th.
    app.set_clock("2026-11-24T09:00:00+08:00").await;
    let agent = app.login("agent").await;
    let no = app
        .post(
            &format!("/complaints/{id}/close"),
            &agent,
            json!({"accepted": false, "note": "用户要求书面说明"}),
        )
        .await;
    let no = no.ok(200).clone();
    assert_eq!(no["handling"]["state"], "handling");
    assert_eq!(no["handling"]["reopened"], 1);
    assert_eq!(no["handling"]["due_at"], "2026-11-24T16:00:00Z");
    assert_eq!(no["handling"]["on_time"], true, "the first answer counts");
    app.post(
        &format!("/complaints/{id}/reply"),
        &agent,
        json!({"reply": "已寄送书面说明"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/complaints/{id}/close"),
        &agent,
        json!({"accepted": true, "note": "用户认可"}),
    )
    .await
    .ok(200);
    let dispatcher = app.login("dispatcher").await;
    let reopened = app
        .post(
            &format!("/complaints/{id}/reopen"),
            &dispatcher,
            json!({"reason": "用户再次来电"}),
        )
        .await;
    assert_eq!(reopened.ok(200)["handling"]["reopened"], 2);
    let now = complaint(&app, &id).await;
    assert_eq!(
        actions(&now),
        [
            "received",
            "replied",
            "not_accepted",
            "replied",
            "closed",
            "reopened"
        ]
    );
    assert_eq!(
        now["owner_user_id"],
        user_id(&app, "agent").await.as_str(),
        "the dispatcher who reopened it does not take it over"
    );
    let line = district_line(&app, "2026-11", &district).await;
    assert_eq!(line["complaints"]["handled"], 1);
    assert_eq!(line["complaints"]["handled_on_time"], 1);
}

/// A 12345 case carries the hotline's deadline and must have one; other sources may not.
/// Late, with nobody in the organisation above its owner, the region's managers are told.
async fn a_hotline_case_runs_on_the_hotlines_deadline(backend: Backend) {
    let app = app_with_gateway(backend).await;
    let ds = districts(&app).await;
    let (district, _) = ds["ZJG-W-01"].clone();
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let agent = app.login("agent").await;
    let post = |body: Value| {
        let (app, agent) = (&app, agent.clone());
        async move { app.post("/complaints", &agent, body).await }
    };
    let base = json!({"source": "12345", "district_id": district, "category": "上门超时",
                      "description": "预约上午上门，下午才到"});
    let with = |extra: Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let missing: Answer = post(base.clone()).await;
    assert_eq!(missing.problem(422)["field"], "reply_due_at");
    let simple = post(with(
        json!({"kind": "simple", "reply_due_at": "2026-11-26T17:00:00+08:00"}),
    ))
    .await;
    assert_eq!(simple.problem(422)["field"], "kind");
    let walk_in = post(with(
        json!({"source": "walk_in", "reply_due_at": "2026-11-26T17:00:00+08:00"}),
    ))
    .await;
    assert_eq!(walk_in.problem(422)["field"], "reply_due_at");
    let bad = post(with(json!({"kind": "urgent"}))).await;
    assert_eq!(bad.problem(422)["field"], "kind");

    let c = post(with(json!({"reply_due_at": "2026-11-26T17:00:00+08:00"}))).await;
    let c = c.ok(201).clone();
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["kind"], "hotline");
    assert_eq!(c["handling"]["due_at"], "2026-11-26T09:00:00Z");
    assert_eq!(c["handling"]["hotline_due_at"], "2026-11-26T09:00:00Z");

    let manager = phone_of(&app, "manager", None).await;
    app.set_clock("2026-11-26T16:59:00+08:00").await;
    assert_eq!(overdue_total(&app), 0);
    app.set_clock("2026-11-26T17:00:00+08:00").await;
    assert_eq!(overdue_to(&app, &manager), 1, "no team above the owner");
    let now = complaint(&app, &id).await;
    assert_eq!(now["handling"]["escalation_level"], 1);

    // Recorded two days late: late at once, but the next rung still waits its interval.
    let agent = app.login("agent").await;
    let late = app
        .post(
            "/complaints",
            &agent,
            json!({"source": "walk_in", "district_id": district, "category": "收费",
                   "description": "多收月租", "received_at": "2026-11-24T10:00:00+08:00"}),
        )
        .await;
    let late_id = late.ok(201)["id"].as_str().unwrap().to_string();
    app.settle().await;
    let late = complaint(&app, &late_id).await;
    assert_eq!(
        late["handling"]["escalation_level"], 1,
        "one rung, not three"
    );
    assert_eq!(late["handling"]["on_time"], false);
    assert_eq!(
        late["handling"]["next_escalation_at"], "2026-11-26T11:00:00Z",
        "two hours from now, not from its due time"
    );
}

both!(
    a_late_simple_complaint_climbs_the_ladder_once_a_rung,
    a_general_complaint_is_due_by_midnight_and_reopens,
    a_hotline_case_runs_on_the_hotlines_deadline,
);
