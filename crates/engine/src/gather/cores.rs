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

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{FuturesUnordered, Stream, StreamExt};
use futures::FutureExt;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{
    attempt_loop, Batch, CallFn, Classify, Event, Failure, Input, Order, Outcome, Output, Status,
};
use crate::offload::panic_message;

/// Most outcomes a driver passes on in one message.
const BATCH: usize = 64;

/// Longest an outcome waits on another core before it is passed on: short enough for a
/// progress bar or a stream, long enough that one wake-up of the consumer carries many.
const LINGER: Duration = Duration::from_millis(2);

/// How many drivers a batch can use: at most one per call in flight and per input.
fn count(cores: usize, limit: usize, inputs: usize) -> usize {
    cores.min(limit).min(inputs).max(1)
}

/// Driver `core`'s part of `limit` calls in flight over `cores` drivers.
fn share(limit: usize, cores: usize, core: usize) -> usize {
    limit / cores + usize::from(core < limit % cores)
}

/// The inputs, the next one to start, and how far the window reaches: shared by every
/// driver and the consumer.
struct Queue<I> {
    inputs: Vec<I>,
    next: AtomicUsize,
    /// Inputs below this index may start; the consumer moves it on.
    horizon: AtomicUsize,
    /// Some driver found the window full and waits for `room`.
    waiting: AtomicBool,
    room: Notify,
}

enum Take<I> {
    Input(usize, I),
    /// The window is full: wait for the consumer.
    Full,
    /// Every input has started.
    Done,
}

impl<I: Clone> Queue<I> {
    fn take(&self) -> Take<I> {
        let mut next = self.next.load(SeqCst);
        loop {
            let Some(input) = self.inputs.get(next) else {
                return Take::Done;
            };
            if next >= self.horizon.load(SeqCst) {
                return Take::Full;
            }
            match self
                .next
                .compare_exchange_weak(next, next + 1, SeqCst, SeqCst)
            {
                Ok(_) => return Take::Input(next, input.clone()),
                Err(now) => next = now,
            }
        }
    }

    fn has_room(&self) -> bool {
        self.next.load(SeqCst) < self.horizon.load(SeqCst)
    }

    /// Every input has been taken.
    fn exhausted(&self) -> bool {
        self.next.load(SeqCst) >= self.inputs.len()
    }
}

/// The consumer read `n` more outcomes: the window moves on by as many.
trait Window: Send + Sync {
    fn advance(&self, n: usize);
}

impl<I: Send + Sync> Window for Queue<I> {
    fn advance(&self, n: usize) {
        self.horizon.fetch_add(n, SeqCst);
        if self.waiting.swap(false, SeqCst) {
            self.room.notify_waiters();
        }
    }
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
    let queue = Arc::new(Queue {
        inputs,
        next: AtomicUsize::new(0),
        horizon: AtomicUsize::new(window),
        waiting: AtomicBool::new(false),
        room: Notify::new(),
    });
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
    Outcomes {
        rx,
        window: queue,
        start: Some(start),
        order,
        received: Vec::new().into_iter(),
        unpublished: 0,
        publish_every: (window / 4).max(1),
        due: 0,
        early: VecDeque::new(),
        _stop: stop.drop_guard(),
    }
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

/// One driver: starts calls from the queue while it has room (at most its share in
/// flight), polls them, and sends each outcome on, until every input has started and
/// its own calls have finished.
fn drive<I, T, E, F>(
    batch: &Arc<Batch<F>>,
    queue: &Arc<Queue<I>>,
    part: Share,
    linger: Option<Duration>,
    tx: mpsc::UnboundedSender<Vec<Outcome<T, E>>>,
) -> impl Future<Output = ()> + Send + 'static
where
    I: Input,
    T: Output,
    E: Classify + Output,
    F: CallFn<I, T, E>,
{
    let (batch, queue) = (Arc::clone(batch), Arc::clone(queue));
    async move {
        // Each driver listens on a cancel token of its own: calls register there, not all
        // on one token that every core would contend for.
        let cancel = batch.policy.cancel.child_token();
        let mut in_flight = FuturesUnordered::new();
        // Outcomes not passed on yet, and the timer that ends their lingering.
        let mut done: Vec<Outcome<T, E>> = Vec::new();
        let lingering = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(lingering);
        let mut linger_over = false;
        // Every input has started (`Take::Done` was seen: it stays so).
        let mut exhausted = false;
        loop {
            // Made before the share is read, so that a change in between is not missed.
            let changed = batch.limiter.as_ref().map(|l| l.changed.notified());
            let share = part.of(&batch);
            let mut full = false;
            while in_flight.len() < share {
                match queue.take() {
                    Take::Input(index, input) => {
                        in_flight.push(call(&batch, &cancel, index, input));
                    }
                    Take::Full => {
                        full = true;
                        break;
                    }
                    Take::Done => {
                        if !exhausted {
                            exhausted = true;
                            // A driver without a share waits for a change: this is one.
                            if let Some(limiter) = &batch.limiter {
                                limiter.changed.notify_waiters();
                            }
                        }
                        break;
                    }
                }
            }
            // No share and nothing in flight: wait for the limit to change (unless the
            // queue ran out meanwhile: then this driver is done).
            exhausted |= share == 0 && queue.exhausted();
            let idle = share == 0 && in_flight.is_empty() && !exhausted;
            let over = in_flight.is_empty() && exhausted;
            // Passed on at once by the consumer's own thread (a wake-up there is cheap);
            // from another thread after a short linger, so that one wake-up across cores
            // carries many. Never held while waiting for room, or at the end.
            // (Half its share at most: what lingers counts against the window, and the
            // window should hold back a consumer that falls behind, not one that keeps up.)
            let enough = done.len() >= (share / 2).max(1);
            let changed = async move {
                match changed {
                    Some(changed) => changed.await,
                    None => std::future::pending().await,
                }
            };
            let now = linger.is_none() || linger_over || full || over || enough;
            if !done.is_empty() && now {
                linger_over = false;
                if tx.send(std::mem::take(&mut done)).is_err() {
                    return; // nobody listens any more
                }
            }
            if over {
                return; // everything started has finished, and nothing is left
            }
            // Made before looking again, so room made in between is not missed.
            let room = queue.room.notified();
            if full {
                queue.waiting.store(true, SeqCst);
                if queue.has_room() {
                    continue;
                }
            }
            let waiting_to_send = linger.is_some() && !done.is_empty();
            tokio::select! {
                biased;
                Some(outcome) = in_flight.next(), if !in_flight.is_empty() => {
                    if let (Some(linger), true) = (linger, done.is_empty()) {
                        lingering.as_mut().reset(tokio::time::Instant::now() + linger);
                    }
                    // With it, every other call that is done by now.
                    finished(&batch, &outcome);
                    done.push(outcome);
                    while done.len() < BATCH {
                        match in_flight.next().now_or_never() {
                            Some(Some(outcome)) => {
                                finished(&batch, &outcome);
                                done.push(outcome);
                            }
                            _ => break,
                        }
                    }
                }
                _ = room, if full => {}
                _ = changed, if idle => {}
                _ = &mut lingering, if waiting_to_send => linger_over = true,
            }
        }
    }
}

/// One call, from its first attempt to its outcome. A panic in it is its outcome, too.
fn call<I, T, E, F>(
    batch: &Arc<Batch<F>>,
    cancel: &CancellationToken,
    index: usize,
    input: I,
) -> impl Future<Output = Outcome<T, E>> + Send + 'static
where
    I: Input,
    T: Output,
    E: Classify + Output,
    F: CallFn<I, T, E>,
{
    let (batch, cancel) = (Arc::clone(batch), cancel.clone());
    async move {
        let started = batch.epoch.elapsed();
        let (mut attempts, mut hedged) = (0, None);
        let result = {
            let (attempts, won) = (&mut attempts, &mut hedged);
            let run = AssertUnwindSafe(attempt_loop(&batch, index, input, attempts, won));
            tokio::select! {
                biased;
                _ = cancel.cancelled() => Err(Failure::Cancelled),
                result = run.catch_unwind() => result.unwrap_or_else(|panic| {
                    Err(Failure::Panicked(panic_message(panic.as_ref()).to_owned()))
                }),
            }
        };
        Outcome {
            index,
            started,
            finished: batch.epoch.elapsed(),
            attempts,
            hedged,
            result,
        }
    }
}

/// What the batch does when a call ends: fail-fast, and the `Finished` event.
fn finished<F, T, E: Classify>(batch: &Batch<F>, outcome: &Outcome<T, E>) {
    let status = outcome.status();
    if batch.policy.fail_fast && matches!(status, Status::Failed | Status::TimedOut) {
        batch.policy.cancel.cancel();
    }
    batch.policy.emit(&Event::Finished {
        batch: batch.id,
        index: outcome.index,
        status,
        attempts: outcome.attempts,
    });
}

/// The outcomes of a batch, as [`super::stream`] yields them. Dropping it stops every
/// driver: calls in flight are dropped, the rest never start.
pub(super) struct Outcomes<T, E> {
    rx: mpsc::UnboundedReceiver<Vec<Outcome<T, E>>>,
    window: Arc<dyn Window>,
    /// Starts the drivers at the first poll.
    start: Option<Box<dyn FnOnce() + Send>>,
    order: Order,
    /// Completion order: outcomes received and not yet yielded.
    received: std::vec::IntoIter<Outcome<T, E>>,
    /// Outcomes yielded whose room in the window is not given back yet: room is given
    /// back in handfuls (a quarter of the window), and all of it before waiting.
    unpublished: usize,
    publish_every: usize,
    /// Input order: the index of the next outcome to yield, and those that came early.
    due: usize,
    early: VecDeque<Option<Outcome<T, E>>>,
    _stop: DropGuard,
}

impl<T, E> Outcomes<T, E> {
    fn yielded(&mut self, outcome: Option<Outcome<T, E>>) -> Poll<Option<Outcome<T, E>>> {
        self.unpublished += 1;
        if self.unpublished >= self.publish_every {
            self.publish();
        }
        Poll::Ready(outcome)
    }

    fn publish(&mut self) {
        if self.unpublished > 0 {
            self.window.advance(self.unpublished);
            self.unpublished = 0;
        }
    }
}

impl<T, E> Stream for Outcomes<T, E> {
    type Item = Outcome<T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Outcome<T, E>>> {
        if let Some(start) = self.start.take() {
            start();
        }
        loop {
            match self.order {
                Order::Completed => {
                    if let Some(outcome) = self.received.next() {
                        return self.yielded(Some(outcome));
                    }
                }
                Order::Input => {
                    if let Some(Some(_)) = self.early.front() {
                        let outcome = self.early.pop_front().flatten();
                        self.due += 1;
                        return self.yielded(outcome);
                    }
                }
            }
            self.publish();
            let Some(batch) = std::task::ready!(self.rx.poll_recv(cx)) else {
                // Every driver is done. In input order nothing can be left waiting (every
                // input before one that came has come too), but should a driver have been
                // stopped from outside, what did come is still yielded.
                while let Some(early) = self.early.pop_front() {
                    if early.is_some() {
                        return Poll::Ready(early);
                    }
                }
                return Poll::Ready(None);
            };
            if self.order == Order::Completed {
                self.received = batch.into_iter();
                continue;
            }
            // Input order: park each in its place (the window keeps that within `limit`).
            for outcome in batch {
                let place = outcome.index - self.due;
                if self.early.len() <= place {
                    self.early.resize_with(place + 1, || None);
                }
                self.early[place] = Some(outcome);
            }
        }
    }
}

impl<T, E> Unpin for Outcomes<T, E> {}

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

    #[test]
    fn the_queue_stops_at_the_window_and_at_the_end() {
        let queue = Queue {
            inputs: vec!['a', 'b', 'c'],
            next: AtomicUsize::new(0),
            horizon: AtomicUsize::new(2),
            waiting: AtomicBool::new(false),
            room: Notify::new(),
        };
        assert!(matches!(queue.take(), Take::Input(0, 'a')));
        assert!(matches!(queue.take(), Take::Input(1, 'b')));
        assert!(matches!(queue.take(), Take::Full));
        queue.advance(1);
        assert!(matches!(queue.take(), Take::Input(2, 'c')));
        assert!(matches!(queue.take(), Take::Done));
    }
}
