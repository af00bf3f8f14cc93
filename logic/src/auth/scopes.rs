//! What an internal service's API key may do. A key reaches only the endpoints listed in
//! [`required_scope`], and only with the scope listed there: everything else is refused before a
//! handler runs (deny by default).

use axum::http::Method;

pub use bank_api::admin::Scope;

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
        for &scope in Scope::ALL {
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
