//! The `asyncdex` command line: flags in, one library call, an exit code out.
//! Every decision lives in the library (`asyncdex::commands`); this file only parses.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use asyncdex::commands::{
    self, BlockingJob, CpuJob, GetJob, Io, NamesJob, ProgramJob, ServeJob, StreamJob, Summary,
};
use asyncdex::gather::{Policy, RateLimit};
use asyncdex::http::HttpOptions;
use asyncdex::mirror::{Faults, MirrorConfig};
use asyncdex::names::{Mode, Plan};
use asyncdex::offload::Pool;
use asyncdex::pokeapi::Key;
use asyncdex::source::Target;
use asyncdex::sync_to_async;
use asyncdex::watchdog::{Watchdog, WatchdogConfig};
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

/// Fetch Pokémon from PokeAPI concurrently, and see what concurrency buys.
///
/// Every command runs offline against an embedded PokeAPI mirror with simulated latency,
/// unless --api is given.
#[derive(Parser)]
#[command(name = "asyncdex", version, propagate_version = true)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Report on stderr, while it happens, any stall of the async runtime longer than
    /// 50 ms, naming the labelled future that was being polled.
    #[arg(long, global = true)]
    watchdog: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch N random Pokémon names one by one, on threads and async; compare the timings.
    Names(NamesArgs),
    /// Fetch Pokémon by id or name, concurrently, and show them.
    Get(GetArgs),
    /// Print N random names as they arrive (an async stream).
    Stream(StreamArgs),
    /// Serve the embedded Pokédex as a PokeAPI-compatible HTTP server.
    Serve(ServeArgs),
    /// A 10 ms heartbeat beside a blocking GET: before, the wrong way (stall), the right way.
    Blocking(BlockingArgs),
    /// Concurrency vs parallelism: parse real-size bodies inline, offloaded, with rayon.
    Cpu(CpuArgs),
    /// Run a program of steps in sequence and in parallel (TOML); compare with its
    /// critical path.
    Program(ProgramArgs),
    /// Sweep N over sizes and modes: how cost grows with the work (a table and a chart).
    Bench(BenchArgs),
}

#[derive(Args)]
struct BenchArgs {
    /// The sizes N, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000,10000")]
    sizes: Vec<usize>,
    /// The modes, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sequential,threads,async"
    )]
    modes: Vec<ModeArg>,
    /// Skip a cell whose ideal time is longer than this.
    #[arg(long, value_name = "SECS", default_value = "20", value_parser = parse_secs)]
    budget: Duration,
    /// Threads in the pool of the threads mode.
    #[arg(long, default_value_t = Pool::default_size())]
    threads: usize,
    /// Most requests in flight in the async mode.
    #[arg(short = 'c', long, default_value_t = 64)]
    concurrency: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// One JSON object per cell.
    #[arg(long)]
    json: bool,
    /// Draw a log-log chart of wall time against N, one line per mode.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<std::path::PathBuf>,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExampleProgram {
    SmartHome,
}

#[derive(Args)]
struct ProgramArgs {
    /// The program file (format: see programs/smart-home.toml).
    #[arg(required_unless_present = "example", conflicts_with = "example")]
    file: Option<std::path::PathBuf>,
    /// Run a built-in program instead of a file.
    #[arg(long, value_enum)]
    example: Option<ExampleProgram>,
    /// One JSON object with every step.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pictures: PictureArgs,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum DemoModeArg {
    Before,
    Wrong,
    Correct,
    All,
}

#[derive(Args)]
struct BlockingArgs {
    /// Which of the lesson's programs.
    #[arg(long, value_enum, default_value = "all")]
    mode: DemoModeArg,
    /// Blocking GETs per round (all at once in the correct program).
    #[arg(long, default_value_t = 1)]
    calls: usize,
    /// Rounds of calls, one after another (more rounds, more heartbeat samples).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Heartbeat period.
    #[arg(long, value_name = "MS", default_value_t = 10)]
    period: u64,
    /// The server's latency: how long each blocking GET waits.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    latency: u64,
    /// A PokeAPI-compatible API root instead of the embedded mirror.
    #[arg(long, value_name = "URL")]
    api: Option<String>,
    /// One JSON object per line and program.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CpuArgs {
    /// Real-size Pokémon bodies to parse.
    #[arg(long, default_value_t = 400)]
    jobs: usize,
    /// Threads in the offload pool (default: min(32, cores + 4)).
    #[arg(long, default_value_t = Pool::default_size())]
    threads: usize,
    /// One JSON object per line and way.
    #[arg(long)]
    json: bool,
}

/// Faults the mirror injects, each a probability (0–1), reproducible from the seed.
#[derive(Args)]
struct FaultArgs {
    /// Answer 500, 502 or 503.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    fail_rate: f64,
    /// Answer 429 with Retry-After and PokeAPI's throttle body.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    throttle_rate: f64,
    /// Accept the request and never answer.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    stall_rate: f64,
    /// Promise a Content-Length and cut the body in half.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    truncate_rate: f64,
    /// Drop the connection without answering.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    reset_rate: f64,
    /// The Retry-After sent with a 429.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    retry_after: u64,
}

impl FaultArgs {
    fn faults(&self, seed: u64) -> asyncdex::Result<Faults> {
        let faults = Faults {
            fail: self.fail_rate,
            throttle: self.throttle_rate,
            stall: self.stall_rate,
            truncate: self.truncate_rate,
            reset: self.reset_rate,
            retry_after_secs: self.retry_after,
            seed,
        };
        faults.check()?;
        Ok(faults)
    }
}

#[derive(Args)]
struct SourceArgs {
    /// A PokeAPI-compatible API root to use instead of the embedded mirror;
    /// 'pokeapi' means https://pokeapi.co/api/v2.
    #[arg(long, value_name = "URL")]
    api: Option<String>,
    /// The embedded mirror's latency per request.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    latency: u64,
    /// The embedded mirror's jitter: each delay is latency ± jitter.
    #[arg(long, value_name = "MS", default_value_t = 20)]
    jitter: u64,
    /// Pad the embedded mirror's bodies to the size of real PokeAPI bodies (~250 KB).
    #[arg(long)]
    pad: bool,
    /// Time limit of each attempt of a request.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs, allow_negative_numbers = true)]
    timeout: Duration,
    /// Retries of a failed request: timeouts, connection errors, 429 and 5xx only
    /// (exponential backoff with full jitter; a server's Retry-After is honoured).
    #[arg(long, value_name = "N", default_value_t = 2)]
    retries: u32,
    /// Most retries for the whole run (default: as many as there are requests, plus 10).
    #[arg(long, value_name = "N")]
    retry_budget: Option<usize>,
    /// At most this many requests start per second (fractions allowed), shared by all.
    #[arg(long, value_name = "PER_SEC", allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Stop at the first failed request: the rest are cancelled (default: collect all).
    #[arg(long)]
    fail_fast: bool,
    /// Async requests over HTTP/2: multiplexed on one connection (the embedded mirror and
    /// PokeAPI both speak it). Far less memory per request in flight.
    #[arg(long)]
    http2: bool,
    #[command(flatten)]
    faults: FaultArgs,
}

impl SourceArgs {
    fn target(&self, seed: u64) -> asyncdex::Result<Target> {
        let mirror = MirrorConfig {
            latency: Duration::from_millis(self.latency),
            jitter: Duration::from_millis(self.jitter),
            seed,
            pad: self.pad,
            faults: self.faults.faults(seed)?,
        };
        Target::parse(self.api.as_deref(), mirror)
    }

    /// Client settings; `concurrency` sizes the idle pool so that every connection of one
    /// wave is reused by the next instead of being closed and opened again.
    fn http(&self, concurrency: usize) -> HttpOptions {
        HttpOptions {
            timeout: Some(self.timeout),
            max_idle_per_host: concurrency.max(1),
            http2: self.http2,
        }
    }

    fn policy(
        &self,
        concurrency: usize,
        seed: u64,
        cancel: &CancellationToken,
    ) -> asyncdex::Result<Policy> {
        let mut policy = Policy::new(concurrency);
        policy.timeout = Some(self.timeout);
        policy.retries = self.retries;
        policy.retry_budget = self.retry_budget;
        policy.rate = self.rate.map(RateLimit::per_second).transpose()?;
        policy.fail_fast = self.fail_fast;
        policy.cancel = cancel.clone();
        policy.seed = seed;
        Ok(policy)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Sequential,
    Threads,
    Async,
    All,
}

#[derive(Args)]
struct NamesArgs {
    /// How many random Pokémon.
    #[arg(default_value_t = 20)]
    n: usize,
    /// Which way to fetch: all three, compared, by default.
    #[arg(long, value_enum, default_value = "all")]
    mode: ModeArg,
    /// Threads in the pool of the threads mode (default: Python's min(32, cores + 4)).
    #[arg(long, default_value_t = Pool::default_size())]
    threads: usize,
    /// Most requests in flight in the async mode.
    #[arg(short = 'c', long, default_value_t = 64)]
    concurrency: usize,
    /// Seed of the random draw (and of the mirror's jitter): same seed, same Pokémon.
    #[arg(long)]
    seed: Option<u64>,
    /// One JSON object per line and mode.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pictures: PictureArgs,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Args)]
struct PictureArgs {
    /// Write an SVG timeline (one bar per call, the modes stacked); open it in a browser.
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<std::path::PathBuf>,
    /// Write a Chrome trace (open it in ui.perfetto.dev or chrome://tracing).
    #[arg(long, value_name = "FILE.json")]
    trace: Option<std::path::PathBuf>,
}

impl PictureArgs {
    fn pictures(&self) -> commands::Pictures {
        commands::Pictures {
            timeline: self.timeline.clone(),
            trace: self.trace.clone(),
        }
    }
}

#[derive(Args)]
struct GetArgs {
    /// Ids or names (`25`, `pikachu`).
    #[arg(required = true, value_name = "ID|NAME", allow_negative_numbers = true, value_parser = parse_key)]
    keys: Vec<Key>,
    /// Most requests in flight.
    #[arg(short = 'c', long, default_value_t = 64)]
    concurrency: usize,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pictures: PictureArgs,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Args)]
struct StreamArgs {
    /// How many random Pokémon.
    #[arg(default_value_t = 20)]
    n: usize,
    /// Print in draw order instead of as they arrive.
    #[arg(long)]
    ordered: bool,
    /// Most requests in flight.
    #[arg(short = 'c', long, default_value_t = 64)]
    concurrency: usize,
    /// Seed of the random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pictures: PictureArgs,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// Latency per request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency: u64,
    /// Jitter: each delay is latency ± jitter.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    jitter: u64,
    /// Seed of the jitter sequence.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Pad bodies to the size of real PokeAPI bodies (~250 KB).
    #[arg(long)]
    pad: bool,
    #[command(flatten)]
    faults: FaultArgs,
}

fn parse_key(s: &str) -> Result<Key, String> {
    s.parse::<Key>().map_err(|e| e.to_string())
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("the timeout must be positive, not {s}"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos % 100_000)
}

async fn run(command: Command, io: Io<'_>, cancel: CancellationToken) -> asyncdex::Result<Summary> {
    match command {
        Command::Names(a) => {
            let seed = a.seed.unwrap_or_else(random_seed);
            let modes = match a.mode {
                ModeArg::All => Mode::ALL.to_vec(),
                ModeArg::Sequential => vec![Mode::Sequential],
                ModeArg::Threads => vec![Mode::Threads],
                ModeArg::Async => vec![Mode::Async],
            };
            let mut plan = Plan::new(Vec::new());
            plan.threads = a.threads;
            plan.concurrency = a.concurrency;
            plan.http = a.source.http(a.concurrency.max(a.threads));
            plan.policy = a.source.policy(a.concurrency, seed, &cancel)?;
            let job = NamesJob {
                n: a.n,
                seed,
                modes,
                plan,
                target: a.source.target(seed)?,
                json: a.json,
                pictures: a.pictures.pictures(),
            };
            commands::names(job, io).await
        }
        Command::Get(a) => {
            let job = GetJob {
                keys: a.keys,
                policy: a.source.policy(a.concurrency, 0, &cancel)?,
                http: a.source.http(a.concurrency),
                target: a.source.target(0)?,
                json: a.json,
                pictures: a.pictures.pictures(),
            };
            commands::get(job, io).await
        }
        Command::Stream(a) => {
            let seed = a.seed.unwrap_or_else(random_seed);
            let job = StreamJob {
                n: a.n,
                seed,
                ordered: a.ordered,
                policy: a.source.policy(a.concurrency, seed, &cancel)?,
                http: a.source.http(a.concurrency),
                target: a.source.target(seed)?,
                json: a.json,
                pictures: a.pictures.pictures(),
            };
            commands::stream(job, io).await
        }
        Command::Serve(a) => {
            let config = MirrorConfig {
                latency: Duration::from_millis(a.latency),
                jitter: Duration::from_millis(a.jitter),
                seed: a.seed,
                pad: a.pad,
                faults: a.faults.faults(a.seed)?,
            };
            commands::serve(
                ServeJob {
                    bind: a.bind,
                    config,
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
            let job = BlockingJob {
                modes,
                demo: sync_to_async::Demo {
                    calls: a.calls,
                    rounds: a.rounds,
                    period: Duration::from_millis(a.period),
                },
                target: Target::parse(a.api.as_deref(), mirror)?,
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
            let job = ProgramJob {
                text,
                file,
                target: a.source.target(0)?,
                http: a.source.http(64),
                json: a.json,
                pictures: a.pictures.pictures(),
            };
            commands::program(job, io).await
        }
        Command::Bench(a) => {
            let modes = a
                .modes
                .iter()
                .flat_map(|m| match m {
                    ModeArg::All => Mode::ALL.to_vec(),
                    ModeArg::Sequential => vec![Mode::Sequential],
                    ModeArg::Threads => vec![Mode::Threads],
                    ModeArg::Async => vec![Mode::Async],
                })
                .collect();
            let mut plan = Plan::new(Vec::new());
            plan.threads = a.threads;
            plan.concurrency = a.concurrency;
            plan.http = a.source.http(a.concurrency.max(a.threads));
            plan.policy = a.source.policy(a.concurrency, a.seed, &cancel)?;
            let job = commands::BenchJob {
                sweep: asyncdex::bench::Sweep {
                    sizes: a.sizes,
                    modes,
                    latency: Duration::from_millis(a.source.latency),
                    budget: a.budget,
                    plan,
                    seed: a.seed,
                },
                target: a.source.target(a.seed)?,
                json: a.json,
                plot: a.plot,
            };
            commands::bench(job, io).await
        }
        Command::Cpu(a) => {
            let job = CpuJob {
                jobs: a.jobs,
                threads: a.threads,
                json: a.json,
            };
            commands::cpu(job, io).await
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if e.use_stderr()
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            // One line that names the problem; `--help` has the rest.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see --help)");
            return ExitCode::from(commands::EXIT_USAGE);
        }
        Err(e) => e.exit(),
    };
    let default_level = ["warn", "info", "debug"][usize::from(cli.verbose.min(2))];
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(commands::EXIT_FAILED);
        }
    };
    let _watchdog = cli.watchdog.then(|| {
        Watchdog::start(runtime.handle(), WatchdogConfig::default(), |event| {
            eprintln!("{event}")
        })
    });
    // Ctrl-C: the first cancels the run (what finished is still reported, exit 130);
    // a second one exits at once.
    let cancel = CancellationToken::new();
    runtime.spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(commands::EXIT_INTERRUPTED));
                }
            }
        }
    });
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let io = Io {
        out: &mut out,
        err: &mut std::io::stderr(),
    };
    match runtime.block_on(run(cli.command, io, cancel)) {
        Ok(summary) => ExitCode::from(summary.exit_code()),
        Err(e) => {
            use std::io::Write;
            // One line, whatever the message quotes.
            let line = e.to_string().replace(['\n', '\r'], " ");
            let _ = writeln!(err, "error: {line}");
            ExitCode::from(commands::exit_code_for(&e))
        }
    }
}
