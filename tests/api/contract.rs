//! The spec as a contract on bodies: every response an HTTP scenario receives through the test
//! client is checked against `api-spec/openapi.yaml`. Its status must be documented for the
//! operation, its content type listed, and a JSON body must match the schema (JSON Schema 2020-12,
//! formats checked). A drift fails the scenario that saw it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Converts YAML to JSON (the spec's subset: maps with string keys, lists, scalars).
pub fn json_of(y: &Yaml) -> Value {
    match y {
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        other => panic!("unexpected key {other:?}"),
                    };
                    (key, json_of(v))
                })
                .collect(),
        ),
        Yaml::Array(a) => Value::Array(a.iter().map(json_of).collect()),
        Yaml::String(s) => json!(s),
        Yaml::Integer(i) => json!(i),
        Yaml::Real(r) => json!(r.parse::<f64>().unwrap()),
        Yaml::Boolean(b) => json!(b),
        _ => Value::Null,
    }
}

/// The spec, as JSON.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(format!(
            "{}/api-spec/openapi.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        json_of(&YamlLoader::load_from_str(&text).unwrap()[0])
    })
}

type Validator = Arc<jsonschema::Validator>;

fn validators() -> &'static Mutex<HashMap<String, Validator>> {
    static V: OnceLock<Mutex<HashMap<String, Validator>>> = OnceLock::new();
    V.get_or_init(Default::default)
}

/// A compiled validator for `schema`, whose `$ref`s point into the spec's components.
fn validator(key: &str, schema: &Value) -> Validator {
    if let Some(v) = validators().lock().unwrap().get(key) {
        return v.clone();
    }
    let mut root = schema.as_object().cloned().unwrap_or_default();
    root.insert("components".into(), spec()["components"].clone());
    let v = Arc::new(
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("schema for {key} does not compile: {e}")),
    );
    validators()
        .lock()
        .unwrap()
        .insert(key.to_string(), v.clone());
    v
}

/// The operation `method` on the spec's path template that `path` (without query) matches,
/// preferring literal segments (`/districts/locate` over `/districts/{id}`); None when that
/// resource has no such method.
fn template_for(method: &str, path: &str) -> Option<(String, &'static Value)> {
    let method = method.to_ascii_lowercase();
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(usize, String, &Value)> = None;
    for (template, item) in spec()["paths"].as_object().unwrap() {
        let op = &item[&method];
        let tparts: Vec<&str> = template.split('/').collect();
        if tparts.len() != parts.len() {
            continue;
        }
        let mut literal = 0;
        let fits = tparts.iter().zip(&parts).all(|(t, p)| {
            if t.starts_with('{') {
                !p.is_empty()
            } else {
                literal += 1;
                t == p
            }
        });
        if fits && best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
            best = Some((literal, template.clone(), op));
        }
    }
    // The path's resource may lack the method: that is the server's 405, not an operation.
    best.filter(|(_, _, op)| !op.is_null())
        .map(|(_, t, op)| (t, op))
}

/// Follows a `$ref` to `#/components/...`.
fn resolve(v: &Value) -> &Value {
    match v["$ref"].as_str() {
        Some(r) => {
            let mut at = spec();
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            resolve(at)
        }
        None => v,
    }
}

/// Checks one response against the spec; panics with what drifted.
pub fn check(method: &str, url_path: &str, status: u16, content_type: &str, text: &str) {
    let path = url_path.split('?').next().unwrap();
    let Some((template, op)) = template_for(method, path) else {
        // No operation: the server's own "no route" answer, checked elsewhere.
        return;
    };
    let responses = &op["responses"];
    let code = status.to_string();
    let response = if !responses[&code].is_null() {
        resolve(&responses[&code])
    } else if !responses["default"].is_null() {
        resolve(&responses["default"])
    } else {
        panic!("{method} {template} answered {status}, which the spec does not document: {text}");
    };
    let Some(content) = response["content"].as_object() else {
        assert!(
            text.is_empty(),
            "{method} {template} {status}: the spec documents no body, got {text}"
        );
        return;
    };
    let media = content_type.split(';').next().unwrap().trim();
    let Some(entry) = content.get(media) else {
        panic!(
            "{method} {template} {status}: content type {media} is not among {:?}",
            content.keys().collect::<Vec<_>>()
        );
    };
    let Some(schema) = entry.get("schema") else {
        return;
    };
    if !media.ends_with("json") {
        return;
    }
    let body: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{method} {template} {status}: body is not JSON ({e}): {text}"));
    let key = format!("{method} {template} {status} {media}");
    let v = validator(&key, schema);
    let errors: Vec<String> = v
        .iter_errors(&body)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .take(10)
        .collect();
    assert!(
        errors.is_empty(),
        "{key}: the body does not match the spec:\n{}\nbody: {}",
        errors.join("\n"),
        &text[..text.len().min(2000)]
    );
}
