//! Probes for load balancers and operators; outside `/v1`, no credentials.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

/// A readiness probe that takes longer than this counts as not ready.
const READY_TIMEOUT_MS: u64 = 2_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is alive and serving.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database is reachable and accepts writes.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let probe = async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        data::health::is_writable(&mut conn).await
    };
    match tokio::time::timeout(Duration::from_millis(READY_TIMEOUT_MS), probe).await {
        Ok(Ok(true)) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": "writable" })),
        ),
        Ok(Ok(false)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "database": "read_only" })),
        ),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness probe failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "database": "unreachable" })),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "database": "timeout" })),
        ),
    }
}
