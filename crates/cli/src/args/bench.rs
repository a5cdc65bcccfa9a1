//! The flags of `bench`: a sweep over sizes N and modes (how cost grows with the work),
//! or, with `--concurrencies`, the async mode at several limits for one N (where
//! throughput stops growing and latency starts to).

use std::time::Duration;

use asyncdex::draw::Ids;
use asyncdex_engine::offload::Pool;
use clap::Args;

use super::{parse_ids, ModeArg, SourceArgs};
use crate::bounds;

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
    /// Skip cells whose ideal time is over this many seconds. Not a time limit: a cell
    /// that runs longer than its ideal (a slow or stalling server) runs to its end, each
    /// call bounded by --timeout.
    #[arg(long, value_name = "SECS", default_value = "20", value_parser = bounds::secs, conflicts_with = "concurrencies")]
    pub budget: Duration,
    /// Threads in the pool of the threads mode.
    #[arg(long, value_name = "N", default_value_t = Pool::default_size(), value_parser = bounds::threads)]
    pub threads: usize,
    /// Most requests in flight in the async mode.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 64, value_parser = bounds::bench_concurrency, conflicts_with = "concurrencies")]
    pub concurrency: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 1, value_parser = bounds::seed)]
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
    #[arg(long, value_name = "FILE.svg", value_parser = crate::output_file::plot_file)]
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
