//! What the console reads beside the board: suggested technicians, the staff directory, likely
//! duplicate calls, and the console's own files with their caching and security headers.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{ticket_for, Backend, TestApp};

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["user_id"].as_str().unwrap().to_string())
        .collect()
}

async fn suggestions_follow_routing_and_mark_the_holder(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = ticket_for(&app, "SUGGEST-1").await;
    let id = t["id"].as_str().unwrap();
    let holder = t["assignee_id"].as_str().unwrap();
    let dispatcher = app.login("dispatcher").await;
    let first = app
        .get(&format!("/tickets/{id}/suggestions"), &dispatcher)
        .await;
    let first = first.ok(200).clone();
    let items = first["items"].as_array().unwrap();
    assert!(items.len() >= 2, "{first}");
    let marked: Vec<&Value> = items
        .iter()
        .filter(|s| s["holder"] == json!(true))
        .collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0]["user_id"], json!(holder));
    // Nobody has a position yet: fewest open tickets first, so the holder (1 open) is last.
    assert_eq!(ids(&first).last().unwrap(), holder);
    assert!(items.iter().all(|s| s["distance_m"].is_null()));

    // A technician who reports a position close by comes first, with the distance.
    let other = ids(&first).into_iter().rfind(|u| u != holder).unwrap();
    let name = app.username_of(&other).await;
    let phone = app.login(&name).await;
    app.post(
        "/me/position",
        &phone,
        json!({"lat": 31.8705, "lon": 120.5505}),
    )
    .await
    .ok(204);
    let after = app
        .get(&format!("/tickets/{id}/suggestions"), &dispatcher)
        .await;
    let after = after.ok(200);
    assert_eq!(after["items"][0]["user_id"], json!(other));
    let d = after["items"][0]["distance_m"].as_f64().unwrap();
    assert!((50.0..100.0).contains(&d), "{d}");

    // A technician may not ask; an account manager of another region does not see the ticket.
    let tech = app.login(&app.username_of(holder).await).await;
    app.get(&format!("/tickets/{id}/suggestions"), &tech)
        .await
        .problem(403);
    let east = app.login("am.east").await;
    app.get(&format!("/tickets/{id}/suggestions"), &east)
        .await
        .problem(404);
}

async fn the_staff_directory_is_scoped_and_knows_who_is_on_duty(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = ticket_for(&app, "STAFF-1").await;
    let holder = t["assignee_id"].as_str().unwrap().to_string();
    let city = app.region_id("ZJG-C").await;
    let am = app.login("am.city").await;
    let mine = app.get("/staff", &am).await;
    let mine = mine.ok(200).clone();
    let people = mine["items"].as_array().unwrap();
    assert!(!people.is_empty());
    assert!(
        people
            .iter()
            .all(|p| p["region_ids"].as_array().unwrap().contains(&json!(city))),
        "only the staff of the account manager's region: {mine}"
    );
    let h = people
        .iter()
        .find(|p| p["id"] == json!(holder))
        .unwrap_or_else(|| panic!("{holder} in {t} not in {mine}"));
    assert_eq!(
        h["on_duty"],
        json!(true),
        "the holder was routed as on duty"
    );
    assert_eq!(h["open_tickets"], json!(1));
    assert!(h["position"].is_null());

    let dispatcher = app.login("dispatcher").await;
    let techs = app.get("/staff?role=technician", &dispatcher).await;
    let techs = techs.ok(200).clone();
    let all = techs["items"].as_array().unwrap();
    assert!(all.len() > people.iter().filter(|p| p["role"] == "technician").count());
    assert!(all.iter().all(|p| p["role"] == "technician"));

    let name = app.username_of(&holder).await;
    let phone = app.login(&name).await;
    app.post(
        "/me/position",
        &phone,
        json!({"lat": 31.86, "lon": 120.54, "accuracy_m": 12.0}),
    )
    .await
    .ok(204);
    let again = app.get(&format!("/staff?region_id={city}"), &am).await;
    let again = again.ok(200);
    let h = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == json!(holder))
        .unwrap();
    assert_eq!(h["position"]["lat"], json!(31.86));
    assert_eq!(h["position"]["accuracy_m"], json!(12.0));

    let east = app.region_id("ZJG-E").await;
    app.get(&format!("/staff?region_id={east}"), &am)
        .await
        .problem(403);
    let bad = app.get("/staff?role=wizard", &am).await;
    assert_eq!(bad.problem(422)["field"], json!("role"));
    app.get("/staff", &phone).await.problem(403);
}

async fn duplicates_warn_of_the_same_phone_and_of_nearby_faults(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = ticket_for(&app, "DUP-1").await;
    let agent = app.login("agent").await;

    let same = app
        .get("/tickets/duplicates?customer_phone=13800001111", &agent)
        .await;
    let same = same.ok(200).clone();
    assert_eq!(same["items"].as_array().unwrap().len(), 1);
    assert_eq!(same["items"][0]["reason"], json!("same_phone"));
    assert_eq!(same["items"][0]["ticket"]["id"], first["id"]);

    // Another phone 100 m away is near; 1 km away is not (unless the radius says so).
    let near = app
        .get(
            "/tickets/duplicates?customer_phone=13911112222&lat=31.8709&lon=120.55",
            &agent,
        )
        .await;
    let near = near.ok(200).clone();
    assert_eq!(near["items"][0]["reason"], json!("near"));
    let d = near["items"][0]["distance_m"].as_f64().unwrap();
    assert!((90.0..110.0).contains(&d), "{d}");
    let far = app
        .get("/tickets/duplicates?lat=31.879&lon=120.55", &agent)
        .await;
    assert_eq!(far.ok(200)["items"], json!([]));
    let wide = app
        .get(
            "/tickets/duplicates?lat=31.879&lon=120.55&within_m=1500",
            &agent,
        )
        .await;
    assert_eq!(wide.ok(200)["items"].as_array().unwrap().len(), 1);

    // Older than the window, or no longer open: not a duplicate.
    app.advance(2 * 3600).await;
    let agent = app.login("agent").await;
    let old = app
        .get(
            "/tickets/duplicates?customer_phone=13800001111&hours=1",
            &agent,
        )
        .await;
    assert_eq!(old.ok(200)["items"], json!([]));
    let id = first["id"].as_str().unwrap();
    app.post(
        &format!("/tickets/{id}/cancel"),
        &agent,
        json!({"reason": "客户撤回"}),
    )
    .await
    .ok(200);
    let gone = app
        .get("/tickets/duplicates?customer_phone=13800001111", &agent)
        .await;
    assert_eq!(gone.ok(200)["items"], json!([]));

    for (query, field) in [
        ("", "customer_phone"),
        ("lat=31.87", "lon"),
        ("lon=120.5", "lat"),
        ("customer_phone=12", "customer_phone"),
        ("lat=95&lon=120", "lat"),
        ("customer_phone=13800001111&within_m=1", "within_m"),
        ("customer_phone=13800001111&hours=0", "hours"),
        ("lat=31.87&lon=120.55&crs=bd09x", "crs"),
    ] {
        let bad = app
            .get(&format!("/tickets/duplicates?{query}"), &agent)
            .await;
        assert_eq!(bad.problem(422)["field"], json!(field), "{query}");
    }
}

async fn the_console_is_served_with_strict_headers_and_hashed_assets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app
        .client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-cache");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let etag = h["etag"].to_str().unwrap().to_string();
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains(r#"<meta name="fixline-tz" content="Asia/Shanghai">"#));

    let again = app
        .client
        .get(format!("{}/", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // The page names its script by content hash; that name is cached for a year.
    let start = html.find("/assets/console/main.").expect("hashed main.js");
    let src = &html[start..start + html[start..].find('"').unwrap()];
    assert!(
        src.ends_with(".js") && src != "/assets/console/main.js",
        "{src}"
    );
    let js = app
        .client
        .get(format!("{}{src}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let body = js.text().await.unwrap();
    assert!(
        !body.contains("\"/assets/console/api.js\""),
        "imports are rewritten to hashed names too"
    );

    let plain = app
        .client
        .get(format!("{}/assets/console/main.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    let licence = app
        .client
        .get(format!("{}/assets/vendor/leaflet-1.9.4/LICENSE", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(licence.status(), 200);
    let missing = app
        .client
        .get(format!("{}/assets/console/nothing.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}

async fn the_board_reads_again_the_tickets_it_names(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = ticket_for(&app, "IDS-1").await;
    let b = ticket_for(&app, "IDS-2").await;
    ticket_for(&app, "IDS-3").await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let dispatcher = app.login("dispatcher").await;
    let both = app.get(&format!("/tickets?ids={a},{b}"), &dispatcher).await;
    let mut got: Vec<&str> = both.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    got.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(got, want);
    let one = app
        .get(&format!("/tickets?ids={a},no-such-ticket"), &dispatcher)
        .await;
    assert_eq!(one.ok(200)["items"].as_array().unwrap().len(), 1);
    // Another region's account manager gets nothing of them.
    let east = app.login("am.east").await;
    let none = app.get(&format!("/tickets?ids={a},{b}"), &east).await;
    assert_eq!(none.ok(200)["items"], json!([]));
    let bad = app.get("/tickets?ids=,", &dispatcher).await;
    assert_eq!(bad.problem(422)["field"], json!("ids"));
    let many = vec!["x"; 501].join(",");
    let bad = app.get(&format!("/tickets?ids={many}"), &dispatcher).await;
    assert_eq!(bad.problem(422)["field"], json!("ids"));
}

both!(
    the_board_reads_again_the_tickets_it_names,
    suggestions_follow_routing_and_mark_the_holder,
    the_staff_directory_is_scoped_and_knows_who_is_on_duty,
    duplicates_warn_of_the_same_phone_and_of_nearby_faults,
    the_console_is_served_with_strict_headers_and_hashed_assets,
);
