//! Where an adaptive limit (`-c auto`) settled: one line at the end of a run,
//! `names: limit auto: settled 52, range 4-128 (at most 1000)`.
//!
//! The engine says each change of the limit as an event ([`Event::Limit`]); this watch
//! keeps the last value and the range, so the summary can say where the run ended up
//! without anyone reading the whole event log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use asyncdex_engine::gather::{Event, Policy};

/// The limit's last value and its range so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    last: usize,
    low: usize,
    high: usize,
}

/// Watches a policy's adaptive limit (none for a fixed one).
pub struct LimitWatch {
    max: usize,
    seen: Arc<Mutex<Option<Range>>>,
}

impl LimitWatch {
    /// Attaches to `policy`'s events if its limit is adaptive.
    pub fn attach(policy: &mut Policy) -> Option<LimitWatch> {
        policy.adaptive?;
        let seen: Arc<Mutex<Option<Range>>> = Arc::new(Mutex::new(None));
        let into = seen.clone();
        policy.add_events(Arc::new(move |event: &Event| {
            if let Event::Limit { limit } = *event {
                let mut seen = into.lock().unwrap_or_else(|e| e.into_inner());
                *seen = Some(match *seen {
                    None => Range {
                        last: limit,
                        low: limit,
                        high: limit,
                    },
                    Some(r) => Range {
                        last: limit,
                        low: r.low.min(limit),
                        high: r.high.max(limit),
                    },
                });
            }
        }));
        Some(LimitWatch {
            max: policy.concurrency,
            seen,
        })
    }

    /// The line, if the limit was adaptive and a batch ran under it.
    pub fn print(&self, err: &mut dyn Write, label: &str) -> std::io::Result<()> {
        let seen = *self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen {
            Some(r) => writeln!(
                err,
                "{label}limit auto: settled {}, range {}-{} (at most {})",
                r.last, r.low, r.high, self.max
            ),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_gives_the_last_value_and_the_range() {
        let mut policy = Policy::new(1000);
        assert!(LimitWatch::attach(&mut policy).is_none(), "a fixed limit");
        policy.adaptive = Some(Default::default());
        let watch = LimitWatch::attach(&mut policy).unwrap();
        let mut out = Vec::new();
        watch.print(&mut out, "names: ").unwrap();
        assert!(out.is_empty(), "nothing ran");
        let sink = policy.events.clone().unwrap();
        for limit in [4, 8, 16, 64, 52] {
            sink(&Event::Limit { limit });
        }
        watch.print(&mut out, "names: ").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "names: limit auto: settled 52, range 4-64 (at most 1000)\n"
        );
    }
}
