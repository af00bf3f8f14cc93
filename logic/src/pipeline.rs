//! The machinery of group commit (the rules are [`crate::group_commit`]'s): requests are queued,
//! gathered into groups (the first of a group waits up to the window for others, up to the most
//! a group holds), and each group is handed to the poster by one of a few workers, which sends
//! each request its answer. While one worker waits for its group's commit, the next gathers.
//! A group's statements run in a span of its own, linked to the span of each of its requests.

use std::any::Any;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, oneshot};
use tracing::Instrument;

use crate::config::GroupCommit;
use crate::error::ApiError;
use crate::idempotency::Outcome;

/// A request, as the poster that started the pipeline knows it.
pub type Request = Box<dyn Any + Send>;

/// What a request is answered.
pub type Answer = Result<Outcome, ApiError>;

/// Posts a group and answers each of its requests.
pub type Poster =
    Arc<dyn Fn(Vec<(Request, Reply)>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Where a request's answer goes.
#[derive(Debug)]
pub struct Reply(oneshot::Sender<Answer>);

impl Reply {
    /// Whether the request's client has gone (its retry budget spent): a request not yet
    /// decided is then not posted, as an attempt abandoned before its locks posts nothing.
    pub fn is_abandoned(&self) -> bool {
        self.0.is_closed()
    }

    pub fn send(self, answer: Answer) {
        // The client may have gone; its retry learns the outcome from the key.
        let _ = self.0.send(answer);
    }
}

/// Requests waiting for a worker, at most; a request beyond waits to be queued.
const QUEUE_DEPTH: usize = 4_096;

struct Job {
    request: Request,
    reply: oneshot::Sender<Answer>,
    /// The span of the request that queued it: the group's span links back to each.
    span: tracing::Span,
}

/// The pipeline's entrance; its workers run until it is dropped.
pub struct Pipeline {
    sender: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Starts `knobs.workers` workers handing groups to `poster`.
    pub fn start(knobs: GroupCommit, poster: Poster) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..knobs.workers {
            let (poster, receiver) = (Arc::clone(&poster), Arc::clone(&receiver));
            tokio::spawn(async move {
                loop {
                    let jobs = {
                        let mut receiver = receiver.lock().await;
                        gather(&mut receiver, knobs).await
                    };
                    let Some(jobs) = jobs else { return };
                    // A request whose client has gone (its retry budget spent) is not posted:
                    // a retry of it may be queued already, and that one answers.
                    // Its own trace, linked to each request's; its log lines name those traces.
                    let group = tracing::info_span!(
                        "posting group",
                        size = tracing::field::Empty,
                        traces = tracing::field::Empty,
                    );
                    let mut traces = Vec::new();
                    let members: Vec<(Request, Reply)> = jobs
                        .into_iter()
                        .filter(|job| !job.reply.is_closed())
                        .map(|job| {
                            bank_api::telemetry::link(&group, &job.span);
                            traces.extend(bank_api::telemetry::trace_id(&job.span));
                            (job.request, Reply(job.reply))
                        })
                        .collect();
                    if members.is_empty() {
                        continue;
                    }
                    group.record("size", members.len());
                    group.record("traces", traces.join(",").as_str());
                    metrics::histogram!("bank_posting_batch_size")
                        .record(u32::try_from(members.len()).unwrap_or(u32::MAX));
                    // A panic posting one group fails that group's requests (their replies
                    // are dropped), never the worker.
                    let posted = tokio::spawn(poster(members).instrument(group.clone())).await;
                    if let Err(error) = posted {
                        group.in_scope(|| tracing::error!(%error, "a group of postings failed"));
                    }
                }
            });
        }
        Self { sender }
    }

    /// Posts `request` with whatever arrives with it, and answers once its group is done.
    pub async fn post(&self, request: Request) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job {
                request,
                reply,
                span: tracing::Span::current(),
            })
            .await
            .map_err(|_| ApiError::Internal("the posting pipeline has stopped".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the posting pipeline dropped a request".into()))?
    }
}

/// The next group: the first job to arrive and whatever follows it within the window, up to the
/// most a group holds. `None` once the entrance is gone.
async fn gather(receiver: &mut mpsc::Receiver<Job>, knobs: GroupCommit) -> Option<Vec<Job>> {
    let first = receiver.recv().await?;
    let mut jobs = vec![first];
    let deadline = tokio::time::Instant::now() + Duration::from_micros(knobs.window_us);
    while jobs.len() < knobs.max_batch {
        match receiver.try_recv() {
            Ok(job) => jobs.push(job),
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(job)) => jobs.push(job),
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
    Some(jobs)
}
