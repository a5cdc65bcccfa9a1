//! `asyncdex export --from DB --to DIR`: a crawled store as PokeAPI's static layout.

use asyncdex_engine::offload;
use std::path::PathBuf;
use std::time::Instant;

use super::{io_error, Io, Summary};
use asyncdex::export::export_until;
use asyncdex::pg::rows::BlockingPg;
use asyncdex::store::Store;
use asyncdex::{Error, ErrorKind, Result};

/// A validated `export` job.
#[derive(Debug, Clone)]
pub struct ExportJob {
    /// The store file.
    pub from: PathBuf,
    /// The folder to write into.
    pub to: PathBuf,
}

/// Writes the store's resources and lists under `to`, all or nothing: a damaged body
/// is one error naming it, and `to` is left as it was (see [`asyncdex::export`]). So does
/// a signal: one `interrupted:` line, and the summary marked interrupted (exit 130/143).
pub async fn export(job: ExportJob, io: Io<'_>) -> Result<Summary> {
    let url = super::postgres::url_of(&job.from).map(str::to_owned);
    let postgres = match &url {
        Some(url) => Some(asyncdex::pg::PgStore::open_existing(url).await?),
        None => None,
    };
    match std::fs::metadata(&job.from) {
        _ if postgres.is_some() => {}
        Ok(meta) if meta.is_file() => {}
        Ok(meta) => {
            let what = asyncdex::files::describe(&meta);
            let from = job.from.display();
            return Err(Error::invalid_input(format!(
                "cannot export {from}: it is {what}, not a store file"
            )));
        }
        Err(_) => {
            return Err(Error::invalid_input(format!(
                "no store at {} (write one with `asyncdex crawl --out {}`)",
                job.from.display(),
                job.from.display()
            )))
        }
    }
    let started = Instant::now();
    let (from, to) = (job.from.clone(), job.to.clone());
    // Reading the database and writing thousands of files both block: off the runtime.
    let runtime = tokio::runtime::Handle::current();
    // The first SIGINT/SIGTERM stops the export between two files: nothing is put in
    // place, and the target is as it was. The library is only asked "stop now?".
    let cancel = io.cancel.clone();
    let exported = offload::once("exporting", move || {
        let stop = || cancel.is_cancelled();
        match postgres {
            Some(store) => export_until(&BlockingPg::new(store, runtime), &to, &stop),
            None => export_until(&Store::open_existing(&from)?, &to, &stop),
        }
    })
    .await?;
    let report = match exported {
        Err(e) if e.kind() == ErrorKind::Cancelled => {
            let line = format!("interrupted: {e}");
            writeln!(io.err, "{}", super::report::escape_display(&line)).map_err(io_error)?;
            return Ok(Summary {
                interrupted: true,
                ..Summary::default()
            });
        }
        exported => exported?,
    };
    if let Some(line) = stale_line(&report.stale_removed, &job.to) {
        writeln!(io.err, "{line}").map_err(io_error)?;
    }
    if report.earlier_removed > 0 {
        let n = report.earlier_removed;
        let s = if n == 1 { "" } else { "s" };
        writeln!(
            io.err,
            "export: removed {n} file{s} the export before wrote that this store no longer has"
        )
        .map_err(io_error)?;
    }
    writeln!(
        io.err,
        "export: {} resources and {} lists ({:.1} MB) written to {} in {:.2} s; serve them with `asyncdex serve --from {}` or any static web server",
        report.resources,
        report.lists,
        report.bytes as f64 / 1e6,
        super::report::path(&job.to),
        started.elapsed().as_secs_f64(),
        super::report::path(&job.to)
    )
    .map_err(io_error)?;
    Ok(Summary {
        ok: report.resources,
        ..Summary::default()
    })
}

/// The one line saying which temporary folders of killed exports were removed, if any:
/// the first three named, the rest counted.
fn stale_line(removed: &[PathBuf], to: &std::path::Path) -> Option<String> {
    let (first, rest) = removed.split_at(removed.len().min(3));
    let mut named: Vec<String> = first.iter().map(|p| super::report::path(p)).collect();
    if !rest.is_empty() {
        named.push(format!("and {} more", rest.len()));
    }
    let s = if removed.len() == 1 { "" } else { "s" };
    (!removed.is_empty()).then(|| {
        format!(
            "export: removed {} temporary folder{s} that killed exports to {} had left: {}",
            removed.len(),
            super::report::path(to),
            named.join(", ")
        )
    })
}
