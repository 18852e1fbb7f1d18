//! The authorization matrix, generated from the spec: every operation of
//! `api-spec/openapi.yaml` is called by every kind of caller (anonymous, each API key purpose,
//! each role, the ticket's own technician and another one), and each answer must be what the
//! operation's `x-roles` and `x-api-keys` say. An operation without `x-roles` fails the test, so a
//! new route cannot be added without its row; the access table in the code must say the same.

use std::collections::BTreeSet;

use crate::both;
use crate::helpers::{Backend, TestApp};
use fixline::api::access::{self, Access};
use fixline::domain::key_purpose::KeyPurpose;
use reqwest::Method;
use serde_json::{json, Value};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
const NO_SUCH_ID: &str = "01900000-0000-7000-8000-000000000000";

/// One operation as the spec states it.
struct Operation {
    method: String,
    path: String,
    /// None for `x-roles: public`.
    roles: Option<BTreeSet<String>>,
    keys: BTreeSet<String>,
    body: Option<Value>,
}

fn names(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|v| v.iter().map(|r| r.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn operations() -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in crate::contract::spec()["paths"].as_object().unwrap() {
        for m in METHODS {
            let op = &item[m];
            if op.is_null() {
                continue;
            }
            let roles = match &op["x-roles"] {
                Value::String(s) if s == "public" => None,
                Value::Array(_) => Some(names(&op["x-roles"])),
                other => panic!("{m} {path} has no x-roles ({other:?})"),
            };
            let media = &op["requestBody"]["content"]["application/json"];
            let body = match (&op["requestBody"], &media["example"]) {
                (Value::Null, _) => None,
                (_, Value::Null) => Some(json!({})),
                (_, example) => Some(example.clone()),
            };
            out.push(Operation {
                method: m.to_uppercase(),
                path: path.clone(),
                roles,
                keys: names(&op["x-api-keys"]),
                body,
            });
        }
    }
    out
}

/// The spec's `x-roles` and `x-api-keys` say what the server's access table says.
#[test]
fn spec_roles_match_the_access_table() {
    let ops = operations();
    assert_eq!(
        ops.len(),
        access::OPERATIONS.len(),
        "operations in spec and table"
    );
    for op in &ops {
        let Some(found) = access::lookup(
            &actix_web::http::Method::from_bytes(op.method.as_bytes()).unwrap(),
            &op.path,
        ) else {
            panic!("{} {} is not in the access table", op.method, op.path);
        };
        match (found, &op.roles) {
            (Access::Public, None) => {}
            (Access::Roles(roles), Some(spec)) => {
                let table: BTreeSet<String> = roles.iter().map(|r| r.to_string()).collect();
                assert_eq!(&table, spec, "{} {}: x-roles", op.method, op.path);
                let keys: BTreeSet<String> = [KeyPurpose::Intake, KeyPurpose::Complaints]
                    .into_iter()
                    .filter(|p| table.contains("agent") && p.allows(&op.path))
                    .map(|p| p.as_str().to_string())
                    .collect();
                assert_eq!(keys, op.keys, "{} {}: x-api-keys", op.method, op.path);
            }
            (found, spec) => panic!("{} {}: table {found:?}, spec {spec:?}", op.method, op.path),
        }
    }
}

/// Who calls.
#[derive(Debug, Clone)]
enum Principal {
    Anonymous,
    Key {
        purpose: &'static str,
        key: String,
    },
    User {
        role: &'static str,
        username: String,
        own: Option<bool>,
    },
}

async fn answer(
    app: &TestApp,
    p: &Principal,
    token: Option<&str>,
    op: &Operation,
    path: &str,
) -> u16 {
    let method = Method::from_bytes(op.method.as_bytes()).unwrap();
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    match (p, token) {
        (Principal::Key { key, .. }, _) => req = req.header("x-api-key", key),
        (_, Some(t)) => req = req.bearer_auth(t),
        _ => {}
    }
    if let Some(b) = &op.body {
        req = req.json(b);
    }
    // Only the status matters; an event stream is dropped at its headers.
    req.send().await.unwrap().status().as_u16()
}

/// Every operation × every caller answers as the spec's roles say: 401 without credentials, 403
/// without the role or key purpose, anything but 401/403 with it; another technician's ticket is
/// 404 wherever technicians may act on their own.
async fn every_operation_answers_every_caller_as_the_spec_says(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock("2026-11-23T10:00:00+08:00").await;
    let admin = app.login("admin").await;
    let agent = app.login("agent").await;
    let ticket = app
        .post(
            "/tickets",
            &agent,
            json!({"kind": "repair", "external_ref": "MATRIX-1", "customer_name": "李先生",
                   "customer_phone": "13800001111", "address": "暨阳湖小区 5 幢",
                   "location": {"lat": 31.87, "lon": 120.55},
                   "fault_category": "花屏", "fault_description": "部分频道花屏"}),
        )
        .await
        .ok(201)
        .clone();
    let ticket_id = ticket["id"].as_str().unwrap().to_string();
    let region_id = ticket["region_id"].as_str().unwrap().to_string();
    let holder = app
        .username_of(ticket["assignee_id"].as_str().unwrap())
        .await;
    // Another technician of the same region: only the ticket's holder separates them.
    let users = app.get("/admin/users", &admin).await.ok(200)["items"].clone();
    let other = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["role"] == "technician"
                && u["username"] != holder.as_str()
                && u["region_ids"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(region_id))
        })
        .expect("a second technician in the region")["username"]
        .as_str()
        .unwrap()
        .to_string();
    // A photo the holder took, for the routes of one photo.
    let photo_id = {
        let (content_type, body) = crate::photos::form(&[(
            "photo",
            Some("site.jpg"),
            &fixline::domain::photo::jpeg_with_exif(None, None, None),
        )]);
        let res = app
            .client
            .post(format!("{}/tickets/{ticket_id}/photos", app.base))
            .bearer_auth(app.login(&holder).await)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        crate::helpers::read(res).await.ok(200)["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut principals = vec![Principal::Anonymous];
    for purpose in ["intake", "complaints"] {
        let key = app
            .post(
                "/admin/api-keys",
                &admin,
                json!({"name": format!("matrix {purpose}"), "purpose": purpose}),
            )
            .await
            .ok(201)["key"]
            .as_str()
            .unwrap()
            .to_string();
        principals.push(Principal::Key { purpose, key });
    }
    for (role, username, own) in [
        ("agent", "agent", None),
        ("dispatcher", "dispatcher", None),
        ("manager", "manager", None),
        ("account_manager", "am.city", None),
        ("technician", other.as_str(), Some(false)),
        ("technician", holder.as_str(), Some(true)),
        ("admin", "admin", None),
    ] {
        principals.push(Principal::User {
            role,
            username: username.to_string(),
            own,
        });
    }
    let mut tokens = std::collections::HashMap::new();
    for p in &principals {
        if let Principal::User { username, .. } = p {
            tokens.insert(username.clone(), app.login(username).await);
        }
    }

    let mut wrong = Vec::new();
    let mut calls = 0;
    for op in operations() {
        let Some(roles) = &op.roles else { continue };
        let on_ticket = op.path.starts_with("/tickets/{id}");
        let path = op
            .path
            .replace(
                "{id}",
                if on_ticket {
                    &ticket_id
                } else if op.path.starts_with("/regions/") {
                    &region_id
                } else {
                    NO_SUCH_ID
                },
            )
            .replace("{provider}", "webhook")
            .replace("{kind}", "repair")
            .replace("{month}", "2026-11")
            .replace("{rotation_id}", NO_SUCH_ID)
            .replace("{request_id}", NO_SUCH_ID)
            .replace("{photo_id}", &photo_id);
        for p in &principals {
            let token = match p {
                Principal::User { username, .. } => tokens.get(username).cloned(),
                _ => None,
            };
            let status = answer(&app, p, token.as_deref(), &op, &path).await;
            calls += 1;
            let (who, expected): (String, Box<dyn Fn(u16) -> bool>) = match p {
                Principal::Anonymous => ("anonymous".into(), Box::new(|s| s == 401)),
                Principal::Key { purpose, .. } => (
                    format!("key:{purpose}"),
                    if op.keys.contains(*purpose) {
                        Box::new(|s| s != 401 && s != 403)
                    } else {
                        Box::new(|s| s == 403)
                    },
                ),
                Principal::User {
                    role,
                    own,
                    username,
                } => {
                    let allowed = *role == "admin" || roles.contains(*role);
                    let who = format!("{role} {username}");
                    if !allowed {
                        (who, Box::new(|s| s == 403))
                    } else if *own == Some(false) && on_ticket {
                        (who, Box::new(|s| s == 404))
                    } else if *own == Some(true) && on_ticket {
                        (who, Box::new(|s| s != 401 && s != 403 && s != 404))
                    } else {
                        (who, Box::new(|s| s != 401 && s != 403))
                    }
                }
            };
            if !expected(status) {
                wrong.push(format!("{} {} as {who}: {status}", op.method, op.path));
            }
            // Signing out ends the session the next calls need.
            if op.path == "/auth/logout" {
                if let Principal::User { username, .. } = p {
                    tokens.insert(username.clone(), app.login(username).await);
                }
            }
        }
    }
    assert!(calls > 500, "only {calls} calls");
    assert!(
        wrong.is_empty(),
        "{} of {calls} answers differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

both!(every_operation_answers_every_caller_as_the_spec_says);
