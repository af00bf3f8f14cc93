//! Two-phase transfers for internal services: create a pending transfer (the amount held on the
//! debit account until it expires), then post it, in full or for less, or void it. The pending
//! row's lock serialises its resolutions and the database refuses a second one, so a pending
//! transfer is resolved at most once however many requests race for it.

use bank_api::ProblemCode;
use data::accounts::AccountKind;
use data::holds::NewHold;
use data::pending::{NewPending, PendingRow, PendingStatus};
use data::users::Role;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::money::format_in_scale;
use crate::domain::{AccountNumber, Amount, Currency};
use crate::error::{ApiError, account_not_found};
use crate::idempotency::{Claimed, Completion, IdempotencyKey, Outcome};
use crate::posting::{
    Actor, Initiator, KeyCompletion, Movement, Order, Posting, Side, check_currency, check_floor,
    check_movable,
};
use crate::state::AppState;
use crate::wire::IntoWire;
use crate::wire::PendingTransferResponse;

/// How long a pending transfer holds its funds when the request does not say.
pub const DEFAULT_TIMEOUT_S: i64 = 3600;
/// The longest a pending transfer may hold funds: a week.
pub const MAX_TIMEOUT_S: i64 = 7 * 24 * 3600;

/// A pending transfer asked for, parsed.
#[derive(Debug, Clone)]
pub struct PendingOrder {
    pub debit: AccountNumber,
    pub credit: AccountNumber,
    pub amount: Amount,
    pub memo: String,
    pub timeout_s: i64,
}

impl PendingOrder {
    fn request_hash(&self) -> Vec<u8> {
        let canonical = format!(
            "pending\n{}\n{}\n{}\n{}\n{}\n{}",
            self.debit,
            self.credit,
            self.amount.value(),
            self.amount.currency(),
            self.memo,
            self.timeout_s
        );
        Sha256::digest(canonical.as_bytes()).to_vec()
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: ProblemCode::PendingTransferNotFound,
        detail: "no pending transfer of yours has this id",
    }
}

/// Two-phase transfers are a primitive of the service API: tellers' and customers' money
/// movements go through the approval and limit rules of [`crate::orders::post`] instead.
fn authorise(actor: &Actor<'_>) -> Result<(), ApiError> {
    actor.user.require_role(&[Role::Service])
}

pub async fn create(
    state: &AppState,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    order: &PendingOrder,
) -> Result<Outcome, ApiError> {
    authorise(&actor)?;
    if order.debit == order.credit {
        return Err(ApiError::refused(
            ProblemCode::SameAccount,
            "the two accounts of a transfer must differ",
        ));
    }
    let request_hash = order.request_hash();
    let user_id = actor.user.user_id;
    crate::unit_of_work::write_once(state, user_id, key, &request_hash, |tx, ticket, _| {
        Box::pin(async move {
            let now = ticket.now();
            let locked = data::accounts::lock_accounts_by_number(
                &mut *tx,
                order.debit.as_str(),
                order.credit.as_str(),
            )
            .await?;
            let find = |number: &AccountNumber| {
                locked
                    .iter()
                    .find(|a| a.number == number.as_str() && a.kind == AccountKind::Customer)
            };
            let (Some(debit), Some(credit)) = (find(&order.debit), find(&order.credit)) else {
                return Err(account_not_found());
            };
            let currency = order.amount.currency().code();
            check_movable(debit, Side::Debit)?;
            check_movable(credit, Side::Credit)?;
            check_currency(&[debit, credit], currency)?;
            check_floor(debit, -order.amount.value())?;
            let id = Uuid::now_v7();
            let hold_id = Uuid::now_v7();
            let expires_at = now + Duration::seconds(order.timeout_s);
            let reason = format!("Pending transfer {}", &id.to_string()[..8]);
            data::holds::insert_hold(
                &mut *tx,
                &NewHold {
                    id: hold_id,
                    account_id: debit.id,
                    amount: order.amount.value(),
                    reason: &reason,
                    expires_at,
                    placed_by: Some(user_id),
                },
            )
            .await?;
            data::pending::insert_pending(
                &mut *tx,
                &NewPending {
                    id,
                    initiated_by: user_id,
                    idempotency_key: key.as_str(),
                    debit_account_id: debit.id,
                    credit_account_id: credit.id,
                    currency,
                    amount: order.amount.value(),
                    memo: &order.memo,
                    hold_id,
                    expires_at,
                    request_id: actor.request_id,
                },
            )
            .await?;
            let row = data::pending::find_pending(&mut *tx, id)
                .await?
                .ok_or_else(|| ApiError::Internal("a pending transfer vanished".into()))?;
            let body = to_body(&response(&row, now))?;
            ticket.complete(tx, Completion::Created, body).await
        })
    })
    .await
}

/// How a pending transfer is resolved.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Post it; `None` posts the full amount, less posts that much and releases the rest.
    Post(Option<String>),
    Void,
}

/// What stopped a resolution inside its unit of work.
enum Stop {
    Expired,
    Error(ApiError),
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Self {
        Stop::Error(error)
    }
}

impl From<crate::domain::money::MoneyError> for Stop {
    fn from(error: crate::domain::money::MoneyError) -> Self {
        Stop::Error(error.into())
    }
}

impl From<data::DataError> for Stop {
    fn from(error: data::DataError) -> Self {
        Stop::Error(error.into())
    }
}

pub async fn resolve(
    state: &AppState,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    id: Uuid,
    resolution: &Resolution,
) -> Result<Outcome, ApiError> {
    authorise(&actor)?;
    let canonical = match resolution {
        Resolution::Post(amount) => format!("post\n{id}\n{}", amount.as_deref().unwrap_or("")),
        Resolution::Void => format!("void\n{id}"),
    };
    let request_hash = Sha256::digest(canonical.as_bytes()).to_vec();
    let initiator = Initiator::from(actor.user);
    let outcome = crate::unit_of_work::retried(state.settings.retry_budget_ms, || async {
        match resolve_once(
            state,
            &actor,
            &initiator,
            key,
            &request_hash,
            id,
            resolution,
        )
        .await
        {
            Ok(outcome) => Ok(Ok(outcome)),
            Err(Stop::Expired) => Ok(Err(())),
            Err(Stop::Error(error)) => Err(error),
        }
    })
    .await?;
    match outcome {
        Ok(outcome) => Ok(outcome),
        Err(()) => {
            expire(state, id).await?;
            Err(ApiError::Conflict {
                code: ProblemCode::PendingTransferExpired,
                detail: "the pending transfer expired and was voided; its funds are released"
                    .into(),
            })
        }
    }
}

async fn resolve_once(
    state: &AppState,
    actor: &Actor<'_>,
    initiator: &Initiator,
    key: &IdempotencyKey,
    request_hash: &[u8],
    id: Uuid,
    resolution: &Resolution,
) -> Result<Outcome, Stop> {
    let user_id = actor.user.user_id;
    let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
    let now = match crate::idempotency::claim(&mut tx, user_id, key, request_hash).await? {
        Claimed::Replay(outcome) => return Ok(outcome),
        Claimed::Fresh(now) => now,
    };
    let row = data::pending::lock_pending(&mut tx, id)
        .await?
        .filter(|row| row.initiated_by == user_id)
        .ok_or_else(not_found)?;
    if row.status != PendingStatus::Pending {
        return Err(Stop::Error(ApiError::Conflict {
            code: ProblemCode::PendingTransferResolved,
            detail: format!(
                "the pending transfer was already {}",
                match row.status {
                    PendingStatus::Posted => "posted",
                    _ => "voided",
                }
            ),
        }));
    }
    if row.expires_at <= now {
        return Err(Stop::Expired);
    }
    match resolution {
        Resolution::Void => {
            data::pending::mark_voided(&mut tx, id, Some(user_id), "voided").await?;
        }
        Resolution::Post(amount) => {
            let currency = Currency::parse(&row.currency)?;
            let amount = match amount {
                None => Amount::parse(
                    &crate::domain::money::format_in_scale(row.amount, &row.currency),
                    currency,
                )?,
                Some(text) => Amount::parse(text, currency)?,
            };
            if amount.value() > row.amount {
                return Err(Stop::Error(ApiError::invalid(
                    ProblemCode::AmountExceedsPending,
                    "amount",
                    "a pending transfer posts for at most the amount it holds",
                )));
            }
            data::holds::release_hold(&mut tx, row.hold_id, Some(user_id)).await?;
            let order = Order {
                movement: Movement::Transfer {
                    debit: parse_number(&row.debit_account_number)?,
                    credit: parse_number(&row.credit_account_number)?,
                },
                amount,
                memo: row.memo.clone(),
            };
            let posting = Posting {
                initiator,
                key,
                now,
                request_id: actor.request_id,
                completion: KeyCompletion::Leave,
                batch_id: None,
            };
            let (transfer, _) = crate::posting::execute(&mut tx, &posting, &order).await?;
            data::pending::mark_posted(&mut tx, id, Some(user_id), amount.value(), transfer.id)
                .await?;
        }
    }
    let row = data::pending::find_pending(&mut tx, id)
        .await?
        .ok_or_else(not_found)?;
    let body = to_body(&response(&row, now))?;
    data::idempotency::complete(
        &mut tx,
        user_id,
        key.as_str(),
        Completion::Changed.code(),
        &body,
    )
    .await?;
    tx.commit().await.map_err(data::DataError::from)?;
    Ok(Outcome {
        completion: Completion::Changed,
        body,
        replayed: false,
    })
}

fn parse_number(number: &str) -> Result<AccountNumber, ApiError> {
    AccountNumber::parse(number).map_err(|e| ApiError::Internal(format!("stored number: {e}")))
}

fn to_body(response: &PendingTransferResponse) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(response)
        .map_err(|e| ApiError::Internal(format!("serialise a pending transfer: {e}")))
}

/// Voids one pending transfer whose expiry has passed, if it is still pending.
async fn expire(state: &AppState, id: Uuid) -> Result<bool, ApiError> {
    crate::unit_of_work::retried(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let now = data::transaction_now(&mut tx).await?;
        let Some(row) = data::pending::lock_pending(&mut tx, id).await? else {
            return Ok(false);
        };
        if row.status != PendingStatus::Pending || row.expires_at > now {
            return Ok(false);
        }
        data::pending::mark_voided(&mut tx, id, None, "expired").await?;
        // The bank's own action, with no one to answer for it but the record: audited as the
        // logic tier's, the pending transfer as it was and as it is now.
        let after = data::pending::find_pending(&mut tx, id)
            .await?
            .ok_or_else(not_found)?;
        crate::audit::record(
            &mut tx,
            None,
            None,
            crate::audit::Change {
                action: "pending_transfer.expire",
                subject_type: "pending_transfer",
                subject_id: id.to_string(),
                // Stored as pending still (a read past its expiry already shows it voided).
                before: Some(serde_json::json!({
                    "status": "pending",
                    "amount": format_in_scale(row.amount, &row.currency),
                    "currency": row.currency,
                    "debit_account": row.debit_account_number,
                    "credit_account": row.credit_account_number,
                    "expires_at": row.expires_at.format(&time::format_description::well_known::Rfc3339)
                        .map_err(|e| ApiError::Internal(format!("format a time: {e}")))?,
                })),
                after: Some(to_body(&response(&after, now))?),
            },
        )
        .await?;
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(true)
    })
    .await
}

/// Voids every pending transfer whose expiry has passed; returns how many it voided.
pub async fn expire_due(state: &AppState) -> Result<usize, ApiError> {
    let due = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::pending::due_for_expiry(&mut *conn, 500).await?) })
    })
    .await?;
    let mut voided = 0;
    for id in due {
        if expire(state, id).await? {
            voided += 1;
        }
    }
    Ok(voided)
}

/// One of the caller's pending transfers.
pub async fn get(state: &AppState, actor: Actor<'_>, id: Uuid) -> Result<PendingRow, ApiError> {
    authorise(&actor)?;
    let row = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::pending::find_pending(&mut *conn, id).await?) })
    })
    .await?;
    row.filter(|row| row.initiated_by == actor.user.user_id)
        .ok_or_else(not_found)
}

/// The caller's pending transfers, newest first.
pub async fn list(
    state: &AppState,
    actor: Actor<'_>,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<PendingRow>, Option<String>), ApiError> {
    authorise(&actor)?;
    let after = cursor.map(crate::cursor::decode_time).transpose()?;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(
                data::pending::list_pending(&mut *conn, Some(actor.user.user_id), after, limit + 1)
                    .await?,
            )
        })
    })
    .await?;
    Ok(crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_time(row.created_at, row.id)
    }))
}

/// Parses a timeout in seconds, refusing what is out of bounds.
pub fn timeout(seconds: Option<i64>) -> Result<i64, ApiError> {
    match seconds {
        None => Ok(DEFAULT_TIMEOUT_S),
        Some(s) if (1..=MAX_TIMEOUT_S).contains(&s) => Ok(s),
        Some(_) => Err(ApiError::invalid(
            ProblemCode::InvalidTimeout,
            "timeout_seconds",
            format!("a pending transfer holds its funds for 1 to {MAX_TIMEOUT_S} seconds"),
        )),
    }
}

/// A pending transfer as a reader sees it at `now` (see [`effective`]).
pub fn response(row: &PendingRow, now: OffsetDateTime) -> PendingTransferResponse {
    let (status, void_reason) = effective(row, now);
    PendingTransferResponse {
        id: row.id,
        status: status.into_wire(),
        amount: format_in_scale(row.amount, &row.currency),
        currency: row.currency.clone(),
        debit_account: row.debit_account_number.clone(),
        credit_account: row.credit_account_number.clone(),
        memo: row.memo.clone(),
        created_at: row.created_at,
        expires_at: row.expires_at,
        resolved_at: row.resolved_at,
        void_reason: void_reason.map(str::to_owned),
        posted_amount: row
            .posted_amount
            .map(|amount| format_in_scale(amount, &row.currency)),
        transfer_id: row.posted_transfer_id,
    }
}

/// The state a reader sees: a pending transfer past its expiry reads as voided (expired) even
/// before the janitor writes it so; its hold stopped counting at the same instant.
pub fn effective(row: &PendingRow, now: OffsetDateTime) -> (PendingStatus, Option<&str>) {
    if row.status == PendingStatus::Pending && row.expires_at <= now {
        (PendingStatus::Voided, Some("expired"))
    } else {
        (row.status, row.void_reason.as_deref())
    }
}
