//! `/v1/admin/api-keys`: admins issue, list, rotate and revoke internal services' API keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bank_api::ProblemCode;
use bank_api::admin::{CreateKeyRequest, RotateKeyRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::PageQuery;
use super::extract::{ApiJson, ApiQuery, OptionalJson, RequestId};
use crate::api_keys::{KeyChange, NewKey};
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{ApiKeyListResponse, ApiKeyResponse, ApiKeySecretResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(rotate))
        .routes(routes!(revoke))
}

fn key_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::ApiKeyNotFound,
        detail: "there is no API key with this id",
    })
}

/// List API keys
///
/// Newest first, revoked ones included; never their secrets.
#[utoipa::path(get, path = "/admin/api-keys", tag = "administration", params(PageQuery),
    responses((status = 200, description = "A page of keys", body = ApiKeyListResponse)))]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<ApiKeyListResponse>, ApiError> {
    let limit = query.size()?;
    let (rows, next_cursor) =
        crate::api_keys::list(&state, &signed_in.user, query.cursor.as_deref(), limit).await?;
    Ok(Json(ApiKeyListResponse {
        api_keys: rows.iter().map(crate::api_keys::response).collect(),
        next_cursor,
    }))
}

/// Create an API key
///
/// The answer carries the secret, the only time it is shown.
#[utoipa::path(post, path = "/admin/api-keys", tag = "administration",
    request_body = CreateKeyRequest,
    responses((status = 201, description = "Created; store the secret now", body = ApiKeySecretResponse)))]
async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    ApiJson(request): ApiJson<CreateKeyRequest>,
) -> Result<(StatusCode, Json<ApiKeySecretResponse>), ApiError> {
    let new = NewKey::parse(
        &request.name,
        &request.scopes,
        request.rate_limit_per_minute,
    )?;
    let created =
        crate::api_keys::create(&state, &signed_in.user, request_id.as_deref(), &new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Rotate an API key
///
/// Issues a new secret for the same key (same scopes, same service account). The answer
/// carries the new secret, the only time it is shown.
#[utoipa::path(post, path = "/admin/api-keys/{id}/rotate", tag = "administration",
    params(("id" = String, Path, description = "The key's id")),
    request_body(content = Option<RotateKeyRequest>),
    responses((status = 200, description = "Rotated; store the new secret now", body = ApiKeySecretResponse)))]
async fn rotate(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<RotateKeyRequest>,
) -> Result<Json<ApiKeySecretResponse>, ApiError> {
    let id = key_id(&id)?;
    let change = KeyChange::Rotate {
        grace_s: request.grace_seconds.unwrap_or(0),
    };
    let (key, secret) =
        crate::api_keys::change(&state, &signed_in.user, request_id.as_deref(), id, change).await?;
    let secret = secret.ok_or_else(|| ApiError::Internal("a rotation without a secret".into()))?;
    Ok(Json(ApiKeySecretResponse { key, secret }))
}

/// Revoke an API key
///
/// Refused from the next request on; a revoked key cannot be restored.
#[utoipa::path(post, path = "/admin/api-keys/{id}/revoke", tag = "administration",
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 200, description = "Revoked", body = ApiKeyResponse)))]
async fn revoke(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyResponse>, ApiError> {
    let id = key_id(&id)?;
    let (key, _) = crate::api_keys::change(
        &state,
        &signed_in.user,
        request_id.as_deref(),
        id,
        KeyChange::Revoke,
    )
    .await?;
    Ok(Json(key))
}
