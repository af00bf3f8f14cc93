//! The API's one error type and its one mapping to HTTP: RFC 9457 `application/problem+json`
//! with a stable machine-readable `code`. Internals never reach the client: a 500 says "internal
//! error" and the cause goes to the log, tied to the request id.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bank_api::ProblemCode;
use serde::Serialize;

use crate::domain::account_number::AccountNumberError;
use crate::domain::money::MoneyError;
use crate::domain::text::TextError;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be understood (bad JSON, bad query, bad header).
    #[error("{code}: {detail}")]
    BadRequest { code: ProblemCode, detail: String },
    /// The request was understood but a field is not acceptable.
    #[error("{code}: {detail}")]
    Invalid {
        code: ProblemCode,
        detail: String,
        field: Option<&'static str>,
    },
    #[error("{code}: {detail}")]
    Unauthenticated {
        code: ProblemCode,
        detail: &'static str,
    },
    #[error("{code}: {detail}")]
    Forbidden {
        code: ProblemCode,
        detail: &'static str,
    },
    /// An API key lacks the scope the endpoint needs.
    #[error("scope missing: {}", .0.as_str())]
    ScopeMissing(crate::auth::scopes::Scope),
    /// Not found, or not the caller's to see: the two are deliberately indistinguishable.
    #[error("{code}")]
    NotFound {
        code: ProblemCode,
        detail: &'static str,
    },
    #[error("{code}: {detail}")]
    Conflict { code: ProblemCode, detail: String },
    /// A business rule refused the operation (insufficient funds, account not open, …).
    #[error("{code}: {detail}")]
    Refused { code: ProblemCode, detail: String },
    #[error("too many attempts")]
    TooManyRequests {
        code: ProblemCode,
        detail: &'static str,
        retry_after_s: u64,
    },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The retry budget ran out while the database was unavailable; safe to retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// One leg of an atomic batch was refused, so the whole batch was.
    #[error("leg {leg}: {error}")]
    InBatch { leg: usize, error: Box<ApiError> },
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: ProblemCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<Cow<'static, str>>,
}

impl ApiError {
    pub fn invalid(code: ProblemCode, field: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            detail: detail.into(),
            field: Some(field),
        }
    }

    pub fn refused(code: ProblemCode, detail: impl Into<String>) -> Self {
        ApiError::Refused {
            code,
            detail: detail.into(),
        }
    }

    /// Whether the unit of work that failed with this error may be run again.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Data(e) => e.is_transient(),
            ApiError::InBatch { error, .. } => error.is_transient(),
            _ => false,
        }
    }

    fn parts(
        &self,
    ) -> (
        StatusCode,
        ProblemCode,
        &'static str,
        String,
        Option<Cow<'static, str>>,
    ) {
        match self {
            ApiError::InBatch { leg, error } => {
                let (status, code, title, detail, field) = error.parts();
                let field = match field {
                    Some(inner) => format!("transfers[{leg}].{inner}"),
                    None => format!("transfers[{leg}]"),
                };
                (
                    status,
                    code,
                    title,
                    format!("transfer {} of the batch: {detail}", leg + 1),
                    Some(Cow::Owned(field)),
                )
            }
            ApiError::BadRequest { code, detail } => (
                StatusCode::BAD_REQUEST,
                *code,
                "Bad request",
                detail.clone(),
                None,
            ),
            ApiError::Invalid {
                code,
                detail,
                field,
            } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                *code,
                "Invalid request",
                detail.clone(),
                field.map(Cow::Borrowed),
            ),
            ApiError::Unauthenticated { code, detail } => (
                StatusCode::UNAUTHORIZED,
                *code,
                "Not signed in",
                (*detail).into(),
                None,
            ),
            ApiError::Forbidden { code, detail } => (
                StatusCode::FORBIDDEN,
                *code,
                "Not allowed",
                (*detail).into(),
                None,
            ),
            ApiError::ScopeMissing(scope) => (
                StatusCode::FORBIDDEN,
                ProblemCode::ScopeMissing,
                "Not allowed",
                format!("this API key lacks the scope {}", scope.as_str()),
                None,
            ),
            ApiError::NotFound { code, detail } => (
                StatusCode::NOT_FOUND,
                *code,
                "Not found",
                (*detail).into(),
                None,
            ),
            ApiError::Conflict { code, detail } => (
                StatusCode::CONFLICT,
                *code,
                "Conflict",
                detail.clone(),
                None,
            ),
            ApiError::Refused { code, detail } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                *code,
                "Refused",
                detail.clone(),
                None,
            ),
            ApiError::TooManyRequests { code, detail, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                *code,
                "Too many requests",
                (*detail).into(),
                None,
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ProblemCode::PayloadTooLarge,
                "Payload too large",
                "the request body is larger than the API accepts".into(),
                None,
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ProblemCode::UnsupportedMediaType,
                "Unsupported media type",
                "send the body as application/json".into(),
                None,
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::ServiceUnavailable,
                "Service unavailable",
                "the bank cannot complete this right now; retry with the same Idempotency-Key"
                    .into(),
                None,
            ),
            ApiError::Data(error) if error.is_transient() => (
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::ServiceUnavailable,
                "Service unavailable",
                "the bank cannot complete this right now; retry with the same Idempotency-Key"
                    .into(),
                None,
            ),
            ApiError::Data(_) | ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ProblemCode::InternalError,
                "Internal error",
                "something went wrong on our side; quote the request id if you contact us".into(),
                None,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title, detail, field) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let problem = Problem {
            type_: format!("urn:bank:problem:{}", code.as_str()),
            title,
            status: status.as_u16(),
            detail: &detail,
            code,
            field,
        };
        let mut response = (status, axum::Json(problem)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        let retry_after = match &self {
            ApiError::InBatch { .. } if status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            ApiError::TooManyRequests { retry_after_s, .. } => Some(*retry_after_s),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<MoneyError> for ApiError {
    fn from(error: MoneyError) -> Self {
        match error {
            MoneyError::UnknownCurrency(_) => {
                ApiError::invalid(ProblemCode::InvalidCurrency, "currency", error.to_string())
            }
            _ => ApiError::invalid(ProblemCode::InvalidAmount, "amount", error.to_string()),
        }
    }
}

impl From<TextError> for ApiError {
    fn from(error: TextError) -> Self {
        let field = match &error {
            TextError::TooLong { field, .. }
            | TextError::Missing { field }
            | TextError::ControlCharacters { field }
            | TextError::Invalid { field, .. } => *field,
        };
        ApiError::invalid(ProblemCode::InvalidField, field, error.to_string())
    }
}

/// Builds the error for an account number that does not parse, naming the field it came from.
pub fn invalid_account_number(field: &'static str, error: AccountNumberError) -> ApiError {
    ApiError::invalid(ProblemCode::InvalidAccountNumber, field, error.to_string())
}

pub fn account_not_found() -> ApiError {
    ApiError::NotFound {
        code: ProblemCode::AccountNotFound,
        detail: "there is no account with this number that you can use",
    }
}
