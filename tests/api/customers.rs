//! The customer's side: the contact card naming whoever holds the ticket, the appointment, the
//! SMS survey and its answers, opting out, quiet hours, and satisfaction by channel.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{signed_post, Answer, Backend, FakeGateway, TestApp};
use crate::scores::{at, districts, store, stored_ticket, user_id};

const MONDAY_10AM: &str = "2026-11-23T10:00:00+08:00";

async fn customer_app(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![(
        "FIXLINE_CUSTOMER_SMS",
        "contact_card,appointment,survey".to_string(),
    )];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let app = TestApp::spawn_with_gateway_env(backend, FakeGateway::start().await, &env).await;
    app.set_clock(MONDAY_10AM).await;
    app
}

/// Records a repair for the customer with `phone`; answers the ticket.
async fn report(app: &TestApp, phone: &str) -> Value {
    let agent = app.login("agent").await;
    let t = app
        .post(
            "/tickets",
            &agent,
            json!({
                "kind": "repair", "customer_name": "王女士", "customer_phone": phone,
                "address": "杨舍镇人民中路 8 号", "location": {"lat": 31.87, "lon": 120.55},
                "fault_category": "无信号", "fault_description": "电视黑屏"
            }),
        )
        .await;
    t.ok(201).clone()
}

/// The admin API's view of a user.
async fn user(app: &TestApp, id: &str) -> Value {
    let admin = app.login("admin").await;
    app.get(&format!("/admin/users/{id}"), &admin)
        .await
        .ok(200)
        .clone()
}

async fn holder(app: &TestApp, ticket_id: &str) -> Value {
    let admin = app.login("admin").await;
    let t = app.get(&format!("/tickets/{ticket_id}"), &admin).await;
    user(app, t.ok(200)["assignee_id"].as_str().unwrap()).await
}

/// Acknowledges (appointment `appointment`), then resolves, as the ticket's holder.
async fn ack(app: &TestApp, ticket_id: &str, appointment: &str) {
    let tech = app
        .login(holder(app, ticket_id).await["username"].as_str().unwrap())
        .await;
    app.post(
        &format!("/tickets/{ticket_id}/ack"),
        &tech,
        json!({"appointment_at": appointment, "contact_note": "已电话联系"}),
    )
    .await
    .ok(200);
}

async fn resolve(app: &TestApp, ticket_id: &str) {
    let tech = app
        .login(holder(app, ticket_id).await["username"].as_str().unwrap())
        .await;
    app.post(
        &format!("/tickets/{ticket_id}/resolve"),
        &tech,
        json!({"resolution_code": "fixed"}),
    )
    .await
    .ok(200);
}

/// The customer's SMS reply through the deployment's platform.
async fn reply(app: &TestApp, phone: &str, text: &str) -> Answer {
    let secret = app.gateway.as_ref().unwrap().secret.clone();
    signed_post(
        app,
        "/webhooks/sms/webhook/inbound",
        &json!({"from": phone, "text": text}),
        &secret,
        chrono::Utc::now().timestamp(),
    )
    .await
}

/// The texts the fake platform took for `phone`, in order.
fn texts(app: &TestApp, phone: &str) -> Vec<String> {
    app.gateway
        .as_ref()
        .unwrap()
        .to(phone)
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

async fn event_kinds(app: &TestApp, ticket_id: &str) -> Vec<String> {
    let admin = app.login("admin").await;
    crate::helpers::events(app, &admin, ticket_id)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The contact card names whoever holds the ticket, again after a reassignment; the customer
/// is told the appointment, then surveyed; "1 5" is counted as satisfied with a rating of 5.
async fn contact_card_appointment_and_survey(backend: Backend) {
    let app = customer_app(backend, &[]).await;
    let phone = "+8613800001111";
    let t = report(&app, phone).await;
    let id = t["id"].as_str().unwrap().to_string();
    app.settle().await;
    let first = holder(&app, &id).await;
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("【服务联系卡】"), "{}", sent[0]);
    assert!(
        sent[0].contains(first["display_name"].as_str().unwrap())
            && sent[0].contains(first["phone"].as_str().unwrap()),
        "names the holder: {}",
        sent[0]
    );
    assert!(sent[0].contains("客户经理"), "{}", sent[0]);

    // The dispatcher hands it to someone else: a new card names them.
    let other = crate::helpers::another_technician(&app, &id, first["id"].as_str().unwrap()).await;
    let dispatcher = app.login("dispatcher").await;
    app.post(
        &format!("/tickets/{id}/assign"),
        &dispatcher,
        json!({"assignee_id": other["id"]}),
    )
    .await
    .ok(200);
    app.settle().await;
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[1].contains(other["display_name"].as_str().unwrap())
            && sent[1].contains(other["phone"].as_str().unwrap())
            && !sent[1].contains(first["display_name"].as_str().unwrap()),
        "names the new holder only: {}",
        sent[1]
    );

    ack(&app, &id, "2026-11-23T14:30:00+08:00").await;
    app.settle().await;
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[2].starts_with("【上门预约】") && sent[2].contains("11-23 14:30"),
        "{}",
        sent[2]
    );
    assert!(sent[2].contains(other["display_name"].as_str().unwrap()));

    app.set_clock("2026-11-23T15:00:00+08:00").await;
    resolve(&app, &id).await;
    app.settle().await;
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent[3].starts_with("【满意度回访】"), "{}", sent[3]);

    let r = reply(&app, phone, "1 5").await;
    let r = r.ok(200);
    assert_eq!(r["result"], "survey_answered");
    assert_eq!(r["outcome"], "satisfied");
    assert_eq!(r["ticket_id"], id);
    assert_eq!(r["follow_up_id"], Value::Null);
    app.settle().await;
    assert_eq!(
        texts(&app, phone).len(),
        4,
        "nothing goes back to an answer"
    );
    // A second answer finds no open survey.
    let again = reply(&app, phone, "3").await;
    assert_eq!(again.ok(200)["result"], "unknown_sender");
    let kinds = event_kinds(&app, &id).await;
    assert!(kinds.contains(&"survey_sent".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"survey_answered".to_string()), "{kinds:?}");

    // The November report counts the answer on the SMS channel, beside no phone callback.
    let manager = app.login("manager").await;
    let report = app.get("/reports/districts?month=2026-11", &manager).await;
    let district = t["district_id"].as_str().unwrap();
    let line = report.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["district_id"] == district)
        .unwrap()
        .clone();
    assert_eq!(line["satisfaction_by_channel"]["sms"]["num"], 1);
    assert_eq!(line["satisfaction_by_channel"]["sms"]["den"], 1);
    assert_eq!(line["satisfaction_by_channel"]["phone"]["den"], 0);
    assert_eq!(line["metrics"]["satisfaction"]["den"], 1);
}

/// Garbage gets one help text, never a loop; "3" opens a follow-up and an investigation; TD
/// stops everything, queued messages included.
async fn garbage_unsatisfied_and_opt_out(backend: Backend) {
    let app = customer_app(backend, &[]).await;
    let phone = "+8613800002222";
    let t = report(&app, phone).await;
    let id = t["id"].as_str().unwrap().to_string();
    ack(&app, &id, "2026-11-23T11:00:00+08:00").await;
    app.set_clock("2026-11-23T12:00:00+08:00").await;
    resolve(&app, &id).await;
    app.settle().await;
    assert_eq!(texts(&app, phone).len(), 3, "card, appointment, survey");

    let r = reply(&app, phone, "你们什么时候来").await;
    assert_eq!(r.ok(200)["result"], "help_sent");
    app.settle().await;
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 4);
    assert!(sent[3].contains("回复1"), "{}", sent[3]);
    // An auto-reply answering the help text gets nothing more.
    for n in 1..=3 {
        let r = reply(&app, phone, &format!("本机自动回复({n})：我现在不方便接听")).await;
        assert_eq!(r.ok(200)["result"], "customer_not_understood");
    }
    app.settle().await;
    assert_eq!(texts(&app, phone).len(), 4, "one help text, no loop");

    let r = reply(&app, phone, "3 师傅没修好").await;
    let r = r.ok(200).clone();
    assert_eq!(r["result"], "survey_answered");
    assert_eq!(r["outcome"], "unsatisfied");
    let follow_up = r["follow_up_id"].as_str().unwrap().to_string();
    let dispatcher = app.login("dispatcher").await;
    let f = app.get(&format!("/tickets/{follow_up}"), &dispatcher).await;
    let f = f.ok(200).clone();
    assert_eq!(f["follow_up_of"], id);
    assert!(f["fault"]["description"]
        .as_str()
        .unwrap()
        .contains("师傅没修好"));
    let manager = app.login("manager").await;
    let complaints = app.get("/complaints", &manager).await;
    let found: Vec<Value> = complaints.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ticket_id"] == id)
        .cloned()
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["category"], "unsatisfied_survey");
    assert_eq!(found[0]["status"], "open");
    app.settle().await;
    let before_td = texts(&app, phone);
    assert_eq!(before_td.len(), 5, "a contact card for the follow-up");
    assert!(before_td[4].starts_with("【服务联系卡】"));

    // The customer opts out: one confirmation, then nothing, whatever happens to the follow-up.
    let r = reply(&app, phone, "退订").await;
    assert_eq!(r.ok(200)["result"], "opted_out");
    app.settle().await;
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 6);
    assert!(sent[5].contains("退订"), "{}", sent[5]);
    let again = reply(&app, phone, "TD").await;
    assert_eq!(again.ok(200)["result"], "opted_out");
    ack(&app, &follow_up, "2026-11-23T16:00:00+08:00").await;
    app.set_clock("2026-11-23T16:30:00+08:00").await;
    resolve(&app, &follow_up).await;
    app.settle().await;
    assert_eq!(texts(&app, phone).len(), 6, "opted out: nothing more");
    let kinds = event_kinds(&app, &follow_up).await;
    assert!(!kinds.contains(&"survey_sent".to_string()), "{kinds:?}");
    assert!(
        kinds.contains(&"customer_opted_out".to_string()),
        "{kinds:?}"
    );
    // The customer calls and asks for messages again: the agent lifts the opt-out.
    let agent = app.login("agent").await;
    let listed = app.get("/sms/opt-outs?phone=138-0000-2222", &agent).await;
    let listed = listed.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["phone"], phone);
    assert_eq!(listed[0]["text"], "退订");
    let delete = |path: &'static str| {
        let (app, agent) = (&app, agent.clone());
        async move {
            app.call(reqwest::Method::DELETE, path, Some(&agent), None)
                .await
        }
    };
    assert_eq!(delete("/sms/opt-outs/13800002222").await.status, 204);
    delete("/sms/opt-outs/13800002222").await.problem(404);
    report(&app, phone).await;
    app.settle().await;
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 7, "messages go out again");
    assert!(sent[6].starts_with("【服务联系卡】"));
}

/// A survey due in the quiet hours waits until they end; the contact card of a ticket recorded
/// at night goes at once.
async fn quiet_hours_hold_the_survey(backend: Backend) {
    let app = customer_app(backend, &[("FIXLINE_CUSTOMER_QUIET_HOURS", "21:00-08:00")]).await;
    app.set_clock("2026-11-23T21:30:00+08:00").await;
    let phone = "+8613800003333";
    let t = report(&app, phone).await;
    let id = t["id"].as_str().unwrap().to_string();
    app.settle().await;
    assert_eq!(texts(&app, phone).len(), 1, "the contact card is not held");
    ack(&app, &id, "2026-11-23T22:00:00+08:00").await;
    app.set_clock("2026-11-23T22:40:00+08:00").await;
    resolve(&app, &id).await;
    app.settle().await;
    assert_eq!(texts(&app, phone).len(), 2, "card and appointment");
    app.set_clock("2026-11-24T07:59:00+08:00").await;
    assert_eq!(texts(&app, phone).len(), 2, "still quiet at 07:59");
    app.set_clock("2026-11-24T08:00:00+08:00").await;
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent[2].starts_with("【满意度回访】"));
    // Answers are taken for 72 hours from when it went out.
    app.set_clock("2026-11-27T07:59:00+08:00").await;
    assert_eq!(
        reply(&app, phone, "2").await.ok(200)["outcome"],
        "basically_satisfied"
    );
}

/// Satisfaction by channel on a hand-made September: district A has 3 phone answers (2
/// content) and 4 SMS answers (3 content) plus one unanswered survey.
async fn satisfaction_by_channel_on_a_fixture(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ds = districts(&app).await;
    let (a, region) = ds.values().next().unwrap().clone();
    let tech = user_id(&app, "tech01").await;
    let mut tickets = Vec::new();
    let mut calls = Vec::new();
    let mut surveys = Vec::new();
    for n in 0..8 {
        let name = format!("sat-{n}");
        let created = at(&format!("2026-09-{:02}T09:00:00+08:00", n + 2));
        let t = stored_ticket(&name, &region, &a, "repair", Some(&tech), created, true);
        if n < 3 {
            let mut c = crate::scores::callback_for(&t);
            c.status = fixline::domain::callback::CallbackStatus::Done;
            c.outcome = Some(if n < 2 { "satisfied" } else { "unsatisfied" }.into());
            calls.push(c);
        } else {
            let answered = n < 7;
            let outcome = match n {
                3 => "satisfied",
                4 | 5 => "basically_satisfied",
                _ => "unsatisfied",
            };
            surveys.push(fixline::store::surveys::SurveyRow {
                id: crate::helpers::fixture_id(&format!("sv-{n}")),
                ticket_id: t.id.clone(),
                region_id: region.clone(),
                district_id: Some(a.clone()),
                technician_id: Some(tech.clone()),
                customer_phone: t.customer_phone.clone(),
                resolved_at: t.resolved_at.unwrap(),
                asked_at: t.resolved_at.unwrap(),
                answer_by: t.resolved_at.unwrap() + chrono::Duration::hours(72),
                outcome: answered.then(|| outcome.to_string()),
                rating: answered.then_some(4),
                remark: None,
                answered_at: answered.then(|| t.resolved_at.unwrap() + chrono::Duration::hours(1)),
                help_sent_at: None,
                follow_up_ticket_id: None,
                complaint_id: None,
            });
        }
        tickets.push(t);
    }
    store(&app, tickets, calls).await;
    app.state
        .db
        .write(move |conn| -> Result<(), fixline::db::DbError> {
            for s in &surveys {
                fixline::store::surveys::insert(conn, s)?;
            }
            Ok(())
        })
        .await
        .unwrap();

    let manager = app.login("manager").await;
    let report = app.get("/reports/districts?month=2026-09", &manager).await;
    let line = report.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["district_id"] == a.as_str())
        .unwrap()
        .clone();
    let by = &line["satisfaction_by_channel"];
    assert_eq!(
        (by["phone"]["num"].clone(), by["phone"]["den"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(
        (by["sms"]["num"].clone(), by["sms"]["den"].clone()),
        (json!(3), json!(4))
    );
    assert_eq!(by["sms"]["rate"], 0.75);
    let sat = &line["metrics"]["satisfaction"];
    assert_eq!(
        (sat["num"].clone(), sat["den"].clone()),
        (json!(5), json!(7))
    );
    assert_eq!(sat["rate"], 0.714286);
    let csv = app
        .call(
            reqwest::Method::GET,
            "/reports/districts?month=2026-09&format=csv",
            Some(&manager),
            None,
        )
        .await;
    let header: Vec<&str> = csv.text.lines().next().unwrap().split(',').collect();
    let code = line["code"].as_str().unwrap();
    let row: Vec<&str> = csv
        .text
        .lines()
        .find(|l| l.contains(code))
        .unwrap()
        .split(',')
        .collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        [
            "satisfaction_phone_num",
            "satisfaction_phone_den",
            "satisfaction_sms_num",
            "satisfaction_sms_den"
        ]
        .map(cell),
        ["2", "3", "3", "4"]
    );
    assert_eq!(cell("satisfaction_num"), "5");
    // The technician's line adds up the same way.
    let techs = app
        .get("/reports/technicians?month=2026-09", &manager)
        .await;
    let mine = techs.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == tech.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["satisfaction_by_channel"]["sms"]["den"], 4);

    // The drill-down lists the 7 answers, phone first, paged as one list.
    let page = |offset: u32, limit: u32| {
        format!(
            "/reports/districts/{a}/tickets?month=2026-09&metric=satisfaction&offset={offset}&limit={limit}"
        )
    };
    let all = app.get(&page(0, 50), &manager).await;
    let items = all.ok(200)["items"].as_array().unwrap().clone();
    let channels: Vec<&str> = items
        .iter()
        .map(|i| i["channel"].as_str().unwrap())
        .collect();
    assert_eq!(
        channels,
        ["phone", "phone", "phone", "sms", "sms", "sms", "sms"]
    );
    let content = items.iter().filter(|i| i["in_numerator"] == true).count();
    assert_eq!(content, 5);
    let first = app.get(&page(0, 5), &manager).await;
    assert_eq!(first.ok(200)["items"].as_array().unwrap().len(), 5);
    let rest = app.get(&page(5, 5), &manager).await;
    let rest = rest.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0]["survey_id"], items[5]["survey_id"]);
    assert_eq!(rest[1]["outcome"], "unsatisfied");
}

/// A customer asked to confirm a postponement on one ticket, then surveyed about another,
/// answers the latest question: "2" is "basically satisfied", and the postponement still waits.
/// Once the postponement check is the newer question, "1" confirms it. A landline gets nothing.
async fn a_reply_answers_the_latest_question(backend: Backend) {
    let app = customer_app(backend, &[]).await;
    let phone = "+8613800004444";
    let a = report(&app, phone).await;
    let a_id = a["id"].as_str().unwrap().to_string();
    ack(&app, &a_id, "2026-11-23T11:00:00+08:00").await;
    let tech = app
        .login(holder(&app, &a_id).await["username"].as_str().unwrap())
        .await;
    let asked = app
        .post(
            &format!("/tickets/{a_id}/postpone"),
            &tech,
            json!({"new_promised_at": "2026-11-25T10:00:00+08:00", "reason": "客户出差",
                   "customer_requested": true}),
        )
        .await;
    asked.ok(202);
    app.set_clock("2026-11-23T12:00:00+08:00").await;
    let b = report(&app, phone).await;
    let b_id = b["id"].as_str().unwrap().to_string();
    ack(&app, &b_id, "2026-11-23T12:30:00+08:00").await;
    app.set_clock("2026-11-23T13:00:00+08:00").await;
    resolve(&app, &b_id).await;
    app.settle().await;
    let r = reply(&app, phone, "2").await;
    let r = r.ok(200).clone();
    assert_eq!(r["result"], "survey_answered", "{r}");
    assert_eq!(r["ticket_id"], b_id);
    let dispatcher = app.login("dispatcher").await;
    let still = app.get(&format!("/tickets/{a_id}"), &dispatcher).await;
    assert_eq!(
        still.ok(200)["status"],
        "acknowledged",
        "the postponement still waits"
    );

    // A newer postponement check is the question "1" answers.
    let c = report(&app, phone).await;
    let c_id = c["id"].as_str().unwrap().to_string();
    ack(&app, &c_id, "2026-11-23T14:00:00+08:00").await;
    let c_tech = app
        .login(holder(&app, &c_id).await["username"].as_str().unwrap())
        .await;
    app.post(
        &format!("/tickets/{c_id}/postpone"),
        &c_tech,
        json!({"new_promised_at": "2026-11-26T10:00:00+08:00", "reason": "客户出差",
               "customer_requested": true}),
    )
    .await
    .ok(202);
    app.settle().await;
    let r = reply(&app, phone, "1").await;
    assert_eq!(r.ok(200)["result"], "postponement_confirmed");

    // A landline customer gets no SMS.
    let landline = "+8651258681234";
    let l = report(&app, landline).await;
    let l_id = l["id"].as_str().unwrap().to_string();
    ack(&app, &l_id, "2026-11-23T15:00:00+08:00").await;
    app.settle().await;
    assert_eq!(texts(&app, landline), Vec::<String>::new());
}

/// The state of the SMS platform as the dispatchers' board shows it.
async fn platform_state(app: &TestApp) -> String {
    let dispatcher = app.login("dispatcher").await;
    let board = app.get("/sms/platforms", &dispatcher).await;
    board.ok(200)["items"][0]["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The SMS platform is down from 20:40 to 23:00. A customer whose ticket was handed to another
/// technician meanwhile gets only the card naming the new holder; a survey that could not go
/// out before the quiet hours waits for them to end instead of arriving at 23:00.
async fn an_outage_sends_the_customer_only_what_still_matters(backend: Backend) {
    let app = customer_app(backend, &[("FIXLINE_CUSTOMER_QUIET_HOURS", "21:00-08:00")]).await;
    let gw = app.gateway.as_ref().unwrap();
    app.set_clock("2026-11-23T20:00:00+08:00").await;
    let a_phone = "+8613800004444";
    let a = report(&app, a_phone).await;
    let a_id = a["id"].as_str().unwrap().to_string();
    ack(&app, &a_id, "2026-11-23T20:30:00+08:00").await;
    app.settle().await;
    assert_eq!(texts(&app, a_phone).len(), 2, "card and appointment");

    // Down: the survey fails until the platform is taken out of use.
    gw.set_down(true);
    app.set_clock("2026-11-23T20:40:00+08:00").await;
    resolve(&app, &a_id).await;
    for _ in 0..8 {
        app.advance(30).await;
    }
    assert_eq!(platform_state(&app).await, "down");

    // A call while the platform is out of use, handed to another technician a minute later.
    let b_phone = "+8613800005555";
    let b = report(&app, b_phone).await;
    let b_id = b["id"].as_str().unwrap().to_string();
    app.advance(60).await;
    let first = holder(&app, &b_id).await;
    let other =
        crate::helpers::another_technician(&app, &b_id, first["id"].as_str().unwrap()).await;
    let dispatcher = app.login("dispatcher").await;
    app.post(
        &format!("/tickets/{b_id}/assign"),
        &dispatcher,
        json!({"assignee_id": other["id"]}),
    )
    .await
    .ok(200);
    app.set_clock("2026-11-23T22:59:00+08:00").await;
    assert!(
        gw.to(a_phone).len() + gw.to(b_phone).len() == 2,
        "nothing while down"
    );

    // Back at 23:00: the next probe finds it.
    gw.set_down(false);
    app.set_clock("2026-11-23T23:00:00+08:00").await;
    app.advance(30).await;
    app.advance(30).await;
    assert_eq!(platform_state(&app).await, "up");
    // Escalation may have handed it on again while nobody could be told: the card names
    // whoever holds it now, and only them.
    let now = holder(&app, &b_id).await;
    let to_b = texts(&app, b_phone);
    assert_eq!(to_b.len(), 1, "only the latest card: {to_b:?}");
    assert!(
        to_b[0].contains(now["display_name"].as_str().unwrap()),
        "{}",
        to_b[0]
    );
    let holders = [&first, &other].map(|u| u["display_name"].as_str().unwrap().to_string());
    assert!(
        holders
            .iter()
            .filter(|h| to_b[0].contains(h.as_str()))
            .count()
            <= 1,
        "{}",
        to_b[0]
    );
    assert_eq!(
        texts(&app, a_phone).len(),
        2,
        "the survey waits for the morning"
    );
    app.set_clock("2026-11-24T07:59:00+08:00").await;
    assert_eq!(texts(&app, a_phone).len(), 2, "still quiet at 07:59");
    app.set_clock("2026-11-24T08:00:00+08:00").await;
    let to_a = texts(&app, a_phone);
    assert_eq!(to_a.len(), 3, "{to_a:?}");
    assert!(to_a[2].starts_with("【满意度回访】"), "{}", to_a[2]);
}

/// The status and last error of the survey sent about `ticket_id`.
async fn survey_row(app: &TestApp, ticket_id: &str) -> (String, Option<String>) {
    use diesel::prelude::*;
    use fixline::db::schema::notifications::dsl as n;
    let ticket_id = ticket_id.to_string();
    app.state
        .db
        .read(move |conn| -> Result<_, fixline::db::DbError> {
            Ok(n::notifications
                .filter(n::ticket_id.eq(ticket_id))
                .filter(n::purpose.eq("survey"))
                .select((n::status, n::last_error))
                .first(conn)?)
        })
        .await
        .unwrap()
}

/// Waits (on wall time: a send in flight is not behind the test clock) until `ready` holds.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut ready: impl FnMut() -> F) {
    for _ in 0..1_000 {
        if ready().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("{what} did not happen");
}

/// The customer replies TD while their survey is on its way and the platform fails it: the
/// retry is dropped, and they get only the confirmation.
async fn an_opt_out_stops_a_survey_in_flight(backend: Backend) {
    let app = customer_app(backend, &[]).await;
    let gw = app.gateway.as_ref().unwrap();
    let phone = "+8613800006666";
    let t = report(&app, phone).await;
    let id = t["id"].as_str().unwrap().to_string();
    ack(&app, &id, "2026-11-23T11:00:00+08:00").await;
    app.set_clock("2026-11-23T12:00:00+08:00").await;
    assert_eq!(texts(&app, phone).len(), 2, "card and appointment");

    // The platform takes 1.5 s to fail what it is sent (the survey, and whatever else goes
    // out now); the opt-out arrives while the survey is on its way.
    gw.set_delay(std::time::Duration::from_millis(1_500));
    gw.set_down(true);
    resolve(&app, &id).await;
    until("the survey being sent", || async {
        survey_row(&app, &id).await.0 == "sending"
    })
    .await;
    assert_eq!(
        reply(&app, phone, "TD").await.ok(200)["result"],
        "opted_out"
    );
    until("the platform failing the survey", || async {
        survey_row(&app, &id).await.0 == "pending"
    })
    .await;
    gw.set_down(false);
    gw.set_delay(std::time::Duration::ZERO);

    app.advance(60).await;
    assert_eq!(
        survey_row(&app, &id).await,
        (
            "obsolete".to_string(),
            Some("the customer opted out".to_string())
        )
    );
    let sent = texts(&app, phone);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[2].contains("退订"),
        "the confirmation only: {}",
        sent[2]
    );
}

both!(
    an_opt_out_stops_a_survey_in_flight,
    an_outage_sends_the_customer_only_what_still_matters,
    a_reply_answers_the_latest_question,
    contact_card_appointment_and_survey,
    garbage_unsatisfied_and_opt_out,
    quiet_hours_hold_the_survey,
    satisfaction_by_channel_on_a_fixture,
);
