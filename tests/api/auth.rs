//! Sign-in, token lifetimes, roles and region scoping.

use crate::both;
use crate::helpers::{Backend, TestApp, PASSWORD};
use reqwest::Method;
use serde_json::json;

async fn login_and_refresh_rotation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.login_full("tech01").await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 900);
    assert_eq!(first["user"]["role"], "technician");
    let access = first["access_token"].as_str().unwrap();
    let me = app.get("/me", access).await;
    assert_eq!(me.ok(200)["username"], "tech01");
    assert_eq!(me.body["phone"], "+8613915621000");

    let r1 = first["refresh_token"].as_str().unwrap();
    let second = app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        )
        .await;
    let second = second.ok(200).clone();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "refresh rotates the token");
    app.get("/me", second["access_token"].as_str().unwrap())
        .await
        .ok(200);

    // The old token is refused, and its reuse revokes the chain: r2 dies with it.
    app.call(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": r1})),
    )
    .await
    .problem(401);
    app.call(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": r2})),
    )
    .await
    .problem(401);
    app.call(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": "made-up"})),
    )
    .await
    .problem(401);
}

async fn wrong_credentials_are_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let wrong = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "admin", "password": "nope-nope-nope"})),
        )
        .await;
    let unknown = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "nobody", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        wrong.problem(401)["detail"],
        unknown.problem(401)["detail"],
        "no hint which one was wrong"
    );
}

async fn expired_and_tampered_tokens_are_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let full = app.login_full("manager").await;
    let token = full["access_token"].as_str().unwrap().to_string();
    app.get("/regions", &token).await.ok(200);

    // Tampered: one character of the payload changed.
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut payload: Vec<char> = parts[1].chars().collect();
    payload[5] = if payload[5] == 'A' { 'B' } else { 'A' };
    parts[1] = payload.into_iter().collect();
    let tampered = parts.join(".");
    app.get("/regions", &tampered).await.problem(401);
    app.get("/regions", "not-a-jwt").await.problem(401);
    let missing = app.call(Method::GET, "/regions", None, None).await;
    missing.problem(401);

    // Expired: 15 minutes on the server's clock.
    app.advance(899).await;
    app.get("/regions", &token).await.ok(200);
    app.advance(2).await;
    app.get("/regions", &token).await.problem(401);

    // The refresh token still works, until its own 30 days are up.
    let r = full["refresh_token"].as_str().unwrap();
    let renewed = app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": r})),
        )
        .await;
    let r2 = renewed.ok(200)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.advance(30 * 86_400 + 1).await;
    app.call(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": r2})),
    )
    .await
    .problem(401);
}

async fn logout_revokes_refresh_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.login_full("dispatcher").await;
    let b = app.login_full("dispatcher").await;
    let access = a["access_token"].as_str().unwrap();
    let res = app
        .post(
            "/auth/logout",
            access,
            json!({"refresh_token": a["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status, 204);
    app.call(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": a["refresh_token"]})),
    )
    .await
    .problem(401);
    // The other sign-in survives a single logout, not a logout of everything.
    let b2 = app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": b["refresh_token"]})),
        )
        .await;
    let b2 = b2.ok(200).clone();
    // The signed-out token itself is refused; the other sign-in's fresh one signs out everywhere.
    app.get("/me", access).await.problem(401);
    let res = app
        .call(
            Method::POST,
            "/auth/logout",
            Some(b2["access_token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(res.status, 204);
    app.call(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": b2["refresh_token"]})),
    )
    .await
    .problem(401);
}

/// Every admin route, with a body that would be valid for an admin.
fn admin_requests(
    region_id: &str,
    district_id: &str,
    user_id: &str,
) -> Vec<(Method, String, Option<serde_json::Value>)> {
    vec![
        (Method::GET, "/admin/users".into(), None),
        (
            Method::POST,
            "/admin/users".into(),
            Some(
                json!({"username": "sneaky", "display_name": "s", "role": "admin", "password": "long enough pw"}),
            ),
        ),
        (Method::GET, format!("/admin/users/{user_id}"), None),
        (
            Method::PATCH,
            format!("/admin/users/{user_id}"),
            Some(json!({"role": "admin"})),
        ),
        (Method::GET, "/admin/api-keys".into(), None),
        (
            Method::POST,
            "/admin/api-keys".into(),
            Some(json!({"name": "k"})),
        ),
        (Method::DELETE, "/admin/api-keys/some-key".into(), None),
        (
            Method::POST,
            "/regions".into(),
            Some(json!({"code": "NEW", "name": "n"})),
        ),
        (
            Method::PATCH,
            format!("/regions/{region_id}"),
            Some(json!({"name": "n"})),
        ),
        (Method::DELETE, format!("/regions/{region_id}"), None),
        (
            Method::POST,
            "/districts/import".into(),
            Some(json!({"type": "FeatureCollection", "features": []})),
        ),
        (
            Method::PATCH,
            format!("/districts/{district_id}"),
            Some(json!({"name": "n"})),
        ),
        (Method::DELETE, format!("/districts/{district_id}"), None),
        (
            Method::POST,
            "/test/clock".into(),
            Some(json!({"advance_s": 1})),
        ),
    ]
}

async fn admin_routes_refuse_every_other_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let region = app.region_id("ZJG-C").await;
    let districts = app
        .get(&format!("/districts?region_id={region}"), &admin)
        .await;
    let district = districts.ok(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let me = app.get("/me", &app.login("tech02").await).await;
    let user = me.ok(200)["id"].as_str().unwrap().to_string();
    // A city-region manager and technician, so region scope is not what refuses them.
    app.add_user("mgr.city", "manager", &[&region]).await;
    for username in ["agent", "dispatcher", "tech02", "am.city", "mgr.city"] {
        let token = app.login(username).await;
        for (method, path, body) in admin_requests(&region, &district, &user) {
            let p = app.call(method.clone(), &path, Some(&token), body).await;
            assert_eq!(
                p.problem(403)["type"],
                "urn:fixline:problem:forbidden",
                "{username} {method} {path}"
            );
        }
    }
    // Nothing changed behind the refusals.
    let users = app.get("/admin/users?role=admin", &admin).await;
    assert_eq!(users.ok(200)["items"].as_array().unwrap().len(), 1);
    // And the admin may do them (spot check).
    app.post("/admin/api-keys", &admin, json!({"name": "call center"}))
        .await
        .ok(201);
}

async fn managers_see_only_their_regions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let a = app.region_id("ZJG-W").await;
    let b = app.region_id("ZJG-E").await;
    app.add_user("mgr.west", "manager", &[&a]).await;
    let token = app.login("mgr.west").await;

    let regions = app.get("/regions", &token).await;
    let codes: Vec<&str> = regions.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ZJG-W"]);
    app.get(&format!("/regions/{a}"), &token).await.ok(200);
    app.get(&format!("/regions/{b}"), &token).await.problem(403);

    let mine = app.get("/districts", &token).await;
    let mine = mine.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 4);
    assert!(mine.iter().all(|d| d["region_id"] == a.as_str()));
    app.get(&format!("/districts?region_id={b}"), &token)
        .await
        .problem(403);
    let theirs = app.get(&format!("/districts?region_id={b}"), &admin).await;
    let theirs_id = theirs.ok(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(&format!("/districts/{theirs_id}"), &token)
        .await
        .problem(403);
    let own_id = mine[0]["id"].as_str().unwrap();
    let own = app.get(&format!("/districts/{own_id}"), &token).await;
    assert_eq!(own.ok(200)["boundary"]["type"], "MultiPolygon");
}

async fn api_keys_for_integrations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let created = app
        .post("/admin/api-keys", &admin, json!({"name": "call center"}))
        .await;
    let created = created.ok(201).clone();
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("fxk_"));
    let listed = app.get("/admin/api-keys", &admin).await;
    assert!(
        listed.ok(200)["items"][0].get("key").is_none(),
        "the key is shown once only"
    );

    let locate = |key: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .get(format!(
                    "{}/districts/locate?lat=31.87&lon=120.55",
                    app.base
                ))
                .header("x-api-key", key)
                .send()
                .await
                .unwrap();
            crate::helpers::read(res).await
        }
    };
    assert_eq!(
        locate(key.to_string()).await.ok(200)["district"]["code"],
        "ZJG-C-02"
    );
    locate("fxk_00000000_forged".into()).await.problem(401);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/admin/api-keys/{id}"), &admin)
            .await
            .status,
        204
    );
    locate(key.to_string()).await.problem(401);
    app.delete("/admin/api-keys/unknown", &admin)
        .await
        .problem(404);
}

async fn admin_manages_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let region = app.region_id("ZJG-E").await;
    let body = json!({"username": "tech.new", "display_name": "新师傅", "role": "technician",
                      "password": PASSWORD, "phone": "139-1562-9999", "region_ids": [region]});
    let created = app.post("/admin/users", &admin, body.clone()).await;
    let created = created.ok(201).clone();
    assert_eq!(created["phone"], "+8613915629999");
    assert_eq!(created["region_ids"], json!([region]));
    let dup = app.post("/admin/users", &admin, body).await;
    assert_eq!(dup.problem(409)["field"], "username");

    let no_region = app
        .post("/admin/users", &admin, json!({"username": "t2", "display_name": "t", "role": "technician", "password": PASSWORD}))
        .await;
    assert_eq!(no_region.problem(422)["field"], "region_ids");
    let bad_region = app
        .post(
            "/admin/users",
            &admin,
            json!({"username": "t3", "display_name": "t", "role": "technician", "password": PASSWORD, "region_ids": ["nowhere"]}),
        )
        .await;
    assert_eq!(bad_region.problem(422)["field"], "region_ids");
    let bad_phone = app
        .post(
            "/admin/users",
            &admin,
            json!({"username": "t4", "display_name": "t", "role": "technician", "password": PASSWORD, "phone": "12345", "region_ids": [region]}),
        )
        .await;
    assert_eq!(bad_phone.problem(422)["field"], "phone");

    // Deactivating signs the user out for good.
    let session = app.login_full("tech.new").await;
    let id = created["id"].as_str().unwrap();
    let patched = app
        .patch(
            &format!("/admin/users/{id}"),
            &admin,
            json!({"active": false}),
        )
        .await;
    assert_eq!(patched.ok(200)["active"], false);
    app.call(
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"username": "tech.new", "password": PASSWORD})),
    )
    .await
    .problem(401);
    app.call(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": session["refresh_token"]})),
    )
    .await
    .problem(401);
    let techs = app
        .get(
            &format!("/admin/users?role=technician&region_id={region}"),
            &admin,
        )
        .await;
    assert_eq!(techs.ok(200)["items"].as_array().unwrap().len(), 11);
}

both!(
    login_and_refresh_rotation,
    wrong_credentials_are_401,
    expired_and_tampered_tokens_are_401,
    logout_revokes_refresh_tokens,
    admin_routes_refuse_every_other_role,
    managers_see_only_their_regions,
    api_keys_for_integrations,
    admin_manages_users,
);

/// Two instances on one PostgreSQL: an API key revoked through one stops working on the other
/// within `RECHECK`, although the other had just accepted it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_instance_stops_working_on_the_other() {
    let first = TestApp::spawn(Backend::Postgres).await;
    let second = TestApp::start(first._db.share(), None).await;
    let admin = first.login("admin").await;
    let created = first
        .post("/admin/api-keys", &admin, json!({"name": "call center"}))
        .await;
    let created = created.ok(201).clone();
    let key = created["key"].as_str().unwrap().to_string();
    let locate = |app: &TestApp| {
        let req = app
            .client
            .get(format!(
                "{}/districts/locate?lat=31.87&lon=120.55",
                app.base
            ))
            .header("x-api-key", key.clone());
        async move { crate::helpers::read(req.send().await.unwrap()).await }
    };
    locate(&second).await.ok(200);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        first
            .delete(&format!("/admin/api-keys/{id}"), &admin)
            .await
            .status,
        204
    );
    locate(&first).await.problem(401);
    let recheck = fixline::api::recheck::RECHECK;
    let revoked = std::time::Instant::now();
    loop {
        let answer = locate(&second).await;
        if answer.status == 401 {
            break;
        }
        answer.ok(200);
        assert!(
            revoked.elapsed() < recheck + std::time::Duration::from_millis(500),
            "the other instance still accepts the revoked key"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
