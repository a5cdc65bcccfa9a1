//! `asyncdex program FILE | --example smart-home`: run a composed program, see its timing.
//!
//! Fetch steps take turns through `-c` places (64 by default): a parallel block of ten
//! thousand fetches does not open ten thousand connections. That limit is part of the
//! ideal the run is compared with: the critical path says what the program's shape
//! costs, and with F fetches of latency L through c places no run can take less than
//! ⌈F / c⌉ × L either, so the ideal is the larger of the two, and the closing line says
//! which it was.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::report::escape_display;
use super::{io_error, ms, Io, Pictures, Summary};
use crate::timeline::{Bar, Group};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::pokeapi::Client;
use asyncdex::program::{Context, Program};
use asyncdex::source::{Source, Target};
use asyncdex::{Error, ErrorKind, Result};
use asyncdex_engine::compose::{Report, StepKind};
use asyncdex_engine::gather::{Policy, Status};

/// A `program` job: the parsed program and its file's name, and where fetch steps go.
#[derive(Debug, Clone)]
pub struct ProgramJob {
    /// The program, parsed and validated.
    pub program: Program,
    /// Its name, for error messages.
    pub file: String,
    /// Where fetch steps go.
    pub target: Target,
    /// Client settings for fetch steps.
    pub http: HttpOptions,
    /// How each fetch step is made: time limit, retries, rate limit, fail-fast.
    pub policy: Policy,
    /// The first fetching flag given (`--rate`, `--api`...), if any: refused for a
    /// program with no fetch steps, where it would do nothing.
    pub fetch_flag: Option<String>,
    /// Most fetch steps in flight at once (`-c`).
    pub concurrency: usize,
    /// One JSON object instead of the table.
    pub json: bool,
    /// Timeline and trace files to write.
    pub pictures: Pictures,
}

/// Validates and runs the program; prints every step's start and end, and the measured
/// total against the critical path.
pub async fn program(job: ProgramJob, io: Io<'_>) -> Result<Summary> {
    let program = &job.program;
    let devices = program.devices();
    if let (false, Some(flag)) = (program.fetches(), &job.fetch_flag) {
        return Err(Error::invalid_input(format!(
            "{flag} is for fetch steps, and {} has none: drop it",
            escape_display(&job.file)
        )));
    }
    let source = match program.fetches() {
        true => Some(Source::open(job.target.clone()).await?),
        false => None,
    };
    let context = match &source {
        Some(s) => {
            let mut context = Context::new(
                Client::new(s.base_url(), Native::new(&job.http)?),
                match &job.target {
                    Target::Embedded(config) => Some(config.latency),
                    Target::Remote(_) => None,
                },
            );
            context.in_flight = Arc::new(tokio::sync::Semaphore::new(job.concurrency));
            context.policy = job.policy.clone();
            Some(context)
        }
        None => None,
    };
    // A signal cancels the running steps and those not yet started; the report still
    // holds every step, the finished ones with their results.
    let task = program.task_until(&devices, context.as_ref(), &io.cancel)?;
    let limit = context.as_ref().map(|c| Limit::of(c, job.concurrency));
    let path = task.critical_path();
    let ideal = path.map(|p| limit.map_or(p, |l| p.max(l.floor)));
    if !job.json {
        writeln!(
            io.out,
            "program {}: devices {}{}\n",
            escape_display(program.name()),
            escape_display(&devices.ids().join(", ")),
            source.as_ref().map_or(String::new(), |s| format!(
                "; fetches from {}",
                s.description()
            ))
        )
        .map_err(io_error)?;
    }
    let report = task.run().await;
    if let Some(s) = source {
        s.close().await;
    }
    let steps = report.walk();
    let group = Group {
        name: program.name().to_owned(),
        bars: steps
            .iter()
            .map(|(depth, r)| Bar {
                label: format!("{}{}", "  ".repeat(*depth), r.label),
                start: r.started,
                end: r.finished,
                retries: Vec::new(),
                status: status(r),
            })
            .collect(),
        limit: Vec::new(),
    };
    let title = match ideal {
        Some(ideal) => format!(
            "program {}: measured {:.3} s, ideal {:.3} s",
            program.name(),
            report.duration().as_secs_f64(),
            ideal.as_secs_f64()
        ),
        None => format!("program {}", program.name()),
    };
    job.pictures.write(&title, &[group])?;
    if job.json {
        let list: Vec<_> = steps
            .iter()
            .map(|(depth, r)| {
                json!({
                    "label": r.label, "kind": kind(r), "depth": depth,
                    "start_ms": ms(r.started), "end_ms": ms(r.finished),
                    "ok": r.result.is_ok(),
                    "status": status(r).as_str(),
                    "result": match &r.result { Ok(t) => t.clone(), Err(e) => e.to_string() },
                })
            })
            .collect();
        let line = json!({
            "program": program.name(),
            "measured_ms": ms(report.duration()),
            "critical_path_ms": path.map(ms),
            "ideal_ms": ideal.map(ms),
            "fetches": limit.map_or(0, |l| l.fetches),
            "fetch_limit": limit.map(|l| l.places),
            "ok": report.is_ok(),
            "steps": list,
        });
        crate::json::write_line(io.out, &line).map_err(io_error)?;
    } else {
        print_steps(&steps, io.out).map_err(io_error)?;
        let measured = report.duration();
        let ratio = |ideal: Duration| measured.as_secs_f64() / ideal.as_secs_f64().max(1e-9);
        let shape = "a parallel block costs its longest child, a sequence the sum of its children";
        let verdict = match (path, ideal, limit) {
            (Some(path), Some(ideal), Some(l)) if ideal > path => format!(
                "critical path {:.3} s, but {} fetches, {}, take at least {:.3} s ({:.2}x that ideal): {shape}, and a fetch waits for {}",
                path.as_secs_f64(),
                l.fetches,
                l.bound(),
                ideal.as_secs_f64(),
                ratio(ideal),
                if l.by_rate { "its turn at the rate" } else { "a place" }
            ),
            (Some(path), _, limit) => format!(
                "critical path {:.3} s ({}): {shape}{}",
                path.as_secs_f64(),
                // A program of instant steps (`--latency 0`, no waits) has an ideal of 0 s:
                // any time measured is infinitely many times it, which says nothing.
                if path.as_secs_f64() < 1e-6 {
                    "no ratio: its ideal is 0 s".to_string()
                } else {
                    format!("{:.2}x the ideal", ratio(path))
                },
                limit.map_or(String::new(), |l| format!(
                    " (fetches: at most {} at once, -c)",
                    l.places
                ))
            ),
            _ => "critical path unknown (a step's duration is not known in advance)".into(),
        };
        writeln!(
            io.out,
            "\nmeasured {:.3} s; {verdict}",
            measured.as_secs_f64()
        )
        .map_err(io_error)?;
    }
    let actions: Vec<&Report<Error>> = steps
        .iter()
        .map(|(_, r)| *r)
        .filter(|r| r.kind == StepKind::Action)
        .collect();
    let mut summary = Summary::default();
    for r in &actions {
        match status(r) {
            Status::Ok => summary.ok += 1,
            Status::Cancelled => summary.cancelled += 1,
            Status::TimedOut => summary.timed_out += 1,
            Status::Failed => summary.failed += 1,
        }
        if let (Status::Failed, Err(e)) = (status(r), &r.result) {
            let e = e.to_string();
            let (label, e) = (escape_display(&r.label), escape_display(&e));
            writeln!(io.err, "  failed: {label}: {e}").map_err(io_error)?;
        }
    }
    writeln!(
        io.err,
        "program: {} steps: {} ok, {} failed, {} cancelled",
        actions.len(),
        summary.ok,
        summary.failed,
        summary.cancelled
    )
    .map_err(io_error)?;
    summary.interrupted = io.cancel.is_cancelled();
    Ok(summary)
}

/// The fetch steps' places and rate, and what they cost a run at the least.
#[derive(Debug, Clone, Copy)]
struct Limit {
    /// Fetch steps in the program.
    fetches: usize,
    /// How many may be in flight at once.
    places: usize,
    /// The fetches' starts per second and burst (`--rate`, `--burst`), if limited.
    rate: Option<(f64, u32)>,
    /// No run is shorter: ⌈fetches / places⌉ fetch latencies, or, at a rate, the wait
    /// for the last fetch's turn (the first `burst` start at once, then one per 1/rate)
    /// and its latency, whichever is longer.
    floor: Duration,
    /// True if the rate, not the places, sets `floor`.
    by_rate: bool,
}

impl Limit {
    /// Counted on the task just built from `context`: each fetch step holds a handle on
    /// the context's places (its semaphore), so the handles beyond the context's own are
    /// the fetch steps.
    fn of(context: &Context, places: usize) -> Limit {
        let fetches = Arc::strong_count(&context.in_flight).saturating_sub(1);
        let rounds = fetches.div_ceil(places.max(1));
        let latency = context.fetch_latency.unwrap_or_default();
        let by_places = latency.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX));
        let rate = context.policy.rate.as_ref().map(|r| (r.rate(), r.burst()));
        let by_rate = rate.filter(|_| fetches > 0).map(|(per_second, burst)| {
            let turns = fetches.saturating_sub(burst as usize) as f64;
            Duration::try_from_secs_f64(turns / per_second).unwrap_or(Duration::MAX) + latency
        });
        Limit {
            fetches,
            places,
            rate,
            floor: by_places.max(by_rate.unwrap_or_default()),
            by_rate: by_rate.is_some_and(|r| r > by_places),
        }
    }

    /// What bounds the fetches, in words that name the flag.
    fn bound(&self) -> String {
        match (self.by_rate, self.rate) {
            (true, Some((per_second, burst))) => {
                format!("at most {per_second}/s (--rate), {burst} at once (--burst)")
            }
            _ => format!("at most {} at once (-c)", self.places),
        }
    }
}

/// How a step ended: a step the run's cancellation stopped is cancelled, not failed.
fn status(r: &Report<Error>) -> Status {
    match &r.result {
        Ok(_) if r.children.iter().any(|c| status(c) == Status::Cancelled) => Status::Cancelled,
        Ok(_) => Status::Ok,
        Err(e) if e.kind() == ErrorKind::Cancelled => Status::Cancelled,
        Err(_) => Status::Failed,
    }
}

fn kind(r: &Report<Error>) -> &'static str {
    match r.kind {
        StepKind::Action => "action",
        StepKind::Sequence => "sequence",
        StepKind::Parallel => "parallel",
    }
}

fn print_steps(
    steps: &[(usize, &Report<Error>)],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    writeln!(out, "{:>9}{:>9}  step", "start s", "end s")?;
    for (depth, r) in steps {
        let label = super::report::escape_field(&r.label);
        let name = match r.kind {
            StepKind::Action => label.into_owned(),
            _ => format!("{label} ({})", kind(r)),
        };
        let result = match &r.result {
            Ok(t) if !t.is_empty() => format!("  → {}", super::report::escape_field(t)),
            Ok(_) => String::new(),
            Err(e) if e.kind() == ErrorKind::Cancelled => "  ✗ cancelled".to_owned(),
            Err(e) => format!("  ✗ {}", super::report::escape_field(&e.to_string())),
        };
        writeln!(
            out,
            "{:>9.3}{:>9.3}  {}{name}{result}",
            r.started.as_secs_f64(),
            r.finished.as_secs_f64(),
            "  ".repeat(*depth)
        )?;
    }
    Ok(())
}

/// Reads a program file, or names the problem. At most
/// [`MAX_FILE_BYTES`](asyncdex::program::MAX_FILE_BYTES) and one byte more are read, so
/// a huge file, or `/dev/zero`, is refused without being held in memory.
pub fn read_program(path: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let limit = asyncdex::program::MAX_FILE_BYTES;
    let cannot = |e: std::io::Error| {
        Error::invalid_input(format!("cannot read program {}: {e}", path.display()))
    };
    // Only a regular file: opening a FIFO would wait for a writer forever (signals too).
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(Error::invalid_input(format!(
            "cannot read program {}: it is not a regular file",
            path.display()
        )));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit as u64 + 1).read_to_string(&mut text))
        .map_err(cannot)?;
    if text.len() > limit {
        return Err(Error::invalid_input(format!(
            "{}: larger than a program may be (at most {limit} bytes)",
            path.display()
        )));
    }
    Ok(text)
}
