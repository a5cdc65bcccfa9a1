//! How a batch of calls behaves: concurrency, timeouts, retries, rate, failure policy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

use super::{Adaptive, Event, RateLimit};
use crate::error::{Error, Result};

/// Exponential backoff with full jitter: the n-th retry waits a uniformly random time in
/// `[0, min(max, base × 2^(n-1))]` (AWS's "full jitter", which spreads retries best).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The cap of the first retry's wait.
    pub base: Duration,
    /// The largest cap.
    pub max: Duration,
}

impl Default for Backoff {
    /// 100 ms, doubling, capped at 5 s.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (1-based), drawn from `rng`.
    pub fn wait(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let cap = self
            .base
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20))
            .min(self.max);
        cap.mul_f64(rng.random::<f64>())
    }
}

/// Receives every [`Event`] of a batch (progress bars, logs, timelines).
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// How a batch behaves. Start from [`Policy::new`] and adjust the fields.
///
/// ```
/// use std::time::Duration;
/// use asyncdex_engine::gather::Policy;
/// let mut policy = Policy::new(64);
/// policy.timeout = Some(Duration::from_secs(5));
/// policy.retries = 3;
/// assert!(Policy::new(0).check().is_err());
/// ```
#[derive(Clone)]
pub struct Policy {
    /// Most calls in flight (required; 0 is rejected). With [`Policy::adaptive`], the
    /// most the adaptive limit may reach.
    pub concurrency: usize,
    /// Find the limit as the batch goes, between 1 and `concurrency`: rising while latency
    /// stays near its floor, falling when it grows or the server is overloaded (see
    /// [`Adaptive`]). `None` (the default): `concurrency` calls in flight throughout.
    pub adaptive: Option<Adaptive>,
    /// Send a second copy of an attempt slower than the batch's percentile (see
    /// [`Hedge`](super::Hedge)); `None` (the default): never.
    pub hedge: Option<super::Hedge>,
    /// Time limit of one attempt. `None`: none.
    pub timeout: Option<Duration>,
    /// Retries per call after the first attempt (only transient failures are retried).
    pub retries: u32,
    /// Waits between retries.
    pub backoff: Backoff,
    /// Most retries for the whole batch (`None`: as many as the batch has calls, plus 10),
    /// so a server that is down does not get every call times every retry.
    pub retry_budget: Option<usize>,
    /// Longest `Retry-After` honoured; a longer one is shortened to this.
    pub max_retry_after: Duration,
    /// A rate limit shared by the calls (and by every batch given a clone of it); see
    /// [`RateLimit::keyed`] for one budget per key.
    pub rate: Option<RateLimit>,
    /// Cancel the rest at the first failure.
    pub fail_fast: bool,
    /// Cancels the batch from outside (Ctrl-C): no new call starts, calls in flight stop.
    pub cancel: CancellationToken,
    /// Where events go.
    pub events: Option<EventSink>,
    /// Seed of the backoff jitter.
    pub seed: u64,
    /// Single-threaded runtimes the calls are spread over (thread-per-core). 1, the
    /// default, runs every call on the caller's runtime; `n` adds `n - 1` runtimes, each
    /// on a thread of its own, that take calls from the same queue. Batches whose
    /// outcomes come in input order always use one.
    pub cores: usize,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("concurrency", &self.concurrency)
            .field("adaptive", &self.adaptive)
            .field("hedge", &self.hedge)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("retry_budget", &self.retry_budget)
            .field("rate", &self.rate)
            .field("fail_fast", &self.fail_fast)
            .field("cores", &self.cores)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// `concurrency` calls at once; no timeout, no retries, no rate limit, collect all.
    pub fn new(concurrency: usize) -> Policy {
        Policy {
            concurrency,
            adaptive: None,
            hedge: None,
            timeout: None,
            retries: 0,
            backoff: Backoff::default(),
            retry_budget: None,
            max_retry_after: Duration::from_secs(60),
            rate: None,
            fail_fast: false,
            cancel: CancellationToken::new(),
            events: None,
            seed: 0,
            cores: 1,
        }
    }

    /// Rejects settings that can never work.
    pub fn check(&self) -> Result<()> {
        super::check_limit(self.concurrency)?;
        if self.cores == 0 {
            return Err(Error::invalid_input(
                "cores must be at least 1 (the caller's own runtime)",
            ));
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid_input("the timeout must be positive"));
        }
        if let Some(hedge) = &self.hedge {
            hedge.check()?;
        }
        Ok(())
    }

    /// Adds `sink` to what receives every event of the batch. Sinks added before keep
    /// receiving them, and in the order they were added: a progress bar and an event log
    /// can be attached in either order (`events` itself may still be set outright).
    pub fn add_events(&mut self, sink: EventSink) {
        self.events = Some(match self.events.take() {
            None => sink,
            Some(before) => Arc::new(move |event: &Event| {
                before(event);
                sink(event);
            }),
        });
    }

    pub(super) fn emit(&self, event: &Event) {
        if let Some(sink) = &self.events {
            sink(event);
        }
    }
}

/// Retries left for a whole batch.
#[derive(Debug)]
pub(super) struct Budget(AtomicUsize);

impl Budget {
    pub(super) fn new(retries: usize) -> Budget {
        Budget(AtomicUsize::new(retries))
    }

    /// Takes one retry, if any is left.
    pub(super) fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn full_jitter_stays_under_a_doubling_cap() {
        let backoff = Backoff::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for retry in 1..=10u32 {
            let cap =
                (Duration::from_millis(100) * 2u32.pow(retry - 1)).min(Duration::from_secs(5));
            let waits: Vec<Duration> = (0..200).map(|_| backoff.wait(retry, &mut rng)).collect();
            assert!(waits.iter().all(|w| *w <= cap), "retry {retry}");
            assert!(
                waits.iter().any(|w| *w < cap / 4),
                "jitter reaches low: retry {retry}"
            );
            assert!(
                waits.iter().any(|w| *w > cap * 3 / 4),
                "and high: retry {retry}"
            );
        }
    }

    #[test]
    fn the_budget_runs_out() {
        let budget = Budget::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take());
    }

    #[test]
    fn added_sinks_all_receive_every_event_in_either_order() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut policy = Policy::new(1);
        for name in ["bar", "log"] {
            let seen = seen.clone();
            policy.add_events(Arc::new(move |_: &Event| seen.lock().unwrap().push(name)));
        }
        policy.emit(&Event::Queued { total: 1 });
        assert_eq!(*seen.lock().unwrap(), ["bar", "log"]);
    }
}
