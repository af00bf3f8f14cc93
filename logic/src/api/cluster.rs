//! `/v1/admin/cluster`: the database nodes' roles, lag and health (admins only).

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::cluster::ClusterResponse;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(cluster))
}

#[utoipa::path(
    get,
    path = "/admin/cluster",
    tag = "administration",
    summary = "The database nodes and their roles, as Patroni reports them",
    responses(
        (status = 200, description = "OK", body = ClusterResponse)
    )
)]
async fn cluster(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<ClusterResponse>, ApiError> {
    Ok(Json(crate::cluster::status(&state, &signed_in.user).await?))
}
