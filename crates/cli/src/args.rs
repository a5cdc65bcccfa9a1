//! The command line's flags: clap derive types, and their conversion into the library's
//! settings (`Target`, `HttpOptions`, `Policy`, `Faults`). Every number is parsed and
//! bounded by [`crate::bounds`], so what reaches the library is valid.

use std::net::SocketAddr;
use std::time::Duration;

use crate::bounds;
use crate::commands;
use asyncdex::cache::{Cache, CacheMode};
use asyncdex::draw::Ids;
use asyncdex::http::HttpOptions;
use asyncdex::mirror::{Faults, MirrorConfig};
use asyncdex::names::{Mode, Plan};
use asyncdex::pokeapi::Ref;
use asyncdex::source::Target;
use asyncdex_engine::gather::{Hedge, Policy, RateLimit};
use asyncdex_engine::offload::Pool;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

/// Fetch Pokémon from PokeAPI concurrently, and see what concurrency buys.
///
/// Every command runs offline against an embedded PokeAPI mirror with simulated latency,
/// unless --api is given.
#[derive(Parser)]
#[command(name = "asyncdex", version, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Report on stderr, while it happens, any stall of the async runtime longer than
    /// 50 ms, naming the labelled future that was being polled.
    #[arg(long, global = true)]
    pub watchdog: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Fetch N random Pokémon names one by one, on threads and async; compare the timings.
    Names(NamesArgs),
    /// Fetch any resources (pikachu, move/pound, evolution-chain/10), concurrently, and
    /// show them.
    Get(GetArgs),
    /// Print N random names as they arrive (an async stream).
    Stream(StreamArgs),
    /// Serve the whole PokeAPI, embedded, as a PokeAPI-compatible HTTP server.
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
    /// Clone the API into a SQLite store, resumably; check every list's count at the end.
    Crawl(CrawlArgs),
    /// Write a crawled store as PokeAPI's static layout, for any static web server.
    Export(ExportArgs),
    /// The client's disk cache: what it holds, or empty it.
    Cache(CacheArgs),
}

#[derive(Args)]
pub struct CrawlArgs {
    /// The resources, comma-separated (default: every list the API's root names).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub resources: Option<Vec<String>>,
    /// The store: a file (created if missing; a rerun fetches only what it lacks), or a
    /// postgres://user:password@host:port/database URL, whose queue any number of crawls
    /// share (each fetches what nobody else has).
    #[arg(long, value_name = "FILE|URL", default_value = "asyncdex.db", value_parser = crate::output_file::store_path)]
    pub out: std::path::PathBuf,
    /// With a postgres:// --out: print where the shared crawl stands (done, leased,
    /// failed, left) and exit, fetching nothing.
    #[arg(long)]
    pub status: bool,
    /// With a postgres:// --out: seconds a lease lasts unless its worker renews it (how
    /// long a killed worker's batch waits to be taken over). [default: 30]
    #[arg(long, value_name = "SECONDS", value_parser = bounds::lease_secs)]
    pub lease: Option<u64>,
    #[command(flatten)]
    pub limit: LimitArgs,
    /// Also fetch resources that bodies link to, within the chosen resources.
    #[arg(long)]
    pub follow: bool,
    /// The manifest as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Seed of the retries' jitter and of the embedded mirror's delays and faults
    /// (--fail-rate…): same seed, same faults. [default: random, printed]
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Args)]
pub struct BenchArgs {
    /// The sizes N, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000,10000", value_parser = bounds::calls)]
    pub sizes: Vec<usize>,
    /// The modes, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sequential,threads,async",
        conflicts_with = "concurrencies"
    )]
    pub modes: Vec<ModeArg>,
    /// Skip a cell whose ideal time is longer than this.
    #[arg(long, value_name = "SECS", default_value = "20", value_parser = bounds::secs, conflicts_with = "concurrencies")]
    pub budget: Duration,
    /// Threads in the pool of the threads mode.
    #[arg(long, value_name = "N", default_value_t = Pool::default_size(), value_parser = bounds::threads)]
    pub threads: usize,
    /// Most requests in flight in the async mode.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 64, value_parser = bounds::bench_concurrency, conflicts_with = "concurrencies")]
    pub concurrency: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Draw ids from this range (`1-898`, as the lesson did) instead of from every
    /// Pokémon the API lists (one list request before the run).
    #[arg(long, value_name = "A-B", value_parser = parse_ids)]
    pub ids: Option<Ids>,
    /// One JSON object per cell.
    #[arg(long)]
    pub json: bool,
    /// Draw a log-log chart of wall time against N, one line per mode (with
    /// --concurrencies: throughput and p99 against the concurrency).
    #[arg(long, value_name = "FILE.svg", value_parser = crate::output_file::output_file)]
    pub plot: Option<std::path::PathBuf>,
    /// Instead of the sweep over N: the async mode at each of these concurrencies,
    /// comma-separated, `auto` for the adaptive limit (`1,4,16,50,100,1000,auto`), with
    /// one size N (`--sizes 2000`): where throughput stops growing and latency starts to.
    /// Each at most once; not with --modes, -c or --budget (it sets all three), nor with
    /// --threads (it has no pool) or --hedge (second copies would be load of their own on
    /// the server whose knee it measures).
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = bounds::knee_limit, conflicts_with_all = ["threads", "hedge"])]
    pub concurrencies: Option<Vec<asyncdex::knee::Limit>>,
    #[command(flatten)]
    pub source: SourceArgs,
}

impl Command {
    /// True for the commands that serve rather than fetch.
    pub fn is_server(&self) -> bool {
        matches!(self, Command::Serve(_))
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExampleProgram {
    SmartHome,
}

#[derive(Args)]
pub struct ProgramArgs {
    /// The program file (format: see programs/smart-home.toml).
    #[arg(required_unless_present = "example", conflicts_with = "example")]
    pub file: Option<std::path::PathBuf>,
    /// Run a built-in program instead of a file.
    #[arg(long, value_enum)]
    pub example: Option<ExampleProgram>,
    /// Most fetch steps in flight at once; more wait for a place (the closing line
    /// counts the wait in the critical path).
    #[arg(short = 'c', long, value_name = "N", default_value_t = asyncdex::program::MAX_FETCHES, value_parser = bounds::concurrency)]
    pub concurrency: usize,
    /// One JSON object with every step.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pictures: PictureArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DemoModeArg {
    Before,
    Wrong,
    Correct,
    All,
}

#[derive(Args)]
pub struct BlockingArgs {
    /// Which of the lesson's programs.
    #[arg(long, value_enum, default_value = "all")]
    pub mode: DemoModeArg,
    /// Blocking GETs per round (all at once in the correct program).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = bounds::threads)]
    pub calls: usize,
    /// Rounds of calls, one after another (more rounds, more heartbeat samples).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = bounds::rounds)]
    pub rounds: usize,
    /// Heartbeat period.
    #[arg(long, value_name = "MS", default_value_t = 10, value_parser = bounds::period_millis)]
    pub period: u64,
    /// The server's latency: how long each blocking GET waits.
    #[arg(long, value_name = "MS", default_value_t = 300, value_parser = bounds::millis)]
    pub latency: u64,
    /// A PokeAPI-compatible API root instead of the embedded mirror.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// One JSON object per line and program.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct CpuArgs {
    /// Real-size Pokémon bodies to parse (1 to 10000: the inline way holds the runtime for
    /// all of them, signals included).
    #[arg(long, value_name = "N", default_value_t = 400, value_parser = bounds::jobs)]
    pub jobs: usize,
    /// Threads in the offload pool (default: min(32, cores + 4)).
    #[arg(long, value_name = "N", default_value_t = Pool::default_size(), value_parser = bounds::threads)]
    pub threads: usize,
    /// One JSON object per line and way.
    #[arg(long)]
    pub json: bool,
}

/// Faults the mirror injects, each a probability (0–1), reproducible from the seed.
#[derive(Args)]
pub struct FaultArgs {
    /// Embedded mirror: probability of answering 500, 502 or 503.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub fail_rate: f64,
    /// Embedded mirror: probability of answering 429 with Retry-After and PokeAPI's throttle body.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub throttle_rate: f64,
    /// Embedded mirror: probability of accepting a request and never answering.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub stall_rate: f64,
    /// Embedded mirror: probability of promising a Content-Length and cutting the body in half.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub truncate_rate: f64,
    /// Embedded mirror: probability of dropping the connection without answering.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub reset_rate: f64,
    /// Embedded mirror: the Retry-After sent with a 429.
    #[arg(long, value_name = "SECS", default_value_t = 1, value_parser = bounds::whole_secs)]
    pub retry_after: u64,
    /// Embedded mirror: serve at most N requests at once; more wait in a queue (latency
    /// grows as Little's law says), and past the queue are answered 503 (default: no limit).
    #[arg(long, value_name = "N", value_parser = bounds::capacity)]
    pub capacity: Option<usize>,
    /// Embedded mirror, with --capacity: how many requests may wait for a place.
    #[arg(long, value_name = "M", default_value_t = 1000, value_parser = bounds::queue, requires = "capacity")]
    pub queue: usize,
    /// Embedded mirror: probability that a request is slow, waiting --tail-ms more (a slow
    /// tail, reproducible from the seed).
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability,
        requires = "tail_ms"
    )]
    pub tail_rate: f64,
    /// Embedded mirror: how much longer a slow request (--tail-rate) waits.
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = bounds::millis, requires = "tail_rate")]
    pub tail_ms: u64,
}

impl FaultArgs {
    /// The mirror's slow tail (none unless both flags are given).
    pub fn tail(&self) -> asyncdex::mirror::Tail {
        asyncdex::mirror::Tail {
            rate: self.tail_rate,
            extra: Duration::from_millis(self.tail_ms),
        }
    }

    /// The mirror's capacity, if one was asked for.
    pub fn capacity(&self) -> Option<asyncdex::mirror::Capacity> {
        self.capacity.map(|servers| asyncdex::mirror::Capacity {
            servers,
            queue: self.queue,
        })
    }

    /// The first of these flags given (a probability above 0, or `--capacity`), if any:
    /// what a check names when the embedded mirror they shape is not used.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.fail_rate > 0.0, "--fail-rate"),
            (self.throttle_rate > 0.0, "--throttle-rate"),
            (self.stall_rate > 0.0, "--stall-rate"),
            (self.truncate_rate > 0.0, "--truncate-rate"),
            (self.reset_rate > 0.0, "--reset-rate"),
            (self.capacity.is_some(), "--capacity"),
            (self.tail_rate > 0.0, "--tail-rate"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    pub fn faults(&self, seed: u64) -> asyncdex::Result<Faults> {
        if self.tail_rate > 0.0 && self.tail_ms == 0 {
            return Err(asyncdex::Error::invalid_input(
                "--tail-ms 0 makes a slow request no slower: give --tail-ms MS above 0, or drop --tail-rate",
            ));
        }
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
pub struct SourceArgs {
    /// A PokeAPI-compatible API root to use instead of the embedded mirror;
    /// 'pokeapi' means https://pokeapi.co/api/v2.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// The embedded mirror's latency per request.
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = bounds::millis)]
    pub latency: u64,
    /// The embedded mirror's jitter: each delay is latency ± jitter.
    #[arg(long, value_name = "MS", default_value_t = 20, value_parser = bounds::millis)]
    pub jitter: u64,
    /// Time limit of each attempt of a request.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = bounds::secs, allow_negative_numbers = true)]
    pub timeout: Duration,
    /// Retries of a failed request: timeouts, connection errors, 429 and 5xx only
    /// (exponential backoff with full jitter; a server's Retry-After is honoured).
    /// [default: 2; crawl: 5]
    #[arg(long, value_name = "N", value_parser = bounds::retries)]
    pub retries: Option<u32>,
    /// Most retries for the whole run (default: as many as there are requests, plus 10).
    #[arg(long, value_name = "N", value_parser = bounds::retry_budget)]
    pub retry_budget: Option<usize>,
    /// At most this many requests start per second to each host, shared by all its
    /// requests: N (per second, fractions allowed), or N/s, N/m, N/h, N/d (from 1/d to
    /// 1000000/s).
    #[arg(long, value_name = "N[/UNIT]", allow_negative_numbers = true, value_parser = bounds::rate)]
    pub rate: Option<f64>,
    /// With --rate: up to N requests may start at once after a quiet spell (a token
    /// bucket of N), then one per 1/rate. [default: 1, no bursts]
    #[arg(long, value_name = "N", requires = "rate", allow_negative_numbers = true, value_parser = bounds::burst)]
    pub burst: Option<u32>,
    /// Stop at the first failed request: the rest are cancelled (default: collect all).
    #[arg(long)]
    pub fail_fast: bool,
    /// Hedged requests: an attempt still waiting past this percentile of the run's
    /// latencies (after 20 have finished) gets a second copy; the first answer wins, the
    /// other is cancelled. At most 5 % more requests. E.g. p95 (above p0, at most p99.9).
    #[arg(long, value_name = "pN", value_parser = bounds::hedge)]
    pub hedge: Option<f64>,
    /// Async requests over HTTP/2: multiplexed on one connection (the embedded mirror and
    /// PokeAPI both speak it). Far less memory per request in flight.
    #[arg(long)]
    http2: bool,
    /// Spread async requests over N single-threaded runtimes, one thread each
    /// (thread-per-core, as oha does; default: one per core). 1: every request on one
    /// thread, the lesson's pure concurrency. [default: one per core]
    #[arg(long, value_name = "N", value_parser = bounds::cores)]
    pub cores: Option<usize>,
    /// Largest response body accepted, in MiB: a server that sends more (or an endless
    /// body) fails that call instead of filling memory.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = bounds::mebibytes)]
    pub max_body: u64,
    /// Longest wait a server's Retry-After may impose before a retry; a longer one is
    /// shortened to this (and the summary says so).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = bounds::whole_secs)]
    pub max_retry_after: u64,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// One runtime per core this process may use.
fn default_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl SourceArgs {
    /// The first flag given that only async requests use (`--hedge`, `--http2`,
    /// `--cores`), for a check that refuses it where no request is async.
    pub fn async_only(&self) -> Option<&'static str> {
        [
            (self.hedge.is_some(), "--hedge"),
            (self.http2, "--http2"),
            (self.cores.is_some(), "--cores"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The first flag given that only fetching uses (where to, how, how fast), if any:
    /// what a run that fetches nothing names when it refuses it.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.api.is_some(), "--api"),
            (self.retries.is_some(), "--retries"),
            (self.retry_budget.is_some(), "--retry-budget"),
            (self.rate.is_some(), "--rate"),
            (self.fail_fast, "--fail-fast"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
        .or_else(|| self.async_only())
        .or_else(|| self.faults.first_given())
    }

    /// The embedded mirror's settings, or `--api`'s server; refuses a fault flag with
    /// `--api` (the faults are the embedded mirror's, which another server replaces).
    pub fn target(&self, seed: u64) -> asyncdex::Result<Target> {
        if let (Some(_), Some(flag)) = (&self.api, self.faults.first_given()) {
            return Err(asyncdex::Error::invalid_input(format!(
                "{flag} shapes the embedded mirror, and --api names another server: drop one \
                 (`asyncdex serve {flag} ...` is a mirror to point --api at)"
            )));
        }
        let mirror = MirrorConfig {
            latency: Duration::from_millis(self.latency),
            jitter: Duration::from_millis(self.jitter),
            seed,
            faults: self.faults.faults(seed)?,
            capacity: self.faults.capacity(),
            tail: self.faults.tail(),
        };
        api_target(self.api.as_deref(), mirror)
    }

    /// Client settings; `concurrency` sizes the idle pool so that every connection of one
    /// wave is reused by the next instead of being closed and opened again.
    ///
    /// The connections must fit the process's descriptor limit: over HTTP/1.1 each request
    /// in flight holds a socket, and the embedded mirror, in the same process, holds the
    /// other end; a run that cannot open them fails before it starts, not call by call.
    /// `flag` names what asked for `concurrency` in the message if it is too many.
    pub fn http(&self, (flag, concurrency): (&str, usize)) -> asyncdex::Result<HttpOptions> {
        if !self.http2 {
            bounds::check_descriptors((flag, concurrency), self.api.is_none())?;
        }
        Ok(HttpOptions {
            timeout: Some(self.timeout),
            max_body: self.max_body * 1024 * 1024,
            max_idle_per_host: concurrency.max(1),
            http2: self.http2,
            // `--api`'s user:pass@, split off its root where the root is parsed.
            credentials: api_target(self.api.as_deref(), MirrorConfig::default())?.credentials(),
        })
    }

    /// The plan of a `names` run or a `bench` sweep: pool size, concurrency, client
    /// settings and policy from these flags.
    pub fn plan(
        &self,
        (flag, concurrency): (&str, usize),
        threads: usize,
        seed: u64,
        cancel: &CancellationToken,
    ) -> asyncdex::Result<Plan> {
        let mut plan = Plan::new(Vec::new());
        plan.threads = threads;
        plan.concurrency = concurrency;
        let (flag, most) = match threads > concurrency {
            true => ("--threads", threads),
            false => (flag, concurrency),
        };
        plan.http = self.http((flag, most))?;
        plan.policy = self.policy(concurrency, seed, cancel)?;
        Ok(plan)
    }

    pub fn policy(
        &self,
        concurrency: usize,
        seed: u64,
        cancel: &CancellationToken,
    ) -> asyncdex::Result<Policy> {
        let mut policy = Policy::new(concurrency);
        policy.timeout = Some(self.timeout);
        policy.retries = self.retries.unwrap_or(bounds::DEFAULT_RETRIES);
        policy.retry_budget = self.retry_budget;
        policy.max_retry_after = Duration::from_secs(self.max_retry_after);
        if let (Some(rate), Some(burst)) = (self.rate, self.burst) {
            bounds::check_burst(rate, burst)?;
        }
        policy.rate = self
            .rate
            .map(|rate| RateLimit::new(rate, self.burst.unwrap_or(1)))
            .transpose()?;
        policy.fail_fast = self.fail_fast;
        policy.hedge = self.hedge.map(Hedge::at).transpose()?;
        policy.cancel = cancel.clone();
        policy.seed = seed;
        policy.cores = self.cores.unwrap_or_else(default_cores);
        Ok(policy)
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Sequential,
    Threads,
    Async,
    All,
}

impl ModeArg {
    /// The modes this choice stands for.
    pub fn modes(self) -> Vec<Mode> {
        match self {
            ModeArg::All => Mode::ALL.to_vec(),
            ModeArg::Sequential => vec![Mode::Sequential],
            ModeArg::Threads => vec![Mode::Threads],
            ModeArg::Async => vec![Mode::Async],
        }
    }
}

/// `-c N|auto` and `--max-concurrency N`: how many requests a fetching command (names,
/// get, stream, crawl) keeps in flight.
#[derive(Args, Clone, Copy)]
pub struct LimitArgs {
    /// Most requests in flight (the async mode's concurrency), or `auto`: found as the run
    /// goes, starting at 4, rising while latency stays at its floor, falling when it grows
    /// or the server answers 429/503 or times out (at most --max-concurrency).
    #[arg(short = 'c', long, value_name = "N|auto", default_value = "64", value_parser = bounds::concurrency_or_auto)]
    pub concurrency: bounds::Concurrency,
    /// With -c auto: the most requests in flight the limit may reach. [default: 1000]
    #[arg(long, value_name = "N", value_parser = bounds::concurrency)]
    pub max_concurrency: Option<usize>,
}

impl LimitArgs {
    /// Most requests in flight: N, or the adaptive limit's maximum (what the connection
    /// pool and the descriptor check are sized for).
    pub fn most(&self) -> usize {
        self.named().1
    }

    /// [`LimitArgs::named`] for a run of `calls` calls: no more are ever in flight (the
    /// descriptor check and the connection pool need no more).
    pub fn named_for(&self, calls: usize) -> (&'static str, usize) {
        let (flag, most) = self.named();
        (flag, most.min(calls.max(1)))
    }

    /// [`LimitArgs::most`] and the flag that set it, for a message that names it.
    pub fn named(&self) -> (&'static str, usize) {
        match self.concurrency {
            bounds::Concurrency::Fixed(n) => ("-c", n),
            bounds::Concurrency::Auto => (
                "--max-concurrency",
                (self.max_concurrency).unwrap_or(bounds::DEFAULT_MAX_CONCURRENCY),
            ),
        }
    }

    /// Refuses `--max-concurrency` without `-c auto` (a fixed `-c N` is its own limit),
    /// and `-c auto` where no request is async (`async_mode` false: the sequential or
    /// threads mode only; `mode` names that choice in the message).
    pub fn check(&self, async_mode: bool, mode: &str) -> asyncdex::Result<()> {
        let auto = self.concurrency == bounds::Concurrency::Auto;
        if let (Some(n), false) = (self.max_concurrency, auto) {
            return Err(asyncdex::Error::invalid_input(format!(
                "--max-concurrency {n} is the ceiling of -c auto: give -c auto with it, or \
                 drop it (-c N is its own limit)"
            )));
        }
        if auto && !async_mode {
            return Err(asyncdex::Error::invalid_input(format!(
                "-c auto is for the async mode, and {mode} has none: give --mode async or all"
            )));
        }
        Ok(())
    }

    /// `policy` (built for [`LimitArgs::most`] in flight), adaptive if `-c auto`.
    pub fn apply(&self, mut policy: Policy) -> Policy {
        if self.concurrency == bounds::Concurrency::Auto {
            policy.adaptive = Some(asyncdex_engine::gather::Adaptive::default());
        }
        policy
    }
}

/// What every fetching command (names, get, stream) takes.
#[derive(Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub limit: LimitArgs,
    /// One JSON object per line instead of the report.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pictures: PictureArgs,
    /// Keep answers on disk and reuse them while fresh (Cache-Control: max-age). Default:
    /// on for an API across the network, off for the embedded mirror and local servers.
    /// Without DIR: the platform's cache folder (~/.cache/asyncdex).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = PLATFORM_CACHE, value_parser = cache_dir, conflicts_with = "no_cache")]
    pub cache: Option<std::path::PathBuf>,
    /// Never use the disk cache.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// What bare `--cache` stands for: a NUL, which no argument can hold (the command line
/// is C strings), so it is never a folder someone named.
const PLATFORM_CACHE: &str = "\0";

/// `--cache DIR`, or bare `--cache` as an empty path (the platform's folder); an empty
/// `--cache=` is refused.
fn cache_dir(s: &str) -> Result<std::path::PathBuf, String> {
    match s {
        PLATFORM_CACHE => Ok(std::path::PathBuf::new()),
        "" => Err("give a folder, or --cache alone for the platform's cache folder".into()),
        dir => Ok(dir.into()),
    }
}

impl FetchArgs {
    pub fn cache_mode(&self) -> asyncdex::Result<CacheMode> {
        let mode = match (&self.cache, self.no_cache) {
            (_, true) => CacheMode::Off,
            (Some(dir), _) if dir.as_os_str().is_empty() => CacheMode::In(default_cache_dir()?),
            (Some(dir), _) => CacheMode::In(dir.clone()),
            (None, _) => CacheMode::Auto,
        };
        if let CacheMode::In(dir) = &mode {
            crate::output_file::check_cache_folder("--cache", dir)?;
        }
        Ok(mode)
    }

    /// The pictures to draw, none of them over the run's cache file.
    pub fn pictures(&self) -> asyncdex::Result<commands::Pictures> {
        let kept = match (self.cache_mode()?).file_for(&self.source.target(0)?) {
            Some((dir, file)) => crate::output_file::cache_files(&file, &dir),
            None => Vec::new(),
        };
        self.pictures.pictures(&kept)
    }
}

#[derive(Subcommand)]
pub enum CacheCommand {
    /// What the cache holds, per API and resource.
    Stats,
    /// Delete every cached answer.
    Clear,
}

#[derive(Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
    /// The cache folder (default: the platform's, e.g. ~/.cache/asyncdex).
    #[arg(long, value_name = "DIR", global = true)]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Args)]
pub struct NamesArgs {
    /// How many random Pokémon (1 to 1000000).
    #[arg(default_value_t = 20, value_parser = bounds::calls)]
    pub n: usize,
    /// Which way to fetch: all three, compared, by default.
    #[arg(long, value_enum, default_value = "all")]
    pub mode: ModeArg,
    /// Threads in the pool of the threads mode (default: Python's min(32, cores + 4)).
    #[arg(long, value_name = "N", default_value_t = Pool::default_size(), value_parser = bounds::threads)]
    pub threads: usize,
    /// Seed of the random draw (and of the mirror's jitter): same seed, same Pokémon.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Draw ids from this range (`1-898`, as the lesson did) instead of from every
    /// Pokémon the API lists (one list request before the run).
    #[arg(long, value_name = "A-B", value_parser = parse_ids)]
    pub ids: Option<Ids>,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

#[derive(Args)]
pub struct PictureArgs {
    /// Write an SVG timeline (one bar per call, the modes stacked); open it in a browser.
    #[arg(long, value_name = "FILE.svg", value_parser = crate::output_file::output_file)]
    pub timeline: Option<std::path::PathBuf>,
    /// Write a Chrome trace (open it in ui.perfetto.dev or chrome://tracing).
    #[arg(long, value_name = "FILE.json", value_parser = crate::output_file::output_file)]
    pub trace: Option<std::path::PathBuf>,
    /// Print a histogram of the calls' latencies (log-scale bins) under the closing
    /// latency line (p50, p90, p99, max), on stderr.
    #[arg(long)]
    pub histogram: bool,
}

impl PictureArgs {
    /// The pictures to draw; refused if --timeline and --trace name one file, or if one
    /// would replace what is not a picture of its kind, or one of `kept` (see
    /// [`crate::output_file::check_replace`]).
    pub fn pictures(
        &self,
        kept: &[crate::output_file::Kept],
    ) -> asyncdex::Result<commands::Pictures> {
        crate::output_file::check_distinct(&[
            ("--timeline", self.timeline.as_deref()),
            ("--trace", self.trace.as_deref()),
        ])?;
        use crate::output_file::{check_replace, Output};
        for (output, path) in [
            (Output::Timeline, &self.timeline),
            (Output::Trace, &self.trace),
        ] {
            if let Some(path) = path {
                check_replace(output, path, kept)?;
            }
        }
        Ok(commands::Pictures {
            timeline: self.timeline.clone(),
            trace: self.trace.clone(),
            histogram: self.histogram,
        })
    }
}

#[derive(Args)]
pub struct GetArgs {
    /// What to fetch: a Pokémon by id or name (`25`, `pikachu`), any resource as
    /// ENDPOINT/ID-OR-NAME (`move/pound`, `evolution-chain/10`), or a Pokémon's
    /// encounters (`pokemon/25/encounters`). At most 100 at once (each whole body is kept
    /// to print it; `crawl` is for more).
    #[arg(required = true, num_args = 1..=100, value_name = "RESOURCE", allow_negative_numbers = true, value_parser = parse_ref)]
    pub keys: Vec<Ref>,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

#[derive(Args)]
pub struct StreamArgs {
    /// How many random Pokémon (1 to 1000000).
    #[arg(default_value_t = 20, value_parser = bounds::calls)]
    pub n: usize,
    /// Print in draw order instead of as they arrive.
    #[arg(long)]
    pub ordered: bool,
    /// Seed of the random draw.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Draw ids from this range (`1-898`, as the lesson did) instead of from every
    /// Pokémon the API lists (one list request before the run).
    #[arg(long, value_name = "A-B", value_parser = parse_ids)]
    pub ids: Option<Ids>,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Latency per request.
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = bounds::millis)]
    pub latency: u64,
    /// Jitter: each delay is latency ± jitter.
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = bounds::millis)]
    pub jitter: u64,
    /// Seed of the jitter sequence.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Serve a store written by `crawl` (a file or a postgres:// URL), or a folder in
    /// PokeAPI's static layout (data/api/v2/...) such as `export` writes, instead of the
    /// embedded PokeAPI.
    #[arg(long, value_name = "DB|URL|DIR")]
    pub from: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The store to export (written by `crawl`): a file or a postgres:// URL.
    #[arg(long, value_name = "FILE|URL", default_value = "asyncdex.db")]
    pub from: std::path::PathBuf,
    /// The folder to write PokeAPI's static layout into (data/api/v2/...).
    #[arg(long, value_name = "DIR", value_parser = crate::output_file::export_dir)]
    pub to: std::path::PathBuf,
}

/// Where `--api` points (none: the embedded mirror), its error naming the flag.
pub fn api_target(api: Option<&str>, mirror: MirrorConfig) -> asyncdex::Result<Target> {
    if let Some(bad) = api.and_then(malformed_escape) {
        return Err(asyncdex::Error::invalid_input(format!(
            "--api: the user name or password holds {bad:?}, which is not a %-escape (two hex digits): write % as %25"
        )));
    }
    Target::parse(api, mirror).map_err(|e| asyncdex::Error::invalid_input(format!("--api: {e}")))
}

/// The first `%` in a URL's `user:password@` not followed by two hex digits, with what
/// follows it: such a name cannot be decoded, and each call would fail at run time.
fn malformed_escape(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let bytes = userinfo.as_bytes();
    let at = (0..bytes.len()).find(|&i| {
        bytes[i] == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })?;
    Some(userinfo[at..].chars().take(3).collect())
}

/// The platform's cache folder, or an error saying to name one with `--cache DIR`.
pub fn default_cache_dir() -> asyncdex::Result<std::path::PathBuf> {
    Cache::default_dir().map_err(|e| {
        asyncdex::Error::invalid_input(format!("{e} with --cache DIR (or --dir DIR for `cache`)"))
    })
}

pub fn parse_ids(s: &str) -> Result<Ids, String> {
    Ids::parse_range(s).map_err(|e| e.to_string())
}

pub fn parse_ref(s: &str) -> Result<Ref, String> {
    s.parse::<Ref>().map_err(|e| e.to_string())
}

pub fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos % 100_000)
}
