//! Callbacks, complaints, appraisals and the monthly district report with the five-star rule.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use fixline::domain::sampling::Reason;
use fixline::store::callbacks::CallbackRow;
use fixline::store::tickets::TicketRow;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Backend, TestApp};

pub(crate) fn at(s: &str) -> NaiveDateTime {
    DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&Utc)
        .naive_utc()
}

/// A ticket as the fixture stores it: recorded at `created`, every stage on time unless
/// `resolved_on_time` says otherwise for the last one.
pub(crate) fn stored_ticket(
    id: &str,
    region_id: &str,
    district_id: &str,
    kind: &str,
    assignee: Option<&str>,
    created: NaiveDateTime,
    resolved_on_time: bool,
) -> TicketRow {
    let resolved = created + Duration::hours(2);
    let promised = if resolved_on_time {
        created + Duration::hours(24)
    } else {
        created + Duration::hours(1)
    };
    TicketRow {
        district_id: Some(district_id.into()),
        status: fixline::domain::ticket::Status::Resolved,
        external_ref: Some(format!("REF-{id}")),
        customer_name: "客户".into(),
        customer_phone: "+8613912345678".into(),
        address: "杨舍镇".into(),
        fault_category: "无信号".into(),
        fault_description: "黑屏".into(),
        updated_at: resolved,
        version: 5,
        assignee_id: assignee.map(Into::into),
        assigned_at: Some(created),
        pushed_at: Some(created + Duration::seconds(5)),
        dispatch_on_time: Some(true),
        ack_due_at: Some(created + Duration::minutes(20)),
        assignment_ack_due_at: Some(created + Duration::minutes(20)),
        acknowledged_at: Some(created + Duration::minutes(10)),
        ack_on_time: Some(true),
        appointment_at: Some(created + Duration::minutes(60)),
        arrival_due_at: Some(created + Duration::minutes(70)),
        arrived_at: Some(created + Duration::minutes(55)),
        arrival_on_time: Some(true),
        resolved_at: Some(resolved),
        resolve_on_time: Some(resolved_on_time),
        resolution_code: Some("fixed".into()),
        ..TicketRow::recorded(
            crate::helpers::fixture_id(id),
            region_id.into(),
            fixline::domain::ticket::TicketKind::parse("kind", kind).unwrap(),
            "fixture".into(),
            created,
            created + Duration::minutes(3),
            promised,
        )
    }
}

pub(crate) fn callback_for(t: &TicketRow) -> CallbackRow {
    // The row the flow writes when a resolved ticket is drawn, under a readable id.
    CallbackRow {
        id: crate::helpers::fixture_id(&format!("cb-{}", t.id)),
        ..fixline::flow::callbacks::new_callback(t, Reason::Drawn, t.resolved_at.unwrap())
    }
}

/// The rows behind one October figure of a district, through the drill-down.
async fn drill(app: &TestApp, token: &str, district_id: &str, metric: &str) -> Vec<Value> {
    let path = format!("/reports/districts/{district_id}/tickets?month=2026-10&metric={metric}");
    let a = app.get(&path, token).await;
    a.ok(200)["items"].as_array().unwrap().clone()
}

pub(crate) async fn store(app: &TestApp, tickets: Vec<TicketRow>, callbacks: Vec<CallbackRow>) {
    app.state
        .db
        .write(move |conn| -> Result<(), fixline::db::DbError> {
            for t in &tickets {
                fixline::store::tickets::insert(conn, t)?;
            }
            for c in &callbacks {
                fixline::store::callbacks::insert(conn, c)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

/// District ids by code, and their region ids.
pub(crate) async fn districts(app: &TestApp) -> BTreeMap<String, (String, String)> {
    let admin = app.login("admin").await;
    let list = app.get("/districts", &admin).await;
    list.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                (
                    d["id"].as_str().unwrap().to_string(),
                    d["region_id"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// A month of finished work in every district of the demo city, each district late on a
/// different share of its repairs and installations, with the leaders' appraisals: a month
/// whose report ranks every district, for the console's scoreboard.
pub(crate) async fn seed_month(app: &TestApp, month: &str) {
    let ds = districts(app).await;
    let start = at(&format!("{month}-05T09:00:00+08:00"));
    let mut tickets = Vec::new();
    for (i, (code, (district, region))) in ds.iter().enumerate() {
        let late = (i % 4) as i64;
        for n in 0..12 {
            let kind = if n % 3 == 0 { "install" } else { "repair" };
            tickets.push(stored_ticket(
                &format!("{month}-{code}-{n:02}"),
                region,
                district,
                kind,
                None,
                start + Duration::hours(n) + Duration::minutes(i as i64),
                n >= late,
            ));
        }
    }
    store(app, tickets, Vec::new()).await;
    let manager = app.login("manager").await;
    for (i, (district, _)) in ds.values().enumerate() {
        app.call(
            reqwest::Method::PUT,
            &format!("/districts/{district}/appraisals/{month}"),
            Some(&manager),
            Some(json!({"score": 93.0 + (i % 5) as f64})),
        )
        .await
        .ok(200);
    }
}

pub(crate) async fn user_id(app: &TestApp, username: &str) -> String {
    let admin = app.login("admin").await;
    let users = app.get("/admin/users", &admin).await;
    users.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn row<'a>(report: &'a Value, district_id: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["district_id"] == district_id)
        .unwrap_or_else(|| panic!("no row for {district_id}: {report}"))
}

fn failing(r: &Value) -> Vec<String> {
    r["league_star"]["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["clause"].as_str().unwrap().to_string())
        .collect()
}

/// Six districts built by hand for October 2026, where each five-star clause decides for one
/// of them. Hand figures (weights 10/15/15/20/20/5/15, targets 95 % for both timeliness
/// metrics, 5 points per upheld complaint):
///
/// | district | install | repair  | callbacks made / resolved | content / reached | appraisal | complaints | composite | five stars |
/// |---|---|---|---|---|---|---|---|---|
/// | A W-01 | 8/10 (rank 6) | 4/4 | 3/14 | 2/2 | 97 | — | 92.07 | no: install rank 6, 20 points behind |
/// | B W-02 | 4/4 | 199/200 (rank 6) | 1/204 | 1/1 | 96 | — | 94.92 | yes: within 0.5 of the best |
/// | C C-01 | 9/10 (rank 5) | 4/4 | 0/14 | n/a | 98 | — | 91.76 | no: below the 95 % target |
/// | D C-02 | 4/4 | 4/4 | 1/8 | 1/1 | 94.9 | — | 95.63 | no: appraisal |
/// | E E-01 | 4/4 | 4/4 | 1/8 | 1/1 | 99 | one upheld 12345 | 90.63 | no: complaint |
/// | F E-02 | 4/4 | 4/4 | 1/8 | 1/1 | 95 | one open, one dismissed | 95.63 | yes |
async fn worked_five_star_scenario(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ds = districts(&app).await;
    let d = |code: &str| ds[code].clone();
    let tech03 = user_id(&app, "tech03").await; // west
    let october = at("2026-10-10T09:00:00+08:00");
    let mut tickets = Vec::new();
    let mut callbacks = Vec::new();
    // (code, install on time, install late, repair on time, repair late)
    let plan = [
        ("A", "ZJG-W-01", 8, 2, 4, 0),
        ("B", "ZJG-W-02", 4, 0, 199, 1),
        ("C", "ZJG-C-01", 9, 1, 4, 0),
        ("D", "ZJG-C-02", 4, 0, 4, 0),
        ("E", "ZJG-E-01", 4, 0, 4, 0),
        ("F", "ZJG-E-02", 4, 0, 4, 0),
    ];
    for (name, code, i_ok, i_late, r_ok, r_late) in plan {
        let (district, region) = d(code);
        let assignee = (name == "A").then_some(tech03.as_str());
        let mut n = 0;
        for (kind, ok, late) in [("install", i_ok, i_late), ("repair", r_ok, r_late)] {
            for k in 0..ok + late {
                n += 1;
                let t = stored_ticket(
                    &format!("{name}-{n:03}"),
                    &region,
                    &district,
                    kind,
                    assignee,
                    october + Duration::minutes(n),
                    k < ok,
                );
                tickets.push(t);
            }
        }
    }
    let by_id = |id: &str| {
        let id = crate::helpers::fixture_id(id);
        tickets.iter().find(|t| t.id == id).unwrap().clone()
    };
    // A callback's id, from its ticket's readable name.
    let cb = |name: &str| {
        crate::helpers::fixture_id(&format!("cb-{}", crate::helpers::fixture_id(name)))
    };
    for id in [
        "A-001", "A-002", "A-003", "B-001", "D-001", "E-001", "F-001",
    ] {
        callbacks.push(callback_for(&by_id(id)));
    }
    store(&app, tickets, callbacks).await;

    let agent = app.login("agent").await;
    let result = |id: &str, outcome: &str| {
        (
            format!("/callbacks/{}/result", cb(id)),
            json!({"outcome": outcome, "ratings": {"attitude": 5, "timeliness": 4, "quality": 5}}),
        )
    };
    for (id, outcome) in [
        ("A-001", "satisfied"),
        ("A-002", "basically_satisfied"),
        ("A-003", "unreachable"),
        ("B-001", "satisfied"),
        ("D-001", "satisfied"),
        ("E-001", "basically_satisfied"),
        ("F-001", "satisfied"),
    ] {
        let (path, body) = result(id, outcome);
        app.post(&path, &agent, body).await.ok(200);
    }
    // The unreachable customer is called again when each retry is due (24 hours apart).
    for _ in 0..2 {
        app.advance(24 * 3600).await;
        let agent = app.login("agent").await;
        let (path, body) = result("A-003", "unreachable");
        app.post(&path, &agent, body).await.ok(200);
    }
    let agent = app.login("agent").await;
    let a3 = app
        .get(&format!("/callbacks/{}", cb("A-003")), &agent)
        .await;
    assert_eq!(a3.ok(200)["status"], "unreachable");
    assert_eq!(a3.ok(200)["attempts"], 3);

    // Complaints: E one 12345 complaint, upheld; F one open and one dismissed.
    let manager = app.login("manager").await;
    let complaint = |district: &str, source: &str| {
        let mut c = json!({"source": source, "district_id": district, "category": "服务态度",
               "description": "维修人员态度差", "received_at": "2026-10-20T10:00:00+08:00"});
        if source != "hotline" {
            c["reply_due_at"] = json!("2026-10-23T17:00:00+08:00");
        }
        c
    };
    let e = app
        .post("/complaints", &agent, complaint(&d("ZJG-E-01").0, "12345"))
        .await;
    let e_id = e.ok(201)["id"].as_str().unwrap().to_string();
    assert_eq!(e.ok(201)["government_hotline"], true);
    app.post(
        &format!("/complaints/{e_id}/verify"),
        &manager,
        json!({"verdict": "upheld", "deduction": 2, "note": "核实：未按约上门"}),
    )
    .await
    .ok(200);
    app.post(
        "/complaints",
        &agent,
        complaint(&d("ZJG-E-02").0, "hotline"),
    )
    .await
    .ok(201);
    let f2 = app
        .post("/complaints", &agent, complaint(&d("ZJG-E-02").0, "12315"))
        .await;
    let f2_id = f2.ok(201)["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/complaints/{f2_id}/verify"),
        &manager,
        json!({"verdict": "dismissed", "note": "用户误解资费，非服务问题"}),
    )
    .await
    .ok(200);

    for (code, score) in [
        ("ZJG-W-01", 97.0),
        ("ZJG-W-02", 96.0),
        ("ZJG-C-01", 98.0),
        ("ZJG-C-02", 94.9),
        ("ZJG-E-01", 99.0),
        ("ZJG-E-02", 95.0),
    ] {
        // A first, lower entry is replaced by the later one.
        app.call(
            reqwest::Method::PUT,
            &format!("/districts/{}/appraisals/2026-10", d(code).0),
            Some(&manager),
            Some(json!({"score": score - 10.0})),
        )
        .await
        .ok(200);
        app.call(
            reqwest::Method::PUT,
            &format!("/districts/{}/appraisals/2026-10", d(code).0),
            Some(&manager),
            Some(json!({"score": score, "note": "月度考核"})),
        )
        .await
        .ok(200);
    }

    // The complaints were recorded long overdue: their escalation runs now, not between the
    // two reads of the month.
    app.settle().await;
    let report = app
        .get("/reports/districts?month=2026-10", &manager)
        .await
        .ok(200)
        .clone();
    assert_eq!(report["ranked_among"], 6, "the other six districts are n/a");
    let metric = |code: &str, m: &str| row(&report, &d(code).0)["metrics"][m].clone();
    let ratio = |code: &str, m: &str| {
        let v = metric(code, m);
        (v["num"].as_u64().unwrap(), v["den"].as_u64().unwrap())
    };
    let expected = [
        // code, install, repair, coverage, satisfaction, composite, rank, failing clauses
        (
            "ZJG-W-01",
            (8, 10),
            (4, 4),
            (3, 14),
            (2, 2),
            92.07,
            4,
            vec!["install_timeliness"],
        ),
        (
            "ZJG-W-02",
            (4, 4),
            (199, 200),
            (1, 204),
            (1, 1),
            94.92,
            3,
            vec![],
        ),
        (
            "ZJG-C-01",
            (9, 10),
            (4, 4),
            (0, 14),
            (0, 0),
            91.76,
            5,
            vec!["install_timeliness"],
        ),
        (
            "ZJG-C-02",
            (4, 4),
            (4, 4),
            (1, 8),
            (1, 1),
            95.63,
            1,
            vec!["appraisal"],
        ),
        (
            "ZJG-E-01",
            (4, 4),
            (4, 4),
            (1, 8),
            (1, 1),
            90.63,
            6,
            vec!["complaints"],
        ),
        ("ZJG-E-02", (4, 4), (4, 4), (1, 8), (1, 1), 95.63, 1, vec![]),
    ];
    for (code, install, repair, coverage, satisfaction, composite, rank, fails) in expected {
        let r = row(&report, &d(code).0);
        assert_eq!(ratio(code, "install_timeliness"), install, "{code}");
        assert_eq!(ratio(code, "repair_timeliness"), repair, "{code}");
        assert_eq!(ratio(code, "callback_coverage"), coverage, "{code}");
        assert_eq!(ratio(code, "satisfaction"), satisfaction, "{code}");
        let n = install.1 + repair.1;
        assert_eq!(ratio(code, "dispatch"), (n, n), "{code}");
        assert_eq!(ratio(code, "contact"), (n, n), "{code}");
        assert_eq!(ratio(code, "arrival"), (n, n), "{code}");
        assert_eq!(r["composite"].as_f64().unwrap(), composite, "{code}: {r}");
        assert_eq!(r["rank"], rank, "{code}");
        assert_eq!(failing(r), fails, "{code}: {}", r["league_star"]);
        assert_eq!(r["league_star"]["eligible"], fails.is_empty(), "{code}");
    }
    assert_eq!(
        metric("ZJG-C-01", "satisfaction")["rate"],
        Value::Null,
        "n/a"
    );
    assert_eq!(metric("ZJG-W-02", "repair_timeliness")["rate"], 0.995);
    assert_eq!(metric("ZJG-W-02", "repair_timeliness")["rank"], 6);
    assert_eq!(metric("ZJG-C-01", "install_timeliness")["rank"], 5);
    assert_eq!(metric("ZJG-W-01", "install_timeliness")["rank"], 6);
    let reason = |code: &str, clause: &str| {
        row(&report, &d(code).0)["league_star"]["clauses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["clause"] == clause)
            .unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("ZJG-W-02", "repair_timeliness").contains("within 0.5"));
    assert!(reason("ZJG-C-01", "install_timeliness").contains("below the target 95.00%"));
    assert!(reason("ZJG-W-01", "install_timeliness").contains("outside the top 5"));
    assert!(reason("ZJG-C-02", "appraisal").contains("94.9 is below 95"));
    assert!(reason("ZJG-E-01", "complaints").contains("1 of them from 12345/12315"));
    assert!(reason("ZJG-E-02", "complaints").contains("1 open, 1 dismissed"));
    let e_row = row(&report, &d("ZJG-E-01").0);
    assert_eq!(e_row["complaints"]["upheld_12345_12315"], 1);
    // A district without tickets: n/a everywhere, unranked, never 100 %.
    let empty = row(&report, &d("ZJG-W-03").0);
    assert_eq!(empty["rank"], Value::Null);
    assert_eq!(empty["composite"], Value::Null);
    assert_eq!(empty["metrics"]["repair_timeliness"]["den"], 0);
    assert_eq!(empty["metrics"]["repair_timeliness"]["rate"], Value::Null);

    // Re-running the month gives the same answer.
    let again = app.get("/reports/districts?month=2026-10", &manager).await;
    assert_eq!(again.ok(200), &report);

    // The drill-down lists exactly the tickets behind a number.
    let (b_id, _) = d("ZJG-W-02");
    let items = drill(&app, &manager, &b_id, "repair_timeliness").await;
    assert_eq!(items.len(), 200);
    let late: Vec<&Value> = items
        .iter()
        .filter(|i| i["in_numerator"] == false)
        .collect();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["outcome"], "late");
    let (e_district, _) = d("ZJG-E-01");
    let items = drill(&app, &manager, &e_district, "complaints").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["source"], "12345");
    let (a_id, _) = d("ZJG-W-01");
    let items = drill(&app, &manager, &a_id, "callback_coverage").await;
    assert_eq!(items.len(), 14);
    assert_eq!(
        items.iter().filter(|i| i["in_numerator"] == true).count(),
        3
    );

    // CSV: the same table.
    let csv = app
        .call(
            reqwest::Method::GET,
            "/reports/districts?month=2026-10&format=csv",
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 13, "header and twelve districts");
    assert!(lines[0].starts_with("rank,district_code,district_name,region_id,dispatch_num"));
    let b_line = lines.iter().find(|l| l.contains("ZJG-W-02")).unwrap();
    assert!(b_line.contains(",199,200,0.9950,"), "{b_line}");
    assert!(b_line.contains(",94.92,yes,"), "{b_line}");
    let e_line = lines.iter().find(|l| l.contains("ZJG-E-01")).unwrap();
    assert!(e_line.contains(",1,1,99,90.63,no,"), "{e_line}");

    // Roll-ups: the west region sums A and B; tech03 did A's work.
    let regions = app.get("/reports/regions?month=2026-10", &manager).await;
    let west = regions.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "ZJG-W")
        .unwrap()
        .clone();
    assert_eq!(west["metrics"]["install_timeliness"]["num"], 12);
    assert_eq!(west["metrics"]["install_timeliness"]["den"], 14);
    assert_eq!(west["metrics"]["repair_timeliness"]["den"], 204);
    let techs = app
        .get("/reports/technicians?month=2026-10", &manager)
        .await;
    let items = techs.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["code"], "tech03");
    assert_eq!(items[0]["metrics"]["install_timeliness"]["num"], 8);
    assert_eq!(items[0]["metrics"]["satisfaction"]["den"], 2);

    // Scope and roles: an account manager of the east sees no report; a technician neither.
    let tech = app.login("tech03").await;
    app.get("/reports/districts?month=2026-10", &tech)
        .await
        .problem(403);
    let bad = app.get("/reports/districts?month=2026-13", &manager).await;
    assert_eq!(bad.problem(422)["field"], "month");
    let bad = app
        .get(
            &format!("/reports/districts/{a_id}/tickets?month=2026-10&metric=speed"),
            &manager,
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "metric");
}

const LAST_MINUTE: &str = "2026-11-30T23:30:00+08:00";

/// Records a repair at the current clock and has its technician acknowledge it. Answers the
/// ticket id and the technician's username.
async fn open_and_ack(app: &TestApp) -> (String, String) {
    let agent = app.login("agent").await;
    let t = app
        .post(
            "/tickets",
            &agent,
            json!({
                "kind": "repair", "customer_name": "李先生", "customer_phone": "13912345678",
                "address": "杨舍镇人民中路 1 号", "location": {"lat": 31.87, "lon": 120.55},
                "fault_category": "无信号", "fault_description": "宽带断线"
            }),
        )
        .await;
    let t = t.ok(201).clone();
    let id = t["id"].as_str().unwrap().to_string();
    let admin = app.login("admin").await;
    let assignee = app
        .get(
            &format!("/admin/users/{}", t["assignee_id"].as_str().unwrap()),
            &admin,
        )
        .await;
    let name = assignee.ok(200)["username"].as_str().unwrap().to_string();
    let tech = app.login(&name).await;
    app.post(
        &format!("/tickets/{id}/ack"),
        &tech,
        json!({"appointment_at": "2026-11-30T23:45:00+08:00", "contact_note": "已联系"}),
    )
    .await
    .ok(200);
    (id, name)
}

/// Moves the clock to `at` and resolves the ticket as its technician.
async fn resolve_at(app: &TestApp, id: &str, technician: &str, at: &str) {
    app.set_clock(at).await;
    let tech = app.login(technician).await;
    app.post(
        &format!("/tickets/{id}/resolve"),
        &tech,
        json!({"resolution_code": "fixed"}),
    )
    .await
    .ok(200);
}

/// A ticket resolved at 23:59 local on the last day of the month counts in that month; one
/// resolved a minute later counts in the next.
async fn the_last_minute_of_the_month_counts_in_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(LAST_MINUTE).await;
    let (in_november, tech_a) = open_and_ack(&app).await;
    let (in_december, tech_b) = open_and_ack(&app).await;
    resolve_at(&app, &in_november, &tech_a, "2026-11-30T23:59:00+08:00").await;
    resolve_at(&app, &in_december, &tech_b, "2026-12-01T00:00:30+08:00").await;
    let manager = app.login("manager").await;
    let sum = |report: &Value, m: &str| -> (u64, u64) {
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["metrics"][m]["num"].as_u64().unwrap(),
                    r["metrics"][m]["den"].as_u64().unwrap(),
                )
            })
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let nov = app.get("/reports/districts?month=2026-11", &manager).await;
    let nov = nov.ok(200).clone();
    assert_eq!(sum(&nov, "repair_timeliness"), (1, 1));
    assert_eq!(sum(&nov, "dispatch").1, 2, "both were recorded in November");
    let dec = app.get("/reports/districts?month=2026-12", &manager).await;
    assert_eq!(sum(dec.ok(200), "repair_timeliness"), (1, 1));
    let district = nov["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metrics"]["repair_timeliness"]["den"] == 1)
        .unwrap()["district_id"]
        .as_str()
        .unwrap()
        .to_string();
    let drill = app
        .get(
            &format!(
                "/reports/districts/{district}/tickets?month=2026-11&metric=repair_timeliness"
            ),
            &manager,
        )
        .await;
    let items = drill.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["ticket_id"], in_november);
    // The sampling decision and its reason are on the timeline.
    let agent = app.login("agent").await;
    let ev = app
        .get(&format!("/tickets/{in_november}/events"), &agent)
        .await;
    let sampling = ev.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "callback_sampling")
        .cloned()
        .expect("sampling event");
    assert!(sampling["detail"]["selected"].is_boolean(), "{sampling}");
    assert!(sampling["detail"]["draw"].is_number(), "{sampling}");
}

/// Resolves `per_day` tickets a day for `days` days, spread over `districts`, through the same
/// code the resolve action runs; then lets the clock pass midnight so each day is topped up.
/// Answers the sampled ticket ids, by district and day: (resolved, called back).
async fn sample_days(
    app: &TestApp,
    districts: &[(String, String)],
    days: u32,
    per_day: usize,
) -> (BTreeMap<(String, u32), (usize, usize)>, BTreeSet<String>) {
    app.set_clock("2026-10-01T00:00:00+08:00").await;
    let start = at("2026-10-01T08:00:00+08:00");
    for day in 0..days {
        let mut batch = Vec::new();
        for k in 0..per_day {
            let (district, region) = &districts[k % districts.len()];
            let mut t = stored_ticket(
                &format!("t-{day:02}-{k:05}"),
                region,
                district,
                "repair",
                None,
                start + Duration::days(day as i64) + Duration::seconds(k as i64),
                k % 17 != 0,
            );
            // Some late stages and escalations, which configuration forces in.
            if k % 23 == 0 {
                t.escalation_level = 1;
            }
            batch.push(t);
        }
        let flow = app.state.flow.clone();
        app.state
            .db
            .write(move |conn| -> Result<(), fixline::flow::FlowError> {
                for t in &batch {
                    fixline::store::tickets::insert(conn, t)?;
                    fixline::flow::callbacks::on_resolved(conn, &flow, t, t.resolved_at.unwrap())?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }
    // Past the last midnight: the engine closes every day.
    app.set_clock(&format!("2026-10-{:02}T00:10:00+08:00", days + 1))
        .await;
    let db = app.state.db.clone();
    let tz = app.state.config.tz;
    db.read(move |conn| -> Result<_, fixline::db::DbError> {
        let mut per = BTreeMap::new();
        let mut sampled = BTreeSet::new();
        for day in 0..days {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 10, 1 + day).unwrap();
            let (s, e) = fixline::domain::period::day_bounds(tz, date);
            for r in fixline::store::callbacks::resolved_between(conn, s, e)? {
                let entry = per
                    .entry((r.district_id.clone().unwrap(), day))
                    .or_insert((0, 0));
                entry.0 += 1;
                if r.called_back {
                    entry.1 += 1;
                    sampled.insert(r.ticket_id);
                }
            }
        }
        Ok((per, sampled))
    })
    .await
    .unwrap()
}

/// `n` square districts of the central region, made for sampling.
async fn sample_districts(app: &TestApp, n: usize) -> Vec<(String, String)> {
    let region = app.region_id("ZJG-C").await;
    let now = app.state.clock.now_naive();
    let ids: Vec<(String, String)> = (0..n)
        .map(|i| (format!("sample-district-{i:02}"), region.clone()))
        .collect();
    let rows = ids.clone();
    app.state
        .db
        .write(move |conn| -> Result<(), fixline::db::DbError> {
            for (i, (id, region)) in rows.iter().enumerate() {
                let x = 121.0 + i as f64 * 0.01;
                let square = geo::MultiPolygon(vec![geo::Polygon::new(
                    geo::LineString::from(vec![
                        (x, 30.0),
                        (x + 0.005, 30.0),
                        (x + 0.005, 30.005),
                        (x, 30.0),
                    ]),
                    vec![],
                )]);
                fixline::store::districts::insert(
                    conn,
                    &fixline::store::districts::DistrictRow {
                        id: id.clone(),
                        region_id: region.clone(),
                        code: format!("S-{i:02}"),
                        name: format!("抽样网格 {i}"),
                        boundary: fixline::store::districts::boundary_json(&square),
                        min_lon: x,
                        min_lat: 30.0,
                        max_lon: x + 0.005,
                        max_lat: 30.005,
                        leader_user_id: None,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    ids
}

/// 720 resolved tickets over 3 days in 12 districts: every district reaches 20 % every day, the
/// same inputs give the same sample, and the rate is configuration. (The sampling rule's own
/// unit tests cover the distribution at scale.)
async fn sampling_reaches_the_rate_in_every_district_every_day(backend: Backend) {
    let salt = (
        "FIXLINE_CALLBACK_SALT",
        "a-fixed-salt-for-this-test".to_string(),
    );
    let app = TestApp::spawn_with_env(backend, std::slice::from_ref(&salt)).await;
    let ds = sample_districts(&app, 12).await;
    let (per, first) = sample_days(&app, &ds, 3, 240).await;
    assert_eq!(per.len(), 36, "12 districts × 3 days");
    for ((district, day), (resolved, called)) in &per {
        assert_eq!(*resolved, 20);
        assert!(
            *called * 5 >= *resolved,
            "{district} day {day}: {called} of {resolved}"
        );
    }
    let total: usize = per.values().map(|v| v.1).sum();
    assert!(total < 720 * 40 / 100, "a sample, not everyone: {total}");
    drop(app);

    // The same tickets and salt on a fresh database: the same sample.
    let again = TestApp::spawn_with_env(backend, std::slice::from_ref(&salt)).await;
    let ds = sample_districts(&again, 12).await;
    let (_, second) = sample_days(&again, &ds, 3, 240).await;
    assert_eq!(first, second);
    drop(again);

    // Another rate.
    let half = TestApp::spawn_with_env(
        backend,
        &[salt, ("FIXLINE_CALLBACK_RATE", "50".to_string())],
    )
    .await;
    let ds = sample_districts(&half, 12).await;
    let (per, _) = sample_days(&half, &ds, 1, 240).await;
    for ((district, _), (resolved, called)) in &per {
        assert!(
            *called * 2 >= *resolved,
            "{district}: {called} of {resolved}"
        );
    }
}

/// The call center works the queue: results, retries of unreachable customers, an unsatisfied
/// customer's follow-up ticket and investigation, and the manager's verdict.
async fn callback_queue_results_and_investigation(backend: Backend) {
    let app = TestApp::spawn_with_env(backend, &[("FIXLINE_CALLBACK_RATE", "100".into())]).await;
    app.set_clock(LAST_MINUTE).await;
    let (first, tech_a) = open_and_ack(&app).await;
    let (second, tech_b) = open_and_ack(&app).await;
    resolve_at(&app, &first, &tech_a, "2026-11-30T23:50:00+08:00").await;
    resolve_at(&app, &second, &tech_b, "2026-11-30T23:55:00+08:00").await;
    // The call center calls the next morning.
    app.set_clock("2026-12-01T09:00:00+08:00").await;
    let agent = app.login("agent").await;
    let queue = app.get("/callbacks", &agent).await;
    let items = queue.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["ticket_id"], first, "due first");
    assert_eq!(items[0]["reason"], "drawn");
    assert_eq!(items[0]["ticket"]["customer"]["phone"], "+8613912345678");
    let cb1 = items[0]["id"].as_str().unwrap().to_string();
    let cb2 = items[1]["id"].as_str().unwrap().to_string();

    // Unreachable: tried again 24 hours later, then counted as unreachable.
    let r = app
        .post(
            &format!("/callbacks/{cb1}/result"),
            &agent,
            json!({"outcome": "unreachable"}),
        )
        .await;
    assert_eq!(r.ok(200)["status"], "due");
    assert_eq!(r.ok(200)["attempts"], 1);
    let queue = app.get("/callbacks", &agent).await;
    assert_eq!(
        queue.ok(200)["items"].as_array().unwrap().len(),
        1,
        "not due again yet"
    );
    // Calling again before the retry is due is not another attempt.
    let early = app
        .post(
            &format!("/callbacks/{cb1}/result"),
            &agent,
            json!({"outcome": "unreachable"}),
        )
        .await;
    assert!(
        early.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("due at"),
        "{}",
        early.text
    );
    for n in 2..=3 {
        app.advance(24 * 3600).await;
        let agent = app.login("agent").await;
        let r = app
            .post(
                &format!("/callbacks/{cb1}/result"),
                &agent,
                json!({"outcome": "unreachable"}),
            )
            .await;
        assert_eq!(r.ok(200)["attempts"], n);
    }
    let agent = app.login("agent").await;
    let done = app.get(&format!("/callbacks/{cb1}"), &agent).await;
    assert_eq!(done.ok(200)["status"], "unreachable");
    let again = app
        .post(
            &format!("/callbacks/{cb1}/result"),
            &agent,
            json!({"outcome": "satisfied"}),
        )
        .await;
    again.problem(409);

    // Bad input names the field; nothing is written.
    let bad = app
        .post(
            &format!("/callbacks/{cb2}/result"),
            &agent,
            json!({"outcome": "happy"}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "outcome");
    let bad = app
        .post(
            &format!("/callbacks/{cb2}/result"),
            &agent,
            json!({"outcome": "satisfied", "ratings": {"quality": 6}}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "ratings.quality");
    let bad = app
        .post(
            &format!("/callbacks/{cb2}/result"),
            &agent,
            json!({"outcome": "unsatisfied"}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "note");
    let tech = app.login("tech02").await;
    app.get("/callbacks", &tech).await.problem(403);

    // Unsatisfied: a follow-up ticket and an open investigation.
    let r = app
        .post(
            &format!("/callbacks/{cb2}/result"),
            &agent,
            json!({"outcome": "unsatisfied", "ratings": {"attitude": 2, "timeliness": 1, "quality": 2},
                   "note": "修好后第二天又断线"}),
        )
        .await;
    let r = r.ok(200).clone();
    assert_eq!(r["status"], "done");
    assert_eq!(r["outcome"], "unsatisfied");
    let follow_up = r["follow_up_ticket_id"].as_str().unwrap();
    let f = app.get(&format!("/tickets/{follow_up}"), &agent).await;
    let f = f.ok(200);
    assert_eq!(f["follow_up_of"], second);
    assert_eq!(f["status"], "dispatched", "routed like any new ticket");
    assert!(f["fault"]["description"]
        .as_str()
        .unwrap()
        .contains("修好后第二天又断线"));
    let complaint_id = r["complaint_id"].as_str().unwrap().to_string();
    let manager = app.login("manager").await;
    let c = app
        .get(&format!("/complaints/{complaint_id}"), &manager)
        .await;
    assert_eq!(c.ok(200)["source"], "callback");
    assert_eq!(c.ok(200)["status"], "open");

    // The manager upholds it against the technician, with a deduction; the history keeps both.
    let tech_id = app.get(&format!("/tickets/{second}"), &agent).await.ok(200)["assignee_id"]
        .as_str()
        .unwrap()
        .to_string();
    let bad = app
        .post(
            &format!("/complaints/{complaint_id}/verify"),
            &manager,
            json!({"verdict": "dismissed", "responsible_user_id": tech_id, "note": "x"}),
        )
        .await;
    assert_eq!(bad.problem(422)["field"], "responsible_user_id");
    app.post(
        &format!("/complaints/{complaint_id}/verify"),
        &agent,
        json!({"verdict": "upheld", "note": "x"}),
    )
    .await
    .problem(403);
    let v = app
        .post(
            &format!("/complaints/{complaint_id}/verify"),
            &manager,
            json!({"verdict": "upheld", "responsible_user_id": tech_id, "deduction": 3, "note": "未彻底排查线路"}),
        )
        .await;
    assert_eq!(v.ok(200)["counts_against_district"], true);
    let c = app
        .get(&format!("/complaints/{complaint_id}"), &manager)
        .await;
    let history: Vec<String> = c.ok(200)["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(history, ["received", "upheld"]);

    // November's report: both customers were called (one unreachable), the reached one was
    // unsatisfied, and the complaint (received 1 December) counts in December.
    let nov = app.get("/reports/districts?month=2026-11", &manager).await;
    let row = nov.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metrics"]["callback_coverage"]["den"] == 2)
        .unwrap()
        .clone();
    assert_eq!(row["metrics"]["callback_coverage"]["num"], 2);
    assert_eq!(row["metrics"]["satisfaction"]["num"], 0);
    assert_eq!(row["metrics"]["satisfaction"]["den"], 1);
    assert_eq!(row["complaints"]["upheld"], 0);
    let dec = app.get("/reports/districts?month=2026-12", &manager).await;
    let upheld: u64 = dec.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["complaints"]["upheld"].as_u64().unwrap())
        .sum();
    assert_eq!(upheld, 1);
    let techs = app
        .get("/reports/technicians?month=2026-12", &manager)
        .await;
    let blamed = techs.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == tech_id.as_str())
        .cloned()
        .expect("the responsible technician is in December's roll-up");
    assert_eq!(blamed["complaints"]["upheld"], 1);

    // Timeline of the ticket: sampled, then the result.
    let ev = app.get(&format!("/tickets/{second}/events"), &agent).await;
    let kinds: Vec<String> = ev.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds.ends_with(&[
            "callback_sampling".into(),
            "complaint_received".into(),
            "callback_result".into()
        ]),
        "{kinds:?}"
    );
}

both!(
    worked_five_star_scenario,
    the_last_minute_of_the_month_counts_in_it,
    sampling_reaches_the_rate_in_every_district_every_day,
    callback_queue_results_and_investigation,
);

async fn the_trend_answers_every_month_in_one_call(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_month(&app, "2026-09").await;
    seed_month(&app, "2026-10").await;
    let manager = app.login("manager").await;
    let trend = app
        .get("/reports/districts/trend?from=2026-08&to=2026-10", &manager)
        .await;
    let trend = trend.ok(200).clone();
    assert_eq!(trend["months"], json!(["2026-08", "2026-09", "2026-10"]));
    let lines = trend["items"].as_array().unwrap();
    assert_eq!(lines.len(), 12);
    for (i, month) in ["2026-08", "2026-09", "2026-10"].iter().enumerate() {
        let report = app
            .get(&format!("/reports/districts?month={month}"), &manager)
            .await;
        let report = report.ok(200).clone();
        for line in lines {
            let point = &line["points"][i];
            assert_eq!(point["month"], json!(month));
            let d = row(&report, line["district_id"].as_str().unwrap());
            assert_eq!(
                point["composite"], d["composite"],
                "{month} {}",
                line["code"]
            );
            assert_eq!(point["rank"], d["rank"]);
            assert_eq!(point["league_star"], d["league_star"]["eligible"]);
            assert_eq!(
                point["rates"]["repair_timeliness"],
                d["metrics"]["repair_timeliness"]["rate"]
            );
        }
    }
    assert!(
        lines[0]["points"][0]["composite"].is_null(),
        "August has no work"
    );
    assert_eq!(
        trend["targets"]["dispatch"].as_f64().unwrap(),
        0.98,
        "{}",
        trend["targets"]
    );

    // A region narrows it; an account manager may not read it; months are checked.
    let west = app.region_id("ZJG-W").await;
    let narrowed = app
        .get(
            &format!("/reports/districts/trend?from=2026-10&to=2026-10&region_id={west}"),
            &manager,
        )
        .await;
    let narrowed = narrowed.ok(200).clone();
    assert!(narrowed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["region_id"] == json!(west)));
    let am = app.login("am.west").await;
    app.get("/reports/districts/trend?from=2026-10&to=2026-10", &am)
        .await
        .problem(403);
    for (query, field) in [
        ("to=2026-10", "from"),
        ("from=2026-10", "to"),
        ("from=2026-10&to=2026-09", "to"),
        ("from=2024-10&to=2026-10", "to"),
        ("from=2026-13&to=2026-10", "from"),
    ] {
        let bad = app
            .get(&format!("/reports/districts/trend?{query}"), &manager)
            .await;
        assert_eq!(bad.problem(422)["field"], json!(field), "{query}");
    }
}

both!(the_trend_answers_every_month_in_one_call);
