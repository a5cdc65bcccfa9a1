//! Who drives the calls: one driver per core, each a loop on a single-threaded runtime.
//!
//! A *driver* owns the calls it started and polls them itself (a `FuturesUnordered`):
//! it starts calls while it has room, and passes each outcome on as it comes. No task
//! is spawned per call and nothing is scheduled twice: a response wakes the driver, which
//! finishes that call and starts the next one in the same turn. The consumer only reads
//! outcomes, so a slow consumer never stalls a call in flight.
//!
//! Concurrency lets one thread keep thousands of calls waiting; parallelism lets several
//! cores do the *work* between the waits at the same time. While calls wait 100 ms for a
//! remote API, one thread has time to spare. Against a local server that answers in
//! microseconds the waiting is gone, the work is all there is, and one thread becomes the
//! limit. Rust has no GIL, so more threads really do run at once; but one multi-threaded
//! runtime is not the way (measured: slower than one thread), because a call woken by
//! its connection often lands on the other worker, and every such hop costs a wake-up
//! across cores. So, as oha and other fast clients do: one single-threaded runtime per
//! core ([`Policy::cores`](super::Policy::cores)), each driver with its own calls (and,
//! through the caller's client, its own connections), sharing nothing but the queue of inputs
//! and the channel of outcomes.
//!
//! - Driver 0 is a task of the caller's runtime; drivers 1‥n each run on a thread of
//!   their own. Each takes the next input from the shared queue whenever it has room, so
//!   a busier core simply takes fewer.
//! - The concurrency limit is split between the drivers (64 over 2 cores: 32 each), so
//!   the batch never has more calls in flight than its policy allows. An adaptive limit
//!   (the `adaptive` module) is split the same way, afresh at each turn of each driver:
//!   it changes when an attempt ends, which wakes the driver that ran it. A driver whose
//!   share is 0 (a limit of 1 over 2 cores) waits for the limit to change, or for the
//!   queue to run out.
//! - A window bounds what waits for the consumer: an input starts only while calls in
//!   flight and outcomes unread are fewer than four times `concurrency` (in input order:
//!   only while it is fewer than `concurrency` places after the next outcome due, as
//!   `buffered` does).
//! - Retries and their budget, the rate limit, fail-fast, cancellation and events are the
//!   batch's, shared by every driver exactly as by the calls of one.
//!
//! The parts, one module each: the `queue` of inputs and its window, the `driver` loop
//! (with each call it runs), and the `outcomes` stream the consumer reads. This module
//! splits the limit between the drivers and starts them.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Batch, CallFn, Classify, Input, Order, Output};

mod driver;
mod outcomes;
mod queue;

use driver::{drive, LINGER};
use outcomes::Outcomes;
use queue::Queue;

/// How many drivers a batch can use: at most one per call in flight and per input.
fn count(cores: usize, limit: usize, inputs: usize) -> usize {
    cores.min(limit).min(inputs).max(1)
}

/// Driver `core`'s part of `limit` calls in flight over `cores` drivers.
fn share(limit: usize, cores: usize, core: usize) -> usize {
    limit / cores + usize::from(core < limit % cores)
}

/// Starts the batch's drivers (at the first poll, one per core the policy allows) and
/// returns their outcomes: in completion order, or in input order.
pub(super) fn spread<I, T, E, F>(
    batch: Arc<Batch<F>>,
    inputs: Vec<I>,
    order: Order,
) -> Outcomes<T, E>
where
    I: Input,
    T: Output,
    E: Classify + Output,
    F: CallFn<I, T, E>,
{
    // With an adaptive limit, its maximum: the drivers, the window and the connections are
    // sized for the most the limit may reach.
    let limit = batch.policy.concurrency;
    let cores = count(batch.policy.cores, limit, inputs.len());
    // Completed order: what is in flight plus what waits unread stays under four times
    // the limit: room enough that a consumer busy on a core that also drives calls never
    // holds the other cores back, and a bound on one that falls behind. Input order: as
    // `buffered`, at most `limit` places from the next outcome due.
    // (A window wider than the batch never binds: capped there, it cannot overflow.)
    let window = match order {
        Order::Completed => limit.saturating_mul(4),
        Order::Input => limit,
    }
    .min(inputs.len().max(1));
    let queue = Arc::new(Queue::new(inputs, window));
    let stop = CancellationToken::new();
    let (tx, rx) = mpsc::unbounded_channel();
    let start: Box<dyn FnOnce() + Send> = Box::new({
        let (queue, stop) = (Arc::clone(&queue), stop.clone());
        move || {
            for core in 1..cores {
                let share = Share { core, cores };
                let driver = drive(&batch, &queue, share, Some(LINGER), tx.clone());
                let stop = stop.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("gather-core-{core}"))
                    .spawn(move || on_a_runtime_of_its_own(driver, stop));
                if let Err(e) = spawned {
                    // Its inputs stay in the queue: the other drivers take them.
                    tracing::warn!("gather: cannot start core {core}: {e}");
                }
            }
            let driver = drive(&batch, &queue, Share { core: 0, cores }, None, tx);
            tokio::spawn(until_stopped(driver, stop));
        }
    });
    Outcomes::new(rx, queue, window, start, order, stop.drop_guard())
}

/// Runs one driver on a new single-threaded runtime, until it is done or `stop`ped.
fn on_a_runtime_of_its_own(
    driver: impl Future<Output = ()> + Send + 'static,
    stop: CancellationToken,
) {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        // A task, not `block_on`'s own future: waking a task of this thread is a push on
        // its run queue, waking `block_on` is a system call every time.
        Ok(runtime) => runtime.block_on(async move {
            let _ = tokio::spawn(until_stopped(driver, stop.clone())).await;
            // What this runtime started (a caller's connections) is driven by it, and
            // another core may still use it (a late retry, a hedge): it lives until the
            // whole batch is over, not only until this core's share is.
            stop.cancelled().await;
        }),
        Err(e) => tracing::warn!("gather: cannot start a runtime for a core: {e}"),
    }
}

/// Runs `driver` until it is done, or `stop` is cancelled (the consumer went away).
async fn until_stopped(driver: impl Future<Output = ()>, stop: CancellationToken) {
    tokio::select! {
        biased;
        _ = stop.cancelled() => {}
        _ = driver => {}
    }
}

/// Which part of the limit a driver has: driver `core` of `cores`.
#[derive(Clone, Copy)]
struct Share {
    core: usize,
    cores: usize,
}

impl Share {
    /// The driver's calls in flight allowed now: its part of the policy's fixed limit, or
    /// of the adaptive limit's current value.
    fn of<F>(self, batch: &Batch<F>) -> usize {
        let limit = match &batch.limiter {
            Some(limiter) => limiter.current(),
            None => batch.policy.concurrency,
        };
        share(limit, self.cores, self.core)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_split_without_losing_a_call() {
        for (limit, cores) in [(64, 2), (7, 3), (3, 3), (1000, 7)] {
            let shares: Vec<usize> = (0..cores).map(|c| share(limit, cores, c)).collect();
            assert_eq!(shares.iter().sum::<usize>(), limit, "{limit} over {cores}");
            assert!(shares.iter().all(|&s| s >= 1));
            assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    fn never_more_cores_than_calls_in_flight_or_inputs() {
        assert_eq!(count(2, 64, 20_000), 2);
        assert_eq!(count(8, 3, 20_000), 3);
        assert_eq!(count(8, 64, 2), 2);
        assert_eq!(count(8, 64, 0), 1);
        assert_eq!(count(1, 64, 100), 1);
    }
}
