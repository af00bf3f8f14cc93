//! The presentation tier's binary. Settings come from the environment:
//!
//! ```text
//! PORTAL_LISTEN_ADDR        where to listen (127.0.0.1:8080)
//! BANK_LOGIC_URL            the logic tier (http://127.0.0.1:8081)
//! PORTAL_SERVICE_KEY_FILE   file holding this tier's credential at the logic tier
//! PORTAL_STATIC_DIR         the static assets (static)
//! PORTAL_SECURE_COOKIES     true when served over HTTPS
//! ```

use std::net::SocketAddr;

use anyhow::{Context, Result};
use presentation::Settings;

#[tokio::main]
async fn main() -> Result<()> {
    let json = std::env::var("PORTAL_LOG_FORMAT").is_ok_and(|f| f == "json");
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if json {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let addr: SocketAddr = std::env::var("PORTAL_LISTEN_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8080".into())
        .parse()
        .context("PORTAL_LISTEN_ADDR")?;
    let key_file =
        std::env::var("PORTAL_SERVICE_KEY_FILE").context("PORTAL_SERVICE_KEY_FILE is not set")?;
    let service_key =
        std::fs::read_to_string(&key_file).with_context(|| format!("read {key_file}"))?;
    let settings = Settings {
        logic_url: std::env::var("BANK_LOGIC_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8081".into()),
        service_key: service_key.trim().to_owned(),
        static_dir: std::env::var("PORTAL_STATIC_DIR").unwrap_or_else(|_| "static".into()),
        secure_cookies: std::env::var("PORTAL_SECURE_COOKIES").is_ok_and(|v| v == "true"),
    };
    let app = presentation::app(&settings)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind {addr}"))?;
    tracing::info!(%addr, "presentation tier listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("drained; exiting");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; axum then stops accepting and drains in-flight requests.
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
