use crate::both;
use crate::helpers::{Backend, TestApp};
use reqwest::Method;

async fn health_ready_metrics(backend: Backend) {
    let app = TestApp::spawn_empty(backend).await;
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None).await.ok(200)["status"],
        "ok"
    );
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        ready.ok(200)["database"],
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    let metrics = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.content_type.starts_with("text/plain"),
        "{}",
        metrics.content_type
    );
    assert!(
        metrics.text.contains(
            r#"fixline_http_requests_total{method="GET",route="/readyz",status="200"} 1"#
        ),
        "{}",
        metrics.text
    );
    assert!(metrics
        .text
        .contains("# TYPE fixline_http_request_duration_seconds histogram"));
}

both!(health_ready_metrics);

/// PostgreSQL drops every connection of the server (a restart, a failover). Work on a dropped
/// connection answers 503, never 500, and once the pool's trust in its connections has run
/// out it finds the dead ones and opens new ones: every request succeeds again, with no
/// restart of fixline. (SQLite has no server to drop its connections.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_replaces_connections_the_database_dropped() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let app = TestApp::spawn(Backend::Postgres).await;
    let agent = app.login("agent").await;
    let db_name = app._db.url.rsplit('/').next().unwrap().to_string();
    for _ in 0..20 {
        app.get("/tickets", &agent).await.ok(200);
    }
    let mut admin =
        diesel::PgConnection::establish(&format!("{}/postgres", crate::helpers::pg_server()))
            .unwrap();
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db_name}'"
        ))
        .unwrap();
    for _ in 0..20 {
        let a = app.get("/tickets", &agent).await;
        assert!(a.status == 200 || a.status == 503, "{a:?}");
        if a.status == 503 {
            assert_eq!(a.problem(503)["type"], "urn:fixline:problem:unavailable");
        }
    }
    tokio::time::sleep(fixline::db::TRUST_ALIVE_FOR + std::time::Duration::from_millis(200)).await;
    for _ in 0..40 {
        app.get("/tickets", &agent).await.ok(200);
    }
}
