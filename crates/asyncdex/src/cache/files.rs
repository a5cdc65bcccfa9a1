//! A cache folder as files: what each holds (`cache stats`), and deleting them (`cache clear`).

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::store::Store;

/// What a cache folder holds, file by file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileStats {
    /// The file.
    pub path: PathBuf,
    /// Its size on disk, with its write-ahead log.
    pub bytes: u64,
    /// What each endpoint holds.
    pub endpoints: Vec<crate::store::EndpointStats>,
}

/// Every cache file in `dir`, with what it holds (an empty list if the folder is missing).
pub fn stats(dir: &Path) -> Result<Vec<FileStats>> {
    let mut files = Vec::new();
    for path in cache_files(dir)? {
        if path.extension().is_some_and(|e| e == "db") {
            let store = Store::open_existing(&path)?;
            files.push(FileStats {
                bytes: on_disk(&path),
                endpoints: store.stats()?,
                path,
            });
        }
    }
    Ok(files)
}

/// Deletes every cache file in `dir`; returns (files, bytes) removed.
pub fn clear(dir: &Path) -> Result<(usize, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for path in cache_files(dir)? {
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        std::fs::remove_file(&path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot remove {}: {e}", path.display()),
            )
        })?;
        files += 1;
        bytes += size;
    }
    Ok((files, bytes))
}

/// The cache's own files in `dir` (`*.db`, `*.db-wal`, `*.db-shm`), sorted.
fn cache_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Io,
                format!("cannot read the cache folder {}: {e}", dir.display()),
            ))
        }
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into());
            p.is_file()
                && [".db", ".db-wal", ".db-shm"]
                    .iter()
                    .any(|s| name.ends_with(s))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn on_disk(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(PathBuf::from(p)).map_or(0, |m| m.len())
        })
        .sum()
}
