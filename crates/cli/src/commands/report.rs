//! What every fetching command prints at the end, and its progress bar while it runs.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Summary;
use asyncdex::Error;
use asyncdex_engine::gather::{Event, Outcome, Policy, Status};

/// Counts a batch's outcomes into a [`Summary`].
pub fn summarize<T>(outcomes: &[Outcome<T, Error>]) -> Summary {
    let mut summary = Summary::default();
    for o in outcomes {
        match o.status() {
            Status::Ok => summary.ok += 1,
            Status::TimedOut => {
                summary.failed += 1;
                summary.timed_out += 1;
            }
            Status::Cancelled => {
                summary.failed += 1;
                summary.cancelled += 1;
            }
            Status::Failed => summary.failed += 1,
        }
        summary.retried += o.attempts.saturating_sub(1) as usize;
    }
    summary
}

/// Prints the closing summary line and one line per failure (cancellations are counted,
/// not listed). `what` names a call by its index (`"id 25"`).
pub fn print_summary<T>(
    err: &mut dyn Write,
    label: &str,
    outcomes: &[Outcome<T, Error>],
    what: impl Fn(usize) -> String,
) -> std::io::Result<Summary> {
    let s = summarize(outcomes);
    writeln!(
        err,
        "{label}{} call{}: {} ok, {} failed, {} retried, {} timed out, {} cancelled",
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" },
        s.ok,
        s.failed - s.timed_out - s.cancelled,
        s.retried,
        s.timed_out,
        s.cancelled
    )?;
    for o in outcomes {
        if let Err(e) = &o.result {
            if o.status() != Status::Cancelled {
                let tries = if o.attempts == 1 {
                    "attempt"
                } else {
                    "attempts"
                };
                writeln!(
                    err,
                    "  failed: {}: {e} ({} {tries})",
                    what(o.index),
                    o.attempts
                )?;
            }
        }
    }
    Ok(s)
}

/// A progress bar on stderr when it is a terminal; nothing on a pipe.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Attaches a bar titled `title` to `policy`'s events, if stderr is a terminal.
    pub fn attach(policy: &mut Policy, title: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(title.to_owned());
        let sink = bar.clone();
        let retries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        policy.events = Some(Arc::new(move |event: &Event| match event {
            Event::Queued { total } => sink.set_length(*total as u64),
            Event::Finished { .. } => sink.inc(1),
            Event::Retrying { .. } => {
                let n = retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                sink.set_message(format!("{n} retried"));
            }
            Event::Started { .. } => {}
        }));
        Progress { bar: Some(bar) }
    }

    /// Removes the bar (before the report is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// One line on what the disk cache answered, when there is one.
pub fn print_cache(
    err: &mut dyn Write,
    cache: Option<&asyncdex::cache::Cache>,
) -> std::io::Result<()> {
    let Some(cache) = cache else {
        return Ok(());
    };
    let c = cache.counts();
    let file = cache
        .path()
        .map_or(String::new(), |p| format!(" ({})", p.display()));
    writeln!(
        err,
        "cache: {} answered from disk, {} from the network{file}",
        c.hits, c.misses
    )
}
