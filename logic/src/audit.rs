//! The audit log as supervisors, admins and auditors read it: search, and verification of the
//! hash chain and the ledger end to end. The verifier recomputes every hash here, in Rust, from
//! the stored fields, so a tampered row is found even if the database's own hash function were
//! changed too; `logic verify-ledger` runs the same checks from the command line.

use bank_api::ProblemCode;
use data::PgConnection;
use data::audit::AuditFilter;
use data::users::Role;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::auth::server_key::ServerKey;
use crate::domain::Day;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::{AuditListResponse, AuditRecordResponse, VerificationResponse};

/// A state change as its audit record tells it.
#[derive(Debug)]
pub struct Change<'a> {
    /// `subject.verb`, for example `account.freeze`.
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Appends the audit record of `change`, made by a member of staff or (with no actor) by the
/// logic tier itself. Call it last in a unit of work: it serialises the chain's writers until the
/// transaction ends.
pub async fn record(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    request_id: Option<&str>,
    change: Change<'_>,
) -> Result<(), ApiError> {
    data::audit::append(
        conn,
        &data::audit::NewAuditRecord {
            actor_user_id: actor,
            actor_service: actor.is_none().then_some("logic"),
            action: change.action,
            subject_type: change.subject_type,
            subject_id: change.subject_id,
            before: change.before,
            after: change.after,
            request_id,
        },
    )
    .await?;
    Ok(())
}

/// Appends the audit record of something a user did to their own sign-in or settings (signed
/// in, failed to, changed the password or second factor, added or removed a payee): the user is
/// the actor, and `details` say what, with the customer's id so a search by customer finds it.
/// Like [`record`], call it last in a unit of work.
pub async fn user_event(
    conn: &mut PgConnection,
    user: (Uuid, Option<Uuid>),
    action: &str,
    (subject_type, subject_id): (&str, String),
    details: Value,
) -> Result<(), ApiError> {
    let (user_id, customer_id) = user;
    let details = with_customer(details, customer_id);
    record(
        conn,
        Some(user_id),
        None,
        Change {
            action,
            subject_type,
            subject_id,
            before: None,
            after: Some(details),
        },
    )
    .await
}

/// `details` with the customer's id added, so that a search by customer finds the record.
pub fn with_customer(mut details: Value, customer_id: Option<Uuid>) -> Value {
    if let (Some(customer_id), Some(fields)) = (customer_id, details.as_object_mut()) {
        fields.insert("customer_id".into(), Value::String(customer_id.to_string()));
    }
    details
}

pub const PAGE_DEFAULT: i64 = 50;
pub const PAGE_MAX: i64 = 200;
/// Rows read per round trip while verifying the chain.
const CHAIN_BATCH: i64 = 5_000;

/// A search as a request asks for it.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub actor: Option<String>,
    pub customer_id: Option<Uuid>,
    pub account: Option<String>,
    pub action: Option<String>,
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub async fn search(
    state: &AppState,
    user: &SessionUser,
    search: &Search,
) -> Result<AuditListResponse, ApiError> {
    user.require_role(&[Role::Supervisor, Role::Admin])?;
    let limit = search.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid(
            ProblemCode::InvalidQuery,
            "limit",
            format!("limit must be between 1 and {PAGE_MAX}"),
        ));
    }
    if let (Some(from), Some(to)) = (search.from, search.to)
        && from > to
    {
        return Err(ApiError::invalid(
            ProblemCode::InvalidQuery,
            "from",
            "from must not be after to",
        ));
    }
    let action = present(&search.action)
        .map(|a| {
            let valid = a.len() <= 64
                && a.chars()
                    .all(|c| c.is_ascii_lowercase() || "._".contains(c));
            valid.then(|| a.to_owned()).ok_or_else(|| {
                ApiError::invalid(
                    ProblemCode::InvalidQuery,
                    "action",
                    "an action looks like account.freeze",
                )
            })
        })
        .transpose()?;
    let account = present(&search.account)
        .map(|n| {
            crate::domain::AccountNumber::parse(n)
                .map(|n| n.to_string())
                .map_err(|e| crate::error::invalid_account_number("account", e))
        })
        .transpose()?;
    let before_id = present(&search.cursor)
        .map(crate::cursor::decode_serial)
        .transpose()?;
    // A username, or nobody: anything else (a NUL byte, say) is refused here, not by PostgreSQL.
    let actor = present(&search.actor)
        .map(|name| {
            crate::domain::text::username(name).map_err(|_| {
                ApiError::invalid(
                    ProblemCode::InvalidQuery,
                    "actor",
                    "an actor is a staff username",
                )
            })
        })
        .transpose()?;
    let actor = &actor;
    let action = &action;
    let account = &account;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            let actor_user_id = match &actor {
                None => None,
                Some(name) => {
                    match data::users::find_user_id_by_username(&mut *conn, name).await? {
                        Some(id) => Some(id),
                        // Nobody by that name has done anything.
                        None => return Ok(Vec::new()),
                    }
                }
            };
            let filter = AuditFilter {
                actor_user_id,
                customer_id: search.customer_id,
                account_number: account.clone(),
                action: action.clone(),
                occurred_from: search.from.map(Day::start),
                occurred_before: search.to.map(Day::end),
                before_id,
                limit: limit + 1,
            };
            Ok(data::audit::search(&mut *conn, &filter).await?)
        })
    })
    .await?;
    let (rows, next_cursor) =
        crate::cursor::page(rows, limit, |row| crate::cursor::encode_serial(row.id));
    Ok(AuditListResponse {
        records: rows
            .into_iter()
            .map(AuditRecordResponse::from_data)
            .collect(),
        next_cursor,
    })
}

/// The hash of one audit row, computed the way `audit_row_hash` in the schema defines it:
/// SHA-256 of the previous hash followed by the fields joined with the unit separator.
pub fn row_hash(row: &data::audit::ChainRow) -> [u8; 32] {
    let text = [
        row.id.to_string().as_str(),
        &row.occurred_at,
        row.actor_user_id.as_deref().unwrap_or(""),
        row.actor_service.as_deref().unwrap_or(""),
        &row.action,
        &row.subject_type,
        &row.subject_id,
        row.before.as_deref().unwrap_or("null"),
        row.after.as_deref().unwrap_or("null"),
        row.request_id.as_deref().unwrap_or(""),
    ]
    .join("\u{1f}");
    let mut hasher = Sha256::new();
    hasher.update(&row.prev_hash);
    hasher.update(text.as_bytes());
    hasher.finalize().into()
}

/// How many of the newest checkpoints [`anchor`] looks through for one that holds to build on.
const CHECKPOINTS_LOOKED_AT: i64 = 16;

/// What [`anchor`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchored {
    /// No record since the newest checkpoint (or another instance took the same one first).
    Unchanged,
    /// The chain checked up to this record, and a checkpoint of it recorded.
    Through(i64),
    /// The chain breaks at this record: nothing was anchored, and nothing will be until it is
    /// dealt with (`verify-ledger` says more).
    Broken(i64),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The newest record this instance vouched for, as its anchor file keeps it: `<id> <hash in
/// hex>`. `None` when there is no file yet.
fn read_anchor_file(path: &std::path::Path) -> Result<Option<(i64, Vec<u8>)>, ApiError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ApiError::Internal(format!(
                "read the audit anchor {}: {error}",
                path.display()
            )));
        }
    };
    let unreadable = || {
        ApiError::Internal(format!(
            "the audit anchor {} is not `<record id> <hash>`",
            path.display()
        ))
    };
    let (id, hash) = text.trim().split_once(' ').ok_or_else(unreadable)?;
    let id = id.parse::<i64>().map_err(|_| unreadable())?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unreadable());
    }
    let hash = (0..32)
        .map(|i| u8::from_str_radix(&hash[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| unreadable())?;
    Ok(Some((id, hash)))
}

/// Replaces the anchor file whole (written beside it, then renamed over it).
fn write_anchor_file(path: &std::path::Path, id: i64, hash: &[u8]) -> Result<(), ApiError> {
    let staged = path.with_extension("new");
    std::fs::write(&staged, format!("{id} {}\n", hex(hash)))
        .and_then(|()| std::fs::rename(&staged, path))
        .map_err(|e| ApiError::Internal(format!("write the audit anchor {}: {e}", path.display())))
}

/// Checks the audit chain from the newest record this instance already vouched for (its anchor
/// file, off the database), or else from the database's newest checkpoint that holds, or else
/// from the chain's first record, up to its head; then records a checkpoint of the head under
/// the server key and keeps the head in the anchor file. From then on a rewrite of any record
/// up to the head contradicts the checkpoint, even with every hash recomputed; a checkpoint
/// forged to match fails its HMAC; and removing the checkpoints too does not get the rewritten
/// chain vouched for afresh, since the file still names the record as it was. Each checkpoint
/// also goes to this tier's log. The janitor runs it every minute.
pub async fn anchor(state: &AppState) -> Result<Anchored, ApiError> {
    let key = &state.server_key;
    let file = state.settings.audit_anchor_file.as_deref();
    let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
    let vouched = match file {
        Some(path) => read_anchor_file(path)?,
        None => None,
    };
    let start = match vouched {
        Some(start) => Some(start),
        None => data::audit::newest_checkpoints(&mut conn, CHECKPOINTS_LOOKED_AT)
            .await?
            .into_iter()
            .find(|c| key.checkpoint_holds(c.audit_id, &c.audit_hash, &c.mac))
            .map(|c| (c.audit_id, c.audit_hash)),
    };
    let broken = |id: i64| {
        tracing::error!(
            audit_id = id,
            "the audit chain breaks at this record; not anchoring it (run verify-ledger)"
        );
        Ok(Anchored::Broken(id))
    };
    let (mut after_id, mut previous) = match start {
        // The record vouched for must still be as it was: the chain onwards links to its hash,
        // but a rewrite of the record itself, with nothing after it, would show nowhere else.
        Some((id, hash)) => {
            let row = data::audit::chain_rows(&mut conn, id - 1, 1).await?;
            match row.first() {
                Some(row) if row.id == id && row.hash == hash && row_hash(row).to_vec() == hash => {
                }
                _ => return broken(id),
            }
            (id, hash)
        }
        None => (0, vec![0u8; 32]),
    };
    let mut head = None;
    loop {
        let rows = data::audit::chain_rows(&mut conn, after_id, CHAIN_BATCH).await?;
        let Some(last) = rows.last() else { break };
        after_id = last.id;
        for row in &rows {
            let hash = row_hash(row);
            if row.prev_hash != previous || row.hash != hash {
                return broken(row.id);
            }
            previous = hash.to_vec();
        }
        head = Some(after_id);
    }
    metrics::gauge!("bank_audit_chain_checked_timestamp_seconds")
        .set(time::OffsetDateTime::now_utc().unix_timestamp() as f64);
    let Some(head) = head else {
        return Ok(Anchored::Unchanged);
    };
    let mac = key.checkpoint_mac(head, &previous);
    let inserted = data::audit::insert_checkpoint(&mut conn, head, &previous, &mac).await?;
    if let Some(path) = file {
        write_anchor_file(path, head, &previous)?;
    }
    if !inserted {
        return Ok(Anchored::Unchanged);
    }
    tracing::info!(
        audit_id = head,
        audit_hash = %hex(&previous),
        mac = %hex(&mac),
        "audit chain checked and anchored"
    );
    Ok(Anchored::Through(head))
}

/// How many failed checkpoints a report lists by record (it counts them all): a flood of forged
/// ones must not flood the report, nor the audit record of the check.
pub const FAILED_CHECKPOINTS_LISTED: usize = 100;

/// What walking the chain found.
#[derive(Debug, Default)]
pub struct ChainReport {
    pub checked: i64,
    pub broken_at: Option<i64>,
    /// The newest checkpoint that holds, and when it was taken.
    pub anchored_through: Option<(i64, time::OffsetDateTime)>,
    /// Records after it.
    pub unanchored: i64,
    /// Checkpoints that do not hold: forged (their HMAC fails under the key), naming a record
    /// the chain does not have, or contradicted by the record (rewritten after it was anchored);
    /// the first [`FAILED_CHECKPOINTS_LISTED`] by record, and how many in all.
    pub checkpoints_failed: Vec<i64>,
    pub checkpoints_failed_count: i64,
}

impl ChainReport {
    fn failed(&mut self, audit_id: i64) {
        self.checkpoints_failed_count += 1;
        if self.checkpoints_failed.len() < FAILED_CHECKPOINTS_LISTED {
            self.checkpoints_failed.push(audit_id);
        }
    }
}

/// Walks the whole chain, recomputing every hash, and holds each checkpoint against the record
/// it names (and, given the server key, against its HMAC).
pub async fn verify_chain(
    conn: &mut PgConnection,
    key: Option<&ServerKey>,
) -> Result<ChainReport, data::DataError> {
    let mut report = ChainReport::default();
    let mut previous = [0u8; 32];
    let mut after_id = 0;
    loop {
        let rows = data::audit::chain_rows(conn, after_id, CHAIN_BATCH).await?;
        let Some(last) = rows.last() else { break };
        let checkpoints = data::audit::checkpoints_between(conn, after_id, Some(last.id)).await?;
        let mut checkpoints = checkpoints.into_iter().peekable();
        after_id = last.id;
        for row in &rows {
            report.checked += 1;
            let hash = row_hash(row);
            if report.broken_at.is_none() && (row.prev_hash != previous || row.hash != hash) {
                report.broken_at = Some(row.id);
            }
            while let Some(checkpoint) = checkpoints.next_if(|c| c.audit_id <= row.id) {
                let holds = checkpoint.audit_id == row.id
                    && checkpoint.audit_hash == hash
                    && row.hash == hash
                    && key.is_none_or(|key| {
                        key.checkpoint_holds(checkpoint.audit_id, &hash, &checkpoint.mac)
                    });
                if holds {
                    report.anchored_through = Some((checkpoint.audit_id, checkpoint.taken_at));
                    report.unanchored = 0;
                } else {
                    report.failed(checkpoint.audit_id);
                }
            }
            if report.anchored_through.is_none_or(|(id, _)| id != row.id) {
                report.unanchored += 1;
            }
            previous = hash;
        }
    }
    // Checkpoints of records the chain does not have.
    for checkpoint in data::audit::checkpoints_between(conn, after_id, None).await? {
        report.failed(checkpoint.audit_id);
    }
    Ok(report)
}

/// Every check an auditor asks for: the audit chain intact and agreeing with every checkpoint
/// of it (each checkpoint's HMAC checked when `key` is given); every transfer's entries exactly
/// its two legs (so summing to zero); every balance equal to the sum of its entries and at or
/// above its floor, and every entry stating the balance after it; the event feed saying what
/// each transfer did, once, at positions with no gap.
pub async fn verify_ledger(
    conn: &mut PgConnection,
    key: Option<&ServerKey>,
) -> Result<VerificationResponse, data::DataError> {
    let chain = verify_chain(conn, key).await?;
    let unbalanced = data::transfers::unbalanced_transfers(conn).await?;
    let mismatched: Vec<String> = data::accounts::reconcile_accounts(conn)
        .await?
        .into_iter()
        .filter(|row| {
            row.balance != row.entries_sum || row.below_floor || row.misstated_entries > 0
        })
        .map(|row| row.number)
        .collect();
    let misreported = data::events::misreported_subjects(conn).await?;
    let missing_positions = data::events::missing_positions(conn).await?;
    Ok(VerificationResponse {
        audit_records_checked: chain.checked,
        intact: chain.broken_at.is_none()
            && chain.checkpoints_failed_count == 0
            && unbalanced.is_empty()
            && mismatched.is_empty()
            && misreported.is_empty()
            && missing_positions == 0,
        audit_chain_broken_at: chain.broken_at,
        audit_anchored_through: chain.anchored_through.map(|(id, _)| id),
        audit_anchored_at: chain.anchored_through.map(|(_, at)| at),
        audit_records_unanchored: chain.unanchored,
        audit_checkpoints_failed: chain.checkpoints_failed,
        audit_checkpoints_failed_count: chain.checkpoints_failed_count,
        audit_checkpoints_authenticated: key.is_some(),
        transfers_unbalanced: unbalanced,
        accounts_mismatched: mismatched,
        feed_misreported: misreported,
        feed_positions_missing: missing_positions,
    })
}

/// Runs [`verify_ledger`] for a supervisor or admin, in one snapshot, and records that it ran.
pub async fn verify(
    state: &AppState,
    user: &SessionUser,
    request_id: Option<&str>,
) -> Result<VerificationResponse, ApiError> {
    user.require_role(&[Role::Supervisor, Role::Admin])?;
    let report = crate::unit_of_work::write_repeatable(state, |tx, _| {
        Box::pin(async move {
            data::set_snapshot_isolation(&mut *tx).await?;
            let report = verify_ledger(&mut *tx, Some(&state.server_key)).await?;
            Ok(report)
        })
    })
    .await?;
    let verified = &report;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            record(
                &mut *tx,
                Some(user.user_id),
                request_id,
                Change {
                    action: "audit.verify",
                    subject_type: "ledger",
                    subject_id: "all".into(),
                    before: None,
                    after: serde_json::to_value(verified).ok(),
                },
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(report)
}
