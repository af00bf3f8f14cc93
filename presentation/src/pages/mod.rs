//! The portal's pages, one module per area; each owns its routes.

mod accounts;
mod auth;
mod payees;
mod security;
mod staff;
mod transfer;

use axum::Router;

use crate::state::AppState;

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
pub fn plain_language(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => {
            "There is not enough money available in this account for that amount."
        }
        "invalid_amount" => {
            "Enter an amount greater than zero, with at most two decimals, such as 25.00."
        }
        "invalid_account_number" => {
            "This account number is not valid. Check it and try again: it has 10 digits."
        }
        "account_not_found" => {
            "We could not find an open account with this number that you can use."
        }
        "account_not_open" => "This account cannot send or receive money at the moment.",
        "currency_mismatch" => "The two accounts hold different currencies.",
        "same_account" => "Choose two different accounts.",
        "invalid_field" => "Check this field.",
        "nickname_taken" => "You already have a payee with this nickname.",
        "too_many_payees" => "You have the most payees we keep. Remove one first.",
        "invalid_credentials" => "The username or password is not correct.",
        "sign_in_throttled" => {
            "Too many attempts. For your security, wait a little (up to 15 minutes) before trying again."
        }
        "second_factor_throttled" => {
            "Too many wrong codes. For your security, wait a little (up to 15 minutes) before trying again."
        }
        "invalid_second_factor" => {
            "That code is not correct. Use the newest code from your app, or a recovery code."
        }
        "challenge_invalid" => "This sign-in has expired. Please sign in again.",
        "invalid_current_password" => "Your current password is not correct.",
        "weak_password" => {
            "Choose a new password of at least 12 characters that you have not used here."
        }
        "statement_too_long" => "This period is too long for one statement. Choose a shorter one.",
        "invalid_query" => "Check the dates: the first must not be after the second.",
        _ => "We could not do this. Check the details and try again.",
    }
}
