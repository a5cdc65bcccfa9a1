//! `asyncdex cpu`: concurrency vs parallelism on a CPU-bound job, measured.

use std::sync::Arc;

use serde_json::json;

use super::{check_count, io_error, ms, Io, Summary};
use asyncdex::parallelism::{real_size_bodies, run_way, CpuRun, Way};
use asyncdex::{Error, Result};
use asyncdex_engine::offload::Pool;

/// A validated `cpu` job.
#[derive(Debug, Clone)]
pub struct CpuJob {
    /// Real-size bodies to parse.
    pub jobs: usize,
    /// Threads in the offload pool.
    pub threads: usize,
    /// One JSON object per line and way.
    pub json: bool,
}

/// Runs the three ways and prints wall time, speed-up and stalls for each.
pub async fn cpu(job: CpuJob, io: Io<'_>) -> Result<Summary> {
    check_count(job.jobs)?;
    if job.threads == 0 {
        return Err(Error::invalid_input("--threads must be at least 1"));
    }
    let bodies = Arc::new(real_size_bodies(job.jobs));
    let pool = Pool::new("cpu", job.threads);
    let mut runs = Vec::new();
    for &way in Way::ALL {
        if io.cancel.is_cancelled() {
            break; // a signal: report the ways that ran
        }
        runs.push(run_way(way, bodies.clone(), &pool).await?);
    }
    if runs.windows(2).any(|w| w[0].checksum != w[1].checksum) {
        return Err(Error::new(
            asyncdex::ErrorKind::Io,
            "the three ways disagree on the result: a bug",
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let size_kb = bodies.first().map_or(0, |b| b.len() / 1024);
    if job.json {
        print_json(&runs, cores, io.out)
    } else {
        print_table(&runs, cores, size_kb, job.threads, io.out)
    }
    .map_err(io_error)?;
    Ok(Summary {
        ok: runs.len(),
        failed: 0,
        interrupted: io.cancel.is_cancelled(),
        ..Summary::default()
    })
}

fn speedup(runs: &[CpuRun], run: &CpuRun) -> f64 {
    runs[0].wall.as_secs_f64() / run.wall.as_secs_f64().max(1e-9)
}

fn print_table(
    runs: &[CpuRun],
    cores: usize,
    size_kb: usize,
    threads: usize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let jobs = runs.first().map_or(0, |r| r.jobs);
    writeln!(
        out,
        "parse {jobs} real-size Pokémon bodies ({size_kb} KB each) on {cores} cores; pool of {threads} threads\n"
    )?;
    writeln!(
        out,
        "{:<10}{:>12}{:>10}{:>8}",
        "way", "wall (ms)", "speedup", "stalls"
    )?;
    for run in runs {
        writeln!(
            out,
            "{:<10}{:>12.1}{:>9.2}x{:>8}",
            run.way.as_str(),
            ms(run.wall),
            speedup(runs, run),
            run.stalls.len()
        )?;
    }
    for stall in runs.iter().flat_map(|r| &r.stalls).take(1) {
        writeln!(out, "\n{stall}")?;
    }
    writeln!(
        out,
        "\ninline: no waiting, so async alone gains nothing, and the runtime thread is held.\n\
         offload, rayon: the cores compute at once. Rust has no GIL, so threads are parallel;\n\
         in CPython the same threads would take turns and give no speed-up."
    )
}

fn print_json(runs: &[CpuRun], cores: usize, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for run in runs {
        let line = json!({
            "way": run.way.as_str(),
            "jobs": run.jobs,
            "cores": cores,
            "wall_ms": ms(run.wall),
            "speedup": (speedup(runs, run) * 100.0).round() / 100.0,
            "stalls": run.stalls.len(),
            "stall_reports": run.stalls.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "checksum": run.checksum,
        });
        crate::json::write_line(out, &line)?;
    }
    Ok(())
}
