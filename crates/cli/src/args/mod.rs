//! The command line's flags: clap derive types, and their conversion into the library's
//! settings (`Target`, `HttpOptions`, `Policy`, `Faults`). Every number is parsed and
//! bounded by [`crate::bounds`], so what reaches the library is valid.
//!
//! The flags are grouped by what they decide, one module each, and flattened
//! (`#[command(flatten)]`) into the commands that take them:
//!
//! - [`source`]: where calls go and how (`--api`, `--timeout`, `--retries`, `--rate`,
//!   `--hedge`, `--http2`, `--cores`, ...): every command that fetches.
//! - [`faults`]: what the embedded mirror does wrong on purpose (`--fail-rate`,
//!   `--capacity`, `--tail-rate`, ...), inside [`SourceArgs`] and [`ServeArgs`].
//! - [`limit`]: how many requests are in flight (`-c N|auto`, `--max-concurrency`).
//! - [`fetch`]: what names, get and stream share (the limit, `--json`, the pictures, the
//!   disk cache), and the `cache` command.
//! - [`pictures`]: what a run draws (`--timeline`, `--trace`, `--histogram`).
//! - one module per command's own flags: [`names`] (names and stream: the random draw,
//!   the modes), [`get`], [`bench`], [`crawl`] (crawl and export), [`serve`], and
//!   [`lessons`] (blocking, cpu, program: the lesson's fixed experiments).
//!
//! Every type is re-exported here, so `crate::args::SourceArgs` names it wherever it
//! lives.

use clap::{Parser, Subcommand};

mod bench;
mod crawl;
mod faults;
mod fetch;
mod get;
mod lessons;
mod limit;
mod names;
mod pictures;
mod serve;
mod source;

pub use bench::BenchArgs;
pub use crawl::{CrawlArgs, ExportArgs};
pub use faults::FaultArgs;
pub use fetch::{default_cache_dir, CacheArgs, CacheCommand, FetchArgs};
pub use get::GetArgs;
pub use lessons::{BlockingArgs, CpuArgs, DemoModeArg, ProgramArgs};
pub use limit::LimitArgs;
pub use names::{parse_ids, ModeArg, NamesArgs, StreamArgs};
pub use pictures::PictureArgs;
pub use serve::ServeArgs;
pub use source::{api_target, SourceArgs};

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

impl Command {
    /// True for the commands that serve rather than fetch.
    pub fn is_server(&self) -> bool {
        matches!(self, Command::Serve(_))
    }
}

pub fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos % 100_000)
}
