//! One event log per run: when each call's attempts started, when it finished and how,
//! and an adaptive limit's changes. Pictures (a timeline, a trace) read it; no command
//! times itself by hand.
//!
//! The log keeps what a picture needs, not the events themselves: a run of a million
//! calls sends some two million events, and a list of them (each event is ~90 bytes with
//! its time, and a retry's carries its error text) would cost hundreds of megabytes for a
//! picture drawn once at the end. So each call is one fixed-size record (its first
//! start, its end, how it ended: 24 bytes), reserved once when the batch says how many
//! calls it has ([`Event::Queued`]: a call that never reports is shown as never
//! started); only the calls that were retried keep a list of
//! their later starts.
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::gather::{Event, EventSink, Status};

/// A log of what each call did and when, shared by clones.
#[derive(Clone)]
pub struct EventLog {
    epoch: Instant,
    inner: Arc<Mutex<Records>>,
}

/// What the log holds.
#[derive(Default)]
struct Records {
    /// One per call, by index.
    calls: Vec<Record>,
    /// When each attempt after the first started, for the calls that had one.
    retries: HashMap<usize, Vec<Duration>>,
    /// An adaptive limit's values, with when each began.
    limits: Vec<(Duration, usize)>,
}

/// One call: times in nanoseconds since the log started (a `u64` holds 584 years).
#[derive(Clone, Copy)]
struct Record {
    /// When its first attempt started; [`NEVER`] if none did.
    started: u64,
    /// When it finished (0 until it has).
    finished: u64,
    status: Status,
}

/// A call that never started.
const NEVER: u64 = u64::MAX;

impl Default for Record {
    fn default() -> Self {
        Record {
            started: NEVER,
            finished: 0,
            status: Status::Cancelled,
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(NEVER - 1)
}

impl Records {
    fn call(&mut self, index: usize) -> &mut Record {
        if self.calls.len() <= index {
            self.calls.resize_with(index + 1, Record::default);
        }
        &mut self.calls[index]
    }

    fn record(&mut self, at: Duration, event: &Event) {
        match *event {
            Event::Queued { total } => {
                // One allocation of the right size, not a doubling vector's spare half;
                // a call that never reports is shown as never started.
                let more = total.saturating_sub(self.calls.len());
                self.calls.reserve_exact(more);
                self.calls
                    .resize_with(self.calls.len() + more, Record::default);
            }
            Event::Started { index, .. } => {
                let call = self.call(index);
                if call.started == NEVER {
                    call.started = nanos(at);
                } else {
                    self.retries.entry(index).or_default().push(at);
                }
            }
            Event::Finished { index, status, .. } => {
                let call = self.call(index);
                call.finished = nanos(at);
                call.status = status;
            }
            Event::Limit { limit } => self.limits.push((at, limit)),
            Event::Retrying { .. } => {}
        }
    }
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
            inner: Arc::default(),
        }
    }

    /// A sink that records into this log, then passes each event on to `next` (a progress
    /// bar, say).
    pub fn sink(&self, next: Option<EventSink>) -> EventSink {
        let log = self.clone();
        Arc::new(move |event: &Event| {
            let at = log.epoch.elapsed();
            log.inner
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .record(at, event);
            if let Some(next) = &next {
                next(event);
            }
        })
    }

    /// Calls `f` with each call's span, by index, without building them all at once: a
    /// picture of a million calls reads them one by one. `f` runs on a copy of the
    /// records (the log is not locked meanwhile: events may still arrive).
    pub fn for_each_span(&self, mut f: impl FnMut(Span)) {
        let (calls, mut retries) = {
            let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            (inner.calls.clone(), inner.retries.clone())
        };
        for (index, call) in calls.into_iter().enumerate() {
            let finished = Duration::from_nanos(call.finished);
            let mut attempts = Vec::new();
            if call.started != NEVER {
                attempts.push(Duration::from_nanos(call.started));
                attempts.extend(retries.remove(&index).unwrap_or_default());
            }
            f(Span {
                attempts,
                finished,
                status: call.status,
            });
        }
    }

    /// One span per call, by index: when each attempt started, when it finished, how.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans = Vec::new();
        self.for_each_span(|span| spans.push(span));
        spans
    }

    /// An adaptive limit's value over time ([`Event::Limit`]): when each value began.
    /// Empty for a fixed limit.
    pub fn limits(&self) -> Vec<(Duration, usize)> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .limits
            .clone()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_one_small_record_and_retries_are_kept_beside_it() {
        assert!(std::mem::size_of::<Record>() <= 24);
        let log = EventLog::new();
        let sink = log.sink(None);
        sink(&Event::Queued { total: 3 });
        let started = |index, attempt| Event::Started {
            batch: 0,
            index,
            attempt,
        };
        sink(&started(1, 1));
        sink(&started(1, 2));
        sink(&started(0, 1));
        let finished = |index, status| Event::Finished {
            batch: 0,
            index,
            status,
            attempts: 1,
        };
        sink(&finished(0, Status::Ok));
        sink(&finished(1, Status::Failed));
        let spans = log.spans();
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[0].attempts.len(), 1);
        assert_eq!(spans[0].status, Status::Ok);
        assert_eq!(spans[1].attempts.len(), 2, "the retry's start is kept");
        assert!(spans[1].attempts[0] <= spans[1].attempts[1]);
        assert_eq!(spans[1].status, Status::Failed);
        assert_eq!(spans[2], Span::default(), "never started: cancelled");
        assert!(log.inner.lock().unwrap().calls.capacity() == 3);
    }
}
