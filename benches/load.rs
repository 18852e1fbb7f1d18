//! The load harness: a real fixline server (demo city, real clock, SMS to a fake gateway on
//! 127.0.0.1) driven over HTTP on SQLite and on PostgreSQL, one run each. Every figure is set
//! against a baseline measured in the same run, on the same machine, at the same moment:
//!
//! 1. **Intake**: `POST /tickets` as fast as 32 clients can send them, against the raw ceiling:
//!    the same rows (ticket, holding, timeline, feed, outbox) written directly through the same
//!    pool, one transaction per ticket, by 32 tasks, without HTTP, routing or reads. The two run in
//!    alternating rounds and the ratio is the median round's; the outbox sender is held during
//!    the rounds (neither side sends), and a last round with it running is reported beside.
//! 2. **Push latency** during a cable-cut storm: calls in one district at the rate of 5,000 in
//!    10 minutes (two minutes of it), then a surge at ten times that rate (5,000 in one
//!    minute). Each new-ticket SMS is timed from the moment it was queued (`created_at`) to the
//!    gateway's acceptance (`accepted_at`); p50 / p99. Then the storm again with the first SMS
//!    platform down (answering 503) and a second configured (`FIXLINE_SMS_FALLBACK`): push
//!    latency through the second, and how many requests still reached the first.
//!    And the storm as a cable cut's calls, grouped into one network fault that a dispatcher
//!    confirms as soon as it shows: SMS to the staff and to the callers (against the storm's
//!    one-by-one pushes), each caller's notice from call to acceptance p50 / p99, and the
//!    escalation messages about its calls (none expected).
//! 3. **Escalation lateness** with 100,000 open tickets stored: a share of them reach their
//!    acknowledgement deadline during the run; lateness is the time from each deadline to its
//!    escalation step being applied; p50 / p99.
//! 4. **`GET /me/tickets`** for a technician with 20 open tickets among 1,000,000 stored,
//!    against a bare actix-web handler answering the same JSON in the same process, with the
//!    same workers and the same 16 clients.
//! 5. **`GET /me/tickets` answered 304** to `If-None-Match` (the phone's refresh when nothing
//!    changed), against the same bare handler answering the whole list.
//! 6. **`POST /me/sync`** of a phone's 50 queued actions (ten tickets acknowledged, checked in
//!    and resolved, 20 position batches between): latency p50 / p99, against the same 50 sent
//!    as single requests, in alternating rounds.
//! 7. **Resident memory**: the process's peak RSS in each phase. Each database runs in a
//!    process of its own; server, load generator and fake gateway share it, so this is an
//!    upper bound for the server.
//!
//! `cargo bench --bench load` runs the full sizes on both databases (PostgreSQL at
//! `FIXLINE_BENCH_PG`, default `postgres://postgres@127.0.0.1:5432`; a scratch database is
//! created and dropped). `FIXLINE_BENCH_BACKENDS=sqlite` (or `postgres`) runs one;
//! `FIXLINE_BENCH_PHASES=storm,fault,failover,escalation,me,sync` (any of them) picks the phases after intake, which
//! always runs. Run by
//! `cargo test --all-targets` (without `--bench`), it checks itself at small sizes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};

mod common;
#[path = "../tests/support/fake_gateway.rs"]
#[allow(dead_code)]
mod fake_gateway;
#[path = "../tests/support/local_server.rs"]
mod local_server;
use fake_gateway::FakeGateway;

use fixline::app::App;
use fixline::client::{ApiClient, Auth};
use fixline::config::Config;
use fixline::db::schema::{notifications, ticket_events, tickets};
use fixline::db::{Db, DbConn, DbError};
use fixline::store::notifications::NotificationRow;
use fixline::store::tickets::{EventRow, TicketRow};

const PASSWORD: &str = "bench-password-1";

/// How much each phase does.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Tickets in each intake round, over HTTP and raw alike.
    intake: usize,
    intake_rounds: usize,
    storm_calls: usize,
    storm_secs: u64,
    surge_calls: usize,
    surge_secs: u64,
    open_tickets: usize,
    due_tickets: usize,
    due_spread_secs: u64,
    stored_tickets: usize,
    /// Whose history the stored tickets are. A million tickets is a province's few weeks
    /// (DESIGN: about 50,000 a day, 10,000 technicians). The count matters to PostgreSQL: it
    /// plans a cached statement for a typical technician, and with only a dozen technicians
    /// holding a million tickets, a typical technician's history looks huge.
    province_technicians: usize,
    me_requests: usize,
    /// Rounds of a phone's 50 queued actions, sent as one `POST /me/sync` and as single
    /// requests (each).
    sync_rounds: usize,
}

const FULL: Sizes = Sizes {
    intake: 2_000,
    intake_rounds: 3,
    storm_calls: 1_000,
    storm_secs: 120,
    surge_calls: 5_000,
    surge_secs: 60,
    open_tickets: 100_000,
    due_tickets: 2_000,
    due_spread_secs: 20,
    stored_tickets: 1_000_000,
    province_technicians: 10_000,
    me_requests: 20_000,
    sync_rounds: 20,
};

/// Test mode (`cargo test --benches`): every phase runs, small, to show the harness works.
const QUICK: Sizes = Sizes {
    intake: 100,
    intake_rounds: 2,
    storm_calls: 20,
    storm_secs: 2,
    surge_calls: 50,
    surge_secs: 1,
    open_tickets: 500,
    due_tickets: 50,
    due_spread_secs: 2,
    stored_tickets: 5_000,
    province_technicians: 100,
    me_requests: 200,
    sync_rounds: 1,
};

const INTAKE_CLIENTS: usize = 32;
const READ_CLIENTS: usize = 16;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = if full { FULL } else { QUICK };
    let backends =
        std::env::var("FIXLINE_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if std::env::var_os(CHILD).is_some() {
        return one_backend(backends.trim(), sizes);
    }
    println!("machine: {}", machine());
    println!("sizes: {sizes:?}");
    // Each database runs in a process of its own, so that its memory figures start from zero.
    let mut all: Vec<(String, Figures)> = Vec::new();
    for backend in backends.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args().skip(1))
            .env(CHILD, "1")
            .env("FIXLINE_BENCH_BACKENDS", backend)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the harness for one database");
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut figures = Vec::new();
        for line in std::io::BufRead::lines(out).map_while(Result::ok) {
            println!("{line}");
            if let Some((k, v)) = line.strip_prefix("  ").and_then(|l| l.split_once(": ")) {
                figures.push((k.to_string(), v.to_string()));
            }
        }
        let status = child.wait().expect("harness process");
        assert!(status.success(), "the {backend} run failed: {status}");
        all.push((backend.to_string(), figures));
    }
    println!();
    println!(
        "| figure | {} |",
        all.iter()
            .map(|(b, _)| b.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(all.len()));
    let rows: Vec<String> = all[0].1.iter().map(|(k, _)| k.clone()).collect();
    for k in rows {
        let cells: Vec<String> = all
            .iter()
            .map(|(_, f)| {
                f.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect();
        println!("| {k} | {} |", cells.join(" | "));
    }
}

/// Set in the process that runs one database.
const CHILD: &str = "FIXLINE_BENCH_CHILD";

fn one_backend(backend: &str, sizes: Sizes) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rss = Rss::start();
    println!("\n== {backend} ==");
    println!(
        "  RSS of the harness alone, before the server (MB): {}",
        rss.now_mb()
    );
    let scratch = Scratch::new(backend);
    rt.block_on(run(&scratch.url, scratch.dir.path(), sizes, &rss));
}

/// A fresh database: a SQLite file in a temporary folder, or a PostgreSQL database dropped after.
struct Scratch {
    url: String,
    dir: tempfile::TempDir,
    _pg: Option<common::ScratchPg>,
}

impl Scratch {
    fn new(backend: &str) -> Scratch {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            "sqlite" => Scratch {
                url: format!("sqlite://{}", dir.path().join("fixline.db").display()),
                dir,
                _pg: None,
            },
            "postgres" => {
                let pg = common::ScratchPg::create("load");
                Scratch {
                    url: pg.url.clone(),
                    dir,
                    _pg: Some(pg),
                }
            }
            other => panic!("unknown backend {other}: use sqlite or postgres"),
        }
    }
}

/// Samples this process's resident memory every 20 ms and keeps the peak since the last reset.
struct Rss {
    peak_kb: Arc<AtomicU64>,
    now_kb: Arc<AtomicU64>,
}

impl Rss {
    fn start() -> Rss {
        let peak_kb = Arc::new(AtomicU64::new(0));
        let now_kb = Arc::new(AtomicU64::new(0));
        let (p, n) = (peak_kb.clone(), now_kb.clone());
        std::thread::spawn(move || loop {
            let kb = read_rss_kb();
            n.store(kb, Ordering::Relaxed);
            p.fetch_max(kb, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(20));
        });
        std::thread::sleep(Duration::from_millis(30));
        Rss { peak_kb, now_kb }
    }

    fn now_mb(&self) -> u64 {
        read_rss_kb() / 1024
    }

    /// The peak since the last call, in MB, and starts a new window.
    fn take_peak_mb(&self) -> u64 {
        let now = self.now_kb.load(Ordering::Relaxed);
        self.peak_kb.swap(now, Ordering::Relaxed).max(now) / 1024
    }
}

/// Returns the heap memory this process freed to the system (glibc keeps it otherwise).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only returns free heap pages to the system.
        unsafe {
            malloc_trim(0);
        }
    }
}

fn read_rss_kb() -> u64 {
    read_status_kb("VmRSS:")
}

/// A figure of this process from /proc/self/status, in kB.
fn read_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
            })
        })
        .unwrap_or(0);
    format!("{cpu}, {cores} cores, {} GiB", mem / 1024 / 1024)
}

/// A bare actix-web server answering `payload` as JSON on `GET /me/tickets`, with `workers`.
async fn bare_server(payload: Value, workers: usize) -> (String, actix_web::dev::ServerHandle) {
    let payload = Arc::new(payload);
    let (port, handle) = local_server::serve(workers, move |cfg| {
        let payload = payload.clone();
        cfg.route(
            "/me/tickets",
            actix_web::web::get().to(move || {
                let payload = payload.clone();
                async move { actix_web::HttpResponse::Ok().json(&*payload) }
            }),
        );
    });
    (format!("http://127.0.0.1:{port}"), handle)
}

/// Runs `n` jobs with `clients` of them in flight; answers the wall time.
async fn closed_loop<F, Fut>(n: usize, clients: usize, job: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (job, next) = (job.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                job(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    started.elapsed()
}

/// The `p`-th percentile (0 to 100) of `sorted`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted_ms(pairs: impl IntoIterator<Item = (NaiveDateTime, NaiveDateTime)>) -> Vec<f64> {
    let mut v: Vec<f64> = pairs
        .into_iter()
        .map(|(from, to)| (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The HTTP side of the harness: fixline's own client, where a failed request ends the run.
struct Client(ApiClient);

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.0
            .call(method, path, auth, body.as_ref())
            .await
            .expect("the server answers")
    }

    async fn get(&self, path: &str, auth: Auth<'_>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, auth, None).await
    }

    async fn login(&self, username: &str) -> String {
        self.0.login(username, PASSWORD).await.expect("sign in")
    }

    fn http(&self) -> &reqwest::Client {
        self.0.http()
    }
}

/// The body of the `i`-th call of a phase, inside `bbox` (lon/lat min/max).
fn call_body(phase: &str, i: usize, bbox: [f64; 4]) -> Value {
    let f = |k: usize| 0.3 + 0.4 * ((i * k) % 997) as f64 / 997.0;
    json!({
        "kind": "repair", "external_ref": format!("LOAD-{phase}-{i:06}"),
        "customer_name": "压测用户", "customer_phone": format!("1390000{:04}", i % 10_000),
        "address": format!("压测地址 {i} 号"),
        "location": {"lon": bbox[0] + (bbox[2] - bbox[0]) * f(7), "lat": bbox[1] + (bbox[3] - bbox[1]) * f(13)},
        // The network-fault phase's calls are a cable cut's; every other phase's are faults no
        // network fault explains, routed one by one.
        "fault_category": if phase == "fault" { "光缆中断" } else { "机顶盒故障" },
        "fault_description": "压测报修",
    })
}

/// The `i`-th call of a phase recorded through `POST /tickets` with the API key; answers the
/// new ticket.
async fn record_call(client: &Client, key: &str, phase: &str, i: usize, bbox: [f64; 4]) -> Value {
    let (s, v) = client
        .call(
            reqwest::Method::POST,
            "/tickets",
            Auth::Key(key),
            Some(call_body(phase, i, bbox)),
        )
        .await;
    assert_eq!(s, 201, "{phase} call {i}: {v}");
    v
}

/// The server's configuration: SMS to `gateway`, and to `fallback` while it is down.
fn config(
    url: &str,
    dir: &std::path::Path,
    gateway: &FakeGateway,
    fallback: &FakeGateway,
) -> Config {
    let (secret, fallback_secret) = (&gateway.secret, &fallback.secret);
    let (gateway, fallback) = (&gateway.url, &fallback.url);
    let fallback_file = dir.join("sms_fallback.toml");
    std::fs::write(
        &fallback_file,
        format!(
            "sms_provider = \"webhook\"\nsms_webhook_url = \"{fallback}\"\nsms_webhook_secret = \"{fallback_secret}\"\n"
        ),
    )
    .expect("write the fallback provider");
    let env: HashMap<String, String> = [
        ("DATABASE_URL", url.to_string()),
        ("FIXLINE_LISTEN", "127.0.0.1:0".into()),
        ("FIXLINE_DATA_DIR", dir.display().to_string()),
        ("FIXLINE_WORKERS", "2".into()),
        // The harness is one integration sending as fast as the server takes.
        ("FIXLINE_RATE_LIMIT_KEY", "0".into()),
        ("FIXLINE_RATE_LIMIT_USER", "0".into()),
        ("FIXLINE_SMS_PROVIDER", "webhook".into()),
        ("FIXLINE_SMS_WEBHOOK_URL", gateway.to_string()),
        ("FIXLINE_SMS_WEBHOOK_SECRET", secret.to_string()),
        ("FIXLINE_SMS_FALLBACK", fallback_file.display().to_string()),
        (
            "FIXLINE_JWT_SECRET",
            "bench-jwt-secret-0123456789-abcdefgh".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Config::from_sources(&env).expect("bench config")
}

/// Waits until the outbox holds nothing pending or being sent.
async fn drain_outbox(db: &Db) {
    for _ in 0..6_000 {
        let left: i64 = db
            .read(|conn| Ok::<_, DbError>(fixline::store::notifications::backlog(conn)?))
            .await
            .expect("backlog");
        if left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox did not drain in 5 minutes");
}

type Figures = Vec<(String, String)>;

async fn run(url: &str, dir: &std::path::Path, sizes: Sizes, rss: &Rss) -> Figures {
    let backend = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let mut figures: Figures = Vec::new();
    let mut fig = |k: &str, v: String| {
        println!("  {k}: {v}");
        figures.push((k.to_string(), v));
    };
    let gateway = FakeGateway::start_counting().await;
    let fallback = FakeGateway::start_counting().await;
    rss.take_peak_mb();
    let app = App::build(config(url, dir, &gateway, &fallback))
        .await
        .expect("build the server");
    let state = app.state();
    let handle = app.handle();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let db = state.db.clone();
    let now = state.clock.now_naive();
    {
        let db = db.clone();
        tokio::task::spawn_blocking(move || fixline::demo::seed(&db, now, Some(PASSWORD)))
            .await
            .unwrap()
            .expect("seed the demo city");
    }
    let client = Client(ApiClient::with(
        reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
        &base,
    ));
    let admin = client.login("admin").await;
    let (s, key) = client
        .call(
            reqwest::Method::POST,
            "/admin/api-keys",
            Auth::Bearer(&admin),
            Some(json!({"name": "load harness"})),
        )
        .await;
    assert_eq!(s, 201, "{key}");
    let key: Arc<str> = key["key"].as_str().unwrap().into();
    let (_, districts) = client.get("/districts", Auth::Bearer(&admin)).await;
    let district = districts["items"][0].clone();
    let bbox: [f64; 4] = serde_json::from_value(district["bbox"].clone()).expect("district bbox");
    let client = Arc::new(client);

    // 1. Intake over HTTP against the raw ceiling, in alternating rounds so that both see the
    //    same table sizes and the same moment of the machine; the ratio is the median round's.
    //    The outbox sender is held during the rounds (both sides write the same outbox rows and
    //    neither sends them); a last round with the sender running shows what sending costs.
    let sending = state.sender.quiesce().await;
    rss.take_peak_mb();
    let first = intake_round(&client, &key, bbox, "intake-0", sizes.intake).await;
    let mut http_rates = vec![first.rate];
    let intake_rss = rss.take_peak_mb();

    // The rows one intake wrote, to write again directly.
    let sample_id = first.created[0].clone();
    let (template, events, outbox) = {
        let id = sample_id.clone();
        db.read(move |conn| -> Result<_, DbError> {
            let t = fixline::store::tickets::get(conn, &id)?.expect("sample ticket");
            let e = fixline::store::tickets::events(conn, &id)?;
            let n = fixline::store::notifications::for_ticket(conn, &id)?;
            Ok((t, e, n))
        })
        .await
        .unwrap()
    };
    assert!(
        template.assignee_id.is_some() && !outbox.is_empty(),
        "the sample ticket was routed and its messages queued"
    );
    // The technicians the intakes were routed to: the raw rows go round them the same way.
    let assignees: Vec<String> = {
        let ids = first.created.clone();
        db.read(move |conn| -> Result<Vec<String>, DbError> {
            let mut who: Vec<String> = tickets::table
                .filter(tickets::id.eq_any(ids))
                .select(tickets::assignee_id.assume_not_null())
                .distinct()
                .load(conn)?;
            who.sort();
            Ok(who)
        })
        .await
        .unwrap()
    };
    let raw = RawIntake {
        template: Arc::new(template),
        events: Arc::new(
            events
                .into_iter()
                .filter(|e| e.kind == "created" || e.kind == "assigned")
                .collect(),
        ),
        outbox: Arc::new(outbox),
        assignees: Arc::new(assignees),
    };
    let mut raw_rates = Vec::new();
    for round in 0..sizes.intake_rounds {
        if round > 0 {
            let phase = format!("intake-{round}");
            http_rates.push(
                intake_round(&client, &key, bbox, &phase, sizes.intake)
                    .await
                    .rate,
            );
        }
        raw_rates.push(
            raw.round(&db, &state, round * sizes.intake, sizes.intake)
                .await,
        );
    }
    drop(sending);
    drain_outbox(&db).await;
    let sending_rate = intake_round(&client, &key, bbox, "intake-sending", sizes.intake)
        .await
        .rate;
    drain_outbox(&db).await;
    // The sample ticket as the later phases copy it: routed and pushed.
    let template = {
        let id = sample_id.clone();
        db.read(move |conn| -> Result<_, DbError> {
            Ok(fixline::store::tickets::get(conn, &id)?.expect("sample ticket"))
        })
        .await
        .unwrap()
    };
    assert!(template.pushed_at.is_some(), "the sample ticket was pushed");

    let mut ratios: Vec<f64> = http_rates
        .iter()
        .zip(&raw_rates)
        .map(|(h, r)| 100.0 * h / r)
        .collect();
    let rounds = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    fig(
        "intake over HTTP, each round (tickets/s)",
        rounds(&http_rates),
    );
    fig(
        "raw inserts, same rows, each round (tickets/s)",
        rounds(&raw_rates),
    );
    fig("intake / raw ceiling, each round (%)", rounds(&ratios));
    ratios.sort_by(f64::total_cmp);
    fig(
        "intake / raw ceiling (median round)",
        format!("{:.0} %", percentile(&ratios, 50.0)),
    );
    fig(
        "intake over HTTP with the outbox being sent (tickets/s)",
        format!("{sending_rate:.0}"),
    );
    fig("peak RSS during intake (MB)", intake_rss.to_string());

    let wanted = |phase: &str| {
        std::env::var("FIXLINE_BENCH_PHASES")
            .map(|v| v.split(',').any(|p| p.trim() == phase))
            .unwrap_or(true)
    };

    // 2. The storm at the rate of 5,000 calls in 10 minutes in one district, then a surge at ten
    //    times that rate; push latency of every new-ticket message in each.
    for (phase, calls, secs) in [
        ("storm", sizes.storm_calls, sizes.storm_secs),
        ("surge", sizes.surge_calls, sizes.surge_secs),
    ]
    .into_iter()
    .filter(|_| wanted("storm"))
    {
        rss.take_peak_mb();
        let (took, push) = storm(&client, &key, &db, phase, calls, secs, bbox).await;
        let peak = rss.take_peak_mb();
        fig(
            phase,
            format!(
                "{calls} calls in {:.1} s ({:.1}/s), {} messages",
                took.as_secs_f64(),
                calls as f64 / took.as_secs_f64(),
                push.len()
            ),
        );
        fig(
            &format!("{phase} push latency p50 / p99 (ms)"),
            format!(
                "{:.0} / {:.0}",
                percentile(&push, 50.0),
                percentile(&push, 99.0)
            ),
        );
        fig(&format!("{phase} peak RSS (MB)"), peak.to_string());
    }

    // 2a. The same storm as one network fault: grouped after its first calls, confirmed by a
    //     dispatcher as soon as it shows; SMS to the staff and to the callers, and how soon
    //     each caller's notice was accepted after their call.
    if wanted("fault") {
        let dispatcher = client.login("dispatcher").await;
        rss.take_peak_mb();
        let f = fault_storm(
            &client,
            &key,
            &db,
            &dispatcher,
            sizes.storm_calls,
            sizes.storm_secs,
            bbox,
        )
        .await;
        let peak = rss.take_peak_mb();
        fig(
            "fault",
            format!(
                "{} calls in {:.1} s, {} network fault(s), {} calls linked",
                sizes.storm_calls,
                f.took.as_secs_f64(),
                f.faults,
                f.linked
            ),
        );
        fig(
            "fault SMS to the staff / to the callers",
            format!("{} / {}", f.to_staff, f.to_callers),
        );
        fig(
            "fault callers told, call to accepted p50 / p99 (ms)",
            format!(
                "{:.0} / {:.0}",
                percentile(&f.notice, 50.0),
                percentile(&f.notice, 99.0)
            ),
        );
        fig("fault escalation messages", f.escalations.to_string());
        fig("fault peak RSS (MB)", peak.to_string());
    }

    // 2b. The same storm with the first SMS platform down (answering 503) and a second one
    //     configured: push latency through the second, and what still reached the first.
    if wanted("failover") {
        gateway.set_down(true);
        let (to_first, to_second) = (gateway.attempts(), fallback.attempts());
        rss.take_peak_mb();
        let (took, push) = storm(
            &client,
            &key,
            &db,
            "failover",
            sizes.storm_calls,
            sizes.storm_secs,
            bbox,
        )
        .await;
        let peak = rss.take_peak_mb();
        gateway.set_down(false);
        fig(
            "failover storm",
            format!(
                "{} calls in {:.1} s, {} messages; requests to the platform that was down: {}, to the second: {}",
                sizes.storm_calls,
                took.as_secs_f64(),
                push.len(),
                gateway.attempts() - to_first,
                fallback.attempts() - to_second,
            ),
        );
        fig(
            "failover push latency p50 / p99 (ms)",
            format!(
                "{:.0} / {:.0}",
                percentile(&push, 50.0),
                percentile(&push, 99.0)
            ),
        );
        fig("failover peak RSS (MB)", peak.to_string());
    }

    let technicians: Vec<String> = {
        let region = template.region_id.clone();
        db.read(move |conn| -> Result<Vec<String>, DbError> {
            use fixline::db::schema::{user_regions, users};
            Ok(users::table
                .inner_join(user_regions::table)
                .filter(user_regions::region_id.eq(region))
                .filter(users::role.eq("technician"))
                .select(users::id)
                .load(conn)?)
        })
        .await
        .unwrap()
    };
    // 3. Escalation lateness with 100,000 open tickets: copies of a routed, pushed, unacknowledged
    //    ticket; a share reach their acknowledgement deadline a few seconds from now.
    if wanted("escalation") {
        // The tickets far from their deadlines first; the due ones after, so that the time the bulk
        // insert takes never counts as lateness.
        let t = Instant::now();
        let far_from = state.clock.now_naive() + chrono::Duration::hours(12);
        let copy =
            |template: &TicketRow, technicians: &[String], i: usize, deadline: NaiveDateTime| {
                let mut r = shifted(template, deadline - template.ack_due_at.unwrap());
                r.id = format!("open-{i:07}");
                r.external_ref = None;
                r.assignee_id = Some(technicians[i % technicians.len()].clone());
                r
            };
        {
            let (template, technicians) = (template.clone(), technicians.clone());
            let due_n = sizes.due_tickets;
            fill(&db, sizes.open_tickets - due_n, move |k| {
                let i = due_n + k;
                copy(
                    &template,
                    &technicians,
                    i,
                    far_from + chrono::Duration::seconds(i as i64),
                )
            })
            .await;
        }
        let first_due = state.clock.now_naive() + chrono::Duration::seconds(2);
        let due: Arc<Vec<NaiveDateTime>> = Arc::new(
            (0..sizes.due_tickets)
                .map(|i| {
                    first_due
                        + chrono::Duration::microseconds(
                            (sizes.due_spread_secs as i64 * 1_000_000) * i as i64
                                / sizes.due_tickets as i64,
                        )
                })
                .collect(),
        );
        {
            let (template, technicians, due) = (template.clone(), technicians.clone(), due.clone());
            fill(&db, sizes.due_tickets, move |i| {
                copy(&template, &technicians, i, due[i])
            })
            .await;
        }
        let insert_took = t.elapsed();
        // The open tickets arrived behind the engine's back; a write through the API would do this.
        state.kick();
        rss.take_peak_mb();
        let last_due = *due.last().unwrap();
        let wait = (last_due - state.clock.now_naive())
            .to_std()
            .unwrap_or_default();
        tokio::time::sleep(wait + Duration::from_secs(1)).await;
        let mut steps: Vec<(String, NaiveDateTime)> = Vec::new();
        for _ in 0..1_200 {
            steps = db
                .read(|conn| -> Result<Vec<(String, NaiveDateTime)>, DbError> {
                    Ok(ticket_events::table
                        .filter(ticket_events::kind.eq("escalated"))
                        .filter(ticket_events::ticket_id.like("open-%"))
                        .select((ticket_events::ticket_id, ticket_events::at))
                        .load(conn)?)
                })
                .await
                .unwrap();
            if steps.len() >= sizes.due_tickets {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            steps.len(),
            sizes.due_tickets,
            "every due ticket was escalated once"
        );
        let escalation_rss = rss.take_peak_mb();
        let late = sorted_ms(steps.iter().map(|(id, at)| {
            let i: usize = id["open-".len()..].parse().unwrap();
            (due[i], *at)
        }));
        fig(
            "open tickets stored (inserted in)",
            format!(
                "{} ({:.1} s)",
                sizes.open_tickets,
                insert_took.as_secs_f64()
            ),
        );
        fig(
            "escalation lateness p50 / p99 (ms)",
            format!(
                "{:.0} / {:.0} over {} deadlines in {} s",
                percentile(&late, 50.0),
                percentile(&late, 99.0),
                late.len(),
                sizes.due_spread_secs
            ),
        );
        fig(
            "peak RSS during escalation (MB)",
            escalation_rss.to_string(),
        );
        drain_outbox(&db).await;
    }

    // 4. GET /me/tickets among 1,000,000 tickets: a technician with 20 open tickets and a long
    //    history, everyone else's tickets around them.
    if wanted("me") {
        let (s, tech) = client
        .call(
            reqwest::Method::POST,
            "/admin/users",
            Auth::Bearer(&admin),
            Some(json!({"username": "bench-tech", "display_name": "压测技术员", "role": "technician",
                         "password": PASSWORD, "phone": "13900009999", "region_ids": [template.region_id]})),
        )
        .await;
        assert_eq!(s, 201, "{tech}");
        let tech_id = tech["id"].as_str().unwrap().to_string();
        let stored_now: i64 = db
            .read(|conn| Ok::<_, DbError>(tickets::table.count().get_result(conn)?))
            .await
            .unwrap();
        let more = sizes.stored_tickets.saturating_sub(stored_now as usize);
        let t = Instant::now();
        // A million tickets is a province's few weeks: their history belongs to the province's
        // workforce, not to the demo city's dozen people (see `Sizes::province_technicians`).
        let workforce: Vec<String> = {
            let (n, region, hash) = (
                sizes.province_technicians,
                template.region_id.clone(),
                fixline::auth::password::hash(PASSWORD),
            );
            let now = state.clock.now_naive();
            db.write(move |conn| -> Result<Vec<String>, DbError> {
                let mut ids = Vec::with_capacity(n);
                for k in 0..n {
                    let row = fixline::store::users::UserRow {
                        id: format!("province-tech-{k:05}"),
                        username: format!("province-tech-{k:05}"),
                        display_name: format!("技术员 {k}"),
                        phone: None,
                        role: "technician".into(),
                        password_hash: hash.clone(),
                        active: true,
                        created_at: now,
                        updated_at: now,
                    };
                    fixline::store::users::insert(conn, &row, std::slice::from_ref(&region))?;
                    ids.push(row.id);
                }
                Ok(ids)
            })
            .await
            .expect("the province's technicians")
        };
        {
            let (template, technicians, tech_id) =
                (template.clone(), workforce.clone(), tech_id.clone());
            fill(&db, more, move |i| {
                let mut r = shifted(&template, -chrono::Duration::minutes(i as i64 % 100_000));
                r.id = format!("stored-{i:07}");
                r.external_ref = None;
                let mine = i % 50 == 0;
                r.assignee_id = Some(if mine {
                    tech_id.clone()
                } else {
                    technicians[i % technicians.len()].clone()
                });
                if mine && i / 50 < 20 {
                    // The technician's 20 open tickets; deadlines far enough out not to fire.
                    r.next_deadline_at = r.next_deadline_at.map(|d| d + chrono::Duration::days(2));
                    r.ack_due_at = r.ack_due_at.map(|d| d + chrono::Duration::days(2));
                } else {
                    r.status = fixline::domain::ticket::Status::Resolved;
                    r.acknowledged_at = Some(r.created_at + chrono::Duration::minutes(5));
                    r.resolved_at = Some(r.created_at + chrono::Duration::hours(3));
                    r.resolve_on_time = Some(true);
                    r.next_deadline_at = None;
                }
                r
            })
            .await;
        }
        let fill_took = t.elapsed();
        if backend == "postgres" {
            let mut conn = db.conn().unwrap();
            conn.batch_execute("ANALYZE").unwrap();
        }
        // The history just stored spans about 70 days that ended with no callback top-up. The
        // engine closes those days now, one transaction each, as a server that had been running
        // would have done once a day. That is not the phone's load: wait for it to finish.
        let t = Instant::now();
        state.kick();
        loop {
            let (flow, now) = (state.flow.clone(), state.clock.now_naive());
            let open_day = db
                .read(move |conn| fixline::flow::callbacks::next_day_to_close(conn, &flow, now))
                .await
                .expect("callback days");
            if open_day.is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let catch_up = t.elapsed();
        let stored: i64 = db
            .read(|conn| Ok::<_, DbError>(tickets::table.count().get_result(conn)?))
            .await
            .unwrap();
        fig(
            "tickets stored (filled in; callback days closed in)",
            format!(
                "{stored} ({:.1} s; {:.1} s)",
                fill_took.as_secs_f64(),
                catch_up.as_secs_f64()
            ),
        );
        let token: Arc<str> = client.login("bench-tech").await.into();
        let (s, payload) = client.get("/me/tickets", Auth::Bearer(&token)).await;
        assert_eq!(s, 200, "{payload}");
        assert_eq!(
            payload["items"].as_array().map(Vec::len),
            Some(20),
            "the technician's open tickets"
        );
        let bytes = serde_json::to_vec(&payload).unwrap().len();
        // The harness built 900,000 rows in this process; hand the memory it freed back to the
        // system, so that this phase's figure is the server's, not the fill's leftovers.
        release_freed_memory();
        rss.take_peak_mb();
        let fixline_rate = read_rate(
            client.http(),
            &base,
            Some(token.clone()),
            sizes.me_requests,
            Expect::Body(bytes),
        )
        .await;
        let me_rss = rss.take_peak_mb();
        // The phone's refresh when nothing changed: If-None-Match with the list's tag.
        let tag: Arc<str> = client
            .http()
            .get(format!("{base}/me/tickets"))
            .bearer_auth(&*token)
            .send()
            .await
            .expect("GET /me/tickets")
            .headers()["etag"]
            .to_str()
            .expect("an ETag")
            .into();
        let unchanged_rate = read_rate(
            client.http(),
            &base,
            Some(token.clone()),
            sizes.me_requests,
            Expect::NotModified(tag),
        )
        .await;
        let (bare_base, bare) = bare_server(payload, 2).await;
        let bare_rate = read_rate(
            client.http(),
            &bare_base,
            None,
            sizes.me_requests,
            Expect::Body(bytes),
        )
        .await;
        bare.stop(true).await;
        fig(
            "GET /me/tickets (requests/s, 20 tickets, bytes)",
            format!("{fixline_rate:.0} ({bytes} B)"),
        );
        fig(
            "bare actix JSON handler, same payload (requests/s)",
            format!("{bare_rate:.0}"),
        );
        fig(
            "/me/tickets / bare handler",
            format!("{:.0} %", 100.0 * fixline_rate / bare_rate),
        );
        fig(
            "GET /me/tickets answered 304 (requests/s)",
            format!("{unchanged_rate:.0}"),
        );
        fig(
            "/me/tickets 304 / bare handler",
            format!("{:.0} %", 100.0 * unchanged_rate / bare_rate),
        );
        fig("peak RSS during /me/tickets (MB)", me_rss.to_string());
    }

    // 6. A phone back from a day without signal sends 50 queued actions at once: acknowledge,
    //    check in and resolve ten tickets, with 20 position batches between, in the order they
    //    were taken. Against the same 50 sent one request at a time, in alternating rounds.
    if wanted("sync") {
        let (batch, single) = sync_rounds(&client, &key, &admin, &template, bbox, sizes).await;
        fig(
            "POST /me/sync of 50 actions p50 / p99 (ms)",
            format!(
                "{:.0} / {:.0}",
                percentile(&batch, 50.0),
                percentile(&batch, 99.0)
            ),
        );
        fig(
            "the same 50 as single requests p50 / p99 (ms)",
            format!(
                "{:.0} / {:.0}",
                percentile(&single, 50.0),
                percentile(&single, 99.0)
            ),
        );
        fig(
            "/me/sync / single requests (p50)",
            format!(
                "{:.0} %",
                100.0 * percentile(&batch, 50.0) / percentile(&single, 50.0)
            ),
        );
    }

    fig(
        "peak RSS of the process over the run (MB)",
        (read_status_kb("VmHWM:") / 1024).to_string(),
    );
    handle.stop(true).await;
    drop((gateway, fallback));
    figures
}

/// Sends `calls` calls in one district evenly over `secs`, waits until the outbox is empty, and
/// answers how long the calls took and the push latency (queued to accepted by the gateway) of
/// every new-ticket message they caused, sorted, in ms.
async fn storm(
    client: &Arc<Client>,
    key: &Arc<str>,
    db: &Db,
    phase: &'static str,
    calls: usize,
    secs: u64,
    bbox: [f64; 4],
) -> (Duration, Vec<f64>) {
    let from = chrono::Utc::now().naive_utc();
    let started = tokio::time::Instant::now();
    let sent = spread_calls(client, key, phase, calls, secs, bbox);
    for c in sent {
        c.await.expect("storm call");
    }
    let took = started.elapsed();
    drain_outbox(db).await;
    let pushes = db
        .read(
            move |conn| -> Result<Vec<(NaiveDateTime, Option<NaiveDateTime>)>, DbError> {
                Ok(notifications::table
                    .filter(notifications::created_at.ge(from))
                    .filter(notifications::purpose.eq("new_ticket"))
                    .select((notifications::created_at, notifications::accepted_at))
                    .load(conn)?)
            },
        )
        .await
        .unwrap();
    assert!(
        pushes.iter().all(|(_, a)| a.is_some()),
        "every {phase} message was accepted"
    );
    let push = sorted_ms(pushes.into_iter().map(|(c, a)| (c, a.unwrap())));
    (took, push)
}

/// `calls` calls of `phase` in one district, sent evenly over `secs` from now.
fn spread_calls(
    client: &Arc<Client>,
    key: &Arc<str>,
    phase: &'static str,
    calls: usize,
    secs: u64,
    bbox: [f64; 4],
) -> Vec<tokio::task::JoinHandle<()>> {
    let interval = secs as f64 / calls as f64;
    let started = tokio::time::Instant::now();
    (0..calls)
        .map(|i| {
            let (client, key) = (client.clone(), key.clone());
            let at = started + Duration::from_secs_f64(interval * i as f64);
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                record_call(&client, &key, phase, i, bbox).await;
            })
        })
        .collect()
}

/// What the network-fault storm did.
struct FaultStorm {
    took: Duration,
    faults: usize,
    linked: usize,
    to_staff: usize,
    to_callers: usize,
    /// Each caller's notice: call recorded to notice accepted, sorted, ms.
    notice: Vec<f64>,
    escalations: usize,
}

/// Sends `calls` cable-cut calls in one district evenly over `secs` while a dispatcher watches
/// the open faults and confirms the suspected one; restores it once the outbox is empty.
async fn fault_storm(
    client: &Arc<Client>,
    key: &Arc<str>,
    db: &Db,
    dispatcher: &str,
    calls: usize,
    secs: u64,
    bbox: [f64; 4],
) -> FaultStorm {
    let from = chrono::Utc::now().naive_utc();
    let started = tokio::time::Instant::now();
    let sent = spread_calls(client, key, "fault", calls, secs, bbox);
    // The dispatcher: looks at the open faults every 200 ms and confirms a suspected one.
    let watching = {
        let (client, token) = (client.clone(), dispatcher.to_string());
        tokio::spawn(async move {
            loop {
                let (_, open) = client.get("/network-faults", Auth::Bearer(&token)).await;
                for f in open["items"].as_array().into_iter().flatten() {
                    if f["status"] == "suspected" {
                        let path = format!("/network-faults/{}/confirm", f["id"].as_str().unwrap());
                        client
                            .call(
                                reqwest::Method::POST,
                                &path,
                                Auth::Bearer(&token),
                                Some(json!({})),
                            )
                            .await;
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    for c in sent {
        c.await.expect("fault call");
    }
    let took = started.elapsed();
    watching.await.expect("the dispatcher confirmed the fault");
    drain_outbox(db).await;
    type Sent = (
        String,
        Option<String>,
        Option<String>,
        NaiveDateTime,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Sent> = db
        .read(move |conn| -> Result<Vec<Sent>, DbError> {
            Ok(notifications::table
                .filter(notifications::created_at.ge(from))
                .select((
                    notifications::purpose,
                    notifications::recipient_user_id,
                    notifications::ticket_id,
                    notifications::created_at,
                    notifications::accepted_at,
                ))
                .load(conn)?)
        })
        .await
        .unwrap();
    let called: HashMap<String, NaiveDateTime> = db
        .read(
            move |conn| -> Result<Vec<(String, NaiveDateTime)>, DbError> {
                Ok(tickets::table
                    .filter(tickets::created_at.ge(from))
                    .filter(tickets::network_fault_id.is_not_null())
                    .select((tickets::id, tickets::created_at))
                    .load(conn)?)
            },
        )
        .await
        .unwrap()
        .into_iter()
        .collect();
    let notice = sorted_ms(
        rows.iter()
            .filter(|r| r.0 == "fault_known")
            .filter_map(|r| Some((*called.get(r.2.as_deref()?)?, r.4?))),
    );
    let escalation = [
        "ack_overdue",
        "manager_alert",
        "dispatch_overdue",
        "taken_away",
    ];
    let (_, faults) = client
        .get("/network-faults?status=all", Auth::Bearer(dispatcher))
        .await;
    let faults: Vec<Value> = faults["items"].as_array().cloned().unwrap_or_default();
    for f in faults.iter().filter(|f| f["status"] == "confirmed") {
        let path = format!("/network-faults/{}/restore", f["id"].as_str().unwrap());
        let (s, v) = client
            .call(
                reqwest::Method::POST,
                &path,
                Auth::Bearer(dispatcher),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    drain_outbox(db).await;
    FaultStorm {
        took,
        faults: faults.len(),
        linked: called.len(),
        to_staff: rows.iter().filter(|r| r.1.is_some()).count(),
        to_callers: rows.iter().filter(|r| r.1.is_none()).count(),
        notice,
        escalations: rows
            .iter()
            .filter(|r| escalation.contains(&r.0.as_str()))
            .filter(|r| r.2.as_ref().is_some_and(|t| called.contains_key(t)))
            .count(),
    }
}

/// What every answer of a read must be.
#[derive(Clone)]
enum Expect {
    /// 200 with this many bytes of JSON.
    Body(usize),
    /// 304 to `If-None-Match` with this tag, no body.
    NotModified(Arc<str>),
}

/// Requests/s of `n` GETs of `/me/tickets` from `READ_CLIENTS` clients; every answer must be
/// as `expect` says.
async fn read_rate(
    http: &reqwest::Client,
    base: &str,
    token: Option<Arc<str>>,
    n: usize,
    expect: Expect,
) -> f64 {
    let (http, url) = (http.clone(), format!("{base}/me/tickets"));
    let ok = Arc::new(AtomicBool::new(true));
    let flag = ok.clone();
    let elapsed = closed_loop(n, READ_CLIENTS, move |_| {
        let (http, url, token, flag) = (http.clone(), url.clone(), token.clone(), flag.clone());
        let expect = expect.clone();
        async move {
            let mut req = http.get(&url);
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            if let Expect::NotModified(tag) = &expect {
                req = req.header("if-none-match", &**tag);
            }
            let res = req.send().await.expect("GET /me/tickets");
            let status = res.status().as_u16();
            let body = res.bytes().await.unwrap_or_default();
            let good = match expect {
                Expect::Body(bytes) => status == 200 && body.len() == bytes,
                Expect::NotModified(_) => status == 304 && body.is_empty(),
            };
            if !good {
                flag.store(false, Ordering::Relaxed);
            }
        }
    })
    .await;
    assert!(
        ok.load(Ordering::Relaxed),
        "every answer was as expected (the same payload, or 304)"
    );
    n as f64 / elapsed.as_secs_f64()
}

/// One round of intake over HTTP: how fast it went and the tickets it created.
struct IntakeRound {
    rate: f64,
    created: Vec<String>,
}

/// `n` calls of `phase` to `POST /tickets` from `INTAKE_CLIENTS` clients, as fast as they go.
async fn intake_round(
    client: &Arc<Client>,
    key: &Arc<str>,
    bbox: [f64; 4],
    phase: &str,
    n: usize,
) -> IntakeRound {
    let created = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let elapsed = {
        let (client, key, created) = (client.clone(), key.clone(), created.clone());
        let phase: Arc<str> = phase.into();
        closed_loop(n, INTAKE_CLIENTS, move |i| {
            let (client, key, created, phase) =
                (client.clone(), key.clone(), created.clone(), phase.clone());
            async move {
                let v = record_call(&client, &key, &phase, i, bbox).await;
                created
                    .lock()
                    .unwrap()
                    .push(v["id"].as_str().unwrap().to_string());
            }
        })
        .await
    };
    let created = std::mem::take(&mut *created.lock().unwrap());
    IntakeRound {
        rate: n as f64 / elapsed.as_secs_f64(),
        created,
    }
}

/// The raw ceiling: the rows of one routed intake, written again directly.
struct RawIntake {
    template: Arc<TicketRow>,
    events: Arc<Vec<EventRow>>,
    outbox: Arc<Vec<NotificationRow>>,
    /// Who the HTTP intakes were routed to; the raw rows go round them the same way.
    assignees: Arc<Vec<String>>,
}

impl RawIntake {
    /// Tickets/s of `n` raw intakes numbered from `from`, one transaction per ticket, by
    /// `INTAKE_CLIENTS` tasks through the server's own pool, without HTTP, routing or reads.
    async fn round(
        &self,
        db: &Db,
        state: &actix_web::web::Data<fixline::api::state::AppState>,
        from: usize,
        n: usize,
    ) -> f64 {
        let (t0, ev, nt, to) = (
            self.template.clone(),
            self.events.clone(),
            self.outbox.clone(),
            self.assignees.clone(),
        );
        let (db, clock) = (db.clone(), state.clock.clone());
        let elapsed = closed_loop(n, INTAKE_CLIENTS, move |i| {
            let (db, clock) = (db.clone(), clock.clone());
            let (t0, ev, nt, to) = (t0.clone(), ev.clone(), nt.clone(), to.clone());
            async move {
                let assignee = to[i % to.len()].clone();
                db.write(move |conn| {
                    raw_intake(conn, &t0, &ev, &nt, &assignee, from + i, clock.now_naive())
                })
                .await
                .expect("raw insert");
            }
        })
        .await;
        n as f64 / elapsed.as_secs_f64()
    }
}

/// One intake's rows written again for a new ticket assigned to `assignee`: the ticket, its
/// `created` and `assigned` events with their feed entries, and its outbox messages.
fn raw_intake(
    conn: &mut DbConn,
    t0: &TicketRow,
    events: &[EventRow],
    outbox: &[NotificationRow],
    assignee: &str,
    i: usize,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let mut t = shifted(t0, now - t0.created_at);
    t.id = format!("raw-{i:07}");
    t.assignee_id = Some(assignee.to_string());
    t.external_ref = Some(format!("RAW-{i:07}"));
    fixline::store::tickets::insert(conn, &t)?;
    // The holding the intake opens, with its own contact deadline.
    let mut holding = fixline::store::assignments::AssignmentRow::new(
        &t,
        assignee,
        now,
        t.assignment_ack_due_at.unwrap_or(now),
    );
    holding.id = format!("raw-{i:07}-a");
    fixline::store::assignments::start(conn, &holding)?;
    for (k, e) in events.iter().enumerate() {
        let e = EventRow {
            id: format!("raw-{i:07}-e{k}"),
            ticket_id: t.id.clone(),
            at: now,
            ..e.clone()
        };
        fixline::store::tickets::append_event(conn, &e)?;
        fixline::store::feed::append(
            conn,
            t.assignee_id.as_deref(),
            &t.region_id,
            &t.id,
            &e.kind,
            now,
            &e.detail,
        )?;
    }
    for (k, n) in outbox.iter().enumerate() {
        let n = NotificationRow {
            id: format!("raw-{i:07}-n{k}"),
            ..NotificationRow::pending(
                &n.region_id,
                Some(&t.id),
                n.recipient_user_id.as_deref(),
                &n.recipient_phone,
                &n.purpose,
                &n.body,
                now,
            )
        };
        fixline::store::notifications::insert(conn, &n)?;
    }
    Ok(())
}

/// `t` with every instant moved by `by`.
fn shifted(t: &TicketRow, by: chrono::Duration) -> TicketRow {
    let m = |x: Option<NaiveDateTime>| x.map(|x| x + by);
    TicketRow {
        created_at: t.created_at + by,
        updated_at: t.updated_at + by,
        assigned_at: m(t.assigned_at),
        dispatch_due_at: t.dispatch_due_at + by,
        pushed_at: m(t.pushed_at),
        ack_due_at: m(t.ack_due_at),
        assignment_ack_due_at: m(t.assignment_ack_due_at),
        acknowledged_at: m(t.acknowledged_at),
        appointment_at: m(t.appointment_at),
        arrival_due_at: m(t.arrival_due_at),
        arrived_at: m(t.arrived_at),
        promised_at: t.promised_at + by,
        original_promised_at: t.original_promised_at + by,
        resolved_at: m(t.resolved_at),
        closed_at: m(t.closed_at),
        cancelled_at: m(t.cancelled_at),
        next_deadline_at: m(t.next_deadline_at),
        ..t.clone()
    }
}

/// Inserts `n` tickets made by `row`, 500 to a statement and 20,000 to a transaction.
async fn fill(db: &Db, n: usize, row: impl Fn(usize) -> TicketRow + Send + 'static) {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        let mut i = 0;
        while i < n {
            let end = (i + 20_000).min(n);
            db.write_blocking(|conn| -> Result<(), DbError> {
                let mut j = i;
                while j < end {
                    let batch: Vec<TicketRow> = (j..(j + 500).min(end)).map(&row).collect();
                    // Multi-row inserts need the concrete backend.
                    let insert = diesel::insert_into(tickets::table).values(batch);
                    match conn {
                        DbConn::Sqlite(c) => insert.execute(c)?,
                        DbConn::Postgres(c) => insert.execute(c)?,
                    };
                    j += 500;
                }
                Ok(())
            })
            .expect("fill tickets");
            i = end;
        }
    })
    .await
    .unwrap();
}

/// Rounds of a phone's 50 queued actions on ten fresh tickets of its own, alternately as one
/// `POST /me/sync` and as 50 single requests. Answers the latency of each batch, and of each
/// round of single requests (first sent to last answered), sorted, in ms.
async fn sync_rounds(
    client: &Arc<Client>,
    key: &Arc<str>,
    admin: &str,
    template: &TicketRow,
    bbox: [f64; 4],
    sizes: Sizes,
) -> (Vec<f64>, Vec<f64>) {
    let (s, tech) = client
        .call(
            reqwest::Method::POST,
            "/admin/users",
            Auth::Bearer(admin),
            Some(json!({"username": "sync-tech", "display_name": "离线技术员", "role": "technician",
                         "password": PASSWORD, "phone": "13900009998", "region_ids": [template.region_id]})),
        )
        .await;
    assert_eq!(s, 201, "{tech}");
    let tech_id = tech["id"].as_str().unwrap().to_string();
    let dispatcher = client.login("dispatcher").await;
    let (mut batch, mut single) = (vec![], vec![]);
    for round in 0..sizes.sync_rounds * 2 {
        // A fresh token each round: a full run outlasts an access token.
        let token = client.login("sync-tech").await;
        let mut actions = vec![];
        for i in 0..10 {
            let t = record_call(client, key, &format!("sync-{round}"), i, bbox).await;
            let id = t["id"].as_str().unwrap().to_string();
            let (s, v) = client
                .call(
                    reqwest::Method::POST,
                    &format!("/tickets/{id}/assign"),
                    Auth::Bearer(&dispatcher),
                    Some(json!({"assignee_id": tech_id})),
                )
                .await;
            assert!(s == 200 || s == 409, "{v}");
            let now = chrono::Utc::now();
            let fixes = |k: i64| {
                json!({"type": "position", "action_id": format!("{round}-{i}-p{k}"),
                       "fixes": [{"lat": t["location"]["lat"], "lon": t["location"]["lon"],
                                  "at": (now - chrono::Duration::seconds(60 - k)).to_rfc3339()}]})
            };
            actions.extend([
                json!({"type": "acknowledge", "action_id": format!("{round}-{i}-a"), "ticket_id": id,
                       "appointment_at": (now + chrono::Duration::hours(2)).to_rfc3339(),
                       "contact_note": "约两小时后上门"}),
                fixes(1),
                json!({"type": "check_in", "action_id": format!("{round}-{i}-c"), "ticket_id": id,
                       "lat": t["location"]["lat"], "lon": t["location"]["lon"]}),
                fixes(2),
                json!({"type": "resolve", "action_id": format!("{round}-{i}-r"), "ticket_id": id,
                       "resolution_code": "replaced_stb"}),
            ]);
        }
        let started = Instant::now();
        if round % 2 == 0 {
            let (s, v) = client
                .call(
                    reqwest::Method::POST,
                    "/me/sync",
                    Auth::Bearer(&token),
                    Some(json!({ "actions": actions })),
                )
                .await;
            assert_eq!(s, 200, "{v}");
            let results = v["results"].as_array().expect("results");
            assert!(
                results.iter().all(|r| r["outcome"] == "applied"),
                "every queued action applied: {v}"
            );
            batch.push(started.elapsed().as_secs_f64() * 1e3);
        } else {
            for mut a in actions {
                let body = a.as_object_mut().unwrap();
                let kind = body.remove("type").unwrap();
                let action_id = body.remove("action_id").unwrap();
                let path = match (kind.as_str().unwrap(), body.remove("ticket_id")) {
                    ("position", _) => "/me/positions".to_string(),
                    ("acknowledge", Some(id)) => format!("/tickets/{}/ack", id.as_str().unwrap()),
                    ("check_in", Some(id)) => format!("/tickets/{}/check-in", id.as_str().unwrap()),
                    (_, Some(id)) => format!("/tickets/{}/resolve", id.as_str().unwrap()),
                    other => panic!("{other:?}"),
                };
                let res = client
                    .http()
                    .post(format!("{}{path}", client.0.base()))
                    .bearer_auth(&token)
                    .header("idempotency-key", action_id.as_str().unwrap())
                    .json(&a)
                    .send()
                    .await
                    .expect("a single action");
                assert_eq!(res.status(), 200, "{path}");
            }
            single.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    batch.sort_by(f64::total_cmp);
    single.sort_by(f64::total_cmp);
    (batch, single)
}
