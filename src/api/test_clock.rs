//! `POST /test/clock`: moves the frozen test clock (only mounted with `FIXLINE_TEST_CLOCK=1`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::state::AppState;
use super::{resource, ApiError, ApiResult, Caller, JsonBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/test/clock").route(web::post().to(move_clock)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockMove {
    advance_s: Option<i64>,
    set: Option<String>,
}

async fn move_clock(
    state: web::Data<AppState>,
    _caller: Caller,
    JsonBody(req): JsonBody<ClockMove>,
) -> ApiResult<HttpResponse> {
    let clock = state
        .manual_clock
        .as_ref()
        .ok_or_else(|| ApiError::not_found("the test clock is off"))?;
    // Passes and sends already under way, and everything due before the move, are recorded at
    // the time before it; the background tasks then stay paused until the answer, so nothing
    // due is held by a pass this request cannot see.
    let engine = state.engine.pause().await;
    let sending = state.sender.quiesce().await;
    let settle = || async {
        loop {
            let stepped = state.engine.run_due_paused(&engine).await?;
            if state.sender.drain_paused(&sending).await? == 0 && stepped == 0 {
                return Ok::<_, ApiError>(());
            }
        }
    };
    settle().await?;
    let now = match (req.advance_s, req.set) {
        (Some(s), None) if (0..=366 * 86_400).contains(&s) => clock.advance(s),
        (Some(_), None) => {
            return Err(ApiError::invalid(
                "advance_s",
                "must be from 0 to 31622400 seconds",
            ))
        }
        (None, Some(at)) => clock.set(super::instant("set", &at)?),
        _ => {
            return Err(ApiError::invalid(
                "advance_s",
                "send exactly one of advance_s or set",
            ))
        }
    };
    // Everything that came due runs before the answer: deadlines, the messages they queued,
    // and any deadline those settled, until nothing is left.
    settle().await?;
    Ok(HttpResponse::Ok().json(json!({ "now": now })))
}
