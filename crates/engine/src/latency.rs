//! How long things took: percentiles and a histogram, recorded from any thread at once.
//!
//! A mean hides what users feel. Twenty calls of 100 ms and one of 2 s average 190 ms, yet
//! nineteen people in twenty waited 100 ms and one waited twenty times longer: the *tail*.
//! So latencies are told as percentiles: p50 (the median, the typical call), p90, p99
//! (one call in a hundred is slower than this) and the max. A batch of ten thousand calls
//! that each fan out to a hundred backends meets its p99 on almost every call: the tail
//! is what a system at scale mostly waits for.
//!
//! Percentiles need every value, or a histogram that keeps them closely enough. A
//! [`Histogram`] is the second, the way HdrHistogram does it: buckets that double in width
//! at each power of two, each power split into 32 equal sub-buckets, so any value is kept
//! within 1/32 (about 3 %) of itself, from a nanosecond to centuries, in a fixed 15 KB.
//! Recording is one bucket index (a few shifts) and four relaxed atomic additions: no lock,
//! no allocation, so every core of a batch can record into one histogram while a reader
//! asks it for its 95th percentile (see `gather`'s hedged requests).
//!
//! (The `hdrhistogram` crate is the field's standard, and was considered: it records
//! through `&mut self`, so a histogram shared by the cores of a batch would need a lock or
//! its channel-based recorder; this one records through `&self`.)
//!
//! ```
//! use std::time::Duration;
//! use asyncdex_engine::latency::Histogram;
//!
//! let h = Histogram::new();
//! for ms in 1..=100 {
//!     h.record(Duration::from_millis(ms));
//! }
//! let l = h.latencies().unwrap();
//! assert_eq!(l.count, 100);
//! assert_eq!(l.max, Duration::from_millis(100));
//! // Within 1/32 of the true 50 ms and 99 ms:
//! assert!(l.p50 >= Duration::from_millis(50) && l.p50 <= Duration::from_micros(51_600));
//! assert!(l.p99 >= Duration::from_millis(99) && l.p99 <= Duration::from_millis(100));
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::gather::{Classify, Event, EventSink, Outcome, Status};

/// Sub-buckets per power of two: 2^5 = 32, so a bucket is at most 1/32 of its values wide.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets for every `u64` of nanoseconds: 32 exact ones below 32 ns, then 32 per power.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// The bucket of `v` nanoseconds.
fn bucket(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let power = 63 - v.leading_zeros(); // at least SUB_BITS
    let group = (power - SUB_BITS + 1) as usize;
    let sub = ((v >> (power - SUB_BITS)) & (SUB - 1)) as usize;
    (group << SUB_BITS) + sub
}

/// The lowest value of bucket `i`, and its width.
fn bounds(i: usize) -> (u64, u64) {
    let (group, sub) = ((i >> SUB_BITS) as u32, (i as u64) & (SUB - 1));
    if group == 0 {
        return (sub, 1);
    }
    let width = 1u64 << (group - 1);
    ((SUB + sub) * width, width)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Durations, kept closely enough for percentiles; recorded through `&self` from any
/// thread (see the [module docs](self)).
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Histogram({:?})", self.latencies())
    }
}

/// What a [`Histogram`] holds, in a few numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latencies {
    /// How many durations.
    pub count: u64,
    /// The median.
    pub p50: Duration,
    /// 90 % took at most this.
    pub p90: Duration,
    /// 99 % took at most this.
    pub p99: Duration,
    /// The longest (exact).
    pub max: Duration,
    /// The mean (exact).
    pub mean: Duration,
}

/// One bar of a coarse histogram: how many durations fell in `from..to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bin {
    /// Its lower edge (included).
    pub from: Duration,
    /// Its upper edge (excluded).
    pub to: Duration,
    /// How many.
    pub count: u64,
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    /// A histogram of `durations`.
    pub fn of(durations: impl IntoIterator<Item = Duration>) -> Histogram {
        let h = Histogram::new();
        durations.into_iter().for_each(|d| h.record(d));
        h
    }

    /// The histogram of a batch's calls, each from its start to its end (retries and
    /// their waits included: what the caller waited). Cancelled calls are left out: their
    /// duration says when the cancel came, not how long a call takes.
    pub fn of_calls<T, E: Classify>(outcomes: &[Outcome<T, E>]) -> Histogram {
        Histogram::of(
            outcomes
                .iter()
                .filter(|o| o.status() != Status::Cancelled)
                .map(|o| o.finished.saturating_sub(o.started)),
        )
    }

    /// An event sink ([`Policy::add_events`](crate::gather::Policy::add_events)) that
    /// records each call of a batch here, from its first attempt's start to its end, as it
    /// ends: the same durations as [`Histogram::of_calls`], for a caller that never holds
    /// the outcomes (they went to a store as they came). Calls are told apart by their
    /// batch and index, so one sink may serve batches that run at once.
    pub fn sink(self: &Arc<Self>) -> EventSink {
        let histogram = Arc::clone(self);
        let started: Mutex<HashMap<(u64, usize), Instant>> = Mutex::default();
        Arc::new(move |event: &Event| match *event {
            Event::Started {
                batch,
                index,
                attempt: 1,
            } => {
                let mut started = started.lock().unwrap_or_else(|e| e.into_inner());
                started.insert((batch, index), Instant::now());
            }
            Event::Finished {
                batch,
                index,
                status,
                ..
            } => {
                let mut started = started.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(at) = started.remove(&(batch, index)) {
                    if status != Status::Cancelled {
                        histogram.record(at.elapsed());
                    }
                }
            }
            _ => {}
        })
    }

    /// Records one duration.
    pub fn record(&self, d: Duration) {
        let v = nanos(d);
        self.counts[bucket(v)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// The duration that a fraction `q` (0 < q ≤ 1) of those recorded are at most, within
    /// 1/32 of itself (never more than the max); `None` when empty. While others record,
    /// an answer close to the moment it was asked.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let max = self.max.load(Relaxed);
        let mut seen = 0;
        for (i, &n) in counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, width) = bounds(i);
                return Some(Duration::from_nanos((low + (width - 1)).min(max)));
            }
        }
        Some(Duration::from_nanos(max))
    }

    /// p50, p90, p99, max and mean; `None` when empty.
    pub fn latencies(&self) -> Option<Latencies> {
        let count = self.count();
        Some(Latencies {
            count,
            p50: self.quantile(0.5)?,
            p90: self.quantile(0.9)?,
            p99: self.quantile(0.99)?,
            max: Duration::from_nanos(self.max.load(Relaxed)),
            mean: Duration::from_nanos(self.sum.load(Relaxed) / count.max(1)),
        })
    }

    /// A coarse histogram on log-scale edges 1, 2, 5, 10, 20, 50… µs (each value in the
    /// bin of its bucket's highest value, as [`Histogram::quantile`] tells it), from the lowest bin with a value to the highest:
    /// a dozen bars for a terminal.
    pub fn bins(&self) -> Vec<Bin> {
        let max = self.max.load(Relaxed);
        let mut bins: Vec<Bin> = Vec::new();
        for (i, c) in self.counts.iter().enumerate() {
            let n = c.load(Relaxed);
            if n == 0 {
                continue;
            }
            let (low, width) = bounds(i);
            let (from, to) = edges((low + (width - 1)).min(max));
            match bins.last_mut() {
                Some(last) if last.from == from => last.count += n,
                _ => {
                    // The empty bins between two that are not, so the gaps show.
                    while let Some(last) = bins.last().copied() {
                        if last.to >= from {
                            break;
                        }
                        let (f, t) = edges(nanos(last.to));
                        bins.push(Bin {
                            from: f,
                            to: t,
                            count: 0,
                        });
                    }
                    bins.push(Bin { from, to, count: n });
                }
            }
        }
        bins
    }
}

/// The 1-2-5 bin (in nanoseconds, from 1 µs up) that holds `v`.
fn edges(v: u64) -> (Duration, Duration) {
    let (mut from, mut to, mut step) = (0u64, 1_000u64, 0u32);
    while to <= v {
        from = to;
        step = (step + 1) % 3;
        // 1 → 2 → 5 → 10: ×2, ×2.5, ×2.
        let next = match step {
            2 => to.checked_mul(5).map(|x| x / 2),
            _ => to.checked_mul(2),
        };
        match next {
            Some(next) => to = next,
            None => {
                to = u64::MAX;
                break;
            }
        }
    }
    (Duration::from_nanos(from), Duration::from_nanos(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_falls_in_a_bucket_that_holds_it_within_a_thirty_second() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            for x in [v, v + 1, v * 3 / 2, v * 2 - 1] {
                let (low, width) = bounds(bucket(x));
                assert!(low <= x && x < low + width, "{x} in {low}+{width}");
                assert!(width == 1 || width * SUB <= low, "{x}: bucket too wide");
            }
            v *= 2;
        }
        assert!(bucket(u64::MAX) < BUCKETS);
        assert_eq!(bucket(0), 0);
    }

    #[test]
    fn percentiles_of_a_slow_tail() {
        // 95 calls of 100 ms, 5 of 2 s: the median does not see the tail, p99 does.
        let h = Histogram::of(
            std::iter::repeat_n(Duration::from_millis(100), 95)
                .chain(std::iter::repeat_n(Duration::from_secs(2), 5)),
        );
        let l = h.latencies().unwrap();
        let near = |d: Duration, want: u64| {
            let want = Duration::from_millis(want);
            d >= want && d <= want + want / 32
        };
        assert!(near(l.p50, 100) && near(l.p90, 100), "{l:?}");
        assert!(near(l.p99, 2000), "{l:?}");
        assert_eq!(l.max, Duration::from_secs(2));
        assert_eq!(l.mean, Duration::from_millis(195));
        assert!(near(h.quantile(0.95).unwrap(), 100));
        assert!(near(h.quantile(0.951).unwrap(), 2000));
        assert_eq!(Histogram::new().latencies(), None);
    }

    #[test]
    fn bins_are_one_two_five_and_show_the_gaps() {
        let h = Histogram::of([
            Duration::from_micros(1_500),
            Duration::from_micros(1_900),
            Duration::from_millis(30),
        ]);
        let bins = h.bins();
        let shown: Vec<(u128, u128, u64)> = bins
            .iter()
            .map(|b| (b.from.as_micros(), b.to.as_micros(), b.count))
            .collect();
        assert_eq!(
            shown,
            [
                (1_000, 2_000, 2),
                (2_000, 5_000, 0),
                (5_000, 10_000, 0),
                (10_000, 20_000, 0),
                (20_000, 50_000, 1)
            ]
        );
        assert_eq!(edges(0).0, Duration::ZERO);
        assert!(
            edges(u64::MAX).0 > Duration::from_secs(1),
            "the edges end, however far"
        );
    }

    #[test]
    fn many_threads_record_into_one() {
        let h = std::sync::Arc::new(Histogram::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for us in 1..=1000 {
                        h.record(Duration::from_micros(us));
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(h.count(), 4000);
        assert_eq!(h.bins().iter().map(|b| b.count).sum::<u64>(), 4000);
    }

    #[tokio::test]
    async fn a_sink_times_the_calls_of_a_batch() {
        use crate::gather::{gather, Policy};
        let h = Arc::new(Histogram::new());
        let mut policy = Policy::new(4);
        policy.add_events(h.sink());
        let out = gather((1..=8u64).collect(), &policy, |ms| async move {
            tokio::time::sleep(Duration::from_millis(ms * 5)).await;
            Ok::<_, std::io::Error>(ms)
        })
        .await
        .unwrap();
        assert_eq!(out.len(), 8);
        let l = h.latencies().unwrap();
        assert_eq!(l.count, 8);
        // The slowest call slept 40 ms; generous above, as a loaded machine may be.
        assert!(
            l.max >= Duration::from_millis(40) && l.max < Duration::from_secs(5),
            "{l:?}"
        );
        assert!(l.p50 >= Duration::from_millis(20), "{l:?}");
    }

    /// Batches that run at once, sharing one sink (a shared crawl's lanes), each with
    /// calls of the same indices: every call is timed, none mistaken for another's.
    #[tokio::test]
    async fn one_sink_times_the_calls_of_batches_running_at_once() {
        use crate::gather::{gather, Policy};
        let h = Arc::new(Histogram::new());
        let mut policy = Policy::new(8);
        policy.cores = 1;
        policy.add_events(h.sink());
        let batch = |ms: u64| {
            gather(vec![ms; 8], &policy, |ms| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, std::io::Error>(ms)
            })
        };
        let (fast, slow) = tokio::join!(batch(1), batch(200));
        assert_eq!((fast.unwrap().len(), slow.unwrap().len()), (8, 8));
        let l = h.latencies().unwrap();
        assert_eq!(l.count, 16, "every call of both batches: {l:?}");
        // (The sink reads the real clock: bounds generous for a loaded machine.)
        assert!(l.max >= Duration::from_millis(200), "{l:?}");
        assert!(l.p50 < l.max, "half took 1 ms, half 200 ms: {l:?}");
    }

    /// The cost of one `record`, for BENCHMARKS.md:
    /// `cargo test --release -p asyncdex-engine latency::tests::record_cost -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement, not a check"]
    fn record_cost() {
        let h = Histogram::new();
        let n = 1_000_000u64;
        let started = std::time::Instant::now();
        for i in 0..n {
            h.record(Duration::from_nanos(std::hint::black_box(
                i * 7919 % 2_000_000_000,
            )));
        }
        let each = started.elapsed().as_nanos() as f64 / n as f64;
        println!("record: {each:.1} ns each ({n} records)");
        assert_eq!(h.count(), n);
    }
}
