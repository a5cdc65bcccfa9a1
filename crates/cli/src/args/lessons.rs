//! The flags of the lesson's fixed experiments: `blocking` (a heartbeat beside a
//! blocking call, the wrong way and the right way), `cpu` (parsing inline, offloaded,
//! with rayon) and `program` (steps in sequence and in parallel, against their critical
//! path).

use asyncdex_engine::offload::Pool;
use clap::{Args, ValueEnum};

use super::{PictureArgs, SourceArgs};
use crate::bounds;

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
