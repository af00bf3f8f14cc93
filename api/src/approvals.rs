//! Four-eyes requests: what a maker asked for and what a checker decided.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

values! {
    /// What a four-eyes request asks for.
    ApprovalKind {
        CashDeposit = "cash_deposit",
        CashWithdrawal = "cash_withdrawal",
        Transfer = "transfer",
        Reversal = "reversal",
        OverdraftLimit = "overdraft_limit",
    }
}

values! {
    ApprovalStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Expired = "expired",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalResponse {
    pub id: Uuid,
    pub kind: ApprovalKind,
    pub status: ApprovalStatus,
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalListResponse {
    pub approvals: Vec<ApprovalResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    #[serde(default)]
    pub note: String,
}
