//! Open phone apps at scale: one fixline server process (the `fixline` binary, started as a
//! separate process so its memory is its own) on a scratch PostgreSQL database holding the demo
//! city, with N `GET /me/stream` connections open at once from this process. Each figure is set
//! against a baseline measured in the same run:
//!
//! 1. **Database transactions per second while idle** (from `pg_stat_database`), with no stream
//!    open and with N open.
//! 2. **Delivery**: a dispatcher assigns tickets one by one; each is timed from the moment the
//!    request was sent to the `assigned` event arriving on the technician's open stream; p50 /
//!    p99 with N streams open, against the same with only the technicians' own streams open.
//! 3. **The server's resident memory**: with no stream open, and its peak with N open.
//!
//! `cargo bench --bench streams` opens 10,000 streams; run by `cargo test --all-targets`
//! (without `--bench`) it checks itself with 60.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

use fixline::auth::jwt::{AccessClaims, JwtKeys};
use fixline::client::{ApiClient, Auth};
use fixline::db::schema::{user_regions, users};
use fixline::db::{Db, DbError};
use fixline::domain::Role;

const PASSWORD: &str = "bench-password-1";
const SECRET: &str = "streams-bench-secret-0123456789abcdef";

struct Sizes {
    streams: usize,
    deliveries: usize,
    idle: Duration,
}

const FULL: Sizes = Sizes {
    streams: 10_000,
    deliveries: 200,
    idle: Duration::from_secs(15),
};
const QUICK: Sizes = Sizes {
    streams: 60,
    deliveries: 6,
    idle: Duration::from_secs(2),
};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = if full { FULL } else { QUICK };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let pg = common::ScratchPg::create("streams");
    rt.block_on(run(&pg.url, &sizes));
}

/// The fixline server under test, stopped when dropped.
struct Server {
    child: std::process::Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Server {
    async fn start(url: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let data = tempfile::tempdir().expect("temp dir");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_fixline"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("FIXLINE_LISTEN", format!("127.0.0.1:{port}"))
            .env("FIXLINE_DATA_DIR", data.path())
            .env("FIXLINE_JWT_SECRET", SECRET)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start fixline");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _data: data,
        };
        let api = ApiClient::new(&server.base).unwrap();
        for _ in 0..600 {
            if let Ok((200, _)) = api
                .call(reqwest::Method::GET, "/healthz", Auth::None, None)
                .await
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fixline did not start");
    }

    /// The server's resident memory now and at its peak, in MB.
    fn rss_mb(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kb = |field: &str| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (kb("VmRSS:") / 1024, kb("VmHWM:") / 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Committed and rolled-back transactions of the scratch database so far.
async fn transactions(db: &Db) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    db.read(|conn| {
        diesel::sql_query(
            "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database \
             WHERE datname = current_database()",
        )
        .get_result::<Count>(conn)
        .map_err(DbError::from)
    })
    .await
    .expect("pg_stat_database")
    .n
}

/// The server's transactions per second over `window`, less this measurement's own.
async fn idle_rate(db: &Db, window: Duration) -> f64 {
    // An idle PostgreSQL backend reports its transactions to pg_stat_database up to 10 s
    // after they end: let what came before the window drain first.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let before = transactions(db).await;
    tokio::time::sleep(window).await;
    let after = transactions(db).await;
    (after - before - 1).max(0) as f64 / window.as_secs_f64()
}

/// Technicians added for the benchmark, in `region`; answers their ids.
async fn add_technicians(db: &Db, region: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let (added, region) = (ids.clone(), region.to_string());
    db.write(move |conn| {
        let now = chrono::Utc::now().naive_utc();
        for (i, id) in added.iter().enumerate() {
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(id),
                    users::username.eq(format!("bench{i:05}")),
                    users::display_name.eq("bench"),
                    users::role.eq("technician"),
                    users::password_hash.eq("!"),
                    users::active.eq(true),
                    users::created_at.eq(now),
                    users::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(user_regions::table)
                .values((
                    user_regions::user_id.eq(id),
                    user_regions::region_id.eq(&region),
                ))
                .execute(conn)?;
        }
        Ok::<_, DbError>(())
    })
    .await
    .expect("add technicians");
    ids
}

/// An access token for a technician, signed with the server's key.
fn token(keys: &JwtKeys, user: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    keys.sign(&AccessClaims {
        sub: user.to_string(),
        role: Role::Technician,
        regions: Vec::new(),
        sv: 0,
        iat: now,
        exp: now + 3_600,
    })
}

/// Where each ticket's `assigned` event first arrived.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// Opens one stream over a plain socket and reads it until the process ends, noting when each
/// `assigned` event arrives.
async fn open_stream(
    addr: std::net::SocketAddr,
    token: String,
    connected: Arc<AtomicUsize>,
    arrivals: Arrivals,
) {
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET /me/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    sock.write_all(req.as_bytes()).await.expect("send");
    let mut buf = vec![0u8; 4096];
    let mut text = String::new();
    let mut greeted = false;
    loop {
        let n = match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if !greeted {
            if !text.starts_with("HTTP/1.1 200") && text.len() > 12 {
                panic!("stream refused: {text}");
            }
            if text.contains(": connected") {
                greeted = true;
                connected.fetch_add(1, Ordering::SeqCst);
            }
        }
        while let Some(at) = text.find("event: assigned") {
            let rest = &text[at..];
            let Some(end) = rest.find("\n\n") else { break };
            if let Some(i) = rest[..end].find("\"ticket_id\":\"") {
                let id = &rest[i + 13..i + 13 + 36];
                arrivals
                    .lock()
                    .unwrap()
                    .entry(id.to_string())
                    .or_insert_with(Instant::now);
            }
            text.drain(..at + end);
        }
        if text.len() > 64 * 1024 {
            text.clear();
        }
    }
}

/// Opens `tokens.len()` streams, 200 connecting at a time, and waits until all are greeted.
async fn open_many(
    addr: std::net::SocketAddr,
    tokens: Vec<String>,
    arrivals: &Arrivals,
) -> Vec<tokio::task::JoinHandle<()>> {
    let connected = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(tokens.len());
    for (i, t) in tokens.into_iter().enumerate() {
        tasks.push(tokio::spawn(open_stream(
            addr,
            t,
            connected.clone(),
            arrivals.clone(),
        )));
        while i + 1 - connected.load(Ordering::SeqCst) > 200 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let want = tasks.len();
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::SeqCst) < want {
        assert!(
            Instant::now() < deadline,
            "{} of {want} streams connected",
            connected.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tasks
}

/// A new repair ticket's body; the call center's reference is `external_ref`.
fn ticket(external_ref: &str) -> serde_json::Value {
    json!({"kind": "repair", "external_ref": external_ref, "customer_name": "李先生",
        "customer_phone": "13800001111", "address": "暨阳湖小区 5 幢",
        "location": {"lat": 31.87, "lon": 120.55}, "fault_category": "花屏",
        "fault_description": "部分频道花屏"})
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Assigns `n` new tickets, each to one of `techs` (all with a stream open), and answers the
/// delivery times in ms, sorted.
async fn deliveries(
    api: &ApiClient,
    techs: &[String],
    arrivals: &Arrivals,
    n: usize,
    round: usize,
) -> Vec<f64> {
    let agent = api.login("agent", PASSWORD).await.unwrap();
    let dispatcher = api.login("dispatcher", PASSWORD).await.unwrap();
    let mut waits = Vec::new();
    for i in 0..n {
        let body = ticket(&format!("STREAM-{round}-{i}"));
        let (s, t) = api
            .call(
                reqwest::Method::POST,
                "/tickets",
                Auth::Bearer(&agent),
                Some(&body),
            )
            .await
            .unwrap();
        assert_eq!(s, 201, "{t}");
        let id = t["id"].as_str().unwrap().to_string();
        let to = techs
            .iter()
            .cycle()
            .skip(i)
            .find(|u| t["assignee_id"] != u.as_str())
            .unwrap();
        let sent = Instant::now();
        let (s, v) = api
            .call(
                reqwest::Method::POST,
                &format!("/tickets/{id}/assign"),
                Auth::Bearer(&dispatcher),
                Some(&json!({"assignee_id": to})),
            )
            .await
            .unwrap();
        assert_eq!(s, 200, "{v}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(at) = arrivals.lock().unwrap().get(&id) {
                waits.push(at.saturating_duration_since(sent).as_secs_f64() * 1000.0);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ticket {id} never reached {to}'s stream"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    waits.sort_by(f64::total_cmp);
    waits
}

async fn run(url: &str, sizes: &Sizes) {
    let db = Db::open(url, 2).expect("open the scratch database");
    {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            fixline::demo::seed(&db, chrono::Utc::now().naive_utc(), Some(PASSWORD))
                .expect("seed the demo city");
        })
        .await
        .unwrap();
    }
    let server = Server::start(url).await;
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let api = ApiClient::new(&server.base).unwrap();
    // The region the benchmark's tickets fall in: its demo technicians receive the assignments.
    let agent = api.login("agent", PASSWORD).await.unwrap();
    let (s, probe) = api
        .call(
            reqwest::Method::POST,
            "/tickets",
            Auth::Bearer(&agent),
            Some(&ticket("PROBE")),
        )
        .await
        .unwrap();
    assert_eq!(s, 201, "{probe}");
    let region = probe["region_id"].as_str().unwrap().to_string();
    let extra = add_technicians(&db, &region, sizes.streams.div_ceil(3)).await;
    let techs: Vec<String> = {
        let extra = extra.clone();
        db.read(move |conn| {
            users::table
                .inner_join(user_regions::table)
                .filter(user_regions::region_id.eq(region))
                .filter(users::role.eq("technician"))
                .filter(users::id.ne_all(extra))
                .select(users::id)
                .order(users::username.asc())
                .load::<String>(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
    };
    let keys = JwtKeys::from_secret(SECRET.as_bytes());
    let arrivals: Arrivals = Arc::default();

    println!(
        "streams: {} technicians' streams, {} assignments",
        sizes.streams, sizes.deliveries
    );
    let (rss_idle, _) = server.rss_mb();
    let tx_none = idle_rate(&db, sizes.idle).await;

    // Baseline: only the receiving technicians' own streams are open.
    let mut open = open_many(
        addr,
        techs.iter().map(|u| token(&keys, u)).collect(),
        &arrivals,
    )
    .await;
    let few = deliveries(&api, &techs, &arrivals, sizes.deliveries, 0).await;

    // Then everyone else's: three streams per added technician, up to N in all.
    let others: Vec<String> = extra
        .iter()
        .flat_map(|u| std::iter::repeat_n(u, 3))
        .take(sizes.streams - techs.len())
        .map(|u| token(&keys, u))
        .collect();
    let started = Instant::now();
    open.extend(open_many(addr, others, &arrivals).await);
    let opened = started.elapsed();
    let (rss_open, _) = server.rss_mb();
    let tx_open = idle_rate(&db, sizes.idle).await;
    let many = deliveries(&api, &techs, &arrivals, sizes.deliveries, 1).await;
    let (_, rss_peak) = server.rss_mb();
    assert_eq!(
        open.iter().filter(|t| t.is_finished()).count(),
        0,
        "every stream stayed open"
    );

    let fig = |k: &str, v: String| println!("  {k}: {v}");
    fig("streams open", open.len().to_string());
    fig(
        "time to open them (s)",
        format!("{:.1}", opened.as_secs_f64()),
    );
    fig(
        "idle database transactions/s, no stream / all open",
        format!("{tx_none:.1} / {tx_open:.1}"),
    );
    fig(
        "idle transactions/s per open stream",
        format!("{:.4}", (tx_open - tx_none).max(0.0) / open.len() as f64),
    );
    fig(
        &format!("delivery p50 / p99 (ms), {} streams open", techs.len()),
        format!(
            "{:.1} / {:.1}",
            percentile(&few, 50.0),
            percentile(&few, 99.0)
        ),
    );
    fig(
        &format!("delivery p50 / p99 (ms), {} streams open", open.len()),
        format!(
            "{:.1} / {:.1}",
            percentile(&many, 50.0),
            percentile(&many, 99.0)
        ),
    );
    fig(
        "server RSS (MB): no stream / all open / peak",
        format!("{rss_idle} / {rss_open} / {rss_peak}"),
    );
    for t in open {
        t.abort();
    }
    drop(server);
}
