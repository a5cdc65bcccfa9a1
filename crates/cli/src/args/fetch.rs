//! What every fetching command (names, get, stream) shares: the limit, `--json`, the
//! pictures, where calls go, and the disk cache (`--cache [DIR]`, `--no-cache`); and the
//! `cache` command, which shows or empties that cache.

use super::{LimitArgs, PictureArgs, SourceArgs};
use crate::commands;
use asyncdex::cache::{Cache, CacheMode};
use clap::{Args, Subcommand};

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

/// The platform's cache folder, or an error saying to name one with `--cache DIR`.
pub fn default_cache_dir() -> asyncdex::Result<std::path::PathBuf> {
    Cache::default_dir().map_err(|e| {
        asyncdex::Error::invalid_input(format!("{e} with --cache DIR (or --dir DIR for `cache`)"))
    })
}
