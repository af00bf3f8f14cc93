//! Signing in and the signed-in user: sessions, second factors and the portal's stored sessions.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

values! {
    /// Who a user is to the bank.
    Role {
        Customer = "customer",
        Teller = "teller",
        Supervisor = "supervisor",
        Admin = "admin",
        Service = "service",
    }
}

impl Role {
    /// Whether the user is a member of staff (teller, supervisor or admin).
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Teller | Role::Supervisor | Role::Admin)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub customer_id: Option<Uuid>,
    /// The password was set by someone else (a teller, an admin): every request but replacing it
    /// (`POST /v1/me/password`), `GET /v1/me` and signing out answers `password_change_required`
    /// until it is replaced.
    #[serde(default)]
    pub password_change_due: bool,
    /// A member of staff without a second factor, where staff must have one: nothing but
    /// enrolling one (`POST /v1/me/totp`, then `/v1/me/totp/confirm`) is allowed until they have.
    #[serde(default)]
    pub second_factor_due: bool,
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

values! {
    /// Something that happened to a user's sign-in.
    SecurityActivityKind {
        /// Signed in (with the second factor, when one is on).
        SignedIn = "signed_in",
        /// A wrong password was given for this username.
        SignInFailed = "sign_in_failed",
        /// The right password was given, then a wrong second-factor code: someone has the
        /// password.
        SecondFactorFailed = "second_factor_failed",
        /// The user changed their password.
        PasswordChanged = "password_changed",
        /// The user turned two-step sign-in on.
        SecondFactorOn = "second_factor_on",
        /// The user turned two-step sign-in off.
        SecondFactorOff = "second_factor_off",
        /// The bank reset the sign-in: a temporary password, every session ended, the second
        /// factor removed.
        SignInReset = "sign_in_reset",
    }
}

/// What happened to the signed-in user's own sign-in, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecurityActivityListResponse {
    pub activity: Vec<SecurityActivity>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecurityActivity {
    pub kind: SecurityActivityKind,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The address the request came from, for a sign-in or a failed one (null when the caller
    /// did not say, as a direct API client may not).
    pub client_ip: Option<String>,
    /// The browser or client that made it, for a sign-in or a failed one.
    pub user_agent: Option<String>,
    /// Done by the bank's staff rather than by the user.
    pub by_bank: bool,
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
pub struct PortalSessionRecord {
    /// Base64 of the encrypted payload.
    pub payload: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    /// Required when two-step sign-in is on: a current code, or a recovery code (which it
    /// spends).
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolTotpRequest {
    /// Required when two-step sign-in is on already (replacing it): the current password.
    pub password: Option<String>,
    /// Required with `password`: a current code, or a recovery code (which it spends).
    pub code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotpRequest {
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTotpRequest {
    pub password: String,
    /// A current code, or a recovery code (which it spends).
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub username: String,
    pub password: String,
    /// The device token a previous sign-in from this device returned, if any.
    #[serde(default)]
    pub device_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    pub challenge: String,
    /// A six-digit TOTP code or a recovery code.
    pub code: String,
}

/// A portal form being sent: its single-use token, recorded for the signed-in user.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormSubmissionRequest {
    /// The token the form was rendered with: 22 to 128 characters.
    pub token: String,
}

values! {
    /// What approves an action that needs the customer to prove who they are again (step-up).
    StepUpMethod {
        /// A current code of the second factor, or a recovery code.
        Code = "code",
        /// The password: only for a customer without a second factor, who is asked to turn one
        /// on.
        Password = "password",
    }
}

/// What approves the one request it travels in, when that request needs the customer to prove
/// who they are again: a current code of the second factor (or a recovery code, which it
/// spends) or, for a customer without a second factor, the password. A code approves once: the
/// same code cannot approve another request.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpProof {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl std::fmt::Debug for StepUpProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUpProof")
            .field("code", &self.code.as_ref().map(|_| "…"))
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

/// A customer's step-up threshold in one currency: payments to others of at least it need a
/// fresh second factor, whoever the payee.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepUpThreshold {
    #[schema(example = "EUR")]
    pub currency: String,
    /// The threshold in force: the customer's own, or else the bank's.
    #[schema(example = "1000.00")]
    pub threshold: String,
    /// The bank's threshold: the highest a customer may set.
    #[schema(example = "1000.00")]
    pub bank_threshold: String,
    /// True when the customer set a threshold of their own.
    pub own: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepUpThresholdListResponse {
    pub thresholds: Vec<StepUpThreshold>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStepUpThresholdRequest {
    /// A decimal string in the currency's scale, from 0 (every payment to others) up to the
    /// bank's threshold; null goes back to the bank's. Raising it needs a step-up.
    #[schema(example = "250.00")]
    pub threshold: Option<String>,
    /// Required to raise the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<StepUpProof>,
}
