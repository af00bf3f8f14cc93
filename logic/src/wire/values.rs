//! The values of the data tier's enumerations as the API document lists them. The `data` crate
//! knows nothing of OpenAPI, so each enumeration is mirrored here for the document only; the
//! integration test `the_documented_values_are_the_databases` compares every one with the labels
//! of its PostgreSQL type, so the two cannot drift apart unnoticed.

#![allow(
    dead_code,
    reason = "these enumerations exist for their schemas: no value of them is ever built"
)]

use utoipa::ToSchema;

/// What a transfer is.
#[derive(ToSchema)]
#[schema(as = TransferKind, rename_all = "snake_case")]
pub enum TransferKindValues {
    Transfer,
    CashDeposit,
    CashWithdrawal,
    OpeningCash,
    Reversal,
    DrawerTransfer,
    OverShort,
}

#[derive(ToSchema)]
#[schema(as = TransferStatus, rename_all = "snake_case")]
pub enum TransferStatusValues {
    Posted,
}

#[derive(ToSchema)]
#[schema(as = AccountKind, rename_all = "snake_case")]
pub enum AccountKindValues {
    Customer,
    Internal,
}

#[derive(ToSchema)]
#[schema(as = AccountStatus, rename_all = "snake_case")]
pub enum AccountStatusValues {
    Open,
    Frozen,
    Closed,
}

#[derive(ToSchema)]
#[schema(as = Product, rename_all = "snake_case")]
pub enum ProductValues {
    Current,
    Savings,
}

/// What a freeze stops: every movement, money going out, or money coming in.
#[derive(ToSchema)]
#[schema(as = FreezeScope, rename_all = "snake_case")]
pub enum FreezeScopeValues {
    All,
    Debits,
    Credits,
}

#[derive(ToSchema)]
#[schema(as = Role, rename_all = "snake_case")]
pub enum RoleValues {
    Customer,
    Teller,
    Supervisor,
    Admin,
    Service,
}

/// The roles of staff: those a member of staff may be given.
#[derive(ToSchema)]
#[schema(as = StaffRole, rename_all = "snake_case")]
pub enum StaffRoleValues {
    Teller,
    Supervisor,
    Admin,
}

#[derive(ToSchema)]
#[schema(as = ApprovalKind, rename_all = "snake_case")]
pub enum ApprovalKindValues {
    CashDeposit,
    CashWithdrawal,
    Transfer,
    Reversal,
    OverdraftLimit,
}

#[derive(ToSchema)]
#[schema(as = ApprovalStatus, rename_all = "snake_case")]
pub enum ApprovalStatusValues {
    Pending,
    Approved,
    Rejected,
    Expired,
}

#[derive(ToSchema)]
#[schema(as = PendingStatus, rename_all = "snake_case")]
pub enum PendingStatusValues {
    Pending,
    Posted,
    Voided,
}

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
