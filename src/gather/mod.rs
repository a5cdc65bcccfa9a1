//! Many calls at once, bounded, with one outcome per call: Rust's `asyncio.gather`, made
//! safe for ten thousand calls against a real API.
//!
//! Waiting concurrently is the whole trick: twenty calls that each wait 100 ms take
//! 2 s one after another, and about 100 ms when all twenty wait *at the same time*. But
//! "all at once" must have a bound (ten thousand sockets at once is a denial of service,
//! not a client), real APIs fail and throttle, and partial failure must not lose the calls
//! that worked. So [`gather()`] and [`stream()`], driven by a [`Policy`]:
//!
//! - a **required** concurrency limit (0 is an error, never "unbounded");
//! - calls are **driven by a task of their own** (a driver per core: see [`Policy::cores`]
//!   and the `cores` module), so calls in flight keep going even when whoever consumes the
//!   results is slow; a panicking call is its own outcome, never the batch's end;
//! - a per-attempt **timeout**; **retries** of transient failures (timeouts, connection
//!   errors, 429, 5xx; never another 4xx) with exponential backoff and full jitter, bounded
//!   by a **retry budget** for the whole batch; a server's `Retry-After` is honoured;
//! - an optional **rate limit** shared by every call;
//! - **collect-all** (default) or **fail-fast** (the first failure cancels the rest), and
//!   outside **cancellation** (Ctrl-C) through [`Policy::cancel`];
//! - **exactly one [`Outcome`] per input**: ok, failed, timed out or cancelled, with the
//!   attempts made and when it started and finished. Nothing that finished is ever lost;
//! - [`Event`]s (queued, started, retrying, finished) for progress bars and timelines.
//!
//! [`stream()`] yields outcomes as they complete ([`Order::Completed`], the
//! `asyncio.as_completed` way) or in input order ([`Order::Input`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex::Result<()> {
//! use std::time::Duration;
//! use asyncdex::gather::{gather, Policy};
//!
//! let outcomes = gather(vec![3u64, 1, 2], &Policy::new(2), |ms| async move {
//!     tokio::time::sleep(Duration::from_millis(ms)).await;
//!     Ok(ms * 10)
//! })
//! .await?;
//! let values: Vec<u64> = outcomes.into_iter().map(|o| o.result.unwrap()).collect();
//! assert_eq!(values, vec![30, 10, 20]); // input order, whatever the finishing order
//! # Ok(()) }
//! ```

mod cores;
mod policy;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{BoxStream, StreamExt};
use rand::SeedableRng;

use policy::Budget;
pub use policy::{Backoff, EventSink, Policy, RateLimit};

use crate::error::{Error, ErrorKind, Result};

/// The result of one call, with its attempts and timing relative to the batch's start.
#[derive(Debug)]
pub struct Outcome<T> {
    /// Position of the call's input.
    pub index: usize,
    /// When the call started, since the batch started.
    pub started: Duration,
    /// When it finished, since the batch started.
    pub finished: Duration,
    /// Attempts made (0 if it was cancelled before starting).
    pub attempts: u32,
    /// What it returned.
    pub result: Result<T>,
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

impl<T> Outcome<T> {
    /// How the call ended.
    pub fn status(&self) -> Status {
        match &self.result {
            Ok(_) => Status::Ok,
            Err(e) if e.kind() == ErrorKind::Timeout => Status::TimedOut,
            Err(e) if e.kind() == ErrorKind::Cancelled => Status::Cancelled,
            Err(_) => Status::Failed,
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
        /// Why.
        error: Error,
        /// How long until the next attempt.
        wait: Duration,
    },
    /// The call ended.
    Finished {
        /// The call.
        index: usize,
        /// How.
        status: Status,
        /// Attempts made.
        attempts: u32,
    },
}

/// The order in which [`stream()`] yields outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// As calls complete: the fastest first.
    Completed,
    /// In input order (a finished call waits for the ones before it to be yielded).
    Input,
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
/// order.
pub async fn gather<I, T, F, Fut>(
    inputs: Vec<I>,
    policy: &Policy,
    call: F,
) -> Result<Vec<Outcome<T>>>
where
    I: Clone + Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let mut slots: Vec<Option<Outcome<T>>> =
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
        result: Err(cancelled()),
    };
    Ok(slots
        .into_iter()
        .enumerate()
        .map(|(index, o)| o.unwrap_or_else(|| never_finished(index)))
        .collect())
}

/// What every call of one batch shares.
struct Batch<F> {
    call: F,
    policy: Policy,
    budget: Budget,
    epoch: Instant,
}

/// Runs `call` on every input under `policy`, yielding outcomes in `order`.
///
/// Nothing starts until the stream is first polled. The calls are driven by tasks of
/// their own ([`Policy::cores`] of them, see the `cores` module), so calls in flight keep
/// going while the consumer is slow; a consumer that falls behind (by four times
/// `concurrency` in completion order, `concurrency` places in input order) holds back new
/// calls only. Dropping the stream aborts the calls in flight; calls not yet started
/// never start.
pub fn stream<I, T, F, Fut>(
    inputs: Vec<I>,
    policy: &Policy,
    order: Order,
    call: F,
) -> Result<BoxStream<'static, Outcome<T>>>
where
    I: Clone + Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    policy.check()?;
    let mut policy = policy.clone();
    // Fail-fast cancels this batch only; an outside cancel still reaches it.
    policy.cancel = policy.cancel.child_token();
    policy.emit(&Event::Queued {
        total: inputs.len(),
    });
    let batch = Arc::new(Batch {
        budget: Budget::new(policy.retry_budget.unwrap_or(inputs.len() + 10)),
        call,
        policy,
        epoch: Instant::now(),
    });
    Ok(cores::spread(batch, inputs, order).boxed())
}

fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "cancelled before it finished")
}

/// One call: attempts, with timeout, rate limit and retries, until success or a final error.
async fn attempt_loop<I, T, F, Fut>(
    batch: &Batch<F>,
    index: usize,
    input: I,
    attempts: &mut u32,
) -> Result<T>
where
    I: Clone,
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let policy = &batch.policy;
    // Seeded on the first retry only: most calls never need it, and a ChaCha state is
    // ~330 bytes of every call in flight.
    let mut rng: Option<Box<rand::rngs::StdRng>> = None;
    loop {
        if let Some(rate) = &policy.rate {
            rate.until_ready().await;
        }
        *attempts += 1;
        let attempt = *attempts;
        policy.emit(&Event::Started { index, attempt });
        let call = (batch.call)(input.clone());
        let result = match policy.timeout {
            Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("timed out after {:.1} s", limit.as_secs_f64()),
                ))
            }),
            None => call.await,
        };
        let error = match result {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if attempt > policy.retries || !error.is_transient() || !batch.budget.take() {
            return Err(error);
        }
        let wait = match error.retry_after() {
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
            error,
            wait,
        });
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
