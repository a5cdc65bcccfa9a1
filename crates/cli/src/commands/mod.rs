//! The CLI's commands as library calls: each takes a validated job and writers for stdout
//! and stderr, runs it, prints its report, and returns a [`Summary`] the binary turns into
//! an exit code. Nothing here parses flags; nothing in the binary decides anything.
//!
//! Exit codes (also in the README): `0` every call succeeded; `1` a runtime failure, or
//! every call failed; `2` bad input (nothing was fetched); `3` partial success (some calls
//! failed, and what arrived was still printed); `130` interrupted by Ctrl-C (what had
//! arrived was still printed).

mod bench;
mod blocking;
mod cache;
mod cpu;
mod crawl;
mod export;
mod get;
mod names;
mod program;
pub mod report;
mod serve;
mod stream;

use std::io::Write;
use std::time::Duration;

pub use bench::{bench, BenchJob};
pub use blocking::{blocking, BlockingJob};
pub use cache::{cache, CacheJob};
pub use cpu::{cpu, CpuJob};
pub use crawl::{crawl, CrawlJob};
pub use export::{export, ExportJob};
pub use get::{get, GetJob};
pub use names::{names, NamesJob};
pub use program::{program, read_program, ProgramJob};
pub use serve::{serve, ServeJob};
pub use stream::{stream, StreamJob};

use asyncdex::{Error, ErrorKind};

/// Exit code: everything succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: a runtime failure, or every call failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad input, rejected before any call.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: some calls succeeded and some failed.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code: interrupted (Ctrl-C); everything that had finished was reported.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Most N a command accepts: beyond this, it is a typo, not a workload.
pub const MAX_CALLS: usize = 1_000_000;

/// How a command went, call by call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Calls that succeeded.
    pub ok: usize,
    /// Calls that did not (timeouts and cancellations included).
    pub failed: usize,
    /// Retries made.
    pub retried: usize,
    /// Calls whose last attempt timed out.
    pub timed_out: usize,
    /// Calls cancelled (fail-fast or Ctrl-C).
    pub cancelled: usize,
    /// The run was interrupted by Ctrl-C.
    pub interrupted: bool,
}

impl Summary {
    /// The process exit code for this summary.
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            return EXIT_INTERRUPTED;
        }
        match (self.ok, self.failed) {
            (_, 0) => EXIT_OK,
            (0, _) => EXIT_FAILED,
            _ => EXIT_PARTIAL,
        }
    }

    fn add(&mut self, other: Summary) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.retried += other.retried;
        self.timed_out += other.timed_out;
        self.cancelled += other.cancelled;
        self.interrupted |= other.interrupted;
    }
}

/// The exit code for a command that could not run at all.
pub fn exit_code_for(error: &Error) -> u8 {
    match error.kind() {
        ErrorKind::InvalidInput => EXIT_USAGE,
        _ => EXIT_FAILED,
    }
}

/// Where a command writes: its report, and its diagnostics.
pub struct Io<'a> {
    /// The report (names, tables, JSON lines).
    pub out: &'a mut dyn Write,
    /// One line per failed call, and notes.
    pub err: &'a mut dyn Write,
}

/// Checks a number of calls: at least 1, at most [`MAX_CALLS`].
pub fn check_count(n: usize) -> Result<usize, Error> {
    match n {
        0 => Err(Error::invalid_input("N must be at least 1")),
        n if n > MAX_CALLS => Err(Error::invalid_input(format!(
            "N = {n} is too large (at most {MAX_CALLS} calls per run)"
        ))),
        n => Ok(n),
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// Where to draw a run: an SVG timeline and/or a Chrome trace.
#[derive(Debug, Clone, Default)]
pub struct Pictures {
    /// `--timeline FILE.svg`
    pub timeline: Option<std::path::PathBuf>,
    /// `--trace FILE.json`
    pub trace: Option<std::path::PathBuf>,
}

/// One timeline group from a batch's event log; `label` names call `i`.
fn group_from(
    name: String,
    log: &asyncdex_engine::events::EventLog,
    label: impl Fn(usize) -> String,
) -> crate::timeline::Group {
    crate::timeline::Group {
        name,
        bars: log
            .spans()
            .into_iter()
            .enumerate()
            .map(|(i, span)| crate::timeline::Bar {
                label: label(i),
                start: span.started(),
                end: span.finished,
                retries: span.attempts.iter().skip(1).copied().collect(),
                status: span.status,
            })
            .collect(),
    }
}

impl Pictures {
    /// An event log chained into `policy`'s events, when a picture was asked for (a log
    /// costs a lock and a clone per event, so runs without pictures keep none).
    fn log_for(
        &self,
        policy: &mut asyncdex_engine::gather::Policy,
    ) -> Option<asyncdex_engine::events::EventLog> {
        if self.timeline.is_none() && self.trace.is_none() {
            return None;
        }
        let log = asyncdex_engine::events::EventLog::new();
        policy.events = Some(log.sink(policy.events.take()));
        Some(log)
    }

    fn write(&self, title: &str, groups: &[crate::timeline::Group]) -> Result<(), Error> {
        if let Some(path) = &self.timeline {
            crate::timeline::write_file(path, &crate::timeline::svg(title, groups))?;
        }
        if let Some(path) = &self.trace {
            crate::timeline::write_file(path, &crate::timeline::trace(groups))?;
        }
        Ok(())
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot write output: {e}"))
}
