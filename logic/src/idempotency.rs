//! Idempotency keys: what a client may send as one, and claiming one inside a unit of work so
//! that the same request under the same key is answered from the stored response.

use axum::http::StatusCode;
use bank_api::ProblemCode;
use data::PgConnection;
use data::idempotency::Claim;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

/// Longest idempotency key accepted. A UUID is 36 characters; 128 leaves room for a client's own
/// scheme while keeping the index small.
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 128;

/// A client's idempotency key: 1 to 128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let valid = !text.is_empty()
            && text.len() <= IDEMPOTENCY_KEY_MAX_LEN
            && text.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(ApiError::BadRequest {
                code: ProblemCode::IdempotencyKeyInvalid,
                detail: format!(
                    "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LEN} visible ASCII characters"
                ),
            });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The response to a money-moving request, fresh or replayed.
#[derive(Debug)]
pub struct Outcome {
    pub status: StatusCode,
    pub body: Value,
    /// True when the key had been used before and this is the stored response.
    pub replayed: bool,
}

/// The outcome of claiming an idempotency key inside a unit of work.
pub enum Claimed {
    /// The key is this transaction's; the work must be done. Carries the transaction's `now()`.
    Fresh(time::OffsetDateTime),
    /// The key was used before for the same request: this is the stored response.
    Replay(Outcome),
}

/// Claims `key` for `principal` inside the caller's transaction. The same key with a different
/// request is refused.
pub async fn claim(
    conn: &mut PgConnection,
    principal: Uuid,
    key: &IdempotencyKey,
    request_hash: &[u8],
) -> Result<Claimed, ApiError> {
    match data::idempotency::claim(conn, principal, key.as_str(), request_hash).await? {
        Claim::Claimed { now } => Ok(Claimed::Fresh(now)),
        Claim::Completed(record) => {
            if record.request_hash != request_hash {
                return Err(ApiError::Conflict {
                    code: ProblemCode::IdempotencyKeyReused,
                    detail: "this Idempotency-Key was already used for a different request".into(),
                });
            }
            let status = u16::try_from(record.response_status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::CREATED);
            Ok(Claimed::Replay(Outcome {
                status,
                body: record.response_body,
                replayed: true,
            }))
        }
    }
}
