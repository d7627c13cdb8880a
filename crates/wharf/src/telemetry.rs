//! Logs (`tracing`) and metrics (Prometheus).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global log subscriber: human lines or JSON objects on stderr.
/// Later calls (several apps in one test process) are ignored.
pub fn init_logging(config: &LogConfig) {
    let filter = EnvFilter::builder().parse_lossy(&config.level);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Human => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
}

/// Request latency buckets, in seconds: from 100 µs (a cached manifest) to 60 s
/// (a large blob).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Pipeline step buckets, in seconds: from a quick packaging (50 ms) to a long
/// certification of large images (30 min); sign-off, a human's wait, runs longer.
const STEP_BUCKETS: &[f64] =
    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 86400.0];

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("wharf_http_request_duration_seconds".into()), LATENCY_BUCKETS)
            .expect("non-empty buckets")
            .set_buckets_for_metric(Matcher::Full("wharf_pipeline_step_duration_seconds".into()), STEP_BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first, which Wharf never does.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!("wharf_http_requests_total", "HTTP requests answered, by method, route and status");
    metrics::describe_histogram!(
        "wharf_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer HTTP requests (until the response head), by method, route and status"
    );
    metrics::describe_gauge!("wharf_db_pool_connections", "Database pool connections, by state (idle, in_use, max)");
    metrics::describe_counter!(
        "wharf_blob_bytes_written_total",
        metrics::Unit::Bytes,
        "Bytes written to the blob store"
    );
    metrics::describe_counter!("wharf_blob_bytes_read_total", metrics::Unit::Bytes, "Bytes read from the blob store");
    metrics::describe_gauge!("wharf_ready", "1 when the last readiness check passed, 0 otherwise");
    metrics::describe_gauge!("wharf_jobs", "Jobs in the durable queue, by kind and state");
    metrics::describe_counter!("wharf_jobs_total", "Job runs, by kind and result (succeeded, retried, failed)");
    metrics::describe_histogram!(
        "wharf_pipeline_step_duration_seconds",
        metrics::Unit::Seconds,
        "How long publishing pipeline steps ran, by step and outcome (passed, failed)"
    );
    metrics::describe_counter!("wharf_pipeline_step_failures_total", "Publishing pipeline steps that failed, by step");
    metrics::describe_counter!("wharf_gc_collected_total", "Things garbage collection removed, by what");
    metrics::describe_counter!("wharf_gc_bytes_freed_total", metrics::Unit::Bytes, "Bytes garbage collection freed");
    metrics::describe_gauge!("wharf_gc_last_success_timestamp_seconds", "When the last garbage collection finished");
    metrics::describe_gauge!(
        "wharf_gc_last_duration_seconds",
        metrics::Unit::Seconds,
        "How long the last garbage collection took"
    );
}
