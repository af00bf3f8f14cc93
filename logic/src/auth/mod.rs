//! Who is calling: the calling service by its credential, and the signed-in user by their token.
//!
//! Every `/v1` request passes [`require_service`], which resolves both in one query and leaves a
//! [`Caller`] in the request's extensions. Handlers then ask for what they need with the
//! [`SignedIn`] extractor and check roles and ownership with the methods on [`SessionUser`].

pub mod password;
pub mod secrets;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use data::users::Role;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying the calling service's own credential.
pub const SERVICE_KEY_HEADER: &str = "x-api-key";

/// A service allowed to call the API.
#[derive(Debug, Clone)]
pub struct Service {
    pub id: Uuid,
    pub name: String,
}

/// A signed-in user, as their live session says.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub customer_id: Option<Uuid>,
    pub expires_at: OffsetDateTime,
}

impl SessionUser {
    pub fn is_staff(&self) -> bool {
        self.role != Role::Customer
    }

    /// Refuses unless the user has one of `roles`.
    pub fn require_role(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("your role does not allow this"))
        }
    }
}

#[derive(Debug, Clone)]
enum UserState {
    /// No bearer token was sent.
    Absent,
    /// A token was sent but it is unknown, expired or revoked.
    Rejected,
    Valid(SessionUser),
}

/// Both credentials of a request, resolved.
#[derive(Debug, Clone)]
pub struct Caller {
    pub service: Service,
    user: UserState,
}

/// Middleware for every `/v1` route: refuses a request without a valid service credential and
/// resolves the user's token if one was sent.
pub async fn require_service(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match resolve(&state, request.headers()).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let service_key = headers
        .get(SERVICE_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthenticated {
            code: "service_credential_missing",
            detail: "every call must carry the calling service's credential in X-Api-Key",
        })?;
    let token = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or(ApiError::Unauthenticated {
                    code: "session_invalid",
                    detail: "the Authorization header must be 'Bearer <session token>'",
                })?,
        ),
    };
    let service_key_hash = secrets::digest(service_key);
    let token_hash = token.map(secrets::digest);
    let callers = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::sessions::authenticate(
            &mut conn,
            &service_key_hash,
            token_hash.as_deref(),
            state.settings.session_idle_s,
        )
        .await?)
    })
    .await?;
    let service = callers.service.ok_or(ApiError::Unauthenticated {
        code: "service_credential_invalid",
        detail: "the service credential is not valid",
    })?;
    let user = match (token, callers.user) {
        (None, _) => UserState::Absent,
        (Some(_), None) => UserState::Rejected,
        (Some(_), Some(row)) => UserState::Valid(SessionUser {
            session_id: row.session_id,
            user_id: row.user_id,
            username: row.username,
            role: row.role,
            customer_id: row.customer_id,
            expires_at: row.expires_at,
        }),
    };
    Ok(Caller {
        service: Service {
            id: service.id,
            name: service.name,
        },
        user,
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("route is not behind require_service".into()))
    }
}

/// Extracts the signed-in user, refusing the request if there is none.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: SessionUser,
    pub service: Service,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.user {
            UserState::Valid(user) => Ok(SignedIn {
                user,
                service: caller.service,
            }),
            UserState::Absent => Err(ApiError::Unauthenticated {
                code: "session_required",
                detail: "sign in first: send 'Authorization: Bearer <session token>'",
            }),
            UserState::Rejected => Err(ApiError::Unauthenticated {
                code: "session_invalid",
                detail: "the session has expired or was signed out; sign in again",
            }),
        }
    }
}
