//! Cross-cutting protections: CSRF checks and single-use form tokens on every state-changing
//! request, and the security headers every response carries.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tower_sessions::Session;

use crate::error::{ErrorPage, PageError};
use crate::logic::{Caller, LogicError};
use crate::session::Auth;
use crate::state::AppState;

/// Largest form body the CSRF check reads; every form of the portal is far smaller.
const FORM_MAX_BYTES: usize = 16 * 1024;
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Posts that are never single-use: signing in and out (repeating them does no harm, and before
/// sign-in there is nobody to record the form for), and checking a keyed action's unknown
/// outcome, which changes nothing and must work while the logic tier cannot record a form.
const REPEATABLE_POSTS: [&str; 4] = ["/sign-in", "/sign-in/code", "/sign-out", "/staff/outcome"];
/// A form of a keyed route (below) that carries this field moves money under its own idempotency
/// key, which already makes a repeat answer as the first sending did (the receipt), so its token
/// is not single-use.
const IDEMPOTENCY_FIELD: &str = "idempotency_key";

/// The routes whose handlers send their form's `idempotency_key` to the logic tier: the
/// transfer's steps, cash at the counter, a reversal and the drawer's moves. Anywhere else the
/// field means nothing, and does not lift the single-use rule.
fn keyed_route(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        segments.as_slice(),
        ["transfer", "review" | "edit" | "confirm" | "status"]
            | ["staff", "accounts", _, "cash"]
            | ["staff", "accounts", _, "reverse", _]
            | ["staff", "drawer", "open"]
            | ["staff", "drawer", _, "vault" | "close"]
    )
}

/// Longest page address a form token carries back; a longer one is cut to its path, or to the
/// site's root, so no address makes every form of its page heavy.
const PAGE_MAX_BYTES: usize = 512;

/// The page a form was rendered on, from its token: a form sent again is pointed back there, and
/// a form shown again with its errors keeps it.
#[derive(Debug, Clone)]
pub struct FormOrigin(pub String);

/// The token a form of a signed-in page carries in `csrf_token`: the session's CSRF token, then a
/// single-use nonce fresh for each page shown, then the page's own address (base64url), dot
/// separated. The CSRF part proves the form is the portal's; the nonce lets it act once.
pub fn form_token(csrf: &str, page: &str) -> String {
    let page = if page.len() <= PAGE_MAX_BYTES {
        page
    } else {
        page.split('?')
            .next()
            .filter(|path| path.len() <= PAGE_MAX_BYTES)
            .unwrap_or("/")
    };
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).expect("the operating system's random source");
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{csrf}.{}.{}",
        engine.encode(nonce),
        engine.encode(page.as_bytes())
    )
}

/// A presented token split into its CSRF part, nonce and page (the last two when present; a page
/// that is not a plain path on this site is dropped).
fn split_token(presented: &str) -> (&str, Option<&str>, Option<String>) {
    let mut parts = presented.splitn(3, '.');
    let csrf = parts.next().unwrap_or_default();
    let nonce = parts.next().filter(|n| !n.is_empty());
    let page = parts
        .next()
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|p| String::from_utf8(p).ok())
        .filter(|p| is_local_path(p));
    (csrf, nonce, page)
}

/// A path on this site: `/…`, never `//host` or a backslash a browser might read as one.
fn is_local_path(page: &str) -> bool {
    page.starts_with('/')
        && !page.starts_with("//")
        && !page.contains('\\')
        && !page.chars().any(char::is_control)
}

/// Refuses a state-changing request unless it comes from the portal's own pages: the browser's
/// `Sec-Fetch-Site` (when sent) says same-origin, and the session's CSRF token comes back in the
/// `csrf_token` form field or the `X-CSRF-Token` header (htmx).
///
/// A signed-in user's form acts once: its token's nonce, with the form's action, is recorded by the logic tier (atomically,
/// whichever portal instance the form reaches), and a form sent again (a double click with
/// JavaScript off, Back and send) is answered with a page that says so and links back to where it
/// came from, without reaching its handler.
pub async fn verify_csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let refused = || StatusCode::FORBIDDEN.into_response();
    if let Some(site) = request.headers().get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return refused();
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return refused();
    };
    let Ok(Some(expected)) = session.get::<String>("csrf").await else {
        return refused();
    };
    let from_header = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_MAX_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let from_form = url::form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.into_owned());
    let presented = from_header.or(from_form).unwrap_or_default();
    let (csrf, nonce, page) = split_token(&presented);
    if !constant_time_eq(csrf.as_bytes(), expected.as_bytes()) {
        tracing::warn!(path = %parts.uri.path(), "refused a request without a valid CSRF token");
        return refused();
    }
    let mut parts = parts;
    if let Some(page) = &page {
        parts.extensions.insert(FormOrigin(page.clone()));
    }
    let keyed = keyed_route(parts.uri.path())
        && url::form_urlencoded::parse(&bytes).any(|(name, _)| name == IDEMPOTENCY_FIELD);
    let single_use = !REPEATABLE_POSTS.contains(&parts.uri.path()) && !keyed;
    if single_use && let Ok(Some(auth)) = session.get::<Auth>(crate::session::AUTH_KEY).await {
        let Some(nonce) = nonce else {
            tracing::warn!(path = %parts.uri.path(), "refused a signed-in form without its single-use token");
            return refused();
        };
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let caller = Caller {
            token: Some(&auth.token),
            request_id,
        };
        // One page's forms share its nonce: what is recorded is the nonce with the form's own
        // action, so each form on the page acts once, and another form of it still can.
        let submission = {
            use sha2::Digest;
            let digest = sha2::Sha256::new()
                .chain_update(nonce.as_bytes())
                .chain_update(b"\n")
                .chain_update(parts.uri.path().as_bytes())
                .finalize();
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        };
        match state
            .logic
            .record_form_submission(caller, &submission)
            .await
        {
            Ok(()) => {}
            Err(LogicError::Problem(problem))
                if problem.code == bank_api::ProblemCode::FormAlreadySent =>
            {
                tracing::info!(path = %parts.uri.path(), "a form was sent again; not acted on");
                return already_sent(page);
            }
            Err(error) => return PageError::from(error).into_response(),
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The answer to a form sent a second time: nothing was done again; the page it came from shows
/// where things stand.
fn already_sent(page: Option<String>) -> Response {
    let mut response = StatusCode::CONFLICT.into_response();
    response.extensions_mut().insert(ErrorPage {
        title: "This form was already sent",
        message: "You sent this form once already, so it was not acted on again: nothing was done twice. The page it came from shows where things stand now.",
        back_to: Some(page.unwrap_or_else(|| "/".to_owned())),
    });
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The Content-Security-Policy: everything from this origin, no inline script or style at all.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Gives each request one budget for all its calls to the logic tier, the session's own
/// included (`logic::within_page_budget`).
pub async fn page_budget(
    State(budget): State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    crate::logic::within_page_budget(budget, next.run(request)).await
}

/// Security headers on every response; pages (everything outside `/static`) are never cached,
/// since they show money.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Browsers heed it only over HTTPS (RFC 6797), so it is sent whatever the transport.
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if is_static {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_tokens_carry_a_fresh_nonce_and_their_page() {
        let first = super::form_token("csrf", "/staff/customers/1?notice=saved");
        let second = super::form_token("csrf", "/staff/customers/1?notice=saved");
        assert_ne!(first, second);
        let (csrf, nonce, page) = super::split_token(&first);
        assert_eq!(csrf, "csrf");
        assert_eq!(nonce.unwrap().len(), 22);
        assert_eq!(page.as_deref(), Some("/staff/customers/1?notice=saved"));
        assert_eq!(super::split_token("csrf"), ("csrf", None, None));
    }

    #[test]
    fn only_the_money_routes_keep_their_own_key() {
        for keyed in [
            "/transfer/confirm",
            "/transfer/edit",
            "/staff/accounts/1234567890/cash",
            "/staff/accounts/1234567890/reverse/abc",
            "/staff/drawer/open",
            "/staff/drawer/42/close",
        ] {
            assert!(super::keyed_route(keyed), "{keyed}");
        }
        for plain in [
            "/payees",
            "/staff/customers/1/accounts",
            "/staff/admin/staff",
            "/transfer",
        ] {
            assert!(!super::keyed_route(plain), "{plain}");
        }
    }

    #[test]
    fn a_long_address_is_not_carried_in_every_form() {
        let long_query = format!("/payees?x={}", "a".repeat(9000));
        let token = super::form_token("csrf", &long_query);
        assert_eq!(super::split_token(&token).2.as_deref(), Some("/payees"));
        let long_path = format!("/{}", "a".repeat(9000));
        let token = super::form_token("csrf", &long_path);
        assert_eq!(super::split_token(&token).2.as_deref(), Some("/"));
        assert!(token.len() < 100);
    }

    #[test]
    fn a_form_token_points_back_only_to_this_site() {
        for page in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "/a\nb",
            "",
        ] {
            let token = super::form_token("csrf", page);
            assert_eq!(super::split_token(&token).2, None, "{page:?}");
        }
        assert_eq!(super::split_token("csrf.nonce.!!!").2, None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"abcd"));
        assert!(!super::constant_time_eq(b"", b"a"));
    }
}
