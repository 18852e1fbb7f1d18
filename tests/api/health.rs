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
