//! The flags of `names` and `stream`: how many random Pokémon, drawn from which ids
//! with which seed; and for `names`, which way to fetch them (sequential, threads, async,
//! or all three compared), a choice `bench` shares.

use asyncdex::draw::Ids;
use asyncdex::names::Mode;
use asyncdex_engine::offload::Pool;
use clap::{Args, ValueEnum};

use super::FetchArgs;
use crate::bounds;

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
    #[arg(long, value_parser = bounds::seed)]
    pub seed: Option<u64>,
    /// Draw ids from this range (`1-898`, as the lesson did) instead of from every
    /// Pokémon the API lists (one list request before the run).
    #[arg(long, value_name = "A-B", value_parser = parse_ids)]
    pub ids: Option<Ids>,
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
    #[arg(long, value_parser = bounds::seed)]
    pub seed: Option<u64>,
    /// Draw ids from this range (`1-898`, as the lesson did) instead of from every
    /// Pokémon the API lists (one list request before the run).
    #[arg(long, value_name = "A-B", value_parser = parse_ids)]
    pub ids: Option<Ids>,
    #[command(flatten)]
    pub fetch: FetchArgs,
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

pub fn parse_ids(s: &str) -> Result<Ids, String> {
    Ids::parse_range(s).map_err(|e| e.to_string())
}
