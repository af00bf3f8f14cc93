//! The event feed. Triggers write every posted, reversed, pending or voided transfer and every
//! account status change to the outbox in the transaction that made it; the sequencer gives the
//! committed ones their feed positions; readers page through positions with a cursor.
//!
//! Architecture invariant: an event's position orders it after every event whose transaction
//! held a lock it waited for, so two transfers touching one account appear in the order they
//! committed; positions are handed out gap-free by one sequencer at a time, so a reader resuming
//! after a position misses nothing. Delivery is at least once: a consumer that crashes before
//! saving its cursor reads some events again and must ignore ids it has seen.

use bank_api::ProblemCode;
use data::users::Role;

use crate::auth::SessionUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{EventPage, EventResponse};

/// How many events one sequencer pass positions.
const SEQUENCE_BATCH: i64 = 1000;

/// The event types a consumer may ask for.
pub const TYPES: [&str; 5] = [
    "transfer.posted",
    "transfer.reversed",
    "transfer.pending",
    "transfer.voided",
    "account.status_changed",
];

/// Positions every committed event not yet in the feed; returns how many.
pub async fn sequence(state: &AppState) -> Result<u64, ApiError> {
    let mut total = 0;
    loop {
        let done = crate::unit_of_work::write_repeatable(state, |tx, _| {
            Box::pin(async move {
                let done = data::events::sequence(&mut *tx, SEQUENCE_BATCH).await?;
                Ok(done)
            })
        })
        .await?;
        total += done;
        if done < u64::try_from(SEQUENCE_BATCH).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}

/// Longest a reader may ask to wait for an event, in seconds: well inside the load balancer's
/// timeouts, and short enough not to hold up a rolling restart for long.
pub const WAIT_MAX_S: u64 = 20;
/// How often a waiting reader looks again.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Like [`read`], but when nothing follows `after` yet, looks again until an event arrives or
/// `wait` has passed (a long poll): a consumer learns of an event within a fraction of a second
/// without asking many times a second.
pub async fn read_waiting(
    state: &AppState,
    user: &SessionUser,
    after: &str,
    types: &[String],
    limit: i64,
    wait: std::time::Duration,
) -> Result<EventPage, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let page = read(state, user, after, types, limit).await?;
        let now = tokio::time::Instant::now();
        if !page.events.is_empty() || now >= deadline {
            return Ok(page);
        }
        tokio::time::sleep(WAIT_POLL.min(deadline - now)).await;
    }
}

/// The events after `after`, oldest first, of the given types (all when empty).
pub async fn read(
    state: &AppState,
    user: &SessionUser,
    after: &str,
    types: &[String],
    limit: i64,
) -> Result<EventPage, ApiError> {
    user.require_role(&[Role::Service])?;
    let position = crate::cursor::decode_position(after)?;
    if let Some(unknown) = types.iter().find(|t| !TYPES.contains(&t.as_str())) {
        return Err(ApiError::invalid(
            ProblemCode::InvalidQuery,
            "types",
            format!(
                "unknown event type {unknown:?}; the types are {}",
                TYPES.join(", ")
            ),
        ));
    }
    sequence(state).await?;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::events::after(&mut *conn, position, types, limit).await?) })
    })
    .await?;
    let next_cursor = rows.last().map_or(position, |row| row.position);
    Ok(EventPage {
        events: rows
            .into_iter()
            .map(|row| EventResponse {
                id: row.id,
                cursor: crate::cursor::encode_position(row.position),
                kind: row.kind,
                subject_id: row.subject_id,
                occurred_at: row.occurred_at,
                data: row.payload,
            })
            .collect(),
        next_cursor: crate::cursor::encode_position(next_cursor),
    })
}
