//! The phone app's list: my open tickets, most urgent first, and what changed in them since a
//! version the phone holds.

use actix_web::http::header::{self, EntityTag, Header, IfNoneMatch};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::state::AppState;
use super::tickets::TicketDto;
use super::{resource, ApiError, ApiResult, Caller};
use crate::store::list_versions::{self, ListVersion};
use crate::store::tickets;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me/tickets").route(web::get().to(my_tickets)))
        .service(resource("/me/changes").route(web::get().to(my_changes)));
}

/// The technician's open list at a list version.
#[derive(Serialize)]
struct MyList {
    items: Vec<TicketDto>,
    /// The list version this answer includes at least: `GET /me/changes?since=` takes it.
    version: i64,
}

/// The list version as an entity tag. Weak: `seconds_left` counts down between two answers of
/// one version, everything else is the same.
fn list_tag(version: i64) -> EntityTag {
    EntityTag::new_weak(format!("{version}.{}", env!("CARGO_PKG_VERSION")))
}

/// Headers of every answer of the list: its tag, and that only the phone may keep it and must
/// ask again before using it.
fn list_headers(res: &mut HttpResponse, tag: &EntityTag) {
    let h = res.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(&tag.to_string()) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-cache"),
    );
}

/// `GET /me/tickets`: 304 to `If-None-Match` while the list version stands (from memory when
/// this instance knows it, else one key lookup), else the list with its version as `ETag`.
async fn my_tickets(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let held = IfNoneMatch::parse(&req).ok();
    // The version as this instance knows it, else as the database has it.
    let cache = state.db.list_versions();
    let current = match cache.get(&user_id) {
        Some(known) => known,
        None => {
            let (user, epoch) = (user_id.clone(), cache.epoch());
            let read = state
                .db
                .read(move |conn| list_versions::current(conn, &user).map_err(ApiError::from))
                .await?;
            cache.offer(&user_id, read, epoch);
            read
        }
    };
    let tag = list_tag(current.version);
    let unchanged = match &held {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&tag)),
        None => false,
    };
    if unchanged {
        let mut res = HttpResponse::NotModified().finish();
        list_headers(&mut res, &tag);
        return Ok(res);
    }
    // Read after the version: the list holds at least what the version stands for.
    let rows = state
        .db
        .read(move |conn| tickets::open_for_assignee(conn, &user_id).map_err(ApiError::from))
        .await?;
    let now = state.clock.now_naive();
    let items: Vec<TicketDto> = rows.into_iter().map(|t| TicketDto::new(t, now)).collect();
    let n = items.len();
    let mut res = super::sized_json(
        &MyList {
            items,
            version: current.version,
        },
        n,
    );
    list_headers(&mut res, &tag);
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesQuery {
    since: i64,
}

/// A ticket no longer on the phone, and why.
#[derive(Serialize)]
struct Removed {
    ticket_id: String,
    reason: &'static str,
}

#[derive(Serialize)]
struct Changes {
    version: i64,
    /// The phone must replace its list with `changed`: its version is older than what is
    /// remembered, or not one of this server's.
    reset: bool,
    /// Open tickets of the technician that changed (or arrived), as `GET /me/tickets` shows them.
    changed: Vec<TicketDto>,
    /// Tickets that left the list: reassigned, resolved, cancelled.
    removed: Vec<Removed>,
}

/// `GET /me/changes?since=`: what changed in the technician's list after version `since`.
async fn my_changes(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ChangesQuery>,
) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id()?.to_string();
    let since = q.since;
    if since < 0 {
        return Err(ApiError::invalid(
            "since",
            "must be a list version (0 or more)",
        ));
    }
    let now = state.clock.now_naive();
    let changes = state
        .db
        .read(move |conn| -> ApiResult<Changes> {
            let ListVersion { version, floor } = list_versions::current(conn, &user_id)?;
            if since < floor || since > version {
                let items = tickets::open_for_assignee(conn, &user_id)?;
                return Ok(Changes {
                    version,
                    reset: true,
                    changed: items.into_iter().map(|t| TicketDto::new(t, now)).collect(),
                    removed: vec![],
                });
            }
            let ids = list_versions::changed_between(conn, &user_id, since, version)?;
            let mut rows = tickets::get_many(conn, &ids)?;
            let order: std::collections::HashMap<&str, usize> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect();
            rows.sort_by_key(|t| order.get(t.id.as_str()).copied());
            let (mut changed, mut removed) = (vec![], vec![]);
            for t in rows {
                match super::sync::gone_from(&t, &user_id) {
                    None => changed.push(TicketDto::new(t, now)),
                    Some(reason) => removed.push(Removed {
                        ticket_id: t.id,
                        reason,
                    }),
                }
            }
            Ok(Changes {
                version,
                reset: false,
                changed,
                removed,
            })
        })
        .await?;
    let n = changes.changed.len();
    Ok(super::sized_json(&changes, n))
}
