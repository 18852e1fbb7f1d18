//! Diesel queries, one module per aggregate. Functions take a connection (inside the caller's
//! transaction when they write) and return rows converted to domain types.
//!
//! Single-row reads (by key, or of an aggregate) use `get_result`, not `first`: `first` adds a
//! bound `LIMIT`, and SQLite (3.47 on) plans with the value of a bound `LIMIT`, so it throws the
//! cached statement away and prepares it again on every call.

pub mod analysis;
pub mod api_keys;
pub mod appraisals;
pub mod assignments;
pub mod branches;
pub mod callbacks;
pub mod client_actions;
pub mod complaints;
pub mod dialect;
pub mod districts;
pub mod duty;
pub mod feed;
pub mod list_versions;
pub mod network_faults;
pub mod notifications;
pub mod org;
pub mod photos;
pub mod policies;
pub mod postponements;
pub mod refresh_tokens;
pub mod regions;
pub mod reports;
pub mod settings;
pub mod surveys;
pub mod tickets;
pub mod track;
pub mod users;
pub mod visits;

/// A stored value that no longer parses as its domain type (a corrupted row).
pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("stored {what} is invalid: {e}").into())
}

/// A row that belongs to one region: what region scoping checks.
pub trait Regional {
    fn region_id(&self) -> &str;
}

macro_rules! regional {
    ($($row:ty),*) => {$(
        impl Regional for $row {
            fn region_id(&self) -> &str {
                &self.region_id
            }
        }
    )*};
}

regional!(
    callbacks::CallbackRow,
    complaints::ComplaintRow,
    districts::DistrictRow,
    tickets::TicketRow
);
