//! The audit log and the end-to-end check of it and of the ledger.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecordResponse {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: Option<String>,
    pub actor_service: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditListResponse {
    pub records: Vec<AuditRecordResponse>,
    /// Pass as `cursor` to read the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The result of checking the audit chain and the ledger end to end.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerificationResponse {
    pub audit_records_checked: i64,
    /// The first audit record whose hash or link does not match, if any.
    pub audit_chain_broken_at: Option<i64>,
    /// The newest record a checkpoint made under the logic tier's server key vouches for (the
    /// chain up to it cannot have been rewritten since, even with its hashes recomputed); none
    /// before the first checkpoint. The logic tier takes one each minute the chain grows.
    #[serde(default)]
    pub audit_anchored_through: Option<i64>,
    /// When that checkpoint was taken: much older than a minute while records follow it means
    /// anchoring has stopped, or newer checkpoints were removed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub audit_anchored_at: Option<OffsetDateTime>,
    /// Records after it, which no checkpoint vouches for yet.
    #[serde(default)]
    pub audit_records_unanchored: i64,
    /// Checkpoints that do not hold, by the record they name: forged (their HMAC fails), naming
    /// a record the chain does not have, or contradicted by a record rewritten after it. The
    /// first 100; `audit_checkpoints_failed_count` counts them all.
    #[serde(default)]
    pub audit_checkpoints_failed: Vec<i64>,
    #[serde(default)]
    pub audit_checkpoints_failed_count: i64,
    /// Of those, the ones the bank made (their HMAC holds under the server key) that the chain
    /// no longer matches: its records were rewritten after the bank vouched for them. The first
    /// 100; forged checkpoints cannot push these out.
    #[serde(default)]
    pub audit_checkpoints_contradicted: Vec<i64>,
    /// Whether the checkpoints' HMACs were checked (the server key was at hand); without it a
    /// checkpoint is only held against the chain.
    #[serde(default)]
    pub audit_checkpoints_authenticated: bool,
    /// How many anchors the logic instances keep off the database (the newest record each
    /// vouched for) were held against the chain; none when the check had no access to them.
    #[serde(default)]
    pub audit_anchors_checked: i64,
    /// The instances whose anchor names a record the chain no longer has as it was: rewritten
    /// or removed after they vouched for it, even if every checkpoint was removed too.
    #[serde(default)]
    pub audit_anchors_failed: Vec<String>,
    /// Transfers whose entries do not sum to zero, or are not exactly its amount from its debit
    /// account and to its credit account in its currency.
    pub transfers_unbalanced: Vec<Uuid>,
    /// Accounts whose balance differs from the sum of their entries or is below the floor, or
    /// one of whose entries misstates the balance after it.
    pub accounts_mismatched: Vec<String>,
    /// Transfers and pending transfers the event feed misreports (no event or more than one,
    /// or one that says something else), and the subjects of events the bank did not write (a
    /// transfer, pending transfer or account it does not have, or a type no trigger writes).
    #[serde(default)]
    pub feed_misreported: Vec<Uuid>,
    /// How many positions the event feed skips (0: a reader resuming anywhere misses nothing).
    #[serde(default)]
    pub feed_positions_missing: i64,
    pub intact: bool,
}
