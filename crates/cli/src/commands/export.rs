//! `asyncdex export --from DB --to DIR`: a crawled store as PokeAPI's static layout.

use asyncdex_engine::offload;
use std::path::PathBuf;
use std::time::Instant;

use super::{io_error, Io, Summary};
use asyncdex::store::Store;
use asyncdex::{Error, Result};

/// A validated `export` job.
#[derive(Debug, Clone)]
pub struct ExportJob {
    /// The store file.
    pub from: PathBuf,
    /// The folder to write into.
    pub to: PathBuf,
}

/// Writes the store's resources and lists under `to` (each file atomically).
pub async fn export(job: ExportJob, io: Io<'_>) -> Result<Summary> {
    if !job.from.is_file() {
        return Err(Error::invalid_input(format!(
            "no store at {} (write one with `asyncdex crawl --out {}`)",
            job.from.display(),
            job.from.display()
        )));
    }
    let started = Instant::now();
    let (from, to) = (job.from.clone(), job.to.clone());
    // Reading the database and writing thousands of files both block: off the runtime.
    let report = offload::once("exporting", move || {
        let store = Store::open_existing(&from)?;
        asyncdex::export::export(&store, &to)
    })
    .await??;
    writeln!(
        io.err,
        "export: {} resources and {} lists ({:.1} MB) written to {} in {:.2} s; serve them with `asyncdex serve --from {}` or any static web server",
        report.resources,
        report.lists,
        report.bytes as f64 / 1e6,
        job.to.display(),
        started.elapsed().as_secs_f64(),
        job.to.display()
    )
    .map_err(io_error)?;
    Ok(Summary {
        ok: report.resources,
        ..Summary::default()
    })
}
