//! Server-Sent Events. `GET /me/stream` for the phone app while it is open: each event is an
//! entry of the user's feed (a change to one of their tickets, an assignment, a reassignment
//! away). `GET /board/stream` for the console's board: every change to a ticket of the caller's
//! regions. An event's `id` is the feed sequence, so a reconnect with `Last-Event-ID` replays
//! what was missed. SMS still goes out: the streams only make the screens faster.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::state::AppState;
use super::{resource, utc, ApiError, ApiResult, Caller};
use crate::db::DbError;
use crate::live::{Subscription, MAX_STREAMS_PER_USER};
use crate::store::feed::{self, FeedRow};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me/stream").route(web::get().to(stream)))
        .service(resource("/board/stream").route(web::get().to(board_stream)));
}

/// What a stream replays from the database.
#[derive(Clone)]
enum Replay {
    /// A user's own entries.
    Phone(String),
    /// The entries of these regions (every region: None).
    Board(Option<Vec<String>>),
}

impl Replay {
    fn page(&self, conn: &mut crate::db::DbConn, after: i64) -> Result<Vec<FeedRow>, DbError> {
        Ok(match self {
            Replay::Phone(user) => feed::after(conn, user, after, REPLAY_PAGE)?,
            Replay::Board(regions) => {
                feed::in_regions_after(conn, regions.as_deref(), after, REPLAY_PAGE)?
            }
        })
    }
}

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Entries replayed from the database per read.
const REPLAY_PAGE: i64 = 100;

struct Cursor {
    state: web::Data<AppState>,
    replay: Replay,
    sub: Subscription,
    /// The last entry replayed from the database; replay ends at `sub.from`.
    replayed: i64,
    /// Entries replayed, so a late live entry among them is not sent twice.
    sent: HashSet<i64>,
    pending: VecDeque<Arc<FeedRow>>,
    greeted: bool,
}

fn frame(row: &FeedRow, board: bool) -> Bytes {
    let mut data = json!({
        "ticket_id": row.ticket_id,
        "kind": row.kind,
        "at": utc(row.at),
        "detail": serde_json::from_str::<Value>(&row.detail).unwrap_or(Value::Null),
    });
    if board {
        data["region_id"] = row.region_id.clone().into();
    }
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        row.seq, row.kind, data
    ))
}

/// Who opens a stream, under which session, and from where it resumes.
struct Opening {
    user_id: String,
    session: i32,
    /// When the token expires (Unix seconds): the stream ends then.
    expires: i64,
    last: Option<i64>,
}

impl Opening {
    fn of(caller: &Caller, req: &HttpRequest) -> ApiResult<Opening> {
        let (expires, session) = caller
            .session
            .ok_or_else(|| ApiError::forbidden("this route is for signed-in users"))?;
        Ok(Opening {
            user_id: caller.user_id()?.to_string(),
            session,
            expires,
            last: last_event_id(req)?,
        })
    }
}

/// The `Last-Event-ID` a reconnecting client sent, if any.
fn last_event_id(req: &HttpRequest) -> ApiResult<Option<i64>> {
    req.headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::invalid(
                    "Last-Event-ID",
                    format!("`{v}` is not an event id of this stream"),
                )
            })
        })
        .transpose()
}

fn too_many() -> ApiError {
    ApiError::too_many_requests(
        format!(
            "{MAX_STREAMS_PER_USER} event streams of this kind are open for this account already"
        ),
        3,
    )
}

/// `GET /me/stream`.
async fn stream(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let o = Opening::of(&caller, &req)?;
    let sub = state
        .feed
        .subscribe(&o.user_id, o.session, o.expires)
        .ok_or_else(too_many)?;
    Ok(respond(state, sub, o.last, Replay::Phone(o.user_id), false))
}

/// `GET /board/stream`: every change to a ticket of the caller's regions.
async fn board_stream(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    use crate::domain::{RegionScope, Role};
    caller.require(&[Role::Dispatcher, Role::AccountManager, Role::Manager])?;
    let o = Opening::of(&caller, &req)?;
    let sub = state
        .feed
        .subscribe_board(&o.user_id, &caller.scope, o.session, o.expires)
        .ok_or_else(too_many)?;
    let regions = match &caller.scope {
        RegionScope::All => None,
        RegionScope::Only(ids) => Some(ids.clone()),
    };
    Ok(respond(state, sub, o.last, Replay::Board(regions), true))
}

/// The event stream of a subscription: what was missed since `last` from the database, then
/// live entries.
fn respond(
    state: web::Data<AppState>,
    sub: Subscription,
    last: Option<i64>,
    replay: Replay,
    board: bool,
) -> HttpResponse {
    let cursor = Cursor {
        replayed: last.unwrap_or(sub.from).min(sub.from),
        state,
        replay,
        sub,
        sent: HashSet::new(),
        pending: VecDeque::new(),
        greeted: false,
    };
    let body = futures_util::stream::unfold(cursor, move |mut c| async move {
        loop {
            if !c.greeted {
                c.greeted = true;
                return Some((
                    Ok::<_, actix_web::Error>(Bytes::from_static(b"retry: 3000\n: connected\n\n")),
                    c,
                ));
            }
            if let Some(row) = c.pending.pop_front() {
                return Some((Ok(frame(&row, board)), c));
            }
            // What was missed comes from the database, up to where the live entries begin.
            if c.replayed < c.sub.from {
                let (replay, after, until) = (c.replay.clone(), c.replayed, c.sub.from);
                let page = c.state.db.read(move |conn| replay.page(conn, after)).await;
                match page {
                    Ok(rows) => {
                        let full = rows.len() as i64 == REPLAY_PAGE;
                        let rows: Vec<_> = rows.into_iter().filter(|r| r.seq <= until).collect();
                        c.replayed = match rows.last() {
                            Some(r) if full => r.seq,
                            _ => until,
                        };
                        c.sent.extend(rows.iter().map(|r| r.seq));
                        c.pending.extend(rows.into_iter().map(Arc::new));
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "event stream closed: database unavailable");
                        return None;
                    }
                }
            }
            tokio::select! {
                row = c.sub.rx.recv() => match row {
                    // Entries after the subscription began; or one that committed late, unless
                    // the replay already sent it.
                    Some(row) if row.seq > c.sub.from || !c.sent.contains(&row.seq) => {
                        c.pending.push_back(row);
                    }
                    Some(_) => {}
                    // The token expired, the session ended, or the stream fell behind: the app
                    // reconnects (with a fresh token) and replays from its last event id.
                    None => return None,
                },
                _ = tokio::time::sleep(KEEP_ALIVE) => {
                    return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), c));
                }
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body)
}
