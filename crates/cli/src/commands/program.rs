//! `asyncdex program FILE | --example smart-home`: run a composed program, see its timing.

use serde_json::json;

use super::{io_error, ms, Io, Pictures, Summary};
use crate::timeline::{Bar, Group};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::pokeapi::Client;
use asyncdex::program::{Context, Program};
use asyncdex::source::{Source, Target};
use asyncdex::{Error, Result};
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
        Some(s) => Some(Context {
            client: Client::new(s.base_url(), Native::new(&job.http)?),
            fetch_latency: match &job.target {
                Target::Embedded(config) => Some(config.latency),
                Target::Remote(_) => None,
            },
        }),
        None => None,
    };
    let task = program.task(&devices, context.as_ref())?;
    let ideal = task.critical_path();
    if !job.json {
        writeln!(
            io.out,
            "program {}: devices {}{}\n",
            program.name(),
            devices.ids().join(", "),
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
                status: if r.result.is_ok() {
                    Status::Ok
                } else {
                    Status::Failed
                },
            })
            .collect(),
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
    for r in actions.iter().filter(|r| r.result.is_err()) {
        if let Err(e) = &r.result {
            writeln!(io.err, "  failed: {}: {e}", r.label).map_err(io_error)?;
        }
    }
    let ok = actions.iter().filter(|r| r.result.is_ok()).count();
    Ok(Summary {
        ok,
        failed: actions.len() - ok,
        ..Summary::default()
    })
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
        let name = match r.kind {
            StepKind::Action => r.label.clone(),
            _ => format!("{} ({})", r.label, kind(r)),
        };
        let result = match &r.result {
            Ok(t) if !t.is_empty() => format!("  → {t}"),
            Ok(_) => String::new(),
            Err(e) => format!("  ✗ {e}"),
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

/// Reads a program file, or names the problem.
pub fn read_program(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::invalid_input(format!("cannot read program {}: {e}", path.display())))
}
