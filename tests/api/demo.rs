//! The demo `serve --demo` opens with: the city's organisation, and its first calls worked
//! through the flow so the board shows every stage.

use crate::both;
use crate::helpers::{Backend, TestApp};

async fn the_demo_opens_with_work_on_the_board(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = app.state.db.clone();
    let now = app.state.clock.now_naive();
    for _ in 0..2 {
        let db = db.clone();
        tokio::task::spawn_blocking(move || fixline::demo::organise(&db, now))
            .await
            .unwrap()
            .expect("organise the demo city");
    }
    let holders = fixline::demo::first_calls(&app.state).await.unwrap();
    assert!(
        !holders.is_empty() && holders.iter().all(|u| u.starts_with("tech")),
        "{holders:?}"
    );
    app.settle().await;

    // The organisation, once however often it is loaded.
    let admin = app.login("admin").await;
    let units = app.get("/units", &admin).await;
    let units = units.ok(200)["items"].as_array().unwrap().clone();
    let kinds: Vec<(&str, &str, usize)> = units
        .iter()
        .map(|u| {
            (
                u["code"].as_str().unwrap(),
                u["kind"].as_str().unwrap(),
                u["member_ids"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("ZJG-C-BZ", "team", 11),
            ("ZJG-E-BZ", "team", 11),
            ("ZJG-KF", "section", 0),
            ("ZJG-KF-01", "call_center_team", 1),
            ("ZJG-LD", "leadership", 0),
            ("ZJG-W-BZ", "team", 11),
            ("ZJG-WX", "section", 0),
        ]
    );
    let west = units.iter().find(|u| u["code"] == "ZJG-W-BZ").unwrap();
    assert_eq!(
        west["head_user_id"],
        crate::scores::user_id(&app, "tech01").await.as_str()
    );

    // Calls in every stage, each pushed to its technician at once.
    let dispatcher = app.login("dispatcher").await;
    let board = app.get("/tickets?limit=100", &dispatcher).await;
    let tickets = board.ok(200)["items"].as_array().unwrap().clone();
    let mut statuses: Vec<&str> = tickets
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            "acknowledged",
            "acknowledged",
            "acknowledged",
            "dispatched",
            "dispatched",
            "dispatched",
            "on_site",
            "on_site",
            "resolved"
        ]
    );
    for t in &tickets {
        let holder = app.username_of(t["assignee_id"].as_str().unwrap()).await;
        assert!(holders.contains(&holder), "{holder} of {t}");
        assert_eq!(t["outcomes"]["dispatch"], "on_time", "{t}");
    }
}

both!(the_demo_opens_with_work_on_the_board);
