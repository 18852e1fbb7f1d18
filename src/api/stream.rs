//! `GET /me/stream`: Server-Sent Events for the phone app while it is open. Each event is an
//! entry of the user's feed (a change to one of their tickets, an assignment, a reassignment
//! away); its `id` is the feed sequence, so a reconnect with `Last-Event-ID` replays what was
//! missed. SMS still goes out: the stream only makes the app faster.

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
    cfg.service(resource("/me/stream").route(web::get().to(stream)));
}

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Entries replayed from the database per read.
const REPLAY_PAGE: i64 = 100;

struct Cursor {
    state: web::Data<AppState>,
    user_id: String,
    sub: Subscription,
    /// The last entry replayed from the database; replay ends at `sub.from`.
    replayed: i64,
    /// Entries replayed, so a late live entry among them is not sent twice.
    sent: HashSet<i64>,
    pending: VecDeque<Arc<FeedRow>>,
    greeted: bool,
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
    let (expires, session) = caller
        .session
        .ok_or_else(|| ApiError::forbidden("this route is for signed-in users"))?;
    let given = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string());
    let last = given
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::invalid(
                    "Last-Event-ID",
                    format!("`{v}` is not an event id of this stream"),
                )
            })
        })
        .transpose()?;
    let sub = state
        .feed
        .subscribe(&user_id, session, expires)
        .ok_or_else(|| {
            ApiError::too_many_requests(
                format!("{MAX_STREAMS_PER_USER} event streams are open for this account already"),
                3,
            )
        })?;
    let cursor = Cursor {
        replayed: last.unwrap_or(sub.from).min(sub.from),
        state,
        user_id,
        sub,
        sent: HashSet::new(),
        pending: VecDeque::new(),
        greeted: false,
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
                return Some((Ok(frame(&row)), c));
            }
            // What was missed comes from the database, up to where the live entries begin.
            if c.replayed < c.sub.from {
                let (user, after, until) = (c.user_id.clone(), c.replayed, c.sub.from);
                let page = c
                    .state
                    .db
                    .read(move |conn| {
                        Ok::<_, DbError>(feed::after(conn, &user, after, REPLAY_PAGE)?)
                    })
                    .await;
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
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
