//! Security settings: two-step sign-in (TOTP with a QR code and recovery codes), password change,
//! the list of sessions and "sign out everywhere", and what recently happened to the sign-in.

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
use bank_api::Currency;
use bank_api::sessions::{
    ChangePasswordRequest, ConfirmTotpRequest, DisableTotpRequest, SetStepUpThresholdRequest,
    StepUpThreshold,
};

use crate::logic::types::{SecurityActivity, SecurityActivityKind, SessionInfo, TotpEnrolment};
use crate::session::Customer;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/security", get(page))
        .route("/security/password", post(change_password))
        .route("/security/step-up/{currency}", post(set_threshold))
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
    /// The newest things that happened to the sign-in, or older ones.
    activity: Vec<ActivityRow>,
    /// The cursor of the page of older ones, when there are more.
    activity_next: Option<String>,
    /// The page shows older things, not the newest.
    activity_older: bool,
    notice: Option<&'static str>,
    /// Why a password change was refused, and the field at fault ("" for none in particular).
    password_error: Option<(&'static str, &'static str)>,
    totp_error: Option<&'static str>,
    /// The step-up threshold of each currency the customer holds an account in.
    thresholds: Vec<ThresholdRow>,
}

impl SecurityPage {
    /// Why a password change was refused and the field at fault; empty when it was not.
    fn password_refusal(&self) -> (&'static str, &'static str) {
        self.password_error.unwrap_or(("", ""))
    }
}

/// A currency's step-up threshold as the page shows it, with why a change was refused.
struct ThresholdRow {
    threshold: StepUpThreshold,
    /// What the field shows: the threshold, or the refused value as typed.
    value: String,
    error: Option<std::borrow::Cow<'static, str>>,
}

/// How many of the newest things that happened to the sign-in the page lists.
const ACTIVITY_SHOWN: u32 = 15;

/// One thing that happened to the sign-in, in the customer's words.
struct ActivityRow {
    item: SecurityActivity,
    what: &'static str,
    /// Worth a second look: a wrong password, or the bank's reset.
    notable: bool,
}

impl From<SecurityActivity> for ActivityRow {
    fn from(item: SecurityActivity) -> Self {
        let what = match item.kind {
            SecurityActivityKind::SignedIn => "Signed in",
            SecurityActivityKind::SignInFailed => "Wrong password given",
            SecurityActivityKind::SecondFactorFailed => {
                "Right password, then a wrong code: someone may know your password"
            }
            SecurityActivityKind::PasswordChanged => "Password changed",
            SecurityActivityKind::SecondFactorOn => "Two-step sign-in turned on",
            SecurityActivityKind::SecondFactorOff => "Two-step sign-in turned off",
            SecurityActivityKind::SignInReset => {
                "Sign-in reset by the bank: a password given at the counter, two-step sign-in off until you set it up again"
            }
            SecurityActivityKind::Unknown => "Another change to your sign-in",
        };
        let notable = matches!(
            item.kind,
            SecurityActivityKind::SignInFailed
                | SecurityActivityKind::SecondFactorFailed
                | SecurityActivityKind::SignInReset
        ) || item.by_bank;
        Self {
            item,
            what,
            notable,
        }
    }
}

#[derive(Default)]
struct Messages {
    /// Where the activity list starts: older than this cursor, or the newest.
    activity_cursor: Option<String>,
    notice: Option<&'static str>,
    /// Why a password change was refused, and the field at fault ("" for none in particular).
    password_error: Option<(&'static str, &'static str)>,
    totp_error: Option<&'static str>,
    threshold_error: Option<ThresholdError>,
}

/// A refused threshold: its currency, why, and what the customer typed (shown back to them).
struct ThresholdError {
    currency: String,
    message: std::borrow::Cow<'static, str>,
    typed: String,
}

async fn render(
    state: &AppState,
    customer: &Customer,
    messages: Messages,
) -> Result<SecurityPage, PageError> {
    let me = state.logic.me(customer.caller()).await?;
    let sessions = state.logic.my_sessions(customer.caller()).await?;
    // A cursor the page did not give out (edited, or from another sign-in) shows the newest.
    let cursor = messages.activity_cursor.as_deref();
    let (page, activity_older) = match state
        .logic
        .my_security_activity(customer.caller(), ACTIVITY_SHOWN, cursor)
        .await
    {
        Err(LogicError::Problem(_)) if cursor.is_some() => {
            let newest = state
                .logic
                .my_security_activity(customer.caller(), ACTIVITY_SHOWN, None)
                .await?;
            (newest, false)
        }
        answer => (answer?, cursor.is_some()),
    };
    let activity_next = page.next_cursor;
    let activity = page.activity.into_iter().map(ActivityRow::from).collect();
    let held: std::collections::BTreeSet<String> = state
        .logic
        .my_accounts(customer.caller())
        .await?
        .into_iter()
        .map(|account| account.currency)
        .collect();
    let thresholds = state
        .logic
        .step_up_thresholds(customer.caller())
        .await?
        .thresholds
        .into_iter()
        .filter(|t| held.contains(&t.currency))
        .map(|threshold| {
            let refused = messages
                .threshold_error
                .as_ref()
                .filter(|error| error.currency == threshold.currency);
            ThresholdRow {
                value: refused.map_or_else(|| threshold.threshold.clone(), |e| e.typed.clone()),
                error: refused.map(|e| e.message.clone()),
                threshold,
            }
        })
        .collect();
    Ok(SecurityPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "security",
        totp_enabled: me.totp_enabled,
        sessions,
        activity,
        activity_next,
        activity_older,
        notice: messages.notice,
        password_error: messages.password_error,
        totp_error: messages.totp_error,
        thresholds,
    })
}

#[derive(Deserialize)]
struct PageQuery {
    saved: Option<String>,
    /// Show the sign-in's activity older than this cursor.
    activity: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    customer: Customer,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> Result<SecurityPage, PageError> {
    let messages = Messages {
        notice: (query.saved.as_deref() == Some("threshold"))
            .then_some("Saved: payments from the amount shown now need your approval."),
        activity_cursor: query.activity.filter(|cursor| !cursor.is_empty()),
        ..Messages::default()
    };
    render(&state, &customer, messages).await
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    /// Asked for when two-step sign-in is on.
    #[serde(default)]
    code: String,
}

async fn change_password(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let request = ChangePasswordRequest {
        current_password: form.current_password.clone(),
        new_password: form.new_password.clone(),
        code: Some(form.code.trim().to_owned()).filter(|c| !c.is_empty()),
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
                password_error: Some((
                    super::plain_language(problem.code),
                    match problem.code {
                        ProblemCode::InvalidCurrentPassword => "current_password",
                        ProblemCode::WeakPassword
                        | ProblemCode::PasswordReused
                        | ProblemCode::PasswordChangeLimit => "new_password",
                        ProblemCode::ReauthenticationRequired
                        | ProblemCode::InvalidSecondFactor => "password-code",
                        _ => "",
                    },
                )),
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

#[derive(Deserialize)]
struct ThresholdForm {
    #[serde(default)]
    threshold: String,
    #[serde(flatten)]
    step_up: super::StepUpFields,
}

/// Sets the customer's step-up threshold in one currency: lower freely, higher with a step-up.
async fn set_threshold(
    State(state): State<AppState>,
    customer: Customer,
    axum::extract::Path(currency): axum::extract::Path<String>,
    Form(form): Form<ThresholdForm>,
) -> Result<Response, PageError> {
    let currency = Currency::parse(&currency).map_err(|_| PageError::NotFound)?;
    let typed = form.threshold.trim();
    let threshold = if typed.is_empty() {
        // Empty: back to the bank's threshold.
        Ok(None)
    } else if typed.chars().all(|c| matches!(c, '0' | '.' | ',' | ' ')) {
        Ok(Some("0".to_owned()))
    } else {
        super::typed_amount(typed).map(Some)
    };
    let result = match threshold {
        Ok(threshold) => {
            let request = SetStepUpThresholdRequest {
                threshold,
                step_up: form.step_up.proof(),
            };
            state
                .logic
                .set_step_up_threshold(customer.caller(), currency, &request)
                .await
                .map(drop)
        }
        Err(_) => Err(LogicError::Problem(crate::logic::Problem {
            status: 422,
            code: ProblemCode::InvalidAmount,
            detail: String::new(),
            field: Some("threshold".to_owned()),
        })),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/security?saved=threshold#step-up-title").into_response()),
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) => {
            let message: std::borrow::Cow<'static, str> = match problem.code {
                ProblemCode::ReauthenticationRequired if super::asks_for_password(&problem) => {
                    "Raising it needs your approval: enter your password below.".into()
                }
                ProblemCode::ReauthenticationRequired => {
                    "Raising it needs your approval: enter a code from your app below.".into()
                }
                ProblemCode::InvalidAmount => {
                    let highest = state
                        .logic
                        .step_up_thresholds(customer.caller())
                        .await?
                        .thresholds
                        .into_iter()
                        .find(|t| t.currency == currency.code())
                        .map(|t| t.bank_threshold)
                        .unwrap_or_default();
                    format!(
                        "Enter an amount from 0 to {} {}, such as 250.00.",
                        crate::filters::group_thousands(&highest),
                        currency.code()
                    )
                    .into()
                }
                code => super::step_up_message(&problem)
                    .unwrap_or(super::plain_language(code))
                    .into(),
            };
            let messages = Messages {
                threshold_error: Some(ThresholdError {
                    currency: currency.code().to_owned(),
                    message,
                    typed: form.threshold.clone(),
                }),
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
pub(crate) struct EnrolPage {
    pub(crate) csrf: String,
    pub(crate) signed_in: bool,
    pub(crate) section: &'static str,
    pub(crate) secret: String,
    pub(crate) qr_svg: String,
    pub(crate) error: Option<&'static str>,
    /// Where the code confirming the enrolment is sent.
    pub(crate) confirm_action: &'static str,
}

/// The `otpauth://` URI as a QR code, drawn as inline SVG (no script, no style attribute).
pub(crate) fn qr_svg(uri: &str) -> Result<String, PageError> {
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
        confirm_action: "/security/totp/confirm",
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
pub(crate) struct CodesPage {
    pub(crate) csrf: String,
    pub(crate) signed_in: bool,
    pub(crate) section: &'static str,
    pub(crate) codes: Vec<String>,
    /// Where "I have saved them" leads.
    pub(crate) done_href: &'static str,
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
                done_href: "/security",
            }
            .into_response())
        }
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) if problem.code == ProblemCode::InvalidSecondFactor => {
            // The code the customer is looking at again; without one, setting up starts over.
            let Some(enrolment) = customer.visitor.pending_totp().await? else {
                return Ok(Redirect::to("/security").into_response());
            };
            let page = enrol_page(&customer, enrolment, Some(super::WRONG_SETUP_CODE))?;
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
