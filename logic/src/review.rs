//! A transfer checked before it is confirmed: the review a payer reads applies every rule the
//! transfer itself would meet (who may send from the account, both accounts' state, currency,
//! funds, what is left of today's limit) and names the destination's holder as the bank holds
//! the name, comparing it with the name the payer typed. Nothing is written and nothing locked:
//! the transfer decides again, under its locks, when it is confirmed.

use bank_api::ProblemCode;
use bank_api::transfers::{NameMatch, TransferCheckResponse};

use crate::auth::SessionUser;
use crate::domain::money::format_in_scale;
use crate::error::ApiError;
use crate::posting::{Initiator, Movement, Order, daily_limit_bound, decide, over_daily_limit};
use crate::state::AppState;
use crate::wire::available;

/// What `order` would do were it confirmed now by `user`, or the refusal it would meet.
pub async fn check(
    state: &AppState,
    user: &SessionUser,
    order: &Order,
    payee_name: Option<&str>,
) -> Result<TransferCheckResponse, ApiError> {
    crate::orders::authorise(user, &order.movement)?;
    let Movement::Transfer { debit, credit } = &order.movement else {
        return Err(ApiError::Internal("only transfers are checked".to_owned()));
    };
    if debit == credit {
        return Err(crate::orders::same_account());
    }
    let initiator = Initiator::from(user);
    let currency = order.amount.currency().code();
    let amount = order.amount.value();
    let (debit_row, credit_row, holder, outflow, step_up) =
        crate::unit_of_work::read(state, |conn, _| {
            Box::pin(async move {
                let debit_row =
                    data::accounts::find_account_by_number(&mut *conn, debit.as_str()).await?;
                let credit_row =
                    data::accounts::find_account_by_number(&mut *conn, credit.as_str()).await?;
                let (Some(debit_row), Some(credit_row)) = (debit_row, credit_row) else {
                    return Ok((None, None, None, None, None));
                };
                let holder = match credit_row.customer_id {
                    Some(id) => data::customers::find_customer(&mut *conn, id)
                        .await?
                        .map(|customer| customer.full_name),
                    None => None,
                };
                let outflow = match debit_row.customer_id {
                    Some(id) => Some(data::limits::daily_outflow(&mut *conn, id, currency).await?),
                    None => None,
                };
                let step_up =
                    crate::step_up::payment_need(&mut *conn, user, credit, &order.amount).await?;
                Ok((Some(debit_row), Some(credit_row), holder, outflow, step_up))
            })
        })
        .await?;
    let (debit_row, credit_row) = decide(
        &initiator,
        &order.movement,
        (debit_row.as_ref(), credit_row.as_ref()),
        currency,
        amount,
    )
    .map_err(|refusal| on_the_side_it_concerns(refusal, debit_row.as_ref()))?;
    let limit = match (
        daily_limit_bound(&order.movement, debit_row, credit_row),
        outflow,
    ) {
        (Some(_), Some((used, limit))) => {
            if used + amount > limit {
                return Err(over_daily_limit(limit, used, currency));
            }
            Some((limit, limit - used - amount))
        }
        _ => None,
    };
    let own_account =
        credit_row.customer_id.is_some() && credit_row.customer_id == debit_row.customer_id;
    // Confirmation of Payee, not a directory: a customer learns the holder's name only of their
    // own accounts, or when the name they typed matches it (exactly or closely); staff and
    // services, who reach every customer, always.
    let (payee_name, name_match) = if own_account {
        (Some(credit_row.name.clone()), None)
    } else {
        let holder = holder
            .ok_or_else(|| ApiError::Internal("a customer account without a holder".into()))?;
        let verdict = payee_name.map(|typed| crate::domain::names::compare(typed, &holder));
        let shown = user.reaches_every_customer()
            || matches!(verdict, Some(NameMatch::Match | NameMatch::CloseMatch));
        (shown.then_some(holder), verdict)
    };
    Ok(TransferCheckResponse {
        debit_account: debit_row.number.clone(),
        credit_account: credit_row.number.clone(),
        name_match,
        payee_name,
        own_account,
        amount: format_in_scale(amount, currency),
        currency: currency.to_owned(),
        available_after: format_in_scale(available(debit_row) - amount, currency),
        daily_limit: limit.map(|(limit, _)| format_in_scale(limit, currency)),
        left_today_after: limit.map(|(_, left)| format_in_scale(left, currency)),
        step_up,
    })
}

/// A refusal because the paying account cannot send now names the field it concerns, so that a
/// review shows it beside the account the customer pays from rather than the one they pay.
fn on_the_side_it_concerns(
    refusal: ApiError,
    debit: Option<&data::accounts::AccountRow>,
) -> ApiError {
    match (&refusal, debit) {
        (
            ApiError::Refused {
                code: ProblemCode::AccountNotOpen,
                detail,
            },
            Some(debit),
        ) if crate::posting::check_movable(debit, crate::posting::Side::Debit).is_err() => {
            ApiError::invalid(ProblemCode::AccountNotOpen, "debit_account", detail.clone())
        }
        _ => refusal,
    }
}
