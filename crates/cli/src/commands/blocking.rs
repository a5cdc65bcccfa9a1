//! `asyncdex blocking`: the heartbeat proof that offloading keeps the runtime breathing.

use asyncdex_engine::offload;
use serde_json::json;

use super::{io_error, ms, report, Io, Summary};
use asyncdex::http::HttpOptions;
use asyncdex::source::{Source, Target};
use asyncdex::sync_to_async::{run_with, Demo, DemoRun, Mode};
use asyncdex::{Error, Result};

/// A validated `blocking` job.
#[derive(Debug, Clone)]
pub struct BlockingJob {
    /// Which programs, in order.
    pub modes: Vec<Mode>,
    /// Calls per round, rounds, heartbeat period.
    pub demo: Demo,
    /// Where the blocking GETs go (the mirror's latency is what the heartbeat must outlive).
    pub target: Target,
    /// One JSON object per line and mode.
    pub json: bool,
}

/// Runs the programs and prints every tick and a table.
pub async fn blocking(job: BlockingJob, io: Io<'_>) -> Result<Summary> {
    if job.demo.calls == 0 || job.demo.rounds == 0 {
        return Err(Error::invalid_input(
            "--calls and --rounds must be at least 1",
        ));
    }
    if job.demo.period.is_zero() {
        return Err(Error::invalid_input("--period must be positive"));
    }
    let source = Source::open(job.target.clone()).await?;
    let url = format!("{}/pokemon/25/", source.base_url());
    // The default client options, with `--api`'s credentials (the root has none), kept
    // on its root.
    let options = HttpOptions {
        credentials: job.target.credentials(),
        redirects_within: job.target.redirects_within(),
        ..HttpOptions::default()
    };
    let mut runs = Vec::new();
    let mut cut = None;
    for &mode in &job.modes {
        if io.cancel.is_cancelled() {
            break; // a signal between programs: report those that ran
        }
        let (url, demo, options) = (url.clone(), job.demo, options.clone());
        // Each program builds its own single-threaded runtime: run it off this one. A
        // signal stops waiting for it: its blocking GETs cannot be interrupted, and its
        // measurements would be of a cut-short program anyway.
        let program = offload::once("the blocking demo", move || {
            run_with(mode, &url, &demo, &options)
        });
        tokio::select! {
            done = program => runs.push(done??),
            () = io.cancel.cancelled() => {
                cut = Some(mode);
                break;
            }
        }
    }
    let printed = if job.json {
        print_json(&runs, cut, io.out)
    } else {
        print_table(&job, source.description(), &runs, cut, io.out)
    };
    source.close().await;
    printed.map_err(io_error)?;
    print_failures(&runs, io.err).map_err(io_error)?;
    let ok = runs.iter().map(|r| r.ok).sum();
    let calls: usize = runs.iter().map(|r| r.calls).sum();
    Ok(Summary {
        ok,
        failed: calls - ok,
        interrupted: io.cancel.is_cancelled(),
        ..Summary::default()
    })
}

fn print_table(
    job: &BlockingJob,
    source: &str,
    runs: &[DemoRun],
    cut: Option<Mode>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} blocking GET(s) at a time on a pool of {} thread(s), {} round(s), beside a {} ms heartbeat, to {source}\n",
        job.demo.calls,
        pool_size(&job.demo),
        job.demo.rounds,
        ms(job.demo.period)
    )?;
    for run in runs {
        writeln!(out, "{}: heartbeat intervals (ms)", run.mode)?;
        for row in run.beats.intervals.chunks(10) {
            let cells: Vec<String> = row.iter().map(|d| format!("{:>7.1}", ms(*d))).collect();
            writeln!(out, "  {}", cells.concat().trim_start())?;
        }
    }
    writeln!(
        out,
        "\n{:<10}{:>7}{:>12}{:>8}{:>14}{:>14}",
        "mode", "calls", "total (ms)", "ticks", "max lag (ms)", "p99 lag (ms)"
    )?;
    for run in runs {
        writeln!(
            out,
            "{:<10}{:>7}{:>12.1}{:>8}{:>14.1}{:>14.1}",
            run.mode.as_str(),
            run.calls,
            ms(run.total),
            run.beats.intervals.len(),
            ms(run.beats.max_lag()),
            ms(run.beats.p99_lag())
        )?;
    }
    if let Some(mode) = cut {
        writeln!(
            out,
            "{:<10}  interrupted: stopped before it finished",
            mode.as_str()
        )?;
    }
    // What each mode that ran shows (hp10 note: `--mode correct` explained `wrong` too).
    let ran = |mode: Mode| runs.iter().any(|run| run.mode == mode);
    if ran(Mode::Wrong) || ran(Mode::Correct) {
        writeln!(out)?;
    }
    if ran(Mode::Wrong) {
        writeln!(
            out,
            "wrong: the blocking call ran on the runtime's only thread, so the heartbeat froze."
        )?;
    }
    if ran(Mode::Correct) {
        writeln!(
            out,
            "correct: the same function ran on a pool thread and was awaited; the heartbeat kept time."
        )?;
    }
    Ok(())
}

/// For each program where some calls failed (one where all did is the run's error): how
/// many, and the first one's line, as every fetching command lists a failure
/// ([`report::print_failure`]). The rest are counted, not listed: a program's calls all
/// go to the same URL, so the first failure is the one to read.
fn print_failures(runs: &[DemoRun], err: &mut dyn std::io::Write) -> std::io::Result<()> {
    for run in runs {
        let Some((index, e)) = &run.first_failure else {
            continue;
        };
        let failed = run.calls - run.ok;
        writeln!(
            err,
            "blocking: {}: {} calls: {} ok, {failed} failed{}",
            run.mode.as_str(),
            run.calls,
            run.ok,
            if failed > 1 {
                " (the first listed)"
            } else {
                ""
            }
        )?;
        report::print_failure(err, &format!("call {}", index + 1), &e.to_string(), 1)?;
    }
    Ok(())
}

/// Most threads the demo's pool runs, whatever `--calls` says (the library's
/// `sync_to_async::MAX_POOL`): more calls per round queue for a thread instead of each
/// starting one (`--calls 100000` used to start 100 000 threads).
const MAX_POOL: usize = 512;

/// Threads in the `correct` program's pool: one per call, at most [`MAX_POOL`].
fn pool_size(demo: &Demo) -> usize {
    demo.calls.clamp(1, MAX_POOL)
}

fn print_json(
    runs: &[DemoRun],
    cut: Option<Mode>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for run in runs {
        let intervals: Vec<f64> = run.beats.intervals.iter().map(|d| ms(*d)).collect();
        let line = json!({
            "mode": run.mode.as_str(),
            "calls": run.calls,
            "pool": pool_size(&Demo { calls: run.calls, ..Demo::default() }),
            "ok": run.ok,
            "failed": run.calls - run.ok,
            "first_failure": run.first_failure.as_ref().map(|(_, e)| e.to_string()),
            "total_ms": ms(run.total),
            "ticks": intervals.len(),
            "max_lag_ms": ms(run.beats.max_lag()),
            "p99_lag_ms": ms(run.beats.p99_lag()),
            "intervals_ms": intervals,
        });
        crate::json::write_line(out, &line)?;
    }
    if let Some(mode) = cut {
        crate::json::write_line(out, &json!({"mode": mode.as_str(), "interrupted": true}))?;
    }
    Ok(())
}
