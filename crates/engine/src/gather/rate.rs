//! Rate limits: at most N calls per window, with bursts, one budget per key.
//!
//! A server's limit reads "100 calls per hour" or "20 per second, 5 at once". Both are a
//! **token bucket**: a bucket holds up to `burst` tokens and gains one every `1/rate`; a
//! call takes a token to start, and waits for one when the bucket is empty. After a quiet
//! spell `burst` calls start at once; after that they start one per `1/rate`, so over any
//! long window no more than `rate × window + burst` start.
//!
//! The bucket is kept as one instant per key, the **theoretical arrival time** of GCRA
//! (the Generic Cell Rate Algorithm, the bucket's cheap twin): `tat` is when the bucket
//! would be full again. A call arriving at `now` may start at `max(now, tat - (burst-1)/rate)`,
//! and moves `tat` to `max(tat, now) + 1/rate`. Each call *reserves* its start time under
//! a lock held for a few instructions, then sleeps until it outside the lock: waiters
//! start in the order they arrived, and nothing polls.
//!
//! The sleep is tokio's, so the limit obeys tokio's clock: tests run it on the paused
//! clock and a 100/h limit's 36 s spacing takes no real time at all. (A limiter with a
//! clock of its own, such as governor's, cannot be tested that way.)
//!
//! **Keys.** One run may talk to several servers, each with a limit of its own: two hosts
//! allowed 20/s each may get 20/s each, not 10. A [`RateLimit`] therefore keeps one bucket
//! per *key*, and [`RateLimit::keyed`] says which key each call of a batch uses (a
//! function of the call's index). What a key stands for is the caller's business: the
//! HTTP client keys by host; the engine only ever sees `u64`s. Without a key function
//! every call shares key 0: one budget for the whole batch. Buckets back to full are
//! forgotten (they are the same as new ones), so many keys over a long run cost nothing.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use std::time::Duration;
//! use asyncdex_engine::gather::RateLimit;
//! let limit = RateLimit::new(20.0, 5).unwrap(); // 20/s, 5 at once
//! let t0 = tokio::time::Instant::now();
//! for _ in 0..7 {
//!     limit.until_ready(0).await;
//! }
//! // Five at once, then two more 50 ms apart.
//! assert_eq!(t0.elapsed(), Duration::from_millis(100));
//! # }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};

/// Which bucket each call of a batch draws from: its index in, its key out.
pub type RateKey = Arc<dyn Fn(usize) -> u64 + Send + Sync>;

/// Buckets kept before those back to full are swept out.
const SWEEP_AT: usize = 1024;

/// The longest interval or burst tolerance accepted: a hundred years, so no instant
/// computed from them can overflow a clock.
const LONGEST: Duration = Duration::from_secs(100 * 365 * 86_400);

/// A rate limit with bursts, one bucket per key, shared by every clone (and so by every
/// call, and every batch, that holds one).
#[derive(Clone)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
    /// `1/rate`: the time one token takes to come back.
    interval: Duration,
    /// `(burst - 1) × interval`: how far ahead of its turn a call may start.
    tolerance: Duration,
    /// Each key's theoretical arrival time.
    buckets: Arc<Mutex<HashMap<u64, Instant>>>,
    /// The key of call `index`; `None`: key 0 for all.
    key: Option<RateKey>,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RateLimit({}/s, burst {}", self.per_second, self.burst)?;
        if self.key.is_some() {
            f.write_str(", keyed")?;
        }
        f.write_str(")")
    }
}

impl RateLimit {
    /// At most `per_second` calls start per second (fractions allowed: 0.5 is one every
    /// 2 s), with no bursts.
    pub fn per_second(per_second: f64) -> Result<RateLimit> {
        RateLimit::new(per_second, 1)
    }

    /// At most `per_second` calls per second, and up to `burst` at once after a quiet
    /// spell (1: none). Rejects a rate that is not a positive finite number, a burst of 0,
    /// and a rate or burst so slow or large that it spans more than a hundred years.
    pub fn new(per_second: f64, burst: u32) -> Result<RateLimit> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return Err(Error::invalid_input(format!(
                "the rate must be a positive number of requests per second, not {per_second}"
            )));
        }
        if burst == 0 {
            return Err(Error::invalid_input(
                "the burst must be at least 1 (one call at a time)",
            ));
        }
        let interval = Duration::try_from_secs_f64(1.0 / per_second)
            .ok()
            .filter(|i| *i <= LONGEST)
            .ok_or_else(|| Error::invalid_input(format!("the rate {per_second}/s is too slow")))?
            .max(Duration::from_nanos(1));
        let tolerance = interval
            .checked_mul(burst - 1)
            .filter(|t| *t <= LONGEST)
            .ok_or_else(|| Error::invalid_input(format!("the burst {burst} is too large")))?;
        Ok(RateLimit {
            per_second,
            burst,
            interval,
            tolerance,
            buckets: Arc::default(),
            key: None,
        })
    }

    /// The same limit (the same buckets, shared with `self`), with call `index` of a
    /// batch drawing from bucket `key(index)`: calls with different keys never wait for
    /// each other.
    pub fn keyed(&self, key: impl Fn(usize) -> u64 + Send + Sync + 'static) -> RateLimit {
        RateLimit {
            key: Some(Arc::new(key)),
            ..self.clone()
        }
    }

    /// Calls per second.
    pub fn rate(&self) -> f64 {
        self.per_second
    }

    /// Calls that may start at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Waits until call `index` may start (in the bucket its key names).
    pub async fn until_ready(&self, index: usize) {
        let key = self.key.as_ref().map_or(0, |key| key(index));
        let now = Instant::now();
        let at = self.reserve(key, now);
        if at > now {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Reserves a start for one call of `key` arriving at `now`: when it may start.
    fn reserve(&self, key: u64, now: Instant) -> Instant {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= SWEEP_AT {
            // A bucket whose tat has passed is full: the same as no bucket at all.
            buckets.retain(|_, tat| *tat > now);
        }
        let tat = buckets.entry(key).or_insert(now);
        let start = if *tat > now + self.tolerance {
            *tat - self.tolerance
        } else {
            now
        };
        *tat = (*tat).max(now) + self.interval;
        start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When each of `n` calls of `key` starts, relative to the first call's arrival.
    async fn starts(limit: &RateLimit, n: usize, index: usize) -> Vec<Duration> {
        let t0 = Instant::now();
        let mut out = Vec::new();
        for _ in 0..n {
            limit.until_ready(index).await;
            out.push(t0.elapsed());
        }
        out
    }

    fn ms(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_five_then_one_per_50_ms() {
        let limit = RateLimit::new(20.0, 5).unwrap();
        let seen = starts(&limit, 8, 0).await;
        assert_eq!(seen, ms(&[0, 0, 0, 0, 0, 50, 100, 150]));
    }

    #[tokio::test(start_paused = true)]
    async fn the_burst_comes_back_after_a_quiet_spell() {
        let limit = RateLimit::new(20.0, 5).unwrap();
        starts(&limit, 5, 0).await;
        // 250 ms of quiet refills all five tokens, and no more than five.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(starts(&limit, 6, 0).await, ms(&[0, 0, 0, 0, 0, 50]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hundred_an_hour_is_one_every_36_s() {
        let limit = RateLimit::new(100.0 / 3600.0, 1).unwrap();
        let seen = starts(&limit, 3, 0).await;
        assert_eq!(seen, ms(&[0, 36_000, 72_000]));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_are_spaced_too() {
        let limit = RateLimit::new(20.0, 2).unwrap();
        let t0 = Instant::now();
        let waits = (0..4).map(|_| {
            let limit = limit.clone();
            async move {
                limit.until_ready(0).await;
                t0.elapsed()
            }
        });
        let seen = futures::future::join_all(waits).await;
        assert_eq!(seen, ms(&[0, 0, 50, 100]));
    }

    #[tokio::test(start_paused = true)]
    async fn each_key_has_a_budget_of_its_own() {
        // Even indices are one key, odd ones another.
        let limit = RateLimit::new(10.0, 1).unwrap().keyed(|i| (i % 2) as u64);
        let t0 = Instant::now();
        let mut seen = Vec::new();
        for index in 0..6 {
            limit.until_ready(index).await;
            seen.push(t0.elapsed());
        }
        // Key 0 at 0, key 1 at once too; then each key waits for its own 100 ms only.
        assert_eq!(seen, ms(&[0, 0, 100, 100, 200, 200]));
        // A clone without keys shares the buckets: its calls use key 0, already busy.
        let unkeyed = RateLimit {
            key: None,
            ..limit.clone()
        };
        let before = t0.elapsed();
        unkeyed.until_ready(7).await;
        assert_eq!(t0.elapsed() - before, Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_starts_its_calls_as_the_bucket_allows_per_key() {
        use crate::gather::{gather, Policy};
        let mut policy = Policy::new(64);
        // Calls 0-6 to one key, 7-9 to another: 20/s, 5 at once, each.
        let limit = RateLimit::new(20.0, 5).unwrap();
        policy.rate = Some(limit.keyed(|i| u64::from(i >= 7)));
        let t0 = Instant::now();
        let out = gather((0..10).collect(), &policy, move |_: usize| async move {
            Ok::<_, std::io::Error>(t0.elapsed())
        })
        .await
        .unwrap();
        let seen: Vec<Duration> = out.into_iter().map(|o| o.result.unwrap()).collect();
        assert_eq!(seen, ms(&[0, 0, 0, 0, 0, 50, 100, 0, 0, 0]));
    }

    #[test]
    fn full_buckets_are_swept_out() {
        let limit = RateLimit::new(1000.0, 1).unwrap();
        let now = Instant::now();
        for key in 0..SWEEP_AT as u64 {
            limit.reserve(key, now);
        }
        limit.reserve(0, now + Duration::from_secs(1));
        assert_eq!(limit.buckets.lock().unwrap().len(), 1);
    }

    #[test]
    fn bad_limits_are_rejected() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300] {
            assert!(RateLimit::per_second(bad).is_err(), "{bad}");
        }
        assert!(RateLimit::new(1.0, 0).is_err());
        assert!(RateLimit::new(1.0, u32::MAX).is_err());
        assert!(RateLimit::per_second(0.5).is_ok());
    }
}
