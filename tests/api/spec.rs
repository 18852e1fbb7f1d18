//! `api-spec/openapi.yaml` is the contract: the routes the server mounts and the routes the spec
//! describes are the same set, and each answers on a live server.

use std::collections::BTreeSet;

use crate::both;
use crate::helpers::{Backend, TestApp};
use reqwest::Method;
use yaml_rust2::{Yaml, YamlLoader};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn spec() -> Yaml {
    let text = std::fs::read_to_string(format!(
        "{}/api-spec/openapi.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn spec_routes() -> BTreeSet<(String, String)> {
    let doc = spec();
    let paths = doc["paths"].as_hash().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().unwrap();
        for m in METHODS {
            if !item[m].is_badvalue() {
                out.insert((m.to_uppercase(), path.to_string()));
            }
        }
    }
    out
}

/// The routes mounted in `src/api`: every `resource("PATH")` and the `web::METHOD()` routes chained
/// to it. `configure` functions are the only place routes are mounted.
fn mounted_routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let dir = format!("{}/src/api", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for chunk in text.split("resource(\"").skip(1) {
            let path = chunk.split('"').next().unwrap();
            // The routes of this resource: up to the next resource, or the end of the statement.
            let body = chunk.split(';').next().unwrap();
            let body = body.split(".service(").next().unwrap();
            for m in METHODS {
                if body.contains(&format!("web::{m}()")) {
                    out.insert((m.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn spec_and_mounted_routes_agree() {
    let mounted = mounted_routes();
    let spec = spec_routes();
    assert!(mounted.len() > 20, "{mounted:?}");
    let missing: Vec<_> = mounted.difference(&spec).collect();
    let extra: Vec<_> = spec.difference(&mounted).collect();
    assert!(
        missing.is_empty(),
        "served but not in api-spec/openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in api-spec/openapi.yaml but not served: {extra:?}"
    );
}

#[test]
fn every_operation_documents_its_errors() {
    let doc = spec();
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    for (path, item) in doc["paths"].as_hash().unwrap() {
        for m in METHODS {
            let op = &item[m];
            if op.is_badvalue() {
                continue;
            }
            let responses = op["responses"]
                .as_hash()
                .unwrap_or_else(|| panic!("{m} {path:?} has no responses"));
            let codes: Vec<String> = responses
                .keys()
                .map(|k| match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    other => panic!("{other:?}"),
                })
                .collect();
            let public = op["security"].as_vec().is_some_and(|v| v.is_empty());
            if !public {
                assert!(
                    codes.iter().any(|c| c == "401"),
                    "{m} {path:?} does not document 401"
                );
            }
            // Any query string with control characters is refused, on every route.
            assert!(
                codes.iter().any(|c| c == "422"),
                "{m} {path:?} does not document 422"
            );
            // A path naming a resource may name one that does not exist.
            if path.as_str().unwrap().contains('{') {
                assert!(
                    codes.iter().any(|c| c == "404"),
                    "{m} {path:?} does not document 404"
                );
            }
            assert!(
                op["operationId"].as_str().is_some(),
                "{m} {path:?} has no operationId"
            );
        }
    }
}

/// Each route of the spec exists on a running server: it answers something other than the
/// "no route" 404 or a 405, and methods the spec does not list answer 405.
async fn spec_routes_are_live(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let routes = spec_routes();
    let paths: BTreeSet<&String> = routes.iter().map(|(_, p)| p).collect();
    for path in paths {
        let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        for m in METHODS {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let body = matches!(m, "post" | "put" | "patch").then(|| serde_json::json!({}));
            let a = app
                .call(method.clone(), &concrete, Some(&admin), body)
                .await;
            let listed = routes.contains(&(m.to_uppercase(), path.clone()));
            if listed {
                assert_ne!(a.status, 405, "{m} {path}: {}", a.text);
                let no_route = a.status == 404
                    && a.body["detail"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("no route");
                assert!(!no_route, "{m} {path} is not served");
            } else {
                assert_eq!(
                    a.status, 405,
                    "{m} {path} answers though the spec does not list it: {}",
                    a.text
                );
                // RFC 9110: a 405 names the methods the resource has.
                let raw = app
                    .client
                    .request(method.clone(), format!("{}{concrete}", app.base))
                    .bearer_auth(&admin)
                    .send()
                    .await
                    .unwrap();
                let allow = raw.headers()["allow"].to_str().unwrap().to_string();
                let expected: Vec<String> = METHODS
                    .iter()
                    .filter(|x| routes.contains(&(x.to_uppercase(), path.clone())))
                    .map(|x| x.to_uppercase())
                    .collect();
                let mut got: Vec<String> = allow.split(", ").map(str::to_string).collect();
                got.sort();
                let mut expected = expected;
                expected.sort();
                assert_eq!(got, expected, "{m} {path}: Allow");
            }
        }
    }
}

both!(spec_routes_are_live);
