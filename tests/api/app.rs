//! The technicians' phone app in headless Chromium with a phone's screen, touch, a GPS position
//! and the network cut and restored: what a technician with one bar of signal does with it.
//! Each test saves screenshots under `target/browser/` and fails if the page logged an error it
//! did not expect.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both;
use crate::helpers::browser::{Browser, Device};
use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::scores::user_id;

/// The customer's home in the demo city's centre.
const HOME: (f64, f64) = (31.87, 120.55);

/// A call recorded at the server's now, then given to `tech` by the dispatcher (the demo's
/// technicians are on duty in the day; the server's clock here follows the browser's), its
/// push out so that its clock is the contact's.
async fn job_for(app: &TestApp, external_ref: &str, tech: &str) -> Value {
    let agent = app.login("agent").await;
    let body = json!({"kind": "repair", "external_ref": external_ref,
        "customer_name": "周女士", "customer_phone": "13800002468", "address": "暨阳湖小区 7 幢 301",
        "location": {"lat": HOME.0, "lon": HOME.1}, "fault_category": "无信号",
        "fault_description": "机顶盒无信号"});
    let t = app.post("/tickets", &agent, body).await.ok(201).clone();
    let id = t["id"].as_str().unwrap();
    let dispatcher = app.login("dispatcher").await;
    let tech_id = user_id(app, tech).await;
    let assigned = app
        .post(
            &format!("/tickets/{id}/assign"),
            &dispatcher,
            json!({"assignee_id": tech_id}),
        )
        .await
        .ok(200)
        .clone();
    app.settle().await;
    assigned
}

/// A server whose clock is the browser's (the phone's times must be believable to it).
async fn server(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    app.set_clock(&chrono::Utc::now().to_rfc3339()).await;
    app
}

async fn sign_in(app: &TestApp, b: &Browser, username: &str) {
    b.goto(&format!("{}/app/", app.base)).await;
    let user = b
        .wait_for("#signin input[name=username]", Duration::from_secs(10))
        .await;
    b.type_into(&user, username).await;
    let pass = b.find("#signin input[name=password]").await.unwrap();
    b.type_into(&pass, PASSWORD).await;
    b.type_into(&pass, "\u{E007}").await;
    b.wait_until(
        "the service worker controls the app",
        "return !!navigator.serviceWorker.controller;",
        json!([]),
        Duration::from_secs(10),
    )
    .await;
}

/// With no signal: opens the job on `card` and acknowledges it with `note`.
async fn acknowledge_offline(b: &Browser, card: &str, note: &str) {
    b.offline(true).await;
    b.wait_for("#net.off", Duration::from_secs(5)).await;
    b.click_on(card).await;
    let input = b
        .wait_for("#ack-form input[name=contact_note]", Duration::from_secs(5))
        .await;
    b.type_into(&input, note).await;
    b.click_on("#ack-form button[type=submit]").await;
}

/// The browser's log since the last look, keeping only errors and warnings that do not come
/// from the network being cut or a token refreshed (both expected in these tests).
async fn unexpected(b: &Browser) -> Vec<(String, String)> {
    b.problems()
        .await
        .into_iter()
        .filter(|(_, m)| !m.contains("ERR_INTERNET_DISCONNECTED") && !m.contains(" 401 "))
        .collect()
}

pub async fn offline_work_syncs_once_with_the_phones_times(backend: Backend) {
    let app = server(backend).await;
    let tech = "tech05";
    let job = job_for(&app, "APP-OFFLINE-1", tech).await;
    let id = job["id"].as_str().unwrap().to_string();
    let b = Browser::start(Device::Phone).await;
    b.place(&app.base, HOME.0 + 0.0002, HOME.1 + 0.0002).await;
    sign_in(&app, &b, tech).await;
    let card = format!("#jobs li[data-id='{id}']");
    b.wait_for(&card, Duration::from_secs(10)).await;
    let clock = b
        .text(&b.find(&format!("{card} .clock")).await.unwrap())
        .await;
    assert!(
        clock.starts_with("19:") || clock.starts_with("20:"),
        "{clock}"
    );
    b.screenshot("app-list").await;

    // No signal: acknowledge, check in, resolve with a photo and the customer's signature.
    acknowledge_offline(&b, &card, "已电话联系，下午上门").await;
    let check_in = b.wait_for("#check-in", Duration::from_secs(5)).await;
    b.click(&check_in).await;
    b.wait_for("#resolve-form", Duration::from_secs(10)).await;
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("site.jpg");
    std::fs::write(
        &photo,
        fixline::domain::photo::jpeg_with_exif(None, None, Some((HOME.0, HOME.1))),
    )
    .unwrap();
    let input = b.find("#photos").await.unwrap();
    b.type_into(&input, &photo.display().to_string()).await;
    let pad = b.find("#signature").await.unwrap();
    b.draw(&pad, &[(20, 60), (80, 30), (140, 90), (200, 40), (260, 80)])
        .await;
    b.screenshot("app-resolve-offline").await;
    b.click_on("#resolve-form button[type=submit]").await;
    b.wait_until(
        "four actions wait to sync",
        "const p = document.getElementById('pending'); return !!p && p.classList.contains('pending') && /4/.test(p.textContent);",
        json!([]),
        Duration::from_secs(5),
    )
    .await;
    let queued: Value = b
        .eval(
            "return new Promise(r => { const q = indexedDB.open('fixline-app'); q.onsuccess = () => {
               const all = q.result.transaction('queue').objectStore('queue').getAll();
               all.onsuccess = () => r(all.result.map(a => ({type: a.type, device_at: a.device_at, action_id: a.action_id}))); }; });",
            json!([]),
        )
        .await;
    let types: Vec<&str> = queued
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["acknowledge", "check_in", "photos", "resolve"]);
    // The list says what is waiting, in the order it will go.
    b.wait_until(
        "the list shows the four waiting actions",
        "return document.querySelectorAll('#waiting li').length === 4;",
        json!([]),
        Duration::from_secs(5),
    )
    .await;
    b.screenshot("app-queued").await;

    // Half an hour passes before the signal comes back: by then the 20-minute contact clock
    // has run out on the server, but the acknowledgement was made in time.
    app.advance(30 * 60).await;
    b.offline(false).await;
    b.wait_until(
        "everything is sent",
        "const p = document.getElementById('pending'); return !!p && p.classList.contains('synced');",
        json!([]),
        Duration::from_secs(20),
    )
    .await;
    let dispatcher = app.login("dispatcher").await;
    let t = app.get(&format!("/tickets/{id}"), &dispatcher).await;
    let t = t.ok(200).clone();
    assert_eq!(t["status"], json!("resolved"));
    assert_eq!(t["outcomes"]["contact"], json!("on_time"), "{t}");
    let events = crate::helpers::events(&app, &dispatcher, &id).await;
    let by_device = |kind: &str, n: usize| {
        let es: Vec<&Value> = events.iter().filter(|e| e["kind"] == kind).collect();
        assert_eq!(es.len(), 1, "{kind} once: {events:?}");
        let timing = &es[0]["detail"]["timing"];
        assert_eq!(timing["counted"], json!("device"), "{kind}: {timing}");
        assert_eq!(timing["device_at"], queued[n]["device_at"], "{kind}");
    };
    by_device("acknowledged", 0);
    by_device("checked_in", 1);
    by_device("resolved", 3);
    let photos = app.get(&format!("/tickets/{id}/photos"), &dispatcher).await;
    let kinds: Vec<&str> = photos.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds.contains(&"site") && kinds.contains(&"signature"));
    // Where the phone was while the job was open, buffered offline and sent with the queue.
    let track = app.get(&format!("/tickets/{id}/track"), &dispatcher).await;
    let track = track.ok(200).clone();
    let fixes: usize = track["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["fixes"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(fixes >= 1, "{track}");
    let unexpected_log = unexpected(&b).await;
    assert!(unexpected_log.is_empty(), "{unexpected_log:#?}");
    b.close().await;
}

pub async fn a_job_reassigned_while_offline_shows_the_conflict(backend: Backend) {
    let app = server(backend).await;
    let tech = "tech05";
    let job = job_for(&app, "APP-CONFLICT-1", tech).await;
    let id = job["id"].as_str().unwrap().to_string();
    let b = Browser::start(Device::Phone).await;
    b.place(&app.base, HOME.0 + 0.01, HOME.1).await;
    sign_in(&app, &b, tech).await;
    let card = format!("#jobs li[data-id='{id}']");
    b.wait_for(&card, Duration::from_secs(10)).await;

    acknowledge_offline(&b, &card, "客户说晚点再来").await;

    // Meanwhile the dispatcher gives the job to someone else.
    let dispatcher = app.login("dispatcher").await;
    let other = user_id(&app, "tech08").await;
    app.post(
        &format!("/tickets/{id}/assign"),
        &dispatcher,
        json!({"assignee_id": other}),
    )
    .await
    .ok(200);
    let before = app.get(&format!("/tickets/{id}"), &dispatcher).await;
    let before = before.ok(200).clone();

    b.offline(false).await;
    b.wait_for("#notes .note.conflict", Duration::from_secs(20))
        .await;
    let text = b.text_of("#notes .note.conflict").await;
    let name = app.get("/staff", &dispatcher).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == json!(other))
        .unwrap()["display_name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains(&name) && text.contains("改派"), "{text}");
    b.screenshot("app-conflict").await;
    let after = app.get(&format!("/tickets/{id}"), &dispatcher).await;
    let after = after.ok(200);
    assert_eq!(after["assignee_id"], json!(other));
    assert_eq!(after["status"], before["status"]);
    assert_eq!(
        after["updated_at"], before["updated_at"],
        "the server is unchanged"
    );
    b.wait_until(
        "the job leaves the list",
        "return !document.querySelector(arguments[0]);",
        json!([format!("#jobs li[data-id='{id}']")]),
        Duration::from_secs(10),
    )
    .await;

    // A new job arrives live while the app is open.
    let next = job_for(&app, "APP-LIVE-1", tech).await;
    let next_id = next["id"].as_str().unwrap();
    b.wait_for(
        &format!("#jobs li[data-id='{next_id}']"),
        Duration::from_secs(10),
    )
    .await;

    // With no network at all, the app still opens from the phone: shell and last list.
    b.offline(true).await;
    b.goto(&format!("{}/app/", app.base)).await;
    b.wait_for(
        &format!("#jobs li[data-id='{next_id}']"),
        Duration::from_secs(10),
    )
    .await;
    b.wait_for("#net.off", Duration::from_secs(5)).await;
    b.screenshot("app-offline-start").await;
    let unexpected_log = unexpected(&b).await;
    assert!(unexpected_log.is_empty(), "{unexpected_log:#?}");
    b.close().await;
}

pub async fn navigation_links_use_each_maps_datum(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let b = Browser::start(Device::Phone).await;
    b.goto(&format!("{}/app/", app.base)).await;
    b.wait_for("#signin", Duration::from_secs(10)).await;
    // The published WGS-84 / GCJ-02 pair the server's own conversion is tested against.
    let gcj = b
        .eval(
            "return import(arguments[0]).then(m => m.toGcj02(39.915, 116.404));",
            json!([format!("{}/assets/app/geo.js", app.base)]),
        )
        .await;
    let (lat, lon) = (gcj[0].as_f64().unwrap(), gcj[1].as_f64().unwrap());
    assert!((lat - 39.916_404_281_501_64).abs() < 1e-9, "{lat}");
    assert!((lon - 116.410_244_499_169_38).abs() < 1e-9, "{lon}");
    let links = b
        .eval(
            "return import(arguments[0]).then(m => m.navigationLinks(31.87, 120.55, '暨阳湖'));",
            json!([format!("{}/assets/app/geo.js", app.base)]),
        )
        .await;
    let (slat, slon) = fixline::spatial::gcj02::from_wgs84(31.87, 120.55);
    let amap = links["amap"].as_str().unwrap();
    assert!(
        amap.contains(&format!("position={slon:.6},{slat:.6}")),
        "{amap} vs {slat},{slon}"
    );
    assert!(links["baidu"]
        .as_str()
        .unwrap()
        .contains("coord_type=bd09ll"));
    b.close().await;
}

pub async fn work_queued_before_a_session_ended_is_sent_after_signing_in_again(backend: Backend) {
    let app = server(backend).await;
    let tech = "tech05";
    let job = job_for(&app, "APP-SESSION-1", tech).await;
    let id = job["id"].as_str().unwrap().to_string();
    let b = Browser::start(Device::Phone).await;
    b.place(&app.base, HOME.0, HOME.1).await;
    sign_in(&app, &b, tech).await;
    let card = format!("#jobs li[data-id='{id}']");
    b.wait_for(&card, Duration::from_secs(10)).await;
    acknowledge_offline(&b, &card, "已联系，傍晚上门").await;

    // While the phone is offline an admin gives the technician a new password: the session
    // ends, every token of it with it.
    let admin = app.login("admin").await;
    let tech_id = user_id(&app, tech).await;
    let password = "a-brand-new-secret-7";
    app.patch(
        &format!("/admin/users/{tech_id}"),
        &admin,
        json!({"password": password}),
    )
    .await
    .ok(200);
    b.offline(false).await;
    let form = b.wait_for("#signin", Duration::from_secs(20)).await;
    let waiting = b
        .eval(
            "return new Promise(r => { const q = indexedDB.open('fixline-app'); q.onsuccess = () => {
               const n = q.result.transaction('queue').objectStore('queue').count(); n.onsuccess = () => r(n.result); }; });",
            json!([]),
        )
        .await;
    assert_eq!(
        waiting,
        json!(1),
        "the acknowledgement is still on the phone"
    );
    let user = b.find("#signin input[name=username]").await.unwrap();
    b.type_into(&user, tech).await;
    let pass = b.find("#signin input[name=password]").await.unwrap();
    b.type_into(&pass, password).await;
    b.click_on("#signin button[type=submit]").await;
    drop(form);
    b.wait_until(
        "the queue is sent",
        "const p = document.getElementById('pending'); return !!p && p.classList.contains('synced');",
        json!([]),
        Duration::from_secs(20),
    )
    .await;
    let dispatcher = app.login("dispatcher").await;
    let events = crate::helpers::events(&app, &dispatcher, &id).await;
    let acks: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "acknowledged")
        .collect();
    assert_eq!(acks.len(), 1, "{events:?}");
    assert_eq!(acks[0]["detail"]["timing"]["counted"], json!("device"));
    b.close().await;
}

/// A job its technician holds that a network fault took over says so, in the list and on
/// its screen: no visit is needed, the restoration resolves it.
pub async fn a_job_taken_over_by_a_network_fault_says_so(backend: Backend) {
    let app = TestApp::spawn_with_env(backend, &[("FIXLINE_STORM_CALLS", "10".into())]).await;
    app.set_clock(&chrono::Utc::now().to_rfc3339()).await;
    let agent = app.login("agent").await;
    let mut first = Value::Null;
    for n in 0..10 {
        let t = app
            .post("/tickets", &agent, crate::storms::call(n, "无信号"))
            .await;
        let t = t.ok(201).clone();
        if n == 0 {
            first = t;
        }
    }
    let id = first["id"].as_str().unwrap();
    let dispatcher = app.login("dispatcher").await;
    let linked = app.get(&format!("/tickets/{id}"), &dispatcher).await;
    let linked = linked.ok(200).clone();
    assert!(linked["network_fault_id"].is_string(), "{linked}");
    let tech = app
        .username_of(linked["assignee_id"].as_str().unwrap())
        .await;
    let b = Browser::start(Device::Phone).await;
    sign_in(&app, &b, &tech).await;
    let card = format!("#jobs li[data-id='{id}']");
    b.wait_for(&format!("{card} .fault"), Duration::from_secs(10))
        .await;
    b.click_on(&card).await;
    b.wait_for("#fault-note", Duration::from_secs(5)).await;
    b.screenshot("app-network-fault").await;
    assert!(unexpected(&b).await.is_empty());
    b.close().await;
}

/// From the list, the visit form with its questions.
async fn open_visit_form(b: &Browser) {
    b.wait_for("#visit-open", Duration::from_secs(10)).await;
    b.click_on("#visit-open").await;
    b.wait_for(
        "#visit-questions select[name='q.signal']",
        Duration::from_secs(10),
    )
    .await;
}

/// A technician records a household visit on the phone: the questionnaire comes from the
/// server, a reported fault opens a repair, and the month's count goes up; a visit made with no
/// signal waits on the phone and is sent when the signal comes back.
pub async fn a_household_visit_from_the_phone(backend: Backend) {
    let app = server(backend).await;
    let b = Browser::start(Device::Phone).await;
    b.place(&app.base, HOME.0, HOME.1).await;
    sign_in(&app, &b, "tech05").await;
    open_visit_form(&b).await;
    let filled = b
        .eval(
            "const f = document.getElementById('visit-form');
             const set = (n, v) => { const e = f.querySelector(`[name='${n}']`); e.value = v; };
             set('customer_name', '顾大爷'); set('customer_phone', '13800003579');
             set('address', '暨阳湖小区 9 幢 102');
             set('q.signal', '2'); set('q.attitude', '5'); set('q.regime_kept', 'true');
             set('q.suggestions', '雨天信号不稳');
             const box = document.getElementById('visit-fault');
             box.checked = true; box.dispatchEvent(new Event('change'));
             set('fault.category', '信号不稳'); set('fault.description', '雨天画面卡顿');
             return f.querySelector('[name=\"fault.category\"]').required;",
            json!([]),
        )
        .await;
    assert_eq!(
        filled,
        json!(true),
        "the fault's fields open and are required"
    );
    b.screenshot("app-household-visit").await;
    b.click_on("#visit-form button[type=submit]").await;
    b.wait_until(
        "the month's count shows the visit",
        "return document.getElementById('visit-count').textContent.includes('1');",
        json!([]),
        Duration::from_secs(10),
    )
    .await;
    let month = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m")
        .to_string();
    let manager = app.login("manager").await;
    let visits = app.get(&format!("/visits?month={month}"), &manager).await;
    let items = visits.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    let v = &items[0];
    assert_eq!(v["user_id"], user_id(&app, "tech05").await.as_str());
    assert_eq!(
        v["answers"],
        json!({"signal": 2, "attitude": 5, "regime_kept": true, "suggestions": "雨天信号不稳"})
    );
    assert_eq!(v["customer"]["phone"], "+8613800003579");
    let ticket = v["ticket_id"].as_str().expect("the fault opened a repair");
    let t = app.get(&format!("/tickets/{ticket}"), &manager).await;
    assert_eq!(t.ok(200)["fault"]["category"], "信号不稳");

    // The next house has no signal: the form still opens (the questionnaire kept from before),
    // the visit waits on the phone, and goes when the signal is back.
    b.offline(true).await;
    b.eval("history.back(); return true;", json!([])).await;
    open_visit_form(&b).await;
    b.eval(
        "const f = document.getElementById('visit-form');
         const set = (n, v) => { f.querySelector(`[name='${n}']`).value = v; };
         set('customer_phone', '13800004680'); set('address', '暨阳湖小区 9 幢 202');
         set('q.signal', '4'); set('q.attitude', '4'); set('q.regime_kept', 'true');
         return true;",
        json!([]),
    )
    .await;
    b.click_on("#visit-form button[type=submit]").await;
    b.wait_until(
        "the visit waits on the phone",
        "const p = document.getElementById('pending'); return !!p && p.classList.contains('pending');",
        json!([]),
        Duration::from_secs(10),
    )
    .await;
    b.screenshot("app-household-visit-offline").await;
    let stored = || async {
        let visits = app.get(&format!("/visits?month={month}"), &manager).await;
        visits.ok(200)["items"].as_array().unwrap().clone()
    };
    assert_eq!(stored().await.len(), 1, "nothing reached the server");
    b.offline(false).await;
    b.wait_until(
        "the queue is sent",
        "const p = document.getElementById('pending'); return !!p && p.classList.contains('synced');",
        json!([]),
        Duration::from_secs(30),
    )
    .await;
    let items = stored().await;
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .any(|v| v["customer"]["phone"] == "+8613800004680"),
        "the visit made offline"
    );
    assert!(unexpected(&b).await.is_empty());
    b.close().await;
}

both!(
    a_household_visit_from_the_phone,
    a_job_taken_over_by_a_network_fault_says_so,
    work_queued_before_a_session_ended_is_sent_after_signing_in_again,
    offline_work_syncs_once_with_the_phones_times,
    a_job_reassigned_while_offline_shows_the_conflict,
    navigation_links_use_each_maps_datum,
);
