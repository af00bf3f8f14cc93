//! The teller and back-office pages. Every rule is the logic tier's: these pages only collect
//! input, call the API with the member of staff's token, and show the answer. Actions are plain
//! form posts that redirect back with a notice or a plain-language error, so every page works
//! without JavaScript; htmx only refreshes the drawer's position.

mod accounts;
mod admin;
mod api_keys;
mod approvals;
mod audit;
mod customers;
mod drawer;
mod outcome;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use bank_api::ProblemCode;
use bank_api::admin::ApiKeyResponse;

use crate::error::PageError;
use crate::logic::types::{
    Account, Approval, ApprovalStatus, CustomerProfile, DailyLimitList, Drawer, Hold, Limits,
    SignInReset, StaffMember, Transfer,
};
use crate::logic::{Filed, LogicError};
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(customers::router())
        .merge(accounts::router())
        .merge(drawer::router())
        .merge(approvals::router())
        .merge(audit::router())
        .merge(admin::router())
        .merge(api_keys::router())
        .merge(outcome::router())
}

/// A fresh idempotency key, minted with a form so that submitting it twice moves money once.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `?notice=` and `?error=` as the pages pass them after an action.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Messages {
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Messages {
    pub fn notice(&self) -> Option<&'static str> {
        self.notice.as_deref().map(notice_words)
    }

    pub fn error(&self) -> Option<&'static str> {
        self.error.as_deref().map(error_words)
    }
}

fn notice_words(code: &str) -> &'static str {
    match code {
        "saved" => "Saved.",
        "onboarded" => "The customer is onboarded.",
        "opened" => "The account is open.",
        "frozen" => "The account is frozen.",
        "unfrozen" => "The freeze is lifted.",
        "closed" => "The account is closed.",
        "held" => "The hold is placed.",
        "released" => "The hold is released.",
        "posted" => "Done: the money has moved.",
        "confirmed" => "Confirmed: it was carried out.",
        "pending" => {
            "Sent for a supervisor's approval. Any money it would move is held until it is decided."
        }
        "approved" => "Approved and carried out.",
        "rejected" => "Rejected; any held funds are released.",
        "drawer_opened" => "Your drawer is open.",
        "drawer_closed" => "Your drawer is closed and its cash is back in the vault.",
        "staff_created" => "The member of staff can now sign in.",
        "sign_in_reset" => {
            "The sign-in is reset. Give the new password in person: it works once, to choose a \
             new one. The second factor is off, and every session of theirs has ended."
        }
        "api_key_revoked" => "The key is revoked: the service's next request with it is refused.",
        _ => "Done.",
    }
}

/// The words for an `error=` code in a staff page's address: a refusal the portal made itself
/// before any call (never a code of the logic tier's), or one of the logic tier's.
fn error_words(code: &str) -> &'static str {
    match code {
        "invalid_rate_limit" => "The rate limit is a whole number of requests a minute.",
        "invalid_count" => "Count whole pieces of each note and coin.",
        "ambiguous_amount" => crate::pages::AMBIGUOUS_AMOUNT,
        "invalid_date_of_birth" => "Enter the date of birth as year-month-day, such as 1980-04-21.",
        "unknown_choice" => "Choose one of the options the form offers.",
        "invalid_username" => {
            "A username has 3 to 64 letters, digits, dots, hyphens or underscores, and no spaces."
        }
        "reason_required" => {
            "Say why you reject the request: its maker and the audit log read the reason."
        }
        code => refusal_words(ProblemCode::parse(code)),
    }
}

/// The words for a refusal of the logic tier's, on a staff page.
fn refusal_words(code: ProblemCode) -> &'static str {
    match code {
        ProblemCode::DrawerNotOpen => "Open your cash drawer first.",
        ProblemCode::ApiKeyNameTaken => {
            "A key with this name exists or existed; choose another name."
        }
        ProblemCode::ApiKeyRevoked => "That key is revoked; issue a new one instead.",
        ProblemCode::DrawerAlreadyOpen => "You already have an open drawer in this currency.",
        ProblemCode::DrawerCashInsufficient => "Your drawer does not hold enough cash for this.",
        ProblemCode::VaultCashInsufficient => "The vault does not hold enough cash for this.",
        ProblemCode::DrawerDifferenceTooLarge => {
            "Your count differs from what the drawer holds by more than you may book alone: count again, or ask a supervisor to count it and close the drawer."
        }
        ProblemCode::BalanceNotZero => {
            "The account still holds money: pay it out or transfer it first."
        }
        ProblemCode::HoldsActive => "Release the account's holds first.",
        ProblemCode::ApprovalPending => {
            "A request for this account is waiting for approval: decide it first."
        }
        ProblemCode::AccountClosed => "This account is closed.",
        ProblemCode::AccountNotFrozen => "This account is not frozen.",
        ProblemCode::AlreadyReversed => "This transfer has already been reversed.",
        ProblemCode::ReversalPending => {
            "A reversal of this transfer is already waiting for approval."
        }
        ProblemCode::NotReversible => {
            "Only transfers and cash deposits and withdrawals can be reversed."
        }
        ProblemCode::ApprovalDecided => "This request has already been decided.",
        ProblemCode::ApprovalExpired => "This request expired before anyone decided it.",
        ProblemCode::OwnRequest => "You made this request: a different supervisor must decide it.",
        ProblemCode::Forbidden => "Your role does not allow this.",
        ProblemCode::EmailTaken => "Another customer has this email address.",
        ProblemCode::IdentityIncomplete => {
            "Record the customer's date of birth, address and a valid identity document (kind, number, issuing country and expiry) before opening an account."
        }
        ProblemCode::IdentityDocumentTaken => {
            "Another customer already has this identity document."
        }
        ProblemCode::UsernameTaken => "This username is taken.",
        ProblemCode::DailyLimitExceeded => "This is more than the customer's daily limit allows.",
        ProblemCode::HoldNotActive => "This hold was already released or has expired.",
        ProblemCode::HoldExpiryOutOfRange => {
            "A hold lasts until the end of a day from today to a year ahead: enter that last day as year-month-day."
        }
        ProblemCode::HoldGuardsApproval => "This hold guards a request waiting for approval.",
        ProblemCode::OwnAccess => {
            "You cannot change your own access or reset your own sign-in here: ask another admin."
        }
        ProblemCode::NoSignIn => "This customer has no web banking sign-in to reset.",
        ProblemCode::PasswordReused => {
            "That is the password they have now, or one of their last four: choose another."
        }
        ProblemCode::WeakPassword => {
            "That password is too easy to guess. Choose at least 12 characters: a few unrelated words, nothing of the person's name, username, email, phone or birth year, and not a common password."
        }
        ProblemCode::InvalidQuery => {
            "Check the search: it needs at least two characters, and dates in order between 1900-01-01 and 9999-12-30."
        }
        code => super::plain_language(code),
    }
}

impl Staff {
    pub fn caller(&self) -> crate::logic::Caller<'_> {
        crate::logic::Caller {
            token: Some(&self.auth.token),
            request_id: &self.visitor.request_id,
        }
    }

    pub fn csrf(&self) -> String {
        self.visitor.csrf.clone()
    }

    pub fn role(&self) -> &str {
        &self.auth.role
    }
}

/// What an action's answer tells the member of staff who asked: carried out, or waiting for a
/// supervisor's approval.
pub trait Acted {
    fn waits_for_approval(&self) -> bool {
        false
    }
}

impl Acted for Approval {
    fn waits_for_approval(&self) -> bool {
        self.status == ApprovalStatus::Pending
    }
}

impl<T> Acted for Filed<T> {
    fn waits_for_approval(&self) -> bool {
        match self {
            Filed::Done(_) => false,
            Filed::ForApproval(approval) => approval.waits_for_approval(),
        }
    }
}

impl Acted for Account {}
impl Acted for ApiKeyResponse {}
impl Acted for CustomerProfile {}
impl Acted for DailyLimitList {}
impl Acted for Drawer {}
impl Acted for Hold {}
impl Acted for Limits {}
impl Acted for SignInReset {}
impl Acted for StaffMember {}
impl Acted for Transfer {}

/// Where an action sends the browser: back with a notice, or back with the refusal's code.
pub fn redirect_after(
    result: Result<impl Acted, LogicError>,
    back: &str,
    notice: &str,
) -> Result<Response, PageError> {
    let separator = if back.contains('?') { '&' } else { '?' };
    match result {
        Ok(answer) => {
            let notice = if answer.waits_for_approval() {
                "pending"
            } else {
                notice
            };
            Ok(Redirect::to(&format!("{back}{separator}notice={notice}")).into_response())
        }
        Err(error) if error.is_signed_out() => Err(error.into()),
        Err(LogicError::Problem(problem)) => {
            // Every other refusal for lack of a right reads the same to staff.
            let code = match (problem.status, problem.code) {
                (_, ProblemCode::OwnRequest) => ProblemCode::OwnRequest,
                (403, _) => ProblemCode::Forbidden,
                (_, code) => code,
            };
            Ok(Redirect::to(&format!("{back}{separator}error={code}")).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// Back to `back` with the error of `code`, for input refused before any call.
pub fn refuse(back: &str, code: &str) -> Result<Response, PageError> {
    let separator = if back.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{back}{separator}error={code}")).into_response())
}

/// Refuses a page to roles that never use it (the logic tier refuses the calls anyway).
pub fn require(staff: &Staff, roles: &[&str]) -> Result<(), PageError> {
    if roles.contains(&staff.role()) {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

/// Percent-encodes a query value.
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portals_own_refusals_are_not_logic_codes_and_have_words() {
        for code in [
            "invalid_rate_limit",
            "invalid_count",
            "ambiguous_amount",
            "invalid_date_of_birth",
            "unknown_choice",
            "reason_required",
        ] {
            assert_eq!(ProblemCode::parse(code), ProblemCode::Unrecognised);
            assert_ne!(error_words(code), refusal_words(ProblemCode::Unrecognised));
        }
        assert_eq!(
            error_words("own_request"),
            refusal_words(ProblemCode::OwnRequest)
        );
    }
}
