//! Customers as staff and internal services read them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

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
    pub id_document_kind: Option<DocumentKind>,
    pub id_document_country: Option<String>,
    pub id_document_expires: Option<time::Date>,
}

values! {
    /// What kind of identity document identifies a customer.
    DocumentKind {
        Passport = "passport",
        NationalId = "national_id",
        DrivingLicence = "driving_licence",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerListResponse {
    pub customers: Vec<CustomerResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomerRequest {
    #[serde(flatten)]
    pub identity: IdentityFields,
    pub login: Option<LoginRequest>,
}

/// A new password for someone who lost their sign-in, chosen by the member of staff who checked
/// who they are: they must replace it at their next sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInResetRequest {
    pub password: String,
}

/// What a reset of a sign-in did.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInResetResponse {
    pub username: String,
    /// A second factor was on, and is now off: its secret and recovery codes are gone (staff
    /// enrol a new one at their next sign-in; a customer may).
    pub second_factor_removed: bool,
    /// The sessions that were signed in, now ended.
    pub sessions_ended: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLimitRequest {
    /// A decimal string; null returns the customer to the bank's limit.
    pub daily_limit: Option<String>,
}

/// The identity fields as a request carries them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdentityFields {
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<time::Date>,
    pub address: Option<String>,
    /// The identity document's number; with it, its kind, issuing country and expiry. An account
    /// is opened only for a customer whose date of birth, address and document are all known and
    /// whose document has not expired.
    pub id_document: Option<String>,
    #[serde(default)]
    pub id_document_kind: Option<DocumentKind>,
    /// ISO 3166-1 alpha-2, such as GB or FR.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub id_document_country: Option<String>,
    #[serde(default)]
    pub id_document_expires: Option<time::Date>,
}
