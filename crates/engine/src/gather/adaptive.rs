//! A concurrency limit that finds itself: `-c auto`, the way TCP finds a path's window.
//!
//! A fixed limit is a guess. Too low and a server that could take more waits on the client
//! (64 calls in flight against a server with room for 500 leave it idle); too high and the
//! calls past the server's capacity only queue there (latency grows as Little's law says:
//! more in flight, same throughput) or are turned away (`503`, `429`). The best limit is
//! the server's capacity, and the client can *measure* it: while the calls in flight fit,
//! each takes the server's own time, the latency's **floor**; once they do not, the extra
//! ones wait in its queue and latency rises above the floor. So an [`Adaptive`] limit
//! rises while latency stays near its floor and falls when latency grows or the server
//! says it is overloaded ([`Classify::is_overload`](super::Classify::is_overload), a
//! timeout), always between 1 and the policy's [`concurrency`](super::Policy::concurrency),
//! which becomes the limit's maximum.
//!
//! # The algorithm, and why this one
//!
//! Three well-known designs were read: Netflix's `concurrency-limits` (Vegas: estimate the
//! server's queue from the floor; Gradient2: compare a short with a long average; AIMD),
//! Vector's adaptive request concurrency (AIMD on an average of latency, falling when it
//! passes the average plus a multiple of its deviation, or on back pressure), and tower's
//! fixed limits. This one is **Vegas with TCP's slow start and a multiplicative cut on
//! overload**:
//!
//! - once per *window*, the calls in flight `L`, the window's mean latency `r` and the
//!   floor `f` (the lowest window mean yet) give the calls waiting in the server's queue:
//!   `q = L × (1 − f / r)` (Little's law: at `L / r` calls a second, `L × f / r` are being
//!   served and the rest wait). With `q` at most `α` the limit rises, past `β` it falls to
//!   `L − q + α`: the server's capacity, plus a few to keep it busy (`α` and `β` grow as
//!   `log10 L`, 3 and 6 below 100, as Netflix's Vegas does);
//! - it starts low (4) and **doubles** every window while no queue shows (slow start),
//!   so a server with room for 500 is found in 7 windows, not 500;
//! - an **overload** answer or a **timeout** cuts it to 0.7 × (TCP CUBIC's factor), at
//!   most once per window: the server said so outright, whatever the latency says.
//!
//! Why not the others: Gradient2 compares with a long average that follows the latency up
//! while a queue persists, so a limit that keeps a queue is never pushed back. Vector's
//! ARC grows by one call per window: from 1 to a capacity of 500 is 500 windows (50 s at
//! 100 ms), longer than most batches here last; and its average follows the latency up the
//! same way, so against a server that queues (rather than refuses) it mostly learns from
//! `503`s. The floor is what a queueing server cannot hide, and the only thing Vegas needs.
//!
//! Two details keep the estimate honest. A window counts only attempts that *started*
//! after it opened, so each decision sees the effect of the last one (a cut is not cut
//! again by the latency that caused it). The floor is the lowest window *mean*, not the
//! lowest single latency, and a window's mean must pass it by more than three standard
//! errors of that mean before any of the gap counts as a queue (Vector's idea: a
//! deviation, not a fixed threshold), so jitter is not mistaken for a queue; and it
//! rises (by an eighth of the gap, each time) when cutting the limit does not bring the
//! latency down: latency the client did not cause, such as a slower endpoint. (It must
//! not rise otherwise: the limit keeps `α` calls queued on purpose, so no window at the
//! limit ever sees the floor again.)
//!
//! # Where it lives
//!
//! The limit is one atomic number per batch: every driver (one per core) reads it each
//! turn and keeps its share of it in flight; it changes when an attempt ends, which
//! already wakes that driver. Each change is an [`Event::Limit`](super::Event::Limit),
//! so a timeline can draw it beside the calls. It costs one lock per attempt; the
//! measured cost is in BENCHMARKS.md (Session 5).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Classify, Event, Failure, Policy};

/// Settings of an adaptive concurrency limit: from `initial`, it doubles while latency
/// stays at its floor, then holds the calls in flight at what the server serves at once
/// plus a few (TCP Vegas's estimate of its queue), and falls by 30 % when the server says
/// it is overloaded ([`Classify::is_overload`](super::Classify::is_overload)) or an attempt
/// times out. Its maximum is the policy's [`concurrency`](super::Policy::concurrency).
/// (`gather/adaptive.rs` explains the algorithm and why this one.)
///
/// ```
/// use asyncdex_engine::gather::{Adaptive, Policy};
/// let mut policy = Policy::new(1000); // at most 1 000 in flight
/// policy.adaptive = Some(Adaptive::default()); // starting at 4, finding the rest
/// assert!(policy.check().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adaptive {
    /// The limit a batch starts at (clamped to 1 and the maximum).
    pub initial: usize,
}

impl Default for Adaptive {
    /// Starts at 4 calls in flight.
    fn default() -> Self {
        Adaptive { initial: 4 }
    }
}

/// Cut on overload or timeout (TCP CUBIC's β).
const CUT: f64 = 0.7;
/// Most samples a window waits for (more only delays the decision).
const MOST_SAMPLES: usize = 64;
/// Fewest samples that make a window (fewer are too noisy to judge by).
const FEWEST_SAMPLES: usize = 4;
/// How many standard errors of a window's mean latency are taken for noise, not a queue.
const NOISE: f64 = 3.0;

/// `max(1, ⌊log10 L⌋)`: how Vegas scales its thresholds with the limit.
fn log10(limit: f64) -> f64 {
    limit.log10().floor().max(1.0)
}

/// How one attempt ended, as the limit sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
    /// It succeeded: its latency is a sample.
    Sample,
    /// The server said it is overloaded, or the attempt timed out.
    Congestion,
    /// Any other failure: says nothing about load (a refused connection is fast, not idle).
    Nothing,
}

impl Signal {
    /// What an attempt's result says.
    pub(super) fn of<T, E: Classify>(result: &std::result::Result<T, Failure<E>>) -> Signal {
        match result {
            Ok(_) => Signal::Sample,
            Err(Failure::TimedOut(_)) => Signal::Congestion,
            Err(Failure::Failed(e)) if e.is_overload() || e.is_timeout() => Signal::Congestion,
            Err(_) => Signal::Nothing,
        }
    }
}

/// A batch's adaptive limit: the number the drivers read, and the estimate behind it.
#[derive(Debug)]
pub(super) struct Limiter {
    max: usize,
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    /// Notified when the limit changes (a driver with no share waits for it).
    pub(super) changed: Notify,
    state: Mutex<Estimate>,
}

/// The estimate, changed once per window.
#[derive(Debug)]
struct Estimate {
    limit: f64,
    max: f64,
    slow_start: bool,
    floor: Option<f64>,
    /// The mean latency that made the last cut for a queue, until the next window.
    cut_for: Option<f64>,
    /// The window: opened when, its samples, their total latency (s) and total square
    /// (s²), and whether calls in flight reached half the limit (if not, the batch is not
    /// using the limit: no rise).
    opened: Instant,
    samples: usize,
    total: f64,
    squares: f64,
    busy: bool,
}

impl Limiter {
    /// The limit of a batch whose policy has `adaptive` settings and `max` calls at most.
    pub(super) fn new(adaptive: Adaptive, max: usize) -> Limiter {
        let max = max.max(1);
        let initial = adaptive.initial.clamp(1, max);
        Limiter {
            max,
            limit: AtomicUsize::new(initial),
            in_flight: AtomicUsize::new(0),
            changed: Notify::new(),
            state: Mutex::new(Estimate::new(initial as f64, max as f64, Instant::now())),
        }
    }

    /// The limit now: at least 1, at most the maximum.
    pub(super) fn current(&self) -> usize {
        self.limit.load(Relaxed)
    }

    /// An attempt starts: it counts as in flight until it ends (or is dropped).
    pub(super) fn begin(&self) -> Attempt<'_> {
        self.in_flight.fetch_add(1, Relaxed);
        Attempt {
            limiter: self,
            started: Instant::now(),
            ended: false,
        }
    }

    fn end(&self, started: Instant, signal: Signal, policy: &Policy) {
        let in_flight = self.in_flight.fetch_sub(1, Relaxed);
        if signal == Signal::Nothing {
            return;
        }
        let now = Instant::now();
        let mut estimate = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(limit) = estimate.record(now, started, in_flight, signal) {
            let limit = (limit as usize).clamp(1, self.max);
            if self.limit.swap(limit, Relaxed) != limit {
                self.changed.notify_waiters();
                // Under the lock, so that the events come in the order of the changes.
                policy.emit(&Event::Limit { limit });
            }
        }
    }
}

/// One attempt in flight; [`Attempt::end`] reports how it ended. Dropped without ending
/// (its call was cancelled), it only stops counting as in flight.
pub(super) struct Attempt<'a> {
    limiter: &'a Limiter,
    started: Instant,
    ended: bool,
}

impl Attempt<'_> {
    /// The attempt ended so: the limit learns from it (and `policy` hears of a change).
    pub(super) fn end(mut self, signal: Signal, policy: &Policy) {
        self.ended = true;
        self.limiter.end(self.started, signal, policy);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.limiter.in_flight.fetch_sub(1, Relaxed);
        }
    }
}

impl Estimate {
    fn new(limit: f64, max: f64, now: Instant) -> Estimate {
        Estimate {
            limit,
            max,
            slow_start: true,
            floor: None,
            cut_for: None,
            opened: now,
            samples: 0,
            total: 0.0,
            squares: 0.0,
            busy: false,
        }
    }

    /// Records an attempt that started at `started` and ended at `now` with `in_flight`
    /// attempts in flight (itself included); returns the new limit when a window closed.
    fn record(
        &mut self,
        now: Instant,
        started: Instant,
        in_flight: usize,
        signal: Signal,
    ) -> Option<f64> {
        if started < self.opened {
            return None; // it ran under the previous limit: the last decision saw it
        }
        if signal == Signal::Congestion {
            self.slow_start = false;
            self.limit = (self.limit * CUT).max(1.0);
            self.open(now);
            return Some(self.limit);
        }
        self.samples += 1;
        let latency = now.duration_since(started).as_secs_f64();
        self.total += latency;
        self.squares += latency * latency;
        self.busy |= in_flight as f64 * 2.0 >= self.limit;
        let enough = (self.limit as usize / 2).clamp(FEWEST_SAMPLES, MOST_SAMPLES);
        if self.samples < enough {
            return None;
        }
        let n = self.samples as f64;
        let latency = self.total / n;
        // The mean's own noise (its standard error): a window whose mean is off the floor
        // by no more than a few of these says nothing about a queue.
        let noise = ((self.squares / n - latency * latency).max(0.0) / n).sqrt();
        self.decide(latency, noise);
        self.open(now);
        Some(self.limit)
    }

    /// The window's verdict, from its mean latency and that mean's standard error.
    fn decide(&mut self, latency: f64, noise: f64) {
        let mut floor = self.floor.map_or(latency, |f| f.min(latency));
        // Latency that a cut did not bring down was not the client's doing (a slower
        // endpoint, a busier server): the floor follows it up, by an eighth of the gap
        // each time. (A queue the client did cause drains after a cut.)
        if self.cut_for.take().is_some_and(|before| latency >= before) {
            floor += (latency - floor) / 8.0;
        }
        let queued = latency - floor - NOISE * noise;
        let queue = if queued > 0.0 {
            self.limit * queued / latency
        } else {
            0.0
        };
        let scale = log10(self.limit);
        let (alpha, beta) = (3.0 * scale, 6.0 * scale);
        if queue > beta || (self.slow_start && queue > alpha) {
            // Down to what the server serves at once, plus α to keep it busy.
            self.slow_start = false;
            self.limit = (self.limit - queue + alpha).max(1.0);
            self.floor = Some(floor);
            self.cut_for = Some(latency);
            return;
        }
        self.floor = Some(floor);
        if !self.busy {
            return; // the batch does not use the limit it has: no evidence for more
        }
        if self.slow_start {
            self.limit *= 2.0;
        } else if queue <= scale {
            self.limit += beta; // no queue at all: grow fast (after a cut)
        } else if queue < alpha {
            self.limit += scale;
        }
        self.limit = self.limit.min(self.max);
    }

    fn open(&mut self, now: Instant) {
        self.opened = now;
        self.samples = 0;
        self.total = 0.0;
        self.squares = 0.0;
        self.busy = false;
    }
}

#[cfg(test)]
mod tests;
