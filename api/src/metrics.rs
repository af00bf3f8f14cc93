//! `/metrics` in Prometheus text format, the same way in both servers: one process-wide
//! recorder, and every routed request counted and timed by its route template (never its raw
//! path, which would make a series per account number). Every series has its help text, counts
//! in base units (seconds, bytes), the process's own `process_*` series (CPU, memory, file
//! descriptors, start time; `metrics-process`), and `bank_build_info` names the build.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// How often recorded histogram samples are drained into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

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
            .set_buckets_for_metric(
                Matcher::Full("bank_posting_batch_size".into()),
                // Requests per group commit: alone, up to a full group (100).
                &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0],
            )
            .expect("valid buckets")
            .build_recorder();
        let handle = recorder.handle();
        // A second installation (several apps in one test process) keeps the first recorder.
        let _ = metrics::set_global_recorder(recorder);
        // A histogram's samples pile up until they are drained into its buckets, which a scrape
        // does; with no one scraping, they grew without bound (the soak saw about 0.1 MB a
        // minute per instance). Drained every few seconds, whoever scrapes.
        let upkeep = handle.clone();
        let started = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(error) = started {
            tracing::error!(%error, "the metrics' upkeep did not start: histograms grow until scraped");
        }
        handle
    })
}

/// Installs the recorder (once), describes `series` and the process's own series, and sets
/// `bank_build_info{tier, version}` to 1: what a server calls as it builds its router.
pub fn install(series: &'static RequestSeries, tier: &'static str, version: &'static str) {
    handle();
    process().describe();
    metrics::describe_counter!(
        series.total,
        "Requests answered, by route template, method and status."
    );
    metrics::describe_histogram!(
        series.duration,
        metrics::Unit::Seconds,
        "Time to answer a request, by route template, method and status."
    );
    metrics::describe_gauge!(
        series.in_flight,
        "Requests being answered now, the scrape reading this among them."
    );
    metrics::describe_gauge!(
        "bank_build_info",
        "Always 1: the tier and version of the build that answers."
    );
    metrics::gauge!("bank_build_info", "tier" => tier, "version" => version).set(1.0);
}

/// The process's own series, read from /proc when scraped.
fn process() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// The text of `/metrics`: the process's series read now, then everything recorded.
pub fn render() -> String {
    process().collect();
    handle().render()
}

/// The names a server's request series go by.
#[derive(Debug)]
pub struct RequestSeries {
    /// Counter of requests by route, method and status.
    pub total: &'static str,
    /// Histogram of their latency in seconds (its name ends in `duration_seconds`).
    pub duration: &'static str,
    /// Gauge of the requests being answered now, the scrape that reads it among them: what an
    /// operator (or the fault campaign) waits to fall to that one before calling an instance
    /// quiet.
    pub in_flight: &'static str,
}

/// Holds one request in the in-flight gauge until it is answered or dropped (the client went
/// away and the server gave up on it): either way it stops counting.
struct InFlight(&'static str);

impl InFlight {
    fn enter(name: &'static str) -> Self {
        metrics::gauge!(name).increment(1.0);
        InFlight(name)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}

/// Counts and times a request, as `axum::middleware::from_fn_with_state(&SERIES, track)`.
pub async fn track(
    State(series): State<&'static RequestSeries>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    // A method outside HTTP's own is one label value, not one per name a client makes up.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" | "TRACE"
        | "CONNECT") => known.to_owned(),
        _ => "other".to_owned(),
    };
    let started = Instant::now();
    let in_flight = InFlight::enter(series.in_flight);
    let response = next.run(request).await;
    drop(in_flight);
    let labels = [
        ("route", route),
        ("method", method),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(series.total, &labels).increment(1);
    metrics::histogram!(series.duration, &labels).record(started.elapsed());
    response
}
