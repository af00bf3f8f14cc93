//! The gate every `/v1` request passes: a valid service credential or nothing, the user's token
//! resolved, and an API key held to its rate limit and its scopes.

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bank_api::ProblemCode;

use crate::auth::{Caller, UserState, resolve};
use crate::error::ApiError;
use crate::state::AppState;

/// Middleware for every `/v1` route: refuses a request without a valid service credential and
/// resolves the user's token if one was sent.
pub async fn require_service(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match resolve(&state, request.headers()).await {
        Ok(caller) => caller,
        Err(error) => {
            super::request_id::settle_for_caller(&mut request, false);
            return error.into_response();
        }
    };
    super::request_id::settle_for_caller(&mut request, caller.service.acts_for_users);
    if caller.service.acts_for_users {
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    }
    // An API key: every request it makes counts against its rate limit; the route must be open
    // to keys and the key must hold the route's scope.
    let decision = state
        .rate_limiter
        .check(caller.service.id, caller.service.rate_limit_per_minute);
    let mut response = if decision.allowed {
        match key_may_call(&caller, &request) {
            Ok(()) => {
                request.extensions_mut().insert(caller);
                next.run(request).await
            }
            Err(error) => error.into_response(),
        }
    } else {
        ApiError::TooManyRequests {
            code: ProblemCode::RateLimited,
            detail: "this API key has used up its rate limit; retry after the Retry-After seconds",
            retry_after_s: decision.retry_after_s,
        }
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(decision.reset_s));
    response
}

/// Refuses an API key's request to a route closed to keys or outside the key's scopes.
fn key_may_call(caller: &Caller, request: &Request) -> Result<(), ApiError> {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().trim_start_matches("/v1"))
        .unwrap_or_default();
    let Some(scope) = crate::auth::scopes::required_scope(request.method(), path) else {
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "API keys cannot call this endpoint; it serves signed-in users",
        });
    };
    match &caller.user {
        UserState::Valid(user) if user.scopes.contains(&scope) => Ok(()),
        _ => Err(ApiError::ScopeMissing(scope)),
    }
}
