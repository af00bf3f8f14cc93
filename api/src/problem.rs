//! Every refusal of the logic API has a code from this one list: the logic tier answers with it
//! (`code` and `type: urn:bank:problem:<code>` of an RFC 9457 problem) and the portal matches on
//! it, never on a status or on prose. A code the portal does not know yet reads as
//! [`ProblemCode::Unrecognised`] and gets the general message.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! problem_codes {
    ($($variant:ident => $code:literal,)*) => {
        /// A refusal's stable, machine-readable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemCode {
            $($variant,)*
            /// A code this build does not know (sent by a newer logic tier). Never sent.
            Unrecognised,
        }

        impl ProblemCode {
            /// Every code the logic tier may send.
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            /// The code as it travels: lower snake case.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $code,)*
                    ProblemCode::Unrecognised => "unrecognised",
                }
            }

            /// The code for `text`, or [`ProblemCode::Unrecognised`].
            pub fn parse(text: &str) -> ProblemCode {
                match text {
                    $($code => ProblemCode::$variant,)*
                    _ => ProblemCode::Unrecognised,
                }
            }
        }
    };
}

problem_codes! {
    AccountClosed => "account_closed",
    AccountNotFound => "account_not_found",
    AccountNotFrozen => "account_not_frozen",
    AccountNotOpen => "account_not_open",
    AlreadyReversed => "already_reversed",
    AmountExceedsPending => "amount_exceeds_pending",
    ApiKeyNameTaken => "api_key_name_taken",
    ApiKeyNotFound => "api_key_not_found",
    ApiKeyRevoked => "api_key_revoked",
    ApprovalDecided => "approval_decided",
    ApprovalExpired => "approval_expired",
    ApprovalNotFound => "approval_not_found",
    ApprovalPending => "approval_pending",
    BalanceNotZero => "balance_not_zero",
    BatchNotFound => "batch_not_found",
    BearerWithApiKey => "bearer_with_api_key",
    ChallengeInvalid => "challenge_invalid",
    CurrencyMismatch => "currency_mismatch",
    CustomerIdRequired => "customer_id_required",
    CustomerNotFound => "customer_not_found",
    DailyLimitExceeded => "daily_limit_exceeded",
    DrawerAlreadyOpen => "drawer_already_open",
    DrawerCashInsufficient => "drawer_cash_insufficient",
    DrawerDifferenceTooLarge => "drawer_difference_too_large",
    DrawerNotFound => "drawer_not_found",
    DrawerNotOpen => "drawer_not_open",
    EmailTaken => "email_taken",
    Forbidden => "forbidden",
    FormAlreadySent => "form_already_sent",
    HoldExpiryOutOfRange => "hold_expiry_out_of_range",
    HoldGuardsApproval => "hold_guards_approval",
    HoldNotActive => "hold_not_active",
    HoldNotFound => "hold_not_found",
    HoldsActive => "holds_active",
    IdempotencyKeyInvalid => "idempotency_key_invalid",
    IdempotencyKeyMissing => "idempotency_key_missing",
    IdempotencyKeyReused => "idempotency_key_reused",
    IdentityDocumentTaken => "identity_document_taken",
    IdentityIncomplete => "identity_incomplete",
    InsufficientFunds => "insufficient_funds",
    InternalError => "internal_error",
    InvalidAccountNumber => "invalid_account_number",
    InvalidAmount => "invalid_amount",
    InvalidBatchSize => "invalid_batch_size",
    InvalidCredentials => "invalid_credentials",
    InvalidCurrency => "invalid_currency",
    InvalidCurrentPassword => "invalid_current_password",
    InvalidField => "invalid_field",
    InvalidQuery => "invalid_query",
    InvalidRequest => "invalid_request",
    InvalidSecondFactor => "invalid_second_factor",
    InvalidTimeout => "invalid_timeout",
    MalformedJson => "malformed_json",
    MalformedRequest => "malformed_request",
    NicknameTaken => "nickname_taken",
    NoSignIn => "no_sign_in",
    NoVaultForCurrency => "no_vault_for_currency",
    NotReversible => "not_reversible",
    OwnAccess => "own_access",
    OwnRequest => "own_request",
    PasswordChangeLimit => "password_change_limit",
    PasswordChangeRequired => "password_change_required",
    PasswordReused => "password_reused",
    PayeeNotFound => "payee_not_found",
    PayloadTooLarge => "payload_too_large",
    PendingTransferExpired => "pending_transfer_expired",
    PendingTransferNotFound => "pending_transfer_not_found",
    PendingTransferResolved => "pending_transfer_resolved",
    PortalSessionExists => "portal_session_exists",
    PortalSessionNotFound => "portal_session_not_found",
    RateLimited => "rate_limited",
    ReauthenticationRequired => "reauthentication_required",
    ReversalPending => "reversal_pending",
    RouteNotFound => "route_not_found",
    SameAccount => "same_account",
    ScopeMissing => "scope_missing",
    SecondFactorEnrolmentRequired => "second_factor_enrolment_required",
    SecondFactorThrottled => "second_factor_throttled",
    ServiceCredentialInvalid => "service_credential_invalid",
    ServiceCredentialMissing => "service_credential_missing",
    ServiceUnavailable => "service_unavailable",
    SessionInvalid => "session_invalid",
    SessionRequired => "session_required",
    SignInThrottled => "sign_in_throttled",
    StaffNotFound => "staff_not_found",
    StatementTooLong => "statement_too_long",
    TooManyPayees => "too_many_payees",
    TotpNotPending => "totp_not_pending",
    TransferNotFound => "transfer_not_found",
    UnsupportedMediaType => "unsupported_media_type",
    UsernameTaken => "username_taken",
    VaultCashInsufficient => "vault_cash_insufficient",
    WeakPassword => "weak_password",
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ProblemCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProblemCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(ProblemCode::parse(&text))
    }
}

impl utoipa::PartialSchema for ProblemCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            // The codes of today as examples, not as a closed enumeration: a client generated
            // from the document must still read a refusal whose code was added later.
            .description(Some(
                "A refusal's stable code: branch on it, never on `detail`. The examples list \
                 every code sent today; treat one you do not know as a general refusal, since \
                 codes are added.",
            ))
            .examples(ProblemCode::ALL.iter().map(|code| code.as_str()))
            .into()
    }
}

impl utoipa::ToSchema for ProblemCode {}

#[cfg(test)]
mod tests {
    use super::ProblemCode;

    #[test]
    fn every_code_reads_back_as_itself() {
        for &code in ProblemCode::ALL {
            assert_eq!(ProblemCode::parse(code.as_str()), code);
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(serde_json::from_str::<ProblemCode>(&json).unwrap(), code);
        }
    }

    #[test]
    fn codes_are_unique_lower_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ProblemCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{text} is not lower snake case"
            );
        }
        assert!(!seen.contains("unrecognised"));
    }

    #[test]
    fn an_unknown_code_is_unrecognised_not_an_error() {
        let code: ProblemCode = serde_json::from_str("\"a_code_from_the_future\"").unwrap();
        assert_eq!(code, ProblemCode::Unrecognised);
    }
}
