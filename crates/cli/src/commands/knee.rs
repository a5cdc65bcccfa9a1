//! `asyncdex bench --concurrencies`: the same job at each concurrency against one server,
//! as a table, JSON lines, and a chart of throughput and p99 against the concurrency.
//!
//! Calls are counted as `bench` counts them ([`super::bench`]): each point shows its ok
//! and failed calls (timed-out and cancelled ones after the row, if any), its throughput
//! counts only successful calls, and the run ends with the summary and failure lines of
//! each point whose calls did not all succeed; one `error:` line if none succeeded.

use std::time::Duration;

use serde_json::json;

use super::bench::{aside, Failures};
use super::report::Progress;
use super::{io_error, ms, Io, Summary};
use crate::chart::{knee as knee_chart, KneePoint};
use asyncdex::knee::{run, KneeSweep, Limit, Point};
use asyncdex::source::{Source, Target};
use asyncdex::Result;

/// A validated knee sweep.
#[derive(Debug, Clone)]
pub struct KneeJob {
    /// What to sweep.
    pub sweep: KneeSweep,
    /// Where to fetch from.
    pub target: Target,
    /// One JSON object per point.
    pub json: bool,
    /// Where to draw the chart.
    pub plot: Option<std::path::PathBuf>,
}

/// Runs the sweep, printing each point as it finishes.
pub async fn knee(mut job: KneeJob, io: Io<'_>) -> Result<Summary> {
    let source = Source::open(job.target.clone()).await?;
    // Every call's shortened wait, the list read's and the points', is said at the end.
    let watch = Progress::watch(&mut job.sweep.plan.policy);
    let described = source.description().to_owned();
    if !job.json {
        writeln!(
            io.out,
            "{} calls at each concurrency against {}\n\n{:<6}{:>13}{:>10}{:>7}{:>8}{:>10}{:>10}{:>10}{:>10}{:>12}",
            job.sweep.n,
            described,
            "-c", "settled", "wall (s)", "ok", "failed", "ok/s", "p50 (ms)", "p99 (ms)", "max (ms)", "pushed back"
        )
        .map_err(io_error)?;
    }
    let mut printed = Ok(());
    let mut failures = Failures::default();
    let points = run(&job.sweep, source.base_url(), |point, calls| {
        let label = format!("-c {}", point.limit);
        let summary = failures.add(&label, calls, !point.interrupted);
        if printed.is_ok() {
            printed = print_point(point, &summary, job.json, io.out);
        }
    })
    .await;
    source.close().await;
    watch.print_shortened(io.err, "bench: ").map_err(io_error)?;
    let points = points?;
    printed.map_err(io_error)?;
    // Only whole points count: an interrupted one measured part of its calls.
    let points: Vec<Point> = points.into_iter().filter(|p| !p.interrupted).collect();
    // The summaries before the picture: they are out even if its write fails.
    let summary = failures.finish(io.err, job.sweep.plan.policy.cancel.is_cancelled());
    if let Some(path) = &job.plot {
        let drawn: Vec<KneePoint> = points.iter().map(drawn).collect();
        let title = format!("asyncdex bench: {} calls at each concurrency", job.sweep.n);
        crate::timeline::write_file(path, &knee_chart(&title, &described, &drawn))?;
    }
    summary
}

/// A point as the chart draws it: a fixed limit at its value, `auto` where it settled.
fn drawn(point: &Point) -> KneePoint {
    let p99 = point.latency.map_or(Duration::ZERO, |l| l.p99);
    let (concurrency, auto) = match (point.limit, point.settled) {
        (Limit::Fixed(c), _) => (c as f64, false),
        (Limit::Auto { max }, settled) => (settled.map_or(max, |s| s.last) as f64, true),
    };
    KneePoint {
        concurrency,
        throughput: point.throughput(),
        p99_ms: ms(p99),
        auto,
    }
}

fn print_point(
    point: &Point,
    calls: &Summary,
    json: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let l = point.latency;
    let at = |f: fn(&asyncdex_engine::latency::Latencies) -> Duration| {
        l.as_ref().map_or(0.0, |l| ms(f(l)))
    };
    if point.interrupted {
        return if json {
            let line = json!({
                "concurrency": point.limit.to_string(),
                "calls": point.calls,
                "interrupted": true,
                "ok": calls.ok,
                "failed": calls.failed,
                "timed_out": calls.timed_out,
                "cancelled": calls.cancelled,
            });
            crate::json::write_line(out, &line)
        } else {
            writeln!(
                out,
                "{:<6}     interrupted: stopped part-way, not a measurement",
                point.limit.to_string()
            )
        }
        .and_then(|()| out.flush());
    }
    if json {
        let line = json!({
            "concurrency": point.limit.to_string(),
            "interrupted": false,
            "settled": point.settled.map(|s| json!({"last": s.last, "min": s.min, "max": s.max})),
            "calls": point.calls,
            "ok": calls.ok,
            "failed": calls.failed,
            "timed_out": calls.timed_out,
            "cancelled": calls.cancelled,
            "retried": calls.retried,
            "attempts": point.attempts,
            "pushed_back": point.pushed_back,
            "wall_ms": ms(point.wall),
            "ok_per_s": (point.throughput() * 10.0).round() / 10.0,
            "p50_ms": at(|l| l.p50),
            "p90_ms": at(|l| l.p90),
            "p99_ms": at(|l| l.p99),
            "max_ms": at(|l| l.max),
        });
        crate::json::write_line(out, &line)?;
    } else {
        let settled = point.settled.map_or("-".to_owned(), |s| {
            format!("{} ({}-{})", s.last, s.min, s.max)
        });
        writeln!(
            out,
            "{:<6}{:>13}{:>10.2}{:>7}{:>8}{:>10.0}{:>10.0}{:>10.0}{:>10.0}{:>11.2}%{}",
            point.limit.to_string(),
            settled,
            point.wall.as_secs_f64(),
            calls.ok,
            calls.failed,
            point.throughput(),
            at(|l| l.p50),
            at(|l| l.p99),
            at(|l| l.max),
            point.pushback_rate() * 100.0,
            aside(calls, None)
        )?;
    }
    out.flush()
}
