//! What the API sends, made from what the database holds. The bodies are the contract's
//! ([`bank_api`]), re-exported here; this module converts the data tier's rows and enumerations
//! into them. Every enumeration is converted by an exhaustive match, so a value added to the
//! database cannot reach the wire unmapped. Amounts are decimal strings in their currency's scale,
//! times are RFC 3339, ids are UUIDs.

use bank_api::accounts::HoldState;
use bank_api::drawers::DrawerState;
use data::accounts::{AccountRow, NormalSide};
use data::transfers::EntryRow;
use rust_decimal::Decimal;
use time::OffsetDateTime;

use bank_api::ProblemCode;

use crate::domain::money::format_in_scale;
use crate::error::ApiError;

pub use bank_api::accounts::{
    AccountListResponse, AccountResponse, ActivityListResponse, ActivityResponse,
    DailyLimitListResponse, DailyLimitResponse, EntryResponse, HistoryResponse, HoldListResponse,
    HoldResponse, StatementResponse,
};
pub use bank_api::admin::{
    ApiKeyListResponse, ApiKeyResponse, ApiKeySecretResponse, CurrencyLimitsResponse,
    LimitsResponse, StaffListResponse, StaffResponse,
};
pub use bank_api::approvals::{ApprovalListResponse, ApprovalResponse};
pub use bank_api::audit::{AuditListResponse, AuditRecordResponse, VerificationResponse};
pub use bank_api::customers::{CustomerListResponse, CustomerResponse};
pub use bank_api::drawers::{DrawerListResponse, DrawerResponse};
pub use bank_api::events::{EventPage, EventResponse};
pub use bank_api::payees::{PayeeListResponse, PayeeResponse};
pub use bank_api::sessions::{
    PortalSessionRecord, RecoveryCodesResponse, SecondFactorChallenge, SessionInfo,
    SessionListResponse, SessionResponse, StepUpThreshold, StepUpThresholdListResponse,
    TotpEnrolmentResponse, UserResponse, WhoAmIResponse,
};
pub use bank_api::transfers::{
    BatchResponse, PendingTransferListResponse, PendingTransferResponse, TransferResponse,
};

/// A conversion from what the data tier holds into what the API sends: `From`, for types of two
/// other crates (the orphan rule keeps `From` itself off them).
pub trait FromData<T> {
    fn from_data(value: T) -> Self;
}

/// [`FromData`] seen from the other side, as `Into` is to `From`.
pub trait IntoWire<T> {
    fn into_wire(self) -> T;
}

impl<S, T: FromData<S>> IntoWire<T> for S {
    fn into_wire(self) -> T {
        T::from_data(self)
    }
}

/// The data tier's enumeration `$from` as the contract's `$to`: every value by name, so that a
/// value added to one and not the other fails to compile.
macro_rules! same_values {
    ($($from:ident)::+ => $($to:ident)::+ { $($variant:ident),+ $(,)? }) => {
        impl FromData<$($from)::+> for $($to)::+ {
            fn from_data(value: $($from)::+) -> Self {
                use $($from)::+ as Source;
                match value {
                    $(Source::$variant => Self::$variant,)+
                }
            }
        }
    };
}

same_values!(data::transfers::TransferKind => bank_api::transfers::TransferKind {
    Transfer, CashDeposit, CashWithdrawal, OpeningCash, Reversal, DrawerTransfer, OverShort,
});
same_values!(data::transfers::TransferStatus => bank_api::transfers::TransferStatus { Posted });
same_values!(data::pending::PendingStatus => bank_api::transfers::PendingStatus {
    Pending, Posted, Voided,
});
same_values!(data::accounts::AccountKind => bank_api::accounts::AccountKind { Customer, Internal });
same_values!(data::accounts::AccountStatus => bank_api::accounts::AccountStatus {
    Open, Frozen, Closed,
});
same_values!(data::accounts::Product => bank_api::accounts::Product { Current, Savings });
same_values!(data::accounts::FreezeScope => bank_api::accounts::FreezeScope {
    All, Debits, Credits,
});
same_values!(data::users::Role => bank_api::sessions::Role {
    Customer, Teller, Supervisor, Admin, Service,
});
same_values!(data::approvals::ApprovalKind => bank_api::approvals::ApprovalKind {
    CashDeposit, CashWithdrawal, Transfer, Reversal, OverdraftLimit,
});
same_values!(data::approvals::ApprovalStatus => bank_api::approvals::ApprovalStatus {
    Pending, Approved, Rejected, Expired,
});

/// The contract's value of an enumeration a request carries, as the data tier holds it. The
/// catch-all (a value this build does not know) is refused, naming the field.
macro_rules! known_values {
    ($name:ident: $($to:ident)::+ => $($from:ident)::+, $field:literal, $detail:literal { $($variant:ident),+ $(,)? }) => {
        pub fn $name(value: $($from)::+) -> Result<$($to)::+, ApiError> {
            use $($from)::+ as Source;
            use $($to)::+ as Target;
            match value {
                $(Source::$variant => Ok(Target::$variant),)+
                Source::Unknown => Err(ApiError::invalid(ProblemCode::InvalidField, $field, $detail)),
            }
        }
    };
}

known_values!(product: data::accounts::Product => bank_api::accounts::Product,
    "product", "the product is current or savings" { Current, Savings });
known_values!(freeze_scope: data::accounts::FreezeScope => bank_api::accounts::FreezeScope,
    "scope", "a freeze stops all, debits or credits" { All, Debits, Credits });
known_values!(staff_role: data::users::Role => bank_api::admin::StaffRole,
    "role", "a member of staff is a teller, a supervisor or an admin" { Teller, Supervisor, Admin });

/// Each documented enumeration's schema name and the PostgreSQL type whose labels it lists.
pub const DATABASE_TYPES: [(&str, &str); 10] = [
    ("TransferKind", "transfer_kind"),
    ("TransferStatus", "transfer_status"),
    ("AccountKind", "account_kind"),
    ("AccountStatus", "account_status"),
    ("Product", "account_product"),
    ("FreezeScope", "freeze_scope"),
    ("Role", "user_role"),
    ("ApprovalKind", "approval_kind"),
    ("ApprovalStatus", "approval_status"),
    ("PendingStatus", "pending_transfer_status"),
];

impl FromData<&data::transfers::TransferRow> for TransferResponse {
    fn from_data(row: &data::transfers::TransferRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind.into_wire(),
            status: row.status.into_wire(),
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

/// An account's balance seen from its holder's side: credit-normal accounts as stored, the
/// debit-normal vault with its sign turned so that cash on hand is positive.
pub fn position(normal_side: NormalSide, balance: Decimal) -> Decimal {
    match normal_side {
        NormalSide::Credit => balance,
        NormalSide::Debit => -balance,
    }
}

/// What an account can pay out now: its balance less its holds, plus any overdraft allowed.
pub fn available(row: &AccountRow) -> Decimal {
    position(row.normal_side, row.balance) - row.held + row.overdraft_limit
}

impl FromData<&AccountRow> for AccountResponse {
    fn from_data(row: &AccountRow) -> Self {
        let ledger = position(row.normal_side, row.balance);
        let available = available(row);
        Self {
            id: row.id,
            number: row.number.clone(),
            name: row.name.clone(),
            kind: row.kind.into_wire(),
            product: row.product.map(IntoWire::into_wire),
            customer_id: row.customer_id,
            currency: row.currency.clone(),
            status: row.status.into_wire(),
            ledger_balance: format_in_scale(ledger, &row.currency),
            available_balance: format_in_scale(available, &row.currency),
            held_amount: format_in_scale(row.held, &row.currency),
            overdraft_limit: format_in_scale(row.overdraft_limit, &row.currency),
            opened_at: row.created_at,
            freeze_scope: row.freeze_scope.map(IntoWire::into_wire),
            status_reason: row.status_reason.clone(),
        }
    }
}

/// The other side of an entry, named as a person reading a statement would expect.
fn counterparty_name(row: &EntryRow) -> String {
    use data::accounts::InternalLedger;
    match (row.counterparty_ledger, &row.counterparty_holder) {
        (Some(InternalLedger::TellerDrawer), _) => "Cash at the branch".to_owned(),
        (Some(InternalLedger::VaultCash), _) => "Branch vault".to_owned(),
        (Some(InternalLedger::Capital), _) => "Bank capital".to_owned(),
        (Some(InternalLedger::OverShort), _) => "Cash count difference".to_owned(),
        _ if row.counterparty_same_holder => row.counterparty_account_name.clone(),
        (None, Some(holder)) => holder.clone(),
        (None, None) => row.counterparty_account_name.clone(),
    }
}

/// An entry as its account's holder sees it.
pub fn entry(row: &EntryRow, normal_side: NormalSide, currency: &str) -> EntryResponse {
    EntryResponse {
        id: row.id,
        transfer_id: row.transfer_id,
        kind: row.kind.into_wire(),
        amount: format_in_scale(position(normal_side, row.amount), currency),
        balance_after: format_in_scale(position(normal_side, row.balance_after), currency),
        counterparty_account: (row.counterparty_kind == data::accounts::AccountKind::Customer)
            .then(|| row.counterparty_number.clone()),
        counterparty_name: counterparty_name(row),
        counterparty_own: row.counterparty_same_holder,
        memo: row.memo.clone(),
        posted_at: row.posted_at,
    }
}

impl FromData<data::customers::CustomerRow> for CustomerResponse {
    fn from_data(row: data::customers::CustomerRow) -> Self {
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
            // The column's check allows only the contract's kinds.
            id_document_kind: row
                .id_document_kind
                .as_deref()
                .and_then(bank_api::customers::DocumentKind::parse),
            id_document_country: row.id_document_country,
            id_document_expires: row.id_document_expires,
        }
    }
}

impl FromData<&data::approvals::ApprovalRow> for ApprovalResponse {
    fn from_data(row: &data::approvals::ApprovalRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind.into_wire(),
            status: row.status.into_wire(),
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

/// A hold on `account`, with its state at `now`.
pub fn hold(row: &data::holds::HoldRow, account: &AccountRow, now: OffsetDateTime) -> HoldResponse {
    let state = match row.released_at {
        Some(_) => HoldState::Released,
        None if row.expires_at <= now => HoldState::Expired,
        None => HoldState::Active,
    };
    HoldResponse {
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

impl FromData<&data::drawers::DrawerRow> for DrawerResponse {
    fn from_data(row: &data::drawers::DrawerRow) -> Self {
        let format = |value| format_in_scale(value, &row.currency);
        Self {
            id: row.id,
            teller: row.teller_username.clone(),
            account: row.account_number.clone(),
            currency: row.currency.clone(),
            state: if row.closed_at.is_some() {
                DrawerState::Closed
            } else {
                DrawerState::Open
            },
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

impl FromData<data::audit::AuditRow> for AuditRecordResponse {
    fn from_data(row: data::audit::AuditRow) -> Self {
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

impl FromData<&data::users::StaffRow> for StaffResponse {
    fn from_data(row: &data::users::StaffRow) -> Self {
        Self {
            id: row.id,
            username: row.username.clone(),
            role: row.role.into_wire(),
            disabled: row.disabled,
            totp_enabled: row.totp_enabled,
            created_at: row.created_at,
            last_sign_in: row.last_sign_in,
        }
    }
}
