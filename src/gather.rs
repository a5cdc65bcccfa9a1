//! Many calls at once, bounded, with one outcome per call: Rust's `asyncio.gather`.
//!
//! Waiting concurrently is the whole trick: twenty calls that each wait 100 ms take
//! 2 s one after another, and about 100 ms when all twenty wait *at the same time*. But
//! "all at once" must have a bound (ten thousand sockets at once is a denial of service,
//! not a client), and partial failure must not lose the calls that worked.
//!
//! So [`gather`] and [`stream`]:
//! - take a **required** concurrency limit (0 is an error, never "unbounded");
//! - run each call as a **spawned task**, so calls in flight keep going even when whoever
//!   consumes the results is slow;
//! - return **exactly one [`Outcome`] per input**, success or failure, with when it started
//!   and finished, so nothing that finished is ever lost;
//! - abort the calls still in flight when the stream is dropped (cancellation is prompt).
//!
//! [`stream`] yields outcomes as they complete ([`Order::Completed`], the
//! `asyncio.as_completed` way) or in input order ([`Order::Input`], the async-generator way).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex::Result<()> {
//! use std::time::Duration;
//! use asyncdex::gather::gather;
//!
//! let outcomes = gather(vec![3u64, 1, 2], 2, |ms| async move {
//!     tokio::time::sleep(Duration::from_millis(ms)).await;
//!     Ok(ms * 10)
//! })
//! .await?;
//! let values: Vec<u64> = outcomes.into_iter().map(|o| o.result.unwrap()).collect();
//! assert_eq!(values, vec![30, 10, 20]); // input order, whatever the finishing order
//! # Ok(()) }
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

use futures::stream::{self, BoxStream, StreamExt};
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind, Result};

/// The result of one call, with its timing relative to the start of the batch.
#[derive(Debug)]
pub struct Outcome<T> {
    /// Position of the call's input.
    pub index: usize,
    /// When the call started, since the batch started.
    pub started: Duration,
    /// When it finished, since the batch started.
    pub finished: Duration,
    /// What it returned.
    pub result: Result<T>,
}

/// The order in which [`stream`] yields outcomes.
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

/// Runs `call` on every input, at most `limit` at once, and returns one outcome per
/// input, in input order.
pub async fn gather<I, T, F, Fut>(inputs: Vec<I>, limit: usize, call: F) -> Result<Vec<Outcome<T>>>
where
    I: Send + 'static,
    T: Send + 'static,
    F: FnMut(I) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let mut outcomes: Vec<Outcome<T>> = stream(inputs, limit, Order::Completed, call)?
        .collect()
        .await;
    outcomes.sort_by_key(|o| o.index);
    Ok(outcomes)
}

/// Runs `call` on every input, at most `limit` at once, yielding outcomes in `order`.
///
/// Dropping the stream aborts the calls in flight; calls not yet started never start.
pub fn stream<I, T, F, Fut>(
    inputs: Vec<I>,
    limit: usize,
    order: Order,
    mut call: F,
) -> Result<BoxStream<'static, Outcome<T>>>
where
    I: Send + 'static,
    T: Send + 'static,
    F: FnMut(I) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let limit = check_limit(limit)?;
    let epoch = Instant::now();
    let calls = stream::iter(inputs.into_iter().enumerate()).map(move |(index, input)| {
        let fut = call(input);
        let task = AbortOnDrop(tokio::spawn(async move {
            let started = epoch.elapsed();
            let result = fut.await;
            (started, result)
        }));
        async move {
            let (started, result) = match task.join().await {
                Ok(done) => done,
                Err(e) => (epoch.elapsed(), Err(e)),
            };
            Outcome {
                index,
                started,
                finished: epoch.elapsed(),
                result,
            }
        }
    });
    Ok(match order {
        Order::Completed => calls.buffer_unordered(limit).boxed(),
        Order::Input => calls.buffered(limit).boxed(),
    })
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
        let out = gather((0..20).collect(), 64, |i: u32| async move {
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
        gather((0..10).collect(), 3, move |_: u32| {
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
        let out = gather((0..6).collect(), 2, |i: u32| async move {
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
        let done: Vec<u64> = stream(delays.clone(), 8, Order::Completed, call)
            .unwrap()
            .map(|o| o.result.unwrap())
            .collect()
            .await;
        assert_eq!(done, vec![100, 200, 300]);
        let ordered: Vec<u64> = stream(delays, 8, Order::Input, call)
            .unwrap()
            .map(|o| o.result.unwrap())
            .collect()
            .await;
        assert_eq!(ordered, vec![300, 100, 200]);
    }

    #[tokio::test]
    async fn zero_concurrency_is_rejected() {
        let err = gather(vec![1], 0, |i: u32| async move { Ok(i) })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_stream_aborts_calls_in_flight() {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        let mut s = stream(vec![10u64, 1000, 1000], 3, Order::Completed, move |ms| {
            let f = f.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                f.fetch_add(1, Ordering::SeqCst);
                Ok(ms)
            }
        })
        .unwrap();
        assert_eq!(s.next().await.unwrap().result.unwrap(), 10);
        drop(s);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(finished.load(Ordering::SeqCst), 1);
    }
}
