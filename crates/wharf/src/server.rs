//! The HTTP server: routes of every crate, shared middleware, health, readiness,
//! metrics, and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use wharf_auth::Authenticator;
use wharf_blob::BlobStore;
use wharf_db::Db;

use crate::config::Config;
use crate::http::{ConnectionStats, Limits};
use crate::telemetry;

/// Everything a running server holds.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The metadata database.
    pub db: Db,
    /// The blob store.
    pub blobs: BlobStore,
    /// Credentials, permissions, token signing.
    pub auth: Authenticator,
    /// The use cases.
    pub app: wharf_app::App,
    /// What the accept loop saw (open connections, failed accepts).
    pub connections: Arc<ConnectionStats>,
    ready: Arc<AtomicBool>,
}

impl AppState {
    /// Bundles the services.
    pub fn new(db: Db, blobs: BlobStore, auth: Authenticator, app: wharf_app::App) -> AppState {
        AppState { db, blobs, auth, app, connections: Arc::default(), ready: Arc::new(AtomicBool::new(true)) }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: every route plus shared middleware.
pub fn app(state: AppState, config: &Config) -> Router {
    // The recorder must exist before the first request is counted.
    telemetry::metrics();
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .with_state(state.clone());
    let registry = wharf_registry::router(wharf_registry::RegistryState::new(
        state.auth.clone(),
        state.db.clone(),
        state.blobs.clone(),
        config.registry_settings(),
    ));
    let api = wharf_api::router(wharf_api::ApiState {
        app: state.app.clone(),
        auth: state.auth.clone(),
        limits: config.api_limits(),
    });
    Router::new()
        .merge(ops)
        .merge(registry)
        .merge(api)
        .route_layer(middleware::from_fn(record_metrics))
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                        })
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Micros)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(panic_response)),
        )
}

/// Counts and times every routed request by method, route template and status.
async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let labels = [("method", method), ("route", route), ("status", response.status().as_u16().to_string())];
    metrics::counter!("wharf_http_requests_total", &labels).increment(1);
    metrics::histogram!("wharf_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/problem+json")],
        r#"{"type":"urn:wharf:problem:internal","title":"Internal error","status":500,"detail":"an internal error occurred"}"#)
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/problem+json")],
        r#"{"type":"urn:wharf:problem:not-found","title":"Not found","status":404,"detail":"no such page"}"#,
    )
        .into_response()
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The database and the blob store answer. 200 or 503, with each check's result.
async fn readyz(State(state): State<AppState>) -> Response {
    let (db, blobs) = tokio::join!(tokio::time::timeout(Duration::from_secs(5), state.db.ping()), state.blobs.check());
    let db = match db {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the database did not answer within 5 s".to_owned()),
    };
    let blobs = blobs.map_err(|e| e.to_string());
    let accept = state.connections.recent_accept_failure().map_or(Ok(()), Err);
    let ready = db.is_ok() && blobs.is_ok() && accept.is_ok();
    let was_ready = state.ready.swap(ready, Ordering::Relaxed);
    metrics::gauge!("wharf_ready").set(if ready { 1.0 } else { 0.0 });
    if ready != was_ready {
        if ready {
            tracing::info!("ready again: the database and the blob store answer");
        } else {
            tracing::error!(
                database = db.as_ref().err().map_or("ok", String::as_str),
                blob_store = blobs.as_ref().err().map_or("ok", String::as_str),
                accept = accept.as_ref().err().map_or("ok", String::as_str),
                "not ready"
            );
        }
    }
    let check = |r: &Result<(), String>| match r {
        Ok(()) => serde_json::json!({"ok": true}),
        Err(e) => serde_json::json!({"ok": false, "error": e}),
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": {"database": check(&db), "blob_store": check(&blobs), "accept": check(&accept)},
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// Prometheus text format.
async fn metrics_endpoint(State(state): State<AppState>) -> Response {
    let stats = state.db.pool_stats();
    metrics::gauge!("wharf_db_pool_connections", "state" => "idle").set(f64::from(stats.idle));
    metrics::gauge!("wharf_db_pool_connections", "state" => "in_use")
        .set(f64::from(stats.size.saturating_sub(stats.idle)));
    metrics::gauge!("wharf_db_pool_connections", "state" => "max").set(f64::from(stats.max));
    if let Ok(counts) = state.db.job_counts().await {
        for c in counts {
            metrics::gauge!("wharf_jobs", "kind" => c.kind, "state" => c.state).set(c.count as f64);
        }
    }
    let handle = telemetry::metrics();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

/// Serves until SIGINT or SIGTERM, then tells background work to stop (`stopping`)
/// and lets in-flight requests finish (up to `shutdown_timeout`). The caller closes
/// the database once its background work is done.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    connections: Arc<ConnectionStats>,
    shutdown_timeout: Duration,
    stopping: tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<()> {
    let signalled = Arc::new(tokio::sync::Notify::new());
    let notify = signalled.clone();
    let server = crate::http::serve(listener, app, limits, connections, async move {
        shutdown_signal().await;
        let _ = stopping.send(true);
        notify.notify_one();
        tracing::info!("shutting down: finishing in-flight requests");
    });
    let mut server = std::pin::pin!(server);
    tokio::select! {
        () = &mut server => {}
        () = async { signalled.notified().await; tokio::time::sleep(shutdown_timeout).await } => {
            tracing::warn!(timeout = %humantime::format_duration(shutdown_timeout), "in-flight requests did not finish in time; exiting");
        }
    }
    Ok(())
}

/// SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received SIGINT"),
        () = term => tracing::info!("received SIGTERM"),
    }
}
