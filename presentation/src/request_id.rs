//! The request id: set (or kept) at the edge, sent to the logic tier with every call, shown on
//! error pages and written in both tiers' logs.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    v.chars()
                        .filter(|c| c.is_ascii_graphic())
                        .take(128)
                        .collect()
                })
                .unwrap_or_default(),
        ))
    }
}
