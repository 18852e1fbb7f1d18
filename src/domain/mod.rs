//! Pure rules and value types, parsed at the edge: no HTTP, no SQL.

pub mod analysis;
pub mod calendar;
pub mod callback;
pub mod code;
pub mod complaint;
pub mod customer;
pub mod device_time;
pub mod duplicate;
pub mod duty;
pub mod five_star;
pub mod key_purpose;
pub mod org;
pub mod period;
pub mod phone;
pub mod photo;
pub mod point;
pub mod postponement;
pub mod role;
pub mod routing;
pub mod sampling;
pub mod scoring;
pub mod sla;
pub mod sms_reply;
pub mod staff;
pub mod storm;
pub mod ticket;
pub mod visit;

pub use code::Code;
pub use phone::PhoneNumber;
pub use point::{Crs, WgsPoint};
pub use role::{RegionScope, Role};

/// A value type stored and answered as text: the store writes it with `as_str` and reads it
/// back with `parse`, so a row read from the database already holds the domain type; JSON
/// answers and messages show the same text.
macro_rules! stored_as_text {
    ($($t:ty => $field:literal),+ $(,)?) => {$(
        impl TryFrom<String> for $t {
            type Error = $crate::domain::Invalid;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                <$t>::parse($field, &s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.as_str().to_string()
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )+};
}
pub(crate) use stored_as_text;

/// The name of field `name` inside `prefix` as errors give it (`location` and `lat` give
/// `location.lat`); a top-level field when `prefix` is empty.
pub fn field_in(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Why a value was refused, naming the field the caller sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Trims a required text field and bounds its length (in characters).
/// [`required_text`] for a value that may be left out: absent or blank is None.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, Invalid> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| required_text(field, v, max_chars))
        .transpose()
}

pub fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if v.chars().count() > max_chars {
        return Err(Invalid::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(v.to_string())
}

/// A new time-ordered identifier (UUID v7, text form).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
