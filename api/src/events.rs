//! The event feed internal services follow.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// One event of the feed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventResponse {
    pub id: Uuid,
    /// This event's place in the feed: pass it as `after` to read what follows it.
    #[schema(example = "42")]
    pub cursor: String,
    /// `transfer.posted`, `transfer.reversed`, `transfer.pending`, `transfer.voided` or
    /// `account.status_changed`.
    #[serde(rename = "type")]
    #[schema(example = "transfer.posted")]
    pub kind: String,
    /// The transfer, pending transfer or account the event is about.
    pub subject_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// What happened, as the subject stood right after it.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<EventResponse>,
    /// Pass as `after` to continue; equal to the `after` given when there was nothing new.
    #[schema(example = "42")]
    pub next_cursor: String,
}
