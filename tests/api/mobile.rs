//! The phone app's protocol: the shared event stream, offline action sync, conditional refresh,
//! position batches and photos.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{
    another_technician, events, read_until, ticket_for, Backend, TestApp, TEST_CLOCK_START,
};
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
    region: String,
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
        let id = ticket.to_string();
        let (max, region) = app
            .state
            .db
            .read(move |conn| -> Result<_, fixline::db::DbError> {
                let max = user_feed::table
                    .select(diesel::dsl::max(user_feed::seq))
                    .get_result::<Option<i64>>(conn)?;
                let t = fixline::store::tickets::get(conn, &id)?.expect("the ticket");
                Ok((max.unwrap_or(0), t.region_id))
            })
            .await
            .unwrap();
        FeedWriter {
            app,
            user: user.into(),
            ticket: ticket.into(),
            region,
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
                user_feed::region_id.eq(&self.region),
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
                let (seq, user, ticket, region) = (
                    open.seq,
                    self.user.clone(),
                    self.ticket.clone(),
                    self.region.clone(),
                );
                self.app
                    .state
                    .db
                    .write(move |conn| {
                        diesel::insert_into(user_feed::table)
                            .values((
                                user_feed::seq.eq(seq),
                                user_feed::user_id.eq(user),
                                user_feed::region_id.eq(region),
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

/// A ticket taken at the test clock's start, its push sent (the accepted push changes the
/// holder's list), and its assignee signed in.
async fn assigned(app: &TestApp, external_ref: &str) -> (String, String, String) {
    let t = ticket_for(app, external_ref).await;
    app.settle().await;
    let id = t["id"].as_str().unwrap().to_string();
    let tech_id = t["assignee_id"].as_str().expect("assigned").to_string();
    let tech = app.login(&app.username_of(&tech_id).await).await;
    (id, tech_id, tech)
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

/// `POST /me/sync` with `actions`: the results, in order.
pub async fn sync(app: &TestApp, token: &str, actions: Vec<Value>) -> Vec<Value> {
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

/// `GET /me/tickets` as the phone refreshes it: the answer, its tag, and whether the tag holds.
struct Refresh {
    status: u16,
    tag: String,
    body: Option<Value>,
}

async fn refresh(app: &TestApp, token: &str, tag: Option<&str>) -> Refresh {
    let mut req = app
        .client
        .get(format!("{}/me/tickets", app.base))
        .bearer_auth(token);
    if let Some(t) = tag {
        req = req.header("if-none-match", t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(res.headers()["cache-control"], "private, no-cache");
    let text = res.text().await.unwrap();
    let body = (status == 200).then(|| serde_json::from_str(&text).unwrap());
    if status == 304 {
        assert!(text.is_empty(), "{text}");
    }
    Refresh { status, tag, body }
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect()
}

/// The list answers 304 while nothing on it changed, whatever happens to other technicians'
/// tickets; a change made through another instance (the technician's own action, a
/// dispatcher's reassignment, an engine step) answers 200 with the new list at once.
async fn the_list_answers_304_until_it_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, tech_id, tech) = assigned(&app, "LIST-1").await;
    let first = refresh(&app, &tech, None).await;
    assert_eq!(first.status, 200);
    assert!(first.tag.starts_with("W/\""), "{}", first.tag);
    let list = first.body.unwrap();
    assert_eq!(ids(&list), [id.as_str()]);
    assert!(list["version"].as_i64().unwrap() > 0);
    let same = refresh(&app, &tech, Some(&first.tag)).await;
    assert_eq!((same.status, same.tag.as_str()), (304, first.tag.as_str()));

    // Another technician's ticket changes nothing on this phone.
    let other = another_technician(&app, &id, &tech_id).await;
    let dispatcher = app.login("dispatcher").await;
    let (elsewhere, _, _) = assigned(&app, "LIST-2").await;
    app.post(
        &format!("/tickets/{elsewhere}/assign"),
        &dispatcher,
        json!({"assignee_id": other["id"]}),
    )
    .await
    .ok(200);
    assert_eq!(refresh(&app, &tech, Some(&first.tag)).await.status, 304);

    // The technician acknowledges through a second instance.
    let second = TestApp::start(app._db.share(), None).await;
    let tech_on_second = second.login(&app.username_of(&tech_id).await).await;
    second
        .post(
            &format!("/tickets/{id}/ack"),
            &tech_on_second,
            json!({"appointment_at": at(120), "contact_note": "约两点上门"}),
        )
        .await
        .ok(200);
    // This instance hears of the other's change through its feed reader.
    seen_by_the_reader(&app).await;
    let acked = refresh(&app, &tech, Some(&first.tag)).await;
    assert_eq!(acked.status, 200);
    assert_ne!(acked.tag, first.tag);
    assert_eq!(acked.body.unwrap()["items"][0]["status"], "acknowledged");
    assert_eq!(refresh(&app, &tech, Some(&acked.tag)).await.status, 304);

    // An engine step (the arrival deadline passing) changes the list too.
    app.advance(3 * 3_600).await;
    let tech = app.login(&app.username_of(&tech_id).await).await;
    let stepped = refresh(&app, &tech, Some(&acked.tag)).await;
    assert_eq!(stepped.status, 200, "the arrival deadline passed");

    // Taken off by a dispatcher on the second instance (its clock moved to the first's, or
    // the first's engine would find the new holder's contact clock long overdue): 200 with an
    // empty list.
    second.set_clock(&app.state.clock.now().to_rfc3339()).await;
    let dispatcher = second.login("dispatcher").await;
    second
        .post(
            &format!("/tickets/{id}/assign"),
            &dispatcher,
            json!({"assignee_id": other["id"]}),
        )
        .await
        .ok(200);
    seen_by_the_reader(&app).await;
    let gone = refresh(&app, &tech, Some(&stepped.tag)).await;
    assert_eq!(gone.status, 200);
    assert!(ids(&gone.body.unwrap()).is_empty());
}

async fn changes(app: &TestApp, token: &str, since: i64) -> Value {
    app.get(&format!("/me/changes?since={since}"), token)
        .await
        .ok(200)
        .clone()
}

fn changed_ids(c: &Value) -> Vec<&str> {
    c["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect()
}

/// A phone that holds list version v fetches only what changed after it: tickets that changed
/// or arrived in full, tickets that left as tombstones with the reason; a version older than a
/// week, or not one of this server's, answers the whole list to start again from.
async fn changes_since_a_version_name_what_changed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id1, tech_id, tech) = assigned(&app, "CHG-1").await;
    let v0 = refresh(&app, &tech, None).await.body.unwrap()["version"]
        .as_i64()
        .unwrap();
    let none = changes(&app, &tech, v0).await;
    assert_eq!(none["version"], v0);
    assert_eq!(none["reset"], false);
    assert!(changed_ids(&none).is_empty());
    assert!(none["removed"].as_array().unwrap().is_empty());

    app.post(
        &format!("/tickets/{id1}/ack"),
        &tech,
        json!({"appointment_at": at(120), "contact_note": "约两点上门"}),
    )
    .await
    .ok(200);
    let c1 = changes(&app, &tech, v0).await;
    assert_eq!(changed_ids(&c1), [id1.as_str()]);
    assert_eq!(c1["changed"][0]["status"], "acknowledged");
    let v1 = c1["version"].as_i64().unwrap();
    assert!(v1 > v0);

    // A second ticket given to the technician, then the first taken away.
    let dispatcher = app.login("dispatcher").await;
    let (id2, _, _) = assigned(&app, "CHG-2").await;
    let now_held = app
        .get(&format!("/tickets/{id2}"), &dispatcher)
        .await
        .ok(200)["assignee_id"]
        .as_str()
        .unwrap()
        .to_string();
    if now_held != tech_id {
        app.post(
            &format!("/tickets/{id2}/assign"),
            &dispatcher,
            json!({"assignee_id": tech_id}),
        )
        .await
        .ok(200);
    }
    let other = another_technician(&app, &id1, &tech_id).await;
    app.post(
        &format!("/tickets/{id1}/assign"),
        &dispatcher,
        json!({"assignee_id": other["id"]}),
    )
    .await
    .ok(200);
    let c2 = changes(&app, &tech, v1).await;
    assert_eq!(changed_ids(&c2), [id2.as_str()], "{c2}");
    assert_eq!(
        c2["removed"],
        json!([{"ticket_id": id1, "reason": "reassigned"}])
    );
    let v2 = c2["version"].as_i64().unwrap();
    // Applied to the list the phone held at v1, the changes give today's list.
    let list = refresh(&app, &tech, None).await.body.unwrap();
    assert_eq!(ids(&list), [id2.as_str()]);
    assert_eq!(list["version"], v2);

    // A version this server never gave: the whole list again.
    let odd = changes(&app, &tech, v2 + 100).await;
    assert_eq!(odd["reset"], true);
    assert_eq!(changed_ids(&odd), [id2.as_str()]);
    let bad = app.get("/me/changes?since=-1", &tech).await;
    assert_eq!(bad.problem(422)["field"], "since");

    // A week later the changes since v0 are forgotten: start again.
    app.advance(8 * 86_400).await;
    let tech = app.login(&app.username_of(&tech_id).await).await;
    let late = changes(&app, &tech, v0).await;
    assert_eq!(late["reset"], true, "{late}");
}

both!(
    the_list_answers_304_until_it_changes,
    changes_since_a_version_name_what_changed
);

fn instant(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("{v}"))).unwrap()
}

fn fix(minute: i64, lat: f64) -> Value {
    json!({"lat": lat, "lon": 120.55, "accuracy_m": 10, "at": at(minute)})
}

/// A phone back from a dead spot sends its buffered fixes at once, out of order: the newest
/// becomes the current position, each fix is kept once as a track, and a dispatcher reads where
/// the holder was while they held the ticket; a technician cannot. Fixes leave after the
/// retention.
async fn buffered_positions_keep_the_newest_and_the_track(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, tech_id, _) = assigned(&app, "POS-1").await;
    app.advance(30 * 60).await;
    let tech = app.login(&app.username_of(&tech_id).await).await;
    let first = app
        .post(
            "/me/positions",
            &tech,
            json!({"fixes": [fix(20, 31.872), fix(5, 31.860), fix(25, 31.875), fix(10, 31.865)]}),
        )
        .await;
    let first = first.ok(200);
    assert_eq!(
        (first["recorded"].as_i64(), first["duplicates"].as_i64()),
        (Some(4), Some(0))
    );
    assert_eq!(instant(&first["current_at"]), instant(&json!(at(25))));
    // Sent again after a lost answer, with an older fix added: kept once, the newest stays.
    let again = app
        .post(
            "/me/positions",
            &tech,
            json!({"fixes": [fix(25, 31.875), fix(15, 31.868)]}),
        )
        .await;
    let again = again.ok(200);
    assert_eq!(
        (again["recorded"].as_i64(), again["duplicates"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(instant(&again["current_at"]), instant(&json!(at(25))));

    let dispatcher = app.login("dispatcher").await;
    let track = app.get(&format!("/tickets/{id}/track"), &dispatcher).await;
    let holdings = track.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(holdings.len(), 1);
    assert_eq!(holdings[0]["user_id"], tech_id.as_str());
    let minutes: Vec<i64> = holdings[0]["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (instant(&f["at"]) - instant(&json!(at(0)))).num_minutes())
        .collect();
    assert_eq!(minutes, [5, 10, 15, 20, 25]);
    let refused = app.get(&format!("/tickets/{id}/track"), &tech).await;
    refused.problem(403);

    // A batch with a fix that lacks its time, or a bad latitude, is refused whole.
    let no_time = app
        .post(
            "/me/positions",
            &tech,
            json!({"fixes": [fix(26, 31.876), {"lat": 31.8, "lon": 120.5}]}),
        )
        .await;
    assert_eq!(no_time.problem(422)["field"], "fixes[1].at");
    let off_earth = app
        .post("/me/positions", &tech, json!({"fixes": [fix(27, 91.0)]}))
        .await;
    assert_eq!(off_earth.problem(422)["field"], "fixes[0].lat");
    let kept = app.get(&format!("/tickets/{id}/track"), &dispatcher).await;
    assert_eq!(
        kept.ok(200)["items"][0]["fixes"].as_array().unwrap().len(),
        5
    );

    // Past the retention (30 days by default), the track is gone.
    app.advance(31 * 86_400).await;
    let dispatcher = app.login("dispatcher").await;
    let later = app.get(&format!("/tickets/{id}/track"), &dispatcher).await;
    let later = later.ok(200)["items"].clone();
    assert!(later[0]["fixes"].as_array().unwrap().is_empty(), "{later}");
}

/// The whole queue goes through `/me/sync`: a postponement the customer asked for while the
/// phone was offline waits for confirmation, dated when the customer asked; buffered fixes
/// too; each once. The postponement route takes an `Idempotency-Key` like the others.
async fn a_queue_carries_postponements_and_positions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, _, tech) = assigned(&app, "SYNC-8").await;
    app.advance(10 * 60).await;
    let postpone = json!({"type": "postpone", "action_id": "p-1", "ticket_id": id,
                          "device_at": at(5), "new_promised_at": at(48 * 60),
                          "reason": "用户出差", "customer_requested": true});
    let fixes = json!({"type": "position", "action_id": "f-1",
                       "fixes": [{"lat": 31.87, "lon": 120.55, "at": at(4)}]});
    let r = sync(
        &app,
        &tech,
        vec![ack("a-1", &id, Some(3)), postpone.clone(), fixes, postpone],
    )
    .await;
    let outcomes: Vec<&str> = r.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        ["applied", "applied", "applied", "duplicate"],
        "{r:?}"
    );
    assert_eq!(r[1]["status"], 202);
    assert_eq!(r[1]["postponement"]["status"], "pending");
    assert_eq!(
        instant(&r[1]["postponement"]["requested_at"]),
        instant(&json!(at(5)))
    );
    assert_eq!(r[2]["positions"]["recorded"], 1);
    assert_eq!(r[3]["first_outcome"], "applied");
    assert_eq!(r[3]["postponement"], r[1]["postponement"]);
    let events = timeline(&app, &id).await;
    let asked: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "postponement_requested")
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["detail"]["timing"]["counted"], "device");

    // The route, with the header: the first answer again.
    let send = || {
        app.client
            .post(format!("{}/tickets/{id}/postpone", app.base))
            .bearer_auth(&tech)
            .header("idempotency-key", "p-2")
            .json(
                &json!({"new_promised_at": at(72 * 60), "reason": "用户出差",
                          "customer_requested": true}),
            )
            .send()
    };
    let one = send().await.unwrap();
    let one_status = one.status().as_u16();
    let one: Value = one.json().await.unwrap();
    let two = send().await.unwrap();
    assert_eq!(two.status().as_u16(), one_status);
    assert_eq!(two.headers()["idempotency-replayed"], "true");
    assert_eq!(two.json::<Value>().await.unwrap(), one);
}

both!(
    buffered_positions_keep_the_newest_and_the_track,
    a_queue_carries_postponements_and_positions
);
