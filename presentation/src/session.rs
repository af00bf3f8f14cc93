//! The portal's view of a visitor's session: the CSRF token every form carries, and once signed
//! in, the logic tier's token and who it belongs to.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::error::PageError;
use crate::logic::types::TotpEnrolment;
use crate::request_id::RequestId;

pub(crate) const AUTH_KEY: &str = "auth";
const CSRF_KEY: &str = "csrf";
const CHALLENGE_KEY: &str = "challenge";
const PENDING_TOTP_KEY: &str = "pending_totp";

/// A signed-in user, as the session remembers them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    pub token: String,
    pub username: String,
    /// The customer's name, or the username for staff.
    pub display_name: String,
    pub role: String,
    pub customer_id: Option<String>,
}

impl Auth {
    pub fn is_customer(&self) -> bool {
        self.role == "customer"
    }
}

/// Any visitor: their session and the token its forms carry (the session's CSRF token, made on
/// first use, with a single-use nonce for this page: [`crate::middleware::form_token`]).
#[derive(Debug, Clone)]
pub struct Visitor {
    pub session: Session,
    pub csrf: String,
    pub request_id: String,
}

fn new_csrf_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The CSRF token of the session, made if it has none yet.
pub async fn csrf_token(session: &Session) -> Result<String, PageError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await? {
        return Ok(token);
    }
    let token = new_csrf_token();
    session.insert(CSRF_KEY, &token).await?;
    Ok(token)
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| PageError::Internal(message.into()))?;
        // The page the forms are on: this one, or for a form shown again with its errors, the
        // page it was first sent from.
        let page = if parts.method == axum::http::Method::GET {
            parts.uri.path_and_query().map(|p| p.as_str().to_owned())
        } else {
            parts
                .extensions
                .get::<crate::middleware::FormOrigin>()
                .map(|origin| origin.0.clone())
        };
        let csrf = crate::middleware::form_token(
            &csrf_token(&session).await?,
            page.as_deref().unwrap_or("/"),
        );
        let request_id = RequestId::from_request_parts(parts, state)
            .await
            .map(|r| r.0)
            .unwrap_or_default();
        Ok(Self {
            session,
            csrf,
            request_id,
        })
    }
}

impl Visitor {
    pub async fn auth(&self) -> Result<Option<Auth>, PageError> {
        Ok(self.session.get::<Auth>(AUTH_KEY).await?)
    }

    /// Records a sign-in: a new session id (so a session fixed before sign-in is worthless) and a
    /// new CSRF token.
    pub async fn sign_in(&self, auth: &Auth) -> Result<(), PageError> {
        self.session.cycle_id().await?;
        self.session.remove_value(CHALLENGE_KEY).await?;
        self.session.insert(AUTH_KEY, auth).await?;
        self.session.insert(CSRF_KEY, new_csrf_token()).await?;
        Ok(())
    }

    pub async fn sign_out(&self) -> Result<(), PageError> {
        self.session.flush().await?;
        Ok(())
    }

    pub async fn set_challenge(&self, challenge: &str, username: &str) -> Result<(), PageError> {
        self.session
            .insert(CHALLENGE_KEY, (challenge, username))
            .await?;
        Ok(())
    }

    pub async fn challenge(&self) -> Result<Option<(String, String)>, PageError> {
        Ok(self.session.get::<(String, String)>(CHALLENGE_KEY).await?)
    }

    /// The second factor being set up, kept here between showing its code and confirming it:
    /// the page never round-trips the secret, so a form cannot swap in another.
    pub async fn set_pending_totp(&self, enrolment: &TotpEnrolment) -> Result<(), PageError> {
        self.session.insert(PENDING_TOTP_KEY, enrolment).await?;
        Ok(())
    }

    pub async fn pending_totp(&self) -> Result<Option<TotpEnrolment>, PageError> {
        Ok(self.session.get::<TotpEnrolment>(PENDING_TOTP_KEY).await?)
    }

    pub async fn clear_pending_totp(&self) -> Result<(), PageError> {
        self.session.remove_value(PENDING_TOTP_KEY).await?;
        Ok(())
    }
}

/// A signed-in customer; anyone else is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Customer {
    pub visitor: Visitor,
    pub auth: Auth,
}

impl Customer {
    pub fn caller(&self) -> crate::logic::Caller<'_> {
        crate::logic::Caller {
            token: Some(&self.auth.token),
            request_id: &self.visitor.request_id,
        }
    }

    pub fn csrf(&self) -> &str {
        &self.visitor.csrf
    }
}

/// Sends the browser to sign in (with htmx, a full-page redirect).
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let mut response = Redirect::to("/sign-in").into_response();
        response.headers_mut().insert(
            "hx-redirect",
            axum::http::HeaderValue::from_static("/sign-in"),
        );
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Customer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match visitor.auth().await.map_err(IntoResponse::into_response)? {
            Some(auth) if auth.is_customer() => Ok(Self { visitor, auth }),
            Some(_) => Err(Redirect::to("/staff").into_response()),
            None => Err(SignInFirst.into_response()),
        }
    }
}

/// A signed-in member of staff.
#[derive(Debug, Clone)]
pub struct Staff {
    pub visitor: Visitor,
    pub auth: Auth,
}

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match visitor.auth().await.map_err(IntoResponse::into_response)? {
            Some(auth) if !auth.is_customer() => Ok(Self { visitor, auth }),
            Some(_) => Err(Redirect::to("/").into_response()),
            None => Err(SignInFirst.into_response()),
        }
    }
}
