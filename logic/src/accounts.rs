//! Accounts: opening by staff, reading balances, listing, and history.

use bank_api::ProblemCode;
use data::accounts::{AccountKind, AccountRow, NewAccount, NormalSide, Product};
use data::transfers::HistoryQuery;
use data::users::Role;
use rust_decimal::Decimal;
use time::Duration;
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::{AccountNumber, Currency, Day};
use crate::error::{ApiError, account_not_found};
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::{AccountResponse, HistoryResponse};

/// Entries per history page unless the client asks otherwise.
pub const HISTORY_PAGE_DEFAULT: i64 = 50;
/// The most entries one history page returns: bounded so one request cannot read a whole ledger.
pub const HISTORY_PAGE_MAX: i64 = 200;
/// Attempts to find an unused random account number; with 800 million numbers, a second attempt
/// is already rare.
const NUMBER_ATTEMPTS_MAX: usize = 8;
/// Longest account name, as in the `accounts.name` column.
const ACCOUNT_NAME_MAX_CHARS: usize = 100;

#[derive(Debug, Clone)]
pub struct Opening {
    pub customer_id: Uuid,
    pub product: Product,
    pub currency: Currency,
    pub name: String,
    pub overdraft_limit: Decimal,
}

impl Opening {
    pub fn parse(
        customer_id: Uuid,
        product: Product,
        currency: &str,
        name: Option<&str>,
        overdraft_limit: Option<&str>,
    ) -> Result<Self, ApiError> {
        let currency = Currency::parse(currency)?;
        let default_name = match product {
            Product::Current => "Current account",
            Product::Savings => "Savings account",
        };
        let name =
            crate::domain::text::bounded("name", name.unwrap_or(""), ACCOUNT_NAME_MAX_CHARS)?;
        let overdraft_limit = match overdraft_limit {
            None => Decimal::ZERO,
            Some("0") => Decimal::ZERO,
            Some(text) => crate::domain::Amount::parse(text, currency)
                .map_err(|e| {
                    ApiError::invalid(ProblemCode::InvalidAmount, "overdraft_limit", e.to_string())
                })?
                .value(),
        };
        if product == Product::Savings && overdraft_limit > Decimal::ZERO {
            return Err(ApiError::invalid(
                ProblemCode::InvalidField,
                "overdraft_limit",
                "savings accounts have no overdraft",
            ));
        }
        Ok(Self {
            customer_id,
            product,
            currency,
            name: if name.is_empty() {
                default_name.to_owned()
            } else {
                name
            },
            overdraft_limit,
        })
    }
}

pub async fn open(
    state: &AppState,
    staff: &SessionUser,
    request_id: Option<&str>,
    opening: &Opening,
) -> Result<AccountResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor, Role::Service])?;
    if opening.overdraft_limit > Decimal::ZERO {
        // Lending takes two people, at opening as later: the limit is requested once the account
        // is open, and a supervisor other than the one who asked approves it. Granted here, one
        // supervisor alone could lend, and pay the loan out in cash.
        return Err(ApiError::invalid(
            ProblemCode::InvalidField,
            "overdraft_limit",
            "an account opens without an overdraft: request one once it is open \
             (POST /v1/accounts/{number}/overdraft-limit), for a second supervisor to approve",
        ));
    }
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let Some(customer) =
                data::customers::find_customer(&mut *tx, opening.customer_id).await?
            else {
                return Err(ApiError::NotFound {
                    code: ProblemCode::CustomerNotFound,
                    detail: "no such customer",
                });
            };
            // Know your customer: no account before the identity is complete and valid.
            let today = data::transaction_now(&mut *tx).await?.date();
            let gaps = crate::customers::identity_gaps(&customer, today);
            if let Some(first) = gaps.first() {
                return Err(ApiError::invalid(
                    ProblemCode::IdentityIncomplete,
                    first,
                    format!(
                        "record the customer's {} before opening an account",
                        gaps.join(", ").replace('_', " ")
                    ),
                ));
            }
            let row = insert_with_fresh_number(&mut *tx, opening).await?;
            let response = AccountResponse::from_data(&row);
            crate::audit::record(
                &mut *tx,
                Some(staff.user_id),
                request_id,
                crate::audit::Change {
                    action: "account.open",
                    subject_type: "account",
                    subject_id: row.number.clone(),
                    before: None,
                    after: serde_json::to_value(&response).ok(),
                },
            )
            .await?;
            Ok(response)
        })
    })
    .await
}

async fn insert_with_fresh_number(
    conn: &mut data::PgConnection,
    opening: &Opening,
) -> Result<AccountRow, ApiError> {
    for _ in 0..NUMBER_ATTEMPTS_MAX {
        let number = crate::domain::account_number::random_customer();
        // A savepoint, so a taken number does not abort the surrounding transaction.
        let mut attempt = data::savepoint(conn).await?;
        let inserted = data::accounts::insert_account(
            &mut attempt,
            &NewAccount {
                id: Uuid::now_v7(),
                number: number.as_str(),
                kind: AccountKind::Customer,
                product: Some(opening.product),
                name: &opening.name,
                customer_id: Some(opening.customer_id),
                ledger: None,
                currency: opening.currency.code(),
                normal_side: NormalSide::Credit,
                overdraft_limit: opening.overdraft_limit,
                floor_enforced: true,
            },
        )
        .await;
        match inserted {
            Ok(row) => {
                attempt.commit().await.map_err(data::DataError::from)?;
                return Ok(row);
            }
            Err(e) if e.violation() == Some(&data::Violation::AccountNumberTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Internal("no free account number found".into()))
}

/// Reads an account the user may see: staff any, a customer only their own.
pub async fn get(
    state: &AppState,
    user: &SessionUser,
    number: &AccountNumber,
) -> Result<AccountRow, ApiError> {
    let row = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::accounts::find_account_by_number(&mut *conn, number.as_str()).await?)
        })
    })
    .await?;
    match row {
        Some(row)
            if user.reaches_every_customer()
                || (row.kind == AccountKind::Customer && row.customer_id == user.customer_id) =>
        {
            Ok(row)
        }
        _ => Err(account_not_found()),
    }
}

/// A page of a customer's accounts, oldest first: a customer's own, or for staff the customer
/// they name.
pub async fn list(
    state: &AppState,
    user: &SessionUser,
    customer_id: Option<Uuid>,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<AccountRow>, Option<String>), ApiError> {
    let customer_id = if user.reaches_every_customer() {
        customer_id.ok_or_else(|| ApiError::BadRequest {
            code: ProblemCode::CustomerIdRequired,
            detail: "staff list accounts of one customer: add ?customer_id=".into(),
        })?
    } else {
        match (customer_id, user.customer_id) {
            (Some(asked), Some(own)) if asked != own => return Ok((Vec::new(), None)),
            (_, Some(own)) => own,
            (_, None) => return Err(ApiError::Internal("customer user without customer".into())),
        }
    };
    let after = match cursor {
        None => None,
        Some(cursor) => {
            let (at, number): (i128, String) = crate::cursor::decode(cursor)?;
            Some((crate::cursor::from_instant(at)?, number))
        }
    };
    let after = &after;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::accounts::list_customer_accounts(
                &mut *conn,
                customer_id,
                after.clone(),
                limit + 1,
            )
            .await?)
        })
    })
    .await?;
    Ok(crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode(&(crate::cursor::instant(row.created_at), &row.number))
    }))
}

/// Which part of an account's history to read.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// First day included (UTC).
    pub from: Option<Day>,
    /// Last day included (UTC).
    pub to: Option<Day>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    /// Only entries whose memo or counterparty account contains this text.
    pub text: Option<String>,
}

/// Longest history search text: a memo is at most 140 characters.
const SEARCH_TEXT_MAX_CHARS: usize = 140;
/// Most entries one statement lists. A statement longer than this is refused with a request for a
/// shorter period, so that no single download reads an unbounded part of the ledger.
pub const STATEMENT_ENTRIES_MAX: i64 = 10_000;

pub async fn history(
    state: &AppState,
    user: &SessionUser,
    number: &AccountNumber,
    filter: &HistoryFilter,
) -> Result<HistoryResponse, ApiError> {
    let limit = filter.limit.unwrap_or(HISTORY_PAGE_DEFAULT);
    if !(1..=HISTORY_PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid(
            ProblemCode::InvalidQuery,
            "limit",
            format!("limit must be between 1 and {HISTORY_PAGE_MAX}"),
        ));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::invalid(
            ProblemCode::InvalidQuery,
            "from",
            "from must not be after to",
        ));
    }
    let before_entry_id = filter
        .cursor
        .as_deref()
        .map(crate::cursor::decode_serial)
        .transpose()?;
    let text = match filter.text.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => Some(crate::domain::text::bounded(
            "q",
            text,
            SEARCH_TEXT_MAX_CHARS,
        )?),
        _ => None,
    };
    let account = get(state, user, number).await?;
    let query = HistoryQuery {
        account_id: account.id,
        posted_from: filter.from.map(Day::start),
        posted_before: filter.to.map(Day::end),
        before_entry_id,
        text,
        limit: limit + 1,
    };
    let query = &query;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::transfers::account_history(&mut *conn, query).await?) })
    })
    .await?;
    let (rows, next_cursor) =
        crate::cursor::page(rows, limit, |row| crate::cursor::encode_serial(row.id));
    Ok(HistoryResponse {
        account: account.number.clone(),
        currency: account.currency.clone(),
        entries: rows
            .iter()
            .map(|row| crate::wire::entry(row, account.normal_side, &account.currency))
            .collect(),
        next_cursor,
    })
}

/// A statement for the days `from` to `to` (UTC, both included): the opening balance, every
/// entry, the closing balance and the period's totals.
pub async fn statement(
    state: &AppState,
    user: &SessionUser,
    number: &AccountNumber,
    from: Day,
    to: Day,
) -> Result<crate::wire::StatementResponse, ApiError> {
    if from > to {
        return Err(ApiError::invalid(
            ProblemCode::InvalidQuery,
            "from",
            "from must not be after to",
        ));
    }
    let account = get(state, user, number).await?;
    let (start, end) = (from.start(), to.end());
    let (opening, rows, holder, issued_at) =
        crate::unit_of_work::retried(state.settings.retry_budget_ms, || async {
            // One snapshot, so the opening balance, the entries and the holder agree.
            let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
            let opening = data::transfers::balance_before(&mut tx, account.id, start).await?;
            let rows = data::transfers::entries_between(
                &mut tx,
                account.id,
                start,
                end,
                STATEMENT_ENTRIES_MAX + 1,
            )
            .await?;
            let holder = match account.customer_id {
                Some(id) => data::customers::find_customer(&mut tx, id).await?,
                None => None,
            };
            let issued_at = data::transaction_now(&mut tx).await?;
            tx.commit().await.map_err(data::DataError::from)?;
            Ok((opening, rows, holder, issued_at))
        })
        .await?;
    if rows.len() as i64 > STATEMENT_ENTRIES_MAX {
        return Err(ApiError::invalid(
            ProblemCode::StatementTooLong,
            "to",
            format!(
                "this period has more than {STATEMENT_ENTRIES_MAX} entries; choose a shorter one"
            ),
        ));
    }
    let side = account.normal_side;
    let opening = crate::wire::position(side, opening);
    let closing = rows.last().map_or(opening, |row| {
        crate::wire::position(side, row.balance_after)
    });
    let (mut total_in, mut total_out) = (Decimal::ZERO, Decimal::ZERO);
    for row in &rows {
        let amount = crate::wire::position(side, row.amount);
        if amount > Decimal::ZERO {
            total_in += amount;
        } else {
            total_out -= amount;
        }
    }
    let currency = &account.currency;
    let format = |value| crate::domain::money::format_in_scale(value, currency);
    Ok(crate::wire::StatementResponse {
        account: account.number.clone(),
        account_name: account.name.clone(),
        holder_name: holder.as_ref().map(|h| h.full_name.clone()),
        holder_address: holder.and_then(|h| h.address),
        issued_at,
        currency: currency.clone(),
        from: from.date(),
        to: to.date(),
        opening_balance: format(opening),
        closing_balance: format(closing),
        total_in: format(total_in),
        total_out: format(total_out),
        entries: rows
            .iter()
            .map(|row| crate::wire::entry(row, side, currency))
            .collect(),
    })
}

/// A change of an account's status, asked for by staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Freeze(data::accounts::FreezeScope),
    Unfreeze,
    Close,
}

/// Longest reason for a status change or hold, as in the columns.
const REASON_MAX_CHARS: usize = 200;

/// Freezes, unfreezes or closes a customer account, with a reason; audited with before and after.
/// An account closes only at a zero balance, with no active hold and nothing awaiting approval.
pub async fn change_status(
    state: &AppState,
    staff: &SessionUser,
    request_id: Option<&str>,
    number: &AccountNumber,
    change: StatusChange,
    reason: &str,
) -> Result<AccountResponse, ApiError> {
    use data::accounts::AccountStatus;
    match change {
        StatusChange::Freeze(_) | StatusChange::Close => {
            staff.require_role(&[Role::Teller, Role::Supervisor])?
        }
        // Lifting a freeze is a supervisor's decision.
        StatusChange::Unfreeze => staff.require_role(&[Role::Supervisor])?,
    }
    let reason = crate::domain::text::required("reason", reason, REASON_MAX_CHARS)?;
    let reason = &reason;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let account = data::accounts::lock_account_by_number(&mut *tx, number.as_str())
                .await?
                .filter(|a| a.kind == AccountKind::Customer)
                .ok_or_else(account_not_found)?;
            let before = AccountResponse::from_data(&account);
            let refused = |code, detail: &str| Err(ApiError::refused(code, detail.to_owned()));
            let (status, scope, action) = match (change, account.status) {
                (_, AccountStatus::Closed) => {
                    return refused(ProblemCode::AccountClosed, "the account is closed");
                }
                (StatusChange::Freeze(scope), _) => {
                    (AccountStatus::Frozen, Some(scope), "account.freeze")
                }
                (StatusChange::Unfreeze, AccountStatus::Frozen) => {
                    (AccountStatus::Open, None, "account.unfreeze")
                }
                (StatusChange::Unfreeze, _) => {
                    return refused(ProblemCode::AccountNotFrozen, "the account is not frozen");
                }
                (StatusChange::Close, _) => {
                    if account.balance != Decimal::ZERO {
                        return refused(
                            ProblemCode::BalanceNotZero,
                            "the account still holds money: pay out or transfer the balance first",
                        );
                    }
                    if account.held > Decimal::ZERO {
                        return refused(
                            ProblemCode::HoldsActive,
                            "release the account's holds first",
                        );
                    }
                    let pending = data::approvals::list_approvals(
                        &mut *tx,
                        &data::approvals::ApprovalFilter {
                            status: Some(data::approvals::ApprovalStatus::Pending),
                            account_id: Some(account.id),
                            customer_id: None,
                            before: None,
                            limit: 1,
                        },
                    )
                    .await?;
                    if !pending.is_empty() {
                        return refused(
                            ProblemCode::ApprovalPending,
                            "a request for this account awaits approval; decide it first",
                        );
                    }
                    (AccountStatus::Closed, None, "account.close")
                }
            };
            data::accounts::set_status(&mut *tx, account.id, status, scope, reason)
                .await
                .map_err(|e| match e.violation() {
                    Some(data::Violation::Other(c)) if c == "accounts_closed_at_zero" => {
                        ApiError::refused(
                            ProblemCode::BalanceNotZero,
                            "the account still holds money",
                        )
                    }
                    _ => ApiError::from(e),
                })?;
            let after_row = data::accounts::find_account(&mut *tx, account.id)
                .await?
                .ok_or_else(account_not_found)?;
            let after = AccountResponse::from_data(&after_row);
            crate::audit::record(
                &mut *tx,
                Some(staff.user_id),
                request_id,
                crate::audit::Change {
                    action,
                    subject_type: "account",
                    subject_id: account.number.clone(),
                    before: serde_json::to_value(&before).ok(),
                    after: serde_json::to_value(&after).ok(),
                },
            )
            .await?;
            Ok(after)
        })
    })
    .await
}

/// Longest a hold may last: a year.
const HOLD_DAYS_MAX: i64 = 366;

/// Places a hold on a customer account: it reduces the available balance, never the ledger
/// balance, until it is released or expires. Refused if the available balance does not cover it.
pub async fn place_hold(
    state: &AppState,
    staff: &SessionUser,
    request_id: Option<&str>,
    number: &AccountNumber,
    amount: &str,
    reason: &str,
    expires_at: time::OffsetDateTime,
) -> Result<crate::wire::HoldResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor])?;
    let reason = crate::domain::text::required("reason", reason, REASON_MAX_CHARS)?;
    let reason = &reason;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let account = data::accounts::lock_account_by_number(&mut *tx, number.as_str())
                .await?
                .filter(|a| a.kind == AccountKind::Customer)
                .ok_or_else(account_not_found)?;
            let amount = crate::domain::Amount::parse(amount, Currency::parse(&account.currency)?)?;
            let now = data::transaction_now(&mut *tx).await?;
            if expires_at <= now || expires_at > now + Duration::days(HOLD_DAYS_MAX) {
                return Err(ApiError::invalid(
                    ProblemCode::HoldExpiryOutOfRange,
                    "expires_at",
                    format!("a hold expires in the future, within {HOLD_DAYS_MAX} days"),
                ));
            }
            if account.status == data::accounts::AccountStatus::Closed {
                return Err(ApiError::refused(
                    ProblemCode::AccountClosed,
                    "the account is closed",
                ));
            }
            crate::posting::check_floor(&account, -amount.value())?;
            let id = Uuid::now_v7();
            data::holds::insert_hold(
                &mut *tx,
                &data::holds::NewHold {
                    id,
                    account_id: account.id,
                    amount: amount.value(),
                    reason,
                    expires_at,
                    placed_by: Some(staff.user_id),
                },
            )
            .await?;
            let row = data::holds::find_hold(&mut *tx, id)
                .await?
                .ok_or_else(|| ApiError::Internal("the hold just placed is gone".into()))?;
            let response = crate::wire::hold(&row, &account, now);
            crate::audit::record(
                &mut *tx,
                Some(staff.user_id),
                request_id,
                crate::audit::Change {
                    action: "hold.place",
                    subject_type: "account",
                    subject_id: account.number.clone(),
                    before: None,
                    after: serde_json::to_value(&response).ok(),
                },
            )
            .await?;
            Ok(response)
        })
    })
    .await
}

/// A page of an account's holds, newest first.
pub async fn holds(
    state: &AppState,
    staff: &SessionUser,
    number: &AccountNumber,
    cursor: Option<&str>,
    limit: i64,
) -> Result<crate::wire::HoldListResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor, Role::Admin])?;
    let before = cursor.map(crate::cursor::decode_time).transpose()?;
    let account = get(state, staff, number).await?;
    let (rows, now) = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            let now = data::transaction_now(&mut *conn).await?;
            let rows =
                data::holds::account_holds(&mut *conn, account.id, before, limit + 1).await?;
            Ok((rows, now))
        })
    })
    .await?;
    let (rows, next_cursor) = crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_time(row.created_at, row.id)
    });
    Ok(crate::wire::HoldListResponse {
        holds: rows
            .iter()
            .map(|row| crate::wire::hold(row, &account, now))
            .collect(),
        next_cursor,
    })
}

/// Releases an active hold. Holds that guard a request awaiting approval are released by its
/// decision, not by hand.
pub async fn release_hold(
    state: &AppState,
    staff: &SessionUser,
    request_id: Option<&str>,
    id: Uuid,
) -> Result<crate::wire::HoldResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor])?;
    let not_found = || ApiError::NotFound {
        code: ProblemCode::HoldNotFound,
        detail: "no such hold",
    };
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let hold = data::holds::find_hold(&mut *tx, id)
                .await?
                .ok_or_else(not_found)?;
            let account = data::accounts::lock_accounts(&mut *tx, &[hold.account_id])
                .await?
                .pop()
                .ok_or_else(not_found)?;
            let guarding = data::approvals::hold_guards_pending(&mut *tx, id).await?;
            if guarding {
                return Err(ApiError::refused(
                    ProblemCode::HoldGuardsApproval,
                    "this hold guards a request awaiting approval; approve or reject the request",
                ));
            }
            let now = data::transaction_now(&mut *tx).await?;
            let before = crate::wire::hold(&hold, &account, now);
            if !data::holds::release_hold(&mut *tx, id, Some(staff.user_id)).await? {
                return Err(ApiError::Conflict {
                    code: ProblemCode::HoldNotActive,
                    detail: "this hold was already released or has expired".into(),
                });
            }
            let row = data::holds::find_hold(&mut *tx, id)
                .await?
                .ok_or_else(not_found)?;
            let after = crate::wire::hold(&row, &account, now);
            crate::audit::record(
                &mut *tx,
                Some(staff.user_id),
                request_id,
                crate::audit::Change {
                    action: "hold.release",
                    subject_type: "account",
                    subject_id: account.number.clone(),
                    before: serde_json::to_value(&before).ok(),
                    after: serde_json::to_value(&after).ok(),
                },
            )
            .await?;
            Ok(after)
        })
    })
    .await
}
