//! One driver: a loop on one core that starts calls while it has room, polls them itself,
//! and passes their outcomes on.
//!
//! Its calls live in a `FuturesUnordered` it polls; nothing is spawned per call. Each
//! turn it reads its share of the limit (fixed, or the adaptive limit's value now),
//! takes inputs from the queue up to it, then waits for whichever comes first: a call
//! ending, room in the window, a change of the limit (if its share is 0), or the end of
//! its linger. Outcomes are passed on in handfuls: at once from the consumer's own core,
//! after at most [`LINGER`] from another, so that one wake-up across cores carries many.
//! A call's panic is its outcome, and fail-fast and the `Finished` event happen here, as
//! each call ends.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::queue::{Queue, Take};
use super::Share;
use crate::gather::{
    attempt_loop, Batch, CallFn, Classify, Event, Failure, Input, Outcome, Output, Status,
};
use crate::offload::panic_message;

/// Most outcomes a driver passes on in one message.
const BATCH: usize = 64;

/// Longest an outcome waits on another core before it is passed on: short enough for a
/// progress bar or a stream, long enough that one wake-up of the consumer carries many.
pub(super) const LINGER: Duration = Duration::from_millis(2);

/// One driver: starts calls from the queue while it has room (at most its share in
/// flight), polls them, and sends each outcome on, until every input has started and
/// its own calls have finished.
pub(super) fn drive<I, T, E, F>(
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
