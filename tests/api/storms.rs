//! Cable-cut storms: many calls, one network fault. Detection, grouping, one message to the
//! staff then digests, callers told, clocks settled by the fault, restoration and "still broken".

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{signed_post, Backend, FakeGateway, TestApp};

const MONDAY_10AM: &str = "2026-11-23T10:00:00+08:00";

/// Customer phones are 1380000xxxx; staff phones are the demo city's 139xxxxxxxx. Stored and
/// sent as E.164.
fn customer(n: usize) -> String {
    format!("+861380000{n:04}")
}

pub(crate) fn call(n: usize, category: &str) -> Value {
    json!({"kind": "repair", "customer_name": format!("用户{n}"), "customer_phone": customer(n),
        "address": format!("暨阳湖小区 {} 幢", n % 40 + 1),
        "location": {"lat": 31.87 + (n % 5) as f64 * 0.0004, "lon": 120.55 + (n % 3) as f64 * 0.0004},
        "fault_category": category, "fault_description": "所有频道无信号"})
}

async fn storm_app(backend: Backend, extra: &[(&str, String)]) -> TestApp {
    let mut env = vec![("FIXLINE_STORM_CALLS", "10".to_string())];
    env.extend(extra.iter().cloned());
    let app = TestApp::spawn_with_gateway_env(backend, FakeGateway::start().await, &env).await;
    app.set_clock(MONDAY_10AM).await;
    app
}

/// Every outbox row: (purpose, recipient phone, ticket id, accepted_at).
type Outbox = Vec<(String, String, Option<String>, Option<NaiveDateTime>)>;

async fn outbox(app: &TestApp) -> Outbox {
    use diesel::prelude::*;
    use fixline::db::schema::notifications::dsl as n;
    app.state
        .db
        .read(|conn| -> Result<Outbox, fixline::db::DbError> {
            Ok(n::notifications
                .select((n::purpose, n::recipient_phone, n::ticket_id, n::accepted_at))
                .order(n::created_at)
                .load(conn)?)
        })
        .await
        .unwrap()
}

fn is_staff(phone: &str) -> bool {
    !phone.starts_with("+86138")
}

async fn open_faults(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/network-faults", token).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// 500 calls in 10 minutes in one district: one suspected fault after the tenth, confirmed by
/// the dispatcher; the staff get a handful of SMS, not 500; every caller hears of the fault
/// within 3 minutes; no ticket escalates.
async fn a_storm_becomes_one_network_fault(backend: Backend) {
    let app = storm_app(backend, &[]).await;
    let agent = app.login("agent").await;
    let dispatcher = app.login("dispatcher").await;
    let admin = app.login("admin").await;
    let mut ids = Vec::new();
    let mut called_at = HashMap::new();
    for n in 0..500 {
        let t = app.post("/tickets", &agent, call(n, "无信号")).await;
        let t = t.ok(201).clone();
        let id = t["id"].as_str().unwrap().to_string();
        called_at.insert(id.clone(), t["created_at"].as_str().unwrap().to_string());
        if n < 9 {
            assert!(
                t["network_fault_id"].is_null(),
                "call {n} is routed on its own"
            );
            assert!(open_faults(&app, &dispatcher).await.is_empty());
        } else {
            assert!(
                t["network_fault_id"].is_string(),
                "call {n} joins the fault: {t}"
            );
            assert_eq!(t["status"], if n == 9 { "dispatched" } else { "new" });
            assert!(t["next_deadline_at"].is_null(), "no clock of its own");
        }
        if n == 9 {
            let faults = open_faults(&app, &dispatcher).await;
            assert_eq!(faults.len(), 1);
            assert_eq!(faults[0]["status"], "suspected");
            assert_eq!(faults[0]["cause"], "detected");
            assert_eq!(faults[0]["calls"], 10, "the ten calls are linked");
        }
        if n == 20 {
            let id = open_faults(&app, &dispatcher).await[0]["id"]
                .as_str()
                .unwrap()
                .to_string();
            let f = app
                .post(
                    &format!("/network-faults/{id}/confirm"),
                    &dispatcher,
                    json!({}),
                )
                .await;
            assert_eq!(f.ok(200)["status"], "confirmed");
            app.post(
                &format!("/network-faults/{id}/confirm"),
                &dispatcher,
                json!({}),
            )
            .await
            .problem(409);
        }
        ids.push(id);
        // 500 calls over 10 minutes: 1.2 s apart, settled every ten calls.
        if n % 10 == 9 {
            app.post("/test/clock", &admin, json!({"advance_s": 12}))
                .await
                .ok(200);
        }
    }
    app.settle().await;

    let faults = open_faults(&app, &dispatcher).await;
    assert_eq!(faults.len(), 1, "one fault for the whole storm");
    let fault_id = faults[0]["id"].as_str().unwrap().to_string();
    assert_eq!(faults[0]["calls"], 500);
    assert!(faults[0]["pushed_at"].is_string());

    let sent = outbox(&app).await;
    let mut to_staff: HashMap<&str, Vec<&str>> = HashMap::new();
    for (purpose, phone, _, _) in &sent {
        if is_staff(phone) {
            to_staff.entry(phone).or_default().push(purpose);
        }
    }
    let fault_messages: usize = to_staff
        .values()
        .map(|p| p.iter().filter(|p| p.starts_with("fault_")).count())
        .max()
        .unwrap();
    // The suspicion, then at most one digest per 10 minutes over the storm, and the managers'
    // confirmation.
    assert!(
        (1..=3).contains(&fault_messages),
        "a handful of fault messages per person, got {fault_messages}: {to_staff:?}"
    );
    let new_ticket_messages = sent
        .iter()
        .filter(|(p, phone, _, _)| p == "new_ticket" && is_staff(phone))
        .count();
    assert!(
        new_ticket_messages <= 10 * 2,
        "only the ten calls up to the suspicion were routed one by one: {new_ticket_messages}"
    );
    let staff_total: usize = to_staff.values().map(Vec::len).sum();
    assert!(staff_total < 60, "not 500 SMS to the staff: {staff_total}");

    // Every caller told within 3 minutes of their call, by the accepted time.
    let told: HashMap<&str, NaiveDateTime> = sent
        .iter()
        .filter(|(p, _, _, _)| p == "fault_known")
        .filter_map(|(_, _, t, at)| Some((t.as_deref()?, (*at)?)))
        .collect();
    assert_eq!(told.len(), 500, "every caller told");
    let notices = sent
        .iter()
        .filter(|(p, _, _, _)| p == "fault_known")
        .count();
    assert_eq!(notices, 500, "once each");
    for id in &ids {
        let called = chrono::DateTime::parse_from_rfc3339(&called_at[id])
            .unwrap()
            .naive_utc();
        let wait = told[id.as_str()] - called;
        assert!(
            wait <= chrono::Duration::minutes(3),
            "{id} told after {wait}"
        );
    }

    // An hour later: no ticket escalated, no overdue alert about any of them.
    for _ in 0..6 {
        app.advance(600).await;
    }
    let dispatcher = app.login("dispatcher").await;
    let sent = outbox(&app).await;
    let alerts: Vec<&String> = sent
        .iter()
        .map(|(p, _, _, _)| p)
        .filter(|p| {
            [
                "ack_overdue",
                "manager_alert",
                "dispatch_overdue",
                "taken_away",
                "reassigned",
            ]
            .contains(&p.as_str())
        })
        .collect();
    assert!(alerts.is_empty(), "no per-ticket escalation: {alerts:?}");
    let detail = app
        .get(&format!("/network-faults/{fault_id}"), &dispatcher)
        .await;
    let linked = detail.ok(200)["linked"].as_array().unwrap().clone();
    assert_eq!(linked.len(), 500);
    for id in ids.iter().step_by(50) {
        let t = app.get(&format!("/tickets/{id}"), &dispatcher).await;
        let t = t.ok(200);
        assert_eq!(t["escalation_level"], 0, "{t}");
        assert_eq!(t["outcomes"]["dispatch"], "on_time", "{t}");
        assert_eq!(t["outcomes"]["contact"], "on_time", "{t}");
        assert_eq!(t["network_fault_id"], fault_id.as_str());
    }
}

async fn restore_all(app: &TestApp, dispatcher: &str, fault_id: &str) -> Value {
    app.post(
        &format!("/network-faults/{fault_id}/restore"),
        dispatcher,
        json!({}),
    )
    .await
    .ok(200)
    .clone()
}

/// Restoration resolves the linked calls against the fault's promise; a caller replying that
/// it still does not work gets an ordinary repair with its own 20-minute contact clock.
async fn restoration_resolves_and_still_broken_splits_off(backend: Backend) {
    let app = storm_app(backend, &[]).await;
    let agent = app.login("agent").await;
    let dispatcher = app.login("dispatcher").await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let t = app.post("/tickets", &agent, call(n, "无信号")).await;
        ids.push(t.ok(201)["id"].as_str().unwrap().to_string());
    }
    let fault = open_faults(&app, &dispatcher).await[0].clone();
    let fault_id = fault["id"].as_str().unwrap();
    app.post(
        &format!("/network-faults/{fault_id}/confirm"),
        &dispatcher,
        json!({}),
    )
    .await
    .ok(200);
    // The crew expects two hours; the callers hear the new time.
    let estimate = "2026-11-23T12:00:00+08:00";
    let f = app
        .post(
            &format!("/network-faults/{fault_id}/estimate"),
            &dispatcher,
            json!({"estimate_at": estimate}),
        )
        .await;
    assert_eq!(f.ok(200)["estimate_at"], "2026-11-23T04:00:00Z");

    // The crew: its lead is told and acknowledges on the fault's own clock; nobody else may.
    let first = app.get(&format!("/tickets/{}", ids[0]), &dispatcher).await;
    let lead = first.ok(200)["assignee_id"].as_str().unwrap().to_string();
    let region = fault["region_id"].as_str().unwrap();
    let staff = app.get("/staff", &dispatcher).await;
    let other = staff.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["role"] == "technician"
                && p["id"] != lead.as_str()
                && p["region_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r == region)
        })
        .unwrap()["username"]
        .as_str()
        .unwrap()
        .to_string();
    let crew = app
        .post(
            &format!("/network-faults/{fault_id}/crew"),
            &dispatcher,
            json!({"lead_id": lead}),
        )
        .await;
    let crew = crew.ok(200).clone();
    assert_eq!(crew["crew"]["lead_id"], lead.as_str());
    assert!(crew["crew"]["outcome"].is_null());
    let not_lead = app.login(&other).await;
    app.post(
        &format!("/network-faults/{fault_id}/crew/ack"),
        &not_lead,
        json!({}),
    )
    .await
    .problem(403);
    app.advance(5 * 60).await;
    let lead_token = app.login(&app.username_of(&lead).await).await;
    let acked = app
        .post(
            &format!("/network-faults/{fault_id}/crew/ack"),
            &lead_token,
            json!({}),
        )
        .await;
    assert_eq!(acked.ok(200)["crew"]["outcome"], "on_time");
    app.settle().await;
    let gw = app.gateway.as_ref().unwrap();
    let first = gw.to(&customer(0));
    assert!(
        first
            .iter()
            .any(|m| m["text"].as_str().unwrap().contains("11-23 12:00")),
        "{first:?}"
    );

    app.advance(3 * 3600).await;
    let dispatcher = app.login("dispatcher").await;
    let restored = restore_all(&app, &dispatcher, fault_id).await;
    assert_eq!(restored["tickets"], 12);
    assert_eq!(restored["fault"]["status"], "restored");
    assert_eq!(restored["fault"]["restore_on_time"], true);
    app.settle().await;
    for id in &ids {
        let t = app.get(&format!("/tickets/{id}"), &dispatcher).await;
        let t = t.ok(200);
        assert_eq!(t["status"], "resolved");
        assert_eq!(t["outcomes"]["resolve"], "on_time");
        assert_eq!(t["resolution"]["code"], "network_fault_restored");
    }
    assert!(gw
        .to(&customer(3))
        .iter()
        .any(|m| m["text"].as_str().unwrap().contains("回复1")));

    // Customer 3 still has no signal; customer 4 says it works; customer 5 writes nonsense.
    let reply = |phone: String, text: &str| {
        let body = json!({"from": phone, "text": text});
        let secret = gw.secret.clone();
        let app = &app;
        async move {
            signed_post(
                app,
                "/webhooks/sms/webhook/inbound",
                &body,
                &secret,
                chrono::Utc::now().timestamp(),
            )
            .await
        }
    };
    // The fault's own timeline, in order.
    let detail = app
        .get(&format!("/network-faults/{fault_id}"), &dispatcher)
        .await;
    let kinds: Vec<String> = detail.ok(200)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    for k in [
        "opened",
        "linked",
        "staff_told",
        "pushed",
        "confirmed",
        "estimate",
        "crew_assigned",
        "crew_acknowledged",
        "restored",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    assert_eq!(kinds[0], "opened");
    let broken = reply(customer(3), "还是不行").await;
    let broken = broken.ok(200).clone();
    assert_eq!(broken["result"], "still_broken", "{broken}");
    assert_eq!(broken["ticket_id"], ids[3].as_str());
    let split_id = broken["follow_up_id"].as_str().unwrap();
    let split = app.get(&format!("/tickets/{split_id}"), &dispatcher).await;
    let split = split.ok(200).clone();
    assert_eq!(
        split["status"], "dispatched",
        "routed as an ordinary repair"
    );
    assert!(split["network_fault_id"].is_null());
    assert_eq!(split["follow_up_of"], ids[3].as_str());
    let created =
        chrono::DateTime::parse_from_rfc3339(split["created_at"].as_str().unwrap()).unwrap();
    let ack_due =
        chrono::DateTime::parse_from_rfc3339(split["deadlines"]["ack_due_at"].as_str().unwrap())
            .unwrap();
    assert_eq!(ack_due - created, chrono::Duration::minutes(20));
    // The same reply again opens nothing more.
    let again = reply(customer(3), "1").await;
    assert_eq!(again.ok(200)["follow_up_id"], split_id);
    assert_eq!(
        reply(customer(4), "好了").await.ok(200)["result"],
        "service_confirmed"
    );
    assert_eq!(
        reply(customer(5), "几点来").await.ok(200)["result"],
        "customer_not_understood"
    );
    assert_eq!(
        reply("+8613800009999".into(), "1").await.ok(200)["result"],
        "unknown_sender"
    );
    // Its own clock runs: not contacted in 20 minutes, it escalates like any repair.
    app.advance(21 * 60).await;
    let dispatcher = app.login("dispatcher").await;
    let split = app.get(&format!("/tickets/{split_id}"), &dispatcher).await;
    assert_eq!(split.ok(200)["escalation_level"], 1);
}

/// A restoration after the fault's promise is late for every linked call.
async fn a_late_restoration_is_late_for_every_call(backend: Backend) {
    let app = storm_app(backend, &[("FIXLINE_STORM_AUTO_CONFIRM", "10".into())]).await;
    let agent = app.login("agent").await;
    let dispatcher = app.login("dispatcher").await;
    for n in 0..10 {
        app.post("/tickets", &agent, call(n, "马赛克"))
            .await
            .ok(201);
    }
    let fault = open_faults(&app, &dispatcher).await[0].clone();
    assert_eq!(
        fault["status"], "confirmed",
        "confirmed itself at ten calls"
    );
    app.advance(5 * 3600).await;
    let dispatcher = app.login("dispatcher").await;
    let restored = restore_all(&app, &dispatcher, fault["id"].as_str().unwrap()).await;
    assert_eq!(restored["fault"]["restore_on_time"], false);
    let detail = app
        .get(
            &format!("/network-faults/{}", fault["id"].as_str().unwrap()),
            &dispatcher,
        )
        .await;
    for t in detail.ok(200)["linked"].as_array().unwrap() {
        let t = app
            .get(
                &format!("/tickets/{}", t["id"].as_str().unwrap()),
                &dispatcher,
            )
            .await;
        assert_eq!(t.ok(200)["outcomes"]["resolve"], "late");
    }
}

/// A known outage opened by hand links the open calls it explains; calls of other kinds are
/// never grouped; a dismissed fault sends its calls back to ordinary routing; other regions'
/// dispatchers cannot see it.
async fn a_dispatcher_opens_and_dismisses_a_fault(backend: Backend) {
    let app = storm_app(backend, &[]).await;
    let agent = app.login("agent").await;
    let dispatcher = app.login("dispatcher").await;
    let a = app.post("/tickets", &agent, call(1, "无信号")).await;
    let a = a.ok(201).clone();
    let remote = app.post("/tickets", &agent, call(2, "遥控器坏")).await;
    let remote = remote.ok(201).clone();
    let district = a["district_id"].as_str().unwrap();

    let bad = app
        .post(
            "/network-faults",
            &dispatcher,
            json!({"cause": "detected", "title": "x", "district_id": district}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "cause");
    let bad = app
        .post(
            "/network-faults",
            &dispatcher,
            json!({"cause": "reported", "title": "x", "center": {"lat": 31.87, "lon": 120.55}}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "radius_m");
    let opened = app
        .post(
            "/network-faults",
            &dispatcher,
            json!({"cause": "reported", "title": "城东主干光缆被挖断", "district_id": district,
                   "center": {"lat": 31.87, "lon": 120.55}, "radius_m": 800}),
        )
        .await;
    let opened = opened.ok(201).clone();
    assert_eq!(opened["tickets"], 1, "only the no-signal call: {opened}");
    assert_eq!(opened["fault"]["status"], "confirmed");
    let fault_id = opened["fault"]["id"].as_str().unwrap().to_string();
    let linked = app
        .get(
            &format!("/tickets/{}", a["id"].as_str().unwrap()),
            &dispatcher,
        )
        .await;
    assert_eq!(linked.ok(200)["network_fault_id"], fault_id.as_str());
    let other = app
        .get(
            &format!("/tickets/{}", remote["id"].as_str().unwrap()),
            &dispatcher,
        )
        .await;
    assert!(other.ok(200)["network_fault_id"].is_null());

    // A new call from the area joins it at once, untouched by routing.
    let b = app.post("/tickets", &agent, call(3, "无信号")).await;
    let b = b.ok(201).clone();
    assert_eq!(b["network_fault_id"], fault_id.as_str());
    assert!(b["assignee_id"].is_null());

    // The account manager of another region sees no such fault.
    let east = app.login("am.east").await;
    let region = app
        .get(&format!("/network-faults/{fault_id}"), &dispatcher)
        .await
        .ok(200)["region_id"]
        .clone();
    if region != app.region_id("ZJG-E").await.as_str() {
        app.get(&format!("/network-faults/{fault_id}"), &east)
            .await
            .problem(404);
        assert!(open_faults(&app, &east).await.is_empty());
    }
    let tech = app.login("tech01").await;
    app.get("/network-faults", &tech).await.problem(403);

    // Unlink one; dismiss the fault: the rest go back to routing.
    let un = app
        .post(
            &format!("/network-faults/{fault_id}/unlink"),
            &dispatcher,
            json!({"ticket_ids": [a["id"]]}),
        )
        .await;
    assert_eq!(un.ok(200)["tickets"], 1, "{}", un.text);
    assert_eq!(un.ok(200)["fault"]["calls"], 1, "{}", un.text);
    let dismissed = app
        .post(
            &format!("/network-faults/{fault_id}/dismiss"),
            &dispatcher,
            json!({}),
        )
        .await;
    assert_eq!(dismissed.ok(200)["tickets"], 1);
    let b = app
        .get(
            &format!("/tickets/{}", b["id"].as_str().unwrap()),
            &dispatcher,
        )
        .await;
    let b = b.ok(200);
    assert!(b["network_fault_id"].is_null());
    assert_eq!(
        b["status"], "dispatched",
        "routed once the fault was dismissed"
    );
    assert!(b["next_deadline_at"].is_string());
    app.post(
        &format!("/network-faults/{fault_id}/restore"),
        &dispatcher,
        json!({}),
    )
    .await
    .problem(409);
    assert!(open_faults(&app, &dispatcher).await.is_empty());
    let all = app
        .get("/network-faults?status=all", &dispatcher)
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(all, 1);
}

/// Opens a known outage over `district` by hand.
async fn outage(app: &TestApp, dispatcher: &str, district: &str, title: &str) -> String {
    let f = app
        .post(
            "/network-faults",
            dispatcher,
            json!({"cause": "reported", "title": title, "district_id": district}),
        )
        .await;
    f.ok(201)["fault"]["id"].as_str().unwrap().to_string()
}

/// The monthly report counts network faults apart, checked by hand: two ordinary repairs (one
/// late) and two faults over the same district, one restored in time with three calls, one
/// late with two. The repairs' timeliness is theirs alone; each fault counts once, and the late
/// one is late for the district.
async fn the_report_counts_faults_apart(backend: Backend) {
    let app = storm_app(backend, &[]).await;
    let agent = app.login("agent").await;
    let dispatcher = app.login("dispatcher").await;
    let here = app
        .get("/districts/locate?lat=31.87&lon=120.55", &agent)
        .await;
    let here = here.ok(200)["district"].clone();
    let district = here["id"].as_str().unwrap().to_string();
    let region = here["region_id"].as_str().unwrap().to_string();
    let created = crate::scores::at("2026-11-10T10:00:00+08:00");
    crate::scores::store(
        &app,
        vec![
            crate::scores::stored_ticket("r-1", &region, &district, "repair", None, created, true),
            crate::scores::stored_ticket("r-2", &region, &district, "repair", None, created, false),
        ],
        vec![],
    )
    .await;

    let a = outage(&app, &dispatcher, &district, "主干光缆中断 A").await;
    for n in 0..3 {
        let t = app.post("/tickets", &agent, call(n, "无信号")).await;
        assert_eq!(t.ok(201)["network_fault_id"], a.as_str());
    }
    app.advance(3600).await;
    let dispatcher = app.login("dispatcher").await;
    let restored = restore_all(&app, &dispatcher, &a).await;
    assert_eq!(restored["fault"]["restore_on_time"], true);
    let agent = app.login("agent").await;
    // B covers the district and, by its circle, the region's other districts around it.
    let b = app
        .post(
            "/network-faults",
            &dispatcher,
            json!({"cause": "reported", "title": "主干光缆中断 B", "district_id": district,
                   "center": {"lat": 31.87, "lon": 120.55}, "radius_m": 50000}),
        )
        .await;
    let b = b.ok(201)["fault"]["id"].as_str().unwrap().to_string();
    for n in 3..5 {
        let t = app.post("/tickets", &agent, call(n, "花屏")).await;
        assert_eq!(t.ok(201)["network_fault_id"], b.as_str());
    }
    // One call from another district of the region: B explains it too.
    let districts = app.get("/districts", &dispatcher).await;
    let other = districts.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["region_id"] == region.as_str() && d["id"] != district.as_str())
        .unwrap()
        .clone();
    let bbox: Vec<f64> = serde_json::from_value(other["bbox"].clone()).unwrap();
    let mut far = call(5, "花屏");
    far["location"] = json!({"lat": (bbox[1] + bbox[3]) / 2.0, "lon": (bbox[0] + bbox[2]) / 2.0});
    let far = app.post("/tickets", &agent, far).await;
    let far = far.ok(201).clone();
    assert_eq!(far["network_fault_id"], b.as_str());
    let other_district = far["district_id"].as_str().unwrap().to_string();
    assert_ne!(other_district, district);
    app.advance(5 * 3600).await;
    let dispatcher = app.login("dispatcher").await;
    let restored = restore_all(&app, &dispatcher, &b).await;
    assert_eq!(restored["fault"]["restore_on_time"], false);

    let manager = app.login("manager").await;
    let report = app.get("/reports/districts?month=2026-11", &manager).await;
    let line = report.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["district_id"] == district.as_str())
        .unwrap()
        .clone();
    let repair = &line["metrics"]["repair_timeliness"];
    assert_eq!(
        (repair["num"].clone(), repair["den"].clone()),
        (json!(1), json!(2)),
        "{line}"
    );
    assert_eq!(
        line["metrics"]["dispatch"]["den"], 2,
        "linked calls count apart: {line}"
    );
    assert_eq!(
        line["network_faults"],
        json!({"faults": 2, "linked_calls": 5, "restored_on_time": 1, "restored": 2, "rate": 0.5})
    );
    let regions = app.get("/reports/regions?month=2026-11", &manager).await;
    let mine = regions.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == region.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        mine["network_faults"]["restored"], 3,
        "B counts once in each district"
    );
    // The late restoration is late for the other district too, which had one call.
    let report = app.get("/reports/districts?month=2026-11", &manager).await;
    let second = report.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["district_id"] == other_district.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        second["network_faults"],
        json!({"faults": 1, "linked_calls": 1, "restored_on_time": 0, "restored": 1, "rate": 0.0})
    );
    let csv = app
        .call(
            reqwest::Method::GET,
            "/reports/districts?month=2026-11&format=csv",
            Some(&manager),
            None,
        )
        .await;
    let code = line["code"].as_str().unwrap();
    let row = csv.text.lines().find(|l| l.contains(code)).unwrap();
    assert!(row.ends_with(",2,5,1,2"), "{row}");
    // The linked calls drew no callbacks: the SMS asked them instead.
    let callbacks = app.get("/callbacks", &manager).await;
    let called: Vec<Value> = callbacks.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ticket_id"].clone())
        .collect();
    for fault in [&a, &b] {
        let detail = app.get(&format!("/network-faults/{fault}"), &manager).await;
        for t in detail.ok(200)["linked"].as_array().unwrap() {
            assert!(!called.contains(&t["id"]), "{t} was called back");
        }
    }
}

/// A dismissed suspicion is not raised again by the same calls: only calls after the
/// dismissal count towards a new one. The dismissed calls go to technicians one by one.
async fn a_dismissed_suspicion_counts_only_later_calls(backend: Backend) {
    let app = storm_app(backend, &[]).await;
    let agent = app.login("agent").await;
    let dispatcher = app.login("dispatcher").await;
    for n in 0..10 {
        app.post("/tickets", &agent, call(n, "断网")).await.ok(201);
    }
    let fault = open_faults(&app, &dispatcher).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dismissed = app
        .post(
            &format!("/network-faults/{fault}/dismiss"),
            &dispatcher,
            json!({}),
        )
        .await;
    assert_eq!(dismissed.ok(200)["tickets"], 10);
    app.advance(60).await;
    let t = app.post("/tickets", &agent, call(10, "断网")).await;
    let t = t.ok(201).clone();
    assert!(t["network_fault_id"].is_null(), "{t}");
    assert!(t["assignee_id"].is_string(), "routed on its own");
    assert!(open_faults(&app, &dispatcher).await.is_empty());
    for n in 11..20 {
        app.post("/tickets", &agent, call(n, "断网")).await.ok(201);
    }
    let again = open_faults(&app, &dispatcher).await;
    assert_eq!(again.len(), 1, "ten calls since the dismissal");
    assert_ne!(again[0]["id"], fault.as_str());
    assert_eq!(again[0]["calls"], 10);
}

/// A region promises its own restoration time; a fault opened there is judged by it.
async fn a_region_sets_its_own_restoration_promise(backend: Backend) {
    let app = storm_app(backend, &[]).await;
    let manager = app.login("manager").await;
    let dispatcher = app.login("dispatcher").await;
    let agent = app.login("agent").await;
    let here = app
        .get("/districts/locate?lat=31.87&lon=120.55", &agent)
        .await;
    let here = here.ok(200)["district"].clone();
    let (district, region) = (
        here["id"].as_str().unwrap(),
        here["region_id"].as_str().unwrap(),
    );
    let path = format!("/regions/{region}/policies/network_fault");
    let defaults = app
        .get(&format!("/regions/{region}/policies"), &manager)
        .await;
    assert_eq!(
        defaults.ok(200)["defaults"]["network_fault"]["promise_hours"],
        4.0
    );
    let refused = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&manager),
            Some(json!({"promise_hours": 2, "calendar": {"hours": {"mon": ["08:00", "17:00"]}}})),
        )
        .await;
    assert_eq!(refused.problem(422)["field"], "calendar");
    let set = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&manager),
            Some(json!({"promise_hours": 2})),
        )
        .await;
    assert_eq!(set.ok(200)["kind"], "network_fault");
    let fault = outage(&app, &dispatcher, district, "城区机房断电").await;
    let f = app
        .get(&format!("/network-faults/{fault}"), &dispatcher)
        .await;
    let f = f.ok(200);
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(f[k].as_str().unwrap()).unwrap();
    assert_eq!(
        at("promised_at") - at("opened_at"),
        chrono::Duration::hours(2)
    );
}

/// A known outage over the demo city's west district, given to a crew led by the technician
/// an ordinary call there was routed to: (app, dispatcher's token, fault, lead).
async fn crew_given(backend: Backend) -> (TestApp, String, String, String) {
    let app = storm_app(backend, &[]).await;
    let dispatcher = app.login("dispatcher").await;
    let agent = app.login("agent").await;
    let here = app
        .get("/districts/locate?lat=31.87&lon=120.55", &agent)
        .await;
    let district = here.ok(200)["district"]["id"].as_str().unwrap().to_string();
    let fault = outage(&app, &dispatcher, &district, "主干光缆中断").await;
    let t = app.post("/tickets", &agent, call(0, "遥控器坏")).await;
    let lead = t.ok(201)["assignee_id"].as_str().unwrap().to_string();
    app.post(
        &format!("/network-faults/{fault}/crew"),
        &dispatcher,
        json!({"lead_id": lead}),
    )
    .await
    .ok(200);
    (app, dispatcher, fault, lead)
}

/// A crew that lets its 20 minutes pass is late, and the dispatchers hear of it once; a late
/// acknowledgement stays late.
async fn a_crew_that_does_not_acknowledge_is_late(backend: Backend) {
    let (app, _, fault, lead) = crew_given(backend).await;
    app.advance(21 * 60).await;
    app.advance(60).await;
    let dispatcher = app.login("dispatcher").await;
    let f = app
        .get(&format!("/network-faults/{fault}"), &dispatcher)
        .await;
    let f = f.ok(200).clone();
    assert_eq!(f["crew"]["outcome"], "late", "{f}");
    let overdue = f["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "crew_ack_overdue")
        .count();
    assert_eq!(overdue, 1, "once");
    let told = outbox(&app)
        .await
        .iter()
        .filter(|(p, _, _, _)| p == "fault_crew_overdue")
        .count();
    assert!(told >= 1, "the dispatchers are told");
    let lead_token = app.login(&app.username_of(&lead).await).await;
    let acked = app
        .post(
            &format!("/network-faults/{fault}/crew/ack"),
            &lead_token,
            json!({}),
        )
        .await;
    let acked = acked.ok(200);
    assert_eq!(acked["crew"]["outcome"], "late");
    assert!(acked["crew"]["acknowledged_at"].is_string());
}

/// The crew's lead acknowledges by replying Q to the SMS, with one bar of signal.
async fn a_crew_lead_acknowledges_by_sms(backend: Backend) {
    let (app, dispatcher, fault, lead) = crew_given(backend).await;
    app.settle().await;
    let staff = app.get("/staff", &dispatcher).await;
    let phone = staff.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == lead.as_str())
        .unwrap()["phone"]
        .as_str()
        .unwrap()
        .to_string();
    let gw = app.gateway.as_ref().unwrap();
    assert!(gw
        .to(&phone)
        .iter()
        .any(|m| m["text"].as_str().unwrap().contains("回复Q")));
    let answer = signed_post(
        &app,
        "/webhooks/sms/webhook/inbound",
        &json!({"from": phone, "text": "Q"}),
        &gw.secret,
        chrono::Utc::now().timestamp(),
    )
    .await;
    let answer = answer.ok(200).clone();
    assert_eq!(answer["result"], "crew_acknowledged", "{answer}");
    assert_eq!(answer["fault_id"], fault.as_str());
    let f = app
        .get(&format!("/network-faults/{fault}"), &dispatcher)
        .await;
    assert_eq!(f.ok(200)["crew"]["outcome"], "on_time");
}

both!(
    a_crew_lead_acknowledges_by_sms,
    a_crew_that_does_not_acknowledge_is_late,
    a_region_sets_its_own_restoration_promise,
    a_dismissed_suspicion_counts_only_later_calls,
    the_report_counts_faults_apart,
    a_storm_becomes_one_network_fault,
    restoration_resolves_and_still_broken_splits_off,
    a_late_restoration_is_late_for_every_call,
    a_dispatcher_opens_and_dismisses_a_fault,
);
