//! Friendly error pages. A handler's error becomes an [`ErrorPage`] marker; the `render_errors`
//! middleware, which knows the request id, turns it into a page that shows that id.

use askama::Template;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::logic::LogicError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// The logic tier refused what a link or form asked (an edited address, say): nothing changed.
    #[error("refused: {0}")]
    BadRequest(bank_api::ProblemCode),
    #[error("the bank is not reachable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
    /// The logic tier says the customer's session has ended: they sign in again.
    #[error("signed out")]
    SignedOut,
    /// The user's password was chosen by someone else: they replace it before anything else.
    #[error("password change due")]
    PasswordChangeDue,
    /// A member of staff without a second factor: they enrol one before anything else.
    #[error("second factor enrolment due")]
    SecondFactorDue,
}

impl From<tower_sessions::session::Error> for PageError {
    fn from(error: tower_sessions::session::Error) -> Self {
        PageError::Unavailable(format!("session store: {error}"))
    }
}

impl From<LogicError> for PageError {
    fn from(error: LogicError) -> Self {
        match &error {
            LogicError::Unavailable(cause) => PageError::Unavailable(cause.clone()),
            _ if error.is_signed_out() => PageError::SignedOut,
            LogicError::Problem(problem)
                if problem.code == bank_api::ProblemCode::PasswordChangeRequired =>
            {
                PageError::PasswordChangeDue
            }
            LogicError::Problem(problem)
                if problem.code == bank_api::ProblemCode::SecondFactorEnrolmentRequired =>
            {
                PageError::SecondFactorDue
            }
            LogicError::Problem(problem) if problem.status == 404 => PageError::NotFound,
            LogicError::Problem(problem) if problem.status == 403 => PageError::Forbidden,
            LogicError::Problem(problem) if matches!(problem.status, 400 | 422) => {
                PageError::BadRequest(problem.code)
            }
            LogicError::Problem(_) => PageError::Internal(error.to_string()),
        }
    }
}

/// What the error page will say; set by [`PageError`], rendered by [`render_errors`].
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: &'static str,
    /// A page of the portal to go back to, instead of the accounts.
    pub back_to: Option<String>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let redirect = match self {
            PageError::SignedOut => Some("/sign-in?expired=1"),
            PageError::PasswordChangeDue => Some(crate::pages::REPLACE_PASSWORD),
            PageError::SecondFactorDue => Some(crate::pages::ENROL_SECOND_FACTOR),
            _ => None,
        };
        if let Some(to) = redirect {
            let mut response = axum::response::Redirect::to(to).into_response();
            response
                .headers_mut()
                .insert("hx-redirect", axum::http::HeaderValue::from_static(to));
            return response;
        }
        let (status, title, message) = match &self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here, or it is not yours to see.",
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "This action was refused. If you followed a link from another site, go back to the bank's pages and try again.",
            ),
            PageError::BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "This request could not be used",
                "Something in the address or the form was not valid, and nothing was changed. Go back, check it and try again.",
            ),
            PageError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The bank is briefly unavailable",
                "We could not reach our systems just now. Nothing was lost; please try again in a moment.",
            ),
            PageError::Internal(_)
            | PageError::SignedOut
            | PageError::PasswordChangeDue
            | PageError::SecondFactorDue => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. Please try again; if it keeps happening, contact us with the reference below.",
            ),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "page failed");
        }
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorPage {
            title,
            message,
            back_to: None,
        });
        response
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    title: &'a str,
    message: &'a str,
    request_id: &'a str,
    back_to: Option<&'a str>,
    signed_in: bool,
    section: &'a str,
    csrf: &'a str,
}

fn is_plain_text(response: &Response) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"))
}

/// Renders every [`ErrorPage`], every bare 404 and 403, and axum's plain-text refusals of a form
/// or a query, with the request id.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let staff_page = request.uri().path().starts_with("/staff");
    let mut response = next.run(request).await;
    // What axum said it could not read goes to the log (under the request's id, which the page
    // shows), not to the page.
    if response.status().is_client_error() && is_plain_text(&response) {
        let (parts, body) = response.into_parts();
        let said = axum::body::to_bytes(body, 1024).await.unwrap_or_default();
        tracing::info!(
            status = parts.status.as_u16(),
            reason = %String::from_utf8_lossy(&said),
            "the request could not be read"
        );
        response = Response::from_parts(parts, axum::body::Body::empty());
    }
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        None if response.status() == StatusCode::NOT_FOUND
            && response.headers().get("content-type").is_none() =>
        {
            ErrorPage {
                title: "Page not found",
                message: "There is nothing here, or it is not yours to see.",
                back_to: None,
            }
        }
        None if response.status() == StatusCode::FORBIDDEN
            && response.headers().get("content-type").is_none() =>
        {
            ErrorPage {
                title: "Not allowed",
                message: "This request was refused because it did not come from a page of the bank. Go back, reload the page and try again.",
                back_to: None,
            }
        }
        // axum's own refusals of a form or query it cannot read (a field missing or repeated,
        // a body that is not a form), which it answers in plain text, and of a body too large
        // (plain text, or nothing at all when the form's check refused it first).
        None if response.status() == StatusCode::PAYLOAD_TOO_LARGE
            || response.status().is_client_error() && is_plain_text(&response) =>
        {
            if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ErrorPage {
                    title: "This form is too large",
                    message: "What was sent is larger than any form of the bank, and nothing was changed. Go back and try again with less text.",
                    back_to: staff_page.then(|| "/staff".to_owned()),
                }
            } else {
                ErrorPage {
                    title: "This form could not be read",
                    message: "Something in the form or the address was missing or not in the form the bank expects, and nothing was changed. Go back, reload the page and try again.",
                    back_to: staff_page.then(|| "/staff".to_owned()),
                }
            }
        }
        None => return response,
    };
    let status = response.status();
    let body = ErrorTemplate {
        title: page.title,
        message: page.message,
        request_id: &request_id,
        back_to: page.back_to.as_deref(),
        signed_in: false,
        section: "",
        csrf: "",
    }
    .render()
    .unwrap_or_else(|_| page.message.to_owned());
    let mut rendered = (status, Html(body)).into_response();
    for (name, value) in response.headers() {
        if name != "content-type" && name != "content-length" {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}
