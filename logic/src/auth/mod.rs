//! Who is calling: the calling service by its credential, and the signed-in user by their token.
//!
//! Every `/v1` request passes the API's gate (`api::gate`), which resolves both in one query
//! ([`resolve`]) and leaves a [`Caller`] in the request's extensions. Handlers then ask for what they need with the
//! [`SignedIn`] extractor and check roles and ownership with the methods on [`SessionUser`].
//!
//! An internal service's API key is a credential of its own: it acts as its service account
//! (role `service`), never for a user, only on the endpoints its scopes open
//! ([`scopes::required_scope`]) and within its rate limit ([`rate_limit`]).

pub mod password;
pub mod rate_limit;
pub mod scopes;
pub mod secrets;
pub mod server_key;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use bank_api::ProblemCode;
use data::users::Role;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;
use scopes::Scope;

/// The header carrying the calling service's own credential.
pub const SERVICE_KEY_HEADER: &str = "x-api-key";

/// A service allowed to call the API.
#[derive(Debug, Clone)]
pub struct Service {
    pub id: Uuid,
    pub name: String,
    /// The presentation tier's credential: it forwards signed-in users' tokens.
    pub acts_for_users: bool,
    pub rate_limit_per_minute: u32,
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
    /// What an API key's service account may do; empty for people, whose role decides.
    pub scopes: Vec<Scope>,
    /// The password was set by someone else: until the user replaces it, nothing else is allowed.
    pub password_change_due: bool,
    /// A member of staff without a second factor, where staff must have one: until they enrol
    /// one, nothing else is allowed.
    pub second_factor_due: bool,
}

impl SessionUser {
    /// A teller, supervisor or admin: a person working for the bank.
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Teller | Role::Supervisor | Role::Admin)
    }

    /// Staff, or an internal service's API key: callers who may reach any customer's records
    /// (within their role or scopes), unlike a customer, who reaches only their own.
    pub fn reaches_every_customer(&self) -> bool {
        self.is_staff() || self.role == Role::Service
    }

    /// Refuses unless the user has one of `roles`.
    pub fn require_role(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: ProblemCode::Forbidden,
                detail: "your role does not allow this",
            })
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum UserState {
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
    pub(crate) user: UserState,
}

/// The service and the user behind a request's headers, in one query: what [`crate::api::gate`]
/// leaves in the request's extensions.
pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let service_key = headers
        .get(SERVICE_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthenticated {
            code: ProblemCode::ServiceCredentialMissing,
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
                    code: ProblemCode::SessionInvalid,
                    detail: "the Authorization header must be 'Bearer <session token>'",
                })?,
        ),
    };
    let service_key_hash = secrets::digest(service_key);
    let token_hash = token.map(secrets::digest);
    let token_hash = &token_hash;
    let service_key_hash = &service_key_hash;
    let callers = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::sessions::authenticate(
                &mut *conn,
                service_key_hash,
                token_hash.as_deref(),
                state.settings.session_idle_s,
            )
            .await?)
        })
    })
    .await?;
    let service = callers.service.ok_or(ApiError::Unauthenticated {
        code: ProblemCode::ServiceCredentialInvalid,
        detail: "the API key is not valid: unknown, rotated or revoked",
    })?;
    if let Some((account_id, account_name)) = service.service_account.clone() {
        if token.is_some() {
            return Err(ApiError::BadRequest {
                code: ProblemCode::BearerWithApiKey,
                detail: "an API key acts as its own service account; send no Authorization header"
                    .into(),
            });
        }
        let scopes = service
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .collect();
        return Ok(Caller {
            service: Service {
                id: service.id,
                name: service.name,
                acts_for_users: false,
                rate_limit_per_minute: u32::try_from(service.rate_limit_per_minute).unwrap_or(1),
            },
            user: UserState::Valid(SessionUser {
                session_id: service.id,
                user_id: account_id,
                username: account_name,
                role: Role::Service,
                customer_id: None,
                // A key has no session; it lasts until it is revoked.
                expires_at: OffsetDateTime::now_utc(),
                scopes,
                password_change_due: false,
                second_factor_due: false,
            }),
        });
    }
    if !service.acts_for_users {
        return Err(ApiError::Internal(
            "an API key without its service account".into(),
        ));
    }
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
            scopes: Vec::new(),
            password_change_due: row.password_change_due,
            second_factor_due: state.settings.staff_second_factor_required
                && matches!(row.role, Role::Teller | Role::Supervisor | Role::Admin)
                && !row.second_factor_on,
        }),
    };
    Ok(Caller {
        service: Service {
            id: service.id,
            name: service.name,
            acts_for_users: true,
            rate_limit_per_minute: 0,
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

/// What a user whose password was set by someone else may still do: replace it (sending the
/// portal's form for it), see who they are, and sign out.
fn allowed_before_password_change(parts: &Parts) -> bool {
    let path = parts.uri.path();
    matches!(
        (&parts.method, path.strip_prefix("/v1").unwrap_or(path)),
        (&Method::POST, "/me/password" | "/me/form-submissions")
            | (&Method::GET, "/me")
            | (&Method::DELETE, "/sessions/current" | "/sessions")
    )
}

/// What a member of staff without a second factor may still do: enrol one (sending the portal's
/// forms for it), replace a password someone else set, see who they are, and sign out.
fn allowed_before_second_factor(parts: &Parts) -> bool {
    let path = parts.uri.path();
    allowed_before_password_change(parts)
        || matches!(
            (&parts.method, path.strip_prefix("/v1").unwrap_or(path)),
            (&Method::POST, "/me/totp" | "/me/totp/confirm")
        )
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
            UserState::Valid(user)
                if user.password_change_due && !allowed_before_password_change(parts) =>
            {
                Err(ApiError::Forbidden {
                    code: ProblemCode::PasswordChangeRequired,
                    detail: "this password was set by someone else: replace it (POST /v1/me/password) before anything else",
                })
            }
            UserState::Valid(user)
                if user.second_factor_due && !allowed_before_second_factor(parts) =>
            {
                Err(ApiError::Forbidden {
                    code: ProblemCode::SecondFactorEnrolmentRequired,
                    detail: "staff must have a second factor: enrol one (POST /v1/me/totp, then /v1/me/totp/confirm) before anything else",
                })
            }
            UserState::Valid(user) => Ok(SignedIn {
                user,
                service: caller.service,
            }),
            UserState::Absent => Err(ApiError::Unauthenticated {
                code: ProblemCode::SessionRequired,
                detail: "sign in first: send 'Authorization: Bearer <session token>'",
            }),
            UserState::Rejected => Err(ApiError::Unauthenticated {
                code: ProblemCode::SessionInvalid,
                detail: "the session has expired or was signed out; sign in again",
            }),
        }
    }
}
