//! The posting engine: every movement of money is written by [`execute`], inside the caller's
//! transaction (an order's, an approval's, a pending transfer's, a batch's): it resolves and locks
//! the accounts in id order, checks the rules under those locks, writes the transfer and its
//! entries and builds the transfer's response. Who may ask for what, and under which key, is the
//! caller's business (`orders`, `approvals`, `pending`, `batches`).

use bank_api::ProblemCode;
use data::accounts::{AccountKind, AccountRow, AccountStatus, InternalLedger, NormalSide};
use data::transfers::{NewTransfer, TransferKind, TransferRow};
use data::users::Role;
use data::{PgConnection, Violation};
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::{AccountNumber, Amount};
use crate::error::{ApiError, account_not_found};
use crate::idempotency::{Completion, IdempotencyKey};
use crate::state::AppState;
use crate::wire::IntoWire;
use crate::wire::{TransferResponse, position};

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

/// The audit action (and metrics label) of a posting of `kind`.
pub fn audit_action(kind: TransferKind) -> &'static str {
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

/// Whether [`execute`] stores the response under the idempotency key (a fresh request) or leaves
/// the key alone (an approved request, whose key already holds the approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCompletion {
    Complete,
    Leave,
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
        id: Uuid::now_v7(),
        kind: order.kind(),
    };
    let amount = order.amount.value();
    let body = to_body(&answer(
        summary,
        amount,
        currency,
        (&debit_number, &credit_number),
        &order.memo,
        now,
        None,
    ))?;
    if completion == KeyCompletion::Complete {
        data::idempotency::complete(
            conn,
            initiator.user_id,
            key.as_str(),
            Completion::Created.code(),
            &body,
        )
        .await?;
    }

    let locked =
        data::accounts::lock_accounts_by_number(conn, &debit_number, &credit_number).await?;
    let find = |number: &str| locked.iter().find(|a| a.number == number);
    let (debit, credit) = decide(
        initiator,
        &order.movement,
        (find(&debit_number), find(&credit_number)),
        currency,
        amount,
    )?;
    if let Some(customer_id) = daily_limit_bound(&order.movement, debit, credit) {
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

/// The accounts a movement takes, checked against every rule that needs no write: who may move
/// money from them, their state, their currency and their floors. The one place these rules are
/// decided, for a posting (under the accounts' locks) and for a check before it (see
/// [`crate::review`]).
pub fn decide<'r>(
    initiator: &Initiator,
    movement: &Movement,
    (debit, credit): (Option<&'r AccountRow>, Option<&'r AccountRow>),
    currency: &str,
    amount: Decimal,
) -> Result<(&'r AccountRow, &'r AccountRow), ApiError> {
    let (debit, credit) = match (movement, debit, credit) {
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
    Ok((debit, credit))
}

/// The customer whose daily limit a movement counts against: a transfer from a customer's
/// account to anyone else's. Moving between one's own accounts, and cash, is not bounded by it.
pub fn daily_limit_bound(
    movement: &Movement,
    debit: &AccountRow,
    credit: &AccountRow,
) -> Option<Uuid> {
    match movement {
        Movement::Transfer { .. } => debit
            .customer_id
            .filter(|customer_id| credit.customer_id != Some(*customer_id)),
        _ => None,
    }
}

/// A posted transfer's answer: the one place it is built, whichever posting made it.
pub fn answer(
    summary: NewTransferSummary,
    amount: Decimal,
    currency: &str,
    (debit_account, credit_account): (&str, &str),
    memo: &str,
    created_at: time::OffsetDateTime,
    reverses_transfer_id: Option<Uuid>,
) -> TransferResponse {
    TransferResponse {
        id: summary.id,
        kind: summary.kind.into_wire(),
        status: bank_api::transfers::TransferStatus::Posted,
        amount: crate::domain::money::format_in_scale(amount, currency),
        currency: currency.to_owned(),
        debit_account: debit_account.to_owned(),
        credit_account: credit_account.to_owned(),
        memo: memo.to_owned(),
        created_at,
        reverses_transfer_id,
    }
}

/// An answer as the JSON body stored under its key and sent.
pub fn to_body(answer: &TransferResponse) -> Result<Value, ApiError> {
    serde_json::to_value(answer)
        .map_err(|e| ApiError::Internal(format!("serialise a transfer: {e}")))
}

/// Posts the reversal of `original`: the same amount back, from the account it credited to the
/// account it debited, linked to it; the original stays as it was. A correction is not a
/// customer's movement: a freeze does not stop it, closing does. Runs in the caller's
/// transaction, under `key` (the request that asked for it), for `initiated_by`.
pub async fn reverse(
    conn: &mut PgConnection,
    original: &TransferRow,
    key: &str,
    initiated_by: Uuid,
    request_id: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<TransferResponse, ApiError> {
    let (debit, credit) = lock_for_reversal(conn, original).await?;
    let (debit, credit) = (&debit, &credit);
    for account in [debit, credit] {
        if account.status == AccountStatus::Closed {
            return Err(ApiError::refused(
                ProblemCode::AccountNotOpen,
                format!("account {} is closed", account.number),
            ));
        }
    }
    check_floor(debit, -original.amount)?;
    let summary = NewTransferSummary {
        id: Uuid::now_v7(),
        kind: TransferKind::Reversal,
    };
    let memo = format!("Reversal of {}", &original.id.simple().to_string()[..8]);
    data::transfers::post_transfer(
        conn,
        &NewTransfer {
            id: summary.id,
            idempotency_key: key,
            kind: summary.kind,
            amount: original.amount,
            currency: &original.currency,
            debit_account_id: debit.id,
            credit_account_id: credit.id,
            memo: &memo,
            initiated_by: Some(initiated_by),
            reverses_transfer_id: Some(original.id),
            request_id,
            batch_id: None,
        },
    )
    .await
    .map_err(|e| match e.violation() {
        Some(Violation::AlreadyReversed) => already_reversed(),
        Some(Violation::BalanceBelowFloor) => insufficient(debit),
        _ => ApiError::from(e),
    })?;
    Ok(answer(
        summary,
        original.amount,
        &original.currency,
        (&debit.number, &credit.number),
        &memo,
        now,
        Some(original.id),
    ))
}

/// Locks the two accounts of `original` and gives them as its reversal moves money: first the
/// account it credited (debited now), then the one it debited.
pub async fn lock_for_reversal(
    conn: &mut PgConnection,
    original: &TransferRow,
) -> Result<(AccountRow, AccountRow), ApiError> {
    let mut locked = data::accounts::lock_accounts(
        conn,
        &[original.debit_account_id, original.credit_account_id],
    )
    .await?;
    let mut take = |id: Uuid| {
        locked
            .iter()
            .position(|a| a.id == id)
            .map(|at| locked.swap_remove(at))
    };
    match (
        take(original.credit_account_id),
        take(original.debit_account_id),
    ) {
        (Some(debit), Some(credit)) => Ok((debit, credit)),
        _ => Err(ApiError::Internal("a transfer's account is missing".into())),
    }
}

/// The refusal of a second reversal of one transfer.
pub fn already_reversed() -> ApiError {
    ApiError::Conflict {
        code: ProblemCode::AlreadyReversed,
        detail: "this transfer has already been reversed".into(),
    }
}

/// Posts a movement between internal accounts the caller has locked or just created (a drawer's
/// float and its return, its over/short, the vault's opening cash) for `transfer.initiated_by`.
/// Only the database's floor can stand in its way: `below_floor` is the refusal then.
pub async fn post_internal(
    conn: &mut PgConnection,
    transfer: &NewTransfer<'_>,
    below_floor: impl FnOnce() -> ApiError,
) -> Result<(), ApiError> {
    data::transfers::post_transfer(conn, transfer)
        .await
        .map_err(|e| match e.violation() {
            Some(Violation::BalanceBelowFloor) => below_floor(),
            _ => ApiError::from(e),
        })
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
        return Err(over_daily_limit(limit, total - amount, currency));
    }
    Ok(())
}

/// The refusal of a transfer that would take what the customer sent others today (`used`
/// before it) past their `limit`.
pub fn over_daily_limit(limit: Decimal, used: Decimal, currency: &str) -> ApiError {
    let left = (limit - used).max(Decimal::ZERO);
    ApiError::refused(
        ProblemCode::DailyLimitExceeded,
        format!(
            "this transfer would exceed the daily limit of {} {currency}; {} {currency} is left today",
            crate::domain::money::format_in_scale(limit, currency),
            crate::domain::money::format_in_scale(left, currency),
        ),
    )
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
            // A request under this key may still be committing (its client gave up, or was told
            // 503): the answer waits for it, so "nothing was moved" is never said of a transfer
            // about to be.
            data::idempotency::wait_until_settled(&mut *conn, user.user_id, key.as_str()).await?;
            Ok(data::idempotency::find_completed(&mut *conn, user.user_id, key.as_str()).await?)
        })
    })
    .await?;
    record.map(|r| r.response_body).ok_or(ApiError::NotFound {
        code: ProblemCode::TransferNotFound,
        detail: "no completed request of yours has this Idempotency-Key; nothing was moved",
    })
}
