//! `GET /me/stream`: Server-Sent Events for the phone app while it is open. Each event is an
//! entry of the user's feed (a change to one of their tickets, an assignment, a reassignment
//! away); its `id` is the feed sequence, so a reconnect with `Last-Event-ID` replays what was
//! missed. SMS still goes out: the stream only makes the app faster.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::state::AppState;
use super::{resource, utc, ApiError, ApiResult, Caller};
use crate::db::DbError;
use crate::store::feed::{self, FeedRow};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me/stream").route(web::get().to(stream)));
}

/// How often an idle stream looks for new entries (writes through the API wake it sooner).
const POLL: Duration = Duration::from_millis(500);
/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE_TICKS: u32 = 30;
/// How often (in polls) a stream checks that its session still holds.
const SESSION_CHECK_TICKS: u32 = 4;

/// Streams one user may hold open at once on an instance (a phone, a tablet, a reconnect
/// racing the old connection's close).
pub const MAX_STREAMS_PER_USER: usize = 3;

struct Cursor {
    state: web::Data<AppState>,
    user_id: String,
    /// The access token's expiry (Unix seconds) and session version: the stream ends with the
    /// token, or when the session ends, and the app reconnects with a fresh one.
    session: (i64, i32),
    last: i64,
    pending: VecDeque<FeedRow>,
    greeted: bool,
    idle: u32,
    /// Polls since the session was last checked.
    unchecked: u32,
    _open: OpenStream,
}

/// Counts a user's open streams while it lives.
struct OpenStream {
    state: web::Data<AppState>,
    user_id: String,
}

impl OpenStream {
    fn open(state: &web::Data<AppState>, user_id: &str) -> ApiResult<Self> {
        let mut open = state.open_streams.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(user_id.to_string()).or_insert(0);
        if *n >= MAX_STREAMS_PER_USER {
            return Err(ApiError::too_many_requests(
                format!("{MAX_STREAMS_PER_USER} event streams are open for this account already"),
                3,
            ));
        }
        *n += 1;
        Ok(OpenStream {
            state: state.clone(),
            user_id: user_id.to_string(),
        })
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut open = self
            .state
            .open_streams
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

fn frame(row: &FeedRow) -> Bytes {
    let data = json!({
        "ticket_id": row.ticket_id,
        "kind": row.kind,
        "at": utc(row.at),
        "detail": serde_json::from_str::<Value>(&row.detail).unwrap_or(Value::Null),
    });
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        row.seq, row.kind, data
    ))
}

async fn stream(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let session = caller
        .session
        .ok_or_else(|| ApiError::forbidden("this route is for signed-in users"))?;
    let open = OpenStream::open(&state, &user_id)?;
    let given = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string());
    let last = match given {
        Some(v) => v.parse::<i64>().map_err(|_| {
            ApiError::invalid(
                "Last-Event-ID",
                format!("`{v}` is not an event id of this stream"),
            )
        })?,
        None => {
            let u = user_id.clone();
            state
                .db
                .read(move |conn| Ok::<_, DbError>(feed::last_seq(conn, &u)?))
                .await?
        }
    };
    let cursor = Cursor {
        state,
        user_id,
        session,
        _open: open,
        last,
        pending: VecDeque::new(),
        greeted: false,
        idle: 0,
        unchecked: 0,
    };
    let body = futures_util::stream::unfold(cursor, |mut c| async move {
        loop {
            if !c.greeted {
                c.greeted = true;
                return Some((
                    Ok::<_, actix_web::Error>(Bytes::from_static(b"retry: 3000\n: connected\n\n")),
                    c,
                ));
            }
            if let Some(row) = c.pending.pop_front() {
                c.last = row.seq;
                c.idle = 0;
                return Some((Ok(frame(&row)), c));
            }
            let (user, after) = (c.user_id.clone(), c.last);
            match c
                .state
                .db
                .read(move |conn| Ok::<_, DbError>(feed::after(conn, &user, after, 100)?))
                .await
            {
                Ok(rows) if !rows.is_empty() => {
                    c.pending.extend(rows);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "event stream closed: database unavailable");
                    return None;
                }
            }
            tokio::select! {
                _ = c.state.feed_wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
            c.idle += 1;
            c.unchecked += 1;
            if c.state.clock.now().timestamp() >= c.session.0 {
                return None;
            }
            // A signed-out or disabled user's stream ends within a few seconds (the session
            // check is served from a one-second cache).
            if c.unchecked >= SESSION_CHECK_TICKS {
                c.unchecked = 0;
                if super::auth::session_holds(&c.state, &c.user_id, c.session.1)
                    .await
                    .is_err()
                {
                    return None;
                }
            }
            if c.idle >= KEEP_ALIVE_TICKS {
                c.idle = 0;
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), c));
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
