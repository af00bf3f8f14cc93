//! The portal's pages, one module per area; each owns its routes.

mod accounts;
mod auth;
mod payees;
mod security;
mod staff;
mod transfer;

use axum::Router;
use bank_api::ProblemCode;

use crate::state::AppState;

pub use auth::{ENROL_SECOND_FACTOR, REPLACE_PASSWORD};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(accounts::router())
        .merge(transfer::router())
        .merge(payees::router())
        .merge(security::router())
        .merge(staff::router())
}

/// The days the logic tier answers for (its `domain::day`): a date outside them is refused here,
/// beside the field, before it is sent.
const FIRST_DAY: time::Date = time::macros::date!(1900 - 01 - 01);
const LAST_DAY: time::Date = time::macros::date!(9999 - 12 - 30);

/// An optional `YYYY-MM-DD` field, or the message to show beside it.
pub fn parse_day(text: &str) -> Result<Option<time::Date>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let day = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| "Enter dates as year-month-day, such as 2026-11-21.")?;
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return Err("Enter dates between 1900-01-01 and 9999-12-30.");
    }
    Ok(Some(day))
}

/// Turns a logic-tier problem code into plain language for the field it concerns.
pub fn plain_language(code: ProblemCode) -> &'static str {
    match code {
        ProblemCode::InsufficientFunds => {
            "There is not enough money available in this account for that amount."
        }
        ProblemCode::InvalidAmount => {
            "Enter an amount greater than zero, with at most two decimals, such as 25.00."
        }
        ProblemCode::InvalidAccountNumber => {
            "This is not a valid account number: one of its 10 digits may be mistyped. Check it against the number you were given."
        }
        ProblemCode::AccountNotFound => {
            "We could not find an open account with this number that you can use."
        }
        ProblemCode::AccountNotOpen => "This account cannot send or receive money at the moment.",
        ProblemCode::CurrencyMismatch => "The two accounts hold different currencies.",
        ProblemCode::SameAccount => "Choose two different accounts.",
        ProblemCode::InvalidField => "Check this field.",
        ProblemCode::NicknameTaken => "You already have a payee with this nickname.",
        ProblemCode::TooManyPayees => "You have the most payees we keep. Remove one first.",
        ProblemCode::InvalidCredentials => "The username or password is not correct.",
        ProblemCode::SignInThrottled => {
            "Too many attempts. For your security, wait a little (up to 15 minutes) before trying again."
        }
        ProblemCode::SecondFactorThrottled => {
            "Too many wrong codes. For your security, wait a little (up to 15 minutes) before trying again."
        }
        ProblemCode::InvalidSecondFactor => {
            "That code is not correct. Use the newest code from your app, or a recovery code."
        }
        ProblemCode::ChallengeInvalid => "This sign-in has expired. Please sign in again.",
        ProblemCode::InvalidCurrentPassword => "Your current password is not correct.",
        ProblemCode::WeakPassword => {
            "Choose a password of at least 12 characters that is hard to guess: not a common password or a variation of one, not built from your name, username, email, phone or birth year, and not the one you have now. A few unrelated words make a strong one."
        }
        ProblemCode::PasswordChangeLimit => {
            "Your password was changed three times in the last 24 hours. Try again tomorrow, or call the bank if someone else may know it."
        }
        ProblemCode::PasswordReused => {
            "You have used this password here before. Choose a new one, none of your last four."
        }
        ProblemCode::StatementTooLong => {
            "This period is too long for one statement. Choose a shorter one."
        }
        ProblemCode::InvalidQuery => "Check the dates: the first must not be after the second.",
        _ => "We could not do this. Check the details and try again.",
    }
}

/// The approval a form carries for a step-up (see `step_up_field.html`): what the customer typed,
/// sent on to the logic tier and never shown back or logged.
#[derive(Clone, Default, serde::Deserialize)]
pub struct StepUpFields {
    #[serde(default)]
    step_up_code: String,
    #[serde(default)]
    step_up_password: String,
}

impl std::fmt::Debug for StepUpFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepUpFields { … }")
    }
}

impl StepUpFields {
    /// The approval as the logic tier takes it; `None` when the form carried none.
    pub fn proof(&self) -> Option<bank_api::sessions::StepUpProof> {
        let code = Some(self.step_up_code.trim().to_owned()).filter(|c| !c.is_empty());
        let password = Some(self.step_up_password.clone()).filter(|p| !p.is_empty());
        (code.is_some() || password.is_some())
            .then_some(bank_api::sessions::StepUpProof { code, password })
    }
}

/// What to say beside the step-up field when its approval was refused; `None` for a refusal of
/// anything else. The refusal's field says which approval was missing.
pub fn step_up_message(problem: &crate::logic::Problem) -> Option<&'static str> {
    let code = problem.code;
    Some(match code {
        ProblemCode::ReauthenticationRequired if asks_for_password(problem) => {
            "Enter your password to approve this."
        }
        ProblemCode::ReauthenticationRequired => {
            "Enter the code from your authenticator app to approve this."
        }
        ProblemCode::InvalidSecondFactor => {
            "That code is not correct, or was used already. Wait for the next code from your app, or use a recovery code."
        }
        ProblemCode::InvalidCurrentPassword => "Your password is not correct.",
        ProblemCode::SecondFactorThrottled | ProblemCode::SignInThrottled => plain_language(code),
        _ => return None,
    })
}

/// Whether a refusal for a missing approval asks for the password (not a code).
pub fn asks_for_password(problem: &crate::logic::Problem) -> bool {
    problem
        .field
        .as_deref()
        .is_some_and(|field| field.ends_with("password"))
}

/// What to say of an amount typed with one separator before three digits (`1,234`).
/// A wrong code while setting up two-step sign-in: there are no recovery codes yet.
pub(crate) const WRONG_SETUP_CODE: &str = "That code is not correct. Enter the code your app shows now for the key you just added (it changes every 30 seconds).";

pub(crate) const AMBIGUOUS_AMOUNT: &str = "This could be read two ways: write it without the separator, such as 1234, or with its decimals, such as 1234.00.";

/// An amount field of a form, read as a person types it (`10,50`, `1 234.50`) and written as the
/// logic tier takes amounts; `Err` is the `error=` code a staff page shows for it.
pub(crate) fn typed_amount(text: &str) -> Result<String, &'static str> {
    bank_api::money::read_typed(text).map_err(|error| match error {
        bank_api::money::MoneyError::Ambiguous => "ambiguous_amount",
        _ => ProblemCode::InvalidAmount.as_str(),
    })
}

/// An account number from a URL, as the bank writes it (spaces and hyphens between its groups
/// are read past); anything else is no account, so only digits reach the logic tier's paths.
pub(crate) fn account_in_path(
    number: &str,
) -> Result<bank_api::AccountNumber, crate::error::PageError> {
    bank_api::AccountNumber::parse(number).map_err(|_| crate::error::PageError::NotFound)
}
