//! Security settings: two-step sign-in (TOTP with a QR code and recovery codes), password change,
//! the list of sessions and "sign out everywhere".

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::ProblemCode;
use serde::Deserialize;

use crate::error::PageError;
use crate::filters;
use crate::logic::LogicError;
use bank_api::sessions::{ChangePasswordRequest, ConfirmTotpRequest, DisableTotpRequest};

use crate::logic::types::{SessionInfo, TotpEnrolment};
use crate::session::Customer;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security", get(page))
        .route("/security/password", post(change_password))
        .route("/security/totp/start", post(start_totp))
        .route("/security/totp/confirm", post(confirm_totp))
        .route("/security/totp/disable", post(disable_totp))
        .route("/security/sign-out-everywhere", post(sign_out_everywhere))
}

#[derive(Template, WebTemplate)]
#[template(path = "security.html")]
struct SecurityPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    totp_enabled: bool,
    sessions: Vec<SessionInfo>,
    notice: Option<&'static str>,
    password_error: Option<&'static str>,
    totp_error: Option<&'static str>,
}

#[derive(Default)]
struct Messages {
    notice: Option<&'static str>,
    password_error: Option<&'static str>,
    totp_error: Option<&'static str>,
}

async fn render(
    state: &AppState,
    customer: &Customer,
    messages: Messages,
) -> Result<SecurityPage, PageError> {
    let me = state.logic.me(customer.caller()).await?;
    let sessions = state.logic.my_sessions(customer.caller()).await?;
    Ok(SecurityPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "security",
        totp_enabled: me.totp_enabled,
        sessions,
        notice: messages.notice,
        password_error: messages.password_error,
        totp_error: messages.totp_error,
    })
}

async fn page(
    State(state): State<AppState>,
    customer: Customer,
) -> Result<SecurityPage, PageError> {
    render(&state, &customer, Messages::default()).await
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let request = ChangePasswordRequest {
        current_password: form.current_password.clone(),
        new_password: form.new_password.clone(),
    };
    match state
        .logic
        .change_password(customer.caller(), &request)
        .await
    {
        Ok(_) => {
            let messages = Messages {
                notice: Some("Your password is changed. You were signed out everywhere else."),
                ..Messages::default()
            };
            Ok(render(&state, &customer, messages).await?.into_response())
        }
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) => {
            let messages = Messages {
                password_error: Some(super::plain_language(problem.code)),
                ..Messages::default()
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&state, &customer, messages).await?,
            )
                .into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "totp_enrol.html")]
struct EnrolPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    secret: String,
    qr_svg: String,
    error: Option<&'static str>,
}

/// The `otpauth://` URI as a QR code, drawn as inline SVG (no script, no style attribute).
fn qr_svg(uri: &str) -> Result<String, PageError> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| PageError::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .dark_color(qrcode::render::svg::Color("#0b1f33"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

fn enrol_page(
    customer: &Customer,
    enrolment: TotpEnrolment,
    error: Option<&'static str>,
) -> Result<EnrolPage, PageError> {
    Ok(EnrolPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "security",
        qr_svg: qr_svg(&enrolment.otpauth_url)?,
        secret: enrolment.secret,
        error,
    })
}

async fn start_totp(
    State(state): State<AppState>,
    customer: Customer,
) -> Result<EnrolPage, PageError> {
    let enrolment = state.logic.enrol_totp(customer.caller()).await?;
    customer.visitor.set_pending_totp(&enrolment).await?;
    enrol_page(&customer, enrolment, None)
}

#[derive(Template, WebTemplate)]
#[template(path = "recovery_codes.html")]
struct CodesPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    codes: Vec<String>,
}

#[derive(Deserialize)]
struct ConfirmForm {
    code: String,
}

async fn confirm_totp(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    let request = ConfirmTotpRequest {
        code: form.code.clone(),
    };
    match state.logic.confirm_totp(customer.caller(), &request).await {
        Ok(codes) => {
            customer.visitor.clear_pending_totp().await?;
            Ok(CodesPage {
                csrf: customer.csrf().to_owned(),
                signed_in: true,
                section: "security",
                codes: codes.recovery_codes,
            }
            .into_response())
        }
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) if problem.code == ProblemCode::InvalidSecondFactor => {
            // The code the customer is looking at again; without one, setting up starts over.
            let Some(enrolment) = customer.visitor.pending_totp().await? else {
                return Ok(Redirect::to("/security").into_response());
            };
            let page = enrol_page(
                &customer,
                enrolment,
                Some(super::plain_language(problem.code)),
            )?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(LogicError::Problem(_)) => Ok(Redirect::to("/security").into_response()),
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize)]
struct DisableForm {
    password: String,
    code: String,
}

async fn disable_totp(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<DisableForm>,
) -> Result<Response, PageError> {
    let request = DisableTotpRequest {
        password: form.password.clone(),
        code: form.code.clone(),
    };
    match state.logic.disable_totp(customer.caller(), &request).await {
        Ok(_) => {
            let messages = Messages {
                notice: Some("Two-step sign-in is off."),
                ..Messages::default()
            };
            Ok(render(&state, &customer, messages).await?.into_response())
        }
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) => {
            let messages = Messages {
                totp_error: Some(super::plain_language(problem.code)),
                ..Messages::default()
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&state, &customer, messages).await?,
            )
                .into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    customer: Customer,
) -> Result<Response, PageError> {
    state.logic.sign_out_everywhere(customer.caller()).await?;
    customer.visitor.sign_out().await?;
    Ok(Redirect::to("/sign-in").into_response())
}
