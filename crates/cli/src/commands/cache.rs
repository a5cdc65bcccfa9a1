//! `asyncdex cache stats` and `asyncdex cache clear`: the client's disk cache, seen and emptied.

use asyncdex_engine::offload;
use std::path::PathBuf;

use super::report::{self, escape_display};
use super::{io_error, Io, Summary};
use asyncdex::Result;

/// A validated `cache` job.
#[derive(Debug, Clone)]
pub struct CacheJob {
    /// The cache folder.
    pub dir: PathBuf,
    /// Empty it (else: show what it holds).
    pub clear: bool,
}

/// Shows what the cache holds, per API file and resource, or deletes it.
pub async fn cache(job: CacheJob, io: Io<'_>) -> Result<Summary> {
    // A file where the folder should be is bad input, as it is for `--cache`.
    crate::output_file::check_cache_folder("--dir", &job.dir)?;
    let dir = job.dir.clone();
    let clear = job.clear;
    // Reading SQLite files and deleting files both block: off the runtime.
    let work = offload::once("reading the cache", move || {
        if clear {
            asyncdex::cache::clear_dir(&dir).map(Err)
        } else {
            asyncdex::cache::stats(&dir).map(Ok)
        }
    });
    let done = work.await??;
    let dir = report::path(&job.dir);
    match done {
        Err(cleared) => {
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            writeln!(
                io.out,
                "cache: removed {} file{} ({:.1} MB) from {dir}",
                cleared.files,
                plural(cleared.files),
                cleared.bytes as f64 / 1e6
            )
            .and_then(|()| match cleared.left {
                0 => Ok(()),
                n => writeln!(
                    io.out,
                    "cache: left {n} file{} in {dir} that {} not asyncdex cache files",
                    plural(n),
                    if n == 1 { "is" } else { "are" }
                ),
            })
        }
        Ok(folder) if folder.files.is_empty() && folder.skipped.is_empty() => {
            writeln!(io.out, "cache: {dir} holds nothing")
        }
        Ok(folder) => (|| {
            writeln!(io.out, "cache: {dir}")?;
            for file in &folder.files {
                let name = file.path.file_name().unwrap_or_default().to_string_lossy();
                writeln!(
                    io.out,
                    "  {} ({:.1} MB)",
                    escape_display(&name),
                    file.bytes as f64 / 1e6
                )?;
                for e in &file.endpoints {
                    writeln!(
                        io.out,
                        "    {:<20}{:>7} resources{:>7} expired{:>10.1} KB",
                        report::escape_field(&e.endpoint),
                        e.rows,
                        e.expired,
                        e.bytes as f64 / 1e3
                    )?;
                }
            }
            // What was not read is said, file by file: never a silent gap, never a failure.
            for (path, why) in &folder.skipped {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                writeln!(
                    io.out,
                    "  {}: skipped, {}",
                    escape_display(&name),
                    escape_display(why)
                )?;
            }
            Ok(())
        })(),
    }
    .map_err(io_error)?;
    Ok(Summary::default())
}
