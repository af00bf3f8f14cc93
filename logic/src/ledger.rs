//! The posting engine: every movement of money goes through [`post`], in one database
//! transaction that claims the idempotency key, locks the accounts in id order, checks the rules
//! under those locks, writes the transfer and its entries, stores the response and (for staff)
//! appends the audit record. The whole unit is retried through transient failures.

use axum::http::StatusCode;
use bank_api::ProblemCode;
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
                code: ProblemCode::IdempotencyKeyInvalid,
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
    /// Cash paid in at the counter: the teller's drawer gains cash, the customer's account is
    /// credited.
    CashDeposit { account: AccountNumber },
    /// Cash paid out at the counter: the customer's account is debited, the drawer pays out.
    CashWithdrawal { account: AccountNumber },
    /// Cash from the vault into the initiator's open drawer.
    DrawerFromVault,
    /// Cash from the initiator's open drawer back into the vault.
    DrawerToVault,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub movement: Movement,
    pub amount: Amount,
    pub memo: String,
}

impl Order {
    pub fn kind(&self) -> TransferKind {
        match self.movement {
            Movement::Transfer { .. } => TransferKind::Transfer,
            Movement::CashDeposit { .. } => TransferKind::CashDeposit,
            Movement::CashWithdrawal { .. } => TransferKind::CashWithdrawal,
            Movement::DrawerFromVault | Movement::DrawerToVault => TransferKind::DrawerTransfer,
        }
    }

    /// What makes two requests "the same request" for idempotency: every field, normalised.
    pub fn request_hash(&self) -> Vec<u8> {
        let (kind, first, second) = match &self.movement {
            Movement::Transfer { debit, credit } => ("transfer", debit.as_str(), credit.as_str()),
            Movement::CashDeposit { account } => ("cash_deposit", account.as_str(), ""),
            Movement::CashWithdrawal { account } => ("cash_withdrawal", account.as_str(), ""),
            Movement::DrawerFromVault => ("drawer_from_vault", "", ""),
            Movement::DrawerToVault => ("drawer_to_vault", "", ""),
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

/// Who a posting is made for: the signed-in user, or for an approved request its maker.
#[derive(Debug, Clone, Copy)]
pub struct Initiator {
    pub user_id: Uuid,
    pub role: Role,
    pub customer_id: Option<Uuid>,
}

impl From<&SessionUser> for Initiator {
    fn from(user: &SessionUser) -> Self {
        Self {
            user_id: user.user_id,
            role: user.role,
            customer_id: user.customer_id,
        }
    }
}

/// The outcome of claiming an idempotency key inside a unit of work.
pub enum Claimed {
    /// The key is this transaction's; the work must be done. Carries the transaction's `now()`.
    Fresh(time::OffsetDateTime),
    /// The key was used before for the same request: this is the stored response.
    Replay(Outcome),
}

/// Claims `key` for `principal` inside the caller's transaction. The same key with a different
/// request is refused.
pub async fn claim(
    conn: &mut PgConnection,
    principal: Uuid,
    key: &IdempotencyKey,
    request_hash: &[u8],
) -> Result<Claimed, ApiError> {
    match data::idempotency::claim(conn, principal, key.as_str(), request_hash).await? {
        Claim::Claimed { now } => Ok(Claimed::Fresh(now)),
        Claim::Completed(record) => {
            if record.request_hash != request_hash {
                return Err(ApiError::Conflict {
                    code: ProblemCode::IdempotencyKeyReused,
                    detail: "this Idempotency-Key was already used for a different request".into(),
                });
            }
            let status = u16::try_from(record.response_status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::CREATED);
            Ok(Claimed::Replay(Outcome {
                status,
                body: record.response_body,
                replayed: true,
            }))
        }
    }
}

/// Moves money exactly once per idempotency key. A teller's operation above the approval
/// threshold is not posted but filed for a supervisor's approval (202), with the funds held.
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
            ProblemCode::SameAccount,
            "the two accounts of a transfer must differ",
        ));
    }
    let request_hash = order.request_hash();
    let kind = order.kind();
    let initiator = Initiator::from(actor.user);
    let result = crate::unit_of_work::retried(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let now = match claim(&mut tx, actor.user.user_id, key, &request_hash).await? {
            Claimed::Replay(outcome) => return Ok(outcome),
            Claimed::Fresh(now) => now,
        };
        if needs_approval(&mut tx, &initiator, order).await? {
            let body = crate::approvals::file_order(
                &mut tx,
                actor,
                key,
                order,
                state.settings.approval_ttl_s,
            )
            .await?;
            data::idempotency::complete(&mut tx, actor.user.user_id, key.as_str(), 202, &body)
                .await?;
            tx.commit().await.map_err(data::DataError::from)?;
            return Ok(Outcome {
                status: StatusCode::ACCEPTED,
                body,
                replayed: false,
            });
        }
        let posting = Posting {
            initiator: &initiator,
            key,
            now,
            request_id: actor.request_id,
            completion: KeyCompletion::Complete,
            batch_id: None,
        };
        let (transfer, body) = execute(&mut tx, &posting, order).await?;
        if actor.user.is_staff() {
            audit_posting(
                &mut tx,
                actor.user.user_id,
                transfer,
                &body,
                actor.request_id,
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
        Err(ApiError::Refused { code, .. }) => code.as_str(),
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
        TransferKind::DrawerTransfer => "drawer.vault_transfer",
        TransferKind::OverShort => "drawer.over_short",
    }
}

/// Appends the audit record of a posting made by staff.
pub async fn audit_posting(
    conn: &mut PgConnection,
    actor_user_id: Uuid,
    transfer: NewTransferSummary,
    body: &Value,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    crate::audit::record(
        conn,
        Some(actor_user_id),
        request_id,
        crate::audit::Change {
            action: audit_action(transfer.kind),
            subject_type: "transfer",
            subject_id: transfer.id.to_string(),
            before: None,
            after: Some(body.clone()),
        },
    )
    .await?;
    Ok(())
}

/// Whether a teller's operation is above the approval threshold of its currency. Supervisors'
/// own operations, and customers' transfers (bounded by their daily limit), post directly.
async fn needs_approval(
    conn: &mut PgConnection,
    initiator: &Initiator,
    order: &Order,
) -> Result<bool, ApiError> {
    let approvable = matches!(
        order.movement,
        Movement::Transfer { .. } | Movement::CashDeposit { .. } | Movement::CashWithdrawal { .. }
    );
    if initiator.role != Role::Teller || !approvable {
        return Ok(false);
    }
    let threshold = data::limits::approval_threshold(conn, order.amount.currency().code()).await?;
    Ok(threshold.is_some_and(|threshold| order.amount.value() > threshold))
}

/// Whether [`execute`] stores the response under the idempotency key (a fresh request) or leaves
/// the key alone (an approved request, whose key already holds the approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCompletion {
    Complete,
    Leave,
}

/// Refuses movements the caller's role may never make, before touching the database.
fn authorise(user: &SessionUser, movement: &Movement) -> Result<(), ApiError> {
    match movement {
        // Customers move their own money; tellers and supervisors act for customers. Admins
        // administer and never move money: separation of duties.
        Movement::Transfer { .. } => user.require_role(&[
            Role::Customer,
            Role::Teller,
            Role::Supervisor,
            Role::Service,
        ]),
        Movement::CashDeposit { .. }
        | Movement::CashWithdrawal { .. }
        | Movement::DrawerFromVault
        | Movement::DrawerToVault => user.require_role(&[Role::Teller, Role::Supervisor]),
    }
}

/// The circumstances of one posting inside a unit of work.
#[derive(Debug, Clone, Copy)]
pub struct Posting<'a> {
    pub initiator: &'a Initiator,
    pub key: &'a IdempotencyKey,
    /// The transaction's `now()`, stamped on the response.
    pub now: time::OffsetDateTime,
    pub request_id: Option<&'a str>,
    pub completion: KeyCompletion,
    /// The atomic batch the posting is a leg of.
    pub batch_id: Option<Uuid>,
}

/// Stores the response, then resolves and locks the accounts, checks the rules under the locks
/// and posts. Runs inside the caller's transaction; everything that can happen before the locks
/// does, so that they are held only for the lock, the posting and the commit.
pub async fn execute(
    conn: &mut PgConnection,
    posting: &Posting<'_>,
    order: &Order,
) -> Result<(NewTransferSummary, Value), ApiError> {
    let Posting {
        initiator,
        key,
        now,
        request_id,
        completion,
        batch_id,
    } = *posting;
    let currency = order.amount.currency().code();
    let (debit_number, credit_number) = match &order.movement {
        Movement::Transfer { debit, credit } => (debit.to_string(), credit.to_string()),
        Movement::CashDeposit { account } => (
            drawer_number(conn, initiator, currency).await?,
            account.to_string(),
        ),
        Movement::CashWithdrawal { account } => (
            account.to_string(),
            drawer_number(conn, initiator, currency).await?,
        ),
        Movement::DrawerFromVault => (
            drawer_number(conn, initiator, currency).await?,
            vault_number(conn, currency).await?,
        ),
        Movement::DrawerToVault => (
            vault_number(conn, currency).await?,
            drawer_number(conn, initiator, currency).await?,
        ),
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
    if completion == KeyCompletion::Complete {
        data::idempotency::complete(conn, initiator.user_id, key.as_str(), 201, &body).await?;
    }

    let locked =
        data::accounts::lock_accounts_by_number(conn, &debit_number, &credit_number).await?;
    let find = |number: &str| locked.iter().find(|a| a.number == number);
    let (debit, credit) = match (&order.movement, find(&debit_number), find(&credit_number)) {
        (Movement::Transfer { .. }, Some(debit), Some(credit))
            if debit.kind == AccountKind::Customer
                && credit.kind == AccountKind::Customer
                && (initiator.role != Role::Customer
                    || debit.customer_id == initiator.customer_id) =>
        {
            (debit, credit)
        }
        (Movement::CashDeposit { .. }, Some(drawer), Some(account))
            if account.kind == AccountKind::Customer =>
        {
            (drawer, account)
        }
        (Movement::CashWithdrawal { .. }, Some(account), Some(drawer))
            if account.kind == AccountKind::Customer =>
        {
            (account, drawer)
        }
        (Movement::DrawerFromVault | Movement::DrawerToVault, Some(debit), Some(credit)) => {
            (debit, credit)
        }
        _ => return Err(account_not_found()),
    };
    check_movable(debit, Side::Debit)?;
    check_movable(credit, Side::Credit)?;
    check_currency(&[debit, credit], currency)?;
    check_floor(debit, -amount)?;
    check_floor(credit, amount)?;
    if matches!(order.movement, Movement::Transfer { .. })
        && let Some(customer_id) = debit.customer_id
        && credit.customer_id != Some(customer_id)
    {
        check_daily_limit(conn, customer_id, currency, amount).await?;
    }
    let transfer = NewTransfer {
        id: summary.id,
        idempotency_key: key.as_str(),
        kind: summary.kind,
        amount,
        currency,
        debit_account_id: debit.id,
        credit_account_id: credit.id,
        memo: &order.memo,
        initiated_by: Some(initiator.user_id),
        reverses_transfer_id: None,
        request_id,
        batch_id,
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
pub struct NewTransferSummary {
    pub id: Uuid,
    pub kind: TransferKind,
}

/// Which side of a posting an account is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Debit,
    Credit,
}

/// Refuses a movement a closed account, or a frozen one whose freeze covers this side, may not
/// take.
pub fn check_movable(account: &AccountRow, side: Side) -> Result<(), ApiError> {
    let stopped = match account.status {
        AccountStatus::Open => false,
        AccountStatus::Closed => true,
        AccountStatus::Frozen => account.freeze_scope.is_none_or(|scope| match side {
            Side::Debit => scope.stops_debits(),
            Side::Credit => scope.stops_credits(),
        }),
    };
    if !stopped {
        return Ok(());
    }
    let what = match side {
        Side::Debit => "send money",
        Side::Credit => "receive money",
    };
    Err(ApiError::refused(
        ProblemCode::AccountNotOpen,
        format!(
            "account {} is {} and cannot {what}",
            account.number,
            status_word(account.status)
        ),
    ))
}

/// Refuses a movement in `currency` touching an account held in another.
pub fn check_currency(accounts: &[&AccountRow], currency: &str) -> Result<(), ApiError> {
    match accounts.iter().find(|account| account.currency != currency) {
        None => Ok(()),
        Some(account) => Err(ApiError::refused(
            ProblemCode::CurrencyMismatch,
            format!(
                "account {} holds {}, not {currency}",
                account.number, account.currency
            ),
        )),
    }
}

/// Adds a transfer to what the customer has sent others today, refusing it past their limit. The
/// running total's row stays locked until the transaction ends (see
/// [`data::limits::add_daily_outflow`]), so concurrent transfers cannot both slip under it.
async fn check_daily_limit(
    conn: &mut PgConnection,
    customer_id: Uuid,
    currency: &str,
    amount: Decimal,
) -> Result<(), ApiError> {
    let (total, limit) =
        data::limits::add_daily_outflow(conn, customer_id, currency, amount).await?;
    if total > limit {
        let used = total - amount;
        let left = (limit - used).max(Decimal::ZERO);
        return Err(ApiError::refused(
            ProblemCode::DailyLimitExceeded,
            format!(
                "this transfer would exceed the daily limit of {} {currency}; {} {currency} is left today",
                crate::domain::money::format_in_scale(limit, currency),
                crate::domain::money::format_in_scale(left, currency),
            ),
        ));
    }
    Ok(())
}

/// Refuses an entry of `signed_amount` (credits positive) that would take the account's
/// available balance below its floor. Entries that raise the balance always pass.
pub fn check_floor(account: &AccountRow, signed_amount: Decimal) -> Result<(), ApiError> {
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

pub fn insufficient(account: &AccountRow) -> ApiError {
    match (account.ledger, account.normal_side) {
        (Some(InternalLedger::TellerDrawer), _) => ApiError::refused(
            ProblemCode::DrawerCashInsufficient,
            "the drawer does not hold enough cash for this",
        ),
        (Some(_), NormalSide::Debit) => ApiError::refused(
            ProblemCode::VaultCashInsufficient,
            "the vault does not hold enough cash for this",
        ),
        _ => ApiError::refused(
            ProblemCode::InsufficientFunds,
            "the available balance is not enough for this amount",
        ),
    }
}

pub fn status_word(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Open => "open",
        AccountStatus::Frozen => "frozen",
        AccountStatus::Closed => "closed",
    }
}

/// The number of the account of the initiator's open drawer in `currency`.
async fn drawer_number(
    conn: &mut PgConnection,
    initiator: &Initiator,
    currency: &str,
) -> Result<String, ApiError> {
    data::drawers::open_drawer(conn, initiator.user_id, currency)
        .await?
        .map(|drawer| drawer.account_number)
        .ok_or_else(|| {
            ApiError::refused(
                ProblemCode::DrawerNotOpen,
                format!("open your {currency} cash drawer before handling {currency} cash"),
            )
        })
}

/// The number of the branch vault's cash account in `currency`.
pub async fn vault_number(conn: &mut PgConnection, currency: &str) -> Result<String, ApiError> {
    data::accounts::find_internal_account(conn, InternalLedger::VaultCash, currency)
        .await?
        .map(|vault| vault.number)
        .ok_or_else(|| {
            ApiError::refused(
                ProblemCode::NoVaultForCurrency,
                format!("the branch holds no {currency} cash"),
            )
        })
}

/// A transfer the user may see: staff any, a customer only one that touches their accounts.
pub async fn find(state: &AppState, user: &SessionUser, id: Uuid) -> Result<TransferRow, ApiError> {
    let row = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::transfers::find_transfer(&mut *conn, id).await?) })
    })
    .await?;
    match row {
        Some(row)
            if user.reaches_every_customer()
                || (user.customer_id.is_some()
                    && (row.debit_customer_id == user.customer_id
                        || row.credit_customer_id == user.customer_id)) =>
        {
            Ok(row)
        }
        _ => Err(ApiError::NotFound {
            code: ProblemCode::TransferNotFound,
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
    let record = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::idempotency::find_completed(&mut *conn, user.user_id, key.as_str()).await?)
        })
    })
    .await?;
    record.map(|r| r.response_body).ok_or(ApiError::NotFound {
        code: ProblemCode::TransferNotFound,
        detail: "no completed request of yours has this Idempotency-Key; nothing was moved",
    })
}
