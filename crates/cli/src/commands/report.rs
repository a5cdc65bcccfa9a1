//! What every fetching command prints at the end, and its progress bar while it runs.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Summary;
use asyncdex::Error;
use asyncdex_engine::gather::{Event, Outcome, Policy, Status};

/// Counts a batch's outcomes into a [`Summary`]: the one place a call's outcome becomes a
/// count, so the table, `--json`, the summary line and the exit code cannot disagree.
/// Each call lands in exactly one of ok, failed, timed out, cancelled.
pub fn summarize<T>(outcomes: &[Outcome<T, Error>]) -> Summary {
    let mut summary = Summary::default();
    for o in outcomes {
        match o.status() {
            Status::Ok => summary.ok += 1,
            Status::TimedOut => summary.timed_out += 1,
            Status::Cancelled => summary.cancelled += 1,
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
        s.failed,
        s.retried,
        s.timed_out,
        s.cancelled
    )?;
    for o in outcomes {
        if let Err(e) = &o.result {
            if o.status() != Status::Cancelled {
                print_failure(err, &what(o.index), &e.to_string(), o.attempts as usize)?;
            }
        }
    }
    Ok(s)
}

/// One failed call's line: `  failed: id 25: HTTP 503 from … (2 attempts)`, `what` and
/// the error escaped. Every command that lists failures writes them through here.
pub fn print_failure(
    err: &mut dyn Write,
    what: &str,
    error: &str,
    attempts: usize,
) -> std::io::Result<()> {
    let tries = if attempts == 1 { "attempt" } else { "attempts" };
    writeln!(
        err,
        "  failed: {}: {} ({attempts} {tries})",
        escape_display(what),
        escape_display(error),
    )
}

mod escape;

pub use escape::{escape_display, escape_field, is_bidi_control, path, Lines};

/// A progress bar on stderr when it is a terminal (nothing on a pipe), and, either way, a
/// watch on the waits servers asked for: one longer than the policy allows is shortened by
/// the engine, and [`Progress::print_shortened`] says so.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Where an adaptive limit settled (`-c auto`), said after the summary.
    limit: Option<super::limit::LimitWatch>,
    /// The waits servers asked for that were shortened.
    shortened: Arc<std::sync::Mutex<Shortened>>,
}

/// Shortened waits, each `(asked, kept)`: pending until the retry starts (then waited) or
/// the call ends without it (then cut short by the run stopping).
#[derive(Default)]
struct Shortened {
    pending: std::collections::HashMap<usize, (Duration, Duration)>,
    /// The longest asked for whose retry did start.
    waited: Option<(Duration, Duration)>,
    /// The longest asked for whose call ended during the wait.
    cut_short: Option<(Duration, Duration)>,
}

impl Progress {
    /// Attaches to `policy`'s events: a bar titled `title` if stderr is a terminal, and the
    /// watch on shortened waits.
    pub fn attach(policy: &mut Policy, title: &str) -> Progress {
        let watch = Progress::watch(policy);
        if !std::io::stderr().is_terminal() {
            return watch;
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
        policy.add_events(Arc::new(move |event: &Event| match event {
            Event::Queued { total } => sink.set_length(*total as u64),
            Event::Finished { .. } => sink.inc(1),
            Event::Retrying { .. } => {
                let n = retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                sink.set_message(format!("{n} retried"));
            }
            Event::Started { .. } | Event::Limit { .. } => {}
        }));
        Progress {
            bar: Some(bar),
            ..watch
        }
    }

    /// Only the watch on shortened waits, no bar (for a command that prints as it goes).
    ///
    /// A shortened wait is only *waited* once the retry it was for starts: a call
    /// cancelled during the wait (Ctrl-C, fail-fast) never waited it out, and the line
    /// says so instead of claiming the wait.
    pub fn watch(policy: &mut Policy) -> Progress {
        let shortened = Arc::new(std::sync::Mutex::new(Shortened::default()));
        let watch = shortened.clone();
        // Most runs never see a shortened wait: the lock is only taken while one is pending.
        let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        policy.add_events(Arc::new(move |event: &Event| {
            let lock = || watch.lock().unwrap_or_else(|e| e.into_inner());
            match event {
                Event::Retrying {
                    index,
                    wait,
                    asked: Some(asked),
                    ..
                } if asked > wait => {
                    pending.fetch_add(1, Ordering::Relaxed);
                    lock().pending.insert(*index, (*asked, *wait));
                }
                Event::Started { index, .. } | Event::Finished { index, .. }
                    if pending.load(Ordering::Relaxed) > 0 =>
                {
                    let mut s = lock();
                    let Some(wait) = s.pending.remove(index) else {
                        return;
                    };
                    pending.fetch_sub(1, Ordering::Relaxed);
                    let slot = if matches!(event, Event::Started { .. }) {
                        &mut s.waited
                    } else {
                        &mut s.cut_short
                    };
                    if slot.is_none_or(|(a, _)| wait.0 > a) {
                        *slot = Some(wait);
                    }
                }
                _ => {}
            }
        }));
        Progress {
            bar: None,
            limit: super::limit::LimitWatch::attach(policy),
            shortened,
        }
    }

    /// One line if a server asked for a longer wait than the policy allows:
    /// `names: a server asked to wait 99999999999 s before a retry; waited 60 s instead`,
    /// or, when the run stopped during every such wait, that it was to wait that long.
    ///
    /// First, where an adaptive limit settled (`-c auto`), if the run had one.
    pub fn print_shortened(&self, err: &mut dyn Write, label: &str) -> std::io::Result<()> {
        if let Some(limit) = &self.limit {
            limit.print(err, label)?;
        }
        let s = self.shortened.lock().unwrap_or_else(|e| e.into_inner());
        let secs = |d: Duration| d.as_secs_f64();
        let line = match (s.waited, s.cut_short) {
            (Some((asked, kept)), _) => format!(
                "a server asked to wait {} s before a retry; waited {} s instead",
                asked.as_secs(),
                secs(kept)
            ),
            (None, Some((asked, kept))) => format!(
                "a server asked to wait {} s before a retry, shortened to {} s; the run stopped before that wait was over",
                asked.as_secs(),
                secs(kept)
            ),
            (None, None) => return Ok(()),
        };
        writeln!(err, "{label}{line} (at most --max-retry-after)")
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
        .map_or(String::new(), |p| format!(" ({})", path(p)));
    // A file not used (another program's, a disk that failed), set aside or removed
    // during the run is said here too, not only in the warning: the counts alone would
    // read as a cache that worked.
    let aside = match cache.standing() {
        asyncdex::cache::Standing::Used => String::new(),
        asyncdex::cache::Standing::NotUsed => match cache.not_used_because() {
            Some(why) => {
                format!("; the cache file could not be used ({why}), and was left as it was")
            }
            None => "; the cache file could not be used, and was left as it was".into(),
        },
        asyncdex::cache::Standing::Replaced(old) => format!(
            "; a damaged cache file was set aside as {}",
            old.file_name().unwrap_or_default().to_string_lossy()
        ),
        asyncdex::cache::Standing::Removed => {
            "; the cache file was removed during the run: later answers were not kept".into()
        }
    };
    let plural = if c.damaged == 1 { "entry" } else { "entries" };
    let damaged = (c.damaged > 0)
        .then(|| format!("; {} damaged {plural} dropped and fetched again", c.damaged));
    writeln!(
        err,
        "cache: {} answered from disk, {} from the network{file}{}{aside}",
        c.hits,
        c.misses,
        damaged.unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use asyncdex_engine::gather::{Failure, Outcome};

    fn outcome(index: usize, result: Result<u32, Failure<Error>>) -> Outcome<u32, Error> {
        Outcome {
            index,
            started: std::time::Duration::ZERO,
            finished: std::time::Duration::ZERO,
            attempts: 1,
            hedged: None,
            result,
        }
    }

    #[test]
    fn every_call_is_counted_once() {
        let outcomes = vec![
            outcome(0, Ok(1)),
            outcome(1, Err(Failure::Cancelled)),
            outcome(2, Err(Failure::TimedOut(std::time::Duration::from_secs(1)))),
            outcome(3, Err(Failure::Failed(Error::invalid_input("x")))),
            outcome(4, Err(Failure::Cancelled)),
        ];
        let s = summarize(&outcomes);
        assert_eq!((s.ok, s.failed, s.timed_out, s.cancelled), (1, 1, 1, 2));
        assert_eq!(s.calls(), outcomes.len());
        assert_eq!(s.completed(), 3, "cancelled calls did not complete");
        let mut err = Vec::new();
        print_summary(&mut err, "x: ", &outcomes, |i| format!("#{i}")).unwrap();
        let line = String::from_utf8(err).unwrap();
        assert!(
            line.starts_with("x: 5 calls: 1 ok, 1 failed, 0 retried, 1 timed out, 2 cancelled"),
            "{line}"
        );
    }
}
