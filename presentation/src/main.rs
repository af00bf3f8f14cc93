//! The presentation tier's binary: `presentation --help` lists every setting it reads.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use clap::Parser;
use presentation::Settings;

/// Every setting, read from the environment; the help prints them.
const ENVIRONMENT: &str = "\
Settings come from the environment:
  PORTAL_LISTEN_ADDR        where to listen (127.0.0.1:8080)
  PORTAL_TLS_CERT_FILE      the certificate chain (PEM) the portal serves HTTPS with
  PORTAL_TLS_KEY_FILE       its private key (PEM)
  BANK_LOGIC_URL            the logic tier (https://127.0.0.1:8081)
  BANK_LOGIC_CA_FILE        the authority whose certificate the logic tier must present (the
                            system's roots when unset)
  PORTAL_SERVICE_KEY_FILE   the file holding this tier's credential at the logic tier (required)
  PORTAL_STATIC_DIR         the static assets (static)
  PORTAL_FONT_DIR           the fonts statements are printed in (Debian's DejaVu)
  PORTAL_PAGE_BUDGET_MS     how long one page may wait for the logic tier, all its calls
                            together (40000: under the edge's 45 s)
  PORTAL_LOG_FORMAT         text (default) or json (a line written inside a trace begins with
                            its trace_id and span_id); RUST_LOG filters (info)
  OTEL_EXPORTER_OTLP_ENDPOINT
                            an OpenTelemetry collector (OTLP over HTTP, e.g. http://host:4318)
                            that each request's spans, and its calls to the logic tier, are sent
                            to (nothing is sent when unset); OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                            OTEL_SERVICE_NAME (bank-portal), OTEL_TRACES_SAMPLER (every trace)
                            and the other OTEL_* variables as OpenTelemetry defines them
  PORTAL_DEV_PLAIN_HTTP=1   development only: serve plain HTTP when the two TLS files are not
                            set, allow an http:// BANK_LOGIC_URL, and send the session cookie
                            without `Secure`

Exit status: 0 drained after SIGTERM; 1 could not start (the error says why); 2 usage.";

/// The bank's web tier: the customers' portal and the staff's pages, over the logic tier's API.
#[derive(Debug, Parser)]
#[command(name = "presentation", version, after_help = ENVIRONMENT)]
struct Cli {}

/// `PORTAL_PAGE_BUDGET_MS`, between a second and ten minutes.
fn page_budget_ms() -> Result<u64> {
    match std::env::var("PORTAL_PAGE_BUDGET_MS") {
        Err(_) => Ok(presentation::logic::PAGE_BUDGET_MS),
        Ok(text) => text
            .parse::<u64>()
            .ok()
            .filter(|ms| (1_000..=600_000).contains(ms))
            .with_context(|| {
                format!(
                    "PORTAL_PAGE_BUDGET_MS is milliseconds between 1000 and 600000, not {text:?}"
                )
            }),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    Cli::parse();
    let json = std::env::var("PORTAL_LOG_FORMAT").is_ok_and(|f| f == "json");
    let _telemetry = bank_api::telemetry::init("bank-portal", json, "info")?;
    let addr: SocketAddr = std::env::var("PORTAL_LISTEN_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8080".into())
        .parse()
        .context("PORTAL_LISTEN_ADDR")?;
    let plain_http = std::env::var("PORTAL_DEV_PLAIN_HTTP").is_ok_and(|v| v == "1");
    let tls_files = match (
        std::env::var("PORTAL_TLS_CERT_FILE"),
        std::env::var("PORTAL_TLS_KEY_FILE"),
    ) {
        (Ok(cert), Ok(key)) => Some((cert, key)),
        (Err(_), Err(_)) if plain_http => None,
        _ => bail!(
            "PORTAL_TLS_CERT_FILE and PORTAL_TLS_KEY_FILE are not both set: the portal is served \
             over HTTPS only (PORTAL_DEV_PLAIN_HTTP=1 serves plain HTTP, for development)"
        ),
    };
    let logic_url =
        std::env::var("BANK_LOGIC_URL").unwrap_or_else(|_| "https://127.0.0.1:8081".into());
    if !plain_http && !logic_url.starts_with("https://") {
        bail!(
            "BANK_LOGIC_URL must be https:// (PORTAL_DEV_PLAIN_HTTP=1 allows http://, for \
             development)"
        );
    }
    let logic_ca_pem = match std::env::var("BANK_LOGIC_CA_FILE") {
        Ok(file) => Some(std::fs::read(&file).with_context(|| format!("read {file}"))?),
        Err(_) => None,
    };
    let key_file =
        std::env::var("PORTAL_SERVICE_KEY_FILE").context("PORTAL_SERVICE_KEY_FILE is not set")?;
    let service_key =
        std::fs::read_to_string(&key_file).with_context(|| format!("read {key_file}"))?;
    let settings = Settings {
        logic_url,
        service_key: service_key.trim().to_owned(),
        static_dir: std::env::var("PORTAL_STATIC_DIR").unwrap_or_else(|_| "static".into()),
        secure_cookies: !plain_http,
        logic_ca_pem,
        font_dir: std::env::var_os("PORTAL_FONT_DIR").map_or_else(
            || presentation::statement::DEFAULT_FONT_DIR.into(),
            Into::into,
        ),
        page_budget: std::time::Duration::from_millis(page_budget_ms()?),
    };
    let app = presentation::app(&settings)?.into_make_service();
    let handle = axum_server::Handle::new();
    let draining = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        draining.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
    });
    if let Some((cert, key)) = tls_files {
        let tls = RustlsConfig::from_pem_file(&cert, &key)
            .await
            .with_context(|| format!("read {cert} and {key}"))?;
        tracing::info!(%addr, "presentation tier listening (HTTPS)");
        // Answers leave as soon as they are written (TCP_NODELAY): an answer longer than one TLS
        // record (a batch's) would otherwise wait up to 40 ms for the balancer's acknowledgement.
        axum_server::bind(addr)
            .acceptor(RustlsAcceptor::new(tls).acceptor(NoDelayAcceptor::new()))
            .handle(handle)
            .serve(app)
            .await
            .with_context(|| format!("serve on {addr}"))?;
    } else {
        tracing::warn!(%addr, "presentation tier listening over plain HTTP (development only)");
        axum_server::bind(addr)
            .acceptor(NoDelayAcceptor::new())
            .handle(handle)
            .serve(app)
            .await
            .with_context(|| format!("serve on {addr}"))?;
    }
    tracing::info!("drained; exiting");
    Ok(())
}
/// Resolves on SIGTERM or Ctrl-C; the server then stops accepting and drains in-flight requests.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = tokio::signal::ctrl_c() => {}, () = term => {} }
}
