//! Each subcommand's flags turned into its library job, and the job run.

use std::time::Duration;

use crate::commands::{
    self, BlockingJob, CpuJob, GetJob, Io, NamesJob, ProgramJob, ServeJob, StreamJob, Summary,
};
use asyncdex::mirror::MirrorConfig;
use asyncdex::names::Mode;
use asyncdex::sync_to_async;
use tokio_util::sync::CancellationToken;

use crate::args::*;

/// Runs the command. A file it could not write at the end (a picture) is the run's error,
/// said after its report (see [`crate::timeline::unwritten`]).
pub async fn run(
    command: Command,
    io: Io<'_>,
    cancel: CancellationToken,
) -> asyncdex::Result<Summary> {
    if let Command::Bench(BenchArgs {
        plot: Some(plot), ..
    }) = &command
    {
        crate::output_file::check_replace(crate::output_file::Output::Plot, plot, &[])?;
    }
    let summary = run_command(command, io, cancel).await?;
    crate::timeline::unwritten().map_or(Ok(summary), Err)
}

async fn run_command(
    command: Command,
    io: Io<'_>,
    cancel: CancellationToken,
) -> asyncdex::Result<Summary> {
    match command {
        Command::Names(a) => {
            let seed = a.seed.unwrap_or_else(random_seed);
            let modes = a.mode.modes();
            let name = clap::ValueEnum::to_possible_value(&a.mode);
            let mode = format!("--mode {}", name.as_ref().map_or("", |v| v.get_name()));
            let async_mode = modes.contains(&asyncdex::names::Mode::Async);
            a.fetch.limit.check(async_mode, &mode)?;
            crate::bounds::check_rate_span(a.fetch.source.rate, a.fetch.source.burst, a.n)?;
            check_async_only(&a.fetch.source, async_mode, &mode, "--mode async or all")?;
            // Sized (descriptors, idle pool) for what the modes open and the calls there
            // are: `names 3` needs 3 connections, not -c's 64, and `--mode threads` its
            // pool's; the limit itself stays -c.
            let mut plan = (a.fetch.source).plan(
                a.fetch.limit.named(),
                (&modes, a.threads, a.n),
                seed,
                &cancel,
            )?;
            plan.policy = a.fetch.limit.apply(plan.policy);
            let job = NamesJob {
                n: a.n,
                seed,
                ids: a.ids.unwrap_or_default(),
                modes,
                plan,
                target: a.fetch.source.target(seed)?,
                json: a.fetch.json,
                pictures: a.fetch.pictures()?,
                cache: a.fetch.cache_mode()?,
            };
            commands::names(job, io).await
        }
        Command::Get(a) => {
            a.fetch.limit.check(true, "get")?;
            let calls = a.keys.len();
            crate::bounds::check_rate_span(a.fetch.source.rate, a.fetch.source.burst, calls)?;
            let job = GetJob {
                keys: a.keys,
                policy: (a.fetch.limit).apply(a.fetch.source.policy(
                    a.fetch.limit.most(),
                    0,
                    &cancel,
                )?),
                http: (a.fetch.source).http(&a.fetch.source.connections(
                    &[Mode::Async],
                    0,
                    a.fetch.limit.named(),
                    calls,
                ))?,
                target: a.fetch.source.target(0)?,
                json: a.fetch.json,
                pictures: a.fetch.pictures()?,
                cache: a.fetch.cache_mode()?,
            };
            commands::get(job, io).await
        }
        Command::Stream(a) => {
            a.fetch.limit.check(true, "stream")?;
            crate::bounds::check_rate_span(a.fetch.source.rate, a.fetch.source.burst, a.n)?;
            let seed = a.seed.unwrap_or_else(random_seed);
            let job = StreamJob {
                n: a.n,
                seed,
                ids: a.ids.unwrap_or_default(),
                ordered: a.ordered,
                policy: (a.fetch.limit).apply(a.fetch.source.policy(
                    a.fetch.limit.most(),
                    seed,
                    &cancel,
                )?),
                http: (a.fetch.source).http(&a.fetch.source.connections(
                    &[Mode::Async],
                    0,
                    a.fetch.limit.named(),
                    a.n,
                ))?,
                target: a.fetch.source.target(seed)?,
                json: a.fetch.json,
                pictures: a.fetch.pictures()?,
                cache: a.fetch.cache_mode()?,
            };
            commands::stream(job, io).await
        }
        Command::Serve(a) => {
            let config = MirrorConfig {
                latency: Duration::from_millis(a.latency),
                jitter: Duration::from_millis(a.jitter),
                seed: a.seed,
                faults: a.faults.faults(a.seed)?,
                capacity: a.faults.capacity(),
                tail: a.faults.tail(),
            };
            commands::serve(
                ServeJob {
                    bind: a.bind,
                    config,
                    from: a.from,
                },
                io,
            )
            .await
        }
        Command::Blocking(a) => {
            let modes = match a.mode {
                DemoModeArg::All => sync_to_async::Mode::ALL.to_vec(),
                DemoModeArg::Before => vec![sync_to_async::Mode::Before],
                DemoModeArg::Wrong => vec![sync_to_async::Mode::Wrong],
                DemoModeArg::Correct => vec![sync_to_async::Mode::Correct],
            };
            let mirror = MirrorConfig {
                latency: Duration::from_millis(a.latency),
                ..MirrorConfig::default()
            };
            crate::address_space::check_threads("--calls", a.calls)?;
            let job = BlockingJob {
                modes,
                demo: sync_to_async::Demo {
                    calls: a.calls,
                    rounds: a.rounds,
                    period: Duration::from_millis(a.period),
                },
                target: api_target(a.api.as_deref(), mirror)?,
                json: a.json,
            };
            commands::blocking(job, io).await
        }
        Command::Program(a) => {
            let (text, file) = match (&a.file, a.example) {
                (Some(path), _) => (commands::read_program(path)?, path.display().to_string()),
                (None, _) => (
                    asyncdex::program::SMART_HOME.to_owned(),
                    "smart-home.toml".into(),
                ),
            };
            check_program_flags(&a)?;
            let program = asyncdex::program::Program::parse(&text, &file)?;
            // Connections for the fetches that can be in flight: `-c 100000` over one
            // fetch step opens one, a program with no fetch steps none.
            let connections = a.source.connections(
                &[Mode::Async],
                0,
                ("-c", a.concurrency),
                program.fetches_at_once(),
            );
            let job = ProgramJob {
                program,
                file,
                target: a.source.target(0)?,
                http: a.source.http(&connections)?,
                policy: a.source.policy(a.concurrency, 0, &cancel)?,
                fetch_flag: a.source.first_given(),
                concurrency: a.concurrency,
                json: a.json,
                pictures: a.pictures.pictures(&[])?,
            };
            commands::program(job, io).await
        }
        Command::Bench(a) if a.concurrencies.is_some() => {
            commands::knee(knee_job(a, &cancel)?, io).await
        }
        Command::Bench(a) => {
            let modes: Vec<_> = a.modes.iter().flat_map(|m| m.modes()).collect();
            let async_mode = modes.contains(&asyncdex::names::Mode::Async);
            check_async_only(
                &a.source,
                async_mode,
                "--modes without async",
                "async in --modes",
            )?;
            let calls = a.sizes.iter().copied().max().unwrap_or(1);
            let plan = (a.source).plan(
                ("-c", a.concurrency),
                (&modes, a.threads, calls),
                a.seed,
                &cancel,
            )?;
            let job = commands::BenchJob {
                sweep: asyncdex::sweep::Sweep {
                    sizes: a.sizes,
                    modes,
                    latency: Duration::from_millis(a.source.latency),
                    budget: a.budget,
                    plan,
                    ids: a.ids.unwrap_or_default(),
                    seed: a.seed,
                },
                target: a.source.target(a.seed)?,
                json: a.json,
                plot: a.plot,
            };
            commands::bench(job, io).await
        }
        Command::Crawl(a) => {
            a.limit.check(true, "crawl")?;
            let mut crawl = asyncdex::crawl::Crawl::new(a.resources, a.limit.most());
            crawl.follow = a.follow;
            let seed = a.seed.unwrap_or_else(random_seed);
            crawl.policy = a
                .limit
                .apply(a.source.policy(a.limit.most(), seed, &cancel)?);
            crawl.policy.retries = a.source.retries.unwrap_or(asyncdex::crawl::DEFAULT_RETRIES);
            let job = commands::CrawlJob {
                crawl,
                out: a.out,
                http: a.source.http(&a.source.connections(
                    &[Mode::Async],
                    0,
                    a.limit.named(),
                    usize::MAX,
                ))?,
                target: a.source.target(seed)?,
                json: a.json,
                status: a.status,
                sharing: asyncdex::crawl::shared::Sharing {
                    lease: a
                        .lease
                        .map_or(asyncdex::pg::queue::DEFAULT_LEASE, Duration::from_secs),
                    rate: a.source.rate,
                },
            };
            commands::crawl(job, io).await
        }
        Command::Cache(a) => {
            let dir = match a.dir {
                Some(dir) => dir,
                None => default_cache_dir()?,
            };
            let clear = matches!(a.command, CacheCommand::Clear);
            commands::cache(commands::CacheJob { dir, clear }, io).await
        }
        Command::Export(a) => {
            let job = commands::ExportJob {
                from: a.from,
                to: a.to,
            };
            commands::export(job, io).await
        }
        Command::Cpu(a) => {
            crate::address_space::check_threads("--threads", a.threads)?;
            let job = CpuJob {
                jobs: a.jobs,
                threads: a.threads,
                json: a.json,
            };
            commands::cpu(job, io).await
        }
    }
}

/// Refuses `--hedge`, `--http2` and `--cores` where no request is async: a blocking call
/// (the sequential and threads modes) cannot be cancelled, so there is no second copy to
/// race; it speaks HTTP/1.1; it waits on its pool's threads, not on runtimes.
/// `mode` names the choice refused, `fix` the one to give instead.
fn check_async_only(
    source: &SourceArgs,
    async_mode: bool,
    mode: &str,
    fix: &str,
) -> asyncdex::Result<()> {
    let why = |flag| match flag {
        "--hedge" => " (a blocking call cannot be cancelled)",
        "--http2" => " (a blocking call speaks HTTP/1.1)",
        _ => " (blocking calls wait on the pool's threads)",
    };
    match source.async_only() {
        Some(flag) if !async_mode => Err(asyncdex::Error::invalid_input(format!(
            "{flag} is for the async mode, and {mode} has none{}: give {fix}",
            why(flag)
        ))),
        _ => Ok(()),
    }
}

/// Refuses what a program's fetches cannot use: each fetch step is a batch of one (see
/// `asyncdex::program`'s `fetch` module), so a batch's hedging, runtimes and retry budget
/// have nothing to act on; and program prints each step's start and end, not a latency
/// histogram.
fn check_program_flags(a: &ProgramArgs) -> asyncdex::Result<()> {
    let refused = [
        (
            a.source.hedge.is_some(),
            "--hedge races a batch's slow calls against the batch's own latencies, and each \
             fetch step of a program is a call of its own: drop it",
        ),
        (
            a.source.cores.is_some(),
            "--cores spreads a batch's calls over runtimes, and a program runs its steps on \
             one: drop it",
        ),
        (
            a.source.retry_budget.is_some(),
            "--retry-budget is a batch's, and each fetch step of a program retries on its own \
             (--retries N each): drop it",
        ),
        (
            a.pictures.histogram,
            "--histogram is the calls' latency histogram of names, get and stream; program \
             prints each step's start and end instead: drop it",
        ),
    ];
    match refused.into_iter().find(|(given, _)| *given) {
        Some((_, why)) => Err(asyncdex::Error::invalid_input(why)),
        None => Ok(()),
    }
}

/// `bench --concurrencies`: one size, each concurrency in turn.
fn knee_job(a: BenchArgs, cancel: &CancellationToken) -> asyncdex::Result<commands::KneeJob> {
    let limits = a.concurrencies.unwrap_or_default();
    let [n] = a.sizes[..] else {
        return Err(asyncdex::Error::invalid_input(
            "--concurrencies measures one size: give it as --sizes N (such as --sizes 2000)",
        ));
    };
    // A point measured twice is a second run of the same curve, not a second point.
    crate::bounds::distinct(
        "--concurrencies",
        "concurrency",
        &limits,
        asyncdex::knee::MAX_POINTS,
    )?;
    let max = limits.iter().map(|l| match *l {
        asyncdex::knee::Limit::Fixed(c) => c,
        asyncdex::knee::Limit::Auto { max } => max,
    });
    let plan = a.source.plan(
        ("--concurrencies", max.max().unwrap_or(1)),
        (&[Mode::Async], a.threads, n),
        a.seed,
        cancel,
    )?;
    Ok(commands::KneeJob {
        sweep: asyncdex::knee::KneeSweep {
            n,
            limits,
            plan,
            ids: a.ids.unwrap_or_default(),
            seed: a.seed,
        },
        target: a.source.target(a.seed)?,
        json: a.json,
        plot: a.plot,
    })
}
