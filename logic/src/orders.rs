//! Orders to move money, as clients make them: refused if the caller's role may never make the
//! movement, filed for a supervisor's approval when a teller's amount is above its currency's
//! threshold (the funds held meanwhile), and otherwise posted by the ledger's engine, once per
//! idempotency key.

use bank_api::ProblemCode;
use bank_api::sessions::StepUpProof;
use data::PgConnection;
use data::users::Role;

use crate::auth::SessionUser;
use crate::error::ApiError;
use crate::idempotency::{Claimed, Completion, IdempotencyKey, Outcome};
use crate::posting::{
    Actor, Initiator, KeyCompletion, Movement, Order, Posting, audit_posting, execute,
};
use crate::state::AppState;

/// Moves money exactly once per idempotency key. A teller's operation above the approval
/// threshold is not posted but filed for a supervisor's approval (202), with the funds held.
pub async fn post(
    state: &AppState,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    order: &Order,
    step_up: Option<&StepUpProof>,
) -> Result<Outcome, ApiError> {
    authorise(actor.user, &order.movement)?;
    if let Movement::Transfer { debit, credit } = &order.movement
        && debit == credit
    {
        return Err(same_account());
    }
    let request_hash = order.request_hash();
    let kind = order.kind();
    let initiator = Initiator::from(actor.user);
    // An approval is counted (and checked) only for a payment that needs one and is not a
    // replay of a request already answered (which is answered again, whatever it carries).
    let step_up = match (step_up, &order.movement) {
        (Some(proof), Movement::Transfer { credit, .. }) => {
            let need = crate::unit_of_work::read(state, |conn, _| {
                Box::pin(async move {
                    let answered = data::idempotency::find_completed(
                        &mut *conn,
                        actor.user.user_id,
                        key.as_str(),
                    )
                    .await?
                    .is_some();
                    if answered {
                        return Ok(None);
                    }
                    crate::step_up::payment_need(conn, actor.user, credit, &order.amount).await
                })
            })
            .await?;
            need.map(|_| proof)
        }
        _ => None,
    };
    crate::step_up::count_attempt(state, actor.user, step_up).await?;
    let checked = crate::step_up::Checked::default();
    let checked = &checked;
    let pipeline = crate::group_commit::pipeline_for(state, actor.user, order, step_up.is_some());
    let result = crate::unit_of_work::retried(state.settings.retry_budget_ms, || async {
        if let Some(pipeline) = pipeline {
            return pipeline
                .post(Box::new(crate::group_commit::Request {
                    user: actor.user.clone(),
                    key: key.clone(),
                    request_hash: request_hash.clone(),
                    order: order.clone(),
                    request_id: actor.request_id.map(str::to_owned),
                }))
                .await;
        }
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let now = match crate::idempotency::claim(&mut tx, actor.user.user_id, key, &request_hash)
            .await?
        {
            Claimed::Replay(outcome) => return Ok(outcome),
            Claimed::Fresh(now) => now,
        };
        if needs_approval(&mut tx, &initiator, order).await? {
            let body = crate::approvals::file_order(
                &mut tx,
                actor,
                key,
                order,
                state.settings.approval_ttl_s,
            )
            .await?;
            data::idempotency::complete(
                &mut tx,
                actor.user.user_id,
                key.as_str(),
                Completion::Accepted.code(),
                &body,
            )
            .await?;
            tx.commit().await.map_err(data::DataError::from)?;
            return Ok(Outcome {
                completion: Completion::Accepted,
                body,
                replayed: false,
            });
        }
        let posting = Posting {
            initiator: &initiator,
            key,
            now,
            request_id: actor.request_id,
            completion: KeyCompletion::Complete,
            batch_id: None,
        };
        let (transfer, body) = execute(&mut tx, &posting, order).await?;
        // A customer's payment to a new payee, or of at least their threshold, carries its own
        // approval, checked (and a code spent) in this transaction once every rule of the
        // payment has passed, so a refusal names its real reason: nothing commits without it,
        // and the code is spent only with the payment.
        if let Movement::Transfer { credit, .. } = &order.movement
            && crate::step_up::payment_need(&mut tx, actor.user, credit, &order.amount)
                .await?
                .is_some()
        {
            crate::step_up::verify(
                &mut tx,
                state,
                actor.user,
                (step_up, checked),
                "this payment",
            )
            .await?;
        }
        if actor.user.is_staff() {
            audit_posting(
                &mut tx,
                actor.user.user_id,
                transfer,
                &body,
                actor.request_id,
            )
            .await?;
        }
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(Outcome {
            completion: Completion::Created,
            body,
            replayed: false,
        })
    })
    .await;
    crate::step_up::settle_attempt(state, actor.user, step_up, checked).await?;
    let outcome = match &result {
        Ok(outcome) if outcome.replayed => "replayed",
        Ok(_) => "posted",
        Err(ApiError::Refused { code, .. }) => code.as_str(),
        Err(ApiError::Unavailable(_)) => "unavailable",
        Err(_) => "refused",
    };
    metrics::counter!("bank_transfers_total", "kind" => crate::posting::audit_action(kind), "outcome" => outcome)
        .increment(1);
    result
}

/// Whether a teller's operation is above the approval threshold of its currency. Supervisors'
/// own operations, and customers' transfers (bounded by their daily limit), post directly.
async fn needs_approval(
    conn: &mut PgConnection,
    initiator: &Initiator,
    order: &Order,
) -> Result<bool, ApiError> {
    let approvable = matches!(
        order.movement,
        Movement::Transfer { .. } | Movement::CashDeposit { .. } | Movement::CashWithdrawal { .. }
    );
    if initiator.role != Role::Teller || !approvable {
        return Ok(false);
    }
    let threshold = data::limits::approval_threshold(conn, order.amount.currency().code()).await?;
    Ok(threshold.is_some_and(|threshold| order.amount.value() > threshold))
}

/// The refusal of a transfer from an account to itself.
pub fn same_account() -> ApiError {
    ApiError::refused(
        ProblemCode::SameAccount,
        "the two accounts of a transfer must differ",
    )
}

/// Refuses movements the caller's role may never make, before touching the database.
pub fn authorise(user: &SessionUser, movement: &Movement) -> Result<(), ApiError> {
    match movement {
        // Customers move their own money; tellers and supervisors act for customers. Admins
        // administer and never move money: separation of duties.
        Movement::Transfer { .. } => user.require_role(&[
            Role::Customer,
            Role::Teller,
            Role::Supervisor,
            Role::Service,
        ]),
        Movement::CashDeposit { .. }
        | Movement::CashWithdrawal { .. }
        | Movement::DrawerFromVault
        | Movement::DrawerToVault => user.require_role(&[Role::Teller, Role::Supervisor]),
    }
}
