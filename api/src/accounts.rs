//! Accounts: their balances, entries, statements, holds and the daily limits that apply to them.

use crate::transfers::TransferKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

values! {
    /// Whose an account is: a customer's, or the bank's own (the vault, tellers' drawers).
    AccountKind {
        Customer = "customer",
        Internal = "internal",
    }
}

values! {
    AccountStatus {
        Open = "open",
        Frozen = "frozen",
        Closed = "closed",
    }
}

values! {
    /// What kind of customer account it is.
    Product {
        Current = "current",
        Savings = "savings",
    }
}

values! {
    /// What a freeze stops: every movement, money going out, or money coming in.
    FreezeScope {
        All = "all",
        Debits = "debits",
        Credits = "credits",
    }
}

values! {
    /// Whether a hold still reserves its amount.
    HoldState {
        Active = "active",
        Released = "released",
        Expired = "expired",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// What a freeze stops (`all`, `debits`, `credits`); present only while frozen.
    pub freeze_scope: Option<FreezeScope>,
    /// Why the account was last frozen, unfrozen or closed.
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountListResponse {
    pub accounts: Vec<AccountResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntryResponse {
    pub id: i64,
    pub transfer_id: Uuid,
    pub kind: TransferKind,
    /// Signed from the holder's side: money in is positive.
    pub amount: String,
    /// The running balance right after this entry.
    pub balance_after: String,
    /// The other side's account number, for a customer account; the bank's own accounts (its
    /// vault, tellers' drawers) are never numbered to customers, only named.
    pub counterparty_account: Option<String>,
    /// The other side by name: its holder as the bank holds the name ("Alice Martin"), the
    /// account's name when it is another account of the same holder, or what the bank's own
    /// account is ("Cash at the branch").
    pub counterparty_name: String,
    /// The other side is another account of the same holder.
    pub counterparty_own: bool,
    pub memo: String,
    #[serde(with = "time::serde::rfc3339")]
    pub posted_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryResponse {
    pub account: String,
    pub currency: String,
    pub entries: Vec<EntryResponse>,
    /// Pass as `cursor` to read the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementResponse {
    pub account: String,
    pub account_name: String,
    /// The account's holder, as the bank holds the name; none for the bank's own accounts.
    pub holder_name: Option<String>,
    pub holder_address: Option<String>,
    /// When the bank issued this statement.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
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

/// One entry of a customer's recent activity across their accounts.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityResponse {
    pub account: String,
    pub currency: String,
    #[serde(flatten)]
    pub entry: EntryResponse,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityListResponse {
    pub entries: Vec<ActivityResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoldResponse {
    pub id: Uuid,
    pub account: String,
    pub amount: String,
    pub currency: String,
    pub reason: String,
    pub state: HoldState,
    pub placed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoldListResponse {
    pub holds: Vec<HoldResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DailyLimitResponse {
    pub currency: String,
    pub daily_limit: String,
    /// True when the customer has a limit of their own rather than the bank's.
    pub own: bool,
    pub used_today: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DailyLimitListResponse {
    pub limits: Vec<DailyLimitResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAccountRequest {
    pub customer_id: Uuid,
    pub product: Product,
    /// An ISO 4217 code the bank holds: EUR, USD, GBP, CHF or JPY.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub name: Option<String>,
    /// Absent or zero: an overdraft is requested once the account is open
    /// (`POST /v1/accounts/{number}/overdraft-limit`) and approved by a second supervisor.
    pub overdraft_limit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeRequest {
    /// `all`, `debits` or `credits`.
    pub scope: FreezeScope,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// A decimal string with at most the currency's decimal places (2 for EUR, USD, GBP and CHF,
    /// 0 for JPY), greater than zero and at most 1000000000; JSON numbers are refused, so no
    /// amount passes through a float.
    #[schema(example = "40.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub amount: String,
    pub reason: String,
    /// When the hold releases itself, RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverdraftRequest {
    /// The new limit, a decimal string; "0" removes the overdraft.
    pub limit: String,
    pub reason: String,
}
