//! Every failure answers application/problem+json with a stable type and, for bad input, the field.

use crate::both;
use crate::helpers::{read, Backend, TestApp};
use reqwest::Method;
use serde_json::json;

async fn problems_for_bad_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;

    let p = app.call(Method::GET, "/no/such/route", None, None).await;
    assert_eq!(p.problem(404)["type"], "urn:fixline:problem:not-found");

    let p = app
        .call(Method::PUT, "/auth/login", None, Some(json!({})))
        .await;
    assert_eq!(
        p.problem(405)["type"],
        "urn:fixline:problem:method-not-allowed"
    );

    // Not JSON at all: 400. Wrong content type: 415.
    let res = app
        .client
        .post(format!("{}/auth/login", app.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        read(res).await.problem(400)["type"],
        "urn:fixline:problem:malformed-request"
    );
    let res = app
        .client
        .post(format!("{}/auth/login", app.base))
        .header("content-type", "text/plain")
        .body("username=admin")
        .send()
        .await
        .unwrap();
    read(res).await.problem(415);

    // Well-formed JSON of the wrong shape: 422 naming the field.
    let p = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "admin"})),
        )
        .await;
    assert_eq!(p.problem(422)["field"], "password");
    let p = app
        .post(
            "/admin/users",
            &admin,
            json!({"username": "x1", "display_name": "x", "role": "agent", "password": 5}),
        )
        .await;
    assert_eq!(p.problem(422)["field"], "password");
    let p = app
        .post(
            "/admin/users",
            &admin,
            json!({"username": "new.agent", "display_name": "x", "role": "chief", "password": "long enough pw", "region_ids": []}),
        )
        .await;
    assert_eq!(p.problem(422)["field"], "role");

    // Over the body limit (64 KiB in tests): 413, before the body is read.
    let big = "x".repeat(70_000);
    let res = app
        .client
        .post(format!("{}/auth/login", app.base))
        .header("content-type", "application/json")
        .body(format!("{{\"username\": \"{big}\", \"password\": \"y\"}}"))
        .send()
        .await
        .unwrap();
    read(res).await.problem(413);

    // Query parameters are parsed at the edge.
    let p = app
        .get("/districts/locate?lat=north&lon=120.5", &admin)
        .await;
    assert_eq!(p.problem(422)["field"], "lat");
    let p = app.get("/districts/locate?lon=120.5", &admin).await;
    assert_eq!(p.problem(422)["field"], "lat");
    let p = app.get("/districts/locate?lat=31.8&lon=200", &admin).await;
    assert_eq!(p.problem(422)["field"], "lon");
    let p = app
        .get("/districts/locate?lat=31.8&lon=120.5&crs=bd09", &admin)
        .await;
    assert_eq!(p.problem(422)["field"], "crs");

    // Unknown ids are 404s.
    app.get("/regions/00000000-0000-0000-0000-000000000000", &admin)
        .await
        .problem(404);
    app.get("/districts/nope", &admin).await.problem(404);
}

both!(problems_for_bad_requests);
