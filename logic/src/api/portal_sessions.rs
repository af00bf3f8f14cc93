//! `/v1/portal-sessions/{key}`: the presentation tier's session store (service credential only).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use axum::{Json, Router};

use super::extract::ApiJson;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::portal_sessions::RecordKey;
use crate::state::AppState;
use crate::wire::PortalSessionRecord;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/portal-sessions/{key}",
        put(save).post(create).get(load).delete(remove),
    )
}

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

async fn load(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<PortalSessionRecord>, ApiError> {
    Ok(Json(
        crate::portal_sessions::load(&state, &caller.service, &RecordKey::parse(&key)?).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    crate::portal_sessions::delete(&state, &caller.service, &RecordKey::parse(&key)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
