//! A customer's saved payees.

use bank_api::ProblemCode;
use bank_api::sessions::StepUpProof;
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::AccountNumber;
use crate::error::{ApiError, account_not_found};
use crate::state::AppState;
use crate::wire::{PayeeListResponse, PayeeResponse};

/// Most payees one customer keeps: a bounded list stays readable and cheap.
pub const PAYEES_MAX: i64 = 100;
const NICKNAME_MAX_CHARS: usize = 40;

fn customer_of(user: &SessionUser) -> Result<Uuid, ApiError> {
    user.customer_id.ok_or(ApiError::Forbidden {
        code: ProblemCode::Forbidden,
        detail: "payees belong to customers",
    })
}

fn response(row: data::payees::PayeeRow) -> PayeeResponse {
    PayeeResponse {
        id: row.id,
        nickname: row.nickname,
        account_number: row.account_number,
        created_at: row.created_at,
    }
}

/// A page of the customer's payees in order of nickname.
pub async fn list(
    state: &AppState,
    user: &SessionUser,
    cursor: Option<&str>,
    limit: i64,
) -> Result<PayeeListResponse, ApiError> {
    let customer = customer_of(user)?;
    let after = cursor.map(crate::cursor::decode_text).transpose()?;
    let after = &after;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::payees::list_payees(conn, customer, after.clone(), limit + 1).await?)
        })
    })
    .await?;
    let (rows, next_cursor) = crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_text(&row.sort_key, row.id)
    });
    Ok(PayeeListResponse {
        payees: rows.into_iter().map(response).collect(),
        next_cursor,
    })
}

/// Saves a payee: an open customer account, under a nickname the customer has not used yet.
pub async fn add(
    state: &AppState,
    user: &SessionUser,
    nickname: &str,
    number: &AccountNumber,
    step_up: Option<&StepUpProof>,
) -> Result<PayeeResponse, ApiError> {
    let customer = customer_of(user)?;
    let nickname = crate::domain::text::required("nickname", nickname, NICKNAME_MAX_CHARS)?;
    let nickname = &nickname;
    crate::step_up::count_attempt(state, user, step_up).await?;
    let checked = crate::step_up::Checked::default();
    let checked = &checked;
    let row = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            if data::payees::count_payees(&mut *tx, customer).await? >= PAYEES_MAX {
                return Err(ApiError::refused(
                    ProblemCode::TooManyPayees,
                    format!("keep at most {PAYEES_MAX} payees"),
                ));
            }
            match data::accounts::find_account_by_number(&mut *tx, number.as_str()).await? {
                Some(account)
                    if account.kind == data::accounts::AccountKind::Customer
                        && account.status == data::accounts::AccountStatus::Open => {}
                _ => return Err(account_not_found()),
            }
            // A saved payee is paid without a code below the threshold: saving one is approved
            // as a payment to a new payee is, and the code spent only if it is saved.
            crate::step_up::verify(&mut *tx, state, user, (step_up, checked), "saving a payee")
                .await?;
            let row = data::payees::insert_payee(&mut *tx, customer, nickname, number.as_str())
                .await
                .map_err(|e| match e.violation() {
                    Some(data::Violation::Other(name)) if name == "payees_nickname_key" => {
                        ApiError::Conflict {
                            code: ProblemCode::NicknameTaken,
                            detail: "you already have a payee with this nickname".into(),
                        }
                    }
                    _ => ApiError::from(e),
                })?;
            crate::audit::user_event(
                &mut *tx,
                (user.user_id, Some(customer)),
                "payee.add",
                ("payee", row.id.to_string()),
                serde_json::json!({ "nickname": nickname, "account_number": number.as_str() }),
            )
            .await?;
            Ok(row)
        })
    })
    .await;
    crate::step_up::settle_attempt(state, user, step_up, checked).await?;
    Ok(response(row?))
}

pub async fn remove(state: &AppState, user: &SessionUser, id: Uuid) -> Result<(), ApiError> {
    let customer = customer_of(user)?;
    let removed = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let removed = data::payees::delete_payee(&mut *tx, customer, id).await?;
            if removed {
                crate::audit::user_event(
                    &mut *tx,
                    (user.user_id, Some(customer)),
                    "payee.remove",
                    ("payee", id.to_string()),
                    serde_json::json!({}),
                )
                .await?;
            }
            Ok(removed)
        })
    })
    .await?;
    if removed {
        Ok(())
    } else {
        Err(ApiError::NotFound {
            code: ProblemCode::PayeeNotFound,
            detail: "no such payee",
        })
    }
}
