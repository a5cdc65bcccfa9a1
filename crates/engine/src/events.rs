//! One event log per run: every call's queued, started (each attempt) and finished
//! events, with the time each happened. Progress bars, summaries and pictures read it;
//! no command times itself by hand.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex_engine::Result<()> {
//! use asyncdex_engine::events::EventLog;
//! use asyncdex_engine::gather::{gather, Policy};
//!
//! let log = EventLog::new();
//! let mut policy = Policy::new(4);
//! policy.events = Some(log.sink(None));
//! gather(vec![1, 2, 3], &policy, |i: u32| async move { Ok::<_, std::io::Error>(i) }).await?;
//! let spans = log.spans();
//! assert_eq!(spans.len(), 3);
//! assert!(spans.iter().all(|s| s.status == asyncdex_engine::gather::Status::Ok && s.attempts.len() == 1));
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::gather::{Event, EventSink, Status};

/// A log of timestamped events, shared by clones.
#[derive(Clone)]
pub struct EventLog {
    epoch: Instant,
    entries: Arc<Mutex<Vec<(Duration, Event)>>>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog::new()
    }
}

impl EventLog {
    /// An empty log whose clock starts now.
    pub fn new() -> EventLog {
        EventLog {
            epoch: Instant::now(),
            entries: Arc::default(),
        }
    }

    /// A sink that records into this log, then passes each event on to `next` (a progress
    /// bar, say).
    pub fn sink(&self, next: Option<EventSink>) -> EventSink {
        let log = self.clone();
        Arc::new(move |event: &Event| {
            let at = log.epoch.elapsed();
            log.entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((at, event.clone()));
            if let Some(next) = &next {
                next(event);
            }
        })
    }

    /// Every event so far, in the order recorded, with its time since the log started.
    pub fn entries(&self) -> Vec<(Duration, Event)> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// One span per call, by index: when each attempt started, when it finished, how.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans: Vec<Span> = Vec::new();
        for (at, event) in self.entries() {
            match event {
                Event::Started { index, .. } => {
                    if spans.len() <= index {
                        spans.resize_with(index + 1, Span::default);
                    }
                    spans[index].attempts.push(at);
                }
                Event::Finished { index, status, .. } => {
                    if spans.len() <= index {
                        spans.resize_with(index + 1, Span::default);
                    }
                    spans[index].finished = at;
                    spans[index].status = status;
                }
                Event::Queued { .. } | Event::Retrying { .. } | Event::Limit { .. } => {}
            }
        }
        spans
    }

    /// An adaptive limit's value over time ([`Event::Limit`]): when each value began.
    /// Empty for a fixed limit.
    pub fn limits(&self) -> Vec<(Duration, usize)> {
        self.entries()
            .into_iter()
            .filter_map(|(at, event)| match event {
                Event::Limit { limit } => Some((at, limit)),
                _ => None,
            })
            .collect()
    }
}

/// One call, as the log saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// When each attempt started (empty if it never started).
    pub attempts: Vec<Duration>,
    /// When it finished.
    pub finished: Duration,
    /// How it ended.
    pub status: Status,
}

impl Default for Span {
    fn default() -> Self {
        Span {
            attempts: Vec::new(),
            finished: Duration::ZERO,
            status: Status::Cancelled,
        }
    }
}

impl Span {
    /// When the first attempt started (or when it was cancelled, if it never started).
    pub fn started(&self) -> Duration {
        self.attempts.first().copied().unwrap_or(self.finished)
    }
}
