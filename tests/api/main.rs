//! HTTP-level tests: every scenario runs against a real server on SQLite and on PostgreSQL.

mod helpers;

mod analysis;
mod app;
mod auth;
mod authorization;
mod board;
mod complaint_clocks;
mod console;
mod contract;
mod customers;
mod demo;
mod dispatch;
mod districts;
mod docs;
mod errors;
mod fake_s3;
mod faults;
mod flow;
mod health;
mod mobile;
mod notify;
mod photos;
mod province;
mod schema;
mod scores;
mod security;
mod simulate;
mod spec;
mod storms;
mod visits;
