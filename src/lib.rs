//! fixline: the backend of a field-repair service run on the "repair upon report" regime.
//!
//! Layout: `domain` holds the rules as pure code, `store` the diesel queries over `db` (SQLite or
//! PostgreSQL), `api` the thin HTTP handlers, `spatial` the district geometry, `auth` the
//! credentials, and `app` wires them into a server.

pub mod api;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod client;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod flow;
pub mod live;
pub mod notify;
pub mod simulate;
pub mod spatial;
pub mod store;
pub mod telemetry;
pub mod web;
