//! `asyncdex bench`: the sweep over N and modes, as a table, JSON, and a log-log chart.

use serde_json::json;

use super::latency::latency_json;
use super::{io_error, ms, Io, Summary};
use crate::chart::{loglog, Series};
use asyncdex::source::{Source, Target};
use asyncdex::sweep::{run, Cell, Sweep};
use asyncdex::{Error, Result};

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
pub async fn bench(job: BenchJob, io: Io<'_>) -> Result<Summary> {
    if job.sweep.sizes.is_empty() || job.sweep.sizes.contains(&0) {
        return Err(Error::invalid_input("--sizes needs sizes of at least 1"));
    }
    if let Some(&n) = job.sweep.sizes.iter().find(|&&n| n > super::MAX_CALLS) {
        return Err(Error::invalid_input(format!(
            "size {n} is too large (at most {})",
            super::MAX_CALLS
        )));
    }
    let source = Source::open(job.target.clone()).await?;
    if !job.json {
        writeln!(
            io.out,
            "sweep from {}; threads {}, concurrency {}, budget {:.0} s per cell\n\n{:<12}{:>7}{:>12}{:>12}{:>8}{:>12}{:>10}{:>10}",
            source.description(),
            job.sweep.plan.threads,
            job.sweep.plan.concurrency,
            job.sweep.budget.as_secs_f64(),
            "mode", "N", "wall (ms)", "ideal (ms)", "ratio", "requests/s", "p50 (ms)", "p99 (ms)"
        )
        .map_err(io_error)?;
    }
    let mut printed = Ok(());
    // Which cells a signal cut short: a cell that was running when the run was cancelled
    // is measured on a part of its calls, so its wall time is no measurement of N calls.
    let mut interrupted = Vec::new();
    let cancel = job.sweep.plan.policy.cancel.clone();
    let cells = run(&job.sweep, source.base_url(), |cell| {
        let state = match (cell.measured, cancel.is_cancelled()) {
            (Some(_), true) => CellState::Interrupted,
            (Some(_), false) => CellState::Measured,
            (None, true) if cell.ideal <= job.sweep.budget => CellState::NotRun,
            (None, _) => CellState::Skipped,
        };
        interrupted.push(state == CellState::Interrupted);
        if printed.is_ok() && state != CellState::NotRun {
            printed = print_cell(cell, state, job.json, io.out);
        }
    })
    .await;
    source.close().await;
    let cells = cells?;
    printed.map_err(io_error)?;
    let measured: Vec<&Cell> = cells
        .iter()
        .zip(&interrupted)
        .filter(|(c, cut)| c.measured.is_some() && !**cut)
        .map(|(c, _)| c)
        .collect();
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
    // Only whole cells count: an interrupted cell's calls are in no total.
    let calls: usize = measured.iter().map(|c| c.n).sum();
    let ok: usize = measured
        .iter()
        .filter_map(|c| c.measured.map(|(_, ok)| ok))
        .sum();
    Ok(Summary {
        ok,
        failed: calls - ok,
        interrupted: job.sweep.plan.policy.cancel.is_cancelled(),
        ..Summary::default()
    })
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
    state: CellState,
    json: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let rate = |wall: std::time::Duration| cell.n as f64 / wall.as_secs_f64().max(1e-9);
    if json {
        let line = match (state, cell.measured) {
            (CellState::Measured, Some((wall, ok))) => json!({
                "mode": cell.mode.as_str(), "n": cell.n, "ok": ok, "skipped": false,
                "interrupted": false,
                "wall_ms": ms(wall), "ideal_ms": ms(cell.ideal),
                "ratio": cell.ratio().map(|r| (r * 1000.0).round() / 1000.0),
                "requests_per_s": (rate(wall) * 10.0).round() / 10.0,
                "latency_ms": latency_json(cell.latency),
            }),
            (CellState::Interrupted, _) => json!({
                "mode": cell.mode.as_str(), "n": cell.n, "skipped": false, "interrupted": true,
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
                "{:<12}{:>7}{:>12.1}{:>12.1}{:>8}{:>12.1}{:>10}{:>10}",
                cell.mode.as_str(),
                cell.n,
                ms(wall),
                ms(cell.ideal),
                cell.ratio().map_or("-".into(), |r| format!("{r:.2}")),
                rate(wall),
                cell.latency
                    .map_or("-".into(), |l| format!("{:.1}", ms(l.p50))),
                cell.latency
                    .map_or("-".into(), |l| format!("{:.1}", ms(l.p99))),
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
