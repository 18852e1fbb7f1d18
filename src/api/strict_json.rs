//! Reading request bodies strictly: one JSON value and nothing after it, no control characters in
//! any text (PostgreSQL refuses NUL, and none belongs in a ticket), and an object wherever the API
//! expects one. serde would otherwise fill a struct from an array by position, so
//! `["admin", "<password>"]` would sign in and `"location": [31.87, 120.55]` would be read as a
//! point.

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Unexpected,
    Visitor,
};
use serde_json::{Map, Value};

/// The first string (value or key) holding a control character other than tab, newline or
/// carriage return: its path (`customer.name`, `items[2]`, `body` for the top level).
pub fn control_character_at(v: &Value) -> Option<String> {
    fn bad(s: &str) -> bool {
        s.chars()
            .any(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}')
    }
    fn walk(v: &Value, path: &str) -> Option<String> {
        let here = || {
            if path.is_empty() {
                "body".to_string()
            } else {
                path.to_string()
            }
        };
        match v {
            Value::String(s) if bad(s) => Some(here()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            Value::Object(m) => m.iter().find_map(|(k, item)| {
                if bad(k) {
                    let key = k.escape_debug();
                    return Some(if path.is_empty() {
                        key.to_string()
                    } else {
                        format!("{path}.{key}")
                    });
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(item, &p)
            }),
            _ => None,
        }
    }
    walk(v, "")
}

/// A JSON value deserialised strictly: a struct must come from an object.
pub struct Strict(pub Value);

type Error = serde_json::Error;

impl<'de> Deserializer<'de> for Strict {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            Value::Array(_) => Err(de::Error::invalid_type(Unexpected::Seq, &"an object")),
            other => other.deserialize_struct(name, fields, visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            other => other.deserialize_seq(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

impl<'de> IntoDeserializer<'de, Error> for Strict {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Fields {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl Fields {
    fn new(map: Map<String, Value>) -> Self {
        Fields {
            iter: map.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Fields {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(Value::String(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(Strict(v))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Point {
        lat: f64,
        lon: f64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Call {
        name: String,
        location: Option<Point>,
        #[serde(default)]
        tags: Vec<String>,
        kind: Kind,
        count: Option<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Repair,
        Install,
    }

    fn read<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, Error> {
        T::deserialize(Strict(serde_json::from_str(text).unwrap()))
    }

    #[test]
    fn objects_read_as_before() {
        let c: Call = read(
            r#"{"name": "王", "location": {"lat": 31.87, "lon": 120}, "tags": ["a"], "kind": "install", "count": 3}"#,
        )
        .unwrap();
        assert_eq!(
            c.location,
            Some(Point {
                lat: 31.87,
                lon: 120.0
            })
        );
        assert_eq!(c.kind, Kind::Install);
        assert_eq!(c.tags, ["a"]);
        let c: Call = read(r#"{"name": "x", "location": null, "kind": "repair"}"#).unwrap();
        assert_eq!(c.location, None);
        assert!(read::<Call>(r#"{"name": "x", "kind": "repair", "extra": 1}"#).is_err());
        assert!(read::<Call>(r#"{"name": "x", "kind": "visit"}"#).is_err());
    }

    #[test]
    fn a_struct_never_comes_from_an_array() {
        assert!(read::<Call>(r#"["x", null, [], "repair", null]"#).is_err());
        assert!(
            read::<Call>(r#"{"name": "x", "kind": "repair", "location": [31.87, 120.55]}"#)
                .is_err()
        );
        assert!(read::<Vec<Point>>(r#"[{"lat": 1, "lon": 2}]"#).is_ok());
        assert!(read::<Vec<Point>>(r#"[[1, 2]]"#).is_err());
    }

    #[test]
    fn control_characters_are_found_with_their_path() {
        let v: Value =
            serde_json::from_str(r#"{"a": "ok\ttab\nline", "b": {"c": ["x", "y\u0000"]}}"#)
                .unwrap();
        assert_eq!(control_character_at(&v).as_deref(), Some("b.c[1]"));
        let v: Value = serde_json::from_str(r#"{"k\u0001": 1}"#).unwrap();
        assert_eq!(control_character_at(&v).as_deref(), Some("k\\u{1}"));
        let v: Value = serde_json::from_str(r#""\u001b""#).unwrap();
        assert_eq!(control_character_at(&v).as_deref(), Some("body"));
        let v: Value = serde_json::from_str(r#"{"a": "杨舍镇 88 号\r\n"}"#).unwrap();
        assert_eq!(control_character_at(&v), None);
    }
}
