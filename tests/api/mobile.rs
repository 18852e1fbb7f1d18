//! The phone app's protocol: the shared event stream, offline action sync, conditional refresh,
//! position batches and photos.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{events, read_until, ticket_for, Backend, TestApp, TEST_CLOCK_START};
use fixline::db::schema::user_feed;

/// Writes feed entries for one user's stream the way concurrent writers do: an entry can be
/// begun (its sequence number taken, its transaction left open) and committed later, after
/// entries begun after it. On PostgreSQL that is a real open transaction on a connection of its
/// own; SQLite has one writer at a time, so there the late commit is played by inserting under a
/// sequence number kept back.
struct FeedWriter<'a> {
    app: &'a TestApp,
    user: String,
    ticket: String,
    /// SQLite: the next sequence number to hand out.
    next: i64,
}

/// An entry begun and not yet committed.
struct Open {
    seq: i64,
    pg: Option<diesel::PgConnection>,
}

impl FeedWriter<'_> {
    async fn new<'a>(app: &'a TestApp, user: &str, ticket: &str) -> FeedWriter<'a> {
        let max = app
            .state
            .db
            .read(|conn| {
                user_feed::table
                    .select(diesel::dsl::max(user_feed::seq))
                    .get_result::<Option<i64>>(conn)
                    .map_err(fixline::db::DbError::from)
            })
            .await
            .unwrap()
            .unwrap_or(0);
        FeedWriter {
            app,
            user: user.into(),
            ticket: ticket.into(),
            next: max + 1,
        }
    }

    async fn begin(&mut self) -> Open {
        if self.app.state.db.backend() == fixline::db::Backend::Sqlite {
            self.next += 1;
            return Open {
                seq: self.next - 1,
                pg: None,
            };
        }
        let mut conn = diesel::PgConnection::establish(&self.app._db.url).unwrap();
        diesel::connection::SimpleConnection::batch_execute(&mut conn, "BEGIN").unwrap();
        let seq = diesel::insert_into(user_feed::table)
            .values((
                user_feed::user_id.eq(&self.user),
                user_feed::ticket_id.eq(&self.ticket),
                user_feed::kind.eq("note"),
                user_feed::at.eq(chrono::Utc::now().naive_utc()),
                user_feed::detail.eq("{}"),
            ))
            .returning(user_feed::seq)
            .get_result(&mut conn)
            .unwrap();
        Open {
            seq,
            pg: Some(conn),
        }
    }

    async fn commit(&self, open: Open) {
        match open.pg {
            Some(mut conn) => {
                diesel::connection::SimpleConnection::batch_execute(&mut conn, "COMMIT").unwrap()
            }
            None => {
                let (seq, user, ticket) = (open.seq, self.user.clone(), self.ticket.clone());
                self.app
                    .state
                    .db
                    .write(move |conn| {
                        diesel::insert_into(user_feed::table)
                            .values((
                                user_feed::seq.eq(seq),
                                user_feed::user_id.eq(user),
                                user_feed::ticket_id.eq(ticket),
                                user_feed::kind.eq("note"),
                                user_feed::at.eq(chrono::Utc::now().naive_utc()),
                                user_feed::detail.eq("{}"),
                            ))
                            .execute(conn)
                            .map_err(fixline::db::DbError::from)
                    })
                    .await
                    .unwrap();
            }
        }
        self.app.state.feed.wake();
    }

    /// Begins and commits an entry at once.
    async fn write(&mut self) -> i64 {
        let open = self.begin().await;
        let seq = open.seq;
        self.commit(open).await;
        seq
    }
}

/// Waits until the instance's feed reader has read the feed as it stands now.
async fn seen_by_the_reader(app: &TestApp) {
    let hub = &app.state.feed;
    let after = hub.reads() + 2;
    hub.wake();
    for _ in 0..1_000 {
        if hub.reads() >= after {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("the feed reader did not read the feed");
}

/// The ids among `of` of the events in a stream's text, in the order they came.
fn event_ids(buf: &str, of: &[i64]) -> Vec<i64> {
    buf.lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|v| v.parse().unwrap())
        .filter(|id| of.contains(id))
        .collect()
}

/// Two writers take sequence numbers a < b and b commits first (as concurrent PostgreSQL
/// transactions do): the stream still sends a before b, so a reconnect's Last-Event-ID never
/// skips a; a hole that outlasts the wait is sent late rather than lost; a replay sends all.
async fn stream_replay_across_a_commit_order_gap_loses_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tech = app.login("tech11").await;
    let me = app.get("/me", &tech).await.ok(200)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ticket = ticket_for(&app, "GAP-1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut res = app.open_stream(&tech, None).await;
    let mut buf = String::new();
    assert!(read_until(&mut res, &mut buf, ": connected").await);

    // Nothing else writes to the feed from here on (the new ticket's SMS have gone out).
    app.settle().await;
    let mut feed = FeedWriter::new(&app, &me, &ticket).await;
    // b commits while a is still in flight, then a commits within the wait.
    let a = feed.begin().await;
    let b = feed.write().await;
    seen_by_the_reader(&app).await;
    let s0 = a.seq;
    feed.commit(a).await;
    assert!(
        read_until(&mut res, &mut buf, &format!("id: {b}\n")).await,
        "{buf}"
    );
    assert_eq!(event_ids(&buf, &[s0, b]), vec![s0, b], "in sequence order");

    // c's transaction stays open past the wait: d goes out, and c still reaches the open stream
    // when it commits.
    let c = feed.begin().await;
    let d = feed.write().await;
    assert!(
        read_until(&mut res, &mut buf, &format!("id: {d}\n")).await,
        "{buf}"
    );
    let s2 = c.seq;
    feed.commit(c).await;
    assert!(
        read_until(&mut res, &mut buf, &format!("id: {s2}\n")).await,
        "{buf}"
    );
    let s = [s0, b, s2, d];
    assert_eq!(event_ids(&buf, &s), vec![s0, b, d, s2]);
    drop(res);

    // A reconnect from before the first entry replays all four, in order, once.
    let mut again = app.open_stream(&tech, Some(&(s0 - 1).to_string())).await;
    let mut buf = String::new();
    assert!(
        read_until(&mut again, &mut buf, &format!("id: {d}\n")).await,
        "{buf}"
    );
    assert_eq!(event_ids(&buf, &s), s);
}

both!(stream_replay_across_a_commit_order_gap_loses_nothing);

/// A ticket taken at the test clock's start, and its assignee signed in.
async fn assigned(app: &TestApp, external_ref: &str) -> (String, String, String) {
    let t = ticket_for(app, external_ref).await;
    let id = t["id"].as_str().unwrap().to_string();
    let tech_id = t["assignee_id"].as_str().expect("assigned").to_string();
    let tech = app.login(&app.username_of(&tech_id).await).await;
    (id, tech_id, tech)
}

/// A technician of the ticket's region other than `not` (the admin API's view of them).
async fn another_technician(app: &TestApp, ticket: &str, not: &str) -> Value {
    let admin = app.login("admin").await;
    let region = app.get(&format!("/tickets/{ticket}"), &admin).await.ok(200)["region_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(
        &format!("/admin/users?role=technician&region_id={region}"),
        &admin,
    )
    .await
    .ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] != not)
        .expect("another technician in the region")
        .clone()
}

/// The test clock's start plus `minutes`, as the phone writes it.
fn at(minutes: i64) -> String {
    let start = chrono::DateTime::parse_from_rfc3339(TEST_CLOCK_START).unwrap();
    (start + chrono::Duration::minutes(minutes)).to_rfc3339()
}

fn ack(action_id: &str, ticket: &str, device_minute: Option<i64>) -> Value {
    json!({"type": "acknowledge", "action_id": action_id, "ticket_id": ticket,
           "device_at": device_minute.map(at), "appointment_at": at(120), "contact_note": "约两点上门"})
}

async fn sync(app: &TestApp, token: &str, actions: Vec<Value>) -> Vec<Value> {
    app.post("/me/sync", token, json!({ "actions": actions }))
        .await
        .ok(200)["results"]
        .as_array()
        .unwrap()
        .clone()
}

async fn timeline(app: &TestApp, id: &str) -> Vec<Value> {
    events(app, &app.login("dispatcher").await, id).await
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

/// A phone's queue sent with an action twice, then sent again whole: each action is applied
/// once and every repeat answers its first result; a single route with `Idempotency-Key` does
/// the same, and refuses the key reused for another action.
async fn a_retried_action_is_applied_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, _, tech) = assigned(&app, "SYNC-1").await;
    let check_in = json!({"type": "check_in", "action_id": "c-1", "ticket_id": id,
                          "lat": 31.87, "lon": 120.55, "device_at": at(1)});
    let queue = vec![ack("a-1", &id, Some(0)), ack("a-1", &id, Some(0)), check_in];
    let first = sync(&app, &tech, queue.clone()).await;
    let outcomes: Vec<&str> = first
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["applied", "duplicate", "applied"], "{first:?}");
    assert_eq!(first[1]["first_outcome"], "applied");
    assert_eq!(
        first[1]["ticket"]["status"], "acknowledged",
        "the first answer"
    );
    assert_eq!(first[2]["ticket"]["status"], "on_site");

    let again = sync(&app, &tech, queue).await;
    assert!(
        again.iter().all(|r| r["outcome"] == "duplicate"),
        "{again:?}"
    );
    let events = timeline(&app, &id).await;
    assert_eq!(count(&events, "acknowledged"), 1);
    assert_eq!(count(&events, "checked_in"), 1);

    // The same through the single route, with the header.
    let send = |key: &'static str, code: &'static str| {
        app.client
            .post(format!("{}/tickets/{id}/resolve", app.base))
            .bearer_auth(&tech)
            .header("idempotency-key", key)
            .json(&json!({"resolution_code": code}))
            .send()
    };
    let one = send("r-1", "replaced_stb").await.unwrap();
    assert_eq!(one.status(), 200);
    let one: Value = one.json().await.unwrap();
    let two = send("r-1", "replaced_stb").await.unwrap();
    assert_eq!(two.status(), 200);
    assert_eq!(two.headers()["idempotency-replayed"], "true");
    let two: Value = two.json().await.unwrap();
    assert_eq!(one, two, "the first answer, again");
    let other = send("r-1", "something_else").await.unwrap();
    assert_eq!(other.status(), 422);
    let other: Value = other.json().await.unwrap();
    assert_eq!(other["field"], "Idempotency-Key");
    assert_eq!(count(&timeline(&app, &id).await, "resolved"), 1);

    // A malformed entry is rejected on its own; the rest of the batch still applies.
    let (id2, _, tech2) = assigned(&app, "SYNC-1B").await;
    let mixed = sync(
        &app,
        &tech2,
        vec![
            json!({"type": "teleport", "action_id": "x-1", "ticket_id": id2}),
            ack("a-2", &id2, None),
        ],
    )
    .await;
    assert_eq!(mixed[0]["outcome"], "rejected");
    assert_eq!(mixed[0]["problem"]["field"], "actions[0]");
    assert_eq!(mixed[1]["outcome"], "applied");
}

/// A dispatcher hands the ticket to someone else while the first technician is offline: the
/// acknowledgement they queued is a conflict naming the new assignee, and changes nothing.
async fn a_queued_ack_from_a_technician_taken_off_is_a_conflict(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, tech_id, tech) = assigned(&app, "SYNC-2").await;
    let dispatcher = app.login("dispatcher").await;
    let other = another_technician(&app, &id, &tech_id).await;
    app.post(
        &format!("/tickets/{id}/assign"),
        &dispatcher,
        json!({"assignee_id": other["id"]}),
    )
    .await
    .ok(200);
    let before = app
        .get(&format!("/tickets/{id}"), &dispatcher)
        .await
        .ok(200)
        .clone();

    let r = sync(&app, &tech, vec![ack("a-1", &id, Some(1))]).await;
    assert_eq!(r[0]["outcome"], "conflict", "{r:?}");
    assert_eq!(r[0]["conflict"]["reason"], "reassigned");
    assert_eq!(r[0]["conflict"]["assignee_name"], other["display_name"]);
    let after = app
        .get(&format!("/tickets/{id}"), &dispatcher)
        .await
        .ok(200)
        .clone();
    assert_eq!(before, after, "nothing changed");
    assert_eq!(count(&timeline(&app, &id).await, "acknowledged"), 0);
    // Sent again, the same conflict.
    let r = sync(&app, &tech, vec![ack("a-1", &id, Some(1))]).await;
    assert_eq!(r[0]["outcome"], "duplicate");
    assert_eq!(r[0]["first_outcome"], "conflict");
    assert_eq!(r[0]["conflict"]["reason"], "reassigned");

    // A ticket the technician never held reveals nothing.
    let (stranger, _, _) = assigned(&app, "SYNC-2B").await;
    let held_by_other = app
        .get(&format!("/tickets/{stranger}"), &dispatcher)
        .await
        .ok(200)["assignee_id"]
        .as_str()
        .unwrap()
        .to_string();
    if held_by_other != tech_id {
        let r = sync(&app, &tech, vec![ack("a-9", &stranger, None)]).await;
        assert_eq!(r[0]["outcome"], "rejected", "{r:?}");
        assert!(r[0].get("conflict").is_none());
    }
}

/// The phone acknowledged at +18 minutes while offline and synced at +25, after the engine had
/// recorded the contact as missed at +20: the phone's time counts and the stage is on time.
/// A time before the ticket's previous step, or ahead of the server, counts at receipt and is
/// flagged on the timeline.
async fn the_phones_time_counts_when_believable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, tech_id, _) = assigned(&app, "SYNC-3").await;
    let (future, tech_f_id, _) = assigned(&app, "SYNC-4").await;
    app.advance(25 * 60).await;
    // Back online, the phone refreshes its token first.
    let tech = app.login(&app.username_of(&tech_id).await).await;
    let tech_f = app.login(&app.username_of(&tech_f_id).await).await;
    let r = sync(&app, &tech, vec![ack("a-1", &id, Some(18))]).await;
    assert_eq!(r[0]["outcome"], "applied", "{r:?}");
    assert_eq!(r[0]["ticket"]["outcomes"]["contact"], "on_time", "{r:?}");
    let events = timeline(&app, &id).await;
    let acked = events.iter().find(|e| e["kind"] == "acknowledged").unwrap();
    let when = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(when(&acked["at"]), when(&json!(at(18))), "{acked}");
    assert_eq!(acked["detail"]["timing"]["counted"], "device");
    assert_eq!(
        when(&acked["detail"]["timing"]["received_at"]),
        when(&json!(at(25)))
    );
    assert!(
        events.iter().any(|e| e["kind"] == "escalated"),
        "the miss was recorded before the phone was heard from: {events:?}"
    );

    // From the future: counted at receipt, late, flagged.
    let r = sync(&app, &tech_f, vec![ack("a-2", &future, Some(40))]).await;
    assert_eq!(r[0]["ticket"]["outcomes"]["contact"], "late", "{r:?}");
    let events = timeline(&app, &future).await;
    let acked = events.iter().find(|e| e["kind"] == "acknowledged").unwrap();
    assert_eq!(acked["detail"]["timing"]["counted"], "receipt");
    assert_eq!(acked["detail"]["timing"]["refused"], "future");
    assert_eq!(when(&acked["at"]), when(&json!(at(25))));

    // Before the ticket's previous step: it was handed to this technician at +25, so an
    // acknowledgement claiming +18 cannot be.
    let (late, tech_l_id, _) = assigned(&app, "SYNC-5").await;
    let dispatcher = app.login("dispatcher").await;
    let other = another_technician(&app, &late, &tech_l_id).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/tickets/{late}/assign"),
        &dispatcher,
        json!({"assignee_id": other}),
    )
    .await
    .ok(200);
    let other_tech = app.login(&app.username_of(&other).await).await;
    let r = sync(&app, &other_tech, vec![ack("a-3", &late, Some(18))]).await;
    assert_eq!(r[0]["outcome"], "applied", "{r:?}");
    let events = timeline(&app, &late).await;
    let acked = events.iter().find(|e| e["kind"] == "acknowledged").unwrap();
    assert_eq!(acked["detail"]["timing"]["refused"], "before_previous_step");
    assert_eq!(when(&acked["at"]), when(&json!(at(25))));
}

/// A refused coordinate system names its field: `crs` on the route, within its entry in a batch.
async fn a_refused_crs_names_its_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, _, tech) = assigned(&app, "SYNC-6").await;
    let bad = json!({"lat": 31.87, "lon": 120.55, "crs": "bd09"});
    let p = app
        .post(&format!("/tickets/{id}/check-in"), &tech, bad)
        .await;
    assert_eq!(p.problem(422)["field"], "crs");
    let r = sync(
        &app,
        &tech,
        vec![
            json!({"type": "check_in", "action_id": "c-9", "ticket_id": id,
                    "lat": 31.87, "lon": 120.55, "crs": "bd09"}),
        ],
    )
    .await;
    assert_eq!(r[0]["problem"]["field"], "actions[0].crs", "{r:?}");
}

/// Action ids are remembered for a week: then the engine forgets them.
async fn action_ids_are_forgotten_after_a_week(backend: Backend) {
    use fixline::db::schema::client_actions;
    let app = TestApp::spawn(backend).await;
    let (id, tech_id, tech) = assigned(&app, "SYNC-7").await;
    let r = sync(&app, &tech, vec![ack("a-1", &id, None)]).await;
    assert_eq!(r[0]["outcome"], "applied");
    let remembered = || async {
        app.state
            .db
            .read(|conn| {
                client_actions::table
                    .count()
                    .get_result::<i64>(conn)
                    .map_err(fixline::db::DbError::from)
            })
            .await
            .unwrap()
    };
    app.advance(6 * 86_400).await;
    assert_eq!(remembered().await, 1, "still within the week");
    app.advance(86_400 + 3_600).await;
    assert_eq!(remembered().await, 0);
    // Sent again now, it is judged afresh, not answered as a duplicate: its appointment has
    // passed.
    let tech = app.login(&app.username_of(&tech_id).await).await;
    let r = sync(&app, &tech, vec![ack("a-1", &id, None)]).await;
    assert_eq!(r[0]["outcome"], "rejected", "{r:?}");
    assert_eq!(r[0]["problem"]["field"], "appointment_at");
}

both!(
    action_ids_are_forgotten_after_a_week,
    a_refused_crs_names_its_field,
    a_retried_action_is_applied_once,
    a_queued_ack_from_a_technician_taken_off_is_a_conflict,
    the_phones_time_counts_when_believable
);
