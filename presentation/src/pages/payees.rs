//! Saved payees: list, add, remove; "Pay" opens the transfer form with the payee chosen.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::ProblemCode;
use serde::Deserialize;

use crate::error::PageError;
use crate::filters;
use crate::logic::LogicError;
use bank_api::payees::AddPayeeRequest;

use crate::logic::types::Payee;
use crate::session::Customer;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payees", get(list).post(add))
        .route("/payees/{id}/remove", post(remove))
}

#[derive(Template, WebTemplate)]
#[template(path = "payees.html")]
struct PayeesPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    payees: Vec<Payee>,
    error: Option<&'static str>,
    nickname: String,
    account_number: String,
    /// Saving a payee is approved with a code (two-step sign-in on) or else the password.
    step_up_code: bool,
    step_up_error: Option<&'static str>,
    /// Said after a payee was saved or removed.
    notice: Option<&'static str>,
}

async fn page(
    state: &AppState,
    customer: &Customer,
    (error, step_up_error): (Option<&'static str>, Option<&'static str>),
    nickname: String,
    account_number: String,
) -> Result<PayeesPage, PageError> {
    let payees = state.logic.payees(customer.caller()).await?;
    let me = state.logic.me(customer.caller()).await?;
    Ok(PayeesPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "payees",
        payees,
        error,
        nickname,
        account_number,
        step_up_code: me.totp_enabled,
        step_up_error,
        notice: None,
    })
}

#[derive(Deserialize)]
struct ListQuery {
    done: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    customer: Customer,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
) -> Result<PayeesPage, PageError> {
    let page = page(
        &state,
        &customer,
        (None, None),
        String::new(),
        String::new(),
    )
    .await?;
    let notice = match query.done.as_deref() {
        Some("saved") => Some("Payee saved."),
        Some("removed") => Some("Payee removed."),
        _ => None,
    };
    Ok(PayeesPage { notice, ..page })
}

#[derive(Deserialize)]
struct AddForm {
    nickname: String,
    account_number: String,
    #[serde(flatten)]
    step_up: super::StepUpFields,
}

async fn add(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    let request = AddPayeeRequest {
        nickname: form.nickname.clone(),
        account_number: form.account_number.clone(),
        step_up: form.step_up.proof(),
    };
    match state.logic.add_payee(customer.caller(), &request).await {
        Ok(_) => Ok(Redirect::to("/payees?done=saved").into_response()),
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) => {
            let messages = match (problem.code, problem.field.as_deref()) {
                (ProblemCode::InvalidField, Some("nickname")) => (
                    Some("Give the payee a nickname of up to 40 characters."),
                    None,
                ),
                (code, _) => match super::step_up_message(&problem) {
                    Some(message) => (None, Some(message)),
                    None => (Some(super::plain_language(code)), None),
                },
            };
            let page = page(
                &state,
                &customer,
                messages,
                form.nickname,
                form.account_number,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn remove(
    State(state): State<AppState>,
    customer: Customer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    state.logic.remove_payee(customer.caller(), id).await?;
    Ok(Redirect::to("/payees?done=removed").into_response())
}
