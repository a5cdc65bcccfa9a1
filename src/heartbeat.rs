//! A heartbeat: the simplest proof that an async runtime is still breathing.
//!
//! A task sleeps for a short period (10 ms), wakes, notes how long it really slept, and
//! sleeps again. On a healthy runtime every interval is ~10 ms. If anything blocks the
//! thread the runtime runs on, the heartbeat cannot wake, and the next interval is as long
//! as the blockage: the lag (interval − period) *measures* the stall.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use std::time::Duration;
//! use asyncdex::heartbeat::Heartbeat;
//!
//! let beat = Heartbeat::spawn(Duration::from_millis(10));
//! tokio::time::sleep(Duration::from_millis(100)).await; // awaiting: the heartbeat runs
//! let beats = beat.stop().await;
//! assert!(beats.intervals.len() >= 9);
//! assert_eq!(beats.max_lag(), Duration::ZERO);
//! # }
//! ```

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A running heartbeat task.
#[derive(Debug)]
pub struct Heartbeat {
    period: Duration,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Vec<Duration>>,
}

impl Heartbeat {
    /// Spawns a heartbeat on the current runtime that beats every `period`.
    pub fn spawn(period: Duration) -> Heartbeat {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut intervals = Vec::new();
            let mut last = Instant::now();
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep(period) => {
                        let now = Instant::now();
                        intervals.push(now - last);
                        last = now;
                    }
                }
            }
            intervals
        });
        Heartbeat { period, stop, task }
    }

    /// Stops the heartbeat and returns the intervals it measured.
    pub async fn stop(self) -> Beats {
        let _ = self.stop.send(());
        Beats {
            period: self.period,
            intervals: self.task.await.unwrap_or_default(),
        }
    }
}

/// What a heartbeat measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Beats {
    /// The period it aimed for.
    pub period: Duration,
    /// Every real interval between two beats.
    pub intervals: Vec<Duration>,
}

impl Beats {
    /// How late each beat was (interval − period, never negative).
    pub fn lags(&self) -> Vec<Duration> {
        self.intervals
            .iter()
            .map(|i| i.saturating_sub(self.period))
            .collect()
    }

    /// The worst lag.
    pub fn max_lag(&self) -> Duration {
        self.lags().into_iter().max().unwrap_or_default()
    }

    /// The 99th-percentile lag (nearest rank).
    pub fn p99_lag(&self) -> Duration {
        percentile(self.lags(), 0.99)
    }
}

/// The `q` quantile of `values` by nearest rank (zero when empty).
pub fn percentile(mut values: Vec<Duration>, q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(v.clone(), 0.99), Duration::from_millis(99));
        assert_eq!(percentile(v, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(vec![], 0.99), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_blocked_thread_shows_up_as_lag() {
        let beat = Heartbeat::spawn(Duration::from_millis(10));
        tokio::time::sleep(Duration::from_millis(30)).await;
        // Block the only thread: on a paused clock, advance time without yielding.
        tokio::time::advance(Duration::from_millis(200)).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        let beats = beat.stop().await;
        assert!(beats.max_lag() >= Duration::from_millis(150), "{beats:?}");
    }
}
