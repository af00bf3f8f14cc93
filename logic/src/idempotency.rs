//! Idempotency keys: what a client may send as one, and claiming one inside a unit of work so
//! that the same request under the same key is answered from the stored response.

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

/// How an idempotent request completed, as its answer says (and says again to a replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Done: a transfer posted, a drawer opened.
    Created,
    /// Filed for someone else to decide, such as a supervisor's approval.
    Accepted,
    /// An existing thing changed, such as a pending transfer resolved.
    Changed,
}

impl Completion {
    /// The code stored with the answer: the HTTP status the API gives it (201, 202, 200).
    pub fn code(self) -> u16 {
        match self {
            Completion::Created => 201,
            Completion::Accepted => 202,
            Completion::Changed => 200,
        }
    }

    /// The completion a stored code stands for.
    pub fn from_code(code: u16) -> Option<Self> {
        [
            Completion::Created,
            Completion::Accepted,
            Completion::Changed,
        ]
        .into_iter()
        .find(|completion| completion.code() == code)
    }
}

/// The response to a money-moving request, fresh or replayed.
#[derive(Debug)]
pub struct Outcome {
    pub completion: Completion,
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
        Claim::Completed(record) => replay(record, request_hash).map(Claimed::Replay),
    }
}

/// The stored answer to a key, given again to the same request; the same key with a different
/// request is refused.
pub fn replay(
    record: data::idempotency::IdempotencyRow,
    request_hash: &[u8],
) -> Result<Outcome, ApiError> {
    if record.request_hash != request_hash {
        return Err(ApiError::Conflict {
            code: ProblemCode::IdempotencyKeyReused,
            detail: "this Idempotency-Key was already used for a different request".into(),
        });
    }
    let completion = u16::try_from(record.response_status)
        .ok()
        .and_then(Completion::from_code)
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "an answer stored with code {}",
                record.response_status
            ))
        })?;
    Ok(Outcome {
        completion,
        body: record.response_body,
        replayed: true,
    })
}
