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
