//! The log and traces, the same way in both servers.
//!
//! Every span is an OpenTelemetry span (`tracing-opentelemetry`): a request's span in the portal,
//! its calls to the logic tier (the W3C `traceparent` header carries the trace across), the
//! request's span in the logic tier and, there, one span for each SQL statement sqlx runs. Spans
//! leave the process over OTLP/HTTP (protobuf) only when an endpoint is configured, by
//! OpenTelemetry's own variables (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`); otherwise nothing is sent and nothing is recorded, but
//! every request still has its trace id, and the trace id and span id head every JSON log line
//! written inside a trace, so a line in either tier's log finds the rest of its request. (Lines
//! outside any request, at start or from a background task, have none; a text log has none.)
//!
//! Which traces are trusted: the portal faces browsers and starts a trace of its own for every
//! request; the logic tier continues the trace its caller names (the portal, or an internal
//! service). A trace id is for finding things, never for deciding anything: the bank's request id
//! (set at the edge, written in the audit trail) is not taken from it. Unless an operator chooses
//! a sampler, every trace is kept whatever the caller's flags ask, so a caller cannot hide its
//! requests from the bank's traces; only the probes balancers and Prometheus send every few
//! seconds (`/healthz`, `/readyz`, `/metrics`) start no trace.

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    Link, SpanKind, TraceContextExt, TraceId, Tracer as _, TracerProvider as _,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    Sampler, SamplingResult, SdkTracer, SdkTracerProvider, ShouldSample,
};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{Format, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The variables that name where spans are sent; either turns the export on.
pub const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The most links a span keeps.
const MAX_LINKS: u32 = 1_000;

/// Where sqlx reports each statement it ran (an event when the statement is done).
const SQL_TARGET: &str = "sqlx::query";

/// The OpenTelemetry crates' own reports: logged, never turned into spans of their own export.
const OWN_TARGETS: [&str; 4] = [
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("the log: {0}")]
    Install(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the tracer running; dropping it sends the spans still buffered.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Telemetry {
    /// Whether spans leave the process.
    pub fn is_exporting(&self) -> bool {
        self.exporting
    }
}

/// How long the spans still buffered at exit may take to leave: within supervisord's wait after
/// SIGTERM, with the drain's 30 s before it.
const LAST_EXPORT: Duration = Duration::from_secs(3);

impl Drop for Telemetry {
    fn drop(&mut self) {
        if self.exporting
            && let Err(error) = self.provider.shutdown_with_timeout(LAST_EXPORT)
        {
            tracing::warn!(%error, "the last spans were not sent");
        }
    }
}

/// Whether an OTLP endpoint is configured.
pub fn export_configured() -> bool {
    ENDPOINT_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// Installs the process's log (JSON lines or text, filtered by `RUST_LOG`, else
/// `default_filter`) and its tracer, named `service` unless `OTEL_SERVICE_NAME` names it.
pub fn init(service: &'static str, json: bool, default_filter: &str) -> Result<Telemetry, Error> {
    let exporting = export_configured();
    let mut resource = Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service);
    }
    // A group commit's span links to each of its requests: up to 1,000 (its largest group).
    let mut provider = SdkTracerProvider::builder()
        .with_resource(resource.build())
        .with_max_links_per_span(MAX_LINKS);
    if exporting {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        provider = provider.with_batch_exporter(exporter);
        if std::env::var_os("OTEL_TRACES_SAMPLER").is_none() {
            provider = provider.with_sampler(EveryTraceButProbes);
        }
    } else {
        // Ids for every request, nothing recorded.
        provider = provider.with_sampler(Sampler::AlwaysOff);
    }
    let provider = provider.build();
    let tracer = provider.tracer(service);

    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let log = if json {
        tracing_subscriber::fmt::layer()
            .event_format(WithTraceIds(Format::default().json()))
            .fmt_fields(JsonFields::new())
            .with_filter(filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().with_filter(filter).boxed()
    };
    let mut spans = Targets::new().with_default(LevelFilter::INFO);
    for target in OWN_TARGETS.into_iter().chain([SQL_TARGET]) {
        spans = spans.with_target(target, LevelFilter::OFF);
    }
    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer.clone())
        .with_filter(spans);
    let statements = exporting.then(|| {
        SqlStatements { tracer }.with_filter(
            Targets::new()
                .with_default(LevelFilter::OFF)
                .with_target(SQL_TARGET, LevelFilter::TRACE),
        )
    });
    tracing_subscriber::registry()
        .with(log)
        .with(spans)
        .with(statements)
        .try_init()?;
    Ok(Telemetry {
        provider,
        exporting,
    })
}

/// Continues, in `span` (not yet entered), the trace a service's `traceparent` names: a caller
/// presenting a service credential (`X-Api-Key`, checked after this) is continued; anyone else's
/// trace is only linked to, from a trace of the bank's own.
pub fn continue_trace(span: &Span, headers: &HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let named = parent.span().span_context().clone();
    if !named.is_valid() {
        return;
    }
    if headers.contains_key("x-api-key") {
        let _ = span.set_parent(parent);
    } else {
        span.add_link(named);
    }
}

/// A server span's name: the method (`_OTHER` for one HTTP does not define, so that nobody
/// makes names up) and the route's template, never its raw path.
pub fn span_name(method: &axum::http::Method, route: Option<&str>) -> String {
    use axum::http::Method;
    const DEFINED: [Method; 7] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ];
    let method = if DEFINED.contains(method) {
        method.as_str()
    } else {
        "_OTHER"
    };
    format!("{method} {}", route.unwrap_or("unrouted"))
}

/// A path as spans and the log keep it: a route whose path holds a secret (a portal session's
/// key) is kept as its template.
pub fn loggable_path<'p>(route: Option<&'p str>, path: &'p str) -> &'p str {
    match route {
        Some(route) if route.contains("{key}") => route,
        _ => path,
    }
}

/// Names `span`'s trace in `headers`, for the server being called to continue it.
pub fn propagate(span: &Span, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// Links `span` to `cause`'s span: work done for several traces at once (a group of postings)
/// is found from each of them.
pub fn link(span: &Span, cause: &Span) {
    span.add_link(cause.context().span().span_context().clone());
}

/// `span`'s trace id, if it is in a trace.
pub fn trace_id(span: &Span) -> Option<String> {
    let context = span.context();
    let span = context.span();
    let ids = span.span_context();
    ids.is_valid().then(|| ids.trace_id().to_string())
}

/// The routes balancers and Prometheus poll every few seconds: not traced unless a trace reached
/// them from elsewhere.
const PROBE_ROUTES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Every trace is recorded, whatever its caller's flags, but a probe's own; a span within this
/// process follows its parent's decision.
#[derive(Debug, Clone)]
struct EveryTraceButProbes;

impl ShouldSample for EveryTraceButProbes {
    fn should_sample(
        &self,
        parent: Option<&opentelemetry::Context>,
        trace_id: TraceId,
        name: &str,
        kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let local_parent = parent
            .filter(|cx| cx.has_active_span())
            .map(|cx| cx.span().span_context().clone())
            .filter(|ids| !ids.is_remote());
        let record = match local_parent {
            Some(ids) => ids.is_sampled(),
            None => !name
                .split_once(' ')
                .is_some_and(|(_, route)| PROBE_ROUTES.contains(&route)),
        };
        let sampler = if record {
            Sampler::AlwaysOn
        } else {
            Sampler::AlwaysOff
        };
        sampler.should_sample(parent, trace_id, name, kind, attributes, links)
    }
}

/// A JSON line headed by the trace id and span id of the span it was written in.
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let context = Span::current().context();
        let span = context.span();
        let ids = span.span_context();
        match line.strip_prefix('{') {
            Some(rest) if ids.is_valid() => write!(
                writer,
                "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",{rest}",
                ids.trace_id(),
                ids.span_id()
            ),
            _ => writer.write_str(&line),
        }
    }
}

/// One span for each SQL statement, from sqlx's report of it (sent when the statement is done,
/// with how long it took): a child of the span the statement ran in. A statement run outside
/// any trace (a background task's) starts no trace of its own.
struct SqlStatements {
    tracer: SdkTracer,
}

impl<S: Subscriber> Layer<S> for SqlStatements {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let parent = Span::current().context();
        if !parent.span().span_context().is_valid() {
            return;
        }
        let mut statement = Statement::default();
        event.record(&mut statement);
        let end = SystemTime::now();
        let start = end.checked_sub(statement.elapsed).unwrap_or(end);
        // sqlx gives a long statement in full beside its summary, a short one as the summary.
        let text = match statement.text.trim() {
            "" => statement.summary,
            text => text.to_owned(),
        };
        let operation = text
            .split_whitespace()
            .next()
            .unwrap_or("SQL")
            .to_ascii_uppercase();
        let mut attributes = vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.operation.name", operation.clone()),
            KeyValue::new("db.query.text", text),
        ];
        for (key, value) in [
            ("db.response.returned_rows", statement.rows_returned),
            ("db.response.affected_rows", statement.rows_affected),
        ] {
            if let Some(value) = value.and_then(|v| i64::try_from(v).ok()) {
                attributes.push(KeyValue::new(key, Value::I64(value)));
            }
        }
        let mut span = self
            .tracer
            .span_builder(operation)
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        opentelemetry::trace::Span::end_with_timestamp(&mut span, end);
    }
}

/// The fields of sqlx's report of a statement.
#[derive(Default)]
struct Statement {
    summary: String,
    text: String,
    rows_returned: Option<u64>,
    rows_affected: Option<u64>,
    elapsed: Duration,
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.text),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_returned" => self.rows_returned = Some(value),
            "rows_affected" => self.rows_affected = Some(value),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed = Duration::try_from_secs_f64(value).unwrap_or_default();
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}
