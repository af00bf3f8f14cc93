//! The device cookie: the token the logic tier gave this browser at its last sign-in. Sent with
//! the next sign-in, it lets the logic tier count that sign-in's failures against this device
//! rather than the username, so someone failing sign-ins under the customer's name elsewhere
//! cannot lock the customer out here. It signs nobody in by itself. HttpOnly, SameSite=Strict,
//! ninety days, and over HTTPS with the `__Host-` prefix (no subdomain or path can set it).

use axum::http::{HeaderMap, HeaderValue, header};

/// As long as the logic tier remembers the device.
const MAX_AGE_S: i64 = 90 * 86_400;
/// A real token is 48 characters; anything longer is not one.
const TOKEN_CHARS_MAX: usize = 100;

fn name(secure: bool) -> &'static str {
    if secure {
        "__Host-bank_device"
    } else {
        "bank_device"
    }
}

/// The device token the browser sent, if it looks like one.
pub fn token(headers: &HeaderMap, secure: bool) -> Option<String> {
    let prefix = format!("{}=", name(secure));
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(prefix.as_str()))
        .find(|token| {
            !token.is_empty()
                && token.len() <= TOKEN_CHARS_MAX
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .map(str::to_owned)
}

/// The `Set-Cookie` value that keeps `token` on this browser.
pub fn set_cookie(token: &str, secure: bool) -> Option<HeaderValue> {
    let secure_attribute = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; Max-Age={MAX_AGE_S}; HttpOnly; SameSite=Strict{secure_attribute}",
        name(secure)
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_round_trips_and_junk_is_ignored() {
        let cookie = set_cookie("bdt_abc-DEF_123", true).unwrap();
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.starts_with("__Host-bank_device=bdt_abc-DEF_123; Path=/;"));
        assert!(cookie.contains("HttpOnly") && cookie.contains("Secure"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("bank_session=x; __Host-bank_device=bdt_abc-DEF_123"),
        );
        assert_eq!(token(&headers, true).as_deref(), Some("bdt_abc-DEF_123"));
        // Without TLS the cookie has no prefix, and a prefixed one is not read.
        assert_eq!(token(&headers, false), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-bank_device=bdt_<script>"),
        );
        assert_eq!(token(&headers, true), None);
    }
}
