//! The monthly district report at province scale on PostgreSQL: 1,000,000 tickets over two
//! months in 2,000 districts of 20 branches, with callbacks, SMS surveys (two in five tickets,
//! two thirds answered), complaints with their handling outcome, appraisals and the branches'
//! imported figures. Measures building the whole district report (every count, the
//! scores, ranks and league clauses) and the province's five-star month (the branch league and
//! every district's verdict) against a baseline measured in the same run: one bare scan
//! counting the month's tickets, the least any report over those rows must read. Prints the
//! times and their ratios.
//!
//! `cargo bench --bench monthly_report` (PostgreSQL at `FIXLINE_BENCH_PG`, default
//! `postgres://postgres@127.0.0.1:5432`; a scratch database is created and dropped). Run by
//! `cargo test --all-targets` (without `--bench`), it checks itself on 20,000 tickets instead.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

mod common;

use fixline::db::Db;
use fixline::domain::five_star::ProvinceRules;
use fixline::domain::period::Month;
use fixline::domain::scoring::Rules;
use fixline::flow::province::province_month;
use fixline::flow::report::month_report;

const DISTRICTS: i64 = 2_000;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Tickets every 5 seconds from 1 October 2026 (local): about 58 days, most of October and
/// November. Outcomes follow fixed patterns of the ticket number, so every run is alike.
const FILL: &str = r#"
INSERT INTO regions (id, code, name, created_at, updated_at)
SELECT 'r-' || r, 'R-' || r, 'region ' || r, now(), now() FROM generate_series(0, 19) r;
INSERT INTO districts (id, region_id, code, name, boundary, min_lon, min_lat, max_lon, max_lat,
                       leader_user_id, created_at, updated_at)
SELECT 'd-' || d, 'r-' || (d % 20), 'D-' || lpad(d::text, 5, '0'), 'district ' || d,
       '{"type":"MultiPolygon","coordinates":[]}', 0, 0, 0, 0, NULL, now(), now()
FROM generate_series(0, 1999) d;
INSERT INTO tickets (id, region_id, district_id, kind, status, external_ref, customer_name,
    customer_phone, address, lat, lon, account_no, fault_category, fault_description, created_by,
    created_at, updated_at, version, assignee_id, assigned_at, flagged, flag_reason,
    dispatch_due_at, pushed_at, dispatch_on_time, ack_due_at, assignment_ack_due_at,
    acknowledged_at, ack_on_time, escalation_level, appointment_at, contact_note, arrival_due_at,
    arrived_at, arrival_on_time, check_in_distance_m, check_in_far, promised_at,
    original_promised_at, postponement_count, resolved_at, resolve_on_time, resolution_code,
    resolution_notes, closed_at, cancelled_at, cancel_reason, next_deadline_at, follow_up_of)
SELECT 't-' || i, 'r-' || ((i % 2000) % 20), 'd-' || (i % 2000),
    CASE WHEN (i / 7) % 5 = 0 THEN 'install' ELSE 'repair' END, 'resolved', NULL, 'customer',
    '+8613900000000', 'address', NULL, NULL, NULL, 'fault', 'fault', 'bench',
    c, c + interval '3 hours', 4, NULL, c, false, NULL,
    c + interval '3 minutes', c + interval '20 seconds', (i * 7919) % 100 < 97,
    c + interval '20 minutes', c + interval '20 minutes', c + interval '12 minutes',
    (i * 104729) % 100 < 93, 0, c + interval '1 hour', NULL, c + interval '70 minutes',
    c + interval '65 minutes', (i * 1299709) % 100 < 90, NULL, NULL, c + interval '24 hours',
    c + interval '24 hours', 0, c + interval '3 hours', (i * 15485863) % 1000 < 955, 'fixed',
    NULL, NULL, NULL, NULL, NULL, NULL
FROM (SELECT i, timestamp '2026-09-30 16:00:00' + i * interval '{step_s} seconds' AS c
      FROM generate_series(1::bigint, {tickets}::bigint) i) s;
INSERT INTO callbacks (id, ticket_id, region_id, district_id, technician_id, resolved_at, reason,
    status, attempts, due_at, outcome, rating_attitude, rating_timeliness, rating_quality, note,
    agent_id, completed_at, follow_up_ticket_id, created_at, updated_at, version)
SELECT 'cb-' || id, id, region_id, district_id, NULL, resolved_at, 'drawn',
    CASE WHEN n % 10 = 0 THEN 'unreachable' ELSE 'done' END, 1, resolved_at,
    CASE WHEN n % 10 = 0 THEN 'unreachable' WHEN n % 17 = 0 THEN 'unsatisfied' ELSE 'satisfied' END,
    5, 5, 5, NULL, NULL, resolved_at, NULL, resolved_at, resolved_at, 1
FROM (SELECT t.*, substr(t.id, 3)::bigint AS n FROM tickets t) x WHERE n % 5 = 0;
INSERT INTO complaints (id, region_id, district_id, ticket_id, callback_id, source, category,
    description, customer_name, customer_phone, received_at, created_by, created_at, status,
    responsible_user_id, deduction, verified_by, verified_at, verification_note, version)
SELECT 'c-' || i, 'r-' || ((i % 2000) % 20), 'd-' || (i % 2000), NULL, NULL,
    CASE WHEN i % 3 = 0 THEN '12345' ELSE 'hotline' END, 'attitude', 'x', NULL, NULL,
    timestamp '2026-10-01 02:00:00' + i * interval '1 hour', 'bench', now(),
    CASE WHEN i % 2 = 0 THEN 'upheld' ELSE 'open' END, NULL, NULL, NULL, NULL, NULL, 1
FROM generate_series(1, 1200) i;
UPDATE complaints SET handled_on_time = (substr(id, 3)::bigint % 4 <> 0);
INSERT INTO sms_surveys (id, ticket_id, region_id, district_id, technician_id, customer_phone,
    resolved_at, asked_at, answer_by, outcome, rating, remark, answered_at, help_sent_at,
    follow_up_ticket_id, complaint_id)
SELECT 'sv-' || id, id, region_id, district_id, NULL, customer_phone, resolved_at, resolved_at,
    resolved_at + interval '72 hours',
    CASE WHEN n % 3 = 0 THEN NULL WHEN n % 19 = 0 THEN 'unsatisfied' ELSE 'satisfied' END,
    NULL, NULL, CASE WHEN n % 3 = 0 THEN NULL ELSE resolved_at + interval '1 hour' END,
    NULL, NULL, NULL
FROM (SELECT t.*, substr(t.id, 3)::bigint AS n FROM tickets t) x WHERE n % 5 IN (1, 2);
INSERT INTO users (id, username, display_name, phone, role, password_hash, active, created_at,
    updated_at)
VALUES ('bench-manager', 'bench-manager', 'bench', NULL, 'manager', 'x', true, now(), now());
INSERT INTO branches (id, code, name, created_at, updated_at)
SELECT 'b-' || b, 'B-' || b, 'branch ' || b, now(), now() FROM generate_series(0, 19) b;
UPDATE regions SET branch_id = 'b-' || substr(id, 3);
INSERT INTO branch_figures (id, branch_id, month, install_bp, maintenance_bp, answer_bp,
    online_resolution_bp, churn_bp, source, imported_by, imported_at)
SELECT 'bf-' || b, 'b-' || b, '2026-11', NULL, NULL, 9000 + b * 20, 8000 + b * 10, 50 + b * 7,
    'bench', 'bench-manager', now()
FROM generate_series(0, 19) b;
INSERT INTO district_appraisals (id, district_id, month, score, note, recorded_by, recorded_at)
SELECT 'a-' || d, 'd-' || d, '2026-11', 90 + (d / 20 % 10), NULL, 'bench-manager', now()
FROM generate_series(0, 1999) d;
ANALYZE;
"#;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let scratch = common::ScratchPg::create("report");
    // `cargo bench` passes --bench; `cargo test --all-targets` runs the quick check.
    let tickets = if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        20_000
    };
    run(&scratch.url, tickets);
}

fn run(url: &str, tickets: i64) {
    let db = Db::open(url, 2).expect("open and migrate");
    let mut conn = db.conn().expect("connection");
    let t = Instant::now();
    // The same two months, more sparsely in the quick check.
    let fill = FILL
        .replace("{tickets}", &tickets.to_string())
        .replace("{step_s}", &(5 * 1_000_000 / tickets).to_string());
    conn.batch_execute(&fill).expect("fill");
    println!(
        "filled {tickets} tickets in {DISTRICTS} districts in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let tz = chrono_tz::Asia::Shanghai;
    let month = Month::parse("month", "2026-11").unwrap();
    let (start, end) = month.bounds(tz);
    let rules = Rules::default();

    let province_rules = ProvinceRules::default();
    let mut base = Vec::new();
    let mut full = Vec::new();
    let mut whole = Vec::new();
    let mut month_tickets = 0;
    let mut report = None;
    let mut province = None;
    for _ in 0..5 {
        let t = Instant::now();
        let c: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM tickets WHERE created_at >= $1 AND created_at < $2",
        )
        .bind::<diesel::sql_types::Timestamp, _>(start)
        .bind::<diesel::sql_types::Timestamp, _>(end)
        .get_result(&mut **conn)
        .expect("baseline");
        base.push(t.elapsed());
        month_tickets = c.n;

        let t = Instant::now();
        report = Some(month_report(&mut conn, tz, &rules, month).expect("report"));
        full.push(t.elapsed());

        let t = Instant::now();
        province =
            Some(province_month(&mut conn, tz, &rules, &province_rules, month).expect("province"));
        whole.push(t.elapsed());
    }
    let province = province.unwrap();
    let fixline_branches = province.branches.iter().filter(|b| b.on_fixline()).count();
    let five_star = province
        .districts
        .iter()
        .filter(|d| d.verdict.eligible)
        .count();
    assert_eq!(fixline_branches, 20, "every branch runs on fixline");
    let mut failed: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in &province.districts {
        for c in d.verdict.clauses.iter().filter(|c| !c.passed) {
            *failed.entry(c.clause).or_default() += 1;
        }
    }
    assert_eq!(province.districts.len(), DISTRICTS as usize);
    let report = report.unwrap();
    let ranked = report
        .districts
        .iter()
        .filter(|d| d.standing.rank.is_some())
        .count();
    let stars = report
        .districts
        .iter()
        .filter(|d| d.standing.five_star.eligible)
        .count();
    let (b, f) = (median(base), median(full));
    let sms: u64 = report
        .districts
        .iter()
        .map(|d| d.figures.satisfaction_by.sms.den)
        .sum();
    let phone: u64 = report
        .districts
        .iter()
        .map(|d| d.figures.satisfaction_by.phone.den)
        .sum();
    assert!(sms > 0 && phone > 0, "both channels counted");
    println!(
        "month {month}: {month_tickets} tickets recorded, {ranked} districts ranked, {stars} five-star; satisfaction answers {phone} by phone, {sms} by SMS"
    );
    println!(
        "monthly report {:.0} ms, bare count scan {:.0} ms, ratio {:.1}x (median of 5)",
        f.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        f.as_secs_f64() / b.as_secs_f64()
    );
    let w = median(whole);
    println!(
        "province month: {} branches ranked, {five_star} five-star districts of {}; failed clauses {failed:?}",
        province.branches.len(),
        province.districts.len()
    );
    println!(
        "province report {:.0} ms, bare count scan {:.0} ms, ratio {:.1}x (median of 5)",
        w.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        w.as_secs_f64() / b.as_secs_f64()
    );
}
