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

/// The database answers and has every migration applied.
async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let backend = state.db.backend().name();
    let current = state
        .db
        .read(|conn| {
            crate::store::dialect::ping(conn)?;
            db::migrations_current(conn)
        })
        .await
        .map_err(|e: DbError| ApiError::unavailable(format!("database not ready: {e}")))?;
    if !current {
        return Err(ApiError::unavailable(
            "database migrations are pending; run `fixline migrate`",
        ));
    }
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": backend})))
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
