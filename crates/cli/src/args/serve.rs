//! The flags of `serve`: where the PokeAPI-compatible server listens, what it serves (the
//! embedded API, a crawled store, or an exported folder), how slowly, and with which
//! faults.

use std::net::SocketAddr;

use clap::Args;

use super::FaultArgs;
use crate::bounds;

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
    #[arg(long, default_value_t = 0, value_parser = bounds::seed)]
    pub seed: u64,
    /// Serve a store written by `crawl` (a file or a postgres:// URL), or a folder in
    /// PokeAPI's static layout (data/api/v2/...) such as `export` writes, instead of the
    /// embedded PokeAPI.
    #[arg(long, value_name = "DB|URL|DIR")]
    pub from: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub faults: FaultArgs,
}
