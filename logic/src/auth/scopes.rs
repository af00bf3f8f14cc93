//! What an internal service's API key may do. A key reaches only the endpoints listed in
//! [`required_scope`], and only with the scope listed there: everything else is refused before a
//! handler runs (deny by default).

use axum::http::Method;
use serde::{Deserialize, Serialize};

/// A permission an admin grants an API key.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum Scope {
    #[serde(rename = "accounts:read")]
    AccountsRead,
    #[serde(rename = "accounts:write")]
    AccountsWrite,
    #[serde(rename = "customers:read")]
    CustomersRead,
    #[serde(rename = "customers:write")]
    CustomersWrite,
    #[serde(rename = "transfers:read")]
    TransfersRead,
    #[serde(rename = "transfers:write")]
    TransfersWrite,
    #[serde(rename = "events:read")]
    EventsRead,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::AccountsRead,
        Scope::AccountsWrite,
        Scope::CustomersRead,
        Scope::CustomersWrite,
        Scope::TransfersRead,
        Scope::TransfersWrite,
        Scope::EventsRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AccountsRead => "accounts:read",
            Scope::AccountsWrite => "accounts:write",
            Scope::CustomersRead => "customers:read",
            Scope::CustomersWrite => "customers:write",
            Scope::TransfersRead => "transfers:read",
            Scope::TransfersWrite => "transfers:write",
            Scope::EventsRead => "events:read",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scope::AccountsRead => "read any customer account, its balance and its entries",
            Scope::AccountsWrite => "open accounts for customers",
            Scope::CustomersRead => "search and read customers",
            Scope::CustomersWrite => "onboard customers and correct their details",
            Scope::TransfersRead => "read transfers, pending transfers and batches",
            Scope::TransfersWrite => "move money: transfers, two-phase transfers and batches",
            Scope::EventsRead => "read the event feed",
        }
    }
}

/// The scope an API key needs for `method` on the route `path` (as routed, with `{…}`
/// placeholders, without the `/v1` prefix); `None` when API keys may not call it at all.
pub fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    let scope = match (method.as_str(), path) {
        ("GET", "/accounts" | "/accounts/{number}" | "/accounts/{number}/entries") => {
            Scope::AccountsRead
        }
        ("POST", "/accounts") => Scope::AccountsWrite,
        ("GET", "/customers" | "/customers/{id}") => Scope::CustomersRead,
        ("POST", "/customers") | ("PATCH", "/customers/{id}") => Scope::CustomersWrite,
        (
            "GET",
            "/transfers"
            | "/transfers/{id}"
            | "/pending-transfers"
            | "/pending-transfers/{id}"
            | "/transfer-batches/{id}",
        ) => Scope::TransfersRead,
        (
            "POST",
            "/transfers"
            | "/pending-transfers"
            | "/pending-transfers/{id}/post"
            | "/pending-transfers/{id}/void"
            | "/transfer-batches",
        ) => Scope::TransfersWrite,
        ("GET", "/events") => Scope::EventsRead,
        _ => return None,
    };
    Some(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_names() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("admin:all"), None);
    }

    #[test]
    fn staff_endpoints_are_closed_to_keys() {
        assert_eq!(required_scope(&Method::GET, "/audit"), None);
        assert_eq!(
            required_scope(&Method::POST, "/approvals/{id}/approve"),
            None
        );
        assert_eq!(required_scope(&Method::POST, "/cash/deposits"), None);
        assert_eq!(
            required_scope(&Method::POST, "/transfers"),
            Some(Scope::TransfersWrite)
        );
        assert_eq!(required_scope(&Method::DELETE, "/transfers"), None);
    }
}
