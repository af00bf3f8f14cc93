//! Tellers' cash drawers: opened with a float from the vault, used for every cash deposit and
//! withdrawal at the counter, topped up from or emptied into the vault, and closed by counting
//! the notes and coins. A difference between the count and the ledger is posted to the over/short
//! account, and the counted cash goes back to the vault, leaving the drawer's account at zero.

use bank_api::ProblemCode;
use std::collections::BTreeMap;

use data::PgConnection;
use data::accounts::{AccountKind, AccountStatus, InternalLedger, NewAccount, NormalSide};
use data::transfers::{NewTransfer, TransferKind};
use data::users::Role;
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::money::format_in_scale;
use crate::domain::{Amount, Currency};
use crate::error::ApiError;
use crate::idempotency::{Completion, IdempotencyKey, Outcome};
use crate::posting::Actor;
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::{DrawerListResponse, DrawerResponse};

/// Most movements a drawer read lists.
const DRAWER_ENTRIES_MAX: i64 = 200;
/// Most denominations a count may list, and the most pieces of one.
const DENOMINATIONS_MAX: usize = 30;
const PIECES_MAX: u32 = 100_000;

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: ProblemCode::DrawerNotFound,
        detail: "no such drawer",
    }
}

fn serialise(value: &impl serde::Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("serialise: {e}")))
}

async fn audit(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    action: &str,
    before: Option<&DrawerResponse>,
    after: &DrawerResponse,
) -> Result<(), ApiError> {
    crate::audit::record(
        conn,
        Some(actor.user.user_id),
        actor.request_id,
        crate::audit::Change {
            action,
            subject_type: "drawer",
            subject_id: after.id.to_string(),
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: serde_json::to_value(after).ok(),
        },
    )
    .await?;
    Ok(())
}

/// Posts a transfer between two internal accounts the caller has locked or just created.
#[allow(
    clippy::too_many_arguments,
    reason = "one posting's every fact, each a different type; a struct would only rename them"
)]
async fn post_internal(
    conn: &mut PgConnection,
    key: &str,
    kind: TransferKind,
    amount: Decimal,
    currency: &str,
    debit: Uuid,
    credit: Uuid,
    memo: &str,
    actor: Actor<'_>,
) -> Result<(), ApiError> {
    crate::posting::post_internal(
        conn,
        &NewTransfer {
            id: Uuid::now_v7(),
            idempotency_key: key,
            kind,
            amount,
            currency,
            debit_account_id: debit,
            credit_account_id: credit,
            memo,
            initiated_by: Some(actor.user.user_id),
            reverses_transfer_id: None,
            request_id: actor.request_id,
            batch_id: None,
        },
        || {
            ApiError::refused(
                ProblemCode::VaultCashInsufficient,
                "the vault does not hold enough cash for this",
            )
        },
    )
    .await
}

/// Opens the teller's drawer in `currency` with `float` from the vault (zero is allowed).
pub async fn open(
    state: &AppState,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    currency: Currency,
    float: &str,
) -> Result<Outcome, ApiError> {
    actor.user.require_role(&[Role::Teller, Role::Supervisor])?;
    let float = match float.trim() {
        "0" | "" => Decimal::ZERO,
        text => Amount::parse(text, currency)?.value(),
    };
    let code = currency.code();
    let request_hash = Sha256::digest(format!("drawer_open\n{code}\n{float}")).to_vec();
    crate::unit_of_work::write_once(
        state,
        actor.user.user_id,
        key,
        &request_hash,
        |tx, ticket, _| {
            Box::pin(async move {
                if data::drawers::open_drawer(&mut *tx, actor.user.user_id, code)
                    .await?
                    .is_some()
                {
                    return Err(ApiError::Conflict {
                        code: ProblemCode::DrawerAlreadyOpen,
                        detail: format!("you already have an open {code} drawer"),
                    });
                }
                // A drawer's cash comes from and returns to the vault: no vault, no drawer.
                let vault = data::accounts::find_internal_account(
                    &mut *tx,
                    InternalLedger::VaultCash,
                    code,
                )
                .await?
                .ok_or_else(|| {
                    ApiError::refused(
                        ProblemCode::NoVaultForCurrency,
                        format!("the branch holds no {code} cash"),
                    )
                })?;
                let account = insert_drawer_account(&mut *tx, &actor.user.username, code).await?;
                let id = Uuid::now_v7();
                data::drawers::insert_drawer(
                    &mut *tx,
                    &data::drawers::NewDrawer {
                        id,
                        teller_id: actor.user.user_id,
                        account_id: account,
                        currency: code,
                        opening_float: float,
                    },
                )
                .await
                .map_err(|e| match e.violation() {
                    Some(data::Violation::Other(c)) if c == "teller_drawers_open_key" => {
                        ApiError::Conflict {
                            code: ProblemCode::DrawerAlreadyOpen,
                            detail: format!("you already have an open {code} drawer"),
                        }
                    }
                    _ => ApiError::from(e),
                })?;
                if float > Decimal::ZERO {
                    data::accounts::lock_accounts(&mut *tx, &[vault.id, account]).await?;
                    post_internal(
                        &mut *tx,
                        key.as_str(),
                        TransferKind::DrawerTransfer,
                        float,
                        code,
                        account,
                        vault.id,
                        "Opening float",
                        actor,
                    )
                    .await?;
                }
                let row = data::drawers::find_drawer(&mut *tx, id)
                    .await?
                    .ok_or_else(not_found)?;
                let response = DrawerResponse::from_data(&row);
                audit(&mut *tx, actor, "drawer.open", None, &response).await?;
                let body = serialise(&response)?;
                ticket.complete(tx, Completion::Created, body).await
            })
        },
    )
    .await
}

/// Creates the internal account of a new drawer.
async fn insert_drawer_account(
    conn: &mut PgConnection,
    teller: &str,
    currency: &str,
) -> Result<Uuid, ApiError> {
    let today = time::OffsetDateTime::now_utc().date();
    let name = format!("Drawer of {teller}, {today}");
    insert_internal_account(conn, InternalLedger::TellerDrawer, &name, currency).await
}

/// The over/short account of `currency`, created the first time a drawer needs it.
async fn over_short_account(conn: &mut PgConnection, currency: &str) -> Result<Uuid, ApiError> {
    if let Some(account) =
        data::accounts::find_internal_account(conn, InternalLedger::OverShort, currency).await?
    {
        return Ok(account.id);
    }
    let name = format!("Cash over and short, {currency}");
    insert_internal_account(conn, InternalLedger::OverShort, &name, currency).await
}

/// Creates an internal account with a fresh number starting with 9. Drawers have a floor (they
/// cannot hold less than nothing); the over/short account absorbs differences and has none.
async fn insert_internal_account(
    conn: &mut PgConnection,
    ledger: InternalLedger,
    name: &str,
    currency: &str,
) -> Result<Uuid, ApiError> {
    let name: String = name.chars().take(100).collect();
    for _ in 0..8 {
        let number = crate::domain::account_number::random_internal();
        let mut attempt = data::savepoint(conn).await?;
        let id = Uuid::now_v7();
        let inserted = data::accounts::insert_account(
            &mut attempt,
            &NewAccount {
                id,
                number: number.as_str(),
                kind: AccountKind::Internal,
                product: None,
                name: &name,
                customer_id: None,
                ledger: Some(ledger),
                currency,
                normal_side: NormalSide::Debit,
                overdraft_limit: Decimal::ZERO,
                floor_enforced: ledger != InternalLedger::OverShort,
            },
        )
        .await;
        match inserted {
            Ok(_) => {
                attempt.commit().await.map_err(data::DataError::from)?;
                return Ok(id);
            }
            Err(e) if e.violation() == Some(&data::Violation::AccountNumberTaken) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Internal("no free account number found".into()))
}

/// A drawer with its movements since it opened. Tellers see their own; supervisors any.
pub async fn get(
    state: &AppState,
    user: &SessionUser,
    id: Uuid,
) -> Result<DrawerResponse, ApiError> {
    user.require_role(&[Role::Teller, Role::Supervisor])?;
    crate::unit_of_work::retried(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let row = data::drawers::find_drawer(&mut tx, id)
            .await?
            .filter(|row| row.teller_id == user.user_id || user.role == Role::Supervisor)
            .ok_or_else(not_found)?;
        let entries = data::transfers::account_history(
            &mut tx,
            &data::transfers::HistoryQuery {
                account_id: row.account_id,
                posted_from: None,
                posted_before: None,
                before_entry_id: None,
                text: None,
                limit: DRAWER_ENTRIES_MAX,
            },
        )
        .await?;
        tx.commit().await.map_err(data::DataError::from)?;
        let mut response = DrawerResponse::from_data(&row);
        response.entries = entries
            .iter()
            .map(|entry| crate::wire::entry(entry, NormalSide::Debit, &row.currency))
            .collect();
        Ok(response)
    })
    .await
}

/// A page of the caller's drawers (open first, then the latest opened), or for supervisors with
/// `all`, of every open drawer of the branch.
pub async fn list(
    state: &AppState,
    user: &SessionUser,
    all: bool,
    cursor: Option<&str>,
    limit: i64,
) -> Result<DrawerListResponse, ApiError> {
    user.require_role(&[Role::Teller, Role::Supervisor])?;
    if all {
        user.require_role(&[Role::Supervisor])?;
    }
    let after = match cursor {
        None => None,
        Some(cursor) => {
            let (closed, at, id): (bool, i128, Uuid) = crate::cursor::decode(cursor)?;
            Some((closed, crate::cursor::from_instant(at)?, id))
        }
    };
    let teller = (!all).then_some(user.user_id);
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::drawers::list_drawers(&mut *conn, teller, after, limit + 1).await?)
        })
    })
    .await?;
    let (rows, next_cursor) = crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode(&(
            row.closed_at.is_some(),
            crate::cursor::instant(row.opened_at),
            row.id,
        ))
    });
    Ok(DrawerListResponse {
        drawers: rows.iter().map(DrawerResponse::from_data).collect(),
        next_cursor,
    })
}

/// Parses a count: denomination (a decimal string in the currency's scale) → number of pieces.
fn count(
    denominations: &BTreeMap<String, u32>,
    currency: Currency,
) -> Result<(Value, Decimal), ApiError> {
    if denominations.len() > DENOMINATIONS_MAX {
        return Err(ApiError::invalid(
            ProblemCode::InvalidField,
            "denominations",
            format!("at most {DENOMINATIONS_MAX} denominations"),
        ));
    }
    let mut total = Decimal::ZERO;
    let mut normalised = serde_json::Map::new();
    for (denomination, pieces) in denominations {
        let value = Amount::parse(denomination, currency)
            .map_err(|_| {
                ApiError::invalid(
                    ProblemCode::InvalidField,
                    "denominations",
                    format!(
                        "{denomination:?} is not a denomination of {}",
                        currency.code()
                    ),
                )
            })?
            .value();
        if *pieces > PIECES_MAX {
            return Err(ApiError::invalid(
                ProblemCode::InvalidField,
                "denominations",
                format!("at most {PIECES_MAX} pieces of one denomination"),
            ));
        }
        if *pieces > 0 {
            total += value * Decimal::from(*pieces);
            normalised.insert(format_in_scale(value, currency.code()), (*pieces).into());
        }
    }
    Ok((Value::Object(normalised), total))
}

/// Closes a drawer by its count. The difference from the ledger's position goes to over/short;
/// the counted cash goes back to the vault; the drawer's account closes at zero.
/// The approval threshold divided by this is the largest difference at closing that a drawer's
/// keeper books alone (see [`close`]).
pub const DIFFERENCE_TOLERANCE_DIVISOR: i64 = 100;

pub async fn close(
    state: &AppState,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    id: Uuid,
    denominations: &BTreeMap<String, u32>,
) -> Result<Outcome, ApiError> {
    actor.user.require_role(&[Role::Teller, Role::Supervisor])?;
    let request_hash = Sha256::digest(format!(
        "drawer_close\n{id}\n{}",
        serde_json::to_string(denominations).unwrap_or_default()
    ))
    .to_vec();
    crate::unit_of_work::write_once(
        state,
        actor.user.user_id,
        key,
        &request_hash,
        |tx, ticket, _| {
            Box::pin(async move {
                let drawer = data::drawers::lock_open_drawer(&mut *tx, id)
                    .await?
                    .filter(|row| {
                        row.teller_id == actor.user.user_id || actor.user.role == Role::Supervisor
                    })
                    .ok_or(ApiError::NotFound {
                        code: ProblemCode::DrawerNotFound,
                        detail: "no such open drawer of yours",
                    })?;
                let currency = Currency::parse(&drawer.currency)?;
                let (denominations, counted) = count(denominations, currency)?;
                let code = currency.code();
                let vault = data::accounts::find_internal_account(
                    &mut *tx,
                    InternalLedger::VaultCash,
                    code,
                )
                .await?
                .ok_or_else(|| {
                    ApiError::refused(
                        ProblemCode::NoVaultForCurrency,
                        format!("the branch holds no {code} cash to return the drawer to"),
                    )
                })?;
                let over_short = over_short_account(&mut *tx, code).await?;
                let locked = data::accounts::lock_accounts(
                    &mut *tx,
                    &[vault.id, over_short, drawer.account_id],
                )
                .await?;
                let account = locked
                    .iter()
                    .find(|a| a.id == drawer.account_id)
                    .ok_or_else(not_found)?;
                let before = DrawerResponse::from_data(&drawer);
                // The drawer is debit-normal: its cash is minus its signed balance.
                let expected = -account.balance;
                let difference = counted - expected;
                // Dual control: a difference larger than a hundredth of the currency's approval
                // threshold (100.00 EUR of 10,000) is not booked by whoever kept the drawer; a
                // supervisor counts it again and closes it. Else one person could take a float
                // from the vault and book it all as short.
                let threshold = data::limits::approval_threshold(&mut *tx, code)
                    .await?
                    .unwrap_or(Decimal::ZERO);
                let tolerance = threshold / Decimal::from(DIFFERENCE_TOLERANCE_DIVISOR);
                if difference.abs() > tolerance && drawer.teller_id == actor.user.user_id {
                    return Err(ApiError::refused(
                        ProblemCode::DrawerDifferenceTooLarge,
                        format!(
                            "the count differs from what the drawer holds by {} {code}, more than \
                             the {} {code} its keeper may book alone: a supervisor counts it again \
                             and closes the drawer",
                            format_in_scale(difference.abs(), code),
                            format_in_scale(tolerance, code)
                        ),
                    ));
                }
                let over_short_key = format!("{}-over-short", key.as_str());
                if difference > Decimal::ZERO {
                    post_internal(
                        &mut *tx,
                        &over_short_key,
                        TransferKind::OverShort,
                        difference,
                        code,
                        drawer.account_id,
                        over_short,
                        "Drawer over at closing",
                        actor,
                    )
                    .await?;
                } else if difference < Decimal::ZERO {
                    post_internal(
                        &mut *tx,
                        &over_short_key,
                        TransferKind::OverShort,
                        -difference,
                        code,
                        over_short,
                        drawer.account_id,
                        "Drawer short at closing",
                        actor,
                    )
                    .await?;
                }
                if counted > Decimal::ZERO {
                    post_internal(
                        &mut *tx,
                        key.as_str(),
                        TransferKind::DrawerTransfer,
                        counted,
                        code,
                        vault.id,
                        drawer.account_id,
                        "Drawer returned to the vault",
                        actor,
                    )
                    .await?;
                }
                data::drawers::close_drawer(&mut *tx, id, &denominations, counted, difference)
                    .await?;
                data::accounts::set_status(
                    &mut *tx,
                    drawer.account_id,
                    AccountStatus::Closed,
                    None,
                    "drawer closed",
                )
                .await?;
                let row = data::drawers::find_drawer(&mut *tx, id)
                    .await?
                    .ok_or_else(not_found)?;
                let response = DrawerResponse::from_data(&row);
                audit(&mut *tx, actor, "drawer.close", Some(&before), &response).await?;
                let body = serialise(&response)?;
                ticket.complete(tx, Completion::Created, body).await
            })
        },
    )
    .await
}
