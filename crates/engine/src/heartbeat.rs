//! A heartbeat: the simplest proof that an async runtime is still breathing.
//!
//! A task wakes on a fixed schedule (every 10 ms: at 10, 20, 30... ms) and notes how late
//! each wake-up was. On a healthy runtime it is on time, give or take the timer's 1 ms
//! resolution. If anything blocks the thread the runtime runs on, the heartbeat cannot
//! wake, and its next beat is as late as the blockage: the lag *measures* the stall.
//! After a stall the schedule restarts from the late beat (no burst of catch-up beats).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use std::time::Duration;
//! use asyncdex_engine::heartbeat::Heartbeat;
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
    task: JoinHandle<Vec<Beat>>,
}

impl Heartbeat {
    /// Spawns a heartbeat on the current runtime that beats every `period`.
    pub fn spawn(period: Duration) -> Heartbeat {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut beats = Vec::new();
            let mut last = Instant::now();
            let mut deadline = last + period;
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep_until(deadline) => {
                        let now = Instant::now();
                        beats.push(Beat { interval: now - last, lag: now - deadline });
                        last = now;
                        // On schedule; after a stall, restart the schedule from now.
                        deadline = if now - deadline > period { now + period } else { deadline + period };
                    }
                }
            }
            beats
        });
        Heartbeat { period, stop, task }
    }

    /// Stops the heartbeat and returns what it measured.
    pub async fn stop(self) -> Beats {
        let _ = self.stop.send(());
        let beats = self.task.await.unwrap_or_default();
        Beats {
            period: self.period,
            intervals: beats.iter().map(|b| b.interval).collect(),
            lags: beats.iter().map(|b| b.lag).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Beat {
    interval: Duration,
    lag: Duration,
}

/// What a heartbeat measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Beats {
    /// The period it aimed for.
    pub period: Duration,
    /// Every real interval between two beats.
    pub intervals: Vec<Duration>,
    /// How late each beat was against its schedule.
    pub lags: Vec<Duration>,
}

impl Beats {
    /// The worst lag.
    pub fn max_lag(&self) -> Duration {
        self.lags.iter().copied().max().unwrap_or_default()
    }

    /// The 99th-percentile lag (nearest rank).
    pub fn p99_lag(&self) -> Duration {
        percentile(self.lags.clone(), 0.99)
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
