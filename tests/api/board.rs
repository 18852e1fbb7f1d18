//! The console's live board: one event stream per open board, over the caller's regions, fed by
//! the instance's one feed reader.

use serde_json::json;

use crate::both;
use crate::helpers::{read_until, ticket_for, Backend, TestApp};

impl TestApp {
    /// Opens `GET /board/stream` as the bearer of `token`, resuming after `last_event_id`.
    pub async fn open_board(&self, token: &str, last_event_id: Option<&str>) -> reqwest::Response {
        self.open_events("/board/stream", token, last_event_id)
            .await
    }
}

/// The ids of the events in `buf` about `ticket`, in order.
fn ids_about(buf: &str, ticket: &str) -> Vec<String> {
    buf.split("\n\n")
        .filter(|frame| frame.contains(ticket))
        .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("id: ")))
        .map(str::to_string)
        .collect()
}

/// A ticket recorded by the API appears on the open boards of its region at once, with every
/// later change; a board of another region hears nothing of it;
/// a board that reconnects with `Last-Event-ID` gets what it missed; technicians have no board.
async fn the_board_hears_of_every_ticket_of_its_regions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Each region's account manager opens a board; the dispatcher (every region) opens one.
    let mut boards = Vec::new();
    for code in ["ZJG-W", "ZJG-C", "ZJG-E"] {
        let username = format!("am.{}", ["west", "city", "east"][boards.len()]);
        let token = app.login(&username).await;
        let mut res = app.open_board(&token, None).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut buf = String::new();
        assert!(read_until(&mut res, &mut buf, ": connected").await);
        boards.push((app.region_id(code).await, token, res, buf));
    }
    let dispatcher = app.login("dispatcher").await;
    let mut all = app.open_board(&dispatcher, None).await;
    let mut a = String::new();
    assert!(read_until(&mut all, &mut a, ": connected").await);

    let t = ticket_for(&app, "BOARD-1").await;
    // Its push is accepted now, not between the cancel and the replay.
    app.settle().await;
    let id = t["id"].as_str().unwrap().to_string();
    let region = t["region_id"].as_str().unwrap();
    assert!(read_until(&mut all, &mut a, "event: assigned").await, "{a}");
    let at = boards
        .iter()
        .position(|b| b.0 == region)
        .expect("the ticket's region");
    let (_, own_token, mut own, mut w) = boards.remove(at);
    assert!(read_until(&mut own, &mut w, "event: assigned").await, "{w}");
    assert!(w.contains(&id));
    assert!(w.contains(region), "events name their region");

    app.post(
        &format!("/tickets/{id}/cancel"),
        &dispatcher,
        json!({"reason": "用户已自行恢复"}),
    )
    .await
    .ok(200);
    assert!(
        read_until(&mut own, &mut w, "event: cancelled").await,
        "{w}"
    );
    // The other regions' boards heard nothing of it: the reader hands an entry to every open
    // board at once, so by now it would have arrived.
    for (_, _, mut other, mut e) in boards {
        let heard = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            read_until(&mut other, &mut e, &id),
        )
        .await;
        assert!(!matches!(heard, Ok(true)), "{e}");
    }

    // Reconnected after the first event: the rest comes again, in order.
    let seen = ids_about(&w, &id);
    assert!(seen.len() >= 2, "{w}");
    drop(own);
    let mut again = app.open_board(&own_token, Some(&seen[0])).await;
    let mut r = String::new();
    assert!(
        read_until(&mut again, &mut r, "event: cancelled").await,
        "{r}"
    );
    assert_eq!(ids_about(&r, &id), seen[1..].to_vec());

    // A technician has no board.
    let tech = app
        .login(&app.username_of(t["assignee_id"].as_str().unwrap()).await)
        .await;
    assert_eq!(app.open_board(&tech, None).await.status(), 403);
}

both!(the_board_hears_of_every_ticket_of_its_regions);
