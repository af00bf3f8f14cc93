//! Extractors that turn malformed input into the API's problem responses instead of axum's
//! plain-text rejections.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use bank_api::ProblemCode;
use serde::de::DeserializeOwned;

use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::idempotency::{Completion, IdempotencyKey, Outcome};
use crate::posting::Actor;

/// JSON body; syntax errors are 400 `malformed_json`, type errors 422 `invalid_request`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonDataError(e) => ApiError::Invalid {
                    code: ProblemCode::InvalidRequest,
                    detail: e.body_text(),
                    field: None,
                },
                JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest {
                    code: ProblemCode::MalformedJson,
                    detail: e.body_text(),
                },
                JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::PayloadTooLarge
                }
                other => ApiError::BadRequest {
                    code: ProblemCode::MalformedRequest,
                    detail: other.body_text(),
                },
            }),
        }
    }
}

/// An optional JSON body: an empty body is `T::default()`, anything else must be valid JSON.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest {
                        code: ProblemCode::MalformedRequest,
                        detail: rejection.body_text(),
                    }
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e: serde_json::Error| {
                if e.is_data() {
                    ApiError::Invalid {
                        code: ProblemCode::InvalidRequest,
                        detail: e.to_string(),
                        field: None,
                    }
                } else {
                    ApiError::BadRequest {
                        code: ProblemCode::MalformedJson,
                        detail: e.to_string(),
                    }
                }
            })
    }
}

/// Query string; anything unparsable is 422 `invalid_query`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::Invalid {
                code: ProblemCode::InvalidQuery,
                detail: e.body_text(),
                field: None,
            }),
            Err(other) => Err(ApiError::BadRequest {
                code: ProblemCode::InvalidQuery,
                detail: other.body_text(),
            }),
        }
    }
}

/// The request id set (or passed on) by the request-id layer.
#[derive(Debug, Clone)]
pub struct RequestId(pub Option<String>);

impl RequestId {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(128).collect()),
        ))
    }
}

/// The required `Idempotency-Key` header of every money-moving request.
#[derive(Debug, Clone)]
pub struct RequiredIdempotencyKey(pub IdempotencyKey);

impl<S: Send + Sync> FromRequestParts<S> for RequiredIdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get("idempotency-key")
            .ok_or(ApiError::BadRequest {
                code: ProblemCode::IdempotencyKeyMissing,
                detail: "money-moving requests need an Idempotency-Key header".into(),
            })?;
        let text = value.to_str().map_err(|_| ApiError::BadRequest {
            code: ProblemCode::IdempotencyKeyInvalid,
            detail: "Idempotency-Key must be visible ASCII".into(),
        })?;
        Ok(Self(IdempotencyKey::parse(text)?))
    }
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        let status = match self.completion {
            Completion::Created => StatusCode::CREATED,
            Completion::Accepted => StatusCode::ACCEPTED,
            Completion::Changed => StatusCode::OK,
        };
        let mut response = (status, axum::Json(self.body)).into_response();
        if self.replayed {
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
        }
        response
    }
}

/// The query of a list with nothing to filter: which page, and how long.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

impl PageQuery {
    /// The page size asked for, refused as `invalid_query` when out of bounds.
    pub fn size(&self) -> Result<i64, ApiError> {
        crate::cursor::page_size_default(self.limit)
    }
}

/// Who asks, for the rules: the signed-in user and the request's id for the audit trail.
pub fn actor<'a>(signed_in: &'a SignedIn, request_id: &'a RequestId) -> Actor<'a> {
    Actor {
        user: &signed_in.user,
        request_id: request_id.as_deref(),
    }
}
