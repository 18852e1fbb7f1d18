//! The repair-upon-report flow end to end: intake, routing to the on-duty staff, SMS through the
//! gateway, the state machine, SLA outcomes and escalations, restarts and concurrency.

use crate::both;
use crate::helpers::{events, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

/// Monday 2026-11-23, 10:00 in Zhangjiagang: the day shift is on.
const MONDAY_10AM: &str = "2026-11-23T10:00:00+08:00";
const AM_CITY_PHONE: &str = "+8613962200101";
const MANAGER_PHONE: &str = "+8613962200003";

fn fault(external_ref: Option<&str>) -> Value {
    let mut v = json!({
        "kind": "repair",
        "customer_name": "王女士",
        "customer_phone": "139-1234-5678",
        "address": "杨舍镇人民中路 88 号 3 幢 502",
        "location": {"lat": 31.87, "lon": 120.55},
        "fault_category": "无信号",
        "fault_description": "机顶盒显示无信号，全部频道黑屏"
    });
    if let Some(r) = external_ref {
        v["external_ref"] = r.into();
    }
    v
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let a = app.post("/tickets", token, body).await;
    a.ok(201).clone()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The username of a user id, through the admin API.
async fn username(app: &TestApp, id: &str) -> String {
    app.username_of(id).await
}

async fn phone_of(app: &TestApp, id: &str) -> String {
    let admin = app.login("admin").await;
    app.get(&format!("/admin/users/{id}"), &admin).await.ok(200)["phone"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn ticket_reaches_the_on_duty_staff(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(Some("CC-20261123-0001"))).await;
    assert_eq!(t["status"], "dispatched");
    let tech = t["assignee_id"].as_str().expect("assigned").to_string();
    // A day-shift technician of the city region (tech02, tech05, ... tech14 are its day shift).
    let name = username(&app, &tech).await;
    assert!(
        ["tech02", "tech05", "tech08", "tech11", "tech14"].contains(&name.as_str()),
        "{name}"
    );

    let gw = app.gateway.as_ref().unwrap();
    app.settle().await;
    let tech_phone = phone_of(&app, &tech).await;
    for phone in [AM_CITY_PHONE, tech_phone.as_str()] {
        let got = gw.to(phone);
        assert_eq!(got.len(), 1, "one SMS to {phone}: {:?}", gw.messages());
        let text = got[0]["text"].as_str().unwrap();
        assert!(text.contains("机顶盒显示无信号"), "{text}");
        assert!(text.contains("杨舍镇人民中路 88 号"), "{text}");
        assert!(text.contains("+8613912345678"), "{text}");
    }
    assert_eq!(gw.messages().len(), 2, "nobody else is told");

    // The push was accepted at once: dispatch on time, recorded on the timeline.
    let id = t["id"].as_str().unwrap();
    let fresh = app
        .get(&format!("/tickets/{id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(fresh["outcomes"]["dispatch"], "on_time", "{fresh}");
    let ev = kinds(&events(&app, &agent, id).await);
    assert_eq!(ev, ["created", "assigned", "pushed"]);
    let metrics = app.call(Method::GET, "/metrics", None, None).await.text;
    assert!(
        metrics.contains("fixline_push_latency_seconds_count 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"fixline_sms_attempts_total{result="accepted"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains("fixline_outbox_backlog 0"), "{metrics}");

    // The technician sees it first on the phone, with its clock.
    let tech_token = app.login(&name).await;
    let mine = app.get("/me/tickets", &tech_token).await;
    let mine = mine.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], id);
    assert_eq!(
        mine[0]["seconds_left"],
        20 * 60,
        "the contact deadline is next"
    );
}

async fn contact_deadline_and_escalation(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let on_time = create(&app, &agent, fault(Some("A"))).await;
    let late = create(&app, &agent, fault(Some("B"))).await;
    let ignored = create(&app, &agent, fault(Some("C"))).await;
    let gw = app.gateway.as_ref().unwrap();
    app.settle().await;

    let ack = |t: &Value| {
        let id = t["id"].as_str().unwrap().to_string();
        let tech = t["assignee_id"].as_str().unwrap().to_string();
        let app = &app;
        async move {
            let token = app.login(&username(app, &tech).await).await;
            app.post(
                &format!("/tickets/{id}/ack"),
                &token,
                json!({"appointment_at": "2026-11-23T14:30:00+08:00", "contact_note": "用户在家，下午两点半上门"}),
            )
            .await
        }
    };
    app.advance(19 * 60).await;
    let a = ack(&on_time).await;
    assert_eq!(a.ok(200)["outcomes"]["contact"], "on_time", "{}", a.text);
    assert_eq!(a.body["status"], "acknowledged");

    app.advance(2 * 60).await; // T+21
    let agent = app.login("agent").await; // access tokens last 15 minutes of server time
    let b = ack(&late).await;
    assert_eq!(b.ok(200)["outcomes"]["contact"], "late");
    let c_id = ignored["id"].as_str().unwrap();
    let c = app
        .get(&format!("/tickets/{c_id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(c["escalation_level"], 1);
    let ev = events(&app, &agent, c_id).await;
    let esc: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "escalated").collect();
    assert_eq!(esc.len(), 1);
    assert_eq!(esc[0]["detail"]["step"], "renotify");
    // The account manager hears about B and C (both late at T+20), the technician is reminded.
    let am_texts: Vec<String> = gw
        .to(AM_CITY_PHONE)
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        am_texts.iter().filter(|t| t.contains("超时未联系")).count(),
        2,
        "{am_texts:?}"
    );

    let first_tech = c["assignee_id"].as_str().unwrap().to_string();
    app.advance(10 * 60).await; // T+31
    let agent = app.login("agent").await;
    let c = app
        .get(&format!("/tickets/{c_id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(c["escalation_level"], 2);
    let second_tech = c["assignee_id"].as_str().unwrap().to_string();
    assert_ne!(
        second_tech, first_tech,
        "reassigned to the next on-duty technician"
    );
    let second_phone = phone_of(&app, &second_tech).await;
    assert!(gw
        .to(&second_phone)
        .iter()
        .any(|m| m["text"].as_str().unwrap().contains("改派")));
    assert!(gw.to(MANAGER_PHONE).is_empty());
    // The first holder hears the ticket was taken away; the account manager who has it now.
    let first_phone = phone_of(&app, &first_tech).await;
    assert!(
        gw.to(&first_phone)
            .iter()
            .any(|m| m["purpose"] == "taken_away"),
        "{:?}",
        gw.to(&first_phone)
    );
    assert!(gw
        .to(AM_CITY_PHONE)
        .iter()
        .any(|m| m["purpose"] == "holder_changed"
            && m["text"].as_str().unwrap().contains(&second_phone)));

    // The new holder has 20 minutes of their own (until T+51): nothing more at T+41.
    app.advance(10 * 60).await; // T+41
    assert!(gw.to(MANAGER_PHONE).is_empty());
    app.advance(11 * 60).await; // T+52: the new holder is reminded
    let agent = app.login("agent").await;
    let c = app
        .get(&format!("/tickets/{c_id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(c["escalation_level"], 3);
    assert!(gw
        .to(&second_phone)
        .iter()
        .any(|m| m["purpose"] == "ack_overdue"));
    assert!(gw.to(MANAGER_PHONE).is_empty());
    app.advance(10 * 60).await; // T+62: the managers
    let agent = app.login("agent").await;
    let to_manager = gw.to(MANAGER_PHONE);
    assert_eq!(to_manager.len(), 1, "{:?}", gw.messages());
    assert!(to_manager[0]["text"].as_str().unwrap().contains("升级督办"));
    let ev = kinds(&events(&app, &agent, c_id).await);
    assert_eq!(ev.iter().filter(|k| *k == "escalated").count(), 4, "{ev:?}");
    // Nothing fires twice.
    app.advance(60).await;
    assert_eq!(
        kinds(&events(&app, &agent, c_id).await)
            .iter()
            .filter(|k| *k == "escalated")
            .count(),
        4
    );
}

/// Deadline instants and holdings: an acknowledgement at exactly +20:00 and a resolution at
/// exactly the promise are on time with no escalation before them; after an automatic
/// reassignment the new holder has 20 minutes of their own, and the technician report credits
/// the late contact to the first holder and the timely one to the second.
async fn each_holder_has_their_own_contact_clock(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let a = create(&app, &agent, fault(Some("EXACT"))).await;
    let b = create(&app, &agent, fault(Some("MOVED"))).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let a_tech = a["assignee_id"].as_str().unwrap().to_string();
    let first = b["assignee_id"].as_str().unwrap().to_string();
    // The account manager's new-ticket SMS names the technician and their phone.
    app.settle().await;
    let gw = app.gateway.as_ref().unwrap();
    let first_phone = phone_of(&app, &first).await;
    assert!(gw.to(AM_CITY_PHONE).iter().any(
        |m| m["purpose"] == "new_ticket" && m["text"].as_str().unwrap().contains(&first_phone)
    ));

    app.advance(20 * 60).await; // exactly the contact deadline
    let token = app.login(&username(&app, &a_tech).await).await;
    let acked = app
        .post(
            &format!("/tickets/{a_id}/ack"),
            &token,
            json!({"appointment_at": "2026-11-23T14:30:00+08:00", "contact_note": "约好下午"}),
        )
        .await;
    assert_eq!(
        acked.ok(200)["outcomes"]["contact"],
        "on_time",
        "{}",
        acked.text
    );
    let agent = app.login("agent").await;
    let ev = kinds(&events(&app, &agent, a_id).await);
    assert!(!ev.contains(&"escalated".to_string()), "{ev:?}");

    app.advance(10 * 60 + 1).await; // +30:01: B goes to the next technician
    let agent = app.login("agent").await;
    let moved = app
        .get(&format!("/tickets/{b_id}"), &agent)
        .await
        .ok(200)
        .clone();
    let second = moved["assignee_id"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(
        moved["deadlines"]["assignment_ack_due_at"], "2026-11-23T02:50:01Z",
        "20 minutes from the reassignment: {moved}"
    );
    assert_eq!(moved["deadlines"]["ack_due_at"], "2026-11-23T02:20:00Z");
    app.advance(15 * 60).await; // +45:01: the new holder contacts the customer in time
    let token = app.login(&username(&app, &second).await).await;
    let acked = app
        .post(
            &format!("/tickets/{b_id}/ack"),
            &token,
            json!({"appointment_at": "2026-11-23T15:30:00+08:00", "contact_note": "约好下午"}),
        )
        .await;
    assert_eq!(
        acked.ok(200)["outcomes"]["contact"],
        "late",
        "the customer waited past the first deadline"
    );

    // A resolved at exactly its promise is on time.
    let promised: chrono::DateTime<chrono::Utc> = a["deadlines"]["promised_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let admin = app.login("admin").await;
    app.post("/test/clock", &admin, json!({"set": promised.to_rfc3339()}))
        .await
        .ok(200);
    let token = app.login(&username(&app, &a_tech).await).await;
    let agent = app.login("agent").await;
    let done = app
        .post(
            &format!("/tickets/{a_id}/resolve"),
            &token,
            json!({"resolution_code": "replaced_stb", "notes": "更换机顶盒"}),
        )
        .await;
    assert_eq!(
        done.ok(200)["outcomes"]["resolve"],
        "on_time",
        "{}",
        done.text
    );
    let ev = kinds(&events(&app, &agent, a_id).await);
    assert!(!ev.contains(&"resolve_overdue".to_string()), "{ev:?}");

    // Each holder is credited with their own contact.
    let manager = app.login("manager").await;
    let report = app
        .get("/reports/technicians?month=2026-11", &manager)
        .await;
    let items = report.ok(200)["items"].as_array().unwrap().clone();
    let contact = |id: &str| {
        let line = items
            .iter()
            .find(|l| l["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {items:?}"));
        (
            line["metrics"]["contact"]["num"].as_i64().unwrap(),
            line["metrics"]["contact"]["den"].as_i64().unwrap(),
        )
    };
    let a_counts = |who: &str| i64::from(a_tech == who);
    assert_eq!(contact(&first), (a_counts(&first), 1 + a_counts(&first)));
    assert_eq!(
        contact(&second),
        (1 + a_counts(&second), 1 + a_counts(&second))
    );
}

async fn postponement_moves_the_promise(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let postponed = create(&app, &agent, fault(Some("P"))).await;
    let delayed = create(&app, &agent, fault(Some("D"))).await;
    let act = |t: Value, path: &'static str, body: Value| {
        let app = &app;
        async move {
            let token = app
                .login(&username(app, t["assignee_id"].as_str().unwrap()).await)
                .await;
            let id = t["id"].as_str().unwrap();
            app.post(&format!("/tickets/{id}/{path}"), &token, body)
                .await
        }
    };
    let appointment =
        json!({"appointment_at": "2026-11-23T11:00:00+08:00", "contact_note": "约上午十一点"});
    act(postponed.clone(), "ack", appointment.clone())
        .await
        .ok(200);
    act(delayed.clone(), "ack", appointment).await.ok(200);

    // The customer asks to come back in two days; the technician records it and the
    // dispatcher confirms: the promise (T+24h) moves to T+48h.
    let request = act(
        postponed.clone(),
        "postpone",
        json!({"new_promised_at": "2026-11-25T10:00:00+08:00", "reason": "用户出差，周三在家",
               "customer_requested": true}),
    )
    .await;
    assert_eq!(request.status, 202, "{}", request.text);
    assert_eq!(request.body["status"], "pending");
    let dispatcher = app.login("dispatcher").await;
    let p = app
        .post(
            &format!(
                "/tickets/{}/postponements/{}/confirm",
                postponed["id"].as_str().unwrap(),
                request.body["id"].as_str().unwrap()
            ),
            &dispatcher,
            json!({"note": "已电话向用户核实"}),
        )
        .await;
    assert_eq!(p.ok(200)["status"], "postponed");
    assert_eq!(p.body["deadlines"]["promised_at"], "2026-11-25T02:00:00Z");
    assert_eq!(
        p.body["deadlines"]["original_promised_at"],
        "2026-11-24T02:00:00Z"
    );
    let refused = act(
        delayed.clone(),
        "postpone",
        json!({"new_promised_at": "2026-11-25T10:00:00+08:00", "reason": "材料未到", "customer_requested": false}),
    )
    .await;
    assert_eq!(refused.problem(422)["field"], "customer_requested");
    // The on-duty account manager is told, with the new promise in local time.
    let msgs = app
        .get(
            &format!(
                "/tickets/{}/notifications",
                postponed["id"].as_str().unwrap()
            ),
            &agent,
        )
        .await;
    let told: Vec<Value> = msgs.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["purpose"] == "postponed")
        .cloned()
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["to"], AM_CITY_PHONE);
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap()
            .contains("新承诺时间 11-25 10:00"),
        "{}",
        told[0]["text"]
    );

    app.advance(30 * 3600).await; // past the old promise, before the new one
    let here = json!({"lat": 31.8701, "lon": 120.5501});
    act(postponed.clone(), "check-in", here.clone())
        .await
        .ok(200);
    let r = act(
        postponed.clone(),
        "resolve",
        json!({"resolution_code": "replaced_stb", "notes": "更换机顶盒"}),
    )
    .await;
    assert_eq!(r.ok(200)["outcomes"]["resolve"], "on_time", "{}", r.text);

    let c = act(delayed.clone(), "check-in", here).await;
    assert_eq!(
        c.ok(200)["outcomes"]["arrival"],
        "late",
        "the 11:00 appointment was missed"
    );
    assert!(c.body["check_in"]["distance_m"].as_f64().unwrap() < 20.0);
    let r = act(
        delayed.clone(),
        "resolve",
        json!({"resolution_code": "reconnected"}),
    )
    .await;
    assert_eq!(r.ok(200)["outcomes"]["resolve"], "late");

    // The postponed ticket's timeline tells the story; nothing escalated while it was postponed.
    let agent = app.login("agent").await;
    let ev = kinds(&events(&app, &agent, postponed["id"].as_str().unwrap()).await);
    assert!(ev.contains(&"postponed".to_string()));
    assert!(!ev.contains(&"resolve_overdue".to_string()), "{ev:?}");
    let ev = kinds(&events(&app, &agent, delayed["id"].as_str().unwrap()).await);
    assert!(ev.contains(&"resolve_overdue".to_string()), "{ev:?}");
}

async fn illegal_transitions_are_409_with_the_state(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(None)).await;
    let id = t["id"].as_str().unwrap();
    let tech = app
        .login(&username(&app, t["assignee_id"].as_str().unwrap()).await)
        .await;
    let p = app
        .post(
            &format!("/tickets/{id}/resolve"),
            &tech,
            json!({"resolution_code": "x"}),
        )
        .await;
    let p = p.problem(409);
    assert_eq!(p["current_state"], "dispatched");
    assert_eq!(p["type"], "urn:fixline:problem:illegal-transition");
    let bad = app
        .post(
            &format!("/tickets/{id}/ack"),
            &tech,
            json!({"appointment_at": "tomorrow", "contact_note": "x"}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "appointment_at");
    let dispatcher = app.login("dispatcher").await;
    let cancelled = app
        .post(
            &format!("/tickets/{id}/cancel"),
            &dispatcher,
            json!({"reason": "重复报修"}),
        )
        .await;
    assert_eq!(cancelled.ok(200)["status"], "cancelled");
    let again = app
        .post(
            &format!("/tickets/{id}/cancel"),
            &dispatcher,
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(again.problem(409)["current_state"], "cancelled");
}

async fn technicians_see_only_their_own_tickets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(None)).await;
    let id = t["id"].as_str().unwrap();
    let owner = username(&app, t["assignee_id"].as_str().unwrap()).await;
    let other = if owner == "tech02" {
        "tech05"
    } else {
        "tech02"
    };
    let other_token = app.login(other).await;
    app.get(&format!("/tickets/{id}"), &other_token)
        .await
        .problem(404);
    app.get(&format!("/tickets/{id}/events"), &other_token)
        .await
        .problem(404);
    app.post(
        &format!("/tickets/{id}/ack"),
        &other_token,
        json!({"appointment_at": "2026-11-23T12:00:00+08:00", "contact_note": "x"}),
    )
    .await
    .problem(404);
    assert!(app.get("/me/tickets", &other_token).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // Technicians cannot use the board or assign.
    app.get("/tickets", &other_token).await.problem(403);
    let me = app.get("/me", &other_token).await.ok(200)["id"].clone();
    app.post(
        &format!("/tickets/{id}/assign"),
        &other_token,
        json!({"assignee_id": me}),
    )
    .await
    .problem(403);
    // The dispatcher can hand it to them; then they see it.
    let dispatcher = app.login("dispatcher").await;
    let moved = app
        .post(
            &format!("/tickets/{id}/assign"),
            &dispatcher,
            json!({"assignee_id": me}),
        )
        .await;
    assert_eq!(moved.ok(200)["assignee_id"], me);
    app.get(&format!("/tickets/{id}"), &other_token)
        .await
        .ok(200);
    app.get(&format!("/tickets/{id}"), &app.login(&owner).await)
        .await
        .problem(404);
}

async fn nobody_on_duty_goes_to_the_dispatcher_queue(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let admin = app.login("admin").await;
    let city = app.region_id("ZJG-C").await;
    // Every day-shift technician of the city region takes the morning off.
    for name in ["tech02", "tech05", "tech08", "tech11", "tech14"] {
        let token = app.login(name).await;
        let id = app.get("/me", &token).await.ok(200)["id"].clone();
        app.post(
            &format!("/regions/{city}/duty/overrides"),
            &admin,
            json!({"user_id": id, "role": "technician", "starts_at": "2026-11-23T09:00:00+08:00",
                   "ends_at": "2026-11-23T13:00:00+08:00", "on_duty": false, "note": "培训"}),
        )
        .await
        .ok(201);
    }
    let on_duty = app.get(&format!("/regions/{city}/on-duty"), &admin).await;
    let people = on_duty.ok(200)["on_duty"].as_array().unwrap().clone();
    assert_eq!(people.len(), 1, "only the account manager: {people:?}");
    assert_eq!(people[0]["duty_role"], "account_manager");

    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(None)).await;
    assert_eq!(t["status"], "new");
    assert_eq!(t["flagged"], true);
    assert!(t["assignee_id"].is_null());
    let gw = app.gateway.as_ref().unwrap();
    app.settle().await;
    assert_eq!(
        gw.to("+8613962200001").len(),
        1,
        "the dispatcher is told: {:?}",
        gw.messages()
    );
    assert_eq!(gw.to(AM_CITY_PHONE).len(), 1);
    let dispatcher = app.login("dispatcher").await;
    let queue = app.get("/tickets?unassigned=true", &dispatcher).await;
    assert_eq!(queue.ok(200)["items"].as_array().unwrap().len(), 1);
}

/// Concurrent intakes of one call-center reference: one records the ticket, every other answers
/// that same ticket, and nothing is stored twice.
async fn racing_intakes_of_one_reference_make_one_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let calls: Vec<_> = (0..8)
        .map(|_| app.post("/tickets", &agent, fault(Some("CC-RACE"))))
        .collect();
    let answers = futures_util::future::join_all(calls).await;
    let created = answers.iter().filter(|a| a.status.as_u16() == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    let id = answers
        .iter()
        .find(|a| a.status.as_u16() == 201)
        .unwrap()
        .body["id"]
        .clone();
    for a in &answers {
        assert!(matches!(a.status.as_u16(), 200 | 201), "{}", a.text);
        assert_eq!(a.body["id"], id);
    }
    let board = app.get("/tickets", &app.login("dispatcher").await).await;
    assert_eq!(board.ok(200)["items"].as_array().unwrap().len(), 1);
}

async fn duplicate_external_ref_returns_the_first_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let first = create(&app, &agent, fault(Some("CC-42"))).await;
    let again = app.post("/tickets", &agent, fault(Some("CC-42"))).await;
    assert_eq!(again.ok(200)["id"], first["id"]);
    let board = app.get("/tickets", &app.login("dispatcher").await).await;
    assert_eq!(board.ok(200)["items"].as_array().unwrap().len(), 1);
    // Bad input is refused whole.
    let mut bad = fault(Some("CC-43"));
    bad["customer_phone"] = "12345".into();
    assert_eq!(
        app.post("/tickets", &agent, bad).await.problem(422)["field"],
        "customer_phone"
    );
    let mut bad = fault(Some("CC-44"));
    bad["location"]["lat"] = 95.into();
    assert_eq!(
        app.post("/tickets", &agent, bad).await.problem(422)["field"],
        "location.lat"
    );
    let mut bad = fault(None);
    bad.as_object_mut().unwrap().remove("location");
    assert_eq!(
        app.post("/tickets", &agent, bad).await.problem(422)["field"],
        "location"
    );
    let board = app.get("/tickets", &app.login("dispatcher").await).await;
    assert_eq!(board.ok(200)["items"].as_array().unwrap().len(), 1);
}

async fn concurrent_intakes_lose_nothing(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let mut calls = Vec::new();
    for i in 0..100 {
        let (client, base, token) = (app.client.clone(), app.base.clone(), agent.clone());
        calls.push(tokio::spawn(async move {
            let res = client
                .post(format!("{base}/tickets"))
                .bearer_auth(token)
                .json(&fault(Some(&format!("STORM-{i:03}"))))
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }));
    }
    for c in calls {
        assert_eq!(c.await.unwrap(), 201);
    }
    // One SMS to the account manager and one to the technician per ticket: 200, no more, no fewer.
    let gw = app.gateway.as_ref().unwrap();
    app.settle().await;
    assert_eq!(gw.messages().len(), 200);
    assert_eq!(gw.to(AM_CITY_PHONE).len(), 100);
    let dispatcher = app.login("dispatcher").await;
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/tickets?limit=30&cursor={c}"),
            None => "/tickets?limit=30".to_string(),
        };
        let page = app.get(&path, &dispatcher).await.ok(200).clone();
        seen += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, 100, "cursor pagination visits every ticket once");
}

async fn restart_fires_an_overdue_escalation_exactly_once(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(Some("R-1"))).await;
    let id = t["id"].as_str().unwrap().to_string();
    app.settle().await;
    let (db, gateway) = app.stop().await;

    // Down across the contact deadline; back at T+25.
    let app = TestApp::start(db, gateway).await;
    app.set_clock("2026-11-23T10:25:00+08:00").await;
    let agent = app.login("agent").await;
    let count = |ev: &[Value]| ev.iter().filter(|e| e["kind"] == "escalated").count();
    assert_eq!(count(&events(&app, &agent, &id).await), 1);
    app.advance(0).await;
    app.advance(60).await;
    assert_eq!(count(&events(&app, &agent, &id).await), 1, "fired once");
    let t = app
        .get(&format!("/tickets/{id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(t["outcomes"]["contact"], "late");
}

async fn gateway_outage_delays_but_loses_nothing(backend: Backend) {
    let app = TestApp::spawn_with_gateway(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let gw = app.gateway.as_ref().unwrap();
    gw.fail_next(4);
    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(Some("OUT-1"))).await;
    // Both messages fail once each at intake, then again on the first retry.
    for _ in 0..100 {
        if gw.attempts() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gw.messages().is_empty());
    app.advance(3).await; // past the first backoff (about 2 s)
    app.advance(6).await; // past the second (about 4 s)
    let got = gw.messages();
    assert_eq!(got.len(), 2, "each message delivered once: {got:?}");
    assert_eq!(gw.attempts(), 6, "4 refused + 2 accepted");
    let fresh = app
        .get(&format!("/tickets/{}", t["id"].as_str().unwrap()), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(
        fresh["outcomes"]["dispatch"], "on_time",
        "pushed 9 s after intake: {fresh}"
    );
    let metrics = app.call(Method::GET, "/metrics", None, None).await.text;
    assert!(
        metrics.contains(r#"fixline_sms_attempts_total{result="retry"} 4"#),
        "{metrics}"
    );
    // Every attempt is kept, with the gateway's answer; the waits grow.
    let msgs = app
        .get(
            &format!("/tickets/{}/notifications", t["id"].as_str().unwrap()),
            &agent,
        )
        .await;
    for m in msgs.ok(200)["items"].as_array().unwrap() {
        let tries = m["attempts"].as_array().unwrap();
        let outcomes: Vec<&str> = tries
            .iter()
            .map(|a| a["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["retry", "retry", "accepted"], "{m}");
        assert!(tries[0]["answer"].as_str().unwrap().contains("500"), "{m}");
        let at: Vec<chrono::DateTime<chrono::Utc>> = tries
            .iter()
            .map(|a| a["at"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(at[1] - at[0] < at[2] - at[1], "backoff grows: {at:?}");
        assert_eq!(m["status"], "accepted");
    }
}

async fn gateway_that_never_recovers_alerts_the_dispatcher(backend: Backend) {
    // A 10-minute retry horizon, and a platform never declared down, so each message meets the
    // horizon on its own.
    let app = TestApp::spawn_with_gateway_env(
        backend,
        crate::helpers::FakeGateway::start().await,
        &[
            ("FIXLINE_SMS_RETRY_HORIZON_S", "600".into()),
            ("FIXLINE_SMS_TRIP_AFTER", "1000".into()),
        ],
    )
    .await;
    app.set_clock(MONDAY_10AM).await;
    let gw = app.gateway.as_ref().unwrap();
    gw.fail_next(1_000_000);
    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(Some("DEAD-1"))).await;
    let id = t["id"].as_str().unwrap();
    // Tries with backoff of about 2, 4, 8 and 16 s between them, then one past the horizon.
    for _ in 0..100 {
        if gw.attempts() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for step in [3, 6, 12, 24, 560] {
        app.advance(step).await;
    }
    let agent = app.login("agent").await;
    let fresh = app
        .get(&format!("/tickets/{id}"), &agent)
        .await
        .ok(200)
        .clone();
    assert_eq!(fresh["flagged"], true, "{fresh}");
    let msgs = app
        .get(&format!("/tickets/{id}/notifications"), &agent)
        .await
        .ok(200)["items"]
        .clone();
    let to_staff: Vec<&Value> = msgs
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["purpose"] == "new_ticket")
        .collect();
    assert_eq!(to_staff.len(), 2);
    for m in to_staff {
        assert_eq!(m["status"], "dead", "{m}");
        let outcomes: Vec<&str> = m["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            ["retry", "retry", "retry", "retry", "retry", "dead"],
            "{m}"
        );
    }
    let alerts: Vec<&Value> = msgs
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["purpose"] == "sms_failed")
        .collect();
    assert_eq!(
        alerts.len(),
        2,
        "one alert to the dispatcher per lost message"
    );
    assert_eq!(alerts[0]["to"], "+8613962200001");
    let ev = kinds(&events(&app, &agent, id).await);
    assert_eq!(
        ev.iter().filter(|k| *k == "notification_failed").count(),
        2,
        "{ev:?}"
    );
    assert!(gw.messages().is_empty());
    let metrics = app.call(Method::GET, "/metrics", None, None).await.text;
    assert!(
        metrics.contains(r#"fixline_sms_attempts_total{result="dead"} 2"#),
        "{metrics}"
    );
}

async fn install_deadlines_count_working_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let city = app.region_id("ZJG-C").await;
    let manager = app.login("manager").await;
    let office = json!({"promise_hours": 9, "calendar": {
        "hours": {"mon": ["08:30", "17:30"], "tue": ["08:30", "17:30"], "wed": ["08:30", "17:30"],
                  "thu": ["08:30", "17:30"], "fri": ["08:30", "17:30"]},
        "holidays": ["2026-10-01"]}});
    let put = app
        .call(
            Method::PUT,
            &format!("/regions/{city}/policies/install"),
            Some(&manager),
            Some(office),
        )
        .await;
    assert_eq!(put.ok(200)["promise_hours"], 9.0);
    let bad = json!({"promise_hours": 9, "calendar": {"hours": {"mon": ["17:30", "08:30"]}}});
    let refused = app
        .call(
            Method::PUT,
            &format!("/regions/{city}/policies/install"),
            Some(&manager),
            Some(bad),
        )
        .await;
    assert_eq!(refused.problem(422)["field"], "calendar.hours.mon");
    let tech = app.login("tech02").await;
    app.call(
        Method::PUT,
        &format!("/regions/{city}/policies/install"),
        Some(&tech),
        Some(json!({"promise_hours": 1, "calendar": null})),
    )
    .await
    .problem(403);

    // Recorded Monday 17:20, ten minutes before closing; the day shift is still on.
    app.set_clock("2026-11-23T17:20:00+08:00").await;
    let agent = app.login("agent").await;
    let mut install = fault(Some("INS-1"));
    install["kind"] = "install".into();
    let t = create(&app, &agent, install).await;
    assert_eq!(t["deadlines"]["dispatch_due_at"], "2026-11-23T09:23:00Z");
    // 20 working minutes: 10 on Monday, 10 from Tuesday 08:30.
    assert_eq!(t["deadlines"]["ack_due_at"], "2026-11-24T00:40:00Z");
    // 9 working hours: 10 minutes Monday, 8 h 50 Tuesday.
    assert_eq!(t["deadlines"]["promised_at"], "2026-11-24T09:20:00Z");
    // Repairs keep the 24/7 clock.
    let r = create(&app, &agent, fault(Some("REP-1"))).await;
    assert_eq!(r["deadlines"]["ack_due_at"], "2026-11-23T09:40:00Z");

    // Overnight nothing escalates for the installation; at Tuesday 08:41 it does.
    app.set_clock("2026-11-24T08:39:00+08:00").await;
    let agent = app.login("agent").await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/tickets/{id}"), &agent).await.ok(200)["escalation_level"],
        0
    );
    app.set_clock("2026-11-24T08:41:00+08:00").await;
    let agent = app.login("agent").await;
    assert_eq!(
        app.get(&format!("/tickets/{id}"), &agent).await.ok(200)["escalation_level"],
        1
    );
}

async fn amending_keeps_recorded_outcomes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(Some("AM-1"))).await;
    let id = t["id"].as_str().unwrap();
    app.advance(21 * 60).await; // contact is late now
    let dispatcher = app.login("dispatcher").await;
    let before = app
        .get(&format!("/tickets/{id}"), &dispatcher)
        .await
        .ok(200)
        .clone();
    assert_eq!(before["outcomes"]["contact"], "late");
    let east = app.region_id("ZJG-E").await;
    let amended = app
        .patch(
            &format!("/tickets/{id}"),
            &dispatcher,
            json!({"kind": "install", "district_code": "ZJG-E-02"}),
        )
        .await;
    let amended = amended.ok(200).clone();
    assert_eq!(amended["kind"], "install");
    assert_eq!(amended["region_id"], east.as_str());
    assert_eq!(
        amended["outcomes"], before["outcomes"],
        "outcomes survive the change"
    );
    assert_eq!(
        amended["deadlines"]["promised_at"],
        before["deadlines"]["promised_at"]
    );
    let ev = kinds(&events(&app, &dispatcher, id).await);
    assert_eq!(ev.last().unwrap(), "amended");
    let p = app
        .patch(
            &format!("/tickets/{id}"),
            &dispatcher,
            json!({"district_code": "NOPE"}),
        )
        .await;
    assert_eq!(p.problem(422)["field"], "district_code");
    let tech = app.login("tech03").await;
    app.patch(&format!("/tickets/{id}"), &tech, json!({"kind": "repair"}))
        .await
        .problem(403);
}

async fn nearest_on_duty_technician_gets_the_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    // tech05 is 150 m from the customer, tech02 in the south of the city region; the other
    // day-shift technicians have no position.
    for (name, lat, lon) in [("tech05", 31.8712, 120.5505), ("tech02", 31.805, 120.605)] {
        let token = app.login(name).await;
        let res = app
            .post(
                "/me/position",
                &token,
                json!({"lat": lat, "lon": lon, "accuracy_m": 8}),
            )
            .await;
        assert_eq!(res.status, 204, "{}", res.text);
    }
    let agent = app.login("agent").await;
    let t = create(&app, &agent, fault(None)).await;
    assert_eq!(
        username(&app, t["assignee_id"].as_str().unwrap()).await,
        "tech05"
    );
    // A customer in the south of the region: tech02 is the nearest now.
    let mut far = fault(None);
    far["location"] = json!({"lat": 31.80, "lon": 120.60});
    far["address"] = "南丰路 1 号".into();
    let t2 = create(&app, &agent, far).await;
    assert_eq!(
        username(&app, t2["assignee_id"].as_str().unwrap()).await,
        "tech02"
    );
    // GCJ-02 positions from the phone's map SDK are converted.
    let token = app.login("tech08").await;
    let res = app
        .post("/me/position", &token, json!({"lat": 91, "lon": 120.5}))
        .await;
    assert_eq!(res.problem(422)["field"], "lat");
    let res = app
        .post(
            "/me/position",
            &token,
            json!({"lat": 31.87, "lon": 120.55, "crs": "gcj02"}),
        )
        .await;
    assert_eq!(res.status, 204);
}

async fn rosters_are_managed_per_region(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.login("manager").await;
    let east = app.region_id("ZJG-E").await;
    let tech = app.login("tech03").await;
    let tech_id = app.get("/me", &tech).await.ok(200)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A weekend night shift for tech03 (an east-region technician): Saturday 22:00 to Sunday 06:00.
    let r = app
        .post(
            &format!("/regions/{east}/duty/rotations"),
            &manager,
            json!({"user_id": tech_id, "role": "technician", "weekdays": [6], "start": "22:00", "end": "06:00"}),
        )
        .await;
    let rotation = r.ok(201)["items"][0]["id"].as_str().unwrap().to_string();
    let at = |t: &str| format!("/regions/{east}/on-duty?at={}", t.replace('+', "%2B"));
    let names = |v: &Value| -> Vec<String> {
        v["on_duty"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["username"].as_str().unwrap().to_string())
            .collect()
    };
    let sunday_2am = app.get(&at("2026-11-29T02:00:00+08:00"), &manager).await;
    assert!(
        names(sunday_2am.ok(200)).contains(&"tech03".to_string()),
        "{}",
        sunday_2am.text
    );
    // The roster only takes people of the region, in their own role.
    let wrong_role = app
        .post(
            &format!("/regions/{east}/duty/rotations"),
            &manager,
            json!({"user_id": tech_id, "role": "account_manager", "weekdays": [1], "start": "08:00", "end": "20:00"}),
        )
        .await;
    assert_eq!(wrong_role.problem(422)["field"], "role");
    let bad_day = app
        .post(
            &format!("/regions/{east}/duty/rotations"),
            &manager,
            json!({"user_id": tech_id, "role": "technician", "weekdays": [8], "start": "08:00", "end": "20:00"}),
        )
        .await;
    assert_eq!(bad_day.problem(422)["field"], "weekdays");
    let west_tech = app.login("tech01").await;
    let west_id = app.get("/me", &west_tech).await.ok(200)["id"].clone();
    let other_region = app
        .post(
            &format!("/regions/{east}/duty/rotations"),
            &manager,
            json!({"user_id": west_id, "role": "technician", "weekdays": [1], "start": "08:00", "end": "20:00"}),
        )
        .await;
    assert_eq!(other_region.problem(422)["field"], "user_id");
    // Technicians cannot change rosters.
    app.post(
        &format!("/regions/{east}/duty/rotations"),
        &tech,
        json!({"user_id": tech_id, "role": "technician", "weekdays": [1], "start": "08:00", "end": "20:00"}),
    )
    .await
    .problem(403);
    assert_eq!(
        app.delete(
            &format!("/regions/{east}/duty/rotations/{rotation}"),
            &manager
        )
        .await
        .status,
        204
    );
    let again = app.get(&at("2026-11-29T02:00:00+08:00"), &manager).await;
    assert!(!names(again.ok(200)).contains(&"tech03".to_string()));
}

async fn two_instances_apply_each_step_once() {
    let first = TestApp::spawn_with_gateway(Backend::Postgres).await;
    first.set_clock(MONDAY_10AM).await;
    let second = TestApp::start(
        first._db.share(),
        Some(crate::helpers::FakeGateway::start().await),
    )
    .await;
    second.set_clock(MONDAY_10AM).await;
    let agent = first.login("agent").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create(&first, &agent, fault(Some(&format!("TWO-{i}")))).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    first.settle().await;
    second.settle().await;
    let pushed = first.gateway.as_ref().unwrap().messages().len()
        + second.gateway.as_ref().unwrap().messages().len();
    assert_eq!(pushed, 10, "each ticket pushed to its two people once");
    // Both instances reach T+21 at the same time and race for the same steps.
    let admin1 = first.login("admin").await;
    let admin2 = second.login("admin").await;
    let (a, b) = tokio::join!(
        first.call(
            Method::POST,
            "/test/clock",
            Some(&admin1),
            Some(json!({"set": "2026-11-23T10:21:00+08:00"}))
        ),
        second.call(
            Method::POST,
            "/test/clock",
            Some(&admin2),
            Some(json!({"set": "2026-11-23T10:21:00+08:00"}))
        ),
    );
    a.ok(200);
    b.ok(200);
    let agent = first.login("agent").await;
    for id in &ids {
        let ev = events(&first, &agent, id).await;
        assert_eq!(
            ev.iter().filter(|e| e["kind"] == "escalated").count(),
            1,
            "{id}"
        );
    }
    // One reminder per ticket to the account manager, whichever instance sent it.
    first.settle().await;
    second.settle().await;
    let reminders = |g: &crate::helpers::FakeGateway| {
        g.to(AM_CITY_PHONE)
            .iter()
            .filter(|m| m["text"].as_str().unwrap().contains("超时未联系"))
            .count()
    };
    let total =
        reminders(first.gateway.as_ref().unwrap()) + reminders(second.gateway.as_ref().unwrap());
    assert_eq!(total, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_apply_each_step_once() {
    two_instances_apply_each_step_once().await;
}

/// Each technician's open tickets: as kept by the database (`technician_load`), and as counted
/// from the tickets themselves.
async fn loads(app: &TestApp) -> (Vec<(String, i64)>, Vec<(String, i64)>) {
    use diesel::prelude::*;
    use fixline::db::schema::{technician_load, tickets};
    app.state
        .db
        .read(|conn| -> Result<_, fixline::db::DbError> {
            let kept: Vec<(String, i32)> = technician_load::table
                .filter(technician_load::open_tickets.ne(0))
                .select((technician_load::user_id, technician_load::open_tickets))
                .order(technician_load::user_id)
                .load(conn)?;
            let counted: Vec<(Option<String>, i64)> = tickets::table
                .filter(tickets::assignee_id.is_not_null())
                .filter(fixline::store::tickets::IsOpen)
                .group_by(tickets::assignee_id)
                .select((tickets::assignee_id, diesel::dsl::count_star()))
                .order(tickets::assignee_id)
                .load(conn)?;
            Ok((
                kept.into_iter().map(|(u, n)| (u, n as i64)).collect(),
                counted.into_iter().map(|(u, n)| (u.unwrap(), n)).collect(),
            ))
        })
        .await
        .unwrap()
}

/// The phone app's list answers exactly the technician's open tickets, most urgent first, and
/// however long their history grows, each database serves it from the index of open tickets
/// in the plan it caches for the statement.
async fn my_tickets_stay_on_the_open_tickets_index(backend: Backend) {
    use diesel::connection::SimpleConnection;
    use fixline::domain::ticket::Status;
    use fixline::store::{dialect, tickets};
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    let first = create(&app, &agent, fault(None)).await;
    let first_id = first["id"].as_str().unwrap().to_string();
    let tech = first["assignee_id"].as_str().unwrap().to_string();
    let region = first["region_id"].as_str().unwrap().to_string();
    let other = app.add_user("tech-other", "technician", &[&region]).await;
    // The push accepted: the ticket's next deadline is the contact one, 20 minutes ahead.
    app.settle().await;
    let template = {
        let id = first_id.clone();
        app.state
            .db
            .read(move |c| tickets::get(c, &id).map_err(fixline::db::DbError::from))
            .await
            .unwrap()
            .unwrap()
    };
    let deadline = template.next_deadline_at.unwrap();
    {
        let (tech, other) = (tech.clone(), other.clone());
        app.state
            .db
            .write(move |conn| -> Result<(), fixline::db::DbError> {
                let row =
                    |id: String, who: &str, status: Status, next: Option<chrono::NaiveDateTime>| {
                        let mut t = template.clone();
                        t.id = id;
                        t.external_ref = None;
                        t.assignee_id = Some(who.to_string());
                        t.status = status;
                        t.next_deadline_at = next;
                        t
                    };
                // A long history of finished tickets, and another technician's open ones.
                for i in 0..3_000 {
                    let finished = Status::FINISHED[i % Status::FINISHED.len()];
                    tickets::insert(
                        conn,
                        &row(
                            crate::helpers::fixture_id(&format!("history-{i:05}")),
                            &tech,
                            finished,
                            None,
                        ),
                    )?;
                }
                for i in 0..300 {
                    let t = row(
                        crate::helpers::fixture_id(&format!("others-{i:04}")),
                        &other,
                        Status::Dispatched,
                        Some(deadline),
                    );
                    tickets::insert(conn, &t)?;
                }
                // Open in every stage: due earlier (but not yet due, or the engine would move
                // it), due later, with no deadline running.
                let h = chrono::Duration::hours(1);
                let m = chrono::Duration::minutes(1);
                tickets::insert(
                    conn,
                    &row(
                        crate::helpers::fixture_id("mine-late"),
                        &tech,
                        Status::Postponed,
                        Some(deadline + h),
                    ),
                )?;
                tickets::insert(
                    conn,
                    &row(
                        crate::helpers::fixture_id("mine-early"),
                        &tech,
                        Status::Acknowledged,
                        Some(deadline - m),
                    ),
                )?;
                tickets::insert(
                    conn,
                    &row(
                        crate::helpers::fixture_id("mine-idle"),
                        &tech,
                        Status::OnSite,
                        None,
                    ),
                )?;
                conn.batch_execute("ANALYZE")?;
                Ok(())
            })
            .await
            .unwrap();
    }
    let token = app.login(&username(&app, &tech).await).await;
    let mine = app.get("/me/tickets", &token).await;
    let ids: Vec<&str> = mine.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let id = crate::helpers::fixture_id;
    assert_eq!(
        ids,
        [
            id("mine-early").as_str(),
            first_id.as_str(),
            id("mine-late").as_str(),
            id("mine-idle").as_str()
        ]
    );

    let plan = app
        .state
        .db
        .read(move |c| {
            dialect::cached_plan(c, &tickets::open_for_assignee_query(""), &[&tech])
                .map_err(fixline::db::DbError::from)
        })
        .await
        .unwrap();
    assert!(
        plan.contains("tickets_open_assignee_idx"),
        "{backend:?}: {plan}"
    );
    // Read in the list's order: no sort on either database.
    assert!(
        !plan.contains("Sort") && !plan.contains("TEMP B-TREE"),
        "{backend:?} sorts: {plan}"
    );
}

async fn routing_balances_open_tickets_through_every_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(MONDAY_10AM).await;
    let agent = app.login("agent").await;
    // Nobody has reported a position: ten calls go round the five day-shift technicians.
    let mut ids = Vec::new();
    for _ in 0..10 {
        let t = create(&app, &agent, fault(None)).await;
        ids.push((
            t["id"].as_str().unwrap().to_string(),
            t["assignee_id"].as_str().unwrap().to_string(),
        ));
    }
    let (kept, counted) = loads(&app).await;
    assert_eq!(kept, counted);
    assert_eq!(kept.len(), 5, "{kept:?}");
    assert!(kept.iter().all(|(_, n)| *n == 2), "{kept:?}");

    // One resolved, one cancelled, one handed to another technician.
    let (done, done_by) = ids[0].clone();
    let token = app.login(&username(&app, &done_by).await).await;
    app.post(
        &format!("/tickets/{done}/ack"),
        &token,
        json!({"appointment_at": "2026-11-23T11:00:00+08:00", "contact_note": "用户在家"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/tickets/{done}/check-in"),
        &token,
        json!({"lat": 31.8701, "lon": 120.5501}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/tickets/{done}/resolve"),
        &token,
        json!({"resolution_code": "reconnected"}),
    )
    .await
    .ok(200);
    let dispatcher = app.login("dispatcher").await;
    let (dropped, dropped_by) = ids.iter().find(|(_, by)| *by != done_by).cloned().unwrap();
    app.post(
        &format!("/tickets/{dropped}/cancel"),
        &dispatcher,
        json!({"reason": "重复报修"}),
    )
    .await
    .ok(200);
    let (moved, from) = ids
        .iter()
        .find(|(_, by)| *by != done_by && *by != dropped_by)
        .cloned()
        .unwrap();
    app.post(
        &format!("/tickets/{moved}/assign"),
        &dispatcher,
        json!({"assignee_id": done_by}),
    )
    .await
    .ok(200);

    let (kept, counted) = loads(&app).await;
    assert_eq!(kept, counted);
    let load = |who: &str| kept.iter().find(|(u, _)| u == who).map_or(0, |(_, n)| *n);
    assert_eq!(load(&done_by), 2, "one resolved, one handed over");
    assert_eq!(load(&dropped_by), 1);
    assert_eq!(load(&from), 1);
    // The next call goes to one of the two technicians with one open ticket.
    let t = create(&app, &agent, fault(None)).await;
    let to = t["assignee_id"].as_str().unwrap();
    assert!(to == dropped_by || to == from, "{to} with {}", load(to));
    let (kept, counted) = loads(&app).await;
    assert_eq!(kept, counted);
}

both!(
    each_holder_has_their_own_contact_clock,
    ticket_reaches_the_on_duty_staff,
    contact_deadline_and_escalation,
    postponement_moves_the_promise,
    illegal_transitions_are_409_with_the_state,
    technicians_see_only_their_own_tickets,
    nobody_on_duty_goes_to_the_dispatcher_queue,
    duplicate_external_ref_returns_the_first_ticket,
    racing_intakes_of_one_reference_make_one_ticket,
    concurrent_intakes_lose_nothing,
    restart_fires_an_overdue_escalation_exactly_once,
    gateway_outage_delays_but_loses_nothing,
    gateway_that_never_recovers_alerts_the_dispatcher,
    install_deadlines_count_working_time,
    amending_keeps_recorded_outcomes,
    nearest_on_duty_technician_gets_the_ticket,
    rosters_are_managed_per_region,
    routing_balances_open_tickets_through_every_change,
    my_tickets_stay_on_the_open_tickets_index,
);
