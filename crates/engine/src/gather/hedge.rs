//! Hedged requests: a call that is slower than nearly all the others gets a second copy,
//! and whichever answers first wins.
//!
//! A slow tail is rarely the call's own fault. The server it reached was collecting
//! garbage, its packet was lost, its disk was busy: asked again, the same call most likely
//! takes the usual time. So, as Dean and Barroso's "The Tail at Scale" (2013) describes:
//! wait until the call has taken longer than the batch's 95th percentile, then send the
//! same call again, and take the first answer. The loser is cancelled (its future is
//! dropped: an HTTP client closes its request). Nineteen calls in twenty never reach the
//! 95th percentile, so they cost nothing more; the twentieth pays for a second copy and
//! usually gets the typical latency on top of its wait, instead of the tail.
//!
//! Three bounds keep it safe:
//!
//! - a **warm-up**: no hedge until [`Hedge::warmup`] attempts have finished, so the
//!   percentile is a measurement, not a guess;
//! - a **budget**: each call started earns [`Hedge::budget`] of a copy (5 % by default),
//!   and a hedge spends a whole one; when none is left the call just waits. However slow
//!   the server gets, hedging adds at most that fraction of requests: it cannot double the
//!   load on a server that is slow because it is overloaded;
//! - the percentile never **feeds on its own hedges**: the original of a hedged attempt
//!   was dropped, so its latency is unknown; it is recorded as the threshold it passed,
//!   the one thing known about it. (Recording the winner's time instead would let the
//!   threshold creep up, hedge by hedge.)
//!
//! A hedge is an attempt's twin, not a retry: it waits for the rate limit like any
//! request, runs inside the same attempt timeout, and its outcome is still the call's one
//! [`Outcome`](super::Outcome), which says in [`Outcome::hedged`](super::Outcome::hedged)
//! which copy won. A copy that fails does not win while the other is still running: the
//! call takes the first success, or the last failure. A copy counts as sent only once it
//! has its rate token and makes its call: one still waiting for a token when its original
//! answers sent nothing, so its call is not "hedged" and the copy goes back to the budget.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::{Batch, CallFn};
use crate::error::{Error, Result};
use crate::latency::Histogram;

/// When and how much to hedge: past which quantile of the batch's attempts a second copy
/// goes out, after how many finished attempts, and within what budget of copies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hedge {
    /// Hedge an attempt still waiting past this quantile of the batch's attempts (0.95:
    /// the 95th percentile).
    pub quantile: f64,
    /// Attempts that must finish before the first hedge.
    pub warmup: u64,
    /// Copies earned per call started: the most extra requests, as a fraction of calls.
    pub budget: f64,
}

impl Hedge {
    /// The highest quantile accepted: past it, too few calls are slower to measure.
    pub const MAX_QUANTILE: f64 = 0.999;

    /// Hedges past quantile `quantile` (0.95 for p95), after 20 attempts, at most 5 %.
    ///
    /// ```
    /// use asyncdex_engine::gather::Hedge;
    /// assert_eq!(Hedge::at(0.95).unwrap().budget, 0.05);
    /// assert!(Hedge::at(0.0).is_err() && Hedge::at(1.0).is_err());
    /// ```
    pub fn at(quantile: f64) -> Result<Hedge> {
        let hedge = Hedge {
            quantile,
            warmup: 20,
            budget: 0.05,
        };
        hedge.check()?;
        Ok(hedge)
    }

    /// The fewest calls a batch must start to earn its first copy (each call earns
    /// `budget` of one): a batch of fewer is never hedged. 20 at a budget of 5 %;
    /// `u64::MAX` at a budget of 0.
    ///
    /// ```
    /// use asyncdex_engine::gather::Hedge;
    /// assert_eq!(Hedge::at(0.95).unwrap().calls_for_one_copy(), 20);
    /// ```
    pub fn calls_for_one_copy(&self) -> u64 {
        if self.budget <= 0.0 {
            return u64::MAX;
        }
        let guess = (1.0 / self.budget).ceil() as u64;
        // The count `Hedger::take` earns a copy at, by the same arithmetic.
        (guess.saturating_sub(1).max(1)..=guess.saturating_add(1))
            .find(|&calls| self.earned(calls) >= 1)
            .unwrap_or(guess)
    }

    /// Copies `calls` started calls have earned.
    fn earned(&self, calls: u64) -> u64 {
        (calls as f64 * self.budget).floor() as u64
    }

    /// Rejects a quantile outside (0, 0.999] and a budget outside [0, 1].
    pub fn check(&self) -> Result<()> {
        if !(self.quantile > 0.0 && self.quantile <= Hedge::MAX_QUANTILE) {
            return Err(Error::invalid_input(format!(
                "a hedge's percentile must be above 0 and at most {}, not {}",
                Hedge::MAX_QUANTILE * 100.0,
                self.quantile * 100.0
            )));
        }
        if !(0.0..=1.0).contains(&self.budget) {
            return Err(Error::invalid_input(format!(
                "a hedge's budget must be between 0 and 1, not {}",
                self.budget
            )));
        }
        Ok(())
    }
}

/// Which copy of a hedged attempt answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Winner {
    /// The first one, sent as usual.
    Original,
    /// The second, sent when the first was slower than the batch's percentile.
    Hedge,
}

/// Threshold recomputed every this many attempts (a quantile reads every bucket).
const REFRESH: u64 = 8;

/// A batch's hedging: its attempts' latencies, the threshold, and the budget.
pub(super) struct Hedger {
    hedge: Hedge,
    latencies: Histogram,
    /// The threshold in nanoseconds; 0 while warming up.
    threshold: AtomicU64,
    calls: AtomicU64,
    hedges: AtomicU64,
}

impl Hedger {
    pub(super) fn new(hedge: Hedge) -> Hedger {
        Hedger {
            hedge,
            latencies: Histogram::new(),
            threshold: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            hedges: AtomicU64::new(0),
        }
    }

    /// A call started: it earns its share of a copy.
    pub(super) fn call_started(&self) {
        self.calls.fetch_add(1, Relaxed);
    }

    /// How long an attempt waits before its hedge; `None` while warming up.
    pub(super) fn threshold(&self) -> Option<Duration> {
        match self.threshold.load(Relaxed) {
            0 => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// An attempt took `took` (a hedged one: the threshold it passed).
    pub(super) fn record(&self, took: Duration) {
        self.latencies.record(took);
        let n = self.latencies.count();
        if n >= self.hedge.warmup && (n % REFRESH == 0 || self.threshold().is_none()) {
            if let Some(q) = self.latencies.quantile(self.hedge.quantile) {
                let ns = u64::try_from(q.as_nanos()).unwrap_or(u64::MAX);
                self.threshold.store(ns.max(1), Relaxed);
            }
        }
    }

    /// Spends a copy, if the calls so far have earned one.
    pub(super) fn take(&self) -> bool {
        let earned = self.hedge.earned(self.calls.load(Relaxed));
        self.hedges
            .fetch_update(Relaxed, Relaxed, |h| (h < earned).then_some(h + 1))
            .is_ok()
    }

    /// Gives back a copy taken but never sent (it still waited for the rate limit when
    /// its original answered).
    fn give_back(&self) {
        self.hedges.fetch_sub(1, Relaxed);
    }

    /// Copies sent so far.
    #[cfg(test)]
    pub(super) fn sent(&self) -> u64 {
        self.hedges.load(Relaxed)
    }
}

/// One attempt of call `index` under `hedger`: the call, and its copy if it is slow.
/// `won` is set to the copy that answered, when a copy was sent.
pub(super) async fn attempt<I: Clone, T, E, F: CallFn<I, T, E>>(
    batch: &Batch<F>,
    hedger: &Hedger,
    index: usize,
    input: &I,
    first: bool,
    won: &mut Option<Winner>,
) -> std::result::Result<T, E> {
    if first {
        hedger.call_started();
    }
    // Set once the copy has its rate token and makes its call: a copy still waiting for
    // one when the original answers never sent a request, and is not counted as sent.
    let sent = AtomicBool::new(false);
    let copy = || async {
        if let Some(rate) = &batch.policy.rate {
            rate.until_ready(index).await;
        }
        sent.store(true, Relaxed);
        (batch.call)(input.clone()).await
    };
    let (result, winner) = race(hedger, (batch.call)(input.clone()), copy, &sent).await;
    if winner.is_some() {
        *won = winner;
    }
    result
}

/// Races `original` against `copy` (started only once the threshold passes, and only if
/// the budget allows): the first success wins; a failure waits for the other copy.
/// Returns the result and, if a copy was sent (`copy` sets `sent` when it makes its
/// request, after any wait for the rate limit), which one it came from. A copy dropped
/// before it sent anything was no hedge: it is not counted, and its budget is given back.
async fn race<T, E, C: Future<Output = std::result::Result<T, E>>>(
    hedger: &Hedger,
    original: impl Future<Output = std::result::Result<T, E>>,
    copy: impl FnOnce() -> C,
    sent: &AtomicBool,
) -> (std::result::Result<T, E>, Option<Winner>) {
    let started = tokio::time::Instant::now();
    tokio::pin!(original);
    let Some(after) = hedger.threshold() else {
        let result = original.await;
        hedger.record(started.elapsed());
        return (result, None);
    };
    tokio::select! {
        biased;
        result = &mut original => {
            hedger.record(started.elapsed());
            return (result, None);
        }
        _ = tokio::time::sleep(after) => {}
    }
    if !hedger.take() {
        let result = original.await;
        hedger.record(started.elapsed());
        return (result, None);
    }
    // The original will be dropped if the copy wins: all that is known of its latency is
    // that it passed the threshold.
    hedger.record(after);
    let copy = copy();
    tokio::pin!(copy);
    let (first, which) = tokio::select! {
        result = &mut original => (result, Winner::Original),
        result = &mut copy => (result, Winner::Hedge),
    };
    if first.is_ok() {
        if which == Winner::Original && !sent.load(Relaxed) {
            hedger.give_back();
            return (first, None);
        }
        return (first, Some(which));
    }
    // A failure does not win while the other copy may still succeed.
    let other = match which {
        Winner::Original => (copy.await, Winner::Hedge),
        Winner::Hedge => (original.await, Winner::Original),
    };
    match other {
        (Ok(value), winner) => (Ok(value), Some(winner)),
        (Err(_), _) => (first, Some(which)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_earned_by_calls_started() {
        let hedger = Hedger::new(Hedge::at(0.95).unwrap());
        for _ in 0..39 {
            hedger.call_started();
        }
        assert!(hedger.take(), "39 calls earn one copy");
        assert!(!hedger.take(), "and only one");
        hedger.call_started();
        assert!(hedger.take(), "the 40th earns a second");
        assert_eq!(hedger.sent(), 2);
    }

    #[test]
    fn no_threshold_before_the_warmup_then_the_percentile() {
        let hedger = Hedger::new(Hedge::at(0.95).unwrap());
        for _ in 0..19 {
            hedger.record(Duration::from_millis(10));
        }
        assert_eq!(hedger.threshold(), None);
        hedger.record(Duration::from_millis(10));
        let t = hedger.threshold().unwrap();
        assert!(
            t >= Duration::from_millis(10) && t <= Duration::from_micros(10_320),
            "{t:?}"
        );
    }

    #[test]
    fn bad_quantiles_are_refused() {
        for q in [0.0, -0.5, 1.0, 0.9995, f64::NAN] {
            assert!(Hedge::at(q).is_err(), "{q}");
        }
        assert!(Hedge::at(0.999).is_ok() && Hedge::at(0.5).is_ok());
        let bad_budget = Hedge {
            budget: 1.5,
            ..Hedge::at(0.9).unwrap()
        };
        assert!(bad_budget.check().is_err());
    }
}

#[cfg(test)]
#[path = "hedge_tests.rs"]
mod batch_tests;
