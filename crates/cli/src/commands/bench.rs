//! `asyncdex bench`: the sweep over N and modes, as a table, JSON, and a log-log chart.
//!
//! Every call has one outcome, counted the same way as in every other command
//! ([`report::summarize`]): each cell shows its ok and failed calls (and its timed-out and
//! cancelled ones, if any); only successful calls count as throughput, and a cell with a
//! call that did not succeed has no ratio and is not drawn (a refusal is faster than any
//! answer: its wall time measures nothing). The run ends with each such cell's summary and
//! failure lines, as `names` prints them, and a sweep in which no call succeeded ends with
//! one `error:` line (exit 1).

use serde_json::json;

use super::latency::latency_json;
use super::report::{print_summary, summarize, Progress};
use super::{io_error, ms, Io, Summary};
use crate::bounds::{distinct, MAX_MODES, MAX_SIZES};
use crate::chart::{loglog, Series};
use asyncdex::names::ModeRun;
use asyncdex::source::{Source, Target};
use asyncdex::sweep::{run, Cell, Sweep};
use asyncdex::{Error, ErrorKind, Result};

/// A validated `bench` job.
#[derive(Debug, Clone)]
pub struct BenchJob {
    /// What to sweep.
    pub sweep: Sweep,
    /// Where to fetch from.
    pub target: Target,
    /// One JSON object per cell.
    pub json: bool,
    /// Where to draw the log-log chart.
    pub plot: Option<std::path::PathBuf>,
}

/// Runs the sweep, printing each cell as it finishes.
pub async fn bench(mut job: BenchJob, io: Io<'_>) -> Result<Summary> {
    if job.sweep.sizes.is_empty() || job.sweep.sizes.contains(&0) {
        return Err(Error::invalid_input("--sizes needs sizes of at least 1"));
    }
    if let Some(&n) = job.sweep.sizes.iter().find(|&&n| n > super::MAX_CALLS) {
        return Err(Error::invalid_input(format!(
            "size {n} is too large (at most {})",
            super::MAX_CALLS
        )));
    }
    distinct("--sizes", "size", &job.sweep.sizes, MAX_SIZES)?;
    distinct("--modes", "mode", &job.sweep.modes, MAX_MODES)?;
    let source = Source::open(job.target.clone()).await?;
    // Every call's shortened wait, the list read's and the cells', is said at the end.
    let watch = Progress::watch(&mut job.sweep.plan.policy);
    if !job.json {
        writeln!(
            io.out,
            "sweep from {}; threads {}, concurrency {}; skip cells whose ideal time is over {} s (a cell that runs longer is not stopped)\n\n{:<12}{:>7}{:>7}{:>8}{:>12}{:>12}{:>8}{:>10}{:>10}{:>10}",
            source.description(),
            job.sweep.plan.threads,
            job.sweep.plan.concurrency,
            job.sweep.budget.as_secs_f64(),
            "mode", "N", "ok", "failed", "wall (ms)", "ideal (ms)", "ratio", "ok/s", "p50 (ms)", "p99 (ms)"
        )
        .map_err(io_error)?;
    }
    let mut printed = Ok(());
    // Which cells a signal cut short: a cell that was running when the run was cancelled
    // is measured on a part of its calls, so its wall time is no measurement of N calls.
    let mut interrupted = Vec::new();
    let mut failures = Failures::default();
    let cancel = job.sweep.plan.policy.cancel.clone();
    let cells = run(&job.sweep, source.base_url(), |cell, calls| {
        let state = match (cell.measured, cancel.is_cancelled()) {
            (Some(_), true) => CellState::Interrupted,
            (Some(_), false) => CellState::Measured,
            (None, true) if cell.ideal <= job.sweep.budget => CellState::NotRun,
            (None, _) => CellState::Skipped,
        };
        interrupted.push(state == CellState::Interrupted);
        let label = format!("{} {}", cell.mode, cell.n);
        let summary = calls.map_or_else(Summary::default, |calls| {
            failures.add(&label, calls, state == CellState::Measured)
        });
        if printed.is_ok() && state != CellState::NotRun {
            printed = print_cell(cell, &summary, state, job.json, io.out);
        }
    })
    .await;
    source.close().await;
    watch.print_shortened(io.err, "bench: ").map_err(io_error)?;
    let cells = cells?;
    printed.map_err(io_error)?;
    // Drawn: whole cells whose every call succeeded (a failure's wall time measures nothing).
    let measured: Vec<&Cell> = cells
        .iter()
        .zip(&interrupted)
        .filter(|(c, cut)| c.all_ok() && !**cut)
        .map(|(c, _)| c)
        .collect();
    // The summaries before the picture: they are out even if its write fails.
    let summary = failures.finish(io.err, job.sweep.plan.policy.cancel.is_cancelled());
    if let Some(path) = &job.plot {
        let series: Vec<Series> = job
            .sweep
            .modes
            .iter()
            .map(|&mode| {
                let mine = measured.iter().filter(|c| c.mode == mode);
                Series {
                    name: mode.to_string(),
                    points: mine
                        .clone()
                        .filter_map(|c| c.measured.map(|(wall, _)| (c.n as f64, ms(wall))))
                        .collect(),
                    ideal: cells
                        .iter()
                        .filter(|c| c.mode == mode)
                        .map(|c| (c.n as f64, ms(c.ideal)))
                        .collect(),
                }
            })
            .collect();
        let title = format!(
            "asyncdex bench: wall time vs N at {:.0} ms latency",
            ms(job.sweep.latency)
        );
        crate::timeline::write_file(path, &loglog(&title, &series))?;
    }
    summary
}

/// The calls of a sweep that did not succeed, cell by cell (or point by point): each such
/// cell's summary and failure lines ([`print_summary`], as `names` prints them), rendered
/// as the cell ends and printed when the sweep does, so a cell's calls are not held past
/// it; and the total of the whole cells (one a signal cut short counts in none).
#[derive(Default)]
pub(super) struct Failures {
    /// The summary and failure lines of the cells with a call that did not succeed.
    lines: Vec<u8>,
    /// Every whole cell's calls.
    total: Summary,
    /// The first failure (cell, id, error) and its kind: what the closing error quotes.
    first: Option<(String, ErrorKind)>,
}

impl Failures {
    /// Counts the calls of the cell `label`; `whole` if it ran to its end. Its lines are
    /// kept if any call did not succeed. Returns its counts.
    pub(super) fn add(&mut self, label: &str, calls: &ModeRun, whole: bool) -> Summary {
        let summary = summarize(&calls.outcomes);
        if summary.not_ok() > 0 {
            let what = |i: usize| format!("id {}", calls.ids[i]);
            // Into memory: a write to a Vec cannot fail.
            let _ = print_summary(
                &mut self.lines,
                &format!("{label}: "),
                &calls.outcomes,
                what,
            );
            let failed = calls.outcomes.iter().find_map(|o| {
                let e = o.result.as_ref().err()?;
                let kind = ErrorKind::of(e);
                (kind != ErrorKind::Cancelled)
                    .then(|| (format!("{label}, {}: {e}", what(o.index)), kind))
            });
            self.first = self.first.take().or(failed);
        }
        if whole {
            self.total.add(summary);
        }
        summary
    }

    /// Prints the kept lines on `err`; then the run's [`Summary`] (`interrupted` if a signal
    /// stopped it), or, when calls ran and none succeeded, the error that says so.
    pub(super) fn finish(self, err: &mut dyn std::io::Write, interrupted: bool) -> Result<Summary> {
        err.write_all(&self.lines).map_err(io_error)?;
        let total = Summary {
            interrupted,
            ..self.total
        };
        match self.first {
            Some((first, kind)) if !interrupted && total.ok == 0 && total.not_ok() > 0 => {
                // Exit 1, as for any run whose every call failed (never 2: no bad input).
                let kind = if kind == ErrorKind::InvalidInput {
                    ErrorKind::Status
                } else {
                    kind
                };
                let calls = total.calls();
                Err(Error::new(
                    kind,
                    format!(
                        "no call of the sweep succeeded ({calls} call{}); the first failure: {}",
                        if calls == 1 { "" } else { "s" },
                        first
                    ),
                ))
            }
            _ => Ok(total),
        }
    }
}

/// How a cell of the sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellState {
    /// Every call ran: the wall time is a measurement.
    Measured,
    /// A signal stopped it part-way: no measurement.
    Interrupted,
    /// Its ideal is over the budget.
    Skipped,
    /// The run was stopped before it.
    NotRun,
}

fn print_cell(
    cell: &Cell,
    calls: &Summary,
    state: CellState,
    json: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if json {
        let line = match (state, cell.measured) {
            (CellState::Measured, Some((wall, _))) => json!({
                "mode": cell.mode.as_str(), "n": cell.n, "skipped": false, "interrupted": false,
                "ok": calls.ok, "failed": calls.failed, "timed_out": calls.timed_out,
                "cancelled": calls.cancelled, "retried": calls.retried,
                "wall_ms": ms(wall), "ideal_ms": ms(cell.ideal),
                "ratio": cell.ratio().map(|r| (r * 1000.0).round() / 1000.0),
                "ok_per_s": cell.throughput().map(|r| (r * 10.0).round() / 10.0),
                "latency_ms": latency_json(cell.latency),
            }),
            (CellState::Interrupted, _) => json!({
                "mode": cell.mode.as_str(), "n": cell.n, "skipped": false, "interrupted": true,
                "ok": calls.ok, "failed": calls.failed, "timed_out": calls.timed_out,
                "cancelled": calls.cancelled, "retried": calls.retried,
                "ideal_ms": ms(cell.ideal),
            }),
            _ => json!({
                "mode": cell.mode.as_str(), "n": cell.n, "skipped": true, "interrupted": false,
                "ideal_ms": ms(cell.ideal),
            }),
        };
        crate::json::write_line(out, &line)
    } else {
        match (state, cell.measured) {
            (CellState::Measured, Some((wall, _))) => writeln!(
                out,
                "{:<12}{:>7}{:>7}{:>8}{:>12.1}{:>12.1}{:>8}{:>10.1}{:>10}{:>10}{}",
                cell.mode.as_str(),
                cell.n,
                calls.ok,
                calls.failed,
                ms(wall),
                ms(cell.ideal),
                cell.ratio().map_or("-".into(), |r| format!("{r:.2}")),
                cell.throughput().unwrap_or(0.0),
                cell.latency
                    .map_or("-".into(), |l| format!("{:.1}", ms(l.p50))),
                cell.latency
                    .map_or("-".into(), |l| format!("{:.1}", ms(l.p99))),
                aside(calls, Some("not every call succeeded: no ratio")),
            ),
            (CellState::Interrupted, _) => writeln!(
                out,
                "{:<12}{:>7}     interrupted: stopped part-way, not a measurement",
                cell.mode.as_str(),
                cell.n
            ),
            _ => writeln!(
                out,
                "{:<12}{:>7}     skipped: its ideal, {:.1} s, is over the budget",
                cell.mode.as_str(),
                cell.n,
                cell.ideal.as_secs_f64()
            ),
        }
    }?;
    out.flush()
}

/// After a row whose calls did not all succeed: the timed-out and cancelled ones, if any,
/// then `also` (`  2 timed out; not every call succeeded: no ratio`); nothing after a row
/// whose every call succeeded.
pub(super) fn aside(calls: &Summary, also: Option<&str>) -> String {
    if calls.not_ok() == 0 {
        return String::new();
    }
    let said: Vec<String> = [
        (calls.timed_out, "timed out"),
        (calls.cancelled, "cancelled"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .chain(also.map(str::to_owned))
    .collect();
    if said.is_empty() {
        return String::new();
    }
    format!("  {}", said.join("; "))
}
