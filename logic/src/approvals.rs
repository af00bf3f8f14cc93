//! Four-eyes approval: a teller's operation above the threshold, every reversal and every change
//! of an overdraft limit is filed as a request that a different member of staff, a supervisor,
//! approves or rejects. While it waits, the funds it would move are held; if nobody decides before
//! it expires, it lapses and the hold with it.
//!
//! Architecture invariant: the maker never decides their own request. The API refuses it, and the
//! database refuses it again (`approval_requests_four_eyes`, `approval_requests_guard`), so no
//! route around this module can either.

use bank_api::ProblemCode;
use data::PgConnection;
use data::accounts::{AccountKind, AccountRow};
use data::approvals::{ApprovalFilter, ApprovalKind, ApprovalRow, ApprovalStatus, NewApproval};
use data::transfers::TransferKind;
use data::users::Role;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::Duration;
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::money::format_in_scale;
use crate::domain::{AccountNumber, Amount, Currency};
use crate::error::{ApiError, account_not_found};
use crate::idempotency::{Completion, IdempotencyKey, Outcome};
use crate::posting::{Actor, Initiator, KeyCompletion, Movement, Order, Side};
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::{ApprovalListResponse, ApprovalResponse};

/// Most requests one list returns.
pub const LIST_MAX: i64 = 200;

/// What a request does once approved, as stored with it (amounts as decimal strings in the JSON,
/// never a JSON number, which a reader could take for a float).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Operation {
    Transfer {
        debit_account: String,
        credit_account: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        currency: String,
        memo: String,
    },
    CashDeposit {
        account: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        currency: String,
        memo: String,
    },
    CashWithdrawal {
        account: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
        currency: String,
        memo: String,
    },
    Reversal {
        transfer_id: Uuid,
    },
    OverdraftLimit {
        account: String,
        #[serde(with = "rust_decimal::serde::str")]
        limit: Decimal,
        currency: String,
    },
}

impl Operation {
    fn from_order(order: &Order) -> Option<Self> {
        let amount = order.amount.value();
        let currency = order.amount.currency().code().to_owned();
        let memo = order.memo.clone();
        match &order.movement {
            Movement::Transfer { debit, credit } => Some(Operation::Transfer {
                debit_account: debit.to_string(),
                credit_account: credit.to_string(),
                amount,
                currency,
                memo,
            }),
            Movement::CashDeposit { account } => Some(Operation::CashDeposit {
                account: account.to_string(),
                amount,
                currency,
                memo,
            }),
            Movement::CashWithdrawal { account } => Some(Operation::CashWithdrawal {
                account: account.to_string(),
                amount,
                currency,
                memo,
            }),
            Movement::DrawerFromVault | Movement::DrawerToVault => None,
        }
    }

    fn to_order(&self) -> Result<Option<Order>, ApiError> {
        let parse = |number: &str| {
            AccountNumber::parse(number)
                .map_err(|e| ApiError::Internal(format!("stored account number: {e}")))
        };
        let money = |amount: &Decimal, currency: &str| -> Result<Amount, ApiError> {
            Ok(Amount::new(*amount, Currency::parse(currency)?)?)
        };
        Ok(Some(match self {
            Operation::Transfer {
                debit_account,
                credit_account,
                amount,
                currency,
                memo,
            } => Order {
                movement: Movement::Transfer {
                    debit: parse(debit_account)?,
                    credit: parse(credit_account)?,
                },
                amount: money(amount, currency)?,
                memo: memo.clone(),
            },
            Operation::CashDeposit {
                account,
                amount,
                currency,
                memo,
            } => Order {
                movement: Movement::CashDeposit {
                    account: parse(account)?,
                },
                amount: money(amount, currency)?,
                memo: memo.clone(),
            },
            Operation::CashWithdrawal {
                account,
                amount,
                currency,
                memo,
            } => Order {
                movement: Movement::CashWithdrawal {
                    account: parse(account)?,
                },
                amount: money(amount, currency)?,
                memo: memo.clone(),
            },
            Operation::Reversal { .. } | Operation::OverdraftLimit { .. } => return Ok(None),
        }))
    }
}

fn kind_word(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::CashDeposit => "Cash deposit",
        ApprovalKind::CashWithdrawal => "Cash withdrawal",
        ApprovalKind::Transfer => "Transfer",
        ApprovalKind::Reversal => "Reversal",
        ApprovalKind::OverdraftLimit => "Overdraft limit",
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: ProblemCode::ApprovalNotFound,
        detail: "no such approval request",
    }
}

/// The request a filing or a decision is about, as stored, for the response and the audit trail.
async fn load(conn: &mut PgConnection, id: Uuid) -> Result<ApprovalResponse, ApiError> {
    let row = data::approvals::find_approval(conn, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(ApprovalResponse::from_data(&row))
}

async fn audit(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    action: &str,
    before: Option<&ApprovalResponse>,
    after: &ApprovalResponse,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    crate::audit::record(
        conn,
        actor,
        request_id,
        crate::audit::Change {
            action,
            subject_type: "approval",
            subject_id: after.id.to_string(),
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: serde_json::to_value(after).ok(),
        },
    )
    .await?;
    Ok(())
}

/// Sets aside `amount` on a customer account for a request that waits, refusing if the
/// available balance does not cover it. The caller holds the account's lock.
async fn hold_for(
    conn: &mut PgConnection,
    account: &AccountRow,
    amount: Decimal,
    reason: &str,
    expires_at: time::OffsetDateTime,
    maker: Uuid,
) -> Result<Option<Uuid>, ApiError> {
    if account.kind != AccountKind::Customer {
        return Ok(None);
    }
    crate::posting::check_floor(account, -amount)?;
    let id = Uuid::now_v7();
    data::holds::insert_hold(
        conn,
        &data::holds::NewHold {
            id,
            account_id: account.id,
            amount,
            reason,
            expires_at,
            placed_by: Some(maker),
        },
    )
    .await?;
    Ok(Some(id))
}

/// Files an order that needs a supervisor (see `orders::post`). Runs in the order's transaction,
/// after its idempotency key is claimed; returns the response body (202).
pub async fn file_order(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    order: &Order,
    ttl_s: i64,
) -> Result<Value, ApiError> {
    let operation = Operation::from_order(order)
        .ok_or_else(|| ApiError::Internal("this movement is never approved".into()))?;
    let (kind, number, held) = match &order.movement {
        Movement::Transfer { debit, .. } => (ApprovalKind::Transfer, debit, true),
        Movement::CashWithdrawal { account } => (ApprovalKind::CashWithdrawal, account, true),
        Movement::CashDeposit { account } => (ApprovalKind::CashDeposit, account, false),
        Movement::DrawerFromVault | Movement::DrawerToVault => {
            return Err(ApiError::Internal("this movement is never approved".into()));
        }
    };
    let account = data::accounts::lock_account_by_number(conn, number.as_str())
        .await?
        .filter(|a| a.kind == AccountKind::Customer)
        .ok_or_else(account_not_found)?;
    let side = if held { Side::Debit } else { Side::Credit };
    crate::posting::check_movable(&account, side)?;
    let currency = order.amount.currency().code();
    if account.currency != currency {
        return Err(ApiError::refused(
            ProblemCode::CurrencyMismatch,
            format!(
                "account {} holds {}, not {currency}",
                account.number, account.currency
            ),
        ));
    }
    let amount = order.amount.value();
    let now = data::transaction_now(conn).await?;
    let expires_at = now + Duration::seconds(ttl_s);
    let summary = format!(
        "{} of {} {currency} {} {}",
        kind_word(kind),
        format_in_scale(amount, currency),
        if held { "from" } else { "to" },
        account.number
    );
    let hold_id = if held {
        hold_for(
            conn,
            &account,
            amount,
            &summary,
            expires_at,
            actor.user.user_id,
        )
        .await?
    } else {
        None
    };
    let id = Uuid::now_v7();
    let operation = serde_json::to_value(&operation)
        .map_err(|e| ApiError::Internal(format!("serialise an operation: {e}")))?;
    data::approvals::insert_approval(
        conn,
        &NewApproval {
            id,
            kind,
            maker_id: actor.user.user_id,
            account_id: account.id,
            customer_id: account.customer_id,
            amount: Some(amount),
            currency: Some(currency),
            summary: &summary,
            reason: &order.memo,
            operation: &operation,
            idempotency_key: Some(key.as_str()),
            hold_id,
            reverses_transfer_id: None,
            expires_at,
            request_id: actor.request_id,
        },
    )
    .await?;
    let filed = load(conn, id).await?;
    audit(
        conn,
        Some(actor.user.user_id),
        "approval.request",
        None,
        &filed,
        actor.request_id,
    )
    .await?;
    serde_json::to_value(&filed).map_err(|e| ApiError::Internal(format!("serialise: {e}")))
}

/// Asks for a transfer to be reversed: files a request for a supervisor, holding the amount on
/// the account the reversal would debit. Idempotent by key like any money-moving request.
pub async fn file_reversal(
    state: &AppState,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    transfer_id: Uuid,
    reason: &str,
) -> Result<Outcome, ApiError> {
    actor.user.require_role(&[Role::Teller, Role::Supervisor])?;
    let request_hash = Sha256::digest(format!("reversal\n{transfer_id}\n{reason}")).to_vec();
    crate::unit_of_work::write_once(
        state,
        actor.user.user_id,
        key,
        &request_hash,
        |tx, ticket, _| {
            Box::pin(async move {
                let now = ticket.now();
                let original = data::transfers::find_transfer(&mut *tx, transfer_id)
                    .await?
                    .ok_or(ApiError::NotFound {
                        code: ProblemCode::TransferNotFound,
                        detail: "no such transfer",
                    })?;
                if !matches!(
                    original.kind,
                    TransferKind::Transfer
                        | TransferKind::CashDeposit
                        | TransferKind::CashWithdrawal
                ) {
                    return Err(ApiError::refused(
                        ProblemCode::NotReversible,
                        NOT_REVERSIBLE,
                    ));
                }
                if data::transfers::reversal_of(&mut *tx, transfer_id)
                    .await?
                    .is_some()
                {
                    return Err(crate::posting::already_reversed());
                }
                if data::approvals::reversal_pending(&mut *tx, transfer_id).await? {
                    return Err(reversal_pending());
                }
                // The reversal debits the account the original credited.
                let (to_debit, to_credit) =
                    crate::posting::lock_for_reversal(&mut *tx, &original).await?;
                let subject = if to_debit.kind == AccountKind::Customer {
                    &to_debit
                } else {
                    &to_credit
                };
                let currency = &original.currency;
                let summary = format!(
                    "Reversal of {} {currency}: {} back to {}",
                    format_in_scale(original.amount, currency),
                    to_debit.number,
                    to_credit.number
                );
                let expires_at = now + Duration::seconds(state.settings.approval_ttl_s);
                let hold_id = hold_for(
                    &mut *tx,
                    &to_debit,
                    original.amount,
                    &summary,
                    expires_at,
                    actor.user.user_id,
                )
                .await?;
                let id = Uuid::now_v7();
                let operation = serde_json::to_value(Operation::Reversal { transfer_id })
                    .map_err(|e| ApiError::Internal(format!("serialise an operation: {e}")))?;
                data::approvals::insert_approval(
                    &mut *tx,
                    &NewApproval {
                        id,
                        kind: ApprovalKind::Reversal,
                        maker_id: actor.user.user_id,
                        account_id: subject.id,
                        customer_id: subject.customer_id,
                        amount: Some(original.amount),
                        currency: Some(currency),
                        summary: &summary,
                        reason,
                        operation: &operation,
                        idempotency_key: Some(key.as_str()),
                        hold_id,
                        reverses_transfer_id: Some(transfer_id),
                        expires_at,
                        request_id: actor.request_id,
                    },
                )
                .await
                .map_err(|e| match e.violation() {
                    Some(data::Violation::Other(c))
                        if c == "approval_requests_one_reversal_key" =>
                    {
                        reversal_pending()
                    }
                    _ => ApiError::from(e),
                })?;
                let filed = load(&mut *tx, id).await?;
                audit(
                    &mut *tx,
                    Some(actor.user.user_id),
                    "approval.request",
                    None,
                    &filed,
                    actor.request_id,
                )
                .await?;
                let body = serde_json::to_value(&filed)
                    .map_err(|e| ApiError::Internal(format!("serialise: {e}")))?;
                ticket.complete(tx, Completion::Accepted, body).await
            })
        },
    )
    .await
}

const NOT_REVERSIBLE: &str = "only transfers and cash deposits and withdrawals are reversed; \
     correct drawer and vault movements with a new one";

fn reversal_pending() -> ApiError {
    ApiError::Conflict {
        code: ProblemCode::ReversalPending,
        detail: "a reversal of this transfer is already waiting for approval".into(),
    }
}

/// Asks for an account's overdraft limit to be changed.
pub async fn file_overdraft_limit(
    state: &AppState,
    actor: Actor<'_>,
    number: &AccountNumber,
    limit: &str,
    reason: &str,
) -> Result<ApprovalResponse, ApiError> {
    actor.user.require_role(&[Role::Teller, Role::Supervisor])?;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let account = data::accounts::lock_account_by_number(&mut *tx, number.as_str())
                .await?
                .filter(|a| a.kind == AccountKind::Customer)
                .ok_or_else(account_not_found)?;
            let currency = Currency::parse(&account.currency)?;
            // No overdraft, however it is written ("0", "0.00", "0,00").
            let limit = if limit.trim().replace(',', ".").parse::<Decimal>() == Ok(Decimal::ZERO) {
                Decimal::ZERO
            } else {
                Amount::parse(limit, currency)
                    .map_err(|e| {
                        ApiError::invalid(ProblemCode::InvalidAmount, "limit", e.to_string())
                    })?
                    .value()
            };
            if account.product == Some(data::accounts::Product::Savings) && limit > Decimal::ZERO {
                return Err(ApiError::invalid(
                    ProblemCode::InvalidField,
                    "limit",
                    "savings accounts have no overdraft",
                ));
            }
            if limit == account.overdraft_limit {
                return Err(ApiError::invalid(
                    ProblemCode::InvalidField,
                    "limit",
                    "this is already the account's overdraft limit",
                ));
            }
            if account.status == data::accounts::AccountStatus::Closed {
                return Err(ApiError::refused(
                    ProblemCode::AccountNotOpen,
                    "the account is closed",
                ));
            }
            let now = data::transaction_now(&mut *tx).await?;
            // One overdraft change waits at a time (the account's row lock, taken above, orders
            // two filings): a second one, filed against the same limit as the first, would be
            // decided as it reads after the first changed the limit, a "cut" that grants credit.
            let waiting = data::approvals::list_approvals(
                &mut *tx,
                &ApprovalFilter {
                    status: Some(ApprovalStatus::Pending),
                    account_id: Some(account.id),
                    customer_id: None,
                    before: None,
                    limit: 100,
                },
            )
            .await?;
            if waiting
                .iter()
                .any(|r| r.kind == ApprovalKind::OverdraftLimit && r.expires_at > now)
            {
                return Err(ApiError::Conflict {
                    code: ProblemCode::ApprovalPending,
                    detail: "an overdraft change for this account already awaits approval: \
                             decide it first"
                        .into(),
                });
            }
            let code = currency.code();
            let summary = format!(
                "Overdraft limit of {} from {} to {} {code}",
                account.number,
                format_in_scale(account.overdraft_limit, code),
                format_in_scale(limit, code)
            );
            let id = Uuid::now_v7();
            let operation = serde_json::to_value(Operation::OverdraftLimit {
                account: account.number.clone(),
                limit,
                currency: code.to_owned(),
            })
            .map_err(|e| ApiError::Internal(format!("serialise an operation: {e}")))?;
            data::approvals::insert_approval(
                &mut *tx,
                &NewApproval {
                    id,
                    kind: ApprovalKind::OverdraftLimit,
                    maker_id: actor.user.user_id,
                    account_id: account.id,
                    customer_id: account.customer_id,
                    amount: (limit > Decimal::ZERO).then_some(limit),
                    currency: Some(code),
                    summary: &summary,
                    reason,
                    operation: &operation,
                    idempotency_key: None,
                    hold_id: None,
                    reverses_transfer_id: None,
                    expires_at: now + Duration::seconds(state.settings.approval_ttl_s),
                    request_id: actor.request_id,
                },
            )
            .await?;
            let filed = load(&mut *tx, id).await?;
            audit(
                &mut *tx,
                Some(actor.user.user_id),
                "approval.request",
                None,
                &filed,
                actor.request_id,
            )
            .await?;
            Ok(filed)
        })
    })
    .await
}

/// Requests staff may see: supervisors all, tellers the ones they made (and any for a customer or
/// account they are looking at).
/// A page of them, newest first; `filter.limit` is the page size.
pub async fn list(
    state: &AppState,
    user: &SessionUser,
    filter: ApprovalFilter,
) -> Result<ApprovalListResponse, ApiError> {
    user.require_role(&[Role::Teller, Role::Supervisor])?;
    let limit = filter.limit;
    let filter = ApprovalFilter {
        limit: limit + 1,
        ..filter
    };
    let filter = &filter;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::approvals::list_approvals(&mut *conn, filter).await?) })
    })
    .await?;
    let (rows, next_cursor) = crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_time(row.created_at, row.id)
    });
    Ok(ApprovalListResponse {
        approvals: rows.iter().map(ApprovalResponse::from_data).collect(),
        next_cursor,
    })
}

pub async fn get(
    state: &AppState,
    user: &SessionUser,
    id: Uuid,
) -> Result<ApprovalResponse, ApiError> {
    user.require_role(&[Role::Teller, Role::Supervisor])?;
    crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { load(&mut *conn, id).await })
    })
    .await
}

/// What a supervisor decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// Approves (and carries out) or rejects a pending request, in one transaction.
pub async fn decide(
    state: &AppState,
    checker: &SessionUser,
    id: Uuid,
    decision: Decision,
    note: &str,
    request_id: Option<&str>,
) -> Result<ApprovalResponse, ApiError> {
    checker.require_role(&[Role::Supervisor])?;
    crate::unit_of_work::retried(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let row = data::approvals::lock_approval(&mut tx, id)
            .await?
            .ok_or_else(not_found)?;
        let before = ApprovalResponse::from_data(&row);
        if row.maker_id == checker.user_id {
            return Err(ApiError::Forbidden {
                code: ProblemCode::OwnRequest,
                detail: "you made this request: a different supervisor must decide it",
            });
        }
        let wanted = match decision {
            Decision::Approve => ApprovalStatus::Approved,
            Decision::Reject => ApprovalStatus::Rejected,
        };
        if row.status != ApprovalStatus::Pending {
            // A repeated decision by the same supervisor (a retry) gets the same answer.
            if row.status == wanted && row.checker_id == Some(checker.user_id) {
                return Ok(Ok(before));
            }
            return Err(ApiError::Conflict {
                code: ProblemCode::ApprovalDecided,
                detail: format!("this request is already {}", status_word(row.status)),
            });
        }
        let now = data::transaction_now(&mut tx).await?;
        if row.expires_at <= now {
            expire(&mut tx, &row, request_id).await?;
            tx.commit().await.map_err(data::DataError::from)?;
            return Ok(Err(ApiError::Conflict {
                code: ProblemCode::ApprovalExpired,
                detail: "this request expired before it was decided; the maker must file it again"
                    .into(),
            }));
        }
        if let Some(hold) = row.hold_id {
            data::holds::release_hold(&mut tx, hold, Some(checker.user_id)).await?;
        }
        let transfer_id = match decision {
            Decision::Reject => None,
            Decision::Approve => carry_out(&mut tx, &row, checker, now, request_id).await?,
        };
        data::approvals::decide(
            &mut tx,
            id,
            wanted,
            Some(checker.user_id),
            note,
            transfer_id,
        )
        .await?;
        let after = load(&mut tx, id).await?;
        let action = match decision {
            Decision::Approve => "approval.approve",
            Decision::Reject => "approval.reject",
        };
        audit(
            &mut tx,
            Some(checker.user_id),
            action,
            Some(&before),
            &after,
            request_id,
        )
        .await?;
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(Ok(after))
    })
    .await?
}

fn status_word(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Rejected => "rejected",
        ApprovalStatus::Expired => "expired",
    }
}

/// Carries out an approved request; returns the transfer it posted, if it moves money.
async fn carry_out(
    conn: &mut PgConnection,
    row: &ApprovalRow,
    checker: &SessionUser,
    now: time::OffsetDateTime,
    request_id: Option<&str>,
) -> Result<Option<Uuid>, ApiError> {
    let operation: Operation = serde_json::from_value(row.operation.clone())
        .map_err(|e| ApiError::Internal(format!("stored operation: {e}")))?;
    if let Some(order) = operation.to_order()? {
        let maker = data::users::find_user(conn, row.maker_id)
            .await?
            .ok_or_else(|| ApiError::Internal("the maker is gone".into()))?;
        let initiator = Initiator {
            user_id: maker.id,
            role: maker.role,
            customer_id: maker.customer_id,
        };
        let key = IdempotencyKey::parse(row.idempotency_key.as_deref().unwrap_or_default())?;
        let posting = crate::posting::Posting {
            initiator: &initiator,
            key: &key,
            now,
            request_id,
            completion: KeyCompletion::Leave,
            batch_id: None,
        };
        let (transfer, mut body) = crate::posting::execute(conn, &posting, &order).await?;
        if let Some(object) = body.as_object_mut() {
            object.insert("approval_id".into(), row.id.to_string().into());
        }
        crate::posting::audit_posting(conn, checker.user_id, transfer, &body, request_id).await?;
        return Ok(Some(transfer.id));
    }
    match operation {
        Operation::Reversal { transfer_id } => {
            reverse(conn, row, checker, transfer_id, now, request_id)
                .await
                .map(Some)
        }
        Operation::OverdraftLimit { account, limit, .. } => {
            let locked = data::accounts::lock_account_by_number(conn, &account)
                .await?
                .ok_or_else(account_not_found)?;
            if locked.status == data::accounts::AccountStatus::Closed {
                return Err(ApiError::refused(
                    ProblemCode::AccountNotOpen,
                    "the account is closed",
                ));
            }
            let before = crate::wire::AccountResponse::from_data(&locked);
            data::accounts::set_overdraft_limit(conn, locked.id, limit).await?;
            let after_row = data::accounts::find_account(conn, locked.id)
                .await?
                .ok_or_else(account_not_found)?;
            let after = crate::wire::AccountResponse::from_data(&after_row);
            crate::audit::record(
                conn,
                Some(checker.user_id),
                request_id,
                crate::audit::Change {
                    action: "account.overdraft_limit",
                    subject_type: "account",
                    subject_id: locked.number.clone(),
                    before: serde_json::to_value(&before).ok(),
                    after: serde_json::to_value(&after).ok(),
                },
            )
            .await?;
            Ok(None)
        }
        _ => Err(ApiError::Internal("operation without an order".into())),
    }
}

/// Posts the reversal of `transfer_id` (see [`crate::posting::reverse`]) for the maker, and
/// audits it as the checker's.
async fn reverse(
    conn: &mut PgConnection,
    row: &ApprovalRow,
    checker: &SessionUser,
    transfer_id: Uuid,
    now: time::OffsetDateTime,
    request_id: Option<&str>,
) -> Result<Uuid, ApiError> {
    let original = data::transfers::find_transfer(conn, transfer_id)
        .await?
        .ok_or_else(|| ApiError::Internal("the reversed transfer is gone".into()))?;
    let key = row
        .idempotency_key
        .clone()
        .unwrap_or_else(|| format!("reversal-{transfer_id}"));
    let answer =
        crate::posting::reverse(conn, &original, &key, row.maker_id, request_id, now).await?;
    let mut body = crate::posting::to_body(&answer)?;
    if let Some(object) = body.as_object_mut() {
        object.insert("approval_id".into(), row.id.to_string().into());
    }
    crate::posting::audit_posting(
        conn,
        checker.user_id,
        crate::posting::NewTransferSummary {
            id: answer.id,
            kind: TransferKind::Reversal,
        },
        &body,
        request_id,
    )
    .await?;
    Ok(answer.id)
}

/// Lapses a pending request whose time ran out: its hold goes with it.
async fn expire(
    conn: &mut PgConnection,
    row: &ApprovalRow,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let before = ApprovalResponse::from_data(row);
    if let Some(hold) = row.hold_id {
        data::holds::release_hold(conn, hold, None).await?;
    }
    data::approvals::decide(
        conn,
        row.id,
        ApprovalStatus::Expired,
        None,
        "expired before a decision",
        None,
    )
    .await?;
    let after = load(conn, row.id).await?;
    audit(
        conn,
        None,
        "approval.expire",
        Some(&before),
        &after,
        request_id,
    )
    .await
}

/// Lapses every pending request whose time ran out; run by the janitor.
pub async fn expire_due(state: &AppState) -> Result<usize, ApiError> {
    let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
    let rows = data::approvals::lock_expired(&mut tx, LIST_MAX).await?;
    for row in &rows {
        expire(&mut tx, row, None).await?;
    }
    tx.commit().await.map_err(data::DataError::from)?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored as a decimal string, never a JSON number; what was stored as a string before reads
    /// back as the same amount, and a JSON number, NaN or nothing does not read at all.
    #[test]
    fn a_stored_operation_keeps_its_amount_as_decimal_text() {
        let operation = Operation::CashWithdrawal {
            account: "1000000001".into(),
            amount: Decimal::new(1250, 2),
            currency: "EUR".into(),
            memo: String::new(),
        };
        let stored = serde_json::to_value(&operation).unwrap();
        assert_eq!(stored["amount"], serde_json::json!("12.50"));
        let read: Operation = serde_json::from_value(stored).unwrap();
        let Operation::CashWithdrawal { amount, .. } = read else {
            panic!("{read:?}");
        };
        assert_eq!(amount, Decimal::new(1250, 2));
        for bad in [
            serde_json::json!(12.5),
            serde_json::json!("NaN"),
            serde_json::json!(""),
        ] {
            let mut stored = serde_json::to_value(&operation).unwrap();
            stored["amount"] = bad.clone();
            assert!(
                serde_json::from_value::<Operation>(stored).is_err(),
                "{bad} read as an amount"
            );
        }
    }
}
