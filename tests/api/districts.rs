//! GeoJSON import, point location (WGS-84 and GCJ-02), region administration.

use crate::both;
use crate::helpers::{Backend, TestApp};
use serde_json::{json, Value};

fn square(code: &str, region: &str, lon0: f64, lat0: f64, size: f64) -> Value {
    json!({"type": "Feature",
    "properties": {"code": code, "name": format!("测试网格 {code}"), "region": region, "region_name": "测试片区"},
    "geometry": {"type": "Polygon", "coordinates": [[
        [lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]
    ]]}})
}

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

/// A and B share the meridian 121.05 between 32.50 and 32.55 N.
async fn import_two(app: &TestApp, admin: &str) {
    let fc = collection(vec![
        square("T-A", "TEST", 121.00, 32.50, 0.05),
        square("T-B", "TEST", 121.05, 32.50, 0.05),
    ]);
    let summary = app.post("/districts/import", admin, fc).await;
    assert_eq!(
        summary.ok(200)["created"],
        json!(["T-A", "T-B"]),
        "{}",
        summary.text
    );
    assert_eq!(summary.body["regions_created"], json!(["TEST"]));
}

async fn count_districts(app: &TestApp, admin: &str) -> usize {
    app.get("/districts", admin).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn locate_inside_on_border_and_outside(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    import_two(&app, &admin).await;
    let agent = app.login("agent").await;

    let inside = app
        .get("/districts/locate?lat=32.52&lon=121.02", &agent)
        .await;
    assert_eq!(inside.ok(200)["district"]["code"], "T-A");
    assert_eq!(inside.body["on_border"], false);
    let inside_b = app
        .get("/districts/locate?lat=32.53&lon=121.09&crs=wgs84", &agent)
        .await;
    assert_eq!(inside_b.ok(200)["district"]["code"], "T-B");

    // On the shared border: the smaller code, with the neighbour named.
    let border = app
        .get("/districts/locate?lat=32.52&lon=121.05", &agent)
        .await;
    assert_eq!(border.ok(200)["district"]["code"], "T-A");
    assert_eq!(border.body["on_border"], true);
    assert_eq!(border.body["also"][0]["code"], "T-B");

    // Outside: 404 with the nearest district and its distance (0.05° of latitude ≈ 5,560 m).
    let outside = app
        .get("/districts/locate?lat=32.45&lon=121.02", &agent)
        .await;
    let p = outside.problem(404);
    assert_eq!(p["nearest"]["code"], "T-A");
    let d = p["distance_m"].as_f64().unwrap();
    assert!((d - 5_559.0).abs() < 10.0, "{d}");

    // The demo city is still found.
    let demo = app
        .get("/districts/locate?lat=31.87&lon=120.55", &agent)
        .await;
    assert_eq!(demo.ok(200)["district"]["code"], "ZJG-C-02");
}

async fn gcj02_points_are_converted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    import_two(&app, &admin).await;
    // A WGS-84 point in A, 280 m west of the border with B. Its GCJ-02 coordinates, read as if they
    // were WGS-84, would fall in B: the offset here is several hundred metres east.
    let (lat, lon) = (32.52, 121.047);
    let (glat, glon) = fixline::spatial::gcj02::from_wgs84(lat, lon);
    let naive = app
        .get(&format!("/districts/locate?lat={glat}&lon={glon}"), &admin)
        .await;
    assert_eq!(
        naive.ok(200)["district"]["code"],
        "T-B",
        "the test point must straddle the border"
    );
    let converted = app
        .get(
            &format!("/districts/locate?lat={glat}&lon={glon}&crs=gcj02"),
            &admin,
        )
        .await;
    assert_eq!(converted.ok(200)["district"]["code"], "T-A");
    let p = &converted.body["point"];
    assert!(
        (p["lat"].as_f64().unwrap() - lat).abs() < 1e-7
            && (p["lon"].as_f64().unwrap() - lon).abs() < 1e-7
    );
}

async fn invalid_import_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let before = count_districts(&app, &admin).await;
    let regions_before = app.get("/regions", &admin).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .len();

    let bowtie = json!({"type": "Feature",
        "properties": {"code": "T-BOW", "name": "蝴蝶", "region": "TEST2"},
        "geometry": {"type": "Polygon", "coordinates": [[[121.0, 32.0], [121.1, 32.1], [121.1, 32.0], [121.0, 32.1], [121.0, 32.0]]]}});
    let fc = collection(vec![square("T-OK", "TEST2", 121.2, 32.0, 0.05), bowtie]);
    let p = app.post("/districts/import", &admin, fc).await;
    let p = p.problem(422);
    assert_eq!(p["field"], "features[1].geometry");
    assert!(p["detail"].as_str().unwrap().contains("T-BOW"), "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("self-intersection"),
        "{p}"
    );

    assert_eq!(
        count_districts(&app, &admin).await,
        before,
        "no district written"
    );
    assert_eq!(
        app.get("/regions", &admin).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        regions_before,
        "no region written"
    );
    app.get("/districts/locate?lat=32.02&lon=121.22", &admin)
        .await
        .problem(404);

    // Duplicates within the file and against the database.
    let dup = collection(vec![
        square("T-X", "TEST2", 121.2, 32.0, 0.05),
        square("T-X", "TEST2", 121.3, 32.0, 0.05),
    ]);
    assert_eq!(
        app.post("/districts/import", &admin, dup)
            .await
            .problem(422)["field"],
        "features[1].properties.code"
    );
    let existing = collection(vec![square("ZJG-C-01", "ZJG-C", 121.2, 32.0, 0.05)]);
    assert_eq!(
        app.post("/districts/import", &admin, existing.clone())
            .await
            .problem(422)["field"],
        "features[0].properties.code"
    );
    assert_eq!(count_districts(&app, &admin).await, before);

    // With replace=true the boundary moves, and location follows at once.
    let replaced = app
        .post("/districts/import?replace=true", &admin, existing)
        .await;
    assert_eq!(replaced.ok(200)["replaced"], json!(["ZJG-C-01"]));
    let moved = app
        .get("/districts/locate?lat=32.02&lon=121.22", &admin)
        .await;
    assert_eq!(moved.ok(200)["district"]["code"], "ZJG-C-01");
    assert_eq!(count_districts(&app, &admin).await, before);
}

async fn regions_and_districts_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let created = app
        .post(
            "/regions",
            &admin,
            json!({"code": "ZJG-N", "name": "北部片区"}),
        )
        .await;
    let id = created.ok(201)["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.post(
            "/regions",
            &admin,
            json!({"code": "ZJG-N", "name": "again"})
        )
        .await
        .problem(409)["field"],
        "code"
    );
    assert_eq!(
        app.post("/regions", &admin, json!({"code": "北", "name": "x"}))
            .await
            .problem(422)["field"],
        "code"
    );
    let renamed = app
        .patch(
            &format!("/regions/{id}"),
            &admin,
            json!({"name": "沿江片区"}),
        )
        .await;
    assert_eq!(renamed.ok(200)["name"], "沿江片区");

    // A district moves into the new region and gets a leader; its old region keeps the rest.
    let city = app.region_id("ZJG-C").await;
    let list = app
        .get(&format!("/districts?region_id={city}"), &admin)
        .await;
    let district = list.ok(200)["items"][0].clone();
    let did = district["id"].as_str().unwrap();
    let leader = app.get("/me", &app.login("tech05").await).await.ok(200)["id"].clone();
    let moved = app
        .patch(
            &format!("/districts/{did}"),
            &admin,
            json!({"region_id": id, "leader_user_id": leader}),
        )
        .await;
    assert_eq!(moved.ok(200)["region_id"], id.as_str());
    assert_eq!(moved.body["leader_user_id"], leader);
    assert_eq!(
        app.patch(
            &format!("/districts/{did}"),
            &admin,
            json!({"leader_user_id": "ghost"})
        )
        .await
        .problem(422)["field"],
        "leader_user_id"
    );

    // A region with districts cannot be deleted; an empty one can.
    app.delete(&format!("/regions/{id}"), &admin)
        .await
        .problem(409);
    assert_eq!(
        app.delete(&format!("/districts/{did}"), &admin)
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete(&format!("/regions/{id}"), &admin).await.status,
        204
    );
    app.get(&format!("/regions/{id}"), &admin)
        .await
        .problem(404);
    app.delete(&format!("/districts/{did}"), &admin)
        .await
        .problem(404);
}

both!(
    locate_inside_on_border_and_outside,
    gcj02_points_are_converted,
    invalid_import_changes_nothing,
    regions_and_districts_admin,
);
