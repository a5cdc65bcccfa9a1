//! Many calls at once, bounded, with one outcome per call: Rust's `asyncio.gather`, made
//! safe for ten thousand calls against a real API.
//!
//! Waiting concurrently is the whole trick: twenty calls that each wait 100 ms take
//! 2 s one after another, and about 100 ms when all twenty wait *at the same time*. But
//! "all at once" must have a bound (ten thousand sockets at once is a denial of service,
//! not a client), real APIs fail and throttle, and partial failure must not lose the calls
//! that worked. So [`gather()`] and [`stream()`], driven by a [`Policy`]:
//!
//! - a **required** concurrency limit (0 is an error, never "unbounded"), fixed or
//!   **adaptive** ([`Policy::adaptive`], the `adaptive` module: it finds the server's
//!   capacity as the batch goes, between 1 and that limit);
//! - calls are **driven by a task of their own** (a driver per core: see [`Policy::cores`]
//!   and the `cores` module), so calls in flight keep going even when whoever consumes the
//!   results is slow; a panicking call is its own outcome, never the batch's end;
//! - a per-attempt **timeout**; **retries** of what the caller's error calls transient
//!   (its [`Classify`]: for an HTTP client, connection errors, 429 and 5xx, never another
//!   4xx) with exponential backoff and full jitter, bounded by a **retry budget** for the
//!   whole batch; a wait the error asks for (a server's `Retry-After`) is honoured, up to
//!   [`Policy::max_retry_after`] (however long it asks: [`Event::Retrying`] reports both
//!   the wait asked for and the wait kept);
//! - an optional **rate limit** with bursts, shared by every call or one per key (see
//!   [`RateLimit`]), waited for before each attempt and outside its timeout;
//! - **collect-all** (default) or **fail-fast** (the first failure cancels the rest), and
//!   outside **cancellation** (Ctrl-C) through [`Policy::cancel`];
//! - **exactly one [`Outcome`] per input**: ok, failed, timed out or cancelled (a
//!   [`Failure`] keeps the caller's own error, untouched), with the attempts made and when
//!   it started and finished. Nothing that finished is ever lost;
//! - [`Event`]s (queued, started, retrying, finished) for progress bars and timelines.
//!
//! [`stream()`] yields outcomes as they complete ([`Order::Completed`], the
//! `asyncio.as_completed` way) or in input order ([`Order::Input`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex_engine::Result<()> {
//! use std::time::Duration;
//! use asyncdex_engine::gather::{gather, Policy};
//!
//! let outcomes = gather(vec![3u64, 1, 2], &Policy::new(2), |ms| async move {
//!     tokio::time::sleep(Duration::from_millis(ms)).await;
//!     Ok::<_, std::io::Error>(ms * 10)
//! })
//! .await?;
//! let values: Vec<u64> = outcomes.into_iter().map(|o| o.result.unwrap()).collect();
//! assert_eq!(values, vec![30, 10, 20]); // input order, whatever the finishing order
//! # Ok(()) }
//! ```

mod adaptive;
mod classify;
mod cores;
mod hedge;
mod policy;
mod rate;
pub mod stream;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::StreamExt;
use rand::SeedableRng;

pub use adaptive::Adaptive;
pub use classify::{Classify, Failure, Retry};
pub use hedge::{Hedge, Winner};
use policy::Budget;
pub use policy::{Backoff, EventSink, Policy};
pub use rate::{RateKey, RateLimit};
pub use stream::{stream, Order};

use crate::error::{Error, ErrorKind, Result};

/// What a batch can run: a function from an input to a future of `Result<T, E>`, shareable
/// across the threads that drive the calls. Any `Fn(I) -> impl Future<Output = Result<T,
/// E>>` that is `Send + Sync + 'static` is one: this only names the bounds once.
pub trait CallFn<I, T, E>: Fn(I) -> Self::Future + Send + Sync + 'static {
    /// The future one call returns.
    type Future: Future<Output = std::result::Result<T, E>> + Send + 'static;
}

impl<I, T, E, F, Fut> CallFn<I, T, E> for F
where
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<T, E>> + Send + 'static,
{
    type Future = Fut;
}

/// A call that gets its own clone of `shared` each time, with its input: the
/// clone-per-call closure every batch over a client would otherwise write out.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> asyncdex_engine::Result<()> {
/// use std::sync::Arc;
/// use asyncdex_engine::gather::{gather, with_shared, Policy};
///
/// let prefix: Arc<str> = "item-".into();
/// let call = with_shared(prefix, |prefix, i: u32| async move {
///     Ok::<_, std::io::Error>(format!("{prefix}{i}"))
/// });
/// let outcomes = gather(vec![1, 2], &Policy::new(2), call).await?;
/// assert_eq!(outcomes[1].result.as_deref().unwrap(), "item-2");
/// # Ok(()) }
/// ```
pub fn with_shared<S, I, Fut>(
    shared: S,
    call: impl Fn(S, I) -> Fut + Send + Sync + 'static,
) -> impl Fn(I) -> Fut + Send + Sync + 'static
where
    S: Clone + Send + Sync + 'static,
{
    move |input| call(shared.clone(), input)
}

/// What a batch's inputs must be: each call gets a clone (a retry gets another), and the
/// inputs are shared by the threads that drive the calls.
pub trait Input: Clone + Send + Sync + 'static {}

impl<I: Clone + Send + Sync + 'static> Input for I {}

/// What a call's output and error must be: sent from the thread that drove the call.
pub trait Output: Send + 'static {}

impl<T: Send + 'static> Output for T {}

/// The result of one call, with its attempts and timing relative to the batch's start.
#[derive(Debug)]
pub struct Outcome<T, E> {
    /// Position of the call's input.
    pub index: usize,
    /// When the call started, since the batch started.
    pub started: Duration,
    /// When it finished, since the batch started.
    pub finished: Duration,
    /// Attempts made (0 if it was cancelled before starting).
    pub attempts: u32,
    /// Whether its (last hedged) attempt got a second copy ([`Policy::hedge`]), and
    /// which copy answered. A hedge is not an attempt: `attempts` does not count it.
    pub hedged: Option<Winner>,
    /// What it returned, or how it failed.
    pub result: std::result::Result<T, Failure<E>>,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// It succeeded (possibly after retries).
    Ok,
    /// It failed for good (see the error).
    Failed,
    /// Its last attempt timed out.
    TimedOut,
    /// It was cancelled (fail-fast, Ctrl-C) before it could finish.
    Cancelled,
}

impl Status {
    /// Its lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::TimedOut => "timed_out",
            Status::Cancelled => "cancelled",
        }
    }
}

impl<T, E: Classify> Outcome<T, E> {
    /// How the call ended.
    pub fn status(&self) -> Status {
        match &self.result {
            Ok(_) => Status::Ok,
            Err(failure) => failure.status(),
        }
    }
}

/// What happens to the calls of a batch, as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// The batch has `total` calls.
    Queued {
        /// How many.
        total: usize,
    },
    /// An attempt started.
    Started {
        /// The batch it belongs to ([`Event::Finished`] says the same), so that one sink
        /// shared by batches running at once tells their calls apart.
        batch: u64,
        /// The call.
        index: usize,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// An attempt failed and will be retried after `wait`.
    Retrying {
        /// The call.
        index: usize,
        /// The attempt that failed.
        attempt: u32,
        /// Why, in one line.
        error: String,
        /// How long until the next attempt.
        wait: Duration,
        /// The wait the failure itself asked for ([`Retry::After`], such as a server's
        /// `Retry-After`), if it asked. Longer than `wait` when the policy shortened it to
        /// [`Policy::max_retry_after`]: a reporter can say so.
        asked: Option<Duration>,
    },
    /// An adaptive limit ([`Policy::adaptive`]) is now `limit` calls in flight: once when
    /// the batch starts, then at each change.
    Limit {
        /// Calls in flight allowed from now on.
        limit: usize,
    },
    /// The call ended.
    Finished {
        /// The batch it belongs to.
        batch: u64,
        /// The call.
        index: usize,
        /// How.
        status: Status,
        /// Attempts made.
        attempts: u32,
    },
}

/// Checks a concurrency limit: at least 1.
pub fn check_limit(limit: usize) -> Result<usize> {
    if limit == 0 {
        return Err(Error::invalid_input(
            "concurrency must be at least 1 (0 would never start a call)",
        ));
    }
    Ok(limit)
}

/// Runs `call` on every input under `policy` and returns one outcome per input, in input
/// order. The only error is a policy that can never work ([`Policy::check`]); every call's
/// own failure is in its outcome.
pub async fn gather<I, T, E, F>(
    inputs: Vec<I>,
    policy: &Policy,
    call: F,
) -> Result<Vec<Outcome<T, E>>>
where
    I: Input,
    T: Output,
    E: Classify + Output,
    F: CallFn<I, T, E>,
{
    let mut slots: Vec<Option<Outcome<T, E>>> =
        std::iter::repeat_with(|| None).take(inputs.len()).collect();
    let mut outcomes = stream(inputs, policy, Order::Completed, call)?;
    // Collected by a task of its own: if the caller is `block_on`'s own future (as in
    // `#[tokio::main]`), every outcome that woke it would cost a system call; a task is
    // woken for free, and the caller once, at the end.
    // Aborted if this future is dropped: the calls stop with it, as they would without
    // the task.
    let collect = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
        while let Some(outcome) = outcomes.next().await {
            let index = outcome.index;
            slots[index] = Some(outcome);
        }
        slots
    }));
    let slots = collect.await.map_err(|e| {
        let kind = if e.is_panic() {
            ErrorKind::Panicked
        } else {
            ErrorKind::Cancelled
        };
        Error::new(kind, format!("collecting the outcomes {kind}"))
    })?;
    // One outcome per input, always: should a driver have been stopped from outside
    // (its runtime shut down), its calls count as cancelled.
    let never_finished = |index| Outcome {
        index,
        started: Duration::ZERO,
        finished: Duration::ZERO,
        attempts: 0,
        hedged: None,
        result: Err(Failure::Cancelled),
    };
    Ok(slots
        .into_iter()
        .enumerate()
        .map(|(index, o)| o.unwrap_or_else(|| never_finished(index)))
        .collect())
}

/// What every call of one batch shares.
struct Batch<F> {
    /// Unique in the process: what the batch's events carry.
    id: u64,
    call: F,
    policy: Policy,
    budget: Budget,
    epoch: Instant,
    /// The adaptive limit, if the policy asks for one.
    limiter: Option<adaptive::Limiter>,
    /// Hedged requests, if the policy asks for them.
    hedger: Option<hedge::Hedger>,
}

impl<F> Batch<F> {
    /// A batch of `total` calls of `call` under `policy` (checked), its clock started.
    fn new(call: F, policy: &Policy, total: usize) -> Result<Arc<Batch<F>>> {
        policy.check()?;
        let mut policy = policy.clone();
        // Fail-fast cancels this batch only; an outside cancel still reaches it.
        policy.cancel = policy.cancel.child_token();
        policy.emit(&Event::Queued { total });
        let limiter = policy
            .adaptive
            .map(|a| adaptive::Limiter::new(a, policy.concurrency));
        if let Some(limiter) = &limiter {
            policy.emit(&Event::Limit {
                limit: limiter.current(),
            });
        }
        /// Batches made so far in this process.
        static BATCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(Arc::new(Batch {
            id: BATCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            limiter,
            hedger: policy.hedge.map(hedge::Hedger::new),
            budget: Budget::new(policy.retry_budget.unwrap_or(total.saturating_add(10))),
            call,
            policy,
            epoch: Instant::now(),
        }))
    }
}

/// One call: attempts, with timeout, rate limit and retries, until success or a final error.
async fn attempt_loop<I, T, E, F>(
    batch: &Batch<F>,
    index: usize,
    input: I,
    attempts: &mut u32,
    hedged: &mut Option<Winner>,
) -> std::result::Result<T, Failure<E>>
where
    I: Clone,
    E: Classify,
    F: CallFn<I, T, E>,
{
    let policy = &batch.policy;
    // Seeded on the first retry only: most calls never need it, and a ChaCha state is
    // ~330 bytes of every call in flight.
    let mut rng: Option<Box<rand::rngs::StdRng>> = None;
    loop {
        if let Some(rate) = &policy.rate {
            rate.until_ready(index).await;
        }
        *attempts += 1;
        let attempt = *attempts;
        policy.emit(&Event::Started {
            batch: batch.id,
            index,
            attempt,
        });
        let timing = batch.limiter.as_ref().map(|limiter| limiter.begin());
        // Hedged, boxed: a batch that does not hedge keeps its calls' futures as small.
        let call = match &batch.hedger {
            None => futures::future::Either::Left((batch.call)(input.clone())),
            Some(h) => futures::future::Either::Right(Box::pin(hedge::attempt(
                batch,
                h,
                index,
                &input,
                attempt == 1,
                hedged,
            ))),
        };
        let result = match policy.timeout {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(result) => result.map_err(Failure::Failed),
                Err(_) => Err(Failure::TimedOut(limit)),
            },
            None => call.await.map_err(Failure::Failed),
        };
        if let Some(timing) = timing {
            timing.end(adaptive::Signal::of(&result), policy);
        }
        let failure = match result {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        let asked = match failure.retry() {
            Retry::No => return Err(failure),
            Retry::Yes => None,
            Retry::After(wait) => Some(wait),
        };
        if attempt > policy.retries || !batch.budget.take() {
            return Err(failure);
        }
        // Every wait a failure asks for is capped here, the one place it is read: a
        // `Retry-After` of years waits `max_retry_after`.
        let wait = match asked {
            Some(asked) => asked.min(policy.max_retry_after),
            None => {
                let rng = rng.get_or_insert_with(|| {
                    let seed = policy.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    Box::new(rand::rngs::StdRng::seed_from_u64(seed))
                });
                policy.backoff.wait(attempt, rng.as_mut())
            }
        };
        policy.emit(&Event::Retrying {
            index,
            attempt,
            error: failure.to_string(),
            wait,
            asked,
        });
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
