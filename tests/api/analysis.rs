//! The monthly work-order analysis: counts and shares by kind, category, source and
//! resolution, the change from the month before, repeat faults and the tickets behind each.

use chrono::NaiveDateTime;
use fixline::store::tickets::TicketRow;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{fixture_id, Backend, TestApp};
use crate::scores::{at, districts, store, stored_ticket, user_id};

fn line<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {list}"))
}

fn shares_sum(list: &Value) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| (c["share"].as_f64().unwrap() * 100.0).round() as i64)
        .sum()
}

/// October 2026 in district ZJG-W-01, by hand: seven tickets (six repairs, one installation),
/// after two repairs finished in September. `a1` calls 29 days after `P` was finished, from
/// the same phone: a repeat; `b1` calls 31 days after `P2`: not; `c1` gives `P`'s address with
/// other spacing 15 days after: a repeat.
async fn work_orders_of_a_month(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ds = districts(&app).await;
    let (district, region) = ds["ZJG-W-01"].clone();
    let agent = user_id(&app, "agent").await;
    let ticket = |id: &str,
                  kind: &str,
                  category: &str,
                  created: NaiveDateTime,
                  phone: &str,
                  address: &str| {
        TicketRow {
            fault_category: category.into(),
            customer_phone: phone.into(),
            address: address.into(),
            ..stored_ticket(id, &region, &district, kind, None, created, true)
        }
    };
    let p = ticket(
        "P",
        "repair",
        "无信号",
        at("2026-09-20T08:00:00+08:00"),
        "+8613900000001",
        "人民路 1 号",
    );
    let p2 = ticket(
        "P2",
        "repair",
        "无信号",
        at("2026-09-10T08:00:00+08:00"),
        "+8613900000002",
        "塘桥 2 号",
    );
    let mut d1 = ticket(
        "d1",
        "repair",
        "无信号",
        at("2026-10-02T09:00:00+08:00"),
        "+8613900000004",
        "D 路",
    );
    d1.created_by = agent.clone();
    let mut e1 = ticket(
        "e1",
        "repair",
        "黑屏",
        at("2026-10-03T09:00:00+08:00"),
        "+8613900000005",
        "E 路",
    );
    e1.follow_up_of = Some(p.id.clone());
    let tickets = vec![
        p.clone(),
        p2,
        ticket(
            "a1",
            "repair",
            "无信号",
            at("2026-10-19T10:00:00+08:00"),
            "+8613900000001",
            "别处",
        ),
        ticket(
            "b1",
            "repair",
            "无信号",
            at("2026-10-11T10:00:00+08:00"),
            "+8613900000002",
            "塘桥 3 号",
        ),
        ticket(
            "c1",
            "repair",
            "黑屏",
            at("2026-10-05T09:00:00+08:00"),
            "+8613900000003",
            "  人民路  1 号 ",
        ),
        d1,
        e1,
        ticket(
            "f1",
            "repair",
            "无信号",
            at("2026-10-04T09:00:00+08:00"),
            "+8613900000006",
            "F 路",
        ),
        ticket(
            "g1",
            "install",
            "装机",
            at("2026-10-06T09:00:00+08:00"),
            "+8613900000007",
            "G 路",
        ),
    ];
    store(&app, tickets, Vec::new()).await;

    let manager = app.login("manager").await;
    let a = app
        .get("/reports/work-orders?month=2026-10", &manager)
        .await;
    let a = a.ok(200).clone();
    assert_eq!(
        (a["recorded"].clone(), a["previous_recorded"].clone()),
        (json!(7), json!(2))
    );
    let repair = line(&a["by_kind"], "repair");
    assert_eq!(
        (repair["count"].clone(), repair["share"].clone()),
        (json!(6), json!(85.71))
    );
    assert_eq!(
        (repair["previous"].clone(), repair["change"].clone()),
        (json!(2), json!(4))
    );
    assert_eq!(line(&a["by_kind"], "install")["share"], 14.29);
    assert_eq!(line(&a["by_category"], "无信号")["share"], 57.14);
    assert_eq!(line(&a["by_category"], "黑屏")["share"], 28.57);
    assert_eq!(line(&a["by_category"], "装机")["share"], 14.29);
    assert_eq!(line(&a["by_source"], "other")["share"], 71.43);
    assert_eq!(line(&a["by_source"], "call_center")["share"], 14.29);
    assert_eq!(
        line(&a["by_source"], "follow_up")["share"],
        14.28,
        "the odd point goes to the larger remainder first"
    );
    for dim in ["by_kind", "by_category", "by_source", "by_resolution"] {
        assert_eq!(shares_sum(&a[dim]), 10_000, "{dim} adds up to 100 %");
    }
    assert_eq!(line(&a["by_resolution"], "fixed")["count"], 7);
    let r = &a["repeats"];
    assert_eq!(
        (r["repairs"].clone(), r["repeated"].clone()),
        (json!(6), json!(2))
    );
    assert_eq!(r["rate"], 0.333333);
    assert_eq!(r["first_time_fix"], 0.666667);
    assert_eq!(r["window_days"], 30);
    let top = &a["top_repeat_addresses"][0];
    assert_eq!(top["repeats"], 1);

    // The tickets behind the counts.
    let drill = |q: &str| {
        let path = format!("/reports/work-orders/tickets?month=2026-10&{q}");
        let manager = manager.clone();
        let app = &app;
        async move { app.get(&path, &manager).await }
    };
    let rep = drill("dimension=repeat").await;
    let items = rep.ok(200)["items"].as_array().unwrap().clone();
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["ticket_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![fixture_id("c1"), fixture_id("a1")],
        "c1 (day 15) and a1 (day 29), not b1 (day 31)"
    );
    assert!(items.iter().all(|i| i["repeat_of"] == p.id.as_str()));
    let cc = drill("dimension=source&key=call_center").await;
    assert_eq!(cc.ok(200)["items"][0]["ticket_id"], fixture_id("d1"));
    let black = drill("dimension=category&key=黑屏").await;
    assert_eq!(black.ok(200)["items"].as_array().unwrap().len(), 2);
    let none = drill("dimension=resolution&key=none").await;
    assert_eq!(none.ok(200)["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        drill("dimension=colour&key=x").await.problem(422)["field"],
        "dimension"
    );
    assert_eq!(drill("dimension=kind").await.problem(422)["field"], "key");
    assert_eq!(
        drill("dimension=source&key=fax").await.problem(422)["field"],
        "key"
    );

    // A district and a region narrow it; another region's manager sees none of it.
    let d = app
        .get(
            &format!(
                "/reports/work-orders?month=2026-10&district_id={}",
                ds["ZJG-C-01"].0
            ),
            &manager,
        )
        .await;
    assert_eq!(d.ok(200)["recorded"], 0);
    let east = app.region_id("ZJG-E").await;
    app.add_user("mgr.east2", "manager", &[&east]).await;
    let me = app.login("mgr.east2").await;
    let theirs = app.get("/reports/work-orders?month=2026-10", &me).await;
    assert_eq!(theirs.ok(200)["recorded"], 0);
    app.get(
        &format!("/reports/work-orders?month=2026-10&region_id={region}"),
        &me,
    )
    .await
    .problem(403);
    app.get(
        &format!("/reports/work-orders?month=2026-10&district_id={district}"),
        &me,
    )
    .await
    .problem(404);
    let csv = app
        .get("/reports/work-orders?month=2026-10&format=csv", &manager)
        .await;
    assert!(csv
        .text
        .starts_with("dimension,key,count,share,previous,change\n"));
    assert!(
        csv.text.contains("\nkind,repair,6,85.71,2,4\n"),
        "{}",
        csv.text
    );
    assert!(
        csv.text.contains("\nrepeat,repeated,2,33.33,0,2\n"),
        "{}",
        csv.text
    );
}

both!(work_orders_of_a_month);
