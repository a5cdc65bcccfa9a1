//! `asyncdex program FILE | --example smart-home`: run a composed program, see its timing.

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
use asyncdex_engine::gather::Status;

/// A `program` job: the file's text and name, and where fetch steps go.
#[derive(Debug, Clone)]
pub struct ProgramJob {
    /// The program file's contents.
    pub text: String,
    /// Its name, for error messages.
    pub file: String,
    /// Where fetch steps go.
    pub target: Target,
    /// Client settings for fetch steps.
    pub http: HttpOptions,
    /// One JSON object instead of the table.
    pub json: bool,
    /// Timeline and trace files to write.
    pub pictures: Pictures,
}

/// Validates and runs the program; prints every step's start and end, and the measured
/// total against the critical path.
pub async fn program(job: ProgramJob, io: Io<'_>) -> Result<Summary> {
    let program = Program::parse(&job.text, &job.file)?;
    let devices = program.devices();
    let source = match program.fetches() {
        true => Some(Source::open(job.target.clone()).await?),
        false => None,
    };
    let context = match &source {
        Some(s) => Some(Context::new(
            Client::new(s.base_url(), Native::new(&job.http)?),
            match &job.target {
                Target::Embedded(config) => Some(config.latency),
                Target::Remote(_) => None,
            },
        )),
        None => None,
    };
    // A signal cancels the running steps and those not yet started; the report still
    // holds every step, the finished ones with their results.
    let task = program.task_until(&devices, context.as_ref(), &io.cancel)?;
    let ideal = task.critical_path();
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
            "program {}: measured {:.3} s, critical path {:.3} s",
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
            "critical_path_ms": ideal.map(ms),
            "ok": report.is_ok(),
            "steps": list,
        });
        writeln!(io.out, "{line}").map_err(io_error)?;
    } else {
        print_steps(&steps, io.out).map_err(io_error)?;
        let measured = report.duration();
        let verdict = match ideal {
            Some(ideal) => format!(
                "critical path {:.3} s ({:.2}x the ideal): a parallel block costs its longest child, a sequence the sum of its children",
                ideal.as_secs_f64(),
                measured.as_secs_f64() / ideal.as_secs_f64().max(1e-9)
            ),
            None => "critical path unknown (a step's duration is not known in advance)".into(),
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
        let label = escape_display(&r.label);
        let name = match r.kind {
            StepKind::Action => label.into_owned(),
            _ => format!("{label} ({})", kind(r)),
        };
        let result = match &r.result {
            Ok(t) if !t.is_empty() => format!("  → {}", escape_display(t)),
            Ok(_) => String::new(),
            Err(e) if e.kind() == ErrorKind::Cancelled => "  ✗ cancelled".to_owned(),
            Err(e) => format!("  ✗ {}", escape_display(&e.to_string())),
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
