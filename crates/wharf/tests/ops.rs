//! Operations endpoints: health, readiness, metrics, request ids.

mod common;

use std::time::Duration;

use common::{TestApp, json};
use reqwest::Method;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::start().await;
    let r = app.anon(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.text().await.unwrap().as_str()), (200, "ok\n"));
    let (status, body) = json(app.anon(Method::GET, "/readyz").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"status": "ready", "checks": {"database": {"ok": true}, "blob_store": {"ok": true}, "accept": {"ok": true}}})
    );
}

/// With the object store unreachable the process stays up, says why it is not
/// ready, and requests that do not need blobs still work.
#[tokio::test]
async fn unreachable_blob_store_makes_readyz_fail() {
    // Port 9 (discard) is closed on these machines: connections are refused.
    let options = wharf_blob::S3Options {
        endpoint: Some("http://127.0.0.1:9".into()),
        bucket: "wharf".into(),
        region: "us-east-1".into(),
        prefix: String::new(),
        virtual_hosted_style: false,
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(5),
        max_retries: 0,
        retry_timeout: Duration::from_secs(1),
    };
    let store = wharf_blob::BlobStore::open(&wharf_blob::StoreOptions::S3(options)).unwrap();
    let app = TestApp::with_store(|_| {}, wharf_blob::testing::TestStore::wrap(store)).await;
    let (status, body) = json(app.anon(Method::GET, "/readyz").send().await.unwrap()).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"], serde_json::json!({"ok": true}));
    assert_eq!(body["checks"]["blob_store"]["ok"], false);
    let error = body["checks"]["blob_store"]["error"].as_str().unwrap();
    assert!(error.contains("at http://127.0.0.1:9) failed"), "{error}");
    assert_eq!(app.anon(Method::GET, "/healthz").send().await.unwrap().status(), 200);
    assert_eq!(app.as_user(Method::GET, "admin", "/api/v1/user").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn metrics_in_prometheus_format() {
    let app = TestApp::start().await;
    app.anon(Method::GET, "/healthz").send().await.unwrap();
    app.anon(Method::GET, "/api/v1/orgs/nope").send().await.unwrap();
    app.state.blobs.put_bytes(bytes_of("metrics test"), None).await.unwrap();
    let r = app.anon(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = r.text().await.unwrap();
    for needle in [
        "wharf_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}",
        "wharf_http_requests_total{method=\"GET\",route=\"/api/v1/orgs/{org}\",status=\"401\"}",
        "wharf_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"0.001\"}",
        "# TYPE wharf_http_request_duration_seconds histogram",
        "wharf_db_pool_connections{state=\"idle\"}",
        "wharf_db_pool_connections{state=\"max\"}",
        "wharf_blob_bytes_written_total{backend=",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

fn bytes_of(s: &str) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(s.as_bytes())
}

#[tokio::test]
async fn request_ids_are_generated_or_propagated() {
    let app = TestApp::start().await;
    let r = app.anon(Method::GET, "/healthz").send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let r = app.anon(Method::GET, "/healthz").header("x-request-id", "trace-me-42").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
    let r = app.anon(Method::GET, "/no/such/page").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}
