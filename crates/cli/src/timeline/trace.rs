//! The Chrome trace event format, written streaming: one complete event (`ph: "X"`) per
//! bar, one thread per group (named by a metadata event), an adaptive limit as a counter
//! track (`ph: "C"`), times in microseconds.
//!
//! A trace has one event per call, so a run of a million calls is a ~120 MB file. Built
//! as one `serde_json::Value` first, each event an object of eight keys, it took ~4.5 KB
//! of memory a call (4.6 GB for a million). Here each event is serialized straight to
//! the writer as it is made (through [`Escaping`], as every JSON asyncdex writes), and
//! the writer is the file ([`asyncdex::files::AtomicFile`], a 64 KiB buffer): memory
//! stays what the bars take ([`super::Bars`]), whatever the file's size.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::json;

use super::{colour_class, Group};
use crate::json::Escaping;

/// One call (key order as the reader sees it: name, cat, ph, ts, dur, pid, tid, args).
#[derive(Serialize)]
struct Complete<'a> {
    name: &'a str,
    cat: &'static str,
    ph: &'static str,
    ts: u64,
    dur: u64,
    pid: u32,
    tid: usize,
    args: CallArgs,
}

#[derive(Serialize)]
struct CallArgs {
    status: &'static str,
    retries: usize,
}

/// The events of the array, written one by one, a comma between two.
struct Events<'a> {
    out: &'a mut dyn Write,
    first: bool,
}

impl Events<'_> {
    /// `value` through [`Escaping`], after a comma unless it is the first.
    fn push(&mut self, value: &impl Serialize) -> io::Result<()> {
        if !std::mem::take(&mut self.first) {
            self.out.write_all(b",")?;
        }
        let mut serializer = serde_json::Serializer::with_formatter(&mut *self.out, Escaping);
        value.serialize(&mut serializer).map_err(io::Error::other)
    }
}

/// Writes the trace of `groups` to `out`, one event at a time, after asyncdex's mark
/// ([`asyncdex::files::mark::TRACE`]: the next run's trace may replace this one).
pub fn write_trace(out: &mut dyn Write, groups: &[Group]) -> io::Result<()> {
    out.write_all(asyncdex::files::mark::TRACE.as_bytes())?;
    let mut events = Events { out, first: true };
    for (tid, group) in groups.iter().enumerate() {
        let name = json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
            "args": {"name": group.name},
        });
        events.push(&name)?;
        for bar in group.bars.iter() {
            let complete = Complete {
                name: &bar.label,
                cat: colour_class(bar.status),
                ph: "X",
                ts: bar.start.as_micros() as u64,
                dur: (bar.end.saturating_sub(bar.start)).as_micros() as u64,
                pid: 1,
                tid,
                args: CallArgs {
                    status: colour_class(bar.status),
                    retries: bar.retries.len(),
                },
            };
            events.push(&complete)?;
        }
        // A counter track of the adaptive limit, beside the group's calls.
        let limit_name = format!("{} limit", group.name);
        for &(at, limit) in &group.limit {
            let counter = json!({
                "name": limit_name,
                "ph": "C",
                "ts": at.as_micros() as u64,
                "pid": 1,
                "tid": tid,
                "args": {"limit": limit},
            });
            events.push(&counter)?;
        }
    }
    events.out.write_all(b"],\"displayTimeUnit\":\"ms\"}")
}

/// The trace of `groups` as one string (for a small picture, and tests).
#[cfg(test)]
pub fn trace(groups: &[Group]) -> String {
    let mut text = Vec::new();
    write_trace(&mut text, groups).expect("writing to memory cannot fail");
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Bar;
    use asyncdex_engine::gather::Status;
    use std::time::Duration;

    /// The trace as it was built before it streamed: one `serde_json::Value`.
    fn built_whole(groups: &[Group]) -> String {
        let mut events = Vec::new();
        for (tid, group) in groups.iter().enumerate() {
            events.push(json!({
                "name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
                "args": {"name": group.name},
            }));
            for bar in group.bars.iter() {
                events.push(json!({
                    "name": bar.label,
                    "cat": colour_class(bar.status),
                    "ph": "X",
                    "ts": bar.start.as_micros() as u64,
                    "dur": (bar.end.saturating_sub(bar.start)).as_micros() as u64,
                    "pid": 1,
                    "tid": tid,
                    "args": {"status": colour_class(bar.status), "retries": bar.retries.len()},
                }));
            }
            for &(at, limit) in &group.limit {
                events.push(json!({
                    "name": format!("{} limit", group.name),
                    "ph": "C",
                    "ts": at.as_micros() as u64,
                    "pid": 1,
                    "tid": tid,
                    "args": {"limit": limit},
                }));
            }
        }
        crate::json::to_string(&json!({
            "otherData": {"writtenBy": "asyncdex"},
            "traceEvents": events,
            "displayTimeUnit": "ms",
        }))
    }

    #[test]
    fn the_streamed_trace_is_byte_for_byte_the_document_it_replaced() {
        let ms = Duration::from_millis;
        let groups: Vec<Group> = ["sequential", "a\u{202e}sync \"q\""]
            .into_iter()
            .map(|name| Group {
                name: name.into(),
                bars: (0..5u64)
                    .map(|i| Bar {
                        label: format!("id {i}\u{9b}"),
                        start: ms(i),
                        end: ms(2 * i + 1),
                        retries: vec![ms(i); i as usize % 2],
                        status: [Status::Ok, Status::Failed, Status::TimedOut][i as usize % 3],
                    })
                    .collect(),
                limit: vec![(ms(0), 4), (ms(3), 8)],
            })
            .collect();
        assert_eq!(trace(&groups), built_whole(&groups));
        assert_eq!(trace(&[]), built_whole(&[]));
    }
}
