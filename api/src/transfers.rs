//! Transfers: a posting as it is answered, atomic batches and two-phase (pending) transfers.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

values! {
    /// What a transfer is.
    TransferKind {
        Transfer = "transfer",
        CashDeposit = "cash_deposit",
        CashWithdrawal = "cash_withdrawal",
        OpeningCash = "opening_cash",
        Reversal = "reversal",
        DrawerTransfer = "drawer_transfer",
        OverShort = "over_short",
    }
}

values! {
    /// Where a posted transfer stands.
    TransferStatus {
        Posted = "posted",
    }
}

values! {
    /// Where a two-phase transfer stands; one past its expiry reads as voided.
    PendingStatus {
        Pending = "pending",
        Posted = "posted",
        Voided = "voided",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransferResponse {
    pub id: Uuid,
    pub kind: TransferKind,
    pub status: TransferStatus,
    pub amount: String,
    pub currency: String,
    /// The account debited; empty when a customer reads a transfer with one of the bank's own
    /// accounts (a teller's drawer, the vault), whose numbers customers are never given.
    pub debit_account: String,
    /// The account credited; empty in the same case.
    pub credit_account: String,
    pub memo: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub reverses_transfer_id: Option<Uuid>,
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

/// A two-phase transfer. `status` is `pending`, `posted` or `voided`; a pending transfer past
/// its expiry reads as `voided` with `void_reason` `expired`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingTransferResponse {
    pub id: Uuid,
    #[schema(example = "pending")]
    pub status: PendingStatus,
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashRequest {
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000018", pattern = "^[0-9]{10}$")]
    pub account: String,
    /// A decimal string with at most the currency's decimal places (2 for EUR, USD, GBP and CHF,
    /// 0 for JPY), greater than zero and at most 1000000000; JSON numbers are refused, so no
    /// amount passes through a float.
    #[schema(example = "50.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub amount: String,
    /// An ISO 4217 code the bank holds: EUR, USD, GBP, CHF or JPY.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[serde(default)]
    #[schema(max_length = 140)]
    pub memo: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingTransferRequest {
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000018", pattern = "^[0-9]{10}$")]
    pub debit_account: String,
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000026", pattern = "^[0-9]{10}$")]
    pub credit_account: String,
    /// A decimal string with at most the currency's decimal places (2 for EUR, USD, GBP and CHF,
    /// 0 for JPY), greater than zero and at most 1000000000; JSON numbers are refused, so no
    /// amount passes through a float.
    #[schema(example = "125.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub amount: String,
    /// An ISO 4217 code the bank holds: EUR, USD, GBP, CHF or JPY.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[serde(default)]
    #[schema(max_length = 140)]
    pub memo: String,
    /// How long the funds stay held before the transfer voids itself (default 3600, at most
    /// 604800).
    #[schema(minimum = 1, maximum = 604800)]
    pub timeout_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostPendingRequest {
    /// Post for less than was held (the rest is released); omit to post the full amount. A
    /// decimal string in the pending transfer's currency.
    #[schema(example = "100.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub amount: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 100 transfers, posted together or not at all.
    #[schema(min_items = 1, max_items = 100)]
    pub transfers: Vec<TransferRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000018", pattern = "^[0-9]{10}$")]
    pub debit_account: String,
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000026", pattern = "^[0-9]{10}$")]
    pub credit_account: String,
    /// A decimal string with at most the currency's decimal places (2 for EUR, USD, GBP and CHF,
    /// 0 for JPY), greater than zero and at most 1000000000; JSON numbers are refused, so no
    /// amount passes through a float.
    #[schema(example = "12.50", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub amount: String,
    /// An ISO 4217 code the bank holds: EUR, USD, GBP, CHF or JPY.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[serde(default)]
    #[schema(max_length = 140)]
    pub memo: String,
    /// A customer's approval of this very payment, required when its check answered `step_up`
    /// (a new payee, or at least the step-up threshold); never part of a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<crate::sessions::StepUpProof>,
}

/// A transfer to check before it is confirmed: every rule the transfer itself would meet is
/// applied, and nothing is written.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferCheckRequest {
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000018", pattern = "^[0-9]{10}$")]
    pub debit_account: String,
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000026", pattern = "^[0-9]{10}$")]
    pub credit_account: String,
    /// As in a transfer request.
    #[schema(example = "12.50", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub amount: String,
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    #[serde(default)]
    #[schema(max_length = 140)]
    pub memo: String,
    /// The name the payer believes holds the destination account; when given, the answer says
    /// how well it matches the name the bank holds (Confirmation of Payee).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub payee_name: Option<String>,
}

values! {
    /// How a name typed by the payer compares with the account holder's name.
    NameMatch {
        /// The same name, ignoring case, accents, punctuation and spacing.
        Match = "match",
        /// Nearly the same: a typo, the words in another order, or initials for first names.
        CloseMatch = "close_match",
        NoMatch = "no_match",
    }
}

/// What a transfer would do, were it confirmed now: the holder of the destination as the bank
/// holds the name, and what is left afterwards.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransferCheckResponse {
    pub debit_account: String,
    pub credit_account: String,
    /// The destination account's holder, as the bank holds the name: given to a customer for
    /// their own accounts (then the account's name) and when the name they typed matches or
    /// closely matches; never otherwise, so that the check is no directory of names. Staff and
    /// services always get it.
    pub payee_name: Option<String>,
    /// The destination is another account of the payer's own.
    pub own_account: bool,
    /// Set when the request gave `payee_name` and the destination is not the payer's own.
    pub name_match: Option<NameMatch>,
    pub amount: String,
    pub currency: String,
    /// The debit account's available balance after the transfer.
    pub available_after: String,
    /// The payer's daily limit for payments to others in this currency; not set for a transfer
    /// between one holder's own accounts, which no daily limit bounds.
    pub daily_limit: Option<String>,
    /// What of that limit would be left today after this transfer.
    pub left_today_after: Option<String>,
    /// Set when confirming needs the payer to prove who they are again, and how.
    pub step_up: Option<StepUpNeed>,
}

values! {
    /// Why a payment needs a step-up.
    StepUpReason {
        /// The destination is neither the payer's own account nor a saved payee.
        NewPayee = "new_payee",
        /// The amount is at least the payer's step-up threshold in its currency.
        AboveThreshold = "above_threshold",
    }
}

/// What a payment's confirmation must carry in `step_up`: a current code of the second factor,
/// or for a customer without one the password. It approves only the request it travels in, and
/// a code approves once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepUpNeed {
    pub method: crate::sessions::StepUpMethod,
    pub reason: StepUpReason,
    /// The payer's step-up threshold in the payment's currency.
    pub threshold: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReversalRequest {
    pub reason: String,
}
