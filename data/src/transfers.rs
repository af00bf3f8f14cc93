//! Transfers and their ledger entries: the only way money moves.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "transfer_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    Transfer,
    CashDeposit,
    CashWithdrawal,
    OpeningCash,
    Reversal,
    /// Cash between the vault and a teller's drawer.
    DrawerTransfer,
    /// A drawer's counted difference, against the over/short account.
    OverShort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "transfer_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    Posted,
}

/// A transfer as the API shows it: with both accounts' numbers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransferRow {
    pub id: Uuid,
    pub idempotency_key: String,
    pub kind: TransferKind,
    pub status: TransferStatus,
    pub amount: Decimal,
    pub currency: String,
    pub debit_account_id: Uuid,
    pub debit_account_number: String,
    pub debit_customer_id: Option<Uuid>,
    pub credit_account_id: Uuid,
    pub credit_account_number: String,
    pub credit_customer_id: Option<Uuid>,
    pub memo: String,
    pub initiated_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub reverses_transfer_id: Option<Uuid>,
}

#[derive(Debug)]
pub struct NewTransfer<'a> {
    pub id: Uuid,
    pub idempotency_key: &'a str,
    pub kind: TransferKind,
    /// Strictly positive, in the currency's scale.
    pub amount: Decimal,
    pub currency: &'a str,
    pub debit_account_id: Uuid,
    pub credit_account_id: Uuid,
    pub memo: &'a str,
    pub initiated_by: Option<Uuid>,
    pub reverses_transfer_id: Option<Uuid>,
    pub request_id: Option<&'a str>,
    /// The atomic batch this transfer is a leg of.
    pub batch_id: Option<Uuid>,
}

/// Inserts a posted transfer with its two entries, in one statement: the debit account loses
/// `amount`, the credit account gains it. The caller must already hold both accounts' locks
/// ([`crate::accounts::lock_accounts`]) and should commit right after, so the locks are held for
/// as short a time as possible. The database refuses a balance below its floor with
/// [`crate::Violation::BalanceBelowFloor`].
pub async fn post_transfer(
    conn: &mut PgConnection,
    new: &NewTransfer<'_>,
) -> Result<(), DataError> {
    sqlx::query(
        "WITH transfer AS (
             INSERT INTO transfers (id, idempotency_key, kind, status, amount, currency,
                                    debit_account_id, credit_account_id, memo, initiated_by,
                                    reverses_transfer_id, request_id, batch_id)
             VALUES ($1, $2, $3, 'posted', $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING id
         )
         INSERT INTO ledger_entries (transfer_id, account_id, currency, amount, balance_after)
         SELECT transfer.id, entry.account_id, $5, entry.amount, account.balance + entry.amount
         FROM transfer, (VALUES ($6::uuid, -$4::numeric), ($7::uuid, $4::numeric))
             AS entry (account_id, amount)
         JOIN accounts account ON account.id = entry.account_id",
    )
    .bind(new.id)
    .bind(new.idempotency_key)
    .bind(new.kind)
    .bind(new.amount)
    .bind(new.currency)
    .bind(new.debit_account_id)
    .bind(new.credit_account_id)
    .bind(new.memo)
    .bind(new.initiated_by)
    .bind(new.reverses_transfer_id)
    .bind(new.request_id)
    .bind(new.batch_id)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

macro_rules! transfer_query {
    ($tail:literal) => {
        concat!(
            "SELECT t.id, t.idempotency_key, t.kind, t.status, t.amount, t.currency,
        t.debit_account_id, d.number AS debit_account_number,
        d.customer_id AS debit_customer_id,
        t.credit_account_id, c.number AS credit_account_number,
        c.customer_id AS credit_customer_id,
        t.memo, t.initiated_by, t.created_at, t.reverses_transfer_id
    FROM transfers t
    JOIN accounts d ON d.id = t.debit_account_id
    JOIN accounts c ON c.id = t.credit_account_id",
            " ",
            $tail
        )
    };
}

pub async fn find_transfer(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<TransferRow>, DataError> {
    sqlx::query_as(transfer_query!("WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// One line of an account's history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub id: i64,
    pub transfer_id: Uuid,
    /// Signed, credits positive.
    pub amount: Decimal,
    pub balance_after: Decimal,
    pub posted_at: OffsetDateTime,
    pub kind: TransferKind,
    pub memo: String,
    /// The account on the other side of the transfer.
    pub counterparty_number: String,
    pub counterparty_kind: crate::accounts::AccountKind,
    pub counterparty_ledger: Option<crate::accounts::InternalLedger>,
    pub counterparty_account_name: String,
    /// The other side's holder, for a customer account.
    pub counterparty_holder: Option<String>,
    /// The other side is another account of the same holder.
    pub counterparty_same_holder: bool,
}

/// The columns of the other side of an entry's transfer, for an entry `e` of account `ea`
/// joined to its transfer `t` and `counterparty_join!`.
macro_rules! counterparty_columns {
    () => {
        "cp.number AS counterparty_number, cp.kind AS counterparty_kind,
         cp.ledger AS counterparty_ledger, cp.name AS counterparty_account_name,
         cu.full_name AS counterparty_holder,
         coalesce(cp.customer_id = ea.customer_id, false) AS counterparty_same_holder"
    };
}

/// The other side of an entry's transfer, as `cp`, and its holder, as `cu`.
macro_rules! counterparty_join {
    () => {
        " JOIN accounts cp ON cp.id = CASE WHEN t.debit_account_id = e.account_id
                                          THEN t.credit_account_id ELSE t.debit_account_id END
          LEFT JOIN customers cu ON cu.id = cp.customer_id "
    };
}

/// Which entries of an account to read, newest first.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub account_id: Uuid,
    /// Inclusive lower bound on `posted_at`.
    pub posted_from: Option<OffsetDateTime>,
    /// Exclusive upper bound on `posted_at`.
    pub posted_before: Option<OffsetDateTime>,
    /// Only entries older than this entry id (the cursor of the previous page).
    pub before_entry_id: Option<i64>,
    /// Only entries whose memo, counterparty's holder or customer account number contains this
    /// text (case-insensitive).
    pub text: Option<String>,
    pub limit: i64,
}

pub async fn account_history(
    conn: &mut PgConnection,
    query: &HistoryQuery,
) -> Result<Vec<EntryRow>, DataError> {
    sqlx::query_as(concat!(
        "SELECT e.id, e.transfer_id, e.amount, e.balance_after, e.posted_at, t.kind, t.memo, ",
        counterparty_columns!(),
        " FROM ledger_entries e
             JOIN transfers t ON t.id = e.transfer_id
             JOIN accounts ea ON ea.id = e.account_id",
        counterparty_join!(),
        "WHERE e.account_id = $1
           AND ($2::timestamptz IS NULL OR e.posted_at >= $2)
           AND ($3::timestamptz IS NULL OR e.posted_at < $3)
           AND ($4::bigint IS NULL OR e.id < $4)
           AND ($6::text IS NULL OR t.memo ILIKE $6 OR cu.full_name ILIKE $6
                OR (cp.kind = 'customer' AND cp.number LIKE $6))
         ORDER BY e.id DESC
         LIMIT $5"
    ))
    .bind(query.account_id)
    .bind(query.posted_from)
    .bind(query.posted_before)
    .bind(query.before_entry_id)
    .bind(query.limit)
    .bind(query.text.as_deref().map(crate::like_pattern))
    .fetch_all(conn)
    .await
    .classify()
}

/// Transfers whose entries are not exactly its two legs (its amount from its debit account and
/// to its credit account, existing accounts of its currency), so do not sum to zero or move
/// other money than the transfer says, and the transfer ids of entries that have no transfer;
/// empty in a sound ledger. The schema refuses such rows as they are written; this finds any
/// written around it.
pub async fn unbalanced_transfers(conn: &mut PgConnection) -> Result<Vec<Uuid>, DataError> {
    sqlx::query_scalar(
        "SELECT t.id FROM transfers t
           LEFT JOIN ledger_entries e ON e.transfer_id = t.id
           LEFT JOIN accounts a ON a.id = e.account_id
         GROUP BY t.id
         HAVING coalesce(sum(e.amount), 0) <> 0 OR count(e.id) <> 2
             OR count(e.id) FILTER (WHERE e.currency = t.currency AND a.currency = t.currency
                 AND ((e.account_id = t.debit_account_id AND e.amount = -t.amount)
                   OR (e.account_id = t.credit_account_id AND e.amount = t.amount))) <> 2
         UNION
         SELECT e.transfer_id FROM ledger_entries e
          WHERE NOT EXISTS (SELECT 1 FROM transfers t WHERE t.id = e.transfer_id)
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .classify()
}

pub async fn count_transfers(conn: &mut PgConnection) -> Result<i64, DataError> {
    sqlx::query_scalar("SELECT count(*) FROM transfers")
        .fetch_one(conn)
        .await
        .classify()
}

/// The balance of an account just before `at`: the balance after its last earlier entry.
pub async fn balance_before(
    conn: &mut PgConnection,
    account_id: Uuid,
    at: OffsetDateTime,
) -> Result<Decimal, DataError> {
    let balance: Option<Decimal> = sqlx::query_scalar(
        "SELECT balance_after FROM ledger_entries
         WHERE account_id = $1 AND posted_at < $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(at)
    .fetch_optional(conn)
    .await
    .classify()?;
    Ok(balance.unwrap_or(Decimal::ZERO))
}

/// An account's entries in `[from, before)`, oldest first, at most `limit` of them.
pub async fn entries_between(
    conn: &mut PgConnection,
    account_id: Uuid,
    from: OffsetDateTime,
    before: OffsetDateTime,
    limit: i64,
) -> Result<Vec<EntryRow>, DataError> {
    sqlx::query_as(concat!(
        "SELECT e.id, e.transfer_id, e.amount, e.balance_after, e.posted_at, t.kind, t.memo, ",
        counterparty_columns!(),
        " FROM ledger_entries e
             JOIN transfers t ON t.id = e.transfer_id
             JOIN accounts ea ON ea.id = e.account_id",
        counterparty_join!(),
        "WHERE e.account_id = $1 AND e.posted_at >= $2 AND e.posted_at < $3
         ORDER BY e.id
         LIMIT $4"
    ))
    .bind(account_id)
    .bind(from)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// The transfer that reversed `id`, if one did.
pub async fn reversal_of(conn: &mut PgConnection, id: Uuid) -> Result<Option<Uuid>, DataError> {
    sqlx::query_scalar("SELECT id FROM transfers WHERE reverses_transfer_id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// The latest entries across all of a customer's accounts, newest first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerEntryRow {
    pub account_number: String,
    pub currency: String,
    #[sqlx(flatten)]
    pub entry: EntryRow,
}

pub async fn customer_recent_entries(
    conn: &mut PgConnection,
    customer_id: Uuid,
    before_entry_id: Option<i64>,
    limit: i64,
) -> Result<Vec<CustomerEntryRow>, DataError> {
    sqlx::query_as(concat!(
        "SELECT ea.number AS account_number, ea.currency, e.id, e.transfer_id, e.amount,
                    e.balance_after, e.posted_at, t.kind, t.memo, ",
        counterparty_columns!(),
        " FROM accounts ea
             CROSS JOIN LATERAL (SELECT * FROM ledger_entries le
                                 WHERE le.account_id = ea.id AND ($3::bigint IS NULL OR le.id < $3)
                                 ORDER BY le.id DESC LIMIT $2) e
             JOIN transfers t ON t.id = e.transfer_id",
        counterparty_join!(),
        "WHERE ea.customer_id = $1
         ORDER BY e.id DESC
         LIMIT $2"
    ))
    .bind(customer_id)
    .bind(limit)
    .bind(before_entry_id)
    .fetch_all(conn)
    .await
    .classify()
}

/// An atomic batch as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchRow {
    pub id: Uuid,
    pub initiated_by: Uuid,
    pub created_at: OffsetDateTime,
}

pub async fn find_batch(conn: &mut PgConnection, id: Uuid) -> Result<Option<BatchRow>, DataError> {
    sqlx::query_as("SELECT id, initiated_by, created_at FROM transfer_batches WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// A batch's transfers in the order the request listed them: the order their legs posted in,
/// which is the order of their first ledger entries.
pub async fn batch_transfers(
    conn: &mut PgConnection,
    batch_id: Uuid,
) -> Result<Vec<TransferRow>, DataError> {
    sqlx::query_as(transfer_query!(
        "WHERE t.batch_id = $1
         ORDER BY (SELECT min(e.id) FROM ledger_entries e WHERE e.transfer_id = t.id)"
    ))
    .bind(batch_id)
    .fetch_all(conn)
    .await
    .classify()
}

/// Records an atomic batch before its legs are posted with its id.
pub async fn insert_batch(
    conn: &mut PgConnection,
    id: Uuid,
    initiated_by: Uuid,
    idempotency_key: &str,
    size: i32,
) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO transfer_batches (id, initiated_by, idempotency_key, size)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(initiated_by)
    .bind(idempotency_key)
    .bind(size)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

impl TransferKind {
    /// The kind as the database's `transfer_kind` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Transfer => "transfer",
            TransferKind::CashDeposit => "cash_deposit",
            TransferKind::CashWithdrawal => "cash_withdrawal",
            TransferKind::OpeningCash => "opening_cash",
            TransferKind::Reversal => "reversal",
            TransferKind::DrawerTransfer => "drawer_transfer",
            TransferKind::OverShort => "over_short",
        }
    }
}

/// Inserts many posted transfers with their entries in one statement, in the order given: each
/// transfer's debit entry, then its credit entry, so every entry's `balance_after` is the
/// balance after the transfers before it. The caller holds every account's lock; the entries'
/// statement trigger moves each balance once and checks every entry's balance after it and
/// floor, as for [`post_transfer`]. Reversals are not posted this way.
pub async fn post_transfers(
    conn: &mut PgConnection,
    transfers: &[NewTransfer<'_>],
) -> Result<(), DataError> {
    if transfers.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&NewTransfer<'_>) -> Uuid| transfers.iter().map(f).collect::<Vec<_>>();
    let ids = column(|t| t.id);
    let debits = column(|t| t.debit_account_id);
    let credits = column(|t| t.credit_account_id);
    let keys: Vec<&str> = transfers.iter().map(|t| t.idempotency_key).collect();
    let kinds: Vec<&str> = transfers.iter().map(|t| t.kind.as_str()).collect();
    let amounts: Vec<Decimal> = transfers.iter().map(|t| t.amount).collect();
    let currencies: Vec<&str> = transfers.iter().map(|t| t.currency).collect();
    let memos: Vec<&str> = transfers.iter().map(|t| t.memo).collect();
    let initiators: Vec<Option<Uuid>> = transfers.iter().map(|t| t.initiated_by).collect();
    let request_ids: Vec<Option<&str>> = transfers.iter().map(|t| t.request_id).collect();
    let batch_ids: Vec<Option<Uuid>> = transfers.iter().map(|t| t.batch_id).collect();
    sqlx::query(
        "WITH new AS (
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::numeric[], $5::text[],
                                  $6::uuid[], $7::uuid[], $8::text[], $9::uuid[], $10::text[],
                                  $11::uuid[])
                 WITH ORDINALITY AS n (id, idempotency_key, kind, amount, currency,
                                       debit_account_id, credit_account_id, memo, initiated_by,
                                       request_id, batch_id, ord)
         ),
         transfer AS (
             INSERT INTO transfers (id, idempotency_key, kind, status, amount, currency,
                                    debit_account_id, credit_account_id, memo, initiated_by,
                                    request_id, batch_id)
             SELECT id, idempotency_key, kind::transfer_kind, 'posted', amount, currency,
                    debit_account_id, credit_account_id, memo, initiated_by, request_id, batch_id
             FROM new ORDER BY ord
             RETURNING id
         )
         INSERT INTO ledger_entries (transfer_id, account_id, currency, amount, balance_after)
         SELECT new.id, entry.account_id, new.currency, entry.amount,
                account.balance + sum(entry.amount) OVER (
                    PARTITION BY entry.account_id ORDER BY new.ord, entry.side
                    ROWS UNBOUNDED PRECEDING)
         FROM transfer JOIN new ON new.id = transfer.id,
              LATERAL (VALUES (1, new.debit_account_id, -new.amount),
                              (2, new.credit_account_id, new.amount))
                  AS entry (side, account_id, amount)
         JOIN accounts account ON account.id = entry.account_id
         ORDER BY new.ord, entry.side",
    )
    .bind(&ids)
    .bind(&keys)
    .bind(&kinds)
    .bind(&amounts)
    .bind(&currencies)
    .bind(&debits)
    .bind(&credits)
    .bind(&memos)
    .bind(&initiators)
    .bind(&request_ids)
    .bind(&batch_ids)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}
