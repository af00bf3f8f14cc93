//! The logic tier's answers, as this tier reads them. Amounts stay the decimal strings the logic
//! tier formatted in their currency's scale; where the portal computes, it parses them as
//! `rust_decimal::Decimal`, never as floats.

use serde::Deserialize;

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
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountList {
    pub accounts: Vec<Account>,
}

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
}

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
}

#[derive(Debug, Clone, Deserialize)]
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
