//! Group commit: transfers that arrive together are posted in one database transaction.
//!
//! A transfer on its own costs a transaction: its round trips, its row locks held across a
//! synchronous commit, and the commit itself (the WAL flushed here and on the synchronous
//! standby). Under load most of that is waiting. Here a customer's or a service's transfer is
//! handed to a pipeline instead: the first request to arrive waits up to the window
//! (`BANK_GROUP_COMMIT_WINDOW_US`) for others, up to `BANK_GROUP_COMMIT_MAX_BATCH`, and a worker
//! posts the group in one transaction of a fixed number of set-based statements:
//!
//! 1. every key claimed, as a request alone claims its own: a key held by a request still under
//!    way elsewhere is waited for, and a key already answered answers the request from its
//!    stored answer (or refuses a different request under it);
//! 2. every account of the group locked once, in id order, and every daily running total
//!    (a [`Book`]);
//! 3. each request decided in memory, in arrival order, as if it ran alone: the same rules
//!    ([`crate::posting::decide`], the daily limit, a customer's step-up) against the balances
//!    the requests before it left. A refusal refuses that request only;
//! 4. the accepted requests' transfers and entries inserted, the running totals added to, their
//!    answers stored under their keys, and the refused requests' claims given back (as a
//!    rollback gives back a request's claim alone): four statements at most;
//! 5. one commit, synchronous like any other, before any request of the group is answered.
//!
//! The guarantees are those of a transfer posted alone: key, request hash and answer commit
//! with the postings, in the same transaction; the database's checks (balanced entries, floors,
//! append-only, and a completed answer is never deleted) still run on every row; nothing is
//! answered before its commit. A request whose client gave up (its retry budget spent) holds its
//! claim while its group waits, so asking by key waits for the group's outcome, as for a request
//! alone. A transient failure of the group's transaction is every member's, each of which runs
//! again under its own retry budget ([`crate::unit_of_work`]); any other failure of a group
//! runs its members one by one, so a defect met by one request is that request's alone.
//!
//! Transfers with an approval to check (a step-up code is spent in its own transaction), and
//! staff's postings (approvals, cash, audit records), are posted alone as before.

use std::sync::Arc;

use data::PgPool;
use data::idempotency::KeyOf;

use crate::auth::SessionUser;
use crate::book::{Accepted, Book, Stamp};
use crate::error::ApiError;
use crate::idempotency::{Completion, IdempotencyKey, Outcome};
use crate::pipeline::{Answer, Pipeline, Reply};
use crate::posting::{Initiator, Movement, Order};
use crate::state::AppState;

/// One transfer for the pipeline.
#[derive(Debug, Clone)]
pub struct Request {
    pub user: SessionUser,
    pub key: IdempotencyKey,
    pub request_hash: Vec<u8>,
    pub order: Order,
    pub request_id: Option<String>,
}

/// The pipeline that posts `order` from `user`, if group commit is on and takes it: a transfer
/// of a customer (carrying no approval to check) or of a service. Started at the first.
pub fn pipeline_for<'s>(
    state: &'s AppState,
    user: &SessionUser,
    order: &Order,
    carries_step_up: bool,
) -> Option<&'s Pipeline> {
    use data::users::Role;
    let knobs = state.settings.group_commit;
    let takes = matches!(order.movement, Movement::Transfer { .. })
        && match user.role {
            Role::Customer => !carries_step_up,
            Role::Service => true,
            _ => false,
        };
    if !knobs.enabled || !takes {
        return None;
    }
    Some(state.group_commit.get_or_init(|| {
        let pool = state.pool.clone();
        Pipeline::start(
            knobs,
            Arc::new(move |requests| {
                let pool = pool.clone();
                Box::pin(async move { post(&pool, requests).await })
            }),
        )
    }))
}

/// Posts what the pipeline gathered and answers each request. A second copy of a key waits for
/// the next group, where it is a replay.
async fn post(pool: &PgPool, members: Vec<(crate::pipeline::Request, Reply)>) {
    let mut waiting: Vec<(Request, Reply)> = Vec::with_capacity(members.len());
    for (request, reply) in members {
        match request.downcast::<Request>() {
            Ok(request) => waiting.push((*request, reply)),
            Err(_) => reply.send(Err(ApiError::Internal("not a transfer".into()))),
        }
    }
    while !waiting.is_empty() {
        let mut group: Vec<(Request, Reply)> = Vec::with_capacity(waiting.len());
        let mut later = Vec::new();
        for (request, reply) in waiting {
            let repeated = group.iter().any(|(other, _)| {
                other.user.user_id == request.user.user_id && other.key == request.key
            });
            if repeated {
                later.push((request, reply));
            } else {
                group.push((request, reply));
            }
        }
        let members: Vec<(&Request, &Reply)> = group.iter().map(|(q, r)| (q, r)).collect();
        let outcome = post_group(pool, &members, GROUP_LOCK_WAIT_MS).await;
        let answers: Vec<Answer> = match outcome {
            Ok(answers) => answers,
            // One stuck lock (an account held by a writer that does not let go) must not
            // hold up the whole group, nor the groups queued behind it: the members are posted
            // one by one, each waiting briefly, so those that do not touch it go through.
            Err(error)
                if is_lock_timeout(&error) || (!error.is_transient() && members.len() > 1) =>
            {
                if !is_lock_timeout(&error) {
                    tracing::error!(%error, size = members.len(), "a group failed; posting its requests one by one");
                }
                let mut alone = Vec::with_capacity(members.len());
                for member in &members {
                    if member.1.is_abandoned() {
                        alone.push(Err(ApiError::Unavailable("the client gave up".into())));
                        continue;
                    }
                    alone.push(
                        match post_group(pool, &[*member], ALONE_LOCK_WAIT_MS).await {
                            Ok(mut answer) => answer.pop().unwrap_or_else(|| {
                                Err(ApiError::Internal("a group of one gave no answer".into()))
                            }),
                            // Still waiting: the member runs again under its own retry budget.
                            Err(error) if is_lock_timeout(&error) => {
                                Err(ApiError::Data(data::DataError::Shared(error.to_string())))
                            }
                            Err(error) => Err(error),
                        },
                    );
                }
                alone
            }
            Err(error) if error.is_transient() => {
                let reason = error.to_string();
                members
                    .iter()
                    .map(|_| Err(ApiError::Data(data::DataError::Shared(reason.clone()))))
                    .collect()
            }
            Err(error) => vec![Err(error)],
        };
        drop(members);
        for ((_, reply), answer) in group.into_iter().zip(answers) {
            reply.send(answer);
        }
        waiting = later;
    }
}

/// How long a group waits for any one lock (an account, a running total, a key held elsewhere):
/// far beyond the milliseconds a group or a transfer alone holds one, short enough that a stuck
/// writer stalls the queue for two seconds, not for every member's whole retry budget.
const GROUP_LOCK_WAIT_MS: u32 = 2_000;

/// How long a member posted alone after its group met a stuck lock waits for one.
const ALONE_LOCK_WAIT_MS: u32 = 200;

fn is_lock_timeout(error: &ApiError) -> bool {
    matches!(error, ApiError::Data(error) if error.is_lock_timeout())
}

/// One transaction for `requests`: each answered from its key, refused, or posted.
async fn post_group(
    pool: &PgPool,
    members: &[(&Request, &Reply)],
    lock_wait_ms: u32,
) -> Result<Vec<Answer>, ApiError> {
    let requests: Vec<&Request> = members.iter().map(|(request, _)| *request).collect();
    let mut tx = pool.begin().await.map_err(data::DataError::from)?;
    data::pool::bound_lock_waits(&mut tx, lock_wait_ms).await?;
    let keys: Vec<KeyOf<'_>> = requests
        .iter()
        .map(|request| KeyOf {
            principal_id: request.user.user_id,
            key: request.key.as_str(),
        })
        .collect();
    let claims: Vec<(KeyOf<'_>, &[u8])> = keys
        .iter()
        .zip(&requests)
        .map(|(key, request)| (*key, request.request_hash.as_slice()))
        .collect();
    let (claimed, now) = data::idempotency::claim_many(&mut tx, &claims).await?;
    let mut answers: Vec<Option<Answer>> = requests.iter().map(|_| None).collect();
    let taken: Vec<KeyOf<'_>> = keys
        .iter()
        .zip(&claimed)
        .filter(|(_, claimed)| !**claimed)
        .map(|(key, _)| *key)
        .collect();
    if !taken.is_empty() {
        for row in data::idempotency::find_completed_many(&mut tx, &taken).await? {
            let at = keys.iter().position(|key| {
                key.principal_id == row.principal_id && key.key == row.idempotency_key
            });
            if let Some(at) = at {
                answers[at] = Some(crate::idempotency::replay(
                    row.record,
                    &requests[at].request_hash,
                ));
            }
        }
    }
    let initiators: Vec<Initiator> = requests
        .iter()
        .map(|request| Initiator::from(&request.user))
        .collect();
    let fresh: Vec<usize> = (0..requests.len()).filter(|&at| claimed[at]).collect();
    let orders: Vec<(&Initiator, &Order)> = fresh
        .iter()
        .map(|&at| (&initiators[at], &requests[at].order))
        .collect();
    let mut book = Book::lock(&mut tx, &orders).await?;
    let mut accepted = Vec::with_capacity(fresh.len());
    let mut accepted_at = Vec::with_capacity(fresh.len());
    let mut refused = Vec::new();
    for &at in &fresh {
        let request = requests[at];
        // A client that gave up while the group waited for its locks: its request is not
        // posted, as an attempt abandoned before its locks posts nothing, and its claim is
        // given back (no one is left to read the answer).
        let refusal = if members[at].1.is_abandoned() {
            Some(ApiError::Unavailable(
                "the client gave up before its turn".into(),
            ))
        } else {
            None
        };
        let refusal = match refusal {
            Some(refusal) => Err(refusal),
            None => book.plan(&initiators[at], &request.order),
        };
        let refusal = match refusal {
            Err(refusal) => Some(refusal),
            Ok(plan) => {
                // A customer's payment that needs an approval carries none here (one that
                // carries one is posted alone): refused, as alone, once every other rule has
                // passed.
                // Between a customer's own accounts nothing is ever asked: no query for that.
                let own = request.user.customer_id.is_some()
                    && book.credit_holder(&plan) == request.user.customer_id;
                let need = match &request.order.movement {
                    Movement::Transfer { credit, .. } if !own => {
                        crate::step_up::payment_need(
                            &mut tx,
                            &request.user,
                            credit,
                            &request.order.amount,
                        )
                        .await?
                    }
                    _ => None,
                };
                match need {
                    Some(need) => Some(crate::step_up::missing(need.method, "this payment")),
                    None => {
                        book.apply(plan);
                        accepted.push(Accepted {
                            initiator: &initiators[at],
                            order: &request.order,
                            key: request.key.as_str(),
                            request_id: request.request_id.as_deref(),
                            plan,
                        });
                        accepted_at.push(at);
                        None
                    }
                }
            }
        };
        if let Some(refusal) = refusal {
            answers[at] = Some(Err(refusal));
            refused.push(keys[at]);
        }
    }
    let written = book
        .write(
            &mut tx,
            &accepted,
            Stamp {
                now,
                batch_id: None,
            },
        )
        .await?;
    let completed: Vec<(KeyOf<'_>, u16, &serde_json::Value)> = accepted_at
        .iter()
        .zip(&written)
        .map(|(&at, written)| (keys[at], Completion::Created.code(), &written.body))
        .collect();
    data::idempotency::complete_many(&mut tx, &completed).await?;
    data::idempotency::release_many(&mut tx, &refused).await?;
    tx.commit().await.map_err(data::DataError::from)?;
    for (at, written) in accepted_at.into_iter().zip(written) {
        answers[at] = Some(Ok(Outcome {
            completion: Completion::Created,
            body: written.body,
            replayed: false,
        }));
    }
    Ok(answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| Err(ApiError::Internal("a request went unanswered".into())))
        })
        .collect())
}
