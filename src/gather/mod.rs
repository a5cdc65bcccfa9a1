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
//! - each call runs as a **spawned task**, so calls in flight keep going even when whoever
//!   consumes the results is slow;
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

mod policy;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, BoxStream, StreamExt};
use rand::SeedableRng;
use tokio::task::JoinHandle;

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
    let mut outcomes: Vec<Outcome<T>> = stream(inputs, policy, Order::Completed, call)?
        .collect()
        .await;
    outcomes.sort_by_key(|o| o.index);
    Ok(outcomes)
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
/// Dropping the stream aborts the calls in flight; calls not yet started never start.
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
    let limit = batch.policy.concurrency;
    let calls = stream::iter(inputs.into_iter().enumerate()).map(move |(index, input)| {
        let batch = Arc::clone(&batch);
        let attempts = Arc::new(AtomicU32::new(0));
        let task = (!batch.policy.cancel.is_cancelled()).then(|| {
            let (batch, attempts) = (Arc::clone(&batch), Arc::clone(&attempts));
            AbortOnDrop(tokio::spawn(async move {
                let started = batch.epoch.elapsed();
                let cancel = batch.policy.cancel.clone();
                let result = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => Err(cancelled()),
                    result = attempt_loop(&batch, index, input, &attempts) => result,
                };
                (started, result)
            }))
        });
        async move {
            let (started, result) = match task {
                Some(task) => match task.join().await {
                    Ok(done) => done,
                    Err(e) => (batch.epoch.elapsed(), Err(e)),
                },
                None => (batch.epoch.elapsed(), Err(cancelled())),
            };
            let outcome = Outcome {
                index,
                started,
                finished: batch.epoch.elapsed(),
                attempts: attempts.load(Ordering::Relaxed),
                result,
            };
            let status = outcome.status();
            if batch.policy.fail_fast && matches!(status, Status::Failed | Status::TimedOut) {
                batch.policy.cancel.cancel();
            }
            batch.policy.emit(&Event::Finished {
                index,
                status,
                attempts: outcome.attempts,
            });
            outcome
        }
    });
    Ok(match order {
        Order::Completed => calls.buffer_unordered(limit).boxed(),
        Order::Input => calls.buffered(limit).boxed(),
    })
}

fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "cancelled before it finished")
}

/// One call: attempts, with timeout, rate limit and retries, until success or a final error.
async fn attempt_loop<I, T, F, Fut>(
    batch: &Batch<F>,
    index: usize,
    input: I,
    attempts: &AtomicU32,
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
        let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
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

/// A spawned task that is aborted if its handle is dropped before it finishes.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> Result<T> {
        let handle = &mut self.0;
        handle.await.map_err(|e| {
            let kind = if e.is_panic() {
                ErrorKind::Panicked
            } else {
                ErrorKind::Cancelled
            };
            Error::new(kind, format!("call {kind}"))
        })
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests;
