//! Accounts: customers' accounts and the bank's internal ledger accounts.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "account_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Customer,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "account_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Open,
    Frozen,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "account_product", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Product {
    Current,
    Savings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "normal_side", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum NormalSide {
    Credit,
    Debit,
}

/// What a freeze stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "freeze_scope", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum FreezeScope {
    /// Every movement, in and out.
    All,
    /// Money going out; money may still come in.
    Debits,
    /// Money coming in; money may still go out.
    Credits,
}

impl FreezeScope {
    pub fn stops_debits(self) -> bool {
        matches!(self, FreezeScope::All | FreezeScope::Debits)
    }

    pub fn stops_credits(self) -> bool {
        matches!(self, FreezeScope::All | FreezeScope::Credits)
    }
}

/// What an internal account is for; one of each per currency, except drawers (one per opening).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "internal_ledger", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum InternalLedger {
    /// The branch vault's cash: debit-normal, it cannot hold less than nothing.
    VaultCash,
    /// The bank's own capital: the counterpart of cash the bank brings in; no floor.
    Capital,
    /// A teller's cash drawer, one account per opening: debit-normal, never below nothing.
    TellerDrawer,
    /// Differences found when drawers are counted: debit-normal, no floor.
    OverShort,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: Uuid,
    pub number: String,
    pub kind: AccountKind,
    pub product: Option<Product>,
    pub name: String,
    pub customer_id: Option<Uuid>,
    pub ledger: Option<InternalLedger>,
    pub currency: String,
    pub status: AccountStatus,
    pub normal_side: NormalSide,
    /// Signed sum of the account's entries, credits positive.
    pub balance: Decimal,
    pub overdraft_limit: Decimal,
    pub floor_enforced: bool,
    /// Sum of the account's active holds.
    pub held: Decimal,
    pub created_at: OffsetDateTime,
    /// What a freeze stops; set exactly when the account is frozen.
    pub freeze_scope: Option<FreezeScope>,
    /// Why the account was last frozen, unfrozen or closed.
    pub status_reason: Option<String>,
}

/// The account columns plus the sum of active holds, followed by `$tail`.
macro_rules! account_query {
    ($tail:literal) => {
        concat!(
            "SELECT a.id, a.number, a.kind, a.product, a.name, a.customer_id, a.ledger, ",
            "a.currency, a.status, a.normal_side, a.balance, a.overdraft_limit, a.floor_enforced, ",
            "a.created_at, a.freeze_scope, a.status_reason, ",
            "(SELECT coalesce(sum(h.amount), 0) FROM holds h ",
            "WHERE h.account_id = a.id AND h.released_at IS NULL AND h.expires_at > now()) AS held ",
            "FROM accounts a ",
            $tail
        )
    };
}

#[derive(Debug)]
pub struct NewAccount<'a> {
    pub id: Uuid,
    pub number: &'a str,
    pub kind: AccountKind,
    pub product: Option<Product>,
    pub name: &'a str,
    pub customer_id: Option<Uuid>,
    pub ledger: Option<InternalLedger>,
    pub currency: &'a str,
    pub normal_side: NormalSide,
    pub overdraft_limit: Decimal,
    pub floor_enforced: bool,
}

/// Inserts an account; [`crate::Violation::AccountNumberTaken`] if the number is in use.
pub async fn insert_account(
    conn: &mut PgConnection,
    new: &NewAccount<'_>,
) -> Result<AccountRow, DataError> {
    sqlx::query(
        "INSERT INTO accounts (id, number, kind, product, name, customer_id, ledger, currency,
                               normal_side, overdraft_limit, floor_enforced)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new.id)
    .bind(new.number)
    .bind(new.kind)
    .bind(new.product)
    .bind(new.name)
    .bind(new.customer_id)
    .bind(new.ledger)
    .bind(new.currency)
    .bind(new.normal_side)
    .bind(new.overdraft_limit)
    .bind(new.floor_enforced)
    .execute(&mut *conn)
    .await
    .classify()?;
    let row = sqlx::query_as(account_query!("WHERE a.id = $1"))
        .bind(new.id)
        .fetch_one(conn)
        .await
        .classify()?;
    Ok(row)
}

pub async fn find_account_by_number(
    conn: &mut PgConnection,
    number: &str,
) -> Result<Option<AccountRow>, DataError> {
    sqlx::query_as(account_query!("WHERE a.number = $1"))
        .bind(number)
        .fetch_optional(conn)
        .await
        .classify()
}

pub async fn find_internal_account(
    conn: &mut PgConnection,
    ledger: InternalLedger,
    currency: &str,
) -> Result<Option<AccountRow>, DataError> {
    sqlx::query_as(account_query!(
        "WHERE a.kind = 'internal' AND a.ledger = $1 AND a.currency = $2"
    ))
    .bind(ledger)
    .bind(currency)
    .fetch_optional(conn)
    .await
    .classify()
}

/// A page of a customer's accounts, oldest first: up to `limit` after the place `after` (opening
/// time and number) of the last one read.
pub async fn list_customer_accounts(
    conn: &mut PgConnection,
    customer_id: Uuid,
    after: Option<(OffsetDateTime, String)>,
    limit: i64,
) -> Result<Vec<AccountRow>, DataError> {
    let (after_at, after_number) = after.unzip();
    sqlx::query_as(account_query!(
        "WHERE a.customer_id = $1
           AND ($2::timestamptz IS NULL OR (a.created_at, a.number) > ($2, $3))
         ORDER BY a.created_at, a.number
         LIMIT $4"
    ))
    .bind(customer_id)
    .bind(after_at)
    .bind(after_number)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// Locks the given accounts for update, always in id order, so that two transactions touching
/// the same accounts queue instead of deadlocking. Returns the locked rows in id order.
pub async fn lock_accounts(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<AccountRow>, DataError> {
    let locked: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(ids)
            .fetch_all(&mut *conn)
            .await
            .classify()?;
    read_locked(conn, &locked).await
}

/// The accounts `ids`, whose locks this transaction holds, with what is held on each: read by
/// a statement of its own after the locks are granted. A statement that locked and read at once
/// would, having waited for a lock, still read the holds as they were when it started (its
/// snapshot is older than the wait) and miss a hold placed by the very transaction it waited for.
async fn read_locked(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<AccountRow>, DataError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(account_query!("WHERE a.id = ANY($1) ORDER BY a.id"))
        .bind(ids)
        .fetch_all(conn)
        .await
        .classify()
}

/// Locks, in id order, the two accounts of a posting by their numbers: the resolution and the
/// locking in one statement (and the reading in a second, see [`read_locked`]). Unknown numbers
/// are simply absent from the result. (Two parameters rather than an array, so that PostgreSQL
/// can settle on one plan for the statement.)
pub async fn lock_accounts_by_number(
    conn: &mut PgConnection,
    first: &str,
    second: &str,
) -> Result<Vec<AccountRow>, DataError> {
    let locked: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM accounts WHERE number IN ($1, $2) ORDER BY id FOR UPDATE",
    )
    .bind(first)
    .bind(second)
    .fetch_all(&mut *conn)
    .await
    .classify()?;
    read_locked(conn, &locked).await
}

/// Locks, in id order, every account of a batch by number. Unknown numbers are absent.
pub async fn lock_accounts_by_numbers(
    conn: &mut PgConnection,
    numbers: &[String],
) -> Result<Vec<AccountRow>, DataError> {
    let locked: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE number = ANY($1) ORDER BY id FOR UPDATE")
            .bind(numbers)
            .fetch_all(&mut *conn)
            .await
            .classify()?;
    read_locked(conn, &locked).await
}

/// Every account with the sum of its entries, for the ledger's consistency checks.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountReconciliationRow {
    pub id: Uuid,
    pub number: String,
    pub balance: Decimal,
    pub entries_sum: Decimal,
    pub below_floor: bool,
    /// Entries whose `balance_after` (what a statement shows) is not the sum of the account's
    /// entries up to and including it.
    pub misstated_entries: i64,
}

pub async fn reconcile_accounts(
    conn: &mut PgConnection,
) -> Result<Vec<AccountReconciliationRow>, DataError> {
    sqlx::query_as(
        "SELECT a.id, a.number, a.balance,
                coalesce((SELECT sum(e.amount) FROM ledger_entries e WHERE e.account_id = a.id), 0)
                    AS entries_sum,
                a.floor_enforced AND
                    (CASE a.normal_side WHEN 'credit' THEN a.balance ELSE -a.balance END)
                    < -a.overdraft_limit AS below_floor,
                (SELECT count(*) FROM (
                     SELECT e.balance_after,
                            sum(e.amount) OVER (ORDER BY e.id ROWS UNBOUNDED PRECEDING) AS running
                       FROM ledger_entries e WHERE e.account_id = a.id) AS r
                  WHERE r.balance_after <> r.running) AS misstated_entries
         FROM accounts a ORDER BY a.number",
    )
    .fetch_all(conn)
    .await
    .classify()
}

/// Sets an account's status, what a freeze stops and why. The database refuses to reopen a
/// closed account ([`crate::Violation::Other`] `accounts_closed_is_final`) or to close one whose
/// balance is not zero (`accounts_closed_at_zero`).
pub async fn set_status(
    conn: &mut PgConnection,
    account_id: Uuid,
    status: AccountStatus,
    freeze_scope: Option<FreezeScope>,
    reason: &str,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE accounts SET status = $2, freeze_scope = $3, status_reason = $4 WHERE id = $1",
    )
    .bind(account_id)
    .bind(status)
    .bind(freeze_scope)
    .bind(reason)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

pub async fn set_overdraft_limit(
    conn: &mut PgConnection,
    account_id: Uuid,
    limit: Decimal,
) -> Result<(), DataError> {
    sqlx::query("UPDATE accounts SET overdraft_limit = $2 WHERE id = $1")
        .bind(account_id)
        .bind(limit)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

pub async fn find_account(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<AccountRow>, DataError> {
    sqlx::query_as(account_query!("WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Locks one account by number for an update of its status or limits.
pub async fn lock_account_by_number(
    conn: &mut PgConnection,
    number: &str,
) -> Result<Option<AccountRow>, DataError> {
    let locked: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE number = $1 FOR UPDATE")
            .bind(number)
            .fetch_optional(&mut *conn)
            .await
            .classify()?;
    let Some(id) = locked else {
        return Ok(None);
    };
    Ok(read_locked(conn, &[id]).await?.pop())
}
