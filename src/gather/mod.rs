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
    let mut rng = rand::rngs::StdRng::seed_from_u64(
        policy.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
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
            None => policy.backoff.wait(attempt, &mut rng),
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
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn concurrent_calls_take_one_wait_not_the_sum() {
        let t0 = tokio::time::Instant::now();
        let out = gather((0..20).collect(), &Policy::new(64), |i: u32| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(i)
        })
        .await
        .unwrap();
        assert_eq!(t0.elapsed(), Duration::from_millis(100));
        assert_eq!(out.len(), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_bounds_calls_in_flight() {
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let t0 = tokio::time::Instant::now();
        let (n, p) = (now.clone(), peak.clone());
        gather((0..10).collect(), &Policy::new(3), move |_: u32| {
            let (n, p) = (n.clone(), p.clone());
            async move {
                p.fetch_max(n.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                n.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await
        .unwrap();
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(t0.elapsed(), Duration::from_millis(400)); // ceil(10 / 3) waves
    }

    #[tokio::test]
    async fn failures_and_panics_keep_their_place_and_nothing_is_lost() {
        let out = gather((0..6).collect(), &Policy::new(2), |i: u32| async move {
            match i {
                2 => Err(Error::new(ErrorKind::NotFound, "not found")),
                4 => panic!("call 4 panics"),
                _ => Ok(i),
            }
        })
        .await
        .unwrap();
        let kinds: Vec<_> = out
            .iter()
            .map(|o| o.result.as_ref().err().map(|e| e.kind()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                None,
                None,
                Some(ErrorKind::NotFound),
                None,
                Some(ErrorKind::Panicked),
                None
            ]
        );
        assert_eq!(
            out.iter().map(|o| o.index).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4, 5]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn completed_order_yields_the_fastest_first_input_order_does_not() {
        let delays = vec![300u64, 100, 200];
        let call = |ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(ms)
        };
        let done: Vec<u64> = stream(delays.clone(), &Policy::new(8), Order::Completed, call)
            .unwrap()
            .map(|o| o.result.unwrap())
            .collect()
            .await;
        assert_eq!(done, vec![100, 200, 300]);
        let ordered: Vec<u64> = stream(delays, &Policy::new(8), Order::Input, call)
            .unwrap()
            .map(|o| o.result.unwrap())
            .collect()
            .await;
        assert_eq!(ordered, vec![300, 100, 200]);
    }

    #[tokio::test]
    async fn zero_concurrency_is_rejected() {
        let err = gather(vec![1], &Policy::new(0), |i: u32| async move { Ok(i) })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_stream_aborts_calls_in_flight() {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        let mut s = stream(
            vec![10u64, 1000, 1000],
            &Policy::new(3),
            Order::Completed,
            move |ms| {
                let f = f.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    f.fetch_add(1, Ordering::SeqCst);
                    Ok(ms)
                }
            },
        )
        .unwrap();
        assert_eq!(s.next().await.unwrap().result.unwrap(), 10);
        drop(s);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(finished.load(Ordering::SeqCst), 1);
    }

    /// A call that fails with `errors` in turn, then succeeds; counts its attempts.
    fn flaky(
        errors: Vec<Error>,
    ) -> impl Fn(u32) -> futures::future::Ready<Result<u32>> + Send + Sync {
        let calls = Arc::new(std::sync::Mutex::new(errors.into_iter()));
        move |i| {
            futures::future::ready(match calls.lock().unwrap().next() {
                Some(e) => Err(e),
                None => Ok(i),
            })
        }
    }

    fn status(code: u16) -> Error {
        Error::new(ErrorKind::Status, format!("HTTP {code}")).with_status(code)
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_bounded_backoff() {
        let mut policy = Policy::new(1);
        policy.retries = 3;
        let t0 = tokio::time::Instant::now();
        let out = gather(
            vec![7],
            &policy,
            flaky(vec![status(503), status(502), status(500)]),
        )
        .await
        .unwrap();
        assert_eq!(
            (out[0].attempts, out[0].result.as_ref().ok()),
            (4, Some(&7))
        );
        // Full jitter: at most 100 + 200 + 400 ms of waiting.
        assert!(
            t0.elapsed() <= Duration::from_millis(700),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn not_found_and_other_4xx_are_never_retried() {
        let mut policy = Policy::new(1);
        policy.retries = 5;
        let not_found = Error::new(ErrorKind::NotFound, "not found").with_status(404);
        for error in [
            not_found,
            status(400),
            Error::new(ErrorKind::Decode, "bad json"),
        ] {
            let out = gather(vec![1], &policy, flaky(vec![error])).await.unwrap();
            assert_eq!(out[0].attempts, 1);
            assert_eq!(out[0].status(), Status::Failed);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured() {
        let mut policy = Policy::new(1);
        policy.retries = 1;
        let throttled = status(429).with_retry_after(Some(Duration::from_secs(3)));
        let t0 = tokio::time::Instant::now();
        let out = gather(vec![1], &policy, flaky(vec![throttled]))
            .await
            .unwrap();
        assert!(out[0].result.is_ok());
        assert_eq!(t0.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn each_attempt_has_its_own_timeout() {
        let mut policy = Policy::new(4);
        policy.timeout = Some(Duration::from_millis(500));
        policy.retries = 2;
        let t0 = tokio::time::Instant::now();
        let out = gather(vec![1u32], &policy, |_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!((out[0].status(), out[0].attempts), (Status::TimedOut, 3));
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn the_retry_budget_bounds_retries_for_the_whole_batch() {
        let mut policy = Policy::new(10);
        policy.retries = 5;
        policy.retry_budget = Some(3);
        let out = gather((0..10).collect(), &policy, |_: u32| async {
            Err::<(), _>(status(503))
        })
        .await
        .unwrap();
        let attempts: u32 = out.iter().map(|o| o.attempts).sum();
        assert_eq!(attempts, 10 + 3);
        assert!(out.iter().all(|o| o.status() == Status::Failed));
    }

    #[tokio::test(start_paused = true)]
    async fn fail_fast_cancels_the_rest_and_keeps_what_finished() {
        let mut policy = Policy::new(2);
        policy.fail_fast = true;
        let out = gather((0..6).collect(), &policy, |i: u32| async move {
            tokio::time::sleep(Duration::from_millis(10 * u64::from(i + 1))).await;
            if i == 1 {
                Err(status(400))
            } else {
                Ok(i)
            }
        })
        .await
        .unwrap();
        let statuses: Vec<Status> = out.iter().map(Outcome::status).collect();
        assert_eq!(statuses[0], Status::Ok, "finished before the failure: kept");
        assert_eq!(statuses[1], Status::Failed);
        assert!(
            statuses[2..].iter().all(|s| *s == Status::Cancelled),
            "{statuses:?}"
        );
        assert_eq!(out.len(), 6, "one outcome per input, always");
    }

    #[tokio::test(start_paused = true)]
    async fn outside_cancellation_stops_calls_in_flight_at_once() {
        let policy = Policy::new(4);
        let cancel = policy.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            cancel.cancel();
        });
        let t0 = tokio::time::Instant::now();
        let out = gather((0..8).collect(), &policy, |i: u32| async move {
            tokio::time::sleep(Duration::from_millis(100 + 1000 * u64::from(i % 2))).await;
            Ok(i)
        })
        .await
        .unwrap();
        assert_eq!(t0.elapsed(), Duration::from_millis(150));
        let ok = out.iter().filter(|o| o.status() == Status::Ok).count();
        let cancelled = out
            .iter()
            .filter(|o| o.status() == Status::Cancelled)
            .count();
        assert_eq!(
            (ok, cancelled),
            (2, 6),
            "the two that finished by 100 ms are kept"
        );
    }

    /// governor keeps real time, so this test does too.
    #[tokio::test]
    async fn the_rate_limit_spaces_calls_out() {
        let mut policy = Policy::new(64);
        policy.rate = Some(RateLimit::per_second(20.0).unwrap());
        let t0 = Instant::now();
        let out = gather((0..5).collect(), &policy, |i: u32| async move { Ok(i) })
            .await
            .unwrap();
        assert_eq!(out.len(), 5);
        // The first call goes at once, the next four 50 ms apart.
        assert!(
            t0.elapsed() >= Duration::from_millis(190),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn events_tell_the_whole_story() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let mut policy = Policy::new(1);
        policy.retries = 1;
        policy.events = Some(Arc::new(move |e: &Event| {
            log.lock().unwrap().push(format!("{e:?}"))
        }));
        gather(vec![1], &policy, flaky(vec![status(503)]))
            .await
            .unwrap();
        let seen = seen.lock().unwrap();
        let kinds: Vec<&str> = seen
            .iter()
            .map(|e| e.split([' ', '{']).next().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["Queued", "Started", "Retrying", "Started", "Finished"]
        );
    }
}
