//! `fixline simulate`: plays a day of a city against a running server over HTTP, the way its
//! users would, and checks what it did against the server's monthly report.
//!
//! The server must run with `FIXLINE_TEST_CLOCK=1` over the demo city (`serve --demo` with
//! `FIXLINE_DEMO_PASSWORD`): the simulator moves the server's clock from event to event, so a
//! day (and the days of callbacks after it) plays in minutes.
//!
//! - Calls arrive as a Poisson process over the day, plus an optional storm (many calls in a
//!   few minutes in one district, as after a cable cut), recorded through an API key like the
//!   call-center system does.
//! - Each ticket's technician acknowledges, checks in and resolves with realistic delays; a
//!   configured share is late at each stage, and some customers ask for a postponement.
//!   Technicians report their position when they arrive.
//! - Each morning the call center works the callback queue: most customers are satisfied, some
//!   cannot be reached (called again later), some are unsatisfied (a follow-up ticket, which
//!   the simulated technicians then work too, and an investigation the manager upholds).
//!
//! The simulator counts what it did per district and month — its ground truth — and compares
//! every count with the difference of the server's report before and after the run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{self, ApiClient};
use crate::domain::period::Month;
use crate::domain::scoring::Metric;
use crate::domain::ticket::TicketKind;

/// What to play.
#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// Password of the demo accounts.
    pub password: String,
    /// The local day to play.
    pub day: NaiveDate,
    /// Calls over the day (Poisson arrivals).
    pub calls: u32,
    /// Extra calls in a storm, in `storm_minutes` from 14:00, all in `storm_district`.
    pub storm_calls: u32,
    pub storm_minutes: u32,
    pub storm_district: String,
    /// Shares, percent: installations among calls, late contacts, late arrivals, late
    /// repairs, customer-requested postponements, unreachable and unsatisfied callbacks.
    pub install_pct: u32,
    pub late_contact_pct: u32,
    pub late_arrival_pct: u32,
    pub late_resolve_pct: u32,
    pub postpone_pct: u32,
    pub unreachable_pct: u32,
    pub unsatisfied_pct: u32,
    pub seed: u64,
    pub tz: Tz,
}

/// What the simulator knows it did, for one district and month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Truth {
    /// (numerator, denominator) per metric, in `Metric::ALL` order.
    metrics: [(u64, u64); 7],
    upheld: u64,
    /// Network faults restored: faults, linked calls, restored on time, restored.
    network: [u64; 4],
}

impl Truth {
    fn add(&mut self, m: Metric, hit: bool) {
        let e = &mut self.metrics[m.index()];
        e.1 += 1;
        if hit {
            e.0 += 1;
        }
    }

    /// Takes back a count: its ticket turned out to be a network fault's call.
    fn take_back(&mut self, m: Metric, hit: bool) {
        let e = &mut self.metrics[m.index()];
        e.1 -= 1;
        if hit {
            e.0 -= 1;
        }
    }
}

/// Every stage count made for a ticket (month, district code, metric, on time), so that it
/// can be taken back when the ticket is linked to a network fault and leaves those figures.
type Ledger = HashMap<String, Vec<(String, String, Metric, bool)>>;

/// Steps in time order (ties in the order they were scheduled).
#[derive(Default)]
struct Agenda {
    heap: BinaryHeap<Reverse<(DateTime<Utc>, u64)>>,
    steps: HashMap<u64, Step>,
    seq: u64,
}

impl Agenda {
    fn push(&mut self, at: DateTime<Utc>, step: Step) {
        self.seq += 1;
        self.steps.insert(self.seq, step);
        self.heap.push(Reverse((at, self.seq)));
    }

    fn pop(&mut self) -> Option<(DateTime<Utc>, Step)> {
        let Reverse((at, id)) = self.heap.pop()?;
        Some((at, self.steps.remove(&id).expect("scheduled step")))
    }
}

#[derive(Debug, Clone)]
enum Step {
    Call {
        storm: bool,
    },
    Ack(Plan),
    CheckIn(Plan),
    Postpone(Plan),
    Resolve(Plan),
    Callbacks,
    /// The dispatcher confirms a suspected network fault, and later the crew restores it.
    ConfirmFault(String),
    RestoreFault(String),
}

/// One ticket's fate, decided when it is recorded.
#[derive(Debug, Clone)]
struct Plan {
    ticket: String,
    district: Option<String>,
    kind: TicketKind,
    technician: String,
    point: (f64, f64),
    /// When it was recorded: dispatch, contact and arrival count in its month.
    recorded: DateTime<Utc>,
    appointment: DateTime<Utc>,
    promised: DateTime<Utc>,
    late_contact: bool,
    late_arrival: bool,
    late_resolve: bool,
    postpone: bool,
    /// Checked in once already (a postponed ticket is visited twice).
    arrived: bool,
}

struct Session {
    api: ApiClient,
    password: String,
    /// Username → (token, the server time it was issued).
    tokens: HashMap<String, (String, DateTime<Utc>)>,
    api_key: String,
    now: DateTime<Utc>,
    requests: u64,
    clock_moves: u64,
    /// A write since the clock last moved.
    dirty: bool,
}

impl Session {
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let token = match auth {
            Auth::User(u) => Some(self.token(u).await?),
            Auth::Key => None,
        };
        let auth = match &token {
            Some(t) => client::Auth::Bearer(t),
            None => client::Auth::Key(&self.api_key),
        };
        self.requests += 1;
        self.dirty |= method != Method::GET;
        self.api
            .call(method, path, auth, body.as_ref())
            .await
            .with_context(|| format!("calling {path}"))
    }

    /// Like `send`, but any answer other than `expect` is an error.
    async fn expect(
        &mut self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
        expect: u16,
    ) -> Result<Value> {
        let (status, v) = self.send(method.clone(), path, auth, body).await?;
        if status != expect {
            bail!("{method} {path} answered {status}: {v}");
        }
        Ok(v)
    }

    /// A fresh enough access token (they live 15 minutes of server time).
    async fn token(&mut self, username: &str) -> Result<String> {
        if let Some((t, at)) = self.tokens.get(username) {
            if self.now - *at < Duration::minutes(10) {
                return Ok(t.clone());
            }
        }
        self.requests += 1;
        let t = self
            .api
            .login(username, &self.password)
            .await
            .with_context(|| {
                format!(
                    "signing in as {username}: is this the demo city with FIXLINE_DEMO_PASSWORD?"
                )
            })?;
        self.tokens.insert(username.into(), (t.clone(), self.now));
        Ok(t)
    }

    /// Moves the server's clock (it then processes everything that came due).
    async fn set_clock(&mut self, at: DateTime<Utc>) -> Result<()> {
        if at <= self.now {
            return Ok(());
        }
        // The token is checked against the server's clock before it moves.
        let token = self.token("admin").await?;
        // What the last steps queued is sent at the time they happened, as it would be live;
        // then the clock moves and whatever came due meanwhile runs.
        let moves = [json!({"advance_s": 0}), json!({"set": at.to_rfc3339()})];
        for body in &moves[if self.dirty { 0 } else { 1 }..] {
            self.clock_moves += 1;
            self.requests += 1;
            let (status, v) = self
                .api
                .call(
                    Method::POST,
                    "/test/clock",
                    client::Auth::Bearer(&token),
                    Some(body),
                )
                .await?;
            if status != 200 {
                bail!("POST /test/clock answered {status}: {v}");
            }
        }
        self.dirty = false;
        self.now = at;
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Key,
    User(&'a str),
}

fn local(tz: Tz, day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_hms_opt(h, m, 0).expect("valid time"))
        .earliest()
        .expect("local time exists")
        .with_timezone(&Utc)
}

fn instant(v: &Value) -> Result<DateTime<Utc>> {
    let s = v.as_str().ok_or_else(|| anyhow!("not a time: {v}"))?;
    Ok(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc))
}

fn pct(rng: &mut StdRng, p: u32) -> bool {
    rng.random_range(0..100) < p
}

fn minutes(rng: &mut StdRng, lo: i64, hi: i64) -> Duration {
    Duration::seconds(rng.random_range(lo * 60..hi * 60))
}

/// A network fault with its linked calls, as the dispatcher sees it.
async fn fault_detail(s: &mut Session, id: &str) -> Result<Value> {
    s.expect(
        Method::GET,
        &format!("/network-faults/{id}"),
        Auth::User("dispatcher"),
        None,
        200,
    )
    .await
}

/// The report's counts for every district in a month.
async fn report(s: &mut Session, month: &str) -> Result<BTreeMap<String, Truth>> {
    let v = s
        .expect(
            Method::GET,
            &format!("/reports/districts?month={month}"),
            Auth::User("manager"),
            None,
            200,
        )
        .await?;
    let mut out = BTreeMap::new();
    for row in v["items"].as_array().into_iter().flatten() {
        let mut t = Truth::default();
        for m in Metric::ALL {
            let f = &row["metrics"][m.as_str()];
            t.metrics[m.index()] = (
                f["num"].as_u64().unwrap_or(0),
                f["den"].as_u64().unwrap_or(0),
            );
        }
        t.upheld = row["complaints"]["upheld"].as_u64().unwrap_or(0);
        let n = &row["network_faults"];
        for (i, k) in ["faults", "linked_calls", "restored_on_time", "restored"]
            .iter()
            .enumerate()
        {
            t.network[i] = n[k].as_u64().unwrap_or(0);
        }
        out.insert(row["code"].as_str().unwrap_or("?").to_string(), t);
    }
    Ok(out)
}

/// What the run did, and whether the server's report agrees.
#[derive(Debug)]
pub struct Summary {
    pub tickets: u64,
    pub resolved: u64,
    pub callbacks: u64,
    pub follow_ups: u64,
    pub requests: u64,
    /// Network faults restored, and the calls linked to them (resolved by the restoration).
    pub faults: u64,
    pub linked: u64,
    pub mismatches: Vec<String>,
}

/// Plays the day. Fails only when the server cannot be driven; disagreements between the
/// simulator's counts and the report are listed in the summary.
pub async fn run(o: &Options) -> Result<Summary> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut s = Session {
        api: ApiClient::new(&o.url)?,
        password: o.password.clone(),
        tokens: HashMap::new(),
        api_key: String::new(),
        now: Utc::now(),
        requests: 0,
        clock_moves: 0,
        dirty: false,
    };
    let start = local(o.tz, o.day, 0, 0);
    // The clock only moves forward from here; the route exists only on test servers.
    let (status, _) = s
        .send(
            Method::POST,
            "/test/clock",
            Auth::User("admin"),
            Some(json!({"set": start.to_rfc3339()})),
        )
        .await?;
    if status == 404 {
        bail!("the server has no test clock: start it with FIXLINE_TEST_CLOCK=1");
    }
    if status != 200 {
        bail!("POST /test/clock answered {status}");
    }
    s.now = start;
    s.tokens.clear();
    let key = s
        .expect(
            Method::POST,
            "/admin/api-keys",
            Auth::User("admin"),
            Some(json!({"name": format!("simulator {}", o.seed)})),
            201,
        )
        .await?;
    s.api_key = key["key"].as_str().unwrap_or_default().to_string();

    let districts = s
        .expect(Method::GET, "/districts", Auth::User("admin"), None, 200)
        .await?;
    let districts: Vec<Value> = districts["items"].as_array().cloned().unwrap_or_default();
    if districts.is_empty() {
        bail!("the server has no districts: run it with --demo");
    }
    let code_of: HashMap<String, String> = districts
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap_or("").to_string(),
                d["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let storm_box = districts
        .iter()
        .find(|d| d["code"] == o.storm_district.as_str())
        .map(|d| d["bbox"].clone());
    if o.storm_calls > 0 && storm_box.is_none() {
        bail!("no district {} for the storm", o.storm_district);
    }
    let users = s
        .expect(Method::GET, "/admin/users", Auth::User("admin"), None, 200)
        .await?;
    let username: HashMap<String, String> = users["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| {
            (
                u["id"].as_str().unwrap_or("").to_string(),
                u["username"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();

    let mut months: Vec<Month> = vec![Month::containing(o.tz, start)];
    let mut before: BTreeMap<String, BTreeMap<String, Truth>> = BTreeMap::new();
    for m in [months[0], months[0].next()] {
        before.insert(m.to_string(), report(&mut s, &m.to_string()).await?);
    }
    months.push(months[0].next());

    // The day's calls.
    let mut queue = Agenda::default();
    let day_len = 86_400.0;
    let mut t = 0.0;
    if o.calls > 0 {
        let mean = day_len / o.calls as f64;
        loop {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            t += -u.ln() * mean;
            if t >= day_len {
                break;
            }
            queue.push(
                start + Duration::milliseconds((t * 1000.0) as i64),
                Step::Call { storm: false },
            );
        }
    }
    let storm_start = local(o.tz, o.day, 14, 0);
    for _ in 0..o.storm_calls {
        let at = storm_start
            + Duration::milliseconds(rng.random_range(0..(o.storm_minutes.max(1) as i64 * 60_000)));
        queue.push(at, Step::Call { storm: true });
    }
    queue.push(
        local(o.tz, o.day, 9, 0) + Duration::days(1),
        Step::Callbacks,
    );

    let mut truth: BTreeMap<(String, String), Truth> = BTreeMap::new();
    let month_of = |at: DateTime<Utc>| Month::containing(o.tz, at).to_string();
    let area = {
        let b: Vec<[f64; 4]> = districts
            .iter()
            .filter_map(|d| serde_json::from_value(d["bbox"].clone()).ok())
            .collect();
        [
            b.iter().map(|x| x[0]).fold(f64::MAX, f64::min),
            b.iter().map(|x| x[1]).fold(f64::MAX, f64::min),
            b.iter().map(|x| x[2]).fold(f64::MIN, f64::max),
            b.iter().map(|x| x[3]).fold(f64::MIN, f64::max),
        ]
    };
    let mut open = 0i64;
    let mut summary = Summary {
        tickets: 0,
        resolved: 0,
        callbacks: 0,
        follow_ups: 0,
        requests: 0,
        faults: 0,
        linked: 0,
        mismatches: Vec::new(),
    };
    let mut ledger = Ledger::new();
    // Calls a network fault took over: their technicians stop, their counts are taken back.
    let mut linked: std::collections::HashSet<String> = Default::default();
    let mut faults_seen: std::collections::HashSet<String> = Default::default();
    let mut code_of_ticket: HashMap<String, String> = HashMap::new();

    while let Some((at, step)) = queue.pop() {
        s.set_clock(at).await?;
        match step {
            Step::Call { storm } => {
                let b = if storm {
                    serde_json::from_value::<[f64; 4]>(storm_box.clone().unwrap_or_default())
                        .unwrap_or(area)
                } else {
                    area
                };
                // Storm calls keep to the middle of their district's box, so they stay in it.
                let spread = if storm { 0.3..0.7 } else { 0.05..0.95 };
                let (w, h) = (b[2] - b[0], b[3] - b[1]);
                let lon = b[0] + w * rng.random_range(spread.clone());
                let lat = b[1] + h * rng.random_range(spread);
                let kind = if pct(&mut rng, o.install_pct) {
                    "install"
                } else {
                    "repair"
                };
                let n = summary.tickets + 1;
                let body = json!({
                    "kind": kind, "external_ref": format!("SIM-{}-{}-{n:06}", o.day, o.seed),
                    "customer_name": "模拟用户", "customer_phone": format!("1390000{:04}", n % 10_000),
                    "address": format!("模拟地址 {n} 号"), "location": {"lat": lat, "lon": lon},
                    "fault_category": if storm { "光缆中断" } else { "无信号" },
                    "fault_description": "模拟报修",
                });
                let t = s
                    .expect(Method::POST, "/tickets", Auth::Key, Some(body), 201)
                    .await?;
                summary.tickets += 1;
                let id = t["id"].as_str().unwrap_or_default().to_string();
                code_of_ticket.insert(id.clone(), ticket_code(&t, &code_of));
                if let Some(fault) = t["network_fault_id"].as_str() {
                    // Grouped with a network fault: the first such call raised it, and the
                    // calls before it in the storm were linked with it.
                    linked.insert(id);
                    if faults_seen.insert(fault.to_string()) {
                        let detail = fault_detail(&mut s, fault).await?;
                        for l in detail["linked"].as_array().into_iter().flatten() {
                            let lid = l["id"].as_str().unwrap_or_default().to_string();
                            for (m, code, metric, hit) in ledger.remove(&lid).unwrap_or_default() {
                                truth.entry((m, code)).or_default().take_back(metric, hit);
                            }
                            linked.insert(lid);
                        }
                        queue.push(
                            s.now + Duration::minutes(2),
                            Step::ConfirmFault(fault.into()),
                        );
                        queue.push(s.now + Duration::hours(3), Step::RestoreFault(fault.into()));
                    }
                } else if let Some(p) = plan(&t, &username, lon, lat, o, &mut rng, s.now)? {
                    open += 1;
                    let ack_at = s.now
                        + if p.late_contact {
                            minutes(&mut rng, 21, 29)
                        } else {
                            minutes(&mut rng, 1, 19)
                        };
                    record_dispatch(&mut truth, &mut ledger, &t, &code_of, &month_of(s.now));
                    queue.push(ack_at, Step::Ack(p));
                }
            }
            Step::Ack(p) | Step::CheckIn(p) | Step::Postpone(p) | Step::Resolve(p)
                if linked.contains(&p.ticket) =>
            {
                // A network fault took the call over: its restoration resolves it, and its
                // technician stops.
                open -= 1;
            }
            Step::Ack(mut p) => {
                let appointment = s.now + minutes(&mut rng, 30, 120);
                s.expect(
                    Method::POST,
                    &format!("/tickets/{}/ack", p.ticket),
                    Auth::User(&p.technician),
                    Some(json!({"appointment_at": appointment.to_rfc3339(), "contact_note": "已与用户约定上门时间"})),
                    200,
                )
                .await?;
                p.appointment = appointment;
                let m = month_of(p.recorded);
                count(
                    &mut truth,
                    &mut ledger,
                    &p,
                    &code_of,
                    &m,
                    Metric::Contact,
                    !p.late_contact,
                );
                let arrive = if p.late_arrival {
                    appointment + minutes(&mut rng, 25, 50)
                } else {
                    appointment - minutes(&mut rng, 0, 20)
                };
                queue.push(arrive.max(s.now), Step::CheckIn(p));
            }
            Step::CheckIn(mut p) => {
                let body = json!({"lat": p.point.1, "lon": p.point.0});
                s.expect(
                    Method::POST,
                    "/me/position",
                    Auth::User(&p.technician),
                    Some(body.clone()),
                    204,
                )
                .await?;
                s.expect(
                    Method::POST,
                    &format!("/tickets/{}/check-in", p.ticket),
                    Auth::User(&p.technician),
                    Some(body),
                    200,
                )
                .await?;
                if !p.arrived {
                    let m = month_of(p.recorded);
                    count(
                        &mut truth,
                        &mut ledger,
                        &p,
                        &code_of,
                        &m,
                        Metric::Arrival,
                        !p.late_arrival,
                    );
                    p.arrived = true;
                }
                if p.postpone {
                    queue.push(s.now + minutes(&mut rng, 5, 15), Step::Postpone(p));
                } else if p.late_resolve {
                    let at = p.promised + minutes(&mut rng, 10, 120);
                    queue.push(at, Step::Resolve(p));
                } else {
                    let at = (s.now + minutes(&mut rng, 20, 90)).min(p.promised);
                    queue.push(at, Step::Resolve(p));
                }
            }
            Step::Postpone(mut p) => {
                let promised = p.promised + Duration::days(1);
                let visit = s.now + Duration::hours(20);
                // The technician records the customer's wish; the dispatcher confirms it.
                let request = s
                    .expect(
                        Method::POST,
                        &format!("/tickets/{}/postpone", p.ticket),
                        Auth::User(&p.technician),
                        Some(json!({
                            "new_promised_at": promised.to_rfc3339(), "reason": "用户要求改约",
                            "new_appointment_at": visit.to_rfc3339(), "customer_requested": true,
                        })),
                        202,
                    )
                    .await?;
                let request_id = request["id"]
                    .as_str()
                    .ok_or_else(|| anyhow!("postponement request without an id: {request}"))?;
                s.expect(
                    Method::POST,
                    &format!("/tickets/{}/postponements/{request_id}/confirm", p.ticket),
                    Auth::User("dispatcher"),
                    Some(json!({"note": "已电话向用户核实"})),
                    200,
                )
                .await?;
                p.promised = promised;
                p.postpone = false;
                p.late_resolve = false;
                queue.push(visit, Step::CheckIn(p));
            }
            Step::Resolve(p) => {
                s.expect(
                    Method::POST,
                    &format!("/tickets/{}/resolve", p.ticket),
                    Auth::User(&p.technician),
                    Some(json!({"resolution_code": "fixed", "notes": "已修复"})),
                    200,
                )
                .await?;
                open -= 1;
                summary.resolved += 1;
                let metric = match p.kind {
                    TicketKind::Install => Metric::Install,
                    TicketKind::Repair => Metric::Repair,
                };
                let m = month_of(s.now);
                count(
                    &mut truth,
                    &mut ledger,
                    &p,
                    &code_of,
                    &m,
                    metric,
                    !p.late_resolve,
                );
                // Every finished ticket is in the callback coverage denominator.
                let e = truth.entry((m, district_code(&p, &code_of))).or_default();
                e.metrics[Metric::CallbackCoverage.index()].1 += 1;
            }
            Step::ConfirmFault(id) => {
                let (status, v) = s
                    .send(
                        Method::POST,
                        &format!("/network-faults/{id}/confirm"),
                        Auth::User("dispatcher"),
                        Some(json!({})),
                    )
                    .await?;
                // 409: it confirmed itself at its threshold.
                if status != 200 && status != 409 {
                    bail!("confirming network fault {id} answered {status}: {v}");
                }
            }
            Step::RestoreFault(id) => {
                let r = s
                    .expect(
                        Method::POST,
                        &format!("/network-faults/{id}/restore"),
                        Auth::User("dispatcher"),
                        Some(json!({})),
                        200,
                    )
                    .await?;
                let on_time = r["fault"]["restore_on_time"].as_bool() == Some(true);
                let detail = fault_detail(&mut s, &id).await?;
                let m = month_of(s.now);
                let mut codes = std::collections::BTreeSet::new();
                for l in detail["linked"].as_array().into_iter().flatten() {
                    if l["status"] != "resolved" {
                        continue;
                    }
                    let lid = l["id"].as_str().unwrap_or_default();
                    let code = code_of_ticket.get(lid).cloned().unwrap_or_default();
                    truth.entry((m.clone(), code.clone())).or_default().network[1] += 1;
                    codes.insert(code);
                    summary.linked += 1;
                    summary.resolved += 1;
                }
                // Once per district it had calls from, on time or late by its promise.
                for code in codes {
                    let n = &mut truth.entry((m.clone(), code)).or_default().network;
                    n[0] += 1;
                    n[2] += u64::from(on_time);
                    n[3] += 1;
                }
                summary.faults += 1;
            }
            Step::Callbacks => {
                let worked =
                    work_callbacks(&mut s, o, &mut rng, &mut truth, &code_of, &month_of).await?;
                summary.callbacks += worked.made;
                for t in worked.follow_ups {
                    summary.follow_ups += 1;
                    if let Some(p) = plan(
                        &t,
                        &username,
                        t["location"]["lon"].as_f64().unwrap_or(0.0),
                        t["location"]["lat"].as_f64().unwrap_or(0.0),
                        o,
                        &mut rng,
                        s.now,
                    )? {
                        open += 1;
                        record_dispatch(&mut truth, &mut ledger, &t, &code_of, &month_of(s.now));
                        let ack_at = s.now
                            + if p.late_contact {
                                minutes(&mut rng, 21, 29)
                            } else {
                                minutes(&mut rng, 1, 19)
                            };
                        queue.push(ack_at, Step::Ack(p));
                    }
                }
                if open > 0 || worked.outstanding > 0 {
                    queue.push(s.now + Duration::days(1), Step::Callbacks);
                }
            }
        }
    }
    summary.requests = s.requests;

    // Compare with the report: after minus before, per district and month.
    for m in months.iter().map(|m| m.to_string()) {
        let after = report(&mut s, &m).await?;
        let empty = BTreeMap::new();
        let before_m = before.get(&m).unwrap_or(&empty);
        for (code, a) in &after {
            let b = before_m.get(code).cloned().unwrap_or_default();
            let want = truth
                .get(&(m.clone(), code.clone()))
                .cloned()
                .unwrap_or_default();
            for metric in Metric::ALL {
                let i = metric.index();
                let got = (
                    a.metrics[i].0 - b.metrics[i].0,
                    a.metrics[i].1 - b.metrics[i].1,
                );
                if got != want.metrics[i] {
                    summary.mismatches.push(format!(
                        "{m} {code} {}: report {}/{}, simulator {}/{}",
                        metric.as_str(),
                        got.0,
                        got.1,
                        want.metrics[i].0,
                        want.metrics[i].1
                    ));
                }
            }
            for (i, what) in ["faults", "linked calls", "restored on time", "restored"]
                .iter()
                .enumerate()
            {
                let got = a.network[i] - b.network[i];
                if got != want.network[i] {
                    summary.mismatches.push(format!(
                        "{m} {code} network {what}: report {got}, simulator {}",
                        want.network[i]
                    ));
                }
            }
            if a.upheld - b.upheld != want.upheld {
                summary.mismatches.push(format!(
                    "{m} {code} upheld complaints: report {}, simulator {}",
                    a.upheld - b.upheld,
                    want.upheld
                ));
            }
        }
    }
    print_summary(o, &summary, &truth, &s, started.elapsed());
    Ok(summary)
}

fn district_code(p: &Plan, code_of: &HashMap<String, String>) -> String {
    p.district
        .as_ref()
        .and_then(|d| code_of.get(d).cloned())
        .unwrap_or_default()
}

fn count(
    truth: &mut BTreeMap<(String, String), Truth>,
    ledger: &mut Ledger,
    p: &Plan,
    code_of: &HashMap<String, String>,
    month: &str,
    m: Metric,
    hit: bool,
) {
    let code = district_code(p, code_of);
    ledger
        .entry(p.ticket.clone())
        .or_default()
        .push((month.to_string(), code.clone(), m, hit));
    truth
        .entry((month.to_string(), code))
        .or_default()
        .add(m, hit);
}

/// The code of the district a ticket (as the API answered it) is in.
fn ticket_code(t: &Value, code_of: &HashMap<String, String>) -> String {
    t["district_id"]
        .as_str()
        .and_then(|d| code_of.get(d).cloned())
        .unwrap_or_default()
}

fn record_dispatch(
    truth: &mut BTreeMap<(String, String), Truth>,
    ledger: &mut Ledger,
    t: &Value,
    code_of: &HashMap<String, String>,
    month: &str,
) {
    let code = ticket_code(t, code_of);
    ledger
        .entry(t["id"].as_str().unwrap_or_default().to_string())
        .or_default()
        .push((month.to_string(), code.clone(), Metric::Dispatch, true));
    // The log provider accepts at once: every pushed ticket is dispatched on time.
    truth
        .entry((month.to_string(), code))
        .or_default()
        .add(Metric::Dispatch, true);
}

/// Decides a new ticket's fate. `None` when nobody was on duty to take it.
fn plan(
    t: &Value,
    username: &HashMap<String, String>,
    lon: f64,
    lat: f64,
    o: &Options,
    rng: &mut StdRng,
    now: DateTime<Utc>,
) -> Result<Option<Plan>> {
    let Some(assignee) = t["assignee_id"].as_str() else {
        return Ok(None);
    };
    let technician = username
        .get(assignee)
        .cloned()
        .ok_or_else(|| anyhow!("unknown assignee {assignee}"))?;
    let postpone = pct(rng, o.postpone_pct);
    Ok(Some(Plan {
        ticket: t["id"].as_str().unwrap_or_default().to_string(),
        district: t["district_id"].as_str().map(String::from),
        kind: TicketKind::parse("kind", t["kind"].as_str().unwrap_or_default())?,
        technician,
        point: (lon, lat),
        recorded: now,
        appointment: now,
        promised: instant(&t["deadlines"]["promised_at"])?,
        late_contact: pct(rng, o.late_contact_pct),
        late_arrival: pct(rng, o.late_arrival_pct),
        late_resolve: !postpone && pct(rng, o.late_resolve_pct),
        postpone,
        arrived: false,
    }))
}

struct Worked {
    made: u64,
    outstanding: u64,
    follow_ups: Vec<Value>,
}

/// One morning of the call center: every due callback is called.
async fn work_callbacks(
    s: &mut Session,
    o: &Options,
    rng: &mut StdRng,
    truth: &mut BTreeMap<(String, String), Truth>,
    code_of: &HashMap<String, String>,
    month_of: &impl Fn(DateTime<Utc>) -> String,
) -> Result<Worked> {
    let mut w = Worked {
        made: 0,
        outstanding: 0,
        follow_ups: Vec::new(),
    };
    loop {
        let due = s
            .expect(
                Method::GET,
                "/callbacks?limit=500",
                Auth::User("agent"),
                None,
                200,
            )
            .await?;
        let items = due["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        for c in items {
            let id = c["id"].as_str().unwrap_or_default();
            let resolved = instant(&c["resolved_at"])?;
            let code = c["district_id"]
                .as_str()
                .and_then(|d| code_of.get(d).cloned())
                .unwrap_or_default();
            let key = (month_of(resolved), code.clone());
            let outcome = if pct(rng, o.unreachable_pct) {
                "unreachable"
            } else if pct(rng, o.unsatisfied_pct) {
                "unsatisfied"
            } else if pct(rng, 85) {
                "satisfied"
            } else {
                "basically_satisfied"
            };
            let r = s
                .expect(
                    Method::POST,
                    &format!("/callbacks/{id}/result"),
                    Auth::User("agent"),
                    Some(
                        json!({"outcome": outcome, "note": "模拟回访：维修后仍有问题",
                                "ratings": {"attitude": 5, "timeliness": 4, "quality": 4}}),
                    ),
                    200,
                )
                .await?;
            let e = truth.entry(key).or_default();
            match r["status"].as_str() {
                Some("done") => {
                    w.made += 1;
                    e.metrics[Metric::CallbackCoverage.index()].0 += 1;
                    e.add(Metric::Satisfaction, outcome != "unsatisfied");
                }
                Some("unreachable") => {
                    w.made += 1;
                    e.metrics[Metric::CallbackCoverage.index()].0 += 1;
                }
                _ => {}
            }
            if outcome == "unsatisfied" {
                if let Some(f) = r["follow_up_ticket_id"].as_str() {
                    let t = s
                        .expect(
                            Method::GET,
                            &format!("/tickets/{f}"),
                            Auth::User("admin"),
                            None,
                            200,
                        )
                        .await?;
                    w.follow_ups.push(t);
                }
                // The manager upholds the investigation: it counts in the month received.
                if let Some(cid) = r["complaint_id"].as_str() {
                    s.expect(
                        Method::POST,
                        &format!("/complaints/{cid}/verify"),
                        Auth::User("manager"),
                        Some(json!({"verdict": "upheld", "note": "模拟：核实为服务问题"})),
                        200,
                    )
                    .await?;
                    truth.entry((month_of(s.now), code)).or_default().upheld += 1;
                }
            }
        }
    }
    let waiting = s
        .expect(
            Method::GET,
            "/callbacks?due_only=false&limit=1",
            Auth::User("agent"),
            None,
            200,
        )
        .await?;
    w.outstanding = waiting["items"].as_array().map_or(0, |a| a.len() as u64);
    Ok(w)
}

fn print_summary(
    o: &Options,
    sum: &Summary,
    truth: &BTreeMap<(String, String), Truth>,
    s: &Session,
    took: std::time::Duration,
) {
    println!(
        "simulated {} ({} calls{}), seed {}",
        o.day,
        o.calls,
        if o.storm_calls > 0 {
            format!(
                ", storm of {} in {} min in {}",
                o.storm_calls, o.storm_minutes, o.storm_district
            )
        } else {
            String::new()
        },
        o.seed
    );
    println!(
        "tickets {}, resolved {}, callbacks made {}, follow-ups {}, network faults {} with {} linked calls; {} requests, {} clock moves, {:.1} s",
        sum.tickets,
        sum.resolved,
        sum.callbacks,
        sum.follow_ups,
        sum.faults,
        sum.linked,
        s.requests,
        s.clock_moves,
        took.as_secs_f64()
    );
    println!(
        "{:<8} {:<10} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "month",
        "district",
        "dispatch",
        "contact",
        "arrival",
        "install",
        "repair",
        "callbacks",
        "satisfied"
    );
    for ((m, code), t) in truth {
        let cell = |i: usize| format!("{}/{}", t.metrics[i].0, t.metrics[i].1);
        println!(
            "{:<8} {:<10} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
            m,
            code,
            cell(0),
            cell(1),
            cell(2),
            cell(3),
            cell(4),
            cell(5),
            cell(6)
        );
    }
    if sum.mismatches.is_empty() {
        println!("the server's monthly report matches every count");
    } else {
        println!(
            "{} counts differ from the server's report:",
            sum.mismatches.len()
        );
        for m in &sum.mismatches {
            println!("  {m}");
        }
    }
}
