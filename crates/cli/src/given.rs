//! Which flags were typed, and the typed ones refused because the run would not use them.
//!
//! A flag with a default reaches a job as a plain value: `threads == 10` cannot tell
//! `--threads 10` from no `--threads` at all, so a check on the value cannot refuse a
//! `--threads` that the chosen mode never reads, and the flag would be accepted and
//! ignored, which the README promises never happens. clap knows where each value came
//! from ([`clap::ArgMatches::value_source`]: the command line, a default, the
//! environment), and [`Given`] keeps the ids of those typed on the command line.
//!
//! What is refused here, each with one line naming the flag and why (exit 2):
//!
//! | flag | refused when | why nothing |
//! |---|---|---|
//! | `-c N` | `names --mode sequential\|threads`, `bench --modes` without async | it is the async mode's limit |
//! | `--threads` | `names --mode sequential\|async`, `bench --modes` without threads | it sizes the threads mode's pool |
//! | `--latency` | with `--api`, but in a `bench` sweep (where it is the ideal's latency) | it is the embedded mirror's delay |
//! | `--jitter` | with `--api` | the embedded mirror's too |
//! | `--retry-after` | without `--throttle-rate` above 0 (or with `--api`) | the wait a throttled answer asks for |
//! | `--tail-ms` | with `--tail-rate 0` (or with `--api`) | how much slower a slow request is, and none is |
//! | `--cache` | `names --mode all` (the default) | a comparison of modes never uses a cache |
//! | `--retry-budget` | with `--retries 0` | no call retries |
//! | `--hedge` | `names`, `get`, `stream`, `bench --sizes` of fewer than 20 calls | no copy is earned (5 % of the calls) |
//! | `--cores` | `names`, `get`, `stream`, `bench --sizes` of one call | one call runs on one runtime |
//!
//! `--mode all` (the default) runs every mode, so there `-c` and `--threads` both act.
//! (`--no-cache` there is not refused: it does act, telling a run against a remote API
//! not to say that the comparison left the cache out.)
//!
//! `program` can refuse only once it has read its file: [`note`] records the first
//! fetching flag typed (`-c`, `--latency`, `--timeout`, ...), and a program with no fetch
//! step refuses it.
//! Checks that a value alone can make (`--burst` without `--rate`, a fault flag with
//! `--api`) stay with the flags ([`crate::args`]) and the jobs ([`crate::jobs`]).

use std::collections::BTreeSet;

use clap::parser::ValueSource;
use clap::ArgMatches;

use crate::args::{BenchArgs, Command, FaultArgs, ModeArg, SourceArgs};
use crate::bounds::Concurrency;
use asyncdex::names::Mode;
use asyncdex_engine::gather::Hedge;

/// The ids (clap's, the field names: `concurrency`, `retry_after`) of the subcommand's
/// flags typed on the command line.
#[derive(Debug, Default)]
pub struct Given(BTreeSet<String>);

impl Given {
    /// The flags of `matches`' subcommand that the command line gave, not a default.
    pub fn of(matches: &ArgMatches) -> Given {
        let Some((_, sub)) = matches.subcommand() else {
            return Given::default();
        };
        let typed = sub
            .ids()
            .filter(|id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine))
            .map(|id| id.as_str().to_owned())
            .collect();
        Given(typed)
    }

    /// Whether the flag with clap id `id` was typed.
    pub fn typed(&self, id: &str) -> bool {
        self.0.contains(id)
    }
}

/// Refuses a typed flag that `command` would not use (see the module's table).
pub fn refuse_unused(command: &Command, given: &Given) -> asyncdex::Result<()> {
    match command {
        Command::Names(a) => {
            let mode = clap::ValueEnum::to_possible_value(&a.mode);
            let mode = format!("--mode {}", mode.as_ref().map_or("", |v| v.get_name()));
            // `-c auto` there has its own line (`LimitArgs::check`).
            let fixed = a.fetch.limit.concurrency != Concurrency::Auto;
            let line = |m: &str| (mode.clone(), format!("give --mode {m}"));
            modes(given, &a.mode.modes(), fixed, line)?;
            if given.typed("cache") && a.mode.modes().len() > 1 {
                return Err(asyncdex::Error::invalid_input(format!(
                    "--cache is for one mode's run, and {mode} compares modes without one \
                     (each makes its own requests): drop --cache or give one --mode"
                )));
            }
            let made = a
                .mode
                .modes()
                .contains(&Mode::Async)
                .then_some(("names", a.n));
            calls(&a.fetch.source, made)?;
            mirror(given, &a.fetch.source, false)
        }
        Command::Get(a) => {
            calls(&a.fetch.source, Some(("get", a.keys.len())))?;
            mirror(given, &a.fetch.source, false)
        }
        Command::Stream(a) => {
            calls(&a.fetch.source, Some(("stream", a.n)))?;
            mirror(given, &a.fetch.source, false)
        }
        Command::Program(a) => mirror(given, &a.source, false),
        Command::Crawl(a) => {
            calls(&a.source, None)?;
            mirror(given, &a.source, false)
        }
        Command::Bench(a) => bench(given, a),
        Command::Serve(a) => faults(given, &a.faults),
        Command::Blocking(a) if a.api.is_some() => latency_with_api(given),
        _ => Ok(()),
    }
}

/// `bench`: a sweep's modes use `-c` and `--threads` only if async and threads are among
/// them, and its ideal uses `--latency` even against `--api`; a knee sweep
/// (`--concurrencies`) refuses `-c` and `--threads` itself and has no ideal.
fn bench(given: &Given, a: &BenchArgs) -> asyncdex::Result<()> {
    if a.concurrencies.is_some() {
        calls(&a.source, None)?;
        return mirror(given, &a.source, false);
    }
    let list: Vec<Mode> = a.modes.iter().flat_map(|m| m.modes()).collect();
    let largest = a.sizes.iter().copied().max().unwrap_or(0);
    let made = list
        .contains(&Mode::Async)
        .then_some(("the largest of bench --sizes", largest));
    calls(&a.source, made)?;
    let line = |m: &str| {
        (
            format!("--modes without {m}"),
            format!("add {m} to --modes"),
        )
    };
    modes(given, &list, true, line)?;
    mirror(given, &a.source, true)
}

/// Refuses `-c` (if `fixed`: a number, not `auto`) without the async mode among `list`,
/// and `--threads` without the threads mode. `line(missing)` names, for the message, the
/// modes given and how to add the missing one.
fn modes(
    given: &Given,
    list: &[Mode],
    fixed: bool,
    line: impl Fn(&str) -> (String, String),
) -> asyncdex::Result<()> {
    let refused = [
        (
            fixed && given.typed("concurrency") && !list.contains(&Mode::Async),
            "-c is for the async mode",
            ModeArg::Async,
        ),
        (
            given.typed("threads") && !list.contains(&Mode::Threads),
            "--threads sizes the threads mode's pool",
            ModeArg::Threads,
        ),
    ];
    match refused.into_iter().find(|(refused, ..)| *refused) {
        Some((_, what, missing)) => {
            let missing = clap::ValueEnum::to_possible_value(&missing);
            let (shown, fix) = line(missing.as_ref().map_or("", |v| v.get_name()));
            Err(asyncdex::Error::invalid_input(format!(
                "{what}, and {shown} has none: drop it or {fix}"
            )))
        }
        None => Ok(()),
    }
}

/// Refuses a batch's flag that its calls can never spend: `--retry-budget` with
/// `--retries 0` (no call retries), and, where `made` says how many calls the async mode
/// makes (`("get", 1)`; `None` where that is not known before the run, as a crawl's), a
/// `--hedge` for fewer calls than earn one copy (20: a batch's copies are at most 5 % of
/// its calls) and `--cores` for one call (it runs on one runtime, whatever N).
/// A command without an async mode is not given `made`: there these flags have their own
/// line (`check_async_only`).
fn calls(source: &SourceArgs, made: Option<(&str, usize)>) -> asyncdex::Result<()> {
    if source.retry_budget.is_some() && source.retries == Some(0) {
        return Err(asyncdex::Error::invalid_input(
            "--retry-budget bounds the run's retries, and with --retries 0 no call retries: \
             drop one of them",
        ));
    }
    let Some((command, n)) = made else {
        return Ok(());
    };
    if let Some(hedge) = source.hedge.map(Hedge::at).transpose()? {
        let fewest = hedge.calls_for_one_copy();
        if (n as u64) < fewest {
            return Err(asyncdex::Error::invalid_input(format!(
                "--hedge sends a copy only once {fewest} calls have earned one (at most 5 % \
                 more requests), and {command} makes {n}: drop it or make {fewest} calls or \
                 more"
            )));
        }
    }
    if source.cores.is_some() && n == 1 {
        return Err(asyncdex::Error::invalid_input(format!(
            "--cores spreads a batch's calls over runtimes, and {command} makes one call, \
             on one runtime: drop it"
        )));
    }
    Ok(())
}

/// The embedded mirror's flags (`--latency`, `--jitter`, `--retry-after`) where no
/// embedded mirror runs (`--api`), or `--retry-after` with nothing throttled.
/// `ideal_latency`: `--latency` is also the ideal's (a bench sweep), so `--api` uses it.
fn mirror(given: &Given, source: &SourceArgs, ideal_latency: bool) -> asyncdex::Result<()> {
    if source.api.is_some() {
        let flags = [
            (!ideal_latency, "latency", "--latency"),
            (true, "jitter", "--jitter"),
            (true, "retry_after", "--retry-after"),
            // With a `--tail-rate` above 0, that is the flag named (`SourceArgs::target`).
            (source.faults.tail_rate <= 0.0, "tail_ms", "--tail-ms"),
        ];
        if let Some((.., flag)) = flags.iter().find(|(on, id, _)| *on && given.typed(id)) {
            return Err(elsewhere(flag));
        }
        return Ok(());
    }
    faults(given, &source.faults)
}

/// `blocking --latency` with `--api`: the latency is the embedded mirror's.
fn latency_with_api(given: &Given) -> asyncdex::Result<()> {
    match given.typed("latency") {
        true => Err(elsewhere("--latency")),
        false => Ok(()),
    }
}

/// The line for an embedded mirror's `flag` given with `--api`: as a fault flag's (see
/// `SourceArgs::target`).
fn elsewhere(flag: &str) -> asyncdex::Error {
    asyncdex::Error::invalid_input(format!(
        "{flag} shapes the embedded mirror, and --api names another server: drop one \
         (`asyncdex serve {flag} ...` is a mirror to point --api at)"
    ))
}

/// Refuses a fault's own setting when the fault never happens: `--retry-after` when no
/// answer is throttled (`--throttle-rate` 0), the wait a throttled answer's `Retry-After`
/// asks for; `--tail-ms` when no request is slow (`--tail-rate` 0), how much slower a
/// slow one is.
fn faults(given: &Given, faults: &FaultArgs) -> asyncdex::Result<()> {
    if given.typed("retry_after") && faults.throttle_rate <= 0.0 {
        return Err(asyncdex::Error::invalid_input(
            "--retry-after is the wait a throttled answer (429) asks for, and nothing is \
             throttled: give --throttle-rate P above 0 with it, or drop it",
        ));
    }
    if given.typed("tail_ms") && faults.tail_rate <= 0.0 {
        return Err(asyncdex::Error::invalid_input(
            "--tail-ms is how much longer a slow request waits, and with --tail-rate 0 none \
             is slow: give --tail-rate P above 0 with it, or drop both",
        ));
    }
    Ok(())
}

/// Records in `command` what only [`Given`] knows and the command checks later: for
/// `program`, the first fetching flag typed ([`SourceArgs::typed_fetch_flag`]), which a
/// program with no fetch step refuses once its file is read.
pub fn note(command: &mut Command, given: &Given) {
    if let Command::Program(a) = command {
        let source = <SourceArgs as clap::Args>::augment_args(clap::Command::new("source"));
        let concurrency = given.typed("concurrency").then(|| "-c".to_owned());
        a.source.typed_fetch_flag = concurrency.or_else(|| {
            source
                .get_arguments()
                .filter(|arg| given.typed(arg.get_id().as_str()))
                .find_map(|arg| arg.get_long().map(|long| format!("--{long}")))
        });
    }
}
