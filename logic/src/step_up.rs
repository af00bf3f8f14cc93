//! Step-up: a customer proves who they are again for the one action at hand. Saving a payee, a
//! payment to an account that is neither their own nor a saved payee, and a payment of at least
//! their step-up threshold each carry a fresh approval in the request itself: a current code of
//! the second factor (or a recovery code) or, for a customer without one, the password.
//!
//! The approval is bound to what it approves because it travels in that request and is checked
//! in the transaction that acts on it: a code read for 10.00 to Bob approves nothing else, since
//! a code's time step is spent when it is accepted (a later request with it is refused), and it
//! is spent only if the action commits. A payment replayed under its idempotency key answers
//! from its stored outcome, neither counted nor checked, so a retry needs no new code.

use bank_api::ProblemCode;
use bank_api::sessions::{StepUpMethod, StepUpProof};
use bank_api::transfers::{StepUpNeed, StepUpReason};
use data::PgConnection;
use data::users::Role;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::auth::{SessionUser, password};
use crate::domain::money::format_in_scale;
use crate::domain::{AccountNumber, Amount, Currency};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{StepUpThreshold, StepUpThresholdListResponse};

/// The longest code read (a recovery code typed with spaces between its groups).
const CODE_MAX_CHARS: usize = 64;

/// Whether `user`'s payment of `amount` to `credit` needs a step-up, and why. Only customers'
/// own payments do: staff work under four-eyes rules, services under their scopes.
pub async fn payment_need(
    conn: &mut PgConnection,
    user: &SessionUser,
    credit: &AccountNumber,
    amount: &Amount,
) -> Result<Option<StepUpNeed>, ApiError> {
    let (Role::Customer, Some(customer)) = (user.role, user.customer_id) else {
        return Ok(None);
    };
    let currency = amount.currency().code();
    let facts = data::limits::step_up_facts(&mut *conn, customer, credit.as_str(), currency)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("no step-up threshold for {currency}")))?;
    let reason = if facts.own_account {
        None
    } else if !facts.saved_payee {
        Some(StepUpReason::NewPayee)
    } else if amount.value() >= facts.threshold {
        Some(StepUpReason::AboveThreshold)
    } else {
        None
    };
    let Some(reason) = reason else {
        return Ok(None);
    };
    Ok(Some(StepUpNeed {
        method: method(conn, user.user_id).await?,
        reason,
        threshold: format_in_scale(facts.threshold, currency),
    }))
}

/// How `user_id` approves a step-up: with a code when a second factor is on, else the password.
pub async fn method(conn: &mut PgConnection, user_id: Uuid) -> Result<StepUpMethod, ApiError> {
    let row = data::users::find_user(conn, user_id)
        .await?
        .ok_or_else(|| ApiError::Internal("signed-in user vanished".into()))?;
    Ok(if row.totp_secret.is_some() {
        StepUpMethod::Code
    } else {
        StepUpMethod::Password
    })
}

/// What became of a request's approval, as [`verify`] records it: the throttle forgets the
/// counted attempts only after an approval was accepted, keeps them after a refusal, and gives
/// the attempt back when nothing was checked (the request failed first, or needed none).
#[derive(Debug, Default)]
pub struct Checked(std::sync::atomic::AtomicU8);

// Zero, the default, is "not checked".
const ACCEPTED: u8 = 1;
const REFUSED: u8 = 2;

impl Checked {
    fn record(&self, accepted: bool) {
        let value = if accepted { ACCEPTED } else { REFUSED };
        self.0.store(value, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The throttle key of a user's step-up approvals, and its limit for the way they approve. A
/// key of its own: a stolen session's guesses never lock its owner's sign-in.
fn throttle_key(user: &SessionUser, method: StepUpMethod) -> (String, i32) {
    let limit = match method {
        StepUpMethod::Code => crate::throttle::SECOND_FACTOR_FAILURES_BEFORE_LOCK,
        _ => crate::throttle::FAILURES_BEFORE_LOCK,
    };
    (format!("step-up:{}", user.user_id), limit)
}

/// Counts a step-up attempt before it is checked, in a transaction of its own, so that a stolen
/// session buys no more guesses than a sign-in would; nothing is counted without a `proof`.
pub async fn count_attempt(
    state: &AppState,
    user: &SessionUser,
    proof: Option<&StepUpProof>,
) -> Result<(), ApiError> {
    if proof.is_none() {
        return Ok(());
    }
    let user_id = user.user_id;
    let method = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { method(conn, user_id).await })
    })
    .await?;
    let (key, limit) = throttle_key(user, method);
    crate::throttle::take_check(state, &key, limit).await
}

/// Settles the attempt [`count_attempt`] counted, by what [`verify`] recorded in `checked`.
pub async fn settle_attempt(
    state: &AppState,
    user: &SessionUser,
    proof: Option<&StepUpProof>,
    checked: &Checked,
) -> Result<(), ApiError> {
    if proof.is_none() {
        return Ok(());
    }
    let key = throttle_key(user, StepUpMethod::Code).0;
    let key = &key;
    match checked.0.load(std::sync::atomic::Ordering::Relaxed) {
        ACCEPTED => crate::throttle::clear_checks(state, key).await,
        REFUSED => Ok(()),
        _ => {
            crate::unit_of_work::read(state, |conn, _| {
                Box::pin(
                    async move { Ok(data::users::forgive_sign_in_attempt(&mut *conn, key).await?) },
                )
            })
            .await
        }
    }
}

/// Checks `proof` for `what` (said in the refusal) inside the caller's transaction: a code is
/// spent with the action and only if it commits. Refuses with `reauthentication_required` when
/// nothing, or the wrong kind of proof, was sent.
pub async fn verify(
    conn: &mut PgConnection,
    state: &AppState,
    user: &SessionUser,
    (proof, checked): (Option<&StepUpProof>, &Checked),
    what: &str,
) -> Result<(), ApiError> {
    let result = check(conn, state, user, proof, what).await;
    match &result {
        Ok(()) => checked.record(true),
        Err(ApiError::Invalid { .. }) => checked.record(false),
        Err(_) => {}
    }
    result
}

async fn check(
    conn: &mut PgConnection,
    state: &AppState,
    user: &SessionUser,
    proof: Option<&StepUpProof>,
    what: &str,
) -> Result<(), ApiError> {
    let row = data::users::find_user(&mut *conn, user.user_id)
        .await?
        .ok_or_else(|| ApiError::Internal("signed-in user vanished".into()))?;
    let proof = proof.cloned().unwrap_or_default();
    if row.totp_secret.is_some() {
        let Some(code) = proof.code.filter(|c| !c.trim().is_empty()) else {
            return Err(missing(StepUpMethod::Code, what));
        };
        if code.chars().count() > CODE_MAX_CHARS
            || !crate::security::accept_code(conn, &state.server_key, &row, &code).await?
        {
            return Err(ApiError::invalid(
                ProblemCode::InvalidSecondFactor,
                "step_up.code",
                "the code is not correct, or was used already: wait for the next code",
            ));
        }
        return Ok(());
    }
    let Some(given) = proof.password.filter(|p| !p.is_empty()) else {
        return Err(missing(StepUpMethod::Password, what));
    };
    if given.chars().count() > password::PASSWORD_MAX_CHARS
        || !password::verify(given, row.password_hash).await
    {
        return Err(ApiError::invalid(
            ProblemCode::InvalidCurrentPassword,
            "step_up.password",
            "your password is not correct",
        ));
    }
    Ok(())
}

/// The refusal of `what`, which needs an approval by `method` and carries none.
pub fn missing(method: StepUpMethod, what: &str) -> ApiError {
    match method {
        StepUpMethod::Code => ApiError::invalid(
            ProblemCode::ReauthenticationRequired,
            "step_up.code",
            format!("{what} needs a current code from your authenticator app"),
        ),
        _ => ApiError::invalid(
            ProblemCode::ReauthenticationRequired,
            "step_up.password",
            format!("{what} needs your password (turn on two-step sign-in to use a code instead)"),
        ),
    }
}

fn customer_of(user: &SessionUser) -> Result<Uuid, ApiError> {
    match (user.role, user.customer_id) {
        (Role::Customer, Some(id)) => Ok(id),
        _ => Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "step-up thresholds belong to customers",
        }),
    }
}

fn thresholds_response(rows: Vec<data::limits::StepUpThresholdRow>) -> StepUpThresholdListResponse {
    StepUpThresholdListResponse {
        thresholds: rows
            .into_iter()
            .map(|row| StepUpThreshold {
                threshold: format_in_scale(
                    row.own_threshold.unwrap_or(row.bank_threshold),
                    &row.currency,
                ),
                bank_threshold: format_in_scale(row.bank_threshold, &row.currency),
                own: row.own_threshold.is_some(),
                currency: row.currency,
            })
            .collect(),
    }
}

/// The customer's step-up threshold in each of the bank's currencies.
pub async fn thresholds(
    state: &AppState,
    user: &SessionUser,
) -> Result<StepUpThresholdListResponse, ApiError> {
    let customer = customer_of(user)?;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::limits::step_up_thresholds(&mut *conn, customer).await?) })
    })
    .await?;
    Ok(thresholds_response(rows))
}

/// Sets the customer's own threshold in `currency` (`None`: back to the bank's). Lowering it
/// makes payments safer and needs nothing more; raising it needs a step-up, so that a stolen
/// session cannot lift the guard before it pays.
pub async fn set_threshold(
    state: &AppState,
    user: &SessionUser,
    currency: &str,
    threshold: Option<&str>,
    proof: Option<&StepUpProof>,
) -> Result<StepUpThresholdListResponse, ApiError> {
    let customer = customer_of(user)?;
    let currency = Currency::parse(currency)?;
    let threshold = match threshold.map(str::trim) {
        None | Some("") => None,
        // Zero ("0", "0.00") is allowed: every payment to others then needs an approval.
        Some(text)
            if !text.is_empty()
                && text.bytes().all(|b| b == b'0' || b == b'.')
                && text.starts_with('0')
                && text.matches('.').count() <= 1 =>
        {
            Some(Decimal::ZERO)
        }
        Some(text) => Some(
            Amount::parse(text, currency)
                .map_err(|e| {
                    ApiError::invalid(ProblemCode::InvalidAmount, "threshold", e.to_string())
                })?
                .value(),
        ),
    };
    count_attempt(state, user, proof).await?;
    let checked = Checked::default();
    let checked = &checked;
    let result = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let rows = data::limits::step_up_thresholds(&mut *tx, customer).await?;
            let row = rows
                .iter()
                .find(|row| row.currency == currency.code())
                .ok_or_else(|| ApiError::Internal("a currency without limits".into()))?;
            let current = row.own_threshold.unwrap_or(row.bank_threshold);
            let wanted = threshold.unwrap_or(row.bank_threshold);
            if wanted > row.bank_threshold {
                return Err(ApiError::invalid(
                    ProblemCode::InvalidAmount,
                    "threshold",
                    format!(
                        "the bank asks for a code from {} {} on: set a lower threshold, or none",
                        format_in_scale(row.bank_threshold, currency.code()),
                        currency.code()
                    ),
                ));
            }
            if wanted > current {
                verify(
                    &mut *tx,
                    state,
                    user,
                    (proof, checked),
                    "raising your threshold",
                )
                .await?;
            }
            // The bank's own threshold is kept as "none of the customer's": it follows the bank's.
            let own = threshold.filter(|t| *t < row.bank_threshold);
            data::limits::set_step_up_threshold(&mut *tx, customer, currency.code(), own).await?;
            crate::audit::user_event(
                &mut *tx,
                (user.user_id, Some(customer)),
                "security.step_up_threshold",
                ("customer", customer.to_string()),
                serde_json::json!({
                    "currency": currency.code(),
                    "before": format_in_scale(current, currency.code()),
                    "after": format_in_scale(wanted, currency.code()),
                }),
            )
            .await?;
            Ok(data::limits::step_up_thresholds(&mut *tx, customer).await?)
        })
    })
    .await;
    settle_attempt(state, user, proof, checked).await?;
    Ok(thresholds_response(result?))
}
