//! The flags of `crawl` (clone the API into a store, SQLite or PostgreSQL, resumably)
//! and of `export` (write a crawled store out as PokeAPI's static layout).

use clap::Args;

use super::{LimitArgs, SourceArgs};
use crate::bounds;

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
    #[arg(long, value_parser = bounds::seed)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub source: SourceArgs,
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
