//! Signing in (with the second factor when enrolled) and out.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::ProblemCode;
use serde::Deserialize;

use crate::error::PageError;
use bank_api::sessions::{SecondFactorRequest, SignInRequest};

use crate::logic::SignedIn;
use crate::logic::types::Session;
use crate::logic::{Caller, EndUser, LogicError};
use crate::session::{Auth, Staff, Visitor};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-in/code", get(code_page).post(code))
        .route("/sign-out", post(sign_out))
        .route(
            "/password/replace",
            get(replace_password_page).post(replace_password),
        )
        .route("/staff/cluster", get(cluster))
        .route(ENROL_SECOND_FACTOR, get(second_factor_page))
        .route("/second-factor/start", post(start_second_factor))
        .route("/second-factor/confirm", post(confirm_second_factor))
}

#[derive(Template, WebTemplate)]
#[template(path = "sign_in.html")]
struct SignInPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    username: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct SignInQuery {
    expired: Option<String>,
}

async fn sign_in_page(
    visitor: Visitor,
    Query(query): Query<SignInQuery>,
) -> Result<Response, PageError> {
    let notice = if query.expired.is_some() {
        // The logic tier ended the session (idle, expired, or signed out elsewhere): forget it.
        visitor.sign_out().await?;
        Some("Your session has ended. Please sign in again.")
    } else {
        None
    };
    if notice.is_none() && visitor.auth().await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let csrf = crate::session::csrf_token(&visitor.session).await?;
    Ok(SignInPage {
        csrf,
        signed_in: false,
        section: "",
        username: String::new(),
        error: None,
        notice,
    }
    .into_response())
}

#[derive(Deserialize)]
struct SignInForm {
    username: String,
    password: String,
}

fn end_user(headers: &HeaderMap) -> EndUser {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    EndUser {
        user_agent: header("user-agent"),
        // Set by the load balancer in front of the portal, which replaces whatever the browser
        // sent: only its hop (the last) is taken, and only if it is an address.
        ip: headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
            .map(|ip| ip.to_string()),
    }
}

async fn sign_in(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    let caller = Caller {
        token: None,
        request_id: &visitor.request_id,
    };
    let device = crate::device::token(&headers, state.secure_cookies);
    let request = SignInRequest {
        username: form.username.clone(),
        password: form.password.clone(),
        device_token: device,
    };
    let answer = state
        .logic
        .sign_in(caller, &end_user(&headers), &request)
        .await;
    match answer {
        Ok(SignedIn::SecondFactorDue(challenge)) => {
            visitor
                .set_challenge(&challenge.challenge, form.username.trim())
                .await?;
            Ok(Redirect::to("/sign-in/code").into_response())
        }
        Ok(SignedIn::Session(session)) => finish_sign_in(&state, &visitor, session).await,
        Err(LogicError::Problem(problem)) => {
            let status = if problem.code == ProblemCode::SignInThrottled {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let page = SignInPage {
                csrf: visitor.csrf.clone(),
                signed_in: false,
                section: "",
                username: form.username.chars().take(64).collect(),
                error: Some(super::plain_language(problem.code)),
                notice: None,
            };
            Ok((status, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn finish_sign_in(
    state: &AppState,
    visitor: &Visitor,
    session: Session,
) -> Result<Response, PageError> {
    let due = session.user.password_change_due;
    let display_name = match &session.user.customer_id {
        // Until the first password is replaced the logic tier answers nothing else.
        Some(_) if due => session.user.username.clone(),
        Some(id) => {
            let caller = Caller {
                token: Some(&session.token),
                request_id: &visitor.request_id,
            };
            state.logic.customer(caller, *id).await?.full_name
        }
        None => session.user.username.clone(),
    };
    let auth = Auth {
        token: session.token,
        display_name,
        username: session.user.username,
        role: session.user.role.to_string(),
        customer_id: session.user.customer_id.map(|id| id.to_string()),
    };
    visitor.sign_in(&auth).await?;
    let home = if due {
        REPLACE_PASSWORD
    } else if session.user.second_factor_due {
        ENROL_SECOND_FACTOR
    } else if auth.is_customer() {
        "/"
    } else {
        "/staff"
    };
    let mut response = Redirect::to(home).into_response();
    if let Some(cookie) = session
        .device_token
        .as_deref()
        .and_then(|token| crate::device::set_cookie(token, state.secure_cookies))
    {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "second_factor.html")]
struct CodePage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    username: String,
    error: Option<&'static str>,
}

async fn code_page(visitor: Visitor) -> Result<Response, PageError> {
    let Some((_, username)) = visitor.challenge().await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    Ok(CodePage {
        csrf: visitor.csrf.clone(),
        signed_in: false,
        section: "",
        username,
        error: None,
    }
    .into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn code(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let Some((challenge, username)) = visitor.challenge().await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let caller = Caller {
        token: None,
        request_id: &visitor.request_id,
    };
    let request = SecondFactorRequest {
        challenge,
        code: form.code.clone(),
    };
    match state.logic.second_factor(caller, &request).await {
        Ok(session) => finish_sign_in(&state, &visitor, session).await,
        Err(LogicError::Problem(problem)) if problem.code == ProblemCode::ChallengeInvalid => {
            Ok(Redirect::to("/sign-in").into_response())
        }
        Err(LogicError::Problem(problem)) => {
            let page = CodePage {
                csrf: visitor.csrf.clone(),
                signed_in: false,
                section: "",
                username,
                error: Some(super::plain_language(problem.code)),
            };
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn sign_out(State(state): State<AppState>, visitor: Visitor) -> Result<Response, PageError> {
    if let Some(auth) = visitor.auth().await? {
        let caller = Caller {
            token: Some(&auth.token),
            request_id: &visitor.request_id,
        };
        // Signing out locally must not depend on the logic tier answering.
        if let Err(error) = state.logic.sign_out(caller).await {
            tracing::warn!(%error, "could not revoke the session at the logic tier");
        }
    }
    visitor.sign_out().await?;
    Ok(Redirect::to("/sign-in").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "cluster.html")]
struct ClusterPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    reachable: bool,
    members: Vec<crate::logic::types::ClusterMember>,
}

/// The database nodes' roles, lag and health, for admins.
async fn cluster(State(state): State<AppState>, staff: Staff) -> Result<ClusterPage, PageError> {
    if staff.auth.role != "admin" {
        return Err(PageError::NotFound);
    }
    let caller = Caller {
        token: Some(&staff.auth.token),
        request_id: &staff.visitor.request_id,
    };
    let cluster = state.logic.cluster(caller).await?;
    Ok(ClusterPage {
        csrf: staff.visitor.csrf.clone(),
        section: "cluster",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        reachable: cluster.reachable,
        members: cluster.members,
    })
}

/// Where a member of staff without a second factor enrols one, at their first sign-in.
pub const ENROL_SECOND_FACTOR: &str = "/second-factor/enrol";

#[derive(Template, WebTemplate)]
#[template(path = "second_factor_required.html")]
struct SecondFactorRequiredPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
}

async fn second_factor_page(visitor: Visitor) -> Result<Response, PageError> {
    if let Err(redirect) = signed_in_auth(&visitor).await? {
        return Ok(redirect);
    }
    Ok(SecondFactorRequiredPage {
        csrf: visitor.csrf.clone(),
        signed_in: false,
        section: "",
    }
    .into_response())
}

/// Starts a member of staff's enrolment: a new secret, shown as a QR code.
async fn start_second_factor(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let auth = match signed_in_auth(&visitor).await? {
        Ok(auth) => auth,
        Err(redirect) => return Ok(redirect),
    };
    let caller = Caller {
        token: Some(&auth.token),
        request_id: &visitor.request_id,
    };
    let enrolment = state.logic.enrol_totp(caller).await?;
    visitor.set_pending_totp(&enrolment).await?;
    Ok(staff_enrol_page(&visitor, enrolment, None)?.into_response())
}

fn staff_enrol_page(
    visitor: &Visitor,
    enrolment: crate::logic::types::TotpEnrolment,
    error: Option<&'static str>,
) -> Result<super::security::EnrolPage, PageError> {
    Ok(super::security::EnrolPage {
        csrf: visitor.csrf.clone(),
        signed_in: false,
        section: "",
        qr_svg: super::security::qr_svg(&enrolment.otpauth_url)?,
        secret: enrolment.secret,
        error,
        confirm_action: "/second-factor/confirm",
    })
}

#[derive(Deserialize)]
struct SecondFactorCodeForm {
    code: String,
}

/// Completes a member of staff's enrolment; shows the recovery codes, then on to their pages.
async fn confirm_second_factor(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<SecondFactorCodeForm>,
) -> Result<Response, PageError> {
    let auth = match signed_in_auth(&visitor).await? {
        Ok(auth) => auth,
        Err(redirect) => return Ok(redirect),
    };
    let caller = Caller {
        token: Some(&auth.token),
        request_id: &visitor.request_id,
    };
    let request = bank_api::sessions::ConfirmTotpRequest { code: form.code };
    match state.logic.confirm_totp(caller, &request).await {
        Ok(codes) => {
            visitor.clear_pending_totp().await?;
            Ok(super::security::CodesPage {
                csrf: visitor.csrf.clone(),
                signed_in: false,
                section: "",
                codes: codes.recovery_codes,
                done_href: if auth.is_customer() { "/" } else { "/staff" },
            }
            .into_response())
        }
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) if problem.code == ProblemCode::InvalidSecondFactor => {
            let Some(enrolment) = visitor.pending_totp().await? else {
                return Ok(Redirect::to(ENROL_SECOND_FACTOR).into_response());
            };
            let page = staff_enrol_page(&visitor, enrolment, Some(super::WRONG_SETUP_CODE))?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(LogicError::Problem(_)) => Ok(Redirect::to(ENROL_SECOND_FACTOR).into_response()),
        Err(error) => Err(error.into()),
    }
}

/// Where a user whose password someone else chose replaces it.
pub const REPLACE_PASSWORD: &str = "/password/replace";

#[derive(Template, WebTemplate)]
#[template(path = "password_replace.html")]
struct ReplacePasswordPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    error: Option<&'static str>,
    /// The field the error concerns: `current_password` or `new_password`.
    error_field: &'static str,
}

/// The signed-in user, whoever they are, or a redirect to sign in.
async fn signed_in_auth(visitor: &Visitor) -> Result<Result<Auth, Response>, PageError> {
    Ok(match visitor.auth().await? {
        Some(auth) => Ok(auth),
        None => Err(Redirect::to("/sign-in").into_response()),
    })
}

async fn replace_password_page(visitor: Visitor) -> Result<Response, PageError> {
    if let Err(redirect) = signed_in_auth(&visitor).await? {
        return Ok(redirect);
    }
    Ok(ReplacePasswordPage {
        csrf: visitor.csrf.clone(),
        signed_in: true,
        section: "",
        error: None,
        error_field: "",
    }
    .into_response())
}

#[derive(Deserialize)]
struct ReplacePasswordForm {
    current_password: String,
    new_password: String,
}

/// Replaces a password someone else chose; then on to the user's own pages.
async fn replace_password(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ReplacePasswordForm>,
) -> Result<Response, PageError> {
    let auth = match signed_in_auth(&visitor).await? {
        Ok(auth) => auth,
        Err(redirect) => return Ok(redirect),
    };
    let caller = Caller {
        token: Some(&auth.token),
        request_id: &visitor.request_id,
    };
    let request = bank_api::sessions::ChangePasswordRequest {
        current_password: form.current_password,
        new_password: form.new_password,
        // A password someone else set is replaced in the session that just signed in with it,
        // with every factor the user has: the logic tier asks for no code here.
        code: None,
    };
    match state.logic.change_password(caller, &request).await {
        Ok(()) => {
            let home = if auth.is_customer() { "/" } else { "/staff" };
            Ok(Redirect::to(home).into_response())
        }
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ReplacePasswordPage {
                csrf: visitor.csrf.clone(),
                signed_in: true,
                section: "",
                error: Some(match problem.code {
                    ProblemCode::InvalidCurrentPassword => {
                        "The password you were given is not correct."
                    }
                    code => super::plain_language(code),
                }),
                error_field: match problem.code {
                    ProblemCode::InvalidCurrentPassword => "current_password",
                    _ => "new_password",
                },
            },
        )
            .into_response()),
        Err(error) => Err(error.into()),
    }
}
