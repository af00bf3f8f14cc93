//! `/v1/admin/cluster`: the database nodes' roles, lag and health (admins only).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::auth::SignedIn;
use crate::cluster::ClusterResponse;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/cluster", get(cluster))
}

async fn cluster(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<ClusterResponse>, ApiError> {
    Ok(Json(crate::cluster::status(&state, &signed_in.user).await?))
}
