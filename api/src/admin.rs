//! The admin area: staff, the bank's limits per currency and internal services' API keys.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sessions::Role;

values! {
    /// The roles a member of staff may be given.
    StaffRole {
        Teller = "teller",
        Supervisor = "supervisor",
        Admin = "admin",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StaffResponse {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub totp_enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in: Option<OffsetDateTime>,
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

/// An internal service's API key, as admins see it. The secret is never shown again.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKeyResponse {
    pub id: Uuid,
    pub name: String,
    /// The secret's first characters, to tell keys apart.
    pub prefix: Option<String>,
    pub scopes: Vec<Scope>,
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

values! {
    /// A permission an admin grants an API key.
    Scope {
        AccountsRead = "accounts:read",
        AccountsWrite = "accounts:write",
        CustomersRead = "customers:read",
        CustomersWrite = "customers:write",
        TransfersRead = "transfers:read",
        TransfersWrite = "transfers:write",
        EventsRead = "events:read",
    }
}

impl Scope {
    pub fn describe(self) -> &'static str {
        match self {
            Scope::AccountsRead => "read any customer account, its balance and its entries",
            Scope::AccountsWrite => "open accounts for customers",
            Scope::CustomersRead => "search and read customers",
            Scope::CustomersWrite => "onboard customers and correct their details",
            Scope::TransfersRead => "read transfers, pending transfers and batches",
            Scope::TransfersWrite => "move money: transfers, two-phase transfers and batches",
            Scope::EventsRead => "read the event feed",
            Scope::Unknown => "a permission this build does not know",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    pub username: String,
    pub password: String,
    pub role: StaffRole,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaffRequest {
    pub role: Option<StaffRole>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLimitsRequest {
    pub approval_threshold: String,
    pub daily_transfer_limit: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// The calling service, e.g. `payments-hub`: 2 to 40 lowercase letters, digits, `.`, `_`, `-`.
    #[schema(example = "payments-hub")]
    pub name: String,
    /// At least one scope.
    pub scopes: Vec<Scope>,
    /// Requests a minute this key may make (per logic instance); default 600.
    #[schema(minimum = 1, maximum = 100000)]
    pub rate_limit_per_minute: Option<i32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyRequest {
    /// How long the previous secret keeps working, 0 (stops at once, the default) to 604800.
    #[schema(minimum = 0, maximum = 604800)]
    pub grace_seconds: Option<i64>,
}
