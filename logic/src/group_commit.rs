//! Group commit: transfers that arrive together are posted in one database transaction.
//!
//! A transfer on its own costs a transaction: its round trips, its row locks held across a
//! synchronous commit, and the commit itself (the WAL flushed here and on the synchronous
//! standby). Under load most of that is waiting. Here a customer's or a service's transfer is
//! handed to a pipeline instead: the first request to arrive waits up to the window
//! (`BANK_GROUP_COMMIT_WINDOW_US`) for others, up to `BANK_GROUP_COMMIT_MAX_BATCH`, and a worker
//! posts the group in one transaction of a fixed number of set-based statements:
//!
//! 1. the stored answers of every key (a replay answers from it, as alone);
//! 2. every account of the group locked once, in id order, and every daily running total
//!    (a [`Book`]);
//! 3. each request decided in memory, in arrival order, as if it ran alone: the same rules
//!    ([`crate::posting::decide`], the daily limit, a customer's step-up) against the balances
//!    the requests before it left. A refusal refuses that request only;
//! 4. the accepted requests' answers stored under their keys, their transfers and entries
//!    inserted, the running totals added to: three statements;
//! 5. one commit, synchronous like any other, before any request of the group is answered.
//!
//! The guarantees are those of a transfer posted alone: key, request hash and answer commit
//! with the postings, in the same transaction; the database's checks (balanced entries, floors,
//! append-only) still run on every row; nothing is answered before its commit. A key held by a
//! request still under way elsewhere is waited for when the answers are stored (step 4): if
//! that request committed, the group is decided again, and the replay answers. A transient
//! failure of the group's transaction is every member's, each of which runs again under its
//! own retry budget ([`crate::unit_of_work`]); any other failure of a group runs its members
//! one by one, so a defect met by one request is that request's alone.
//!
//! Transfers with an approval to check (a step-up code is spent in its own transaction), and
//! staff's postings (approvals, cash, audit records), are posted alone as before.

use std::sync::Arc;

use data::PgPool;
use data::idempotency::{KeyOf, NewRecord};

use crate::auth::SessionUser;
use crate::book::{Accepted, Book, Stamp};
use crate::error::ApiError;
use crate::idempotency::{Completion, IdempotencyKey, Outcome};
use crate::pipeline::{Answer, Pipeline};
use crate::posting::{Initiator, Movement, Order};
use crate::state::AppState;

/// How many times a group is decided again when a key it meant to store turned out to be taken
/// by a request that committed meanwhile, before its members are told to retry.
const KEY_RACES_MAX: u32 = 3;

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

/// Posts what the pipeline gathered and answers each request, in order. A second copy of a key
/// waits for the next group, where it is a replay.
async fn post(pool: &PgPool, requests: Vec<crate::pipeline::Request>) -> Vec<Answer> {
    let mut answers: Vec<Option<Answer>> = requests.iter().map(|_| None).collect();
    let mut waiting: Vec<(usize, Request)> = Vec::with_capacity(requests.len());
    for (at, request) in requests.into_iter().enumerate() {
        match request.downcast::<Request>() {
            Ok(request) => waiting.push((at, *request)),
            Err(_) => answers[at] = Some(Err(ApiError::Internal("not a transfer".into()))),
        }
    }
    while !waiting.is_empty() {
        let mut group: Vec<(usize, Request)> = Vec::with_capacity(waiting.len());
        let mut later = Vec::new();
        for (at, request) in waiting {
            let repeated = group.iter().any(|(_, other)| {
                other.user.user_id == request.user.user_id && other.key == request.key
            });
            if repeated {
                later.push((at, request));
            } else {
                group.push((at, request));
            }
        }
        let members: Vec<&Request> = group.iter().map(|(_, request)| request).collect();
        let outcome = post_deciding_again(pool, &members).await;
        let group_answers: Vec<Answer> = match outcome {
            Ok(group_answers) => group_answers,
            Err(error) if error.is_transient() => {
                let reason = error.to_string();
                members
                    .iter()
                    .map(|_| Err(ApiError::Data(data::DataError::Shared(reason.clone()))))
                    .collect()
            }
            Err(error) if members.len() > 1 => {
                tracing::error!(%error, size = members.len(), "a group failed; posting its requests one by one");
                let mut alone = Vec::with_capacity(members.len());
                for member in &members {
                    alone.push(match post_deciding_again(pool, &[member]).await {
                        Ok(mut answer) => answer.pop().unwrap_or_else(|| {
                            Err(ApiError::Internal("a group of one gave no answer".into()))
                        }),
                        Err(error) => Err(error),
                    });
                }
                alone
            }
            Err(error) => vec![Err(error)],
        };
        for ((at, _), answer) in group.into_iter().zip(group_answers) {
            answers[at] = Some(answer);
        }
        waiting = later;
    }
    answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| Err(ApiError::Internal("a request went unanswered".into())))
        })
        .collect()
}

/// Why a group's transaction was given up.
enum GroupFailure {
    /// A key was taken by a request that committed after the group read the stored answers.
    KeyRace,
    Error(ApiError),
}

impl From<ApiError> for GroupFailure {
    fn from(error: ApiError) -> Self {
        GroupFailure::Error(error)
    }
}

impl From<data::DataError> for GroupFailure {
    fn from(error: data::DataError) -> Self {
        GroupFailure::Error(error.into())
    }
}

async fn post_deciding_again(
    pool: &PgPool,
    requests: &[&Request],
) -> Result<Vec<Result<Outcome, ApiError>>, ApiError> {
    for _ in 0..KEY_RACES_MAX {
        match post_group(pool, requests).await {
            Ok(answers) => return Ok(answers),
            Err(GroupFailure::KeyRace) => {
                metrics::counter!("bank_posting_group_key_races_total").increment(1);
            }
            Err(GroupFailure::Error(error)) => return Err(error),
        }
    }
    Err(ApiError::Data(data::DataError::Shared(
        "keys kept being taken by requests under way elsewhere".into(),
    )))
}

/// One transaction for `requests`: each answered from its key, refused, or posted.
async fn post_group(
    pool: &PgPool,
    requests: &[&Request],
) -> Result<Vec<Result<Outcome, ApiError>>, GroupFailure> {
    let mut tx = pool.begin().await.map_err(data::DataError::from)?;
    let keys: Vec<KeyOf<'_>> = requests
        .iter()
        .map(|request| KeyOf {
            principal_id: request.user.user_id,
            key: request.key.as_str(),
        })
        .collect();
    let (found, now) = data::idempotency::find_completed_many(&mut tx, &keys).await?;
    let mut answers: Vec<Option<Result<Outcome, ApiError>>> =
        requests.iter().map(|_| None).collect();
    for row in found {
        let at = requests.iter().position(|request| {
            request.user.user_id == row.principal_id && request.key.as_str() == row.idempotency_key
        });
        if let Some(at) = at {
            answers[at] = Some(crate::idempotency::replay(
                row.record,
                &requests[at].request_hash,
            ));
        }
    }
    let initiators: Vec<Initiator> = requests
        .iter()
        .map(|request| Initiator::from(&request.user))
        .collect();
    let fresh: Vec<usize> = (0..requests.len())
        .filter(|&at| answers[at].is_none())
        .collect();
    let orders: Vec<(&Initiator, &Order)> = fresh
        .iter()
        .map(|&at| (&initiators[at], &requests[at].order))
        .collect();
    let mut book = Book::lock(&mut tx, &orders).await?;
    let mut accepted = Vec::with_capacity(fresh.len());
    let mut accepted_at = Vec::with_capacity(fresh.len());
    for &at in &fresh {
        let request = requests[at];
        let plan = match book.plan(&initiators[at], &request.order) {
            Ok(plan) => plan,
            Err(refusal) => {
                answers[at] = Some(Err(refusal));
                continue;
            }
        };
        // A customer's payment that needs an approval carries none here (one that carries
        // one is posted alone): refused, as alone, once every other rule has passed.
        if let Movement::Transfer { credit, .. } = &request.order.movement
            && let Some(need) =
                crate::step_up::payment_need(&mut tx, &request.user, credit, &request.order.amount)
                    .await?
        {
            answers[at] = Some(Err(crate::step_up::missing(need.method, "this payment")));
            continue;
        }
        book.apply(plan);
        accepted.push(Accepted {
            initiator: &initiators[at],
            order: &request.order,
            key: request.key.as_str(),
            request_id: request.request_id.as_deref(),
            plan,
        });
        accepted_at.push(at);
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
    let records: Vec<NewRecord<'_>> = accepted_at
        .iter()
        .zip(&written)
        .map(|(&at, written)| NewRecord {
            key: keys[at],
            request_hash: &requests[at].request_hash,
            status: Completion::Created.code(),
            body: &written.body,
        })
        .collect();
    if data::idempotency::insert_completed(&mut tx, &records).await? != records.len() {
        return Err(GroupFailure::KeyRace);
    }
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
