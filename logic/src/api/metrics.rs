//! `/metrics` in Prometheus text format: requests by route, method and status with latencies,
//! transfer outcomes, unit-of-work retries and database pool use.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".into()),
                // Seconds: from a cached read to a request that waited out a failover.
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0,
                    30.0,
                ],
            )
            .expect("valid buckets")
            .build_recorder();
        let handle = recorder.handle();
        // A second installation (several apps in one test process) keeps the first recorder.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Counts and times every routed request by its route template, never by its raw path.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("route", route),
        ("method", method),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(started.elapsed());
    response
}

pub async fn render(State(state): State<AppState>) -> String {
    let pool = &state.pool;
    metrics::gauge!("bank_db_pool_connections").set(pool.size());
    metrics::gauge!("bank_db_pool_idle_connections")
        .set(u32::try_from(pool.num_idle()).unwrap_or(u32::MAX));
    metrics::gauge!("bank_db_pool_connections_max").set(state.settings.database.connections_max);
    handle().render()
}
