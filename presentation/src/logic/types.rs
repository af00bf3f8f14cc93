//! The logic tier's answers as this tier reads them: the contract's own types ([`bank_api`]),
//! under the short names the pages use. Amounts stay the decimal strings the logic tier formatted
//! in their currency's scale; where the portal computes, it parses them as
//! `rust_decimal::Decimal`, never as floats.

pub use bank_api::accounts::{
    AccountListResponse as AccountList, AccountResponse as Account, AccountStatus,
    ActivityListResponse as ActivityList, ActivityResponse as Activity,
    DailyLimitListResponse as DailyLimitList, DailyLimitResponse as DailyLimit,
    EntryResponse as Entry, FreezeScope, HistoryResponse as History, HoldListResponse as HoldList,
    HoldResponse as Hold, HoldState, StatementResponse as Statement,
};
pub use bank_api::admin::{
    CurrencyLimitsResponse as CurrencyLimits, LimitsResponse as Limits,
    StaffListResponse as StaffList, StaffResponse as StaffMember,
};
pub use bank_api::approvals::{
    ApprovalListResponse as ApprovalList, ApprovalResponse as Approval, ApprovalStatus,
};
pub use bank_api::audit::{
    AuditListResponse as AuditList, AuditRecordResponse as AuditRecord,
    VerificationResponse as Verification,
};
pub use bank_api::cluster::{ClusterMember, ClusterResponse as Cluster};
pub use bank_api::customers::{
    CustomerListResponse as CustomerList, CustomerResponse as CustomerProfile,
    SignInResetResponse as SignInReset,
};
pub use bank_api::drawers::{
    DrawerListResponse as DrawerList, DrawerResponse as Drawer, DrawerState,
};
pub use bank_api::payees::{PayeeListResponse as PayeeList, PayeeResponse as Payee};
pub use bank_api::sessions::{
    RecoveryCodesResponse as RecoveryCodes, Role, SecondFactorChallenge as Challenge,
    SecurityActivity, SecurityActivityKind, SecurityActivityListResponse as SecurityActivityList,
    SessionInfo, SessionListResponse as SessionList, SessionResponse as Session,
    TotpEnrolmentResponse as TotpEnrolment, UserResponse as User, WhoAmIResponse as Me,
};
pub use bank_api::transfers::{TransferKind, TransferResponse as Transfer};
