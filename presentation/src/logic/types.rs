//! The logic tier's answers, as this tier reads them. Amounts stay the decimal strings the logic
//! tier formatted in their currency's scale; where the portal computes, it parses them as
//! `rust_decimal::Decimal`, never as floats.

use serde::Deserialize;

/// Lists read a page at a time: `next_cursor` leads to the next page.
macro_rules! paged {
    ($list:ident, $field:ident, $item:ident) => {
        impl super::Page for $list {
            type Item = $item;
            fn into_parts(self) -> (Vec<$item>, Option<String>) {
                (self.$field, self.next_cursor)
            }
        }
    };
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: String,
    pub customer_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub token: String,
    pub expires_at: String,
    /// A new token for this browser's device cookie.
    #[serde(default)]
    pub device_token: Option<String>,
    pub user: User,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Challenge {
    pub challenge: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub user: User,
    pub totp_enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub number: String,
    pub name: String,
    pub product: Option<String>,
    pub currency: String,
    pub status: String,
    pub ledger_balance: String,
    pub available_balance: String,
    pub held_amount: String,
    pub overdraft_limit: String,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub freeze_scope: Option<String>,
    #[serde(default)]
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountList {
    pub accounts: Vec<Account>,
    pub next_cursor: Option<String>,
}

paged!(AccountList, accounts, Account);

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub transfer_id: String,
    pub kind: String,
    pub amount: String,
    pub balance_after: String,
    pub counterparty_account: String,
    pub memo: String,
    pub posted_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct History {
    pub entries: Vec<Entry>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Statement {
    pub account: String,
    pub account_name: String,
    pub currency: String,
    pub from: String,
    pub to: String,
    pub opening_balance: String,
    pub closing_balance: String,
    pub total_in: String,
    pub total_out: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transfer {
    pub id: String,
    pub amount: String,
    pub currency: String,
    pub debit_account: String,
    pub credit_account: String,
    pub memo: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Payee {
    pub id: String,
    pub nickname: String,
    pub account_number: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PayeeList {
    pub payees: Vec<Payee>,
    pub next_cursor: Option<String>,
}

paged!(PayeeList, payees, Payee);

#[derive(Debug, Clone, Deserialize)]
pub struct SessionInfo {
    pub current: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
    pub next_cursor: Option<String>,
}

paged!(SessionList, sessions, SessionInfo);

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClusterMember {
    pub name: String,
    pub role: String,
    pub state: String,
    pub address: String,
    pub lag_bytes: Option<u64>,
    pub timeline: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cluster {
    pub reachable: bool,
    pub members: Vec<ClusterMember>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomerProfile {
    pub id: String,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<String>,
    pub username: Option<String>,
    pub created_at: String,
    pub address: Option<String>,
    pub id_document: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomerList {
    pub customers: Vec<CustomerProfile>,
    pub next_cursor: Option<String>,
}

paged!(CustomerList, customers, CustomerProfile);

#[derive(Debug, Clone, Deserialize)]
pub struct Activity {
    pub account: String,
    pub currency: String,
    pub transfer_id: String,
    pub kind: String,
    pub amount: String,
    pub counterparty_account: String,
    pub memo: String,
    pub posted_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActivityList {
    pub entries: Vec<Activity>,
    pub next_cursor: Option<String>,
}

paged!(ActivityList, entries, Activity);

#[derive(Debug, Clone, Deserialize)]
pub struct Approval {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub maker: String,
    pub checker: Option<String>,
    pub account: String,
    pub customer_id: Option<String>,
    pub customer_name: Option<String>,
    pub summary: String,
    pub reason: String,
    pub transfer_id: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub decision_note: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApprovalList {
    pub approvals: Vec<Approval>,
    pub next_cursor: Option<String>,
}

paged!(ApprovalList, approvals, Approval);

#[derive(Debug, Clone, Deserialize)]
pub struct Hold {
    pub id: String,
    pub amount: String,
    pub currency: String,
    pub reason: String,
    pub state: String,
    pub placed_by: Option<String>,
    pub expires_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HoldList {
    pub holds: Vec<Hold>,
    pub next_cursor: Option<String>,
}

paged!(HoldList, holds, Hold);

#[derive(Debug, Clone, Deserialize)]
pub struct Drawer {
    pub id: String,
    pub teller: String,
    pub account: String,
    pub currency: String,
    pub state: String,
    pub opened_at: String,
    pub opening_float: String,
    pub position: String,
    pub closed_at: Option<String>,
    pub counted: Option<String>,
    pub difference: Option<String>,
    #[serde(default)]
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DrawerList {
    pub drawers: Vec<Drawer>,
    pub next_cursor: Option<String>,
}

paged!(DrawerList, drawers, Drawer);

#[derive(Debug, Clone, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub occurred_at: String,
    pub actor: Option<String>,
    pub actor_service: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditList {
    pub records: Vec<AuditRecord>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Verification {
    pub audit_records_checked: i64,
    pub audit_chain_broken_at: Option<i64>,
    pub transfers_unbalanced: Vec<String>,
    pub accounts_mismatched: Vec<String>,
    pub intact: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StaffMember {
    pub id: String,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub last_sign_in: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StaffList {
    pub staff: Vec<StaffMember>,
    pub next_cursor: Option<String>,
}

paged!(StaffList, staff, StaffMember);

#[derive(Debug, Clone, Deserialize)]
pub struct CurrencyLimits {
    pub currency: String,
    pub approval_threshold: String,
    pub daily_transfer_limit: String,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Limits {
    pub currencies: Vec<CurrencyLimits>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DailyLimit {
    pub currency: String,
    pub daily_limit: String,
    pub own: bool,
    pub used_today: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DailyLimitList {
    pub limits: Vec<DailyLimit>,
}
