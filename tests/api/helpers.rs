//! The test application: a real fixline server on a random port over a fresh database (a SQLite
//! file in a temporary folder, or a new PostgreSQL database dropped afterwards), seeded with the
//! demo city, driven over HTTP like the phone app and the console drive it.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::dev::ServerHandle;
use diesel::connection::SimpleConnection;
use diesel::{Connection, ExpressionMethods, RunQueryDsl};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[path = "../support/browser.rs"]
pub mod browser;
#[path = "../support/fake_gateway.rs"]
#[allow(dead_code)]
mod fake_gateway;
#[path = "../support/local_server.rs"]
pub mod local_server;
pub use fake_gateway::FakeGateway;

use fixline::app::App;
use fixline::config::Config;

/// Every demo account's password in tests.
pub const PASSWORD: &str = "test-password-1";

/// Where every test server's clock starts.
pub const TEST_CLOCK_START: &str = "2026-11-23T09:00:00+08:00";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests; `FIXLINE_TEST_PG` overrides it.
pub fn pg_server() -> String {
    std::env::var("FIXLINE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh, empty database for one test. A PostgreSQL database is dropped when this is.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let db = TestDb::unmade(backend);
        if let Some(name) = &db.pg_name {
            pg_admin()
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create test database");
        }
        db
    }

    /// The database's place (its name on PostgreSQL), not yet created there.
    fn unmade(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("fixline.db").display()),
                pg_name: None,
                dir,
            },
            Backend::Postgres => {
                let name = format!("fixline_test_{}", uuid::Uuid::new_v4().simple());
                TestDb {
                    url: format!("{}/{name}", pg_server()),
                    pg_name: Some(name),
                    dir,
                }
            }
        }
    }
}

/// The demo city, migrated and seeded once per test process and backend; each test gets a copy
/// (a PostgreSQL database created from it as a template, or a copy of the SQLite file).
enum Template {
    Sqlite(std::path::PathBuf, #[allow(dead_code)] tempfile::TempDir),
    Postgres(String),
}

fn template(backend: Backend) -> &'static Template {
    static SQLITE: std::sync::OnceLock<Template> = std::sync::OnceLock::new();
    static POSTGRES: std::sync::OnceLock<Template> = std::sync::OnceLock::new();
    let seed = |url: &str| {
        let db = fixline::db::Db::open(url, 1).expect("migrate the template");
        let now = chrono::DateTime::parse_from_rfc3339(TEST_CLOCK_START)
            .unwrap()
            .naive_utc();
        fixline::demo::seed(&db, now, Some(PASSWORD)).expect("seed the template");
        cheap_passwords(&db);
    };
    match backend {
        Backend::Sqlite => SQLITE.get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let file = dir.path().join("fixline.db");
            seed(&format!("sqlite://{}", file.display()));
            Template::Sqlite(file, dir)
        }),
        Backend::Postgres => POSTGRES.get_or_init(|| {
            let mut admin = pg_admin();
            // Templates of test runs that have ended.
            let names: Vec<String> = diesel::sql_query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'fixline_tpl_%'",
            )
            .load::<DbName>(&mut admin)
            .expect("list templates")
            .into_iter()
            .map(|d| d.datname)
            .collect();
            for name in names {
                let pid = name.trim_start_matches("fixline_tpl_");
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
            let name = format!("fixline_tpl_{}", std::process::id());
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .expect("drop an old template database");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create the template database");
            seed(&format!("{}/{name}", pg_server()));
            Template::Postgres(name)
        }),
    }
}

/// Gives the template's users a cheap argon2id hash of [`PASSWORD`]. The server verifies with
/// the parameters stored in each hash, so the suite's hundreds of sign-ins cost microseconds
/// instead of a production-strength hash each; `auth::password` tests the real parameters.
fn cheap_passwords(db: &fixline::db::Db) {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    use fixline::db::schema::users;
    let params = argon2::Params::new(8, 1, 1, None).expect("argon2 parameters");
    let hash = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("hash the test password")
        .to_string();
    db.write_blocking(|conn| -> Result<usize, fixline::db::DbError> {
        Ok(diesel::update(users::table)
            .set(users::password_hash.eq(&hash))
            .execute(conn)?)
    })
    .expect("cheap test passwords");
}

#[derive(diesel::QueryableByName)]
struct DbName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

fn pg_admin() -> diesel::PgConnection {
    diesel::PgConnection::establish(&format!("{}/postgres", pg_server())).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for the postgres suite and is not reachable at {}: {e}",
            pg_server()
        )
    })
}

impl TestDb {
    /// A database holding the demo city, copied from this process's template.
    pub fn seeded(backend: Backend) -> TestDb {
        let db = TestDb::unmade(backend);
        match template(backend) {
            Template::Sqlite(file, _) => {
                std::fs::copy(file, db.dir.path().join("fixline.db")).expect("copy the template");
            }
            Template::Postgres(tpl) => {
                let name = db.pg_name.as_deref().unwrap();
                pg_admin()
                    .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {tpl}"))
                    .expect("copy the template database");
            }
        }
        db
    }

    /// A placeholder left behind when a database moves to another server.
    fn none() -> TestDb {
        TestDb {
            url: String::new(),
            pg_name: None,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A second handle on the same database for another server instance; only the first drops it.
    pub fn share(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            pg_name: None,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let server = pg_server();
            // On a plain thread: this may run inside an async runtime.
            let _ = std::thread::spawn(move || {
                if let Ok(mut c) = diesel::PgConnection::establish(&format!("{server}/postgres")) {
                    let _ =
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            })
            .join();
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// Kept for its lifetime: dropping it drops the PostgreSQL database.
    pub _db: TestDb,
    pub state: actix_web::web::Data<fixline::api::state::AppState>,
    pub gateway: Option<FakeGateway>,
    /// An admin's access token for moving the clock, kept until it expires.
    admin_token: Mutex<Option<String>>,
    handle: ServerHandle,
    /// The task serving: the server with its engine, sender and listener.
    running: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Asserts the status and that the body is problem+json, returning the problem.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "content type {} for {}",
            self.content_type,
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"]
            .as_str()
            .unwrap_or("")
            .starts_with("urn:fixline:problem:"));
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        &self.body
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        &self.body
    }
}

pub fn config_with(db: &TestDb, gateway: Option<&FakeGateway>) -> Config {
    config_with_env(db, gateway, &[])
}

pub fn config_with_env(
    db: &TestDb,
    gateway: Option<&FakeGateway>,
    extra: &[(&str, String)],
) -> Config {
    let mut env: HashMap<String, String> = [
        ("DATABASE_URL", db.url.clone()),
        ("FIXLINE_LISTEN", "127.0.0.1:0".into()),
        ("FIXLINE_DATA_DIR", db.dir.path().display().to_string()),
        ("FIXLINE_TEST_CLOCK", "1".into()),
        // Every server starts on Monday 23 November 2026, 09:00 in Zhangjiagang, whatever the
        // real time: scenarios then set the clock forward from there.
        ("FIXLINE_TEST_CLOCK_START", TEST_CLOCK_START.into()),
        ("FIXLINE_WORKERS", "2".into()),
        ("FIXLINE_DB_POOL_SIZE", "4".into()),
        ("FIXLINE_BODY_LIMIT", "65536".into()),
        ("FIXLINE_IMPORT_LIMIT", "4194304".into()),
        // Scenarios call many times from one spot about one fault: only the storm scenarios,
        // which set their own threshold, group calls into a network fault.
        ("FIXLINE_STORM_CALLS", "100000".into()),
        // Scenarios count the staff's messages exactly: only the customer scenarios, which
        // choose their own, send customers the contact card, appointment and survey.
        ("FIXLINE_CUSTOMER_SMS", "none".into()),
        // Nor do team leaders get the morning brief, except in its own scenario.
        ("FIXLINE_MORNING_BRIEF_AT", "off".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(g) = gateway {
        env.insert("FIXLINE_SMS_PROVIDER".into(), "webhook".into());
        env.insert("FIXLINE_SMS_WEBHOOK_URL".into(), g.url.clone());
        env.insert("FIXLINE_SMS_WEBHOOK_SECRET".into(), g.secret.clone());
    }
    env.insert(
        "FIXLINE_JWT_SECRET".into(),
        "test-jwt-secret-shared-by-instances-0123".into(),
    );
    for (k, v) in extra {
        env.insert(k.to_string(), v.clone());
    }
    Config::from_sources(&env).expect("test config")
}

impl TestApp {
    /// A server over a fresh database seeded with the demo city.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_seeded(TestDb::seeded(backend), None).await
    }

    /// A demo-city server whose SMS go to a fake gateway.
    pub async fn spawn_with_gateway(backend: Backend) -> TestApp {
        let gateway = FakeGateway::start().await;
        Self::spawn_seeded(TestDb::seeded(backend), Some(gateway)).await
    }

    async fn spawn_seeded(db: TestDb, gateway: Option<FakeGateway>) -> TestApp {
        Self::spawn_seeded_with(db, gateway, &[]).await
    }

    /// A server over `db` (a copy of the demo city) with extra configuration.
    async fn spawn_seeded_with(
        db: TestDb,
        gateway: Option<FakeGateway>,
        extra: &[(&str, String)],
    ) -> TestApp {
        let app = App::build(config_with_env(&db, gateway.as_ref(), extra))
            .await
            .expect("build app");
        Self::wrap(app, db, gateway)
    }

    /// A server over a fresh, migrated, empty database.
    pub async fn spawn_empty(backend: Backend) -> TestApp {
        Self::start(TestDb::new(backend), None).await
    }

    /// A demo-city server with extra configuration.
    pub async fn spawn_with_env(backend: Backend, extra: &[(&str, String)]) -> TestApp {
        Self::spawn_seeded_with(TestDb::seeded(backend), None, extra).await
    }

    /// A demo-city server with a fake gateway and extra configuration.
    pub async fn spawn_with_gateway_env(
        backend: Backend,
        gateway: FakeGateway,
        extra: &[(&str, String)],
    ) -> TestApp {
        Self::spawn_seeded_with(TestDb::seeded(backend), Some(gateway), extra).await
    }

    /// A server over an existing database (a restart, or a second instance).
    pub async fn start(db: TestDb, gateway: Option<FakeGateway>) -> TestApp {
        let app = App::build(config_with(&db, gateway.as_ref()))
            .await
            .expect("build app");
        Self::wrap(app, db, gateway)
    }

    fn wrap(app: App, db: TestDb, gateway: Option<FakeGateway>) -> TestApp {
        let base = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let state = app.state();
        let running = tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _db: db,
            state,
            gateway,
            admin_token: Mutex::new(None),
            handle,
            running,
        }
    }

    /// Sends a request; `token` is a bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let name = method.to_string();
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let answer = read(req.send().await.expect("request reaches the server")).await;
        crate::contract::check(
            &name,
            path,
            answer.status.as_u16(),
            &answer.content_type,
            &answer.text,
        );
        answer
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Signs in and answers the whole token response.
    pub async fn login_full(&self, username: &str) -> Value {
        let a = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(serde_json::json!({"username": username, "password": PASSWORD})),
            )
            .await;
        a.ok(200).clone()
    }

    /// Signs in and answers the access token.
    pub async fn login(&self, username: &str) -> String {
        self.login_full(username).await["access_token"]
            .as_str()
            .expect("access token")
            .to_string()
    }

    /// Moves the server's test clock forward.
    pub async fn advance(&self, seconds: i64) {
        self.move_clock(serde_json::json!({ "advance_s": seconds }))
            .await;
    }

    /// Moves the test clock as an admin, signing in again only when the kept token has expired
    /// (tokens follow the server's clock).
    async fn move_clock(&self, body: Value) {
        let kept = self.admin_token.lock().unwrap().clone();
        if let Some(token) = kept {
            let a = self.post("/test/clock", &token, body.clone()).await;
            if a.status != StatusCode::UNAUTHORIZED {
                a.ok(200);
                return;
            }
        }
        let token = self.login("admin").await;
        *self.admin_token.lock().unwrap() = Some(token.clone());
        self.post("/test/clock", &token, body).await.ok(200);
    }

    /// Runs every engine step that is due and sends every message that is due, before
    /// answering: what a test asserts on afterwards has happened, with no waiting on wall time.
    pub async fn settle(&self) {
        self.advance(0).await;
    }

    /// The username of the user with this id.
    pub async fn username_of(&self, id: &str) -> String {
        let admin = self.login("admin").await;
        self.get(&format!("/admin/users/{id}"), &admin)
            .await
            .ok(200)["username"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The id of the region with this code.
    pub async fn region_id(&self, code: &str) -> String {
        let admin = self.login("admin").await;
        let regions = self.get("/regions", &admin).await;
        regions.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap_or_else(|| panic!("region {code}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Creates a user through the admin API and answers its id.
    pub async fn add_user(&self, username: &str, role: &str, region_ids: &[&str]) -> String {
        let admin = self.login("admin").await;
        let a = self
            .post(
                "/admin/users",
                &admin,
                serde_json::json!({"username": username, "display_name": username, "role": role,
                                   "password": PASSWORD, "region_ids": region_ids}),
            )
            .await;
        a.ok(201)["id"].as_str().unwrap().to_string()
    }
}

/// Posts a body signed with `secret` at Unix time `ts`, as an SMS platform calls back.
pub async fn signed_post(
    app: &TestApp,
    path: &str,
    body: &serde_json::Value,
    secret: &str,
    ts: i64,
) -> Answer {
    let bytes = serde_json::to_vec(body).unwrap();
    let ts = ts.to_string();
    let sig = fixline::notify::sms::signature(secret.as_bytes(), &ts, &bytes);
    let res = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .header("x-fixline-timestamp", ts)
        .header("x-fixline-signature", sig)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let answer = read(res).await;
    crate::contract::check(
        "POST",
        path,
        answer.status.as_u16(),
        &answer.content_type,
        &answer.text,
    );
    answer
}

pub async fn read(res: reqwest::Response) -> Answer {
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // An event stream never ends: its status and headers are the answer.
    if content_type.starts_with("text/event-stream") {
        return Answer {
            status,
            content_type,
            body: Value::Null,
            text: String::new(),
        };
    }
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        body,
        text,
    }
}

impl TestApp {
    /// Stops the server and answers its database (and gateway) for a restart.
    pub async fn stop(mut self) -> (TestDb, Option<FakeGateway>) {
        self.handle.stop(true).await;
        let db = std::mem::replace(&mut self._db, TestDb::none());
        (db, self.gateway.take())
    }

    /// Drops the serving task without a graceful stop, as a runtime shutting down does, and
    /// answers the database.
    pub fn abandon(mut self) -> TestDb {
        self.running.abort();
        std::mem::replace(&mut self._db, TestDb::none())
    }

    /// Sets the server's test clock.
    pub async fn set_clock(&self, at: &str) {
        self.move_clock(serde_json::json!({ "set": at })).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting and close the pool's connections before the database is dropped.
        let handle = self.handle.clone();
        drop(handle.stop(false));
    }
}

/// Runs one scenario on both databases: `both!(name)` makes `name::sqlite` and `name::postgres`
/// from `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )+
    };
}

/// A fixed UUID for a fixture's readable name, so rows stored directly look like the server's own.
pub fn fixture_id(name: &str) -> String {
    let fnv = |seed: u64| {
        name.bytes().fold(seed, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let bits = ((fnv(0xcbf2_9ce4_8422_2325) as u128) << 64) | fnv(0x6c62_272e_07bb_0142) as u128;
    uuid::Builder::from_custom_bytes(bits.to_be_bytes())
        .into_uuid()
        .to_string()
}

/// A repair ticket taken by the call center for a customer in the demo city's west.
pub async fn ticket_for(app: &TestApp, external_ref: &str) -> Value {
    let agent = app.login("agent").await;
    let body = serde_json::json!({"kind": "repair", "external_ref": external_ref,
        "customer_name": "李先生", "customer_phone": "13800001111", "address": "暨阳湖小区 5 幢",
        "location": {"lat": 31.87, "lon": 120.55}, "fault_category": "花屏",
        "fault_description": "部分频道花屏"});
    app.post("/tickets", &agent, body).await.ok(201).clone()
}

/// Reads an event stream into `buf` until it holds `needle`; false after 10 s without it.
pub async fn read_until(res: &mut reqwest::Response, buf: &mut String, needle: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !buf.contains(needle) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match tokio::time::timeout(left, res.chunk()).await {
            Ok(Ok(Some(bytes))) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            _ => return false,
        }
    }
    true
}

impl TestApp {
    /// Opens `GET /me/stream` as the bearer of `token`, resuming after `last_event_id` when given.
    pub async fn open_stream(&self, token: &str, last_event_id: Option<&str>) -> reqwest::Response {
        self.open_events("/me/stream", token, last_event_id).await
    }

    /// Opens the event stream at `path` as the bearer of `token`, resuming after
    /// `last_event_id` when given.
    pub async fn open_events(
        &self,
        path: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(last) = last_event_id {
            req = req.header("last-event-id", last);
        }
        req.send().await.unwrap()
    }
}

/// A ticket's timeline, oldest first, as `token` sees it.
pub async fn events(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    app.get(&format!("/tickets/{id}/events"), token)
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A technician of the ticket's region other than `not` (the admin API's view of them).
pub async fn another_technician(app: &TestApp, ticket: &str, not: &str) -> Value {
    let admin = app.login("admin").await;
    let region = app.get(&format!("/tickets/{ticket}"), &admin).await.ok(200)["region_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(
        &format!("/admin/users?role=technician&region_id={region}"),
        &admin,
    )
    .await
    .ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] != not)
        .expect("another technician in the region")
        .clone()
}
