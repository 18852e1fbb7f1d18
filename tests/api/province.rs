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
                   "description": "维修人员未按约上门", "received_at": "2026-09-20T10:00:00+08:00",
                   "reply_due_at": "2026-09-23T17:00:00+08:00"}),
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

fn names(report: &Value) -> Vec<(String, bool)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["code"].as_str().unwrap().to_string(),
                u["five_star"] == true,
            )
        })
        .collect()
}

/// The demo branch's organisation, imported in one CSV: a leadership, three sections, a field
/// team, call-center teams and halls, with their heads and the field team's members.
pub(crate) async fn organisation(app: &TestApp) {
    let west = app.region_id("ZJG-W").await;
    app.add_user("gm.zjg", "manager", &[&west]).await;
    let admin = app.login("admin").await;
    let csv = "kind,code,name,branch_code,parent_code,head_username,members\n\
               leadership,ZJG-LEAD,张家港分公司班子,ZJG,,gm.zjg,\n\
               section,ZJG-MAINT,维护安装部,ZJG,ZJG-LEAD,am.west,\n\
               section,ZJG-SVC,客户服务部,ZJG,ZJG-LEAD,manager,\n\
               team,ZJG-T-W,西部维修班,ZJG,ZJG-MAINT,tech01,tech01 tech04 tech07\n\
               call_center_team,CC-1,话务一班,ZJG,ZJG-SVC,agent,\n\
               call_center_team,CC-2,话务二班,ZJG,ZJG-SVC,,\n\
               call_center_team,CC-E,宜兴话务班,YX,,,\n\
               hall,HALL-1,杨舍营业厅,ZJG,ZJG-SVC,,\n\
               hall,HALL-2,塘桥营业厅,ZJG,ZJG-SVC,,\n\
               hall,HALL-3,金港营业厅,ZJG,ZJG-SVC,,\n";
    let a = post_csv(app, "/units/import", &admin, csv).await;
    assert_eq!(a.ok(200)["created"].as_array().unwrap().len(), 10);
    // A team cannot sit under the leadership; the file is refused whole.
    let bad = "kind,code,name,branch_code,parent_code\n\
               team,ZJG-T-X,某班,ZJG,ZJG-MAINT\n\
               team,ZJG-T-Y,某班,ZJG,ZJG-LEAD\n";
    let refused = post_csv(app, "/units/import", &admin, bad).await;
    assert_eq!(refused.problem(422)["field"], "line 3: parent_id");
    let units = app.get("/units?kind=team", &admin).await;
    assert_eq!(
        units.ok(200)["items"].as_array().unwrap().len(),
        1,
        "nothing of the refused file"
    );
}

/// Call-center teams and halls by 04-(3) and 04-(4), in the worked month: the branch ZJG
/// passes the gate and its answer and online resolution clauses (92.60 % and 83.40 %, first of
/// the branches that report them); YX reported no churn for the month, so its team cannot
/// compete.
async fn teams_and_halls_by_their_own_clauses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    worked_province(&app).await;
    organisation(&app).await;
    let manager = app.login("manager").await;
    let figures = "month,unit_code,kpi,appraisal,calls,service_complaints,government_upheld,inspection_met,callback_met\n\
                   2026-09,CC-1,96,,10000,15,0,,\n\
                   2026-09,CC-2,96,,10000,16,0,,\n\
                   2026-09,CC-E,99,,10000,0,0,,\n\
                   2026-06,HALL-1,,,,,,yes,yes\n\
                   2026-05,HALL-2,,,,,,no,yes\n\
                   2026-06,HALL-3,,,,,,yes,yes\n\
                   2026-09,HALL-1,96,95,,0,0,,\n\
                   2026-09,HALL-2,99,99,,0,0,,\n\
                   2026-09,HALL-3,96,94,,0,0,,\n";
    let a = post_csv(
        &app,
        "/units/figures/import?source=省公司通报",
        &manager,
        figures,
    )
    .await;
    assert_eq!(a.ok(200)["imported"], 9);
    for (csv, field) in [
        ("month,unit_code,calls\n2026-09,HALL-1,5\n", "line 2: calls"),
        (
            "month,unit_code,appraisal\n2026-09,CC-1,90\n",
            "line 2: appraisal",
        ),
        (
            "month,unit_code,inspection_met\n2026-09,HALL-1,maybe\n",
            "line 2: inspection_met",
        ),
        ("month,unit_code,kpi\n2026-09,ZJG-T-W,90\n", "line 2: unit"),
        (
            "month,unit_code,calls,service_complaints\n2026-09,CC-1,10,11\n",
            "line 2: service_complaints",
        ),
    ] {
        let a = post_csv(&app, "/units/figures/import?source=x", &manager, csv).await;
        assert_eq!(a.problem(422)["field"], field, "{csv}");
    }

    let teams = app
        .get("/reports/five-star/teams?month=2026-09", &manager)
        .await;
    let teams = teams.ok(200).clone();
    assert_eq!(
        names(&teams),
        vec![
            ("CC-1".into(), true),
            ("CC-2".into(), false),
            ("CC-E".into(), false)
        ]
    );
    let cc1 = item(&teams, "code", "CC-1");
    assert_eq!(
        clause(cc1, "complaint_rate")["reason"],
        "15 complaint(s) about the service in 10000 calls: 0.15%, limit 0.15%"
    );
    assert_eq!(
        clause(cc1, "branch_answer_rate")["reason"],
        "branch ZJG's manual answer rate 92.60% ranks 1 in the province (top 5) and reaches the target 90.00%"
    );
    let cc2 = item(&teams, "code", "CC-2");
    assert_eq!(failing(cc2), vec!["complaint_rate"]);
    assert_eq!(
        clause(cc2, "complaint_rate")["reason"],
        "16 complaint(s) about the service in 10000 calls: 0.16%, limit 0.15%"
    );
    assert_eq!(
        clause(cc2, "complaint_rate")["evidence"],
        format!("/units/{}/figures", cc2["unit_id"].as_str().unwrap())
    );
    assert!(failing(item(&teams, "code", "CC-E")).contains(&"churn_gate"));

    let halls = app
        .get("/reports/five-star/halls?month=2026-09", &manager)
        .await;
    let halls = halls.ok(200).clone();
    assert_eq!(
        names(&halls),
        vec![
            ("HALL-1".into(), true),
            ("HALL-2".into(), false),
            ("HALL-3".into(), false)
        ]
    );
    let h1 = item(&halls, "code", "HALL-1");
    assert_eq!(h1["quarter"]["month"], "2026-06");
    assert_eq!(
        clause(h1, "score")["reason"],
        "score 95.50 (KPI 96 × 50% + service appraisal 95 × 50%) is more than 95"
    );
    let h2 = item(&halls, "code", "HALL-2");
    assert_eq!(failing(h2), vec!["quarter_gate"], "whatever its score");
    assert_eq!(
        clause(h2, "quarter_gate")["reason"],
        "not eligible this quarter: last quarter's inspection missed its target and hall callback satisfaction met its target"
    );
    let h3 = item(&halls, "code", "HALL-3");
    assert_eq!(failing(h3), vec!["score"]);
    assert_eq!(
        clause(h3, "score")["reason"],
        "score 95.00 (KPI 96 × 50% + service appraisal 94 × 50%) is not more than 95"
    );
    let csv = app
        .get(
            "/reports/five-star/halls?month=2026-09&format=csv",
            &manager,
        )
        .await;
    assert!(csv.text.starts_with("unit_code,unit_name,branch_code,five_star,failed_clauses,reasons\nHALL-1,杨舍营业厅,ZJG,yes,,"), "{}", csv.text);

    // A verified 12345 complaint fixline holds against a member of CC-1 costs it its stars.
    let admin = app.login("admin").await;
    let agent_id = crate::scores::user_id(&app, "agent").await;
    let cc1_id = cc1["unit_id"].as_str().unwrap().to_string();
    app.call(
        Method::PUT,
        &format!("/units/{cc1_id}/members/{agent_id}"),
        Some(&admin),
        None,
    )
    .await
    .ok(200);
    let agent = app.login("agent").await;
    let w01 = districts(&app).await["ZJG-W-01"].0.clone();
    let c = app
        .post(
            "/complaints",
            &agent,
            json!({"source": "12345", "district_id": w01, "category": "话务态度",
                   "description": "接线员态度差", "received_at": "2026-09-12T10:00:00+08:00",
                   "reply_due_at": "2026-09-15T17:00:00+08:00"}),
        )
        .await;
    let c = c.ok(201)["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/complaints/{c}/verify"),
        &manager,
        json!({"verdict": "upheld", "responsible_user_id": agent_id, "note": "核实"}),
    )
    .await
    .ok(200);
    let teams = app
        .get("/reports/five-star/teams?month=2026-09", &manager)
        .await;
    let cc1 = item(teams.ok(200), "code", "CC-1").clone();
    assert_eq!(failing(&cc1), vec!["government_complaints"]);
}

/// An upheld complaint climbs the chain with the configured shares; dismissed on appeal, all
/// its lines go.
async fn the_ledger_shares_a_deduction_up_the_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    organisation(&app).await;
    let ds = districts(&app).await;
    let agent = app.login("agent").await;
    let manager = app.login("manager").await;
    let tech04 = crate::scores::user_id(&app, "tech04").await;
    let tech10 = crate::scores::user_id(&app, "tech10").await;
    let complaint = |district: &str| {
        json!({"source": "12345", "district_id": district, "category": "服务态度",
               "description": "上门迟到", "received_at": "2026-09-15T10:00:00+08:00",
               "reply_due_at": "2026-09-18T17:00:00+08:00"})
    };
    let w01 = ds["ZJG-W-01"].0.clone();
    let c1 = app.post("/complaints", &agent, complaint(&w01)).await;
    let c1 = c1.ok(201)["id"].as_str().unwrap().to_string();
    let c2 = app.post("/complaints", &agent, complaint(&w01)).await;
    let c2 = c2.ok(201)["id"].as_str().unwrap().to_string();
    for (id, who, points) in [(&c1, &tech04, 2.0), (&c2, &tech10, 3.0)] {
        app.post(
            &format!("/complaints/{id}/verify"),
            &manager,
            json!({"verdict": "upheld", "responsible_user_id": who, "deduction": points, "note": "核实"}),
        )
        .await
        .ok(200);
    }
    let ledger = app.get("/reports/ledger?month=2026-09", &manager).await;
    let ledger = ledger.ok(200).clone();
    let person = |name: &str| {
        ledger["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["username"] == name)
            .unwrap_or_else(|| panic!("{name} not in {ledger}"))
            .clone()
    };
    // tech04 in the west team: 2 points, shared 100 / 50 / 30 / 20 %.
    assert_eq!(person("tech04")["points"], 2.0);
    assert_eq!(person("tech01")["points"], 1.0);
    assert_eq!(person("tech01")["lines"][0]["level"], "team_leader");
    assert_eq!(person("am.west")["points"], 0.6);
    assert_eq!(person("gm.zjg")["points"], 0.4);
    assert_eq!(person("gm.zjg")["lines"][0]["complaint_id"], c1.as_str());
    // tech10 (west, no team): the person alone.
    assert_eq!(person("tech10")["points"], 3.0);
    assert_eq!(ledger["people"].as_array().unwrap().len(), 5);
    assert_eq!(
        ledger["people"][0]["username"], "tech10",
        "most points first"
    );
    let unit = |code: &str| {
        ledger["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(
        unit("ZJG-T-W")["points"],
        3.0,
        "the person's and the leader's lines"
    );
    assert_eq!(unit("ZJG-MAINT")["points"], 0.6);
    assert_eq!(unit("ZJG-LEAD")["points"], 0.4);
    let csv = app
        .get("/reports/ledger?month=2026-09&format=csv", &manager)
        .await;
    assert_eq!(
        csv.text.lines().count(),
        1 + 5,
        "a header and a line per share"
    );
    assert!(
        csv.text.contains(",2,team_leader,tech01,ZJG-T-W,1\n"),
        "{}",
        csv.text
    );

    // On appeal the first complaint is dismissed: its four lines go.
    app.post(
        &format!("/complaints/{c1}/verify"),
        &manager,
        json!({"verdict": "dismissed", "note": "复核：客户改约，非服务责任"}),
    )
    .await
    .ok(200);
    let after = app.get("/reports/ledger?month=2026-09", &manager).await;
    let people: Vec<&str> = after.ok(200)["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["username"].as_str().unwrap())
        .collect();
    assert_eq!(people, vec!["tech10"]);
    let am = app.login("am.west").await;
    app.get("/reports/ledger?month=2026-09", &am)
        .await
        .problem(403);
}

both!(
    teams_and_halls_by_their_own_clauses,
    the_ledger_shares_a_deduction_up_the_chain
);

/// Units by JSON: kinds nest, sections are not staffed, a person is in one team, a unit in use
/// stays.
async fn units_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.login("admin").await;
    let manager = app.login("manager").await;
    let zjg = branch_id(&app, &admin, "ZJG").await;
    let cs = branch_id(&app, &admin, "CS").await;
    let unit = |body: Value| {
        let admin = admin.clone();
        let app = &app;
        async move { app.post("/units", &admin, body).await }
    };
    let section =
        unit(json!({"branch_id": zjg, "kind": "section", "code": "S", "name": "维护安装部"})).await;
    let section = section.ok(201)["id"].as_str().unwrap().to_string();
    for (body, status, field) in [
        (
            json!({"branch_id": zjg, "kind": "squad", "code": "X", "name": "x"}),
            422,
            "kind",
        ),
        (
            json!({"branch_id": "nope", "kind": "team", "code": "X", "name": "x"}),
            422,
            "branch_id",
        ),
        (
            json!({"branch_id": zjg, "kind": "section", "code": "S", "name": "x"}),
            409,
            "code",
        ),
        (
            json!({"branch_id": cs, "kind": "team", "code": "X", "name": "x", "parent_id": section}),
            422,
            "parent_id",
        ),
        (
            json!({"branch_id": zjg, "kind": "leadership", "code": "X", "name": "x", "parent_id": section}),
            422,
            "parent_id",
        ),
        (
            json!({"branch_id": zjg, "kind": "team", "code": "X", "name": "x", "head_user_id": "nobody"}),
            422,
            "head_user_id",
        ),
    ] {
        let a = unit(body.clone()).await;
        assert_eq!(a.problem(status)["field"], field, "{body}");
    }
    let a = unit(json!({"branch_id": zjg, "kind": "team", "code": "T1", "name": "一班", "parent_id": section})).await;
    let t1 = a.ok(201)["id"].as_str().unwrap().to_string();
    let a = unit(json!({"branch_id": zjg, "kind": "team", "code": "T2", "name": "二班", "parent_id": section})).await;
    let t2 = a.ok(201)["id"].as_str().unwrap().to_string();
    let tech = crate::scores::user_id(&app, "tech01").await;
    let put = |unit: &str| {
        let path = format!("/units/{unit}/members/{tech}");
        let admin = admin.clone();
        let app = &app;
        async move { app.call(Method::PUT, &path, Some(&admin), None).await }
    };
    let staffed = put(&section).await;
    assert_eq!(staffed.problem(422)["field"], "user_id");
    assert_eq!(put(&t1).await.ok(200)["member_ids"], json!([tech]));
    assert_eq!(put(&t2).await.ok(200)["member_ids"], json!([tech]));
    let t1_now = app.get(&format!("/units/{t1}"), &manager).await;
    assert_eq!(
        t1_now.ok(200)["member_ids"],
        json!([]),
        "one team at a time"
    );
    let led = app
        .patch(
            &format!("/units/{t2}"),
            &admin,
            json!({"head_user_id": tech, "name": "二班（西）"}),
        )
        .await;
    assert_eq!(led.ok(200)["head_user_id"], tech.as_str());
    let unled = app
        .patch(
            &format!("/units/{t2}"),
            &admin,
            json!({"head_user_id": null}),
        )
        .await;
    assert_eq!(unled.ok(200)["head_user_id"], Value::Null);
    app.delete(&format!("/units/{t2}"), &admin)
        .await
        .problem(409);
    app.delete(&format!("/units/{section}"), &admin)
        .await
        .problem(409);
    let out = app
        .delete(&format!("/units/{t2}/members/{tech}"), &admin)
        .await;
    assert_eq!(out.ok(200)["member_ids"], json!([]));
    app.delete(&format!("/units/{t2}/members/{tech}"), &admin)
        .await
        .problem(404);
    assert_eq!(
        app.delete(&format!("/units/{t2}"), &admin)
            .await
            .status
            .as_u16(),
        204
    );
    let figures = app
        .call(
            Method::PUT,
            &format!("/units/{t1}/figures/2026-09"),
            Some(&manager),
            Some(json!({"source": "x", "kpi": 96})),
        )
        .await;
    assert_eq!(
        figures.problem(422)["field"],
        "unit",
        "a field team's figures are fixline's own"
    );
    let teams = app.get("/units?kind=team", &manager).await;
    assert_eq!(teams.ok(200)["items"].as_array().unwrap().len(), 1);
    app.get("/units?kind=squad", &manager).await.problem(422);
    app.post(
        "/units",
        &manager,
        json!({"branch_id": zjg, "kind": "team", "code": "Z", "name": "z"}),
    )
    .await
    .problem(403);
}

both!(units_are_checked);

/// A worked team of five in August 2026, figures by hand with a volume target of 10 (the
/// contact and satisfaction parts are n/a: no holdings recorded and no callbacks), so the
/// weights in play are arrival 15, repair 20, volume 10, skill 10, knowledge 5, attitude 5:
///
/// | who | finished (on time) | appraisal | score | stars |
/// |---|---|---|---|---|
/// | tech01 | 10 (10) | 95 / 90 / 100 | 6400 / 65 = 98.46 | 5 |
/// | tech04 | 10 (8) | 90 / 90 / 90 | 5900 / 65 = 90.77 | 4 |
/// | tech07 | 5 (5) | 80 / 80 / 80 | 5600 / 65 = 86.15 | 3 |
/// | tech10 | 10 (10) | none | 4500 / 45 = 100, one upheld complaint: 90.00 | 4 |
/// | tech13 | 4 (2) | 60 / 70 / 80 | 4250 / 65 = 65.38 | 1 |
pub(crate) async fn worked_team(app: &TestApp) -> std::collections::BTreeMap<&'static str, String> {
    organisation(app).await;
    let admin = app.login("admin").await;
    let manager = app.login("manager").await;
    let units = app.get("/units?kind=team", &admin).await;
    let team = units.ok(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ds = districts(app).await;
    let (district, region) = ds["ZJG-W-01"].clone();
    let august = at("2026-08-10T09:00:00+08:00");
    let mut tickets = Vec::new();
    let mut ids = std::collections::BTreeMap::new();
    for (name, finished, on_time, appraisal) in [
        ("tech01", 10, 10, Some((95.0, 90.0, 100.0))),
        ("tech04", 10, 8, Some((90.0, 90.0, 90.0))),
        ("tech07", 5, 5, Some((80.0, 80.0, 80.0))),
        ("tech10", 10, 10, None),
        ("tech13", 4, 2, Some((60.0, 70.0, 80.0))),
    ] {
        let id = crate::scores::user_id(app, name).await;
        app.call(
            Method::PUT,
            &format!("/units/{team}/members/{id}"),
            Some(&admin),
            None,
        )
        .await
        .ok(200);
        for n in 0..finished {
            tickets.push(stored_ticket(
                &format!("{name}-{n}"),
                &region,
                &district,
                if n % 2 == 0 { "repair" } else { "install" },
                Some(&id),
                august + Duration::minutes(n),
                n < on_time,
            ));
        }
        if let Some((skill, knowledge, attitude)) = appraisal {
            // A first, lower entry is replaced by the later one.
            for score in [skill - 20.0, skill] {
                app.call(
                    Method::PUT,
                    &format!("/staff/{id}/appraisals/2026-08"),
                    Some(&manager),
                    Some(json!({"skill": score, "knowledge": knowledge, "attitude": attitude, "note": "月度考评"})),
                )
                .await
                .ok(200);
            }
        }
        ids.insert(name, id);
    }
    store(app, tickets, Vec::new()).await;
    let agent = app.login("agent").await;
    let c = app
        .post(
            "/complaints",
            &agent,
            json!({"source": "hotline", "district_id": district, "category": "服务态度",
                   "description": "态度生硬", "received_at": "2026-08-20T10:00:00+08:00"}),
        )
        .await;
    let c = c.ok(201)["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/complaints/{c}/verify"),
        &manager,
        json!({"verdict": "upheld", "responsible_user_id": ids["tech10"], "deduction": 1, "note": "核实"}),
    )
    .await
    .ok(200);
    ids
}

async fn staff_stars_of_a_worked_team(backend: Backend) {
    let app =
        TestApp::spawn_with_env(backend, &[("FIXLINE_STAFF_VOLUME_TARGET", "10".into())]).await;
    let ids = worked_team(&app).await;
    let manager = app.login("manager").await;
    let report = app
        .get("/reports/five-star/staff?month=2026-08", &manager)
        .await;
    let report = report.ok(200).clone();
    let rated: Vec<(String, f64, u64)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["score"].is_null())
        .map(|p| {
            (
                p["username"].as_str().unwrap().to_string(),
                p["score"].as_f64().unwrap(),
                p["stars"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rated,
        vec![
            ("tech01".into(), 98.46, 5),
            ("tech04".into(), 90.77, 4),
            ("tech10".into(), 90.0, 4),
            ("tech07".into(), 86.15, 3),
            ("tech13".into(), 65.38, 1),
        ],
        "the five, best first; everyone else unrated"
    );
    let tech10 = item(&report, "username", "tech10");
    assert_eq!(tech10["complaints"], 1);
    let reasons: Vec<&str> = tech10["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"1 upheld complaint(s): 10 points off"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"no appraisal recorded for the month"));
    assert!(reasons.contains(&"score 90.00: 4 star(s)"));
    let tech01 = item(&report, "username", "tech01");
    assert_eq!(
        tech01["appraisal"]["skill"], 95.0,
        "the later appraisal counts"
    );
    assert_eq!(tech01["parts"]["volume"]["value"], 100.0);
    assert_eq!(tech01["parts"]["contact"]["value"], Value::Null);
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| p["username"].as_str().unwrap().to_string())
            .collect()
    };
    let t = &report["teams"][0];
    assert_eq!(t["code"], "ZJG-T-W");
    assert_eq!(names(&t["top"]), vec!["tech01", "tech04", "tech10"]);
    assert_eq!(names(&t["bottom"]), vec!["tech13", "tech07", "tech10"]);
    let b = &report["branches"][0];
    assert_eq!(b["code"], "ZJG");
    assert_eq!(
        names(&b["top"]),
        vec!["tech01", "tech04", "tech10"],
        "the rest are unrated"
    );

    for (body, field) in [
        (
            json!({"skill": 101, "knowledge": 90, "attitude": 90}),
            "skill",
        ),
        (
            json!({"skill": 90, "knowledge": 90.123, "attitude": 90}),
            "knowledge",
        ),
    ] {
        let a = app
            .call(
                Method::PUT,
                &format!("/staff/{}/appraisals/2026-08", ids["tech01"]),
                Some(&manager),
                Some(body),
            )
            .await;
        assert_eq!(a.problem(422)["field"], field);
    }
    let east = app.region_id("ZJG-E").await;
    app.add_user("mgr.east", "manager", &[&east]).await;
    let me = app.login("mgr.east").await;
    let a = app
        .call(
            Method::PUT,
            &format!("/staff/{}/appraisals/2026-08", ids["tech01"]),
            Some(&me),
            Some(json!({"skill": 90, "knowledge": 90, "attitude": 90})),
        )
        .await;
    a.problem(404);
    let scoped = app.get("/reports/five-star/staff?month=2026-08", &me).await;
    assert!(
        scoped.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["score"].is_null()),
        "the east manager sees the east's technicians only"
    );
    // The rows behind the parts.
    let drill = |who: &str, metric: &str| {
        let path = format!(
            "/reports/five-star/staff/{}/tickets?month=2026-08&metric={metric}",
            ids[who]
        );
        let manager = manager.clone();
        let app = &app;
        async move {
            let a = app.get(&path, &manager).await;
            let items = a.ok(200)["items"].as_array().unwrap().clone();
            let hits = items.iter().filter(|i| i["in_numerator"] == true).count();
            (items.len(), hits)
        }
    };
    assert_eq!(drill("tech04", "install_timeliness").await, (5, 4));
    assert_eq!(drill("tech04", "repair_timeliness").await, (5, 4));
    assert_eq!(drill("tech13", "arrival").await, (4, 4));
    assert_eq!(drill("tech10", "complaints").await, (1, 1));
    assert_eq!(
        drill("tech01", "contact").await,
        (0, 0),
        "no holdings recorded"
    );
    let wrong = app
        .get(
            &format!(
                "/reports/five-star/staff/{}/tickets?month=2026-08&metric=dispatch",
                ids["tech01"]
            ),
            &manager,
        )
        .await;
    assert_eq!(wrong.problem(422)["field"], "metric");
    app.get(
        &format!(
            "/reports/five-star/staff/{}/tickets?month=2026-08&metric=arrival",
            ids["tech01"]
        ),
        &me,
    )
    .await
    .problem(404);
    let history = app
        .get(&format!("/staff/{}/appraisals", ids["tech01"]), &manager)
        .await;
    assert_eq!(history.ok(200)["items"].as_array().unwrap().len(), 2);
    let csv = app
        .get(
            "/reports/five-star/staff?month=2026-08&format=csv",
            &manager,
        )
        .await;
    let second = csv.text.lines().nth(1).unwrap().to_string();
    assert!(second.starts_with("tech01,"), "{second}");
    assert!(
        second.contains(",ZJG-T-W,98.46,5,n/a,100.00,100.00,n/a,100.00,95.00,90.00,100.00,0"),
        "{second}"
    );
}

both!(staff_stars_of_a_worked_team);

/// The west team's morning brief for 10 August 2026, by hand from the worked team: 39 tickets
/// recorded and finished that day, plus one open call agreed for the next morning; four
/// repairs and installations late (tech04's and tech13's two each); no complaint that day (the
/// one naming tech10 came on the 20th).
async fn a_teams_morning_brief(backend: Backend) {
    let app =
        TestApp::spawn_with_env(backend, &[("FIXLINE_STAFF_VOLUME_TARGET", "10".into())]).await;
    let ids = worked_team(&app).await;
    let ds = districts(&app).await;
    let (district, region) = ds["ZJG-W-01"].clone();
    let open = fixline::store::tickets::TicketRow {
        status: fixline::domain::ticket::Status::Acknowledged,
        appointment_at: Some(at("2026-08-11T09:30:00+08:00")),
        arrival_due_at: Some(at("2026-08-11T09:40:00+08:00")),
        arrived_at: None,
        arrival_on_time: None,
        promised_at: at("2026-08-12T09:00:00+08:00"),
        original_promised_at: at("2026-08-12T09:00:00+08:00"),
        resolved_at: None,
        resolve_on_time: None,
        resolution_code: None,
        ..stored_ticket(
            "open-call",
            &region,
            &district,
            "repair",
            Some(&ids["tech01"]),
            at("2026-08-10T18:00:00+08:00"),
            true,
        )
    };
    store(&app, vec![open.clone()], Vec::new()).await;
    let manager = app.login("manager").await;
    let admin = app.login("admin").await;
    let units = app.get("/units?kind=team", &admin).await;
    let team = units.ok(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app
        .get(&format!("/units/{team}/brief?date=2026-08-10"), &manager)
        .await;
    let b = b.ok(200).clone();
    let n = |k: &str| b[k].as_array().unwrap().len();
    assert_eq!(
        (
            n("recorded"),
            n("resolved"),
            n("late"),
            n("complaints"),
            n("appointments")
        ),
        (40, 39, 4, 0, 1)
    );
    assert_eq!(b["appointments"][0]["ticket_id"], open.id.as_str());
    assert!(b["late"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["stage"] == "resolve"
            && [ids["tech04"].as_str(), ids["tech13"].as_str()]
                .contains(&l["assignee_id"].as_str().unwrap())));
    assert_eq!(
        b["text"],
        "【晨会】西部维修班 08-10：新单40，完成39，超时4，投诉0，今日预约1。"
    );
    let later = app
        .get(&format!("/units/{team}/brief?date=2026-08-20"), &manager)
        .await;
    assert_eq!(later.ok(200)["complaints"].as_array().unwrap().len(), 1);
    // A complaint not yet verified about a ticket a member holds is in that day's brief too.
    let agent = app.login("agent").await;
    app.post(
        "/complaints",
        &agent,
        json!({"source": "hotline", "ticket_id": open.id, "category": "上门超时",
               "description": "约好上午没来", "received_at": "2026-08-10T20:00:00+08:00"}),
    )
    .await
    .ok(201);
    let again = app
        .get(&format!("/units/{team}/brief?date=2026-08-10"), &manager)
        .await;
    let again = again.ok(200).clone();
    assert_eq!(again["complaints"].as_array().unwrap().len(), 1);
    assert_eq!(again["complaints"][0]["status"], "open");
    assert!(again["text"].as_str().unwrap().contains("投诉1"));
    let bad = app
        .get(&format!("/units/{team}/brief?date=2026-08-32"), &manager)
        .await;
    assert_eq!(bad.problem(422)["field"], "date");
    let sections = app.get("/units?kind=section", &admin).await;
    let section = sections.ok(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = app
        .get(&format!("/units/{section}/brief?date=2026-08-10"), &manager)
        .await;
    assert_eq!(a.problem(422)["field"], "id");
}

both!(a_teams_morning_brief);

/// The team leader gets the brief by SMS once at 07:30 local: not at 07:29, not again at 08:00.
async fn the_morning_brief_goes_to_the_team_leader(backend: Backend) {
    let app = TestApp::spawn_with_gateway_env(
        backend,
        crate::helpers::FakeGateway::start().await,
        &[
            ("FIXLINE_STAFF_VOLUME_TARGET", "10".into()),
            ("FIXLINE_MORNING_BRIEF_AT", "07:30".into()),
        ],
    )
    .await;
    // Today's brief at the test clock's start (09:00, after 07:30) goes out before the team
    // exists, so nobody gets one until the clock is set back to August.
    app.settle().await;
    let ids = worked_team(&app).await;
    let admin = app.login("admin").await;
    let leader = app
        .get(&format!("/admin/users/{}", ids["tech01"]), &admin)
        .await;
    let phone = leader.ok(200)["phone"].as_str().unwrap().to_string();
    let gw = app.gateway.as_ref().unwrap();
    let briefs = || -> Vec<String> {
        gw.to(&phone)
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_string())
            .filter(|t| t.starts_with("【晨会】"))
            .collect()
    };
    app.set_clock("2026-08-11T07:29:00+08:00").await;
    assert_eq!(briefs(), Vec::<String>::new());
    app.set_clock("2026-08-11T07:30:00+08:00").await;
    assert_eq!(
        briefs(),
        ["【晨会】西部维修班 08-10：新单39，完成39，超时4，投诉0，今日预约0。"]
    );
    app.set_clock("2026-08-11T08:00:00+08:00").await;
    assert_eq!(briefs().len(), 1, "once a day");
    // The 20th's brief names the complaint of that day.
    app.set_clock("2026-08-21T07:45:00+08:00").await;
    let all = briefs();
    assert_eq!(all.len(), 2);
    assert!(
        all[1].contains("08-20") && all[1].contains("投诉1"),
        "{}",
        all[1]
    );
}

both!(the_morning_brief_goes_to_the_team_leader);
