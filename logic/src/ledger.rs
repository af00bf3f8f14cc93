//! The posting engine: every movement of money goes through [`post`], in one database
//! transaction that claims the idempotency key, locks the accounts in id order, checks the rules
//! under those locks, writes the transfer and its entries, stores the response and (for staff)
//! appends the audit record. The whole unit is retried through transient failures.

use axum::http::StatusCode;
use data::accounts::{AccountKind, AccountRow, AccountStatus, InternalLedger, NormalSide};
use data::idempotency::Claim;
use data::transfers::{NewTransfer, TransferKind, TransferRow, TransferStatus};
use data::users::Role;
use data::{PgConnection, Violation};
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::{AccountNumber, Amount};
use crate::error::{ApiError, account_not_found};
use crate::state::AppState;
use crate::wire::{TransferResponse, position};

/// Longest idempotency key accepted. A UUID is 36 characters; 128 leaves room for a client's own
/// scheme while keeping the index small.
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 128;

/// A client's idempotency key: 1 to 128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let valid = !text.is_empty()
            && text.len() <= IDEMPOTENCY_KEY_MAX_LEN
            && text.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(ApiError::BadRequest {
                code: "idempotency_key_invalid",
                detail: format!(
                    "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LEN} visible ASCII characters"
                ),
            });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a request asks to move.
#[derive(Debug, Clone)]
pub enum Movement {
    /// Between two customer accounts.
    Transfer {
        debit: AccountNumber,
        credit: AccountNumber,
    },
    /// Cash paid in at the counter: the vault gains cash, the customer's account is credited.
    CashDeposit { account: AccountNumber },
    /// Cash paid out at the counter: the customer's account is debited, the vault pays out.
    CashWithdrawal { account: AccountNumber },
}

#[derive(Debug, Clone)]
pub struct Order {
    pub movement: Movement,
    pub amount: Amount,
    pub memo: String,
}

impl Order {
    fn kind(&self) -> TransferKind {
        match self.movement {
            Movement::Transfer { .. } => TransferKind::Transfer,
            Movement::CashDeposit { .. } => TransferKind::CashDeposit,
            Movement::CashWithdrawal { .. } => TransferKind::CashWithdrawal,
        }
    }

    /// What makes two requests "the same request" for idempotency: every field, normalised.
    fn request_hash(&self) -> Vec<u8> {
        let (kind, first, second) = match &self.movement {
            Movement::Transfer { debit, credit } => ("transfer", debit.as_str(), credit.as_str()),
            Movement::CashDeposit { account } => ("cash_deposit", account.as_str(), ""),
            Movement::CashWithdrawal { account } => ("cash_withdrawal", account.as_str(), ""),
        };
        let canonical = format!(
            "{kind}\n{first}\n{second}\n{}\n{}\n{}",
            self.amount.value(),
            self.amount.currency(),
            self.memo
        );
        Sha256::digest(canonical.as_bytes()).to_vec()
    }
}

/// The response to a money-moving request, fresh or replayed.
#[derive(Debug)]
pub struct Outcome {
    pub status: StatusCode,
    pub body: Value,
    /// True when the key had been used before and this is the stored response.
    pub replayed: bool,
}

/// Who asks, and the request's id for the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user: &'a SessionUser,
    pub request_id: Option<&'a str>,
}

/// Moves money exactly once per idempotency key.
pub async fn post(
    state: &AppState,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    order: &Order,
) -> Result<Outcome, ApiError> {
    authorise(actor.user, &order.movement)?;
    if let Movement::Transfer { debit, credit } = &order.movement
        && debit == credit
    {
        return Err(ApiError::refused(
            "same_account",
            "the two accounts of a transfer must differ",
        ));
    }
    let request_hash = order.request_hash();
    let kind = order.kind();
    let result = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let now = match data::idempotency::claim(
            &mut tx,
            actor.user.user_id,
            key.as_str(),
            &request_hash,
        )
        .await?
        {
            Claim::Completed(record) => {
                if record.request_hash != request_hash {
                    return Err(ApiError::Conflict {
                        code: "idempotency_key_reused",
                        detail: "this Idempotency-Key was already used for a different request"
                            .into(),
                    });
                }
                let status = u16::try_from(record.response_status)
                    .ok()
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::CREATED);
                return Ok(Outcome {
                    status,
                    body: record.response_body,
                    replayed: true,
                });
            }
            Claim::Claimed { now } => now,
        };
        let (transfer, body) = execute(&mut tx, actor, key, order, now).await?;
        if actor.user.is_staff() {
            data::audit::append(
                &mut tx,
                &data::audit::NewAuditRecord {
                    actor_user_id: Some(actor.user.user_id),
                    actor_service: None,
                    action: audit_action(transfer.kind),
                    subject_type: "transfer",
                    subject_id: transfer.id.to_string(),
                    before: None,
                    after: Some(body.clone()),
                    request_id: actor.request_id,
                },
            )
            .await?;
        }
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(Outcome {
            status: StatusCode::CREATED,
            body,
            replayed: false,
        })
    })
    .await;
    let outcome = match &result {
        Ok(outcome) if outcome.replayed => "replayed",
        Ok(_) => "posted",
        Err(ApiError::Refused { code, .. }) => code,
        Err(ApiError::Unavailable(_)) => "unavailable",
        Err(_) => "refused",
    };
    metrics::counter!("bank_transfers_total", "kind" => audit_action(kind), "outcome" => outcome)
        .increment(1);
    result
}

fn audit_action(kind: TransferKind) -> &'static str {
    match kind {
        TransferKind::Transfer => "transfer.post",
        TransferKind::CashDeposit => "cash.deposit",
        TransferKind::CashWithdrawal => "cash.withdrawal",
        TransferKind::OpeningCash => "cash.opening",
        TransferKind::Reversal => "transfer.reverse",
    }
}

/// Refuses movements the caller's role may never make, before touching the database.
fn authorise(user: &SessionUser, movement: &Movement) -> Result<(), ApiError> {
    match movement {
        // Customers move their own money; tellers and supervisors act for customers. Admins
        // administer and never move money: separation of duties.
        Movement::Transfer { .. } => {
            user.require_role(&[Role::Customer, Role::Teller, Role::Supervisor])
        }
        Movement::CashDeposit { .. } | Movement::CashWithdrawal { .. } => {
            user.require_role(&[Role::Teller, Role::Supervisor])
        }
    }
}

/// Stores the response, then resolves and locks the accounts, checks the rules under the locks
/// and posts. Runs inside the caller's transaction; everything that can happen before the locks
/// does, so that they are held only for the lock, the posting and the commit.
async fn execute(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    order: &Order,
    now: time::OffsetDateTime,
) -> Result<(NewTransferSummary, Value), ApiError> {
    let currency = order.amount.currency().code();
    let (debit_number, credit_number) = match &order.movement {
        Movement::Transfer { debit, credit } => (debit.to_string(), credit.to_string()),
        Movement::CashDeposit { account } => {
            (vault_number(conn, currency).await?, account.to_string())
        }
        Movement::CashWithdrawal { account } => {
            (account.to_string(), vault_number(conn, currency).await?)
        }
    };
    let summary = NewTransferSummary {
        id: Uuid::new_v4(),
        kind: order.kind(),
    };
    let amount = order.amount.value();
    let response = TransferResponse {
        id: summary.id,
        kind: summary.kind,
        status: TransferStatus::Posted,
        amount: crate::domain::money::format_in_scale(amount, currency),
        currency: currency.to_owned(),
        debit_account: debit_number.clone(),
        credit_account: credit_number.clone(),
        memo: order.memo.clone(),
        created_at: now,
        reverses_transfer_id: None,
    };
    let body = serde_json::to_value(&response)
        .map_err(|e| ApiError::Internal(format!("serialise a transfer: {e}")))?;
    data::idempotency::complete(conn, actor.user.user_id, key.as_str(), 201, &body).await?;

    let locked =
        data::accounts::lock_accounts_by_number(conn, &debit_number, &credit_number).await?;
    let find = |number: &str| locked.iter().find(|a| a.number == number);
    let (debit, credit) = match (&order.movement, find(&debit_number), find(&credit_number)) {
        (Movement::Transfer { .. }, Some(debit), Some(credit))
            if debit.kind == AccountKind::Customer
                && credit.kind == AccountKind::Customer
                && (actor.user.role != Role::Customer
                    || debit.customer_id == actor.user.customer_id) =>
        {
            (debit, credit)
        }
        (Movement::CashDeposit { .. }, Some(vault), Some(account))
            if account.kind == AccountKind::Customer =>
        {
            (vault, account)
        }
        (Movement::CashWithdrawal { .. }, Some(account), Some(vault))
            if account.kind == AccountKind::Customer =>
        {
            (account, vault)
        }
        _ => return Err(account_not_found()),
    };
    for account in [debit, credit] {
        if account.status != AccountStatus::Open {
            return Err(ApiError::refused(
                "account_not_open",
                format!(
                    "account {} is {}",
                    account.number,
                    status_word(account.status)
                ),
            ));
        }
        if account.currency != currency {
            return Err(ApiError::refused(
                "currency_mismatch",
                format!(
                    "account {} holds {}, not {currency}",
                    account.number, account.currency
                ),
            ));
        }
    }
    check_floor(debit, -amount)?;
    check_floor(credit, amount)?;
    let transfer = NewTransfer {
        id: summary.id,
        idempotency_key: key.as_str(),
        kind: summary.kind,
        amount,
        currency,
        debit_account_id: debit.id,
        credit_account_id: credit.id,
        memo: &order.memo,
        initiated_by: Some(actor.user.user_id),
        reverses_transfer_id: None,
        request_id: actor.request_id,
    };
    data::transfers::post_transfer(conn, &transfer)
        .await
        .map_err(|e| match e.violation() {
            // The database's own floor check; the check above should always have caught it first.
            Some(Violation::BalanceBelowFloor) => insufficient(debit),
            _ => ApiError::from(e),
        })?;
    Ok((summary, body))
}

/// What the audit record needs of a transfer just posted.
#[derive(Debug, Clone, Copy)]
struct NewTransferSummary {
    id: Uuid,
    kind: TransferKind,
}

/// Refuses an entry of `signed_amount` (credits positive) that would take the account's
/// available balance below its floor. Entries that raise the balance always pass.
fn check_floor(account: &AccountRow, signed_amount: Decimal) -> Result<(), ApiError> {
    let change = position(account.normal_side, signed_amount);
    if !account.floor_enforced || change >= Decimal::ZERO {
        return Ok(());
    }
    let available_after = position(account.normal_side, account.balance) + change - account.held;
    if available_after < -account.overdraft_limit {
        return Err(insufficient(account));
    }
    Ok(())
}

fn insufficient(account: &AccountRow) -> ApiError {
    match (account.kind, account.normal_side) {
        (AccountKind::Internal, NormalSide::Debit) => ApiError::refused(
            "vault_cash_insufficient",
            "the vault does not hold enough cash for this withdrawal",
        ),
        _ => ApiError::refused(
            "insufficient_funds",
            "the available balance is not enough for this amount",
        ),
    }
}

fn status_word(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Open => "open",
        AccountStatus::Frozen => "frozen",
        AccountStatus::Closed => "closed",
    }
}

/// The number of the branch vault's cash account in `currency`.
async fn vault_number(conn: &mut PgConnection, currency: &str) -> Result<String, ApiError> {
    data::accounts::find_internal_account(conn, InternalLedger::VaultCash, currency)
        .await?
        .map(|vault| vault.number)
        .ok_or_else(|| {
            ApiError::refused(
                "no_vault_for_currency",
                format!("the branch holds no {currency} cash"),
            )
        })
}

/// A transfer the user may see: staff any, a customer only one that touches their accounts.
pub async fn find(state: &AppState, user: &SessionUser, id: Uuid) -> Result<TransferRow, ApiError> {
    let row = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::transfers::find_transfer(&mut conn, id).await?)
    })
    .await?;
    match row {
        Some(row)
            if user.is_staff()
                || (user.customer_id.is_some()
                    && (row.debit_customer_id == user.customer_id
                        || row.credit_customer_id == user.customer_id)) =>
        {
            Ok(row)
        }
        _ => Err(ApiError::NotFound {
            code: "transfer_not_found",
            detail: "no such transfer",
        }),
    }
}

/// The outcome of the caller's own request with this idempotency key, if it completed: how a
/// client that never saw the answer (a timeout, a dropped connection) learns what happened.
pub async fn find_by_key(
    state: &AppState,
    user: &SessionUser,
    key: &IdempotencyKey,
) -> Result<Value, ApiError> {
    let record = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::idempotency::find_completed(&mut conn, user.user_id, key.as_str()).await?)
    })
    .await?;
    record.map(|r| r.response_body).ok_or(ApiError::NotFound {
        code: "transfer_not_found",
        detail: "no completed request of yours has this Idempotency-Key; nothing was moved",
    })
}
