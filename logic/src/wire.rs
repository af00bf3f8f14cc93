//! What the API sends: response bodies, named by intent. Amounts are decimal strings in their
//! currency's scale, times are RFC 3339, ids are UUIDs. Request bodies sit beside their handlers.

pub mod values;

use data::accounts::{AccountKind, AccountRow, AccountStatus, FreezeScope, NormalSide, Product};
use data::transfers::{EntryRow, TransferKind, TransferStatus};
use data::users::Role;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::money::format_in_scale;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransferResponse {
    pub id: Uuid,
    #[schema(value_type = crate::wire::values::TransferKindValues)]
    pub kind: TransferKind,
    #[schema(value_type = crate::wire::values::TransferStatusValues)]
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountResponse {
    pub id: Uuid,
    pub number: String,
    pub name: String,
    #[schema(value_type = crate::wire::values::AccountKindValues)]
    pub kind: AccountKind,
    #[schema(value_type = Option<crate::wire::values::ProductValues>)]
    pub product: Option<Product>,
    pub customer_id: Option<Uuid>,
    pub currency: String,
    #[schema(value_type = crate::wire::values::AccountStatusValues)]
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
    #[schema(value_type = Option<crate::wire::values::FreezeScopeValues>)]
    pub freeze_scope: Option<FreezeScope>,
    /// Why the account was last frozen, unfrozen or closed.
    pub status_reason: Option<String>,
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
            freeze_scope: row.freeze_scope,
            status_reason: row.status_reason.clone(),
        }
    }
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
    #[schema(value_type = crate::wire::values::TransferKindValues)]
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryResponse {
    pub account: String,
    pub currency: String,
    pub entries: Vec<EntryResponse>,
    /// Pass as `cursor` to read the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub username: String,
    #[schema(value_type = crate::wire::values::RoleValues)]
    pub role: Role,
    pub customer_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionResponse {
    /// The bearer token; shown once, stored by the bank only as a digest.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// A token for the device that signed in, shown once: presented with its later sign-ins
    /// (`device_token`), it counts their failures against the device rather than the username,
    /// so nobody else's failures lock the user out there. Replaces the one presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    pub user: UserResponse,
}

/// The answer to a correct password when a second factor is due.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecondFactorChallenge {
    pub second_factor_required: bool,
    /// Send back with the code to `POST /v1/sessions/second-factor`.
    pub challenge: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhoAmIResponse {
    pub user: UserResponse,
    pub totp_enabled: bool,
    pub service: String,
    #[serde(with = "time::serde::rfc3339")]
    pub session_expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerResponse {
    pub id: Uuid,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<time::Date>,
    pub username: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub address: Option<String>,
    pub id_document: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl From<data::customers::CustomerRow> for CustomerResponse {
    fn from(row: data::customers::CustomerRow) -> Self {
        Self {
            id: row.id,
            full_name: row.full_name,
            email: row.email,
            phone: row.phone,
            date_of_birth: row.date_of_birth,
            username: row.username,
            created_at: row.created_at,
            address: row.address,
            id_document: row.id_document,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionListResponse {
    pub sessions: Vec<SessionInfo>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TotpEnrolmentResponse {
    /// The shared secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI an authenticator app reads from a QR code.
    pub otpauth_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecoveryCodesResponse {
    /// Shown once; each works once in place of a code.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PayeeResponse {
    pub id: Uuid,
    pub nickname: String,
    pub account_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PayeeListResponse {
    pub payees: Vec<PayeeResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PortalSessionRecord {
    /// Base64 of the encrypted payload.
    pub payload: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerListResponse {
    pub customers: Vec<CustomerResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
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
pub struct ApprovalResponse {
    pub id: Uuid,
    #[schema(value_type = crate::wire::values::ApprovalKindValues)]
    pub kind: data::approvals::ApprovalKind,
    #[schema(value_type = crate::wire::values::ApprovalStatusValues)]
    pub status: data::approvals::ApprovalStatus,
    pub maker: String,
    pub maker_id: Uuid,
    pub checker: Option<String>,
    pub account: String,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub summary: String,
    pub reason: String,
    pub hold_id: Option<Uuid>,
    pub reverses_transfer_id: Option<Uuid>,
    /// The posting made when the request was approved.
    pub transfer_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub decision_note: String,
}

impl From<&data::approvals::ApprovalRow> for ApprovalResponse {
    fn from(row: &data::approvals::ApprovalRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            status: row.status,
            maker: row.maker_username.clone(),
            maker_id: row.maker_id,
            checker: row.checker_username.clone(),
            account: row.account_number.clone(),
            customer_id: row.customer_id,
            customer_name: row.customer_name.clone(),
            amount: row
                .amount
                .zip(row.currency.as_deref())
                .map(|(amount, currency)| format_in_scale(amount, currency)),
            currency: row.currency.clone(),
            summary: row.summary.clone(),
            reason: row.reason.clone(),
            hold_id: row.hold_id,
            reverses_transfer_id: row.reverses_transfer_id,
            transfer_id: row.transfer_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            decided_at: row.decided_at,
            decision_note: row.decision_note.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalListResponse {
    pub approvals: Vec<ApprovalResponse>,
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
    /// `active`, `released` or `expired`.
    pub state: &'static str,
    pub placed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
}

impl HoldResponse {
    pub fn new(row: &data::holds::HoldRow, account: &AccountRow, now: OffsetDateTime) -> Self {
        let state = match row.released_at {
            Some(_) => "released",
            None if row.expires_at <= now => "expired",
            None => "active",
        };
        Self {
            id: row.id,
            account: account.number.clone(),
            amount: format_in_scale(row.amount, &account.currency),
            currency: account.currency.clone(),
            reason: row.reason.clone(),
            state,
            placed_by: row.placed_by_username.clone(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            released_at: row.released_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HoldListResponse {
    pub holds: Vec<HoldResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawerResponse {
    pub id: Uuid,
    pub teller: String,
    pub account: String,
    pub currency: String,
    /// `open` or `closed`.
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    pub opening_float: String,
    /// The cash the ledger says is in the drawer now (zero once closed).
    pub position: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub counted: Option<String>,
    /// Counted less expected: positive over, negative short.
    pub difference: Option<String>,
    pub denominations: Option<serde_json::Value>,
    /// On single reads, the drawer's latest 200 movements, newest first; every one of them, a page
    /// at a time, at `GET /v1/accounts/{account}/entries`.
    #[serde(default)]
    pub entries: Vec<EntryResponse>,
}

impl From<&data::drawers::DrawerRow> for DrawerResponse {
    fn from(row: &data::drawers::DrawerRow) -> Self {
        let format = |value| format_in_scale(value, &row.currency);
        Self {
            id: row.id,
            teller: row.teller_username.clone(),
            account: row.account_number.clone(),
            currency: row.currency.clone(),
            state: if row.closed_at.is_some() {
                "closed"
            } else {
                "open"
            }
            .into(),
            opened_at: row.opened_at,
            opening_float: format(row.opening_float),
            position: format(row.balance),
            closed_at: row.closed_at,
            counted: row.counted.map(format),
            difference: row.difference.map(format),
            denominations: row.denominations.clone(),
            entries: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawerListResponse {
    pub drawers: Vec<DrawerResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecordResponse {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: Option<String>,
    pub actor_service: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

impl From<data::audit::AuditRow> for AuditRecordResponse {
    fn from(row: data::audit::AuditRow) -> Self {
        Self {
            id: row.id,
            occurred_at: row.occurred_at,
            actor: row.actor_username,
            actor_service: row.actor_service,
            action: row.action,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            before: row.before,
            after: row.after,
            request_id: row.request_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditListResponse {
    pub records: Vec<AuditRecordResponse>,
    /// Pass as `cursor` to read the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The result of checking the audit chain and the ledger end to end.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerificationResponse {
    pub audit_records_checked: i64,
    /// The first audit record whose hash or link does not match, if any.
    pub audit_chain_broken_at: Option<i64>,
    pub transfers_unbalanced: Vec<Uuid>,
    /// Accounts whose balance differs from the sum of their entries, or is below the floor.
    pub accounts_mismatched: Vec<String>,
    pub intact: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffResponse {
    pub id: Uuid,
    pub username: String,
    #[schema(value_type = crate::wire::values::StaffRoleValues)]
    pub role: Role,
    pub disabled: bool,
    pub totp_enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in: Option<OffsetDateTime>,
}

impl From<&data::users::StaffRow> for StaffResponse {
    fn from(row: &data::users::StaffRow) -> Self {
        Self {
            id: row.id,
            username: row.username.clone(),
            role: row.role,
            disabled: row.disabled,
            totp_enabled: row.totp_enabled,
            created_at: row.created_at,
            last_sign_in: row.last_sign_in,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffListResponse {
    pub staff: Vec<StaffResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CurrencyLimitsResponse {
    pub currency: String,
    pub approval_threshold: String,
    pub daily_transfer_limit: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LimitsResponse {
    pub currencies: Vec<CurrencyLimitsResponse>,
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

/// A two-phase transfer. `status` is `pending`, `posted` or `voided`; a pending transfer past
/// its expiry reads as `voided` with `void_reason` `expired`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingTransferResponse {
    pub id: Uuid,
    #[schema(value_type = crate::wire::values::PendingStatusValues, example = "pending")]
    pub status: data::pending::PendingStatus,
    /// The amount held, in the currency's scale.
    #[schema(example = "125.00")]
    pub amount: String,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(example = "1000000018")]
    pub debit_account: String,
    #[schema(example = "1000000026")]
    pub credit_account: String,
    pub memo: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// `voided` (asked for) or `expired`; set only when voided.
    pub void_reason: Option<String>,
    /// What was posted (at most `amount`); set only when posted.
    pub posted_amount: Option<String>,
    /// The transfer that posted it; set only when posted.
    pub transfer_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingTransferListResponse {
    pub pending_transfers: Vec<PendingTransferResponse>,
    /// Pass as `cursor` to read the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// An atomic batch: every transfer in it posted together.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchResponse {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The posted transfers, in the order the request listed them.
    pub transfers: Vec<TransferResponse>,
}

/// One event of the feed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventResponse {
    pub id: Uuid,
    /// This event's place in the feed: pass it as `after` to read what follows it.
    #[schema(example = "42")]
    pub cursor: String,
    /// `transfer.posted`, `transfer.reversed`, `transfer.pending`, `transfer.voided` or
    /// `account.status_changed`.
    #[serde(rename = "type")]
    #[schema(example = "transfer.posted")]
    pub kind: String,
    /// The transfer, pending transfer or account the event is about.
    pub subject_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// What happened, as the subject stood right after it.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<EventResponse>,
    /// Pass as `after` to continue; equal to the `after` given when there was nothing new.
    #[schema(example = "42")]
    pub next_cursor: String,
}

/// An internal service's API key, as admins see it. The secret is never shown again.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKeyResponse {
    pub id: Uuid,
    pub name: String,
    /// The secret's first characters, to tell keys apart.
    pub prefix: Option<String>,
    pub scopes: Vec<crate::auth::scopes::Scope>,
    pub rate_limit_per_minute: i32,
    /// The service account the key acts as; its actions are recorded under this name.
    pub service_account: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub rotated_at: Option<OffsetDateTime>,
    /// Until when the secret replaced by the last rotation still works.
    #[serde(with = "time::serde::rfc3339::option")]
    pub previous_valid_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
}

/// A key just created or rotated: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKeySecretResponse {
    pub key: ApiKeyResponse,
    /// Send as the `X-Api-Key` header. Store it now: the bank keeps only its hash.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKeyListResponse {
    pub api_keys: Vec<ApiKeyResponse>,
    /// Pass as `cursor` to read the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}
