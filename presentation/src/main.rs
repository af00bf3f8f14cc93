//! The presentation tier: the web banking portal and staff pages, rendered on the server.
//!
//! It talks to the logic tier over HTTP only and never to the database; it depends on neither
//! the `data` crate nor sqlx. This first cut serves its health probes and the static assets; the
//! portal's pages arrive with the portal itself.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tower_http::services::ServeDir;

/// How long the readiness probe waits for the logic tier.
const LOGIC_PROBE_TIMEOUT_MS: u64 = 2_000;

#[derive(Clone)]
struct AppState {
    logic_url: String,
    http: reqwest::Client,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr: SocketAddr = std::env::var("PORTAL_LISTEN_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8080".into())
        .parse()
        .context("PORTAL_LISTEN_ADDR")?;
    let logic_url =
        std::env::var("BANK_LOGIC_URL").unwrap_or_else(|_| "http://127.0.0.1:8081".into());
    let static_dir = std::env::var("PORTAL_STATIC_DIR").unwrap_or_else(|_| "static".into());
    let state = AppState {
        logic_url: logic_url.trim_end_matches('/').to_owned(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_millis(LOGIC_PROBE_TIMEOUT_MS))
            .build()?,
    };
    let app = Router::new()
        .route("/healthz", get(|| async { Json(Health { status: "ok" }) }))
        .route("/readyz", get(readyz))
        .nest_service("/static", ServeDir::new(static_dir))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind {addr}"))?;
    tracing::info!(%addr, "presentation tier listening");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Ready when the logic tier answers its own liveness probe.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let probe = state
        .http
        .get(format!("{}/healthz", state.logic_url))
        .send()
        .await;
    match probe {
        Ok(response) if response.status().is_success() => {
            (StatusCode::OK, Json(Health { status: "ready" }))
        }
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "logic_unreachable",
            }),
        ),
    }
}
