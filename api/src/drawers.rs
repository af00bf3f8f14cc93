//! Tellers' cash drawers.

use crate::accounts::EntryResponse;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

values! {
    DrawerState {
        Open = "open",
        Closed = "closed",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawerResponse {
    pub id: Uuid,
    pub teller: String,
    pub account: String,
    pub currency: String,
    pub state: DrawerState,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    pub opening_float: String,
    /// The cash the ledger says is in the drawer now (zero once closed).
    pub position: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub counted: Option<String>,
    /// Counted less expected: positive over, negative short.
    pub difference: Option<String>,
    pub denominations: Option<serde_json::Value>,
    /// On single reads, the drawer's latest 200 movements, newest first; every one of them, a page
    /// at a time, at `GET /v1/accounts/{account}/entries`.
    #[serde(default)]
    pub entries: Vec<EntryResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawerListResponse {
    pub drawers: Vec<DrawerResponse>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}
