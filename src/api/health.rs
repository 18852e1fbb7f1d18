//! Liveness, readiness and metrics: unauthenticated, for load balancers and Prometheus.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::state::AppState;
use super::{resource, ApiError, ApiResult};
use crate::db::{self, DbError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(healthz)))
        .service(resource("/readyz").route(web::get().to(readyz)))
        .service(resource("/metrics").route(web::get().to(metrics)));
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// How long `/readyz` waits for the database.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(900);

/// The database answers and has every migration applied.
async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let backend = state.db.backend().name();
    let check = state.db.read(|conn| {
        crate::store::dialect::ping(conn)?;
        db::migrations_current(conn)
    });
    // A load balancer asks often and waits briefly: an answer within a second, whatever the
    // database does.
    let current = tokio::time::timeout(READY_WITHIN, check)
        .await
        .map_err(|_| ApiError::unavailable("the database did not answer within a second"))?
        .map_err(|e: DbError| ApiError::unavailable(format!("database not ready: {e}")))?;
    if !current {
        return Err(ApiError::unavailable(
            "database migrations are pending; run `fixline migrate`",
        ));
    }
    let mut body = json!({"status": "ready", "database": backend});
    if state.manual_clock.is_some() {
        body["test_clock"] = json!({"now": state.clock.now()});
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let backlog = state
        .db
        .read(|conn| Ok::<_, DbError>(crate::store::notifications::backlog(conn)?))
        .await;
    match backlog {
        Ok(n) => state.metrics.outbox_backlog.set(n),
        Err(e) => tracing::warn!(error = %e, "outbox backlog not read for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
