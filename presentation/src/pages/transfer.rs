//! Moving money: a form, a review of exactly what will happen, and a confirmation that carries
//! the idempotency key minted when the form was rendered, so a double click, a refresh or a retry
//! never moves money twice. When the logic tier cannot confirm the outcome, the page says so and
//! resolves it by that key.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::money::MoneyError;
use bank_api::{AccountNumber, Amount, Currency, MEMO_MAX_CHARS, ProblemCode};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::error::PageError;
use crate::filters;
use crate::logic::{LogicError, Problem};
use bank_api::sessions::StepUpMethod;
use bank_api::transfers::{
    NameMatch, StepUpNeed, StepUpReason, TransferCheckRequest, TransferRequest,
};

use crate::logic::types::{Account, AccountStatus, FreezeScope, Payee, Transfer};
use crate::session::Customer;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/transfer", get(form_page))
        // The form asks for its review with GET: the review changes nothing, and a page reached
        // by GET is one the browser's Back returns to without offering to send a form again.
        .route("/transfer/review", get(review).post(review))
        .route("/transfer/edit", post(edit))
        .route("/transfer/confirm", post(confirm))
        .route("/transfer/status", post(status))
        .route("/transfer/receipt", get(receipt))
}

/// The transfer as the customer filled it in; travels in hidden fields between the steps.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    from_account: String,
    #[serde(default)]
    to_account: String,
    #[serde(default)]
    to_number: String,
    /// The holder's name as the customer knows it, for a number they typed: compared with the
    /// name the bank holds before anything moves.
    #[serde(default)]
    to_name: String,
    /// Ticked on the review when the name typed does not match: the customer checked the number
    /// with the person they pay. Never carried back to the form.
    #[serde(default)]
    name_checked: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    memo: String,
    /// The approval the confirmation carries when the review asked for one; never carried
    /// between the steps.
    #[serde(flatten)]
    step_up: super::StepUpFields,
}

impl TransferForm {
    /// The destination: a typed number wins over the list.
    fn destination(&self) -> String {
        let typed: String = self
            .to_number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if typed.is_empty() {
            self.to_account.clone()
        } else {
            typed
        }
    }

    /// The amount as the customer typed it (`10,50`, `1 234.50`, …), in `currency`'s decimal
    /// places; refused rather than guessed when it could be read two ways.
    fn amount(&self, currency: Currency) -> Result<Amount, MoneyError> {
        Amount::read(&self.amount, currency)
    }

    fn has_valid_key(&self) -> bool {
        (16..=64).contains(&self.idempotency_key.len())
            && self
                .idempotency_key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }
}

/// A message for the customer: most are fixed sentences, a few carry figures.
type Message = std::borrow::Cow<'static, str>;

/// Messages next to the fields they concern.
#[derive(Debug, Default)]
struct FieldErrors {
    from_account: Option<Message>,
    to: Option<Message>,
    to_name: Option<Message>,
    amount: Option<Message>,
    memo: Option<Message>,
    general: Option<Message>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.from_account.is_some()
            || self.to.is_some()
            || self.to_name.is_some()
            || self.amount.is_some()
            || self.memo.is_some()
            || self.general.is_some()
    }

    /// Places a logic-tier refusal next to the field it concerns.
    fn from_problem(problem: &Problem) -> Self {
        let (code, field) = (problem.code, problem.field.as_deref());
        let message = Some(match (code, field) {
            // The logic tier's sentence carries the limit and what is left of it today.
            (ProblemCode::DailyLimitExceeded, _) if !problem.detail.is_empty() => {
                Message::Owned(sentence(&problem.detail))
            }
            (ProblemCode::AccountNotOpen, Some("debit_account")) => Message::Borrowed(
                "This account cannot send money at the moment. Please contact us to find out why.",
            ),
            (ProblemCode::AccountNotOpen, _) => {
                Message::Borrowed("The account you are paying cannot receive money at the moment.")
            }
            _ => Message::Borrowed(super::plain_language(code)),
        });
        let mut errors = Self::default();
        match (code, field) {
            (_, Some("debit_account")) => errors.from_account = message,
            (
                ProblemCode::InsufficientFunds
                | ProblemCode::InvalidAmount
                | ProblemCode::DailyLimitExceeded,
                _,
            )
            | (_, Some("amount")) => errors.amount = message,
            (
                ProblemCode::AccountNotFound
                | ProblemCode::InvalidAccountNumber
                | ProblemCode::SameAccount
                | ProblemCode::AccountNotOpen
                | ProblemCode::CurrencyMismatch,
                _,
            )
            | (_, Some("credit_account")) => errors.to = message,
            (_, Some("memo")) => errors.memo = message,
            (_, Some("payee_name")) => errors.to_name = message,
            _ => errors.general = message,
        }
        errors
    }
}

/// `text` as a sentence: a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().trim_end_matches('.').chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    format!("{}{}.", first.unwrap_or_default(), chars.as_str())
}

#[derive(Template, WebTemplate)]
#[template(path = "transfer_form.html")]
struct FormPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    form: TransferForm,
    choices: Choices,
    errors: FieldErrors,
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The customer's accounts and payees as the form offers them.
struct Choices {
    /// Accounts money may leave: open, or frozen for incoming money only.
    senders: Vec<Account>,
    /// Own accounts money may reach: open, or frozen for outgoing money only.
    receivers: Vec<Account>,
    /// Accounts that cannot send now, said beside the list so that none silently goes missing.
    cannot_send: Vec<Account>,
    payees: Vec<Payee>,
}

fn can_send(account: &Account) -> bool {
    match account.status {
        AccountStatus::Open => true,
        AccountStatus::Frozen => account.freeze_scope == Some(FreezeScope::Credits),
        _ => false,
    }
}

fn can_receive(account: &Account) -> bool {
    match account.status {
        AccountStatus::Open => true,
        AccountStatus::Frozen => account.freeze_scope == Some(FreezeScope::Debits),
        _ => false,
    }
}

async fn choices(state: &AppState, customer: &Customer) -> Result<Choices, PageError> {
    let accounts = state.logic.my_accounts(customer.caller()).await?;
    let payees = state.logic.payees(customer.caller()).await?;
    let receivers = accounts
        .iter()
        .filter(|a| can_receive(a))
        .cloned()
        .collect();
    let (senders, cannot_send) = accounts.into_iter().partition(can_send);
    Ok(Choices {
        senders,
        receivers,
        cannot_send,
        payees,
    })
}

async fn render_form(
    state: &AppState,
    customer: &Customer,
    form: TransferForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let choices = choices(state, customer).await?;
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = FormPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "transfer",
        form,
        choices,
        errors,
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
struct FormQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A fresh form with a fresh idempotency key.
async fn form_page(
    State(state): State<AppState>,
    customer: Customer,
    Query(query): Query<FormQuery>,
) -> Result<Response, PageError> {
    let choices = choices(&state, &customer).await?;
    let to = query.to.unwrap_or_default();
    let known = choices.receivers.iter().any(|a| a.number == to)
        || choices.payees.iter().any(|p| p.account_number == to);
    let form = TransferForm {
        idempotency_key: new_key(),
        from_account: query.from.unwrap_or_default(),
        to_account: if known { to.clone() } else { String::new() },
        to_number: if known { String::new() } else { to },
        ..TransferForm::default()
    };
    render_form(&state, &customer, form, FieldErrors::default()).await
}

async fn edit(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<TransferForm>,
) -> Result<Response, PageError> {
    render_form(&state, &customer, form, FieldErrors::default()).await
}

/// What the review page states.
struct Review {
    from_account: String,
    from_name: String,
    to_account: String,
    /// The destination as the bank names it: "Your Savings", or the holder's name.
    to_label: String,
    /// The name the customer typed for the holder, if any, and how it compares; the holder's
    /// name is known only when it matched, or for the customer's own account.
    typed_name: String,
    payee_name: Option<String>,
    name_match: Option<NameMatch>,
    amount: String,
    currency: String,
    memo: String,
    available_after: String,
    /// What is left of today's limit for payments to others, once this one is made.
    left_today_after: Option<String>,
    /// Set when confirming needs a fresh approval (a new payee, or at least the threshold).
    step_up: Option<StepUpNeed>,
}

impl Review {
    /// The customer set their threshold to zero: every payment to others is approved.
    fn every_payment_approved(&self) -> bool {
        self.step_up.as_ref().is_some_and(|need| {
            need.threshold
                .parse::<Decimal>()
                .is_ok_and(|threshold| threshold.is_zero())
        })
    }

    /// The approval is a code (two-step sign-in is on), not the password.
    fn step_up_code(&self) -> bool {
        self.step_up
            .as_ref()
            .is_some_and(|need| need.method == StepUpMethod::Code)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "transfer_review.html")]
struct ReviewPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    form: TransferForm,
    review: Review,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    /// Beside the step-up field: why its approval was refused.
    step_up_error: Option<&'static str>,
    step_up_code: bool,
}

impl ReviewPage {
    fn new(customer: &Customer, form: TransferForm, review: Review) -> Self {
        Self {
            csrf: customer.csrf().to_owned(),
            signed_in: true,
            section: "transfer",
            step_up_code: review.step_up_code(),
            form,
            review,
            error: None,
            notice: None,
            step_up_error: None,
        }
    }
}

/// Said when a payment to a name that did not match is confirmed without saying it was checked.
const NAME_NOT_CHECKED: &str = "The name you entered does not match the account. Check the account number with the person you are paying, then tick the box to confirm, or change the details.";

/// Said when a sent form's changed details cannot be sent as they are.
const SENT_FORM_CHANGED_REFUSED: &str = "This form already sent a payment, which stands. Nothing more has moved: correct the details below to send another.";

/// Said when a form that already sent a payment comes back with other details (the customer went
/// Back and changed them): what they now ask for is reviewed afresh, never mistaken for the first.
const SENT_FORM_CHANGED: &str = "This form already sent a payment, which stands. Nothing more has moved: review the details below and confirm to send them as a new payment.";

/// Checks the form as far as the portal can and works out what will happen.
async fn prepare(
    state: &AppState,
    customer: &Customer,
    form: &TransferForm,
) -> Result<Result<Review, FieldErrors>, PageError> {
    let Choices {
        senders: accounts,
        payees,
        ..
    } = choices(state, customer).await?;
    let mut errors = FieldErrors::default();
    let from = accounts.iter().find(|a| a.number == form.from_account);
    if from.is_none() {
        errors.from_account = Some("Choose one of your accounts to send from.".into());
    }
    let to = form.destination();
    if to.is_empty() {
        errors.to = Some("Choose where the money goes, or enter an account number.".into());
    } else if AccountNumber::parse(&to).is_err() {
        errors.to = Some(super::plain_language(ProblemCode::InvalidAccountNumber).into());
    } else if to == form.from_account {
        errors.to = Some(super::plain_language(ProblemCode::SameAccount).into());
    }
    // The amount is in the currency of the account it leaves; until one is chosen, any of the
    // bank's currencies will do for checking it.
    let currency = from.and_then(|a| Currency::parse(&a.currency).ok());
    let amount = match currency {
        Some(currency) => form.amount(currency),
        None => Currency::ALL
            .into_iter()
            .map(|c| form.amount(c))
            .find(Result::is_ok)
            .unwrap_or_else(|| form.amount(Currency::Eur)),
    };
    let amount = match amount {
        Ok(amount) => Some(amount),
        Err(error) => {
            errors.amount = Some(amount_words(&error).into());
            None
        }
    };
    if form.memo.chars().count() > MEMO_MAX_CHARS {
        errors.memo = Some("A reference has at most 140 characters.".into());
    }
    if !form.has_valid_key() {
        errors.general = Some("This form has expired. Please fill it in again.".into());
    }
    let (Some(from), Some(amount), Some(currency), false) = (from, amount, currency, errors.any())
    else {
        return Ok(Err(errors));
    };
    let available: Decimal = from.available_balance.parse().unwrap_or(Decimal::ZERO);
    if amount.value() > available {
        errors.amount = Some(super::plain_language(ProblemCode::InsufficientFunds).into());
        return Ok(Err(errors));
    }
    // Every rule the transfer itself will meet, applied now by the logic tier: the destination
    // exists and can receive, its currency, freezes, funds and what is left of today's limit.
    let typed_name = form.to_name.trim();
    let request = TransferCheckRequest {
        debit_account: from.number.clone(),
        credit_account: to.clone(),
        amount: bank_api::money::format_in_scale(amount.value(), currency.code()),
        currency: currency.code().to_owned(),
        memo: form.memo.trim().to_owned(),
        payee_name: (!typed_name.is_empty()).then(|| typed_name.to_owned()),
    };
    let check = match state
        .logic
        .check_transfer(customer.caller(), &request)
        .await
    {
        Ok(check) => check,
        Err(LogicError::Problem(problem)) if problem.status != 401 && problem.status != 403 => {
            return Ok(Err(FieldErrors::from_problem(&problem)));
        }
        Err(error) => return Err(error.into()),
    };
    let payee = payees.iter().find(|p| p.account_number == to);
    let to_label = match (&check.payee_name, payee) {
        (Some(name), _) if check.own_account => format!("Your {name}"),
        (Some(name), Some(payee)) => format!("{name} (your payee {})", payee.nickname),
        (Some(name), None) => name.clone(),
        (None, Some(payee)) => format!("Your payee {}", payee.nickname),
        (None, None) => "The account number you entered".to_owned(),
    };
    Ok(Ok(Review {
        from_account: from.number.clone(),
        from_name: from.name.clone(),
        to_account: to,
        to_label,
        typed_name: typed_name.to_owned(),
        payee_name: check.payee_name,
        name_match: check.name_match,
        amount: check.amount,
        currency: check.currency,
        memo: form.memo.trim().to_owned(),
        available_after: check.available_after,
        left_today_after: check.left_today_after,
        step_up: check.step_up,
    }))
}

async fn review(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<TransferForm>,
) -> Result<Response, PageError> {
    match prepare(&state, &customer, &form).await? {
        Ok(review) => Ok(ReviewPage::new(&customer, form, review).into_response()),
        Err(errors) => render_form(&state, &customer, form, errors).await,
    }
}

/// The key for a sent form's changed details: derived from the form's key and those details, so
/// that the same changed form sent again (Back, then "send again") meets the same key and moves
/// money once, while different details get a key of their own.
fn key_for_changed(form: &TransferForm) -> String {
    use sha2::{Digest, Sha256};
    let amount = bank_api::money::read_typed(&form.amount).unwrap_or_else(|_| form.amount.clone());
    let mut hasher = Sha256::new();
    hasher.update(b"bank-portal-changed-transfer-v1\0");
    for part in [
        form.idempotency_key.as_str(),
        form.from_account.as_str(),
        &form.destination(),
        &amount,
        form.memo.trim(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("changed-{hex}")
}

/// The customer's changed details, to review under their own key, with `notice` above them.
async fn review_afresh(
    state: &AppState,
    customer: &Customer,
    form: TransferForm,
    notice: &'static str,
) -> Result<Response, PageError> {
    let form = TransferForm {
        idempotency_key: key_for_changed(&form),
        ..form
    };
    match prepare(state, customer, &form).await? {
        Ok(review) => Ok((
            StatusCode::CONFLICT,
            ReviewPage {
                notice: Some(notice),
                ..ReviewPage::new(customer, form, review)
            },
        )
            .into_response()),
        Err(mut errors) => {
            errors
                .general
                .get_or_insert(SENT_FORM_CHANGED_REFUSED.into());
            render_form(state, customer, form, errors).await
        }
    }
}

fn receipt_url(key: &str) -> String {
    format!(
        "/transfer/receipt?key={}",
        url::form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "transfer_pending.html")]
struct PendingPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    form: TransferForm,
    not_executed: bool,
}

/// Sends the transfer under the form's key. Success (first time or a replay) goes to the receipt;
/// a refusal goes back to the form with the reason beside its field; an unknown outcome says so.
async fn confirm(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<TransferForm>,
) -> Result<Response, PageError> {
    if !form.has_valid_key() {
        return render_form(
            &state,
            &customer,
            TransferForm {
                idempotency_key: new_key(),
                ..form
            },
            FieldErrors {
                general: Some(
                    "This form has expired. Please check the details and review again.".into(),
                ),
                ..FieldErrors::default()
            },
        )
        .await;
    }
    // A name that did not match is confirmed only by a customer who says they checked the number.
    if !form.to_name.trim().is_empty() && form.name_checked != "yes" {
        match prepare(&state, &customer, &form).await? {
            Ok(review) if review.name_match == Some(NameMatch::NoMatch) => {
                return Ok((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ReviewPage {
                        error: Some(NAME_NOT_CHECKED),
                        ..ReviewPage::new(&customer, form, review)
                    },
                )
                    .into_response());
            }
            Ok(_) => {}
            Err(errors) => return render_form(&state, &customer, form, errors).await,
        }
    }
    // The transfer is in the currency of the account it leaves.
    let from = match AccountNumber::parse(&form.from_account) {
        Ok(number) => state.logic.account(customer.caller(), &number).await,
        Err(_) => Err(LogicError::Problem(crate::logic::Problem {
            status: 422,
            code: ProblemCode::InvalidAccountNumber,
            detail: String::new(),
            field: Some("from_account".to_owned()),
        })),
    };
    let currency = match from {
        Ok(account) => account.currency,
        Err(LogicError::Problem(problem)) if problem.status == 404 || problem.status == 422 => {
            let errors = FieldErrors {
                from_account: Some("Choose one of your accounts to send from.".into()),
                ..FieldErrors::default()
            };
            return render_form(&state, &customer, form, errors).await;
        }
        Err(error) => return Err(error.into()),
    };
    // What the customer reviewed, read again from the form they confirmed.
    let amount = match Currency::parse(&currency).and_then(|c| form.amount(c)) {
        Ok(amount) => amount,
        Err(error) => {
            let errors = FieldErrors {
                amount: Some(amount_words(&error).into()),
                ..FieldErrors::default()
            };
            return render_form(&state, &customer, form, errors).await;
        }
    };
    let request = TransferRequest {
        debit_account: form.from_account.clone(),
        credit_account: form.destination(),
        amount: bank_api::money::format_in_scale(amount.value(), &currency),
        currency,
        memo: form.memo.trim().to_owned(),
        step_up: form.step_up.proof(),
    };
    let sent = state
        .logic
        .transfer(customer.caller(), &form.idempotency_key, &request)
        .await;
    match sent {
        Ok(_) => Ok(Redirect::to(&receipt_url(&form.idempotency_key)).into_response()),
        Err(LogicError::Unavailable(cause)) => {
            tracing::warn!(%cause, key = %form.idempotency_key, "transfer outcome unknown");
            Ok((
                StatusCode::ACCEPTED,
                PendingPage {
                    csrf: customer.csrf().to_owned(),
                    signed_in: true,
                    section: "transfer",
                    form,
                    not_executed: false,
                },
            )
                .into_response())
        }
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) if problem.code == ProblemCode::IdempotencyKeyReused => {
            // The key already moved money with other details: never reuse it for these, and
            // never show the first payment's receipt for what the customer asked now.
            review_afresh(&state, &customer, form, SENT_FORM_CHANGED).await
        }
        Err(LogicError::Problem(problem)) => {
            // A refused approval: the same review again, the message beside its field.
            if let Some(message) = super::step_up_message(&problem)
                && let Ok(review) = prepare(&state, &customer, &form).await?
            {
                return Ok((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ReviewPage {
                        step_up_error: Some(message),
                        // Asked for although the review did not say so (the threshold was
                        // lowered meanwhile): the review now does.
                        ..ReviewPage::new(&customer, form, review)
                    },
                )
                    .into_response());
            }
            let errors = FieldErrors::from_problem(&problem);
            render_form(&state, &customer, form, errors).await
        }
    }
}

/// Resolves an unknown outcome by the key: made (receipt), not made (offer to send), or still
/// unknown (ask again).
async fn status(
    State(state): State<AppState>,
    customer: Customer,
    Form(form): Form<TransferForm>,
) -> Result<Response, PageError> {
    let pending = |not_executed| PendingPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "transfer",
        form: form.clone(),
        not_executed,
    };
    match state
        .logic
        .transfer_by_key(customer.caller(), &form.idempotency_key)
        .await
    {
        Ok(_) => Ok(Redirect::to(&receipt_url(&form.idempotency_key)).into_response()),
        Err(LogicError::Problem(problem)) if problem.status == 404 => {
            Ok(pending(true).into_response())
        }
        Err(LogicError::Unavailable(_)) => {
            Ok((StatusCode::ACCEPTED, pending(false)).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "transfer_receipt.html")]
struct ReceiptPage {
    csrf: String,
    signed_in: bool,
    section: &'static str,
    transfer: Transfer,
    from: Option<Account>,
    /// The payee by name: the holder, or "Your Savings".
    to_name: Option<String>,
}

#[derive(Deserialize)]
struct ReceiptQuery {
    key: String,
}

async fn receipt(
    State(state): State<AppState>,
    customer: Customer,
    Query(query): Query<ReceiptQuery>,
) -> Result<ReceiptPage, PageError> {
    let transfer = state
        .logic
        .transfer_by_key(customer.caller(), &query.key)
        .await?;
    let debit = AccountNumber::parse(&transfer.debit_account).ok();
    let (from, to_name) = match &debit {
        Some(number) => {
            let from = state.logic.account(customer.caller(), number).await.ok();
            // The payee as the account's history names it; the transfer is among its latest
            // entries unless many have been posted since, when the number alone is shown.
            let latest = state
                .logic
                .entries(customer.caller(), number, 50, "")
                .await
                .ok();
            let to_name = latest.and_then(|history| {
                history
                    .entries
                    .into_iter()
                    .find(|entry| entry.transfer_id == transfer.id)
                    .map(|entry| crate::statement::counterparty(&entry))
            });
            (from, to_name)
        }
        None => (None, None),
    };
    Ok(ReceiptPage {
        csrf: customer.csrf().to_owned(),
        signed_in: true,
        section: "transfer",
        transfer,
        from,
        to_name,
    })
}

/// What to say of an amount the bank cannot take, in the words of what is wrong with it.
fn amount_words(error: &MoneyError) -> &'static str {
    match error {
        MoneyError::TooManyDecimals { minor_units: 0, .. } => {
            "Enter a whole amount greater than zero, without decimals, such as 2500."
        }
        MoneyError::TooLarge => "One transfer can move at most 1,000,000,000.",
        MoneyError::Ambiguous => super::AMBIGUOUS_AMOUNT,
        _ => super::plain_language(ProblemCode::InvalidAmount),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(amount: &str) -> TransferForm {
        TransferForm {
            amount: amount.to_owned(),
            ..TransferForm::default()
        }
    }

    #[test]
    fn an_amount_has_its_currencys_decimal_places_not_always_two() {
        assert!(form("2500").amount(Currency::Jpy).is_ok());
        assert!(form("1,250.50").amount(Currency::Eur).is_ok());
        assert!(form("12.3456").amount(Currency::Eur).is_err());
        // Typed the way people type: a decimal comma is a decimal, never a thousands mark.
        let read = |text: &str| form(text).amount(Currency::Eur).map(Amount::value);
        assert_eq!(read("10,50"), Ok(rust_decimal::Decimal::new(1050, 2)));
        assert_eq!(read("1 234,50"), Ok(rust_decimal::Decimal::new(123_450, 2)));
        assert!(read("1e3").is_err());
        assert_eq!(read("1,234"), Err(MoneyError::Ambiguous));
        assert!(form("0").amount(Currency::Eur).is_err());
        let words = |text: &str, currency| amount_words(&form(text).amount(currency).unwrap_err());
        assert_eq!(
            words("2500.50", Currency::Jpy),
            "Enter a whole amount greater than zero, without decimals, such as 2500."
        );
        assert_eq!(
            words("2000000000", Currency::Eur),
            "One transfer can move at most 1,000,000,000."
        );
        assert!(words("12.3456", Currency::Eur).starts_with("Enter an amount greater than zero"));
        assert_eq!(
            words("1.234", Currency::Eur),
            crate::pages::AMBIGUOUS_AMOUNT
        );
    }
}
