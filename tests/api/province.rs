//! The province's five stars: branches, imported figures, the branch league and every grid
//! district's verdict by seed 000, 04-(1) and 04-(2).

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Answer, Backend, TestApp};
use crate::scores::{at, districts, store, stored_ticket};

/// A branch's id by code.
async fn branch_id(app: &TestApp, token: &str, code: &str) -> String {
    let list = app.get("/branches", token).await;
    list.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == code)
        .unwrap_or_else(|| panic!("no branch {code}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Posts a CSV body as a spreadsheet export would arrive.
async fn post_csv(app: &TestApp, path: &str, token: &str, csv: &str) -> Answer {
    let res = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let answer = crate::helpers::read(res).await;
    crate::contract::check(
        "POST",
        path,
        answer.status.as_u16(),
        &answer.content_type,
        &answer.text,
    );
    answer
}

fn item<'a>(report: &'a Value, key: &str, value: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {report}"))
}

fn clause<'a>(verdict: &'a Value, name: &str) -> &'a Value {
    verdict["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clause"] == name)
        .unwrap_or_else(|| panic!("no clause {name} in {verdict}"))
}

fn failing(verdict: &Value) -> Vec<&str> {
    verdict["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["clause"].as_str().unwrap())
        .collect()
}

/// The worked province of September 2026, figures by hand:
///
/// | branch | runs on | installation | maintenance | net churn |
/// |---|---|---|---|---|
/// | ZJG (regions W, C) | fixline | 69/70 = 98.57 % (6th, 0.43 behind) | 49/50 = 98.00 % (2nd) | 1.20 % (1st) |
/// | SZE (region E) | fixline | 99/100 = 99.00 % (1st) | 99/100 = 99.00 % (1st) | 4.00 % (6th) |
/// | CS | imported | 98.90 % | 96.00 % | 1.50 % |
/// | TC | imported | 98.80 % | 97.00 % | 1.60 % |
/// | KS | imported | 98.75 % | 96.50 % | 1.70 % |
/// | JY | imported | 98.70 % | 95.50 % | 1.80 % |
/// | YX | nothing imported for September: unranked | | | |
///
/// Districts: W-01 appraisal 95, five stars; W-02 94.9, fails the appraisal only; C-01 99 with
/// one verified 12345 complaint, fails that only; C-02 99, five stars; E-01 99 with the best
/// branch figures, fails the churn gate only.
/// The branches ZJG and CS of the worked month.
pub(crate) struct Worked {
    pub zjg: String,
    pub cs: String,
}

/// Builds the worked province month of the table above, checking each import on the way.
pub(crate) async fn worked_province(app: &TestApp) -> Worked {
    let admin = app.login("admin").await;
    let manager = app.login("manager").await;
    let ds = districts(app).await;
    let d = |code: &str| ds[code].clone();

    // A second branch on fixline: the east region moves into it.
    let sze = app
        .post(
            "/branches",
            &admin,
            json!({"code": "SZE", "name": "东部分公司"}),
        )
        .await;
    let sze = sze.ok(201)["id"].as_str().unwrap().to_string();
    let east = app.region_id("ZJG-E").await;
    let moved = app
        .patch(
            &format!("/regions/{east}"),
            &admin,
            json!({"branch_id": sze}),
        )
        .await;
    assert_eq!(moved.ok(200)["branch_id"], sze.as_str());
    let zjg = branch_id(app, &admin, "ZJG").await;
    let b = app.get(&format!("/branches/{zjg}"), &manager).await;
    assert_eq!(b.ok(200)["on_fixline"], true);
    assert_eq!(b.ok(200)["region_ids"].as_array().unwrap().len(), 2);

    // fixline's own September: ZJG 69/70 installations and 49/50 repairs on time, SZE 99/100 each.
    let september = at("2026-09-10T09:00:00+08:00");
    let mut tickets = Vec::new();
    let plan = [
        ("ZJG-W-01", "install", 69, 1),
        ("ZJG-C-02", "repair", 49, 1),
        ("ZJG-E-01", "install", 99, 1),
        ("ZJG-E-01", "repair", 99, 1),
    ];
    for (code, kind, ok, late) in plan {
        let (district, region) = d(code);
        for n in 0..ok + late {
            tickets.push(stored_ticket(
                &format!("{code}-{kind}-{n:03}"),
                &region,
                &district,
                kind,
                None,
                september + Duration::minutes(n),
                n < ok,
            ));
        }
    }
    store(app, tickets, Vec::new()).await;

    // The fixline branches' other figures, by hand; fixline counts their timeliness itself.
    let put = |branch: &str, body: Value| {
        let path = format!("/branches/{branch}/figures/2026-09");
        let manager = manager.clone();
        async move {
            app.call(Method::PUT, &path, Some(&manager), Some(body))
                .await
        }
    };
    let refused = put(
        &zjg,
        json!({"source": "省公司通报", "installation": 99.5, "churn": 1.2}),
    )
    .await;
    assert_eq!(refused.problem(422)["field"], "installation");
    put(
        &zjg,
        json!({"source": "省公司通报", "answer_rate": 92.6, "online_resolution": 83.4, "churn": 1.2}),
    )
    .await
    .ok(200);
    put(&sze, json!({"source": "省公司通报", "churn": 4.0}))
        .await
        .ok(200);
    let cs = branch_id(app, &admin, "CS").await;
    // A first import for CS that the CSV below replaces.
    let first = put(&cs, json!({"source": "初报", "churn": 2.5})).await;
    assert_eq!(first.ok(200)["churn"], 2.5);

    // The imported branches, by CSV: a bad line refuses the whole file.
    let bad = "month,branch_code,installation,maintenance,churn\n\
               2026-09,CS,98.90,96.00,1.50\n\
               2026-09,TC,98.80,97.00,1.6%\n";
    let a = post_csv(
        app,
        "/branches/figures/import?source=省公司通报",
        &manager,
        bad,
    )
    .await;
    assert_eq!(a.problem(422)["field"], "line 3: churn");
    let unknown = "month,branch_code,churn\n2026-09,NOPE,1.5\n";
    let a = post_csv(app, "/branches/figures/import?source=x", &manager, unknown).await;
    assert_eq!(a.problem(422)["field"], "line 2: branch_code");
    let csv = "month,branch_code,installation,maintenance,churn\n\
               2026-09,CS,98.90,96.00,1.50\n\
               2026-09,TC,98.80,97.00,1.60\n\
               2026-09,KS,98.75,96.50,1.70\n\
               2026-09,JY,98.70,95.50,1.80\n";
    let dispatcher = app.login("dispatcher").await;
    let a = post_csv(app, "/branches/figures/import?source=x", &dispatcher, csv).await;
    a.problem(403);
    let a = post_csv(
        app,
        "/branches/figures/import?source=省公司通报",
        &manager,
        csv,
    )
    .await;
    assert_eq!(a.ok(200)["imported"], 4);
    let history = app.get(&format!("/branches/{cs}/figures"), &manager).await;
    let history = history.ok(200)["items"].as_array().unwrap().clone();
    let september: Vec<&Value> = history.iter().filter(|f| f["month"] == "2026-09").collect();
    assert_eq!(september.len(), 2, "both imports are kept");
    assert_eq!(september[0]["churn"], 1.5, "newest first");
    assert_eq!(september[0]["source"], "省公司通报");

    // The district leaders' appraisals and one verified 12345 complaint.
    for (code, score) in [
        ("ZJG-W-01", 95.0),
        ("ZJG-W-02", 94.9),
        ("ZJG-C-01", 99.0),
        ("ZJG-C-02", 99.0),
        ("ZJG-E-01", 99.0),
    ] {
        app.call(
            Method::PUT,
            &format!("/districts/{}/appraisals/2026-09", d(code).0),
            Some(&manager),
            Some(json!({"score": score})),
        )
        .await
        .ok(200);
    }
    let agent = app.login("agent").await;
    let c = app
        .post(
            "/complaints",
            &agent,
            json!({"source": "12345", "district_id": d("ZJG-C-01").0, "category": "服务态度",
                   "description": "维修人员未按约上门", "received_at": "2026-09-20T10:00:00+08:00"}),
        )
        .await;
    let c = c.ok(201)["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/complaints/{c}/verify"),
        &manager,
        json!({"verdict": "upheld", "deduction": 2, "note": "核实"}),
    )
    .await
    .ok(200);

    Worked { zjg, cs }
}

async fn worked_province_month(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Worked { zjg, cs } = worked_province(&app).await;
    let manager = app.login("manager").await;

    // The league.
    let league = app.get("/reports/province?month=2026-09", &manager).await;
    let league = league.ok(200).clone();
    assert_eq!(league["rules"]["churn_top"], 5);
    let z = item(&league, "code", "ZJG");
    assert_eq!(z["on_fixline"], true);
    assert_eq!(z["installation"]["source"], "fixline");
    assert_eq!(
        (
            z["installation"]["num"].clone(),
            z["installation"]["den"].clone()
        ),
        (json!(69), json!(70))
    );
    assert_eq!(z["installation"]["rate"], 0.9857);
    assert_eq!(z["installation"]["rank"], 6);
    assert_eq!(z["installation"]["best_rate"], 0.99);
    assert_eq!(z["maintenance"]["rate"], 0.98);
    assert_eq!(z["maintenance"]["rank"], 2);
    assert_eq!(z["churn"]["rank"], 1);
    assert_eq!(z["answer_rate"]["source"], "imported");
    assert_eq!(z["churn_gate"]["passed"], true);
    let s = item(&league, "code", "SZE");
    assert_eq!(s["installation"]["rank"], 1);
    assert_eq!(s["churn"]["rank"], 6);
    assert_eq!(s["churn_gate"]["passed"], false);
    let cs_line = item(&league, "code", "CS");
    assert_eq!(cs_line["on_fixline"], false);
    assert_eq!(cs_line["churn"]["rate"], 0.015, "the later import counts");
    assert_eq!(cs_line["installation"]["rank"], 2);
    assert_eq!(cs_line["imported"]["source"], "省公司通报");
    let yx = item(&league, "code", "YX");
    assert_eq!(
        yx["installation"]["rank"],
        Value::Null,
        "nothing imported: unranked"
    );
    assert_eq!(yx["churn_gate"]["passed"], false);

    // The verdicts, every reason as figured by hand.
    let report = app
        .get("/reports/five-star/districts?month=2026-09", &manager)
        .await;
    let report = report.ok(200).clone();
    let v = |code: &str| item(&report, "code", code).clone();
    let w01 = v("ZJG-W-01");
    assert_eq!(w01["five_star"], true, "{w01}");
    assert_eq!(w01["branch_code"], "ZJG");
    assert_eq!(
        clause(&w01, "churn_gate")["reason"],
        "branch ZJG net churn 1.20% ranks 1 in the province (top 5)"
    );
    assert_eq!(
        clause(&w01, "branch_install")["reason"],
        "branch ZJG's installation timeliness 98.57% ranks 6 in the province; 0.43 points behind the first (99.00%), within 0.5"
    );
    assert_eq!(
        clause(&w01, "branch_maintenance")["reason"],
        "branch ZJG's maintenance timeliness 98.00% ranks 2 in the province (top 5) and reaches the target 95.00%"
    );
    assert_eq!(
        clause(&w01, "appraisal")["reason"],
        "the district leader's appraisal 95 is at least 95"
    );
    assert_eq!(
        clause(&w01, "complaints")["reason"],
        "no verified complaint against the district's grid staff this month"
    );
    assert_eq!(
        clause(&w01, "branch_install")["evidence"],
        format!("/reports/province/branches/{zjg}/tickets?month=2026-09&metric=install_timeliness")
    );
    let w02 = v("ZJG-W-02");
    assert_eq!(failing(&w02), vec!["appraisal"]);
    assert_eq!(
        clause(&w02, "appraisal")["reason"],
        "the district leader's appraisal 94.9 is below 95"
    );
    let c01 = v("ZJG-C-01");
    assert_eq!(failing(&c01), vec!["complaints"]);
    assert_eq!(
        clause(&c01, "complaints")["reason"],
        "1 verified complaint(s) against the district's grid staff this month, 1 of them from 12345/12315"
    );
    assert_eq!(c01["complaints"]["upheld_12345_12315"], 1);
    assert_eq!(
        v("ZJG-C-02")["five_star"],
        true,
        "the complaint fails its district only"
    );
    let e01 = v("ZJG-E-01");
    assert_eq!(failing(&e01), vec!["churn_gate"], "{e01}");
    assert_eq!(
        clause(&e01, "churn_gate")["reason"],
        "branch SZE net churn 4.00% ranks 6 in the province, outside the top 5: none of its units may compete"
    );
    assert_eq!(
        clause(&v("ZJG-W-03"), "appraisal")["reason"],
        "the district leader's appraisal is not recorded for the month"
    );
    let stars: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["five_star"] == true)
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        stars,
        vec!["ZJG-C-02", "ZJG-W-01"],
        "five-star districts first"
    );

    // The records behind a branch figure fixline counted.
    let drill = app
        .get(
            &format!(
                "/reports/province/branches/{zjg}/tickets?month=2026-09&metric=install_timeliness"
            ),
            &manager,
        )
        .await;
    let rows = drill.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 70);
    assert_eq!(
        rows.iter().filter(|r| r["in_numerator"] == true).count(),
        69
    );
    let imported = app
        .get(
            &format!(
                "/reports/province/branches/{cs}/tickets?month=2026-09&metric=install_timeliness"
            ),
            &manager,
        )
        .await;
    imported.problem(409);
    let wrong = app
        .get(
            &format!("/reports/province/branches/{zjg}/tickets?month=2026-09&metric=contact"),
            &manager,
        )
        .await;
    assert_eq!(wrong.problem(422)["field"], "metric");

    // CSV, and a manager of the west region sees only its districts.
    let csv = app
        .get(
            "/reports/five-star/districts?month=2026-09&format=csv",
            &manager,
        )
        .await;
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(lines[0].starts_with("district_code,district_name,region_id,branch_code,five_star"));
    assert!(lines[1].starts_with("ZJG-C-02,"), "{}", lines[1]);
    assert_eq!(lines.len(), 13, "a header and 12 districts");
    let province_csv = app
        .get("/reports/province?month=2026-09&format=csv", &manager)
        .await;
    assert!(province_csv
        .text
        .starts_with("branch_code,branch_name,on_fixline,installation_rate"));
    assert!(province_csv
        .text
        .contains("\nZJG,张家港分公司,true,0.9857,6,0.9800,2,"));
    let west = app.region_id("ZJG-W").await;
    app.add_user("mgr.west", "manager", &[&west]).await;
    let mw = app.login("mgr.west").await;
    let scoped = app
        .get("/reports/five-star/districts?month=2026-09", &mw)
        .await;
    let codes: Vec<&str> = scoped.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 4);
    assert!(codes.iter().all(|c| c.starts_with("ZJG-W")), "{codes:?}");
    let am = app.login("am.west").await;
    app.get("/reports/five-star/districts?month=2026-09", &am)
        .await
        .problem(403);
}

/// A region outside every branch has no place in the province; a branch with regions cannot
/// be deleted; bad figures are refused with the field.
async fn branches_and_figures_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let manager = app.login("manager").await;
    let west = app.region_id("ZJG-W").await;
    let out = app
        .patch(
            &format!("/regions/{west}"),
            &admin,
            json!({"branch_id": null}),
        )
        .await;
    assert_eq!(out.ok(200)["branch_id"], Value::Null);
    let nowhere = app
        .patch(
            &format!("/regions/{west}"),
            &admin,
            json!({"branch_id": "nope"}),
        )
        .await;
    assert_eq!(nowhere.problem(422)["field"], "branch_id");
    let report = app
        .get("/reports/five-star/districts?month=2026-09", &manager)
        .await;
    let w01 = item(report.ok(200), "code", "ZJG-W-01").clone();
    assert_eq!(failing(&w01), vec!["branch"]);
    assert_eq!(
        clause(&w01, "branch")["reason"],
        "region ZJG-W belongs to no branch, so the district has no place in the province"
    );

    let zjg = branch_id(&app, &admin, "ZJG").await;
    app.delete(&format!("/branches/{zjg}"), &admin)
        .await
        .problem(409);
    let taken = app
        .post("/branches", &admin, json!({"code": "ZJG", "name": "x"}))
        .await;
    assert_eq!(taken.problem(409)["field"], "code");
    let fresh = app
        .post(
            "/branches",
            &admin,
            json!({"code": "NEW", "name": "新分公司"}),
        )
        .await;
    let fresh = fresh.ok(201)["id"].as_str().unwrap().to_string();
    let renamed = app
        .patch(
            &format!("/branches/{fresh}"),
            &admin,
            json!({"name": "南通分公司"}),
        )
        .await;
    assert_eq!(renamed.ok(200)["name"], "南通分公司");
    app.patch(
        &format!("/branches/{fresh}"),
        &manager,
        json!({"name": "x"}),
    )
    .await
    .problem(403);
    let put = |body: Value| {
        let path = format!("/branches/{fresh}/figures/2026-09");
        let manager = manager.clone();
        let app = &app;
        async move {
            app.call(Method::PUT, &path, Some(&manager), Some(body))
                .await
        }
    };
    for (body, field) in [
        (
            json!({"source": "x", "installation": 100.5}),
            "installation",
        ),
        (
            json!({"source": "x", "installation": 98.123}),
            "installation",
        ),
        (json!({"source": "x", "answer_rate": -1}), "answer_rate"),
        (json!({"source": "x", "churn": -100.5}), "churn"),
        (json!({"source": " ", "churn": 1}), "source"),
        (json!({"source": "x"}), "churn"),
    ] {
        let a = put(body.clone()).await;
        assert_eq!(a.problem(422)["field"], field, "{body}");
    }
    let gained = put(json!({"source": "x", "churn": -0.35})).await;
    assert_eq!(
        gained.ok(200)["churn"],
        -0.35,
        "net growth is a negative churn"
    );
    let month = app
        .call(
            Method::PUT,
            &format!("/branches/{fresh}/figures/2026-13"),
            Some(&manager),
            Some(json!({"source": "x", "churn": 1})),
        )
        .await;
    assert_eq!(month.problem(422)["field"], "month");
    // Figures are kept for the record: a branch with imports stays.
    app.delete(&format!("/branches/{fresh}"), &admin)
        .await
        .problem(409);
    let empty = app
        .post(
            "/branches",
            &admin,
            json!({"code": "GONE", "name": "撤销分公司"}),
        )
        .await;
    let empty = empty.ok(201)["id"].as_str().unwrap().to_string();
    let gone = app.delete(&format!("/branches/{empty}"), &admin).await;
    assert_eq!(gone.status.as_u16(), 204);
    app.get(&format!("/branches/{empty}"), &manager)
        .await
        .problem(404);
    let no_header = post_csv(
        &app,
        "/branches/figures/import?source=x",
        &manager,
        "branch_code,churn\nCS,1\n",
    )
    .await;
    assert_eq!(no_header.problem(422)["field"], "body");
    let twice = post_csv(
        &app,
        "/branches/figures/import?source=x",
        &manager,
        "month,branch_code,churn\n2026-09,CS,1\n2026-09,CS,2\n",
    )
    .await;
    assert_eq!(twice.problem(422)["field"], "line 3: branch_code");
    let no_source = post_csv(
        &app,
        "/branches/figures/import",
        &manager,
        "month,branch_code,churn\n2026-09,CS,1\n",
    )
    .await;
    assert_eq!(no_source.problem(422)["field"], "source");
}

both!(worked_province_month, branches_and_figures_are_checked);
