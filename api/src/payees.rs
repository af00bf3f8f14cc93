//! A customer's saved payees.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

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
#[serde(deny_unknown_fields)]
pub struct AddPayeeRequest {
    pub nickname: String,
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000026", pattern = "^[0-9]{10}$")]
    pub account_number: String,
    /// Required: saving a payee is approved with a current code (or, without a second factor,
    /// the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<crate::sessions::StepUpProof>,
}
