//! Tellers' cash drawers.

use crate::accounts::EntryResponse;
use std::collections::BTreeMap;

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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenDrawerRequest {
    /// An ISO 4217 code the bank holds: EUR, USD, GBP, CHF or JPY.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// Cash taken from the vault, a decimal string in the currency's decimal places; "0" opens an
    /// empty drawer.
    #[schema(example = "500.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub opening_float: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultTransferRequest {
    pub direction: Direction,
    /// A decimal string with at most the currency's decimal places (2 for EUR, USD, GBP and CHF,
    /// 0 for JPY), greater than zero and at most 1000000000; JSON numbers are refused, so no
    /// amount passes through a float.
    #[schema(example = "500.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseDrawerRequest {
    /// The count: denomination (such as "50.00" or "0.20") to number of pieces.
    pub denominations: BTreeMap<String, u32>,
}

/// Which way cash moves between a drawer and the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Cash from the vault into the drawer.
    ToDrawer,
    /// Cash from the drawer back to the vault.
    ToVault,
}

impl Direction {
    /// The direction whose label is `label` (`to_drawer`, `to_vault`).
    pub fn parse(label: &str) -> Option<Self> {
        match label {
            "to_drawer" => Some(Direction::ToDrawer),
            "to_vault" => Some(Direction::ToVault),
            _ => None,
        }
    }
}
