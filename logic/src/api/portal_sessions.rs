//! `/v1/portal-sessions/{key}`: the presentation tier's session store (service credential only).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiJson;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::portal_sessions::RecordKey;
use crate::state::AppState;
use crate::wire::PortalSessionRecord;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(save, create, load, remove))
}

#[utoipa::path(
    post,
    path = "/portal-sessions/{key}",
    tag = "portal",
    summary = "Store a new web-tier session record",
    params(
        ("key" = String, Path)
    ),
    request_body = PortalSessionRecord,
    responses(
        (status = 204, description = "Done")
    )
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(record): ApiJson<PortalSessionRecord>,
) -> Result<StatusCode, ApiError> {
    crate::portal_sessions::create(&state, &caller.service, &RecordKey::parse(&key)?, &record)
        .await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(
    put,
    path = "/portal-sessions/{key}",
    tag = "portal",
    summary = "Replace a web-tier session record",
    params(
        ("key" = String, Path)
    ),
    request_body = PortalSessionRecord,
    responses(
        (status = 204, description = "Done")
    )
)]
async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(record): ApiJson<PortalSessionRecord>,
) -> Result<StatusCode, ApiError> {
    crate::portal_sessions::save(&state, &caller.service, &RecordKey::parse(&key)?, &record)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/portal-sessions/{key}",
    tag = "portal",
    summary = "Read a web-tier session record",
    params(
        ("key" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = PortalSessionRecord)
    )
)]
async fn load(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<PortalSessionRecord>, ApiError> {
    Ok(Json(
        crate::portal_sessions::load(&state, &caller.service, &RecordKey::parse(&key)?).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/portal-sessions/{key}",
    tag = "portal",
    summary = "Delete a web-tier session record",
    params(
        ("key" = String, Path)
    ),
    responses(
        (status = 204, description = "Done")
    )
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    crate::portal_sessions::delete(&state, &caller.service, &RecordKey::parse(&key)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
