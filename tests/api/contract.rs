//! `api-spec/openapi.yaml`, read as JSON.

use std::sync::OnceLock;

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
