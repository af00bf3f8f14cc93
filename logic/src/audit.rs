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

/// A record some logic instance vouched for, as its anchor file keeps it (`<id> <hash in
/// hex>`), under the file's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vouched {
    pub name: String,
    pub audit_id: i64,
    pub audit_hash: Vec<u8>,
}

fn read_anchor_file(path: &std::path::Path) -> Result<Option<Vouched>, ApiError> {
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
    let audit_id = id.parse::<i64>().map_err(|_| unreadable())?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unreadable());
    }
    let audit_hash = (0..32)
        .map(|i| u8::from_str_radix(&hash[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| unreadable())?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Some(Vouched {
        name,
        audit_id,
        audit_hash,
    }))
}

/// Every anchor in `dir`: the records each instance sharing it vouched for. Files being written
/// (`*.new`) are skipped.
pub fn read_anchors(dir: &std::path::Path) -> Result<Vec<Vouched>, ApiError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(ApiError::Internal(format!(
                "read the audit anchors in {}: {error}",
                dir.display()
            )));
        }
    };
    let mut anchors = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| ApiError::Internal(format!("read {}: {e}", dir.display())))?
            .path();
        if path.is_file() && path.extension().is_none_or(|e| e != "new") {
            anchors.extend(read_anchor_file(&path)?);
        }
    }
    anchors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(anchors)
}

/// The anchors beside this instance's own file, its own among them.
fn shared_anchors(state: &AppState) -> Result<Vec<Vouched>, ApiError> {
    match state
        .settings
        .audit_anchor_file
        .as_deref()
        .and_then(std::path::Path::parent)
    {
        Some(dir) => read_anchors(dir),
        None => Ok(Vec::new()),
    }
}

/// Replaces the anchor file whole (written beside it, then renamed over it).
fn write_anchor_file(path: &std::path::Path, id: i64, hash: &[u8]) -> Result<(), ApiError> {
    let staged = path.with_extension("new");
    std::fs::write(&staged, format!("{id} {}\n", hex(hash)))
        .and_then(|()| std::fs::rename(&staged, path))
        .map_err(|e| ApiError::Internal(format!("write the audit anchor {}: {e}", path.display())))
}

/// Whether the chain's record still is as `vouched` says (its stored and recomputed hash).
async fn still_as_vouched(
    conn: &mut PgConnection,
    vouched: &Vouched,
) -> Result<bool, data::DataError> {
    Ok(data::audit::chain_row(conn, vouched.audit_id)
        .await?
        .is_some_and(|row| {
            row.hash == vouched.audit_hash && row_hash(&row).to_vec() == vouched.audit_hash
        }))
}

/// Checks the audit chain up to its head and vouches for it: records a checkpoint of the head
/// under the server key and keeps the head in this instance's anchor file.
///
/// It checks onwards from the newest record any instance sharing the anchors' directory
/// vouched for (off the database), having found every such record still as it was; else from
/// the database's newest checkpoint that holds; else from the chain's first record. So a rewrite
/// of any record up to a checkpoint contradicts it, even with every hash recomputed; a
/// checkpoint forged to match fails its HMAC; and a rewrite with every checkpoint removed is not
/// vouched for afresh, by this instance or one that has just started, while any anchor names a
/// record as it was. Each checkpoint also goes to this tier's log. The janitor runs it every
/// minute.
pub async fn anchor(state: &AppState) -> Result<Anchored, ApiError> {
    anchor_walk(state, false).await
}

/// [`anchor`], but walking the whole chain from its first row, so that a record before the
/// newest anchor, which the minute's walk does not read again, is checked too. A break found
/// this way stays found: until a whole walk finds the chain whole again, [`anchor`] vouches for
/// nothing either. The janitor runs it at start and then hourly.
pub async fn anchor_from_start(state: &AppState) -> Result<Anchored, ApiError> {
    anchor_walk(state, true).await
}

async fn anchor_walk(state: &AppState, from_start: bool) -> Result<Anchored, ApiError> {
    use std::sync::atomic::Ordering;
    let key = &state.server_key;
    let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
    let broken = |id: i64| {
        tracing::error!(
            audit_id = id,
            "the audit chain breaks at this record; not anchoring it (run verify-ledger)"
        );
        if from_start {
            state.audit_break.store(id, Ordering::SeqCst);
        }
        Ok(Anchored::Broken(id))
    };
    if !from_start {
        let known = state.audit_break.load(Ordering::SeqCst);
        if known != 0 {
            return broken(known);
        }
    }
    let anchors = shared_anchors(state)?;
    for vouched in &anchors {
        if !still_as_vouched(&mut conn, vouched).await? {
            return broken(vouched.audit_id);
        }
    }
    let start = match anchors.into_iter().max_by_key(|a| a.audit_id) {
        _ if from_start => None,
        // Found as it was just above.
        Some(vouched) => Some(vouched),
        None => {
            let checkpoint = data::audit::newest_checkpoints(&mut conn, CHECKPOINTS_LOOKED_AT)
                .await?
                .into_iter()
                .find(|c| key.checkpoint_holds(c.audit_id, &c.audit_hash, &c.mac))
                .map(|c| Vouched {
                    name: String::new(),
                    audit_id: c.audit_id,
                    audit_hash: c.audit_hash,
                });
            if let Some(vouched) = &checkpoint
                && !still_as_vouched(&mut conn, vouched).await?
            {
                return broken(vouched.audit_id);
            }
            checkpoint
        }
    };
    let (mut after_id, mut previous) = match start {
        Some(vouched) => (Some(vouched.audit_id), vouched.audit_hash),
        None => (None, vec![0u8; 32]),
    };
    let mut moved = false;
    loop {
        let rows = data::audit::chain_rows(&mut conn, after_id, CHAIN_BATCH).await?;
        let Some(last) = rows.last() else { break };
        after_id = Some(last.id);
        for row in &rows {
            let hash = row_hash(row);
            if row.ambiguous || row.prev_hash != previous || row.hash != hash {
                return broken(row.id);
            }
            previous = hash.to_vec();
        }
        moved = true;
    }
    // Whole seconds (as u32, good until 2106): no float is made here.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if from_start {
        state.audit_break.store(0, Ordering::SeqCst);
    }
    metrics::gauge!("bank_audit_chain_checked_timestamp_seconds")
        .set(u32::try_from(now).unwrap_or(u32::MAX));
    let Some(head) = after_id else {
        // No record at all yet.
        return Ok(Anchored::Unchanged);
    };
    if let Some(path) = state.settings.audit_anchor_file.as_deref() {
        write_anchor_file(path, head, &previous)?;
    }
    if !moved {
        return Ok(Anchored::Unchanged);
    }
    let mac = key.checkpoint_mac(head, &previous);
    if !data::audit::insert_checkpoint(&mut conn, head, &previous, &mac).await? {
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
/// Checkpoints read per round trip while verifying.
const CHECKPOINT_BATCH: i64 = 5_000;

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
    /// Of those, the ones made under the server key (their HMAC holds): the bank's own, which
    /// the chain no longer matches. Forgeries cannot push these out of the report.
    pub checkpoints_contradicted: Vec<i64>,
}

impl ChainReport {
    fn failed(&mut self, audit_id: i64, genuine: bool) {
        self.checkpoints_failed_count += 1;
        if self.checkpoints_failed.len() < FAILED_CHECKPOINTS_LISTED {
            self.checkpoints_failed.push(audit_id);
        }
        if genuine && self.checkpoints_contradicted.len() < FAILED_CHECKPOINTS_LISTED {
            self.checkpoints_contradicted.push(audit_id);
        }
    }
}

/// The checkpoints in chain order, read a page at a time.
struct Checkpoints {
    page: std::collections::VecDeque<data::audit::Checkpoint>,
    after: Option<(i64, i64)>,
    done: bool,
}

impl Checkpoints {
    fn new() -> Self {
        Self {
            page: std::collections::VecDeque::new(),
            after: None,
            done: false,
        }
    }

    /// The next checkpoint of a record up to `through` (any record when `None`).
    async fn next_through(
        &mut self,
        conn: &mut PgConnection,
        through: Option<i64>,
    ) -> Result<Option<data::audit::Checkpoint>, data::DataError> {
        if self.page.is_empty() && !self.done {
            let page = data::audit::checkpoints_after(conn, self.after, CHECKPOINT_BATCH).await?;
            self.done = page.len() < CHECKPOINT_BATCH as usize;
            self.after = page.last().map(|c| (c.audit_id, c.id)).or(self.after);
            self.page.extend(page);
        }
        match self.page.front() {
            Some(next) if through.is_none_or(|id| next.audit_id <= id) => Ok(self.page.pop_front()),
            _ => Ok(None),
        }
    }
}

/// Walks the whole chain from its first row, recomputing every hash, and holds each checkpoint
/// against the record it names (and, given the server key, against its HMAC).
pub async fn verify_chain(
    conn: &mut PgConnection,
    key: Option<&ServerKey>,
) -> Result<ChainReport, data::DataError> {
    let mut report = ChainReport::default();
    let mut previous = [0u8; 32];
    let mut after_id = None;
    let mut checkpoints = Checkpoints::new();
    loop {
        let rows = data::audit::chain_rows(conn, after_id, CHAIN_BATCH).await?;
        let Some(last) = rows.last() else { break };
        after_id = Some(last.id);
        for row in &rows {
            report.checked += 1;
            let hash = row_hash(row);
            if report.broken_at.is_none()
                && (row.ambiguous || row.prev_hash != previous || row.hash != hash)
            {
                report.broken_at = Some(row.id);
            }
            while let Some(checkpoint) = checkpoints.next_through(conn, Some(row.id)).await? {
                let genuine = key.is_some_and(|key| {
                    key.checkpoint_holds(
                        checkpoint.audit_id,
                        &checkpoint.audit_hash,
                        &checkpoint.mac,
                    )
                });
                let holds = checkpoint.audit_id == row.id
                    && checkpoint.audit_hash == hash
                    && row.hash == hash
                    && (genuine || key.is_none());
                if holds {
                    report.anchored_through = Some((checkpoint.audit_id, checkpoint.taken_at));
                    report.unanchored = 0;
                } else {
                    report.failed(checkpoint.audit_id, genuine);
                }
            }
            if report.anchored_through.is_none_or(|(id, _)| id != row.id) {
                report.unanchored += 1;
            }
            previous = hash;
        }
    }
    // Checkpoints of records the chain does not have.
    while let Some(checkpoint) = checkpoints.next_through(conn, None).await? {
        let genuine = key.is_some_and(|key| {
            key.checkpoint_holds(checkpoint.audit_id, &checkpoint.audit_hash, &checkpoint.mac)
        });
        report.failed(checkpoint.audit_id, genuine);
    }
    Ok(report)
}

/// Every check an auditor asks for: the audit chain intact and agreeing with every checkpoint
/// of it (each checkpoint's HMAC checked when `key` is given) and with every anchor the logic
/// instances keep off the database; every transfer's entries exactly its two legs (so summing
/// to zero); every balance equal to the sum of its entries and at or above its floor, and every
/// entry stating the balance after it; the event feed saying what each transfer did, once, at
/// positions with no gap.
pub async fn verify_ledger(
    conn: &mut PgConnection,
    key: Option<&ServerKey>,
    anchors: &[Vouched],
) -> Result<VerificationResponse, data::DataError> {
    let chain = verify_chain(conn, key).await?;
    let mut anchors_failed = Vec::new();
    for vouched in anchors {
        if !still_as_vouched(conn, vouched).await? {
            anchors_failed.push(vouched.name.clone());
        }
    }
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
            && anchors_failed.is_empty()
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
        audit_checkpoints_contradicted: chain.checkpoints_contradicted,
        audit_checkpoints_authenticated: key.is_some(),
        audit_anchors_checked: anchors.len() as i64,
        audit_anchors_failed: anchors_failed,
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
    let anchors = &shared_anchors(state)?;
    let report = crate::unit_of_work::write_repeatable(state, |tx, _| {
        Box::pin(async move {
            data::set_snapshot_isolation(&mut *tx).await?;
            let report = verify_ledger(&mut *tx, Some(&state.server_key), anchors).await?;
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
