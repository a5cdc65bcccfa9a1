//! A stall watchdog for any tokio runtime: it says *while it happens* that the runtime has
//! stopped answering, and which labelled future is to blame.
//!
//! An async runtime only works if every task hands its thread back quickly. One blocking
//! call (`std::thread::sleep`, a synchronous HTTP request, a long parse) inside a task
//! freezes everything scheduled on that thread, silently. The watchdog makes it loud:
//!
//! - a **heartbeat task** on the runtime stamps the time every `period` (10 ms);
//! - a **watchdog OS thread**, outside the runtime so it cannot be frozen with it, checks
//!   the stamp; when it is older than `period + threshold` (50 ms), it reports a stall
//!   at once, not after the stall ends;
//! - futures wrapped with [`Labelled`] (see [`LabelExt::label`]) record on their thread's
//!   slot which label is being polled and since when. A poll that has run longer than the
//!   threshold is itself a stall, which catches a blocked worker even on a multi-threaded
//!   runtime where the heartbeat moved to another worker. The report names the label.
//!
//! No `tokio_unstable`, bounded memory: one slot per thread that ever polled a labelled
//! future, holding only the labels currently being polled on it.
//!
//! Labels are process-wide: stable tokio gives no way to tell which runtime a thread
//! belongs to, so a watchdog names (and, when one poll runs too long, reports) labelled
//! futures of every runtime in the process. With one runtime per process, the usual case
//! and the CLI's, that is exactly the runtime watched.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use asyncdex_engine::watchdog::{LabelExt, Watchdog, WatchdogConfig, WatchdogEvent};
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let dog = Watchdog::start(&tokio::runtime::Handle::current(), WatchdogConfig::default(),
//!     move |event| log.lock().unwrap().push(event)).expect("a thread to spare");
//! tokio::time::sleep(Duration::from_millis(20)).await; // let the heartbeat start
//!
//! // The wrong thing: a blocking sleep inside an async task.
//! async { std::thread::sleep(Duration::from_millis(200)) }.label("nap").await;
//!
//! tokio::time::sleep(Duration::from_millis(30)).await;
//! let stats = dog.stop();
//! assert!(stats.stalls >= 1);
//! let events = seen.lock().unwrap();
//! assert!(matches!(&events[0], WatchdogEvent::Stalled(s) if s.culprits[0].label == "nap"));
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often to beat and how late is a stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchdogConfig {
    /// Heartbeat period.
    pub period: Duration,
    /// A heartbeat later than this (or a poll longer than this) is a stall.
    pub threshold: Duration,
}

impl Default for WatchdogConfig {
    /// 10 ms heartbeat, 50 ms threshold.
    fn default() -> Self {
        WatchdogConfig {
            period: Duration::from_millis(10),
            threshold: Duration::from_millis(50),
        }
    }
}

/// A labelled future being polled right now, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culprit {
    /// Its label.
    pub label: String,
    /// The thread polling it.
    pub thread: String,
    /// How long the current poll has been running.
    pub polling_for: Duration,
}

/// A stall, as seen when it was detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// How late the heartbeat was at detection.
    pub heartbeat_late_by: Duration,
    /// Labelled futures being polled when the stall was detected, longest poll first.
    pub culprits: Vec<Culprit>,
}

/// What the watchdog reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchdogEvent {
    /// A stall has begun (reported while it lasts).
    Stalled(Stall),
    /// The stall is over; it lasted about this long.
    Recovered {
        /// From detection to recovery, plus the threshold it took to detect.
        lasted: Duration,
    },
}

impl fmt::Display for WatchdogEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        match self {
            WatchdogEvent::Stalled(s) => {
                write!(f, "watchdog: runtime stalled")?;
                if !s.heartbeat_late_by.is_zero() {
                    write!(f, " (heartbeat {:.0} ms late)", ms(&s.heartbeat_late_by))?;
                }
                match s.culprits.first() {
                    Some(c) => write!(
                        f,
                        ": polling `{}` for {:.0} ms on thread {}",
                        c.label,
                        ms(&c.polling_for),
                        c.thread
                    ),
                    None => write!(f, ": no labelled future is being polled"),
                }
            }
            WatchdogEvent::Recovered { lasted } => {
                write!(
                    f,
                    "watchdog: runtime answering again after {:.0} ms",
                    ms(lasted)
                )
            }
        }
    }
}

/// Totals kept while the watchdog ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchdogStats {
    /// Stalls detected.
    pub stalls: usize,
    /// The longest one.
    pub longest: Duration,
}

/// A running watchdog. Stop it with [`Watchdog::stop`] (dropping it stops it too).
#[derive(Debug)]
pub struct Watchdog {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<WatchdogStats>>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Watchdog {
    /// Starts watching the runtime behind `handle`; `report` is called from the watchdog
    /// thread for every [`WatchdogEvent`].
    ///
    /// # Errors
    ///
    /// The watchdog thread could not be started (a `ulimit -u`, a container's pids limit):
    /// the system's error; nothing is left running.
    pub fn start(
        handle: &tokio::runtime::Handle,
        config: WatchdogConfig,
        mut report: impl FnMut(WatchdogEvent) + Send + 'static,
    ) -> std::io::Result<Watchdog> {
        RUNNING.fetch_add(1, Ordering::Relaxed);
        let epoch = Instant::now();
        let beat = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let heartbeat = handle.spawn({
            let beat = beat.clone();
            async move {
                loop {
                    beat.store(micros(epoch.elapsed()), Ordering::Relaxed);
                    tokio::time::sleep(config.period).await;
                }
            }
        });
        let spawned = std::thread::Builder::new()
            .name("asyncdex-watchdog".into())
            .spawn({
                let stop = stop.clone();
                move || {
                    let mut stats = WatchdogStats::default();
                    let mut stalled_since: Option<Instant> = None;
                    let check = (config.period / 2).max(Duration::from_millis(1));
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(check);
                        let since_beat = epoch
                            .elapsed()
                            .saturating_sub(Duration::from_micros(beat.load(Ordering::Relaxed)));
                        let late = since_beat.saturating_sub(config.period);
                        let stalled =
                            late > config.threshold || !long_polls(config.threshold).is_empty();
                        match (stalled, stalled_since) {
                            (true, None) => {
                                stalled_since = Some(Instant::now());
                                stats.stalls += 1;
                                report(WatchdogEvent::Stalled(Stall {
                                    heartbeat_late_by: if late > config.threshold {
                                        late
                                    } else {
                                        Duration::ZERO
                                    },
                                    // Whatever is being polled now: the heartbeat can
                                    // notice before the poll itself is long.
                                    culprits: long_polls(Duration::ZERO),
                                }));
                            }
                            (false, Some(since)) => {
                                let lasted = since.elapsed() + config.threshold;
                                stats.longest = stats.longest.max(lasted);
                                stalled_since = None;
                                report(WatchdogEvent::Recovered { lasted });
                            }
                            _ => {}
                        }
                    }
                    stats
                }
            });
        let thread = match spawned {
            Ok(thread) => thread,
            Err(e) => {
                heartbeat.abort();
                RUNNING.fetch_sub(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        Ok(Watchdog {
            stop,
            thread: Some(thread),
            heartbeat,
        })
    }

    /// Stops the watchdog and returns what it saw.
    pub fn stop(mut self) -> WatchdogStats {
        self.shutdown()
    }

    fn shutdown(&mut self) -> WatchdogStats {
        if !self.stop.swap(true, Ordering::Relaxed) {
            RUNNING.fetch_sub(1, Ordering::Relaxed);
        }
        self.heartbeat.abort();
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// How many watchdogs are running: labels are only recorded while one is.
static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

// ---- labels -------------------------------------------------------------------------

/// Per-thread record of the labelled futures being polled (innermost last).
struct ThreadSlot {
    thread: String,
    polling: Mutex<Vec<(Arc<str>, Instant)>>,
}

fn registry() -> &'static Mutex<Vec<Weak<ThreadSlot>>> {
    static REGISTRY: OnceLock<Mutex<Vec<Weak<ThreadSlot>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

thread_local! {
    static SLOT: Arc<ThreadSlot> = {
        let current = std::thread::current();
        let slot = Arc::new(ThreadSlot {
            thread: current.name().map_or_else(|| format!("{:?}", current.id()), str::to_owned),
            polling: Mutex::new(Vec::new()),
        });
        let mut all = registry().lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0); // threads that exited
        all.push(Arc::downgrade(&slot));
        slot
    };
}

/// Labelled futures whose current poll has lasted longer than `threshold`, longest first
/// (with a zero threshold: every labelled future being polled right now).
fn long_polls(threshold: Duration) -> Vec<Culprit> {
    let slots: Vec<Arc<ThreadSlot>> = registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut culprits: Vec<Culprit> = slots
        .iter()
        .filter_map(|slot| {
            let polling = slot.polling.lock().unwrap_or_else(|e| e.into_inner());
            // The outermost label has been polled the longest; the innermost is the most
            // precise. Report the innermost, timed from the outermost poll.
            let (_, outer_since) = polling.first()?;
            let (label, _) = polling.last()?;
            let polling_for = outer_since.elapsed();
            (polling_for > threshold).then(|| Culprit {
                label: label.to_string(),
                thread: slot.thread.clone(),
                polling_for,
            })
        })
        .collect();
    culprits.sort_by_key(|c| std::cmp::Reverse(c.polling_for));
    culprits
}

pin_project_lite::pin_project! {
    /// A future that tells the watchdog, while it is being polled, what it is.
    #[derive(Debug)]
    pub struct Labelled<F> {
        #[pin]
        inner: F,
        label: Option<Arc<str>>,
    }
}

impl<F: Future> Future for Labelled<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let label = match this.label {
            Some(label) if RUNNING.load(Ordering::Relaxed) > 0 => label,
            _ => return this.inner.poll(cx), // nobody is watching: no bookkeeping
        };
        SLOT.with(|slot| {
            let _guard = PollGuard::enter(slot, label);
            this.inner.poll(cx)
        })
    }
}

/// Pushes a label for the duration of one poll; pops it even if the poll panics.
struct PollGuard<'a>(&'a ThreadSlot);

impl<'a> PollGuard<'a> {
    fn enter(slot: &'a ThreadSlot, label: &Arc<str>) -> Self {
        slot.polling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((label.clone(), Instant::now()));
        PollGuard(slot)
    }
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        self.0
            .polling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
    }
}

/// Adds [`label`](LabelExt::label) to every future.
pub trait LabelExt: Future + Sized {
    /// Wraps the future so a watchdog report can name it (`"fetch pokemon/25"`).
    fn label(self, label: impl Into<Arc<str>>) -> Labelled<Self> {
        Labelled {
            inner: self,
            label: Some(label.into()),
        }
    }

    /// Like [`label`](LabelExt::label), but the label is made only if a watchdog is
    /// running when the future is wrapped: for futures made by the thousand, whose label
    /// would otherwise cost a `format!` each for nobody to read. A watchdog started later
    /// does not see them.
    fn label_with(self, label: impl FnOnce() -> String) -> Labelled<Self> {
        let watched = RUNNING.load(Ordering::Relaxed) > 0;
        Labelled {
            inner: self,
            label: watched.then(|| label().into()),
        }
    }
}

impl<F: Future> LabelExt for F {}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test, run in sequence: labels are process-wide, so a panicking labelled poll
    /// in a parallel test would be seen by this test's watchdog.
    #[test]
    fn a_healthy_runtime_reports_nothing_and_labels_clear_even_on_panic() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = events.clone();
        let dog = Watchdog::start(rt.handle(), WatchdogConfig::default(), move |e| {
            log.lock().unwrap().push(e)
        })
        .unwrap();
        rt.block_on(async {
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let stats = dog.stop();
        assert_eq!(stats.stalls, 0, "{:?}", events.lock().unwrap());

        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // Labels are only recorded while a watchdog runs: keep one running.
        let watching = Watchdog::start(rt.handle(), WatchdogConfig::default(), |_| {}).unwrap();
        let recorded = rt.block_on(async { long_polls(Duration::ZERO).len() }.label("probe"));
        assert_eq!(recorded, 1, "the probe's own poll is recorded");
        let seen = rt.block_on(
            async { long_polls(Duration::ZERO) }.label_with(|| "made on demand".to_owned()),
        );
        assert!(seen.iter().any(|c| c.label == "made on demand"), "{seen:?}");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { panic!("inside a labelled poll") }.label("doomed"))
        }));
        assert!(caught.is_err());
        drop(watching);
        SLOT.with(|slot| assert!(slot.polling.lock().unwrap().is_empty()));
        assert!(long_polls(Duration::ZERO)
            .iter()
            .all(|c| c.label != "doomed"));
    }
}
