//! Staff home, customer search, onboarding and the customer profile.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::accounts::{OpenAccountRequest, Product};
use bank_api::customers::{
    CreateCustomerRequest, DocumentKind, IdentityFields, LoginRequest, SetLimitRequest,
};
use bank_api::{Currency, ProblemCode};
use serde::Deserialize;

use super::{Messages, query_value, redirect_after, refuse, require};
use crate::error::PageError;
use crate::filters;
use crate::logic::types::{
    Account, Approval, ApprovalStatus, CustomerProfile, Drawer, DrawerState,
};
use crate::logic::{ApprovalFilter, LogicError};
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff", get(home))
        .route("/staff/customers", get(search))
        .route("/staff/customers/new", get(new_page).post(onboard))
        .route("/staff/customers/{id}", get(profile).post(edit))
        .route("/staff/customers/{id}/accounts", post(open_account))
        .route("/staff/customers/{id}/limits", post(set_limit))
        .route("/staff/customers/{id}/sign-in-reset", post(reset_sign_in))
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_home.html")]
struct HomePage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    q: String,
    results: Option<Found>,
    pending: usize,
    /// More requests wait than were counted.
    pending_more: bool,
    drawers: Vec<Drawer>,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

/// A page of search results.
struct Found {
    customers: Vec<CustomerProfile>,
    /// Whether this page continues an earlier one.
    continued: bool,
    /// The link to the next page, when there is one.
    more: Option<String>,
}

async fn home_page(
    state: &AppState,
    staff: &Staff,
    q: String,
    results: Option<Found>,
    error: Option<&'static str>,
) -> Result<HomePage, PageError> {
    let counter = matches!(staff.role(), "teller" | "supervisor");
    let (pending, pending_more) = if counter {
        let filter = ApprovalFilter {
            status: Some(ApprovalStatus::Pending),
            limit: Some(200),
            ..ApprovalFilter::default()
        };
        let list = state.logic.approvals(staff.caller(), filter).await?;
        (list.approvals.len(), list.next_cursor.is_some())
    } else {
        (0, false)
    };
    let drawers = if counter {
        let list = state.logic.drawers(staff.caller(), 10).await?;
        list.drawers
            .into_iter()
            .filter(|d| d.state == DrawerState::Open)
            .collect()
    } else {
        Vec::new()
    };
    Ok(HomePage {
        csrf: staff.csrf(),
        section: "home",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        q,
        results,
        pending,
        pending_more,
        drawers,
        error,
        notice: None,
    })
}

async fn home(State(state): State<AppState>, staff: Staff) -> Result<HomePage, PageError> {
    home_page(&state, &staff, String::new(), None, None).await
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    /// The logic tier's cursor of the page to show.
    #[serde(default)]
    cursor: String,
}

/// Customers one page of search results shows.
const SEARCH_PAGE: usize = 25;

async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let q = query.q.trim().to_owned();
    let cursor = Some(query.cursor.as_str()).filter(|cursor| !cursor.is_empty());
    match state
        .logic
        .search_customers(staff.caller(), &q, cursor, SEARCH_PAGE)
        .await
    {
        Ok(list) => {
            let found = Found {
                customers: list.customers,
                continued: !query.cursor.is_empty(),
                more: list.next_cursor.map(|cursor| {
                    format!(
                        "/staff/customers?q={}&cursor={}",
                        query_value(&q),
                        query_value(&cursor)
                    )
                }),
            };
            Ok(home_page(&state, &staff, q, Some(found), None)
                .await?
                .into_response())
        }
        Err(LogicError::Problem(problem)) if problem.status == 422 => {
            // A customer search has no dates: only its words can be wrong.
            let words = if problem.code == ProblemCode::InvalidQuery {
                "Enter at least two characters of a name, email, phone number, identity document or account number."
            } else {
                super::refusal_words(problem.code)
            };
            let page = home_page(&state, &staff, q, None, Some(words)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// The identity fields of the onboarding and edit forms.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
struct IdentityForm {
    full_name: String,
    date_of_birth: String,
    address: String,
    email: String,
    phone: String,
    id_document: String,
    #[serde(default)]
    id_document_kind: String,
    #[serde(default)]
    id_document_country: String,
    #[serde(default)]
    id_document_expires: String,
}

/// A day as the form's date field sends it; `Err` when it is not one.
fn form_day(text: &str) -> Result<Option<time::Date>, ()> {
    match text.trim() {
        "" => Ok(None),
        day => time::Date::parse(
            day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map(Some)
        .map_err(drop),
    }
}

impl IdentityForm {
    /// The fields as the logic tier reads them; `Err` names a field the form cannot send as it
    /// is (a date of birth that is not a date).
    fn fields(&self) -> Result<IdentityFields, &'static str> {
        let optional = |text: &str| {
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        };
        // Only the form of the date is the portal's to check; how long ago is the bank's.
        let date_of_birth = form_day(&self.date_of_birth).map_err(|()| "date_of_birth")?;
        let id_document_expires =
            form_day(&self.id_document_expires).map_err(|()| "id_document_expires")?;
        let id_document_kind = match self.id_document_kind.trim() {
            "" => None,
            kind => Some(DocumentKind::parse(kind).ok_or("id_document_kind")?),
        };
        Ok(IdentityFields {
            full_name: self.full_name.clone(),
            email: self.email.clone(),
            phone: optional(&self.phone),
            date_of_birth,
            address: optional(&self.address),
            id_document: optional(&self.id_document),
            id_document_kind,
            id_document_country: optional(&self.id_document_country),
            id_document_expires,
        })
    }

    fn from_profile(profile: &CustomerProfile) -> Self {
        Self {
            full_name: profile.full_name.clone(),
            date_of_birth: profile
                .date_of_birth
                .map(|date| date.to_string())
                .unwrap_or_default(),
            address: profile.address.clone().unwrap_or_default(),
            email: profile.email.clone(),
            phone: profile.phone.clone().unwrap_or_default(),
            id_document: profile.id_document.clone().unwrap_or_default(),
            id_document_kind: profile
                .id_document_kind
                .map(|kind| kind.to_string())
                .unwrap_or_default(),
            id_document_country: profile.id_document_country.clone().unwrap_or_default(),
            id_document_expires: profile
                .id_document_expires
                .map(|day| day.to_string())
                .unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_customer_new.html")]
struct NewCustomerPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    form: IdentityForm,
    login_username: String,
    error: Option<&'static str>,
    error_field: String,
    notice: Option<&'static str>,
    /// Customers who already hold the document the form gives.
    holders: Vec<CustomerProfile>,
}

fn new_customer_page(
    staff: &Staff,
    form: IdentityForm,
    login_username: String,
    error: Option<(&'static str, String)>,
) -> NewCustomerPage {
    let (error, error_field) = match error {
        Some((message, field)) => (Some(message), field),
        None => (None, String::new()),
    };
    NewCustomerPage {
        csrf: staff.csrf(),
        section: "home",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        form,
        login_username,
        error,
        error_field,
        notice: None,
        holders: Vec::new(),
    }
}

async fn new_page(staff: Staff) -> Result<NewCustomerPage, PageError> {
    require(&staff, &["teller", "supervisor"])?;
    Ok(new_customer_page(
        &staff,
        IdentityForm::default(),
        String::new(),
        None,
    ))
}

#[derive(Deserialize)]
struct OnboardForm {
    #[serde(flatten)]
    identity: IdentityForm,
    #[serde(default)]
    login_username: String,
    #[serde(default)]
    login_password: String,
}

fn field_message(field: Option<&str>, code: ProblemCode) -> &'static str {
    match (field, code) {
        (Some("full_name"), _) => "Enter the customer's full name.",
        (Some("email"), _) => "Enter an email address such as name@example.org.",
        (Some("phone"), _) => "Enter a phone number of digits, such as +44 20 7946 0000.",
        (Some("date_of_birth"), _) => {
            "Enter the date of birth: a day in the past, no more than 130 years ago."
        }
        (Some("address"), _) => "Enter the street, town and postcode.",
        (_, ProblemCode::IdentityDocumentTaken) => {
            "Another customer already has this identity document: open their record below rather than onboarding them twice."
        }
        (Some("id_document"), _) => {
            "Enter the 5 to 30 letters and digits of the identity document."
        }
        (Some("id_document_kind"), _) => "Choose what the identity document is.",
        (Some("id_document_country"), _) => {
            "Enter the two-letter ISO code of the country that issued the document, such as GB (XK for Kosovo)."
        }
        (Some("id_document_expires"), _) => {
            "Enter the day the document expires; an expired document cannot identify a customer."
        }
        (Some("username"), _) => {
            "Usernames have 3 to 64 letters, digits, dots, hyphens or underscores."
        }
        (_, ProblemCode::WeakPassword) => {
            "The first password needs at least 12 characters and must be hard to guess: not a common password, nor built from the customer's name or birth year."
        }
        (_, code) => super::refusal_words(code),
    }
}

async fn onboard(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<OnboardForm>,
) -> Result<Response, PageError> {
    require(&staff, &["teller", "supervisor"])?;
    let identity = match form.identity.fields() {
        Ok(identity) => identity,
        Err(field) => {
            let message = field_message(Some(field), ProblemCode::InvalidField);
            let error = Some((message, field.to_owned()));
            let page = new_customer_page(&staff, form.identity, form.login_username, error);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let login = (!form.login_username.trim().is_empty()).then(|| LoginRequest {
        username: form.login_username.trim().to_owned(),
        password: form.login_password.clone(),
    });
    let request = CreateCustomerRequest { identity, login };
    match state.logic.onboard(staff.caller(), &request).await {
        Ok(customer) => Ok(Redirect::to(&format!(
            "/staff/customers/{}?notice=onboarded",
            customer.id
        ))
        .into_response()),
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) if problem.status != 403 => {
            let message = field_message(problem.field.as_deref(), problem.code);
            let field = match problem.code {
                ProblemCode::IdentityDocumentTaken => "id_document".to_owned(),
                _ => problem.field.clone().unwrap_or_default(),
            };
            // The customer the document already identifies, for the teller to open instead.
            let holders = if problem.code == ProblemCode::IdentityDocumentTaken {
                state
                    .logic
                    .search_customers(staff.caller(), form.identity.id_document.trim(), None, 5)
                    .await
                    .map(|list| list.customers)
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let page = NewCustomerPage {
                holders,
                ..new_customer_page(
                    &staff,
                    form.identity,
                    form.login_username,
                    Some((message, field)),
                )
            };
            let status = if problem.status == 409 {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok((status, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_customer.html")]
struct ProfilePage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    customer: CustomerProfile,
    form: IdentityForm,
    accounts: Vec<Account>,
    activity: Vec<crate::logic::types::Activity>,
    pending: Vec<Approval>,
    limits: Vec<crate::logic::types::DailyLimit>,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

async fn profile(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(messages): Query<Messages>,
) -> Result<ProfilePage, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let logic = &state.logic;
    let customer = logic.customer(staff.caller(), id).await?;
    let accounts = logic.accounts_of(staff.caller(), id).await?;
    let activity = logic.activity(staff.caller(), id, 20).await?;
    let pending = if matches!(staff.role(), "teller" | "supervisor") {
        let filter = ApprovalFilter {
            status: Some(ApprovalStatus::Pending),
            customer: Some(id),
            ..ApprovalFilter::default()
        };
        logic.approvals(staff.caller(), filter).await?.approvals
    } else {
        Vec::new()
    };
    let limits = logic.daily_limits(staff.caller(), id).await?;
    Ok(ProfilePage {
        csrf: staff.csrf(),
        section: "home",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        form: IdentityForm::from_profile(&customer),
        customer,
        accounts,
        activity: activity.entries,
        pending,
        limits: limits
            .limits
            .into_iter()
            .filter(|l| l.currency == "EUR" || l.own)
            .collect(),
        error: messages.error(),
        notice: messages.notice(),
    })
}

async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<IdentityForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let back = format!("/staff/customers/{id}");
    let Ok(fields) = form.fields() else {
        return refuse(&back, "invalid_date_of_birth");
    };
    let answer = state
        .logic
        .correct_customer(staff.caller(), id, &fields)
        .await;
    redirect_after(answer, &back, "saved")
}

#[derive(Deserialize)]
struct OpenAccountForm {
    product: String,
    currency: String,
    #[serde(default)]
    name: String,
}

async fn open_account(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<OpenAccountForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let back = format!("/staff/customers/{id}");
    let Some(product) = Product::parse(&form.product) else {
        return refuse(&back, "unknown_choice");
    };
    let request = OpenAccountRequest {
        customer_id: id,
        product,
        currency: form.currency,
        name: (!form.name.trim().is_empty()).then(|| form.name.trim().to_owned()),
        overdraft_limit: None,
    };
    let answer = state.logic.open_account(staff.caller(), &request).await;
    redirect_after(answer, &back, "opened")
}

#[derive(Deserialize)]
struct LimitForm {
    currency: String,
    #[serde(default)]
    daily_limit: String,
}

async fn set_limit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<LimitForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let back = format!("/staff/customers/{id}");
    let Ok(currency) = Currency::parse(form.currency.trim()) else {
        return refuse(&back, ProblemCode::InvalidCurrency.as_str());
    };
    // An empty limit returns the customer to the bank's.
    let daily_limit = match form.daily_limit.trim() {
        "" => None,
        typed => match crate::pages::typed_amount(typed) {
            Ok(limit) => Some(limit),
            Err(code) => return refuse(&back, code),
        },
    };
    let request = SetLimitRequest { daily_limit };
    let answer = state
        .logic
        .set_daily_limit(staff.caller(), id, currency, &request)
        .await;
    redirect_after(answer, &back, "saved")
}

#[derive(Deserialize)]
struct SignInResetForm {
    password: String,
}

/// Resets a customer's web banking sign-in, once the member of staff has checked who is asking.
async fn reset_sign_in(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<SignInResetForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let request = bank_api::customers::SignInResetRequest {
        password: form.password,
    };
    let answer = state
        .logic
        .reset_customer_sign_in(staff.caller(), id, &request)
        .await;
    redirect_after(answer, &format!("/staff/customers/{id}"), "sign_in_reset")
}
