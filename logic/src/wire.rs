//! What the API sends: response bodies, named by intent. Amounts are decimal strings in their
//! currency's scale, times are RFC 3339, ids are UUIDs. Request bodies sit beside their handlers.

use data::accounts::{AccountKind, AccountRow, AccountStatus, NormalSide, Product};
use data::transfers::{EntryRow, TransferKind, TransferStatus};
use data::users::Role;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::money::format_in_scale;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferResponse {
    pub id: Uuid,
    pub kind: TransferKind,
    pub status: TransferStatus,
    pub amount: String,
    pub currency: String,
    pub debit_account: String,
    pub credit_account: String,
    pub memo: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub reverses_transfer_id: Option<Uuid>,
}

impl From<&data::transfers::TransferRow> for TransferResponse {
    fn from(row: &data::transfers::TransferRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            status: row.status,
            amount: format_in_scale(row.amount, &row.currency),
            currency: row.currency.clone(),
            debit_account: row.debit_account_number.clone(),
            credit_account: row.credit_account_number.clone(),
            memo: row.memo.clone(),
            created_at: row.created_at,
            reverses_transfer_id: row.reverses_transfer_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountResponse {
    pub id: Uuid,
    pub number: String,
    pub name: String,
    pub kind: AccountKind,
    pub product: Option<Product>,
    pub customer_id: Option<Uuid>,
    pub currency: String,
    pub status: AccountStatus,
    /// The sum of all posted entries, seen from the account holder's side.
    pub ledger_balance: String,
    /// What can be spent now: the ledger balance, less active holds, plus the overdraft limit.
    pub available_balance: String,
    pub held_amount: String,
    pub overdraft_limit: String,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
}

/// An account's balance seen from its holder's side: credit-normal accounts as stored, the
/// debit-normal vault with its sign turned so that cash on hand is positive.
pub fn position(normal_side: NormalSide, balance: Decimal) -> Decimal {
    match normal_side {
        NormalSide::Credit => balance,
        NormalSide::Debit => -balance,
    }
}

impl From<&AccountRow> for AccountResponse {
    fn from(row: &AccountRow) -> Self {
        let ledger = position(row.normal_side, row.balance);
        let available = ledger - row.held + row.overdraft_limit;
        Self {
            id: row.id,
            number: row.number.clone(),
            name: row.name.clone(),
            kind: row.kind,
            product: row.product,
            customer_id: row.customer_id,
            currency: row.currency.clone(),
            status: row.status,
            ledger_balance: format_in_scale(ledger, &row.currency),
            available_balance: format_in_scale(available, &row.currency),
            held_amount: format_in_scale(row.held, &row.currency),
            overdraft_limit: format_in_scale(row.overdraft_limit, &row.currency),
            opened_at: row.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountListResponse {
    pub accounts: Vec<AccountResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryResponse {
    pub id: i64,
    pub transfer_id: Uuid,
    pub kind: TransferKind,
    /// Signed from the holder's side: money in is positive.
    pub amount: String,
    /// The running balance right after this entry.
    pub balance_after: String,
    pub counterparty_account: String,
    pub memo: String,
    #[serde(with = "time::serde::rfc3339")]
    pub posted_at: OffsetDateTime,
}

impl EntryResponse {
    pub fn new(row: &EntryRow, normal_side: NormalSide, currency: &str) -> Self {
        Self {
            id: row.id,
            transfer_id: row.transfer_id,
            kind: row.kind,
            amount: format_in_scale(position(normal_side, row.amount), currency),
            balance_after: format_in_scale(position(normal_side, row.balance_after), currency),
            counterparty_account: row.counterparty_number.clone(),
            memo: row.memo.clone(),
            posted_at: row.posted_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryResponse {
    pub account: String,
    pub currency: String,
    pub entries: Vec<EntryResponse>,
    /// Pass as `cursor` to read the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserResponse {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub customer_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionResponse {
    /// The bearer token; shown once, stored by the bank only as a digest.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user: UserResponse,
}

/// The answer to a correct password when a second factor is due.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondFactorChallenge {
    pub second_factor_required: bool,
    /// Send back with the code to `POST /v1/sessions/second-factor`.
    pub challenge: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmIResponse {
    pub user: UserResponse,
    pub totp_enabled: bool,
    pub service: String,
    #[serde(with = "time::serde::rfc3339")]
    pub session_expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerResponse {
    pub id: Uuid,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<time::Date>,
    pub username: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionListResponse {
    pub sessions: Vec<SessionInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: Uuid,
    pub current: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TotpEnrolmentResponse {
    /// The shared secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI an authenticator app reads from a QR code.
    pub otpauth_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryCodesResponse {
    /// Shown once; each works once in place of a code.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayeeResponse {
    pub id: Uuid,
    pub nickname: String,
    pub account_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayeeListResponse {
    pub payees: Vec<PayeeResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatementResponse {
    pub account: String,
    pub account_name: String,
    pub currency: String,
    pub from: time::Date,
    pub to: time::Date,
    pub opening_balance: String,
    pub closing_balance: String,
    pub total_in: String,
    pub total_out: String,
    /// Oldest first.
    pub entries: Vec<EntryResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortalSessionRecord {
    /// Base64 of the encrypted payload.
    pub payload: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}
