//! The CLI's commands as library calls: each takes a validated job and writers for stdout
//! and stderr, runs it, prints its report, and returns a [`Summary`] the binary turns into
//! an exit code. Nothing here parses flags; nothing in the binary decides anything.
//!
//! Exit codes (also in the README): `0` every call succeeded; `1` a runtime failure, or
//! every call failed; `2` bad input (nothing was fetched); `3` partial success (some calls
//! failed, and what arrived was still printed); `130` interrupted by Ctrl-C (SIGINT),
//! `143` stopped by SIGTERM (in both, what had finished was still printed or stored).

mod bench;
mod blocking;
mod cache;
mod cpu;
mod crawl;
mod export;
mod get;
mod knee;
mod latency;
mod lenient;
mod limit;
mod names;
mod postgres;
mod program;
pub mod report;
mod serve;
mod stream;
mod summary;

use std::io::Write;
use std::time::Duration;

pub use bench::{bench, BenchJob};
pub use blocking::{blocking, BlockingJob};
pub use cache::{cache, CacheJob};
pub use cpu::{cpu, CpuJob};
pub use crawl::{crawl, CrawlJob};
pub use export::{export, ExportJob};
pub use get::{get, GetJob};
pub use knee::{knee, KneeJob};
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
/// Exit code: interrupted (Ctrl-C, SIGINT); everything that had finished was reported.
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit code: stopped by SIGTERM (128 + 15); everything that had finished was reported.
pub const EXIT_TERMINATED: u8 = 143;

/// Most N a command accepts: beyond this, it is a typo, not a workload.
pub const MAX_CALLS: usize = 1_000_000;

/// How a command went, call by call. Every call has exactly one outcome: `ok`, `failed`,
/// `timed_out` and `cancelled` are disjoint and add up to [`Summary::calls`]. Built by
/// [`report::summarize`] and read by every report (table, JSON, summary line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Calls that succeeded.
    pub ok: usize,
    /// Calls whose last attempt failed with an error (not a timeout, not a cancellation).
    pub failed: usize,
    /// Retries made (attempts beyond each call's first; not calls).
    pub retried: usize,
    /// Calls whose last attempt timed out.
    pub timed_out: usize,
    /// Calls cancelled before they finished (fail-fast, Ctrl-C, SIGTERM).
    pub cancelled: usize,
    /// The run was interrupted by a signal.
    pub interrupted: bool,
}

impl Summary {
    /// Every call, whatever its outcome.
    pub fn calls(&self) -> usize {
        self.ok + self.failed + self.timed_out + self.cancelled
    }

    /// Calls that did not succeed, for any reason.
    pub fn not_ok(&self) -> usize {
        self.failed + self.timed_out + self.cancelled
    }

    /// Calls that ran to an end of their own (succeeded, failed or timed out): what a rate
    /// of requests per second counts.
    pub fn completed(&self) -> usize {
        self.ok + self.failed + self.timed_out
    }

    /// Completed calls per second of `wall` time.
    pub fn rate(&self, wall: Duration) -> f64 {
        self.completed() as f64 / wall.as_secs_f64().max(1e-9)
    }

    /// The process exit code for this summary.
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            return EXIT_INTERRUPTED;
        }
        match (self.ok, self.not_ok()) {
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

/// What a command gets from the binary: where it writes its report and its diagnostics,
/// and the run's cancellation (the first SIGINT or SIGTERM cancels it).
pub struct Io<'a> {
    /// The report (names, tables, JSON lines).
    pub out: &'a mut dyn Write,
    /// One line per failed call, and notes.
    pub err: &'a mut dyn Write,
    /// Cancelled by the first signal: a command stops starting work, lets what it can
    /// finish, and reports what finished (the same token the jobs' policies hold).
    pub cancel: tokio_util::sync::CancellationToken,
}

/// The ids a drawing command draws from ([`Ids::resolve`](asyncdex::draw::Ids::resolve),
/// the list read retried as any call), and, failed or not, the line `label` says if a
/// server's `Retry-After` was shortened for it.
pub async fn draw_pool<T: asyncdex::http::Transport>(
    ids: &asyncdex::draw::Ids,
    transport: &T,
    base: &str,
    policy: &asyncdex_engine::gather::Policy,
    err: &mut dyn Write,
    label: &str,
) -> Result<Vec<u32>, Error> {
    let mut policy = policy.clone();
    let watch = report::Progress::watch(&mut policy);
    let pool = ids.resolve(transport, base, &policy).await;
    watch.print_shortened(err, label).map_err(io_error)?;
    pool
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
    /// `--histogram`: the latency histogram under the closing latency line.
    pub histogram: bool,
}

/// One timeline group from a batch's event log; `label` names call `i`.
fn group_from(
    name: String,
    log: &asyncdex_engine::events::EventLog,
    label: impl Fn(usize) -> String,
) -> crate::timeline::Group {
    // Span by span into compact bars: a million calls never exist as a million `Bar`s.
    let mut bars = crate::timeline::Bars::default();
    let mut i = 0;
    log.for_each_span(|span| {
        let retries = span.attempts.get(1..).unwrap_or_default();
        bars.push(
            &label(i),
            span.started(),
            span.finished,
            retries,
            span.status,
        );
        i += 1;
    });
    crate::timeline::Group {
        name,
        bars,
        limit: log.limits(),
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
        policy.add_events(log.sink(None));
        Some(log)
    }

    fn write(&self, title: &str, groups: &[crate::timeline::Group]) -> Result<(), Error> {
        if let Some(path) = &self.timeline {
            crate::timeline::write_file(path, &crate::timeline::svg(title, groups))?;
        }
        if let Some(path) = &self.trace {
            crate::timeline::write_trace_file(path, groups)?;
        }
        Ok(())
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot write output: {e}"))
}
