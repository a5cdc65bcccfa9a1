//! A cache folder as files: what each holds (`cache stats`), and deleting them (`cache clear`).

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use rusqlite::{Connection, OpenFlags};

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

/// What [`clear_dir`] did: files removed, their bytes, and the files it left.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cleared {
    /// Files removed (a cache file and its `-wal`/`-shm` count one each).
    pub files: usize,
    /// Their size.
    pub bytes: u64,
    /// Files named `*.db`, `*.db-wal` or `*.db-shm` that are not the cache's, left as
    /// they were.
    pub left: usize,
}

/// Deletes the cache's files in `dir`; returns (files, bytes) removed. Files that are not
/// the cache's are left and counted in a warning (see [`clear_dir`]).
pub fn clear(dir: &Path) -> Result<(usize, u64)> {
    let done = clear_dir(dir)?;
    if done.left > 0 {
        tracing::warn!(
            "left {} file{} in {} that {} not asyncdex cache files",
            done.left,
            if done.left == 1 { "" } else { "s" },
            dir.display(),
            if done.left == 1 { "is" } else { "are" }
        );
    }
    Ok((done.files, done.bytes))
}

/// Deletes the cache's own files in `dir`, and only those.
///
/// A `*.db` is the cache's when all of these hold (see [`is_cache_file`]): it is named
/// the way [`Cache::file_for`](super::Cache::file_for) names files, it is stamped as an
/// asyncdex store, and every resource in it expires (the cache keeps nothing forever; a
/// crawl store keeps everything). Its `-wal` and `-shm` go with it. Anything else
/// matching `*.db*` (a crawl store, another program's database, a text file called
/// `notes.db`, a log whose database is gone) is left and counted in [`Cleared::left`].
pub fn clear_dir(dir: &Path) -> Result<Cleared> {
    let mut done = Cleared::default();
    let found = cache_files(dir)?;
    let ours: Vec<&PathBuf> = found
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db") && is_cache_file(p))
        .collect();
    for path in &found {
        let name = path.as_os_str().to_string_lossy();
        let db = name
            .strip_suffix("-wal")
            .or_else(|| name.strip_suffix("-shm"))
            .unwrap_or(&name);
        if !ours.iter().any(|p| p.as_os_str().to_string_lossy() == db) {
            done.left += 1;
            continue;
        }
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        std::fs::remove_file(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot remove {}: {e}", path.display()),
            )
        })?;
        done.files += 1;
        done.bytes += size;
    }
    Ok(done)
}

/// Whether `path` is a file the cache made, read without changing it: named like
/// [`Cache::file_for`](super::Cache::file_for)'s files, stamped with
/// [`APPLICATION_ID`](crate::store::APPLICATION_ID), and holding no resource that never
/// expires.
pub fn is_cache_file(path: &Path) -> bool {
    let named = path.extension().is_some_and(|e| e == "db")
        && path.file_stem().is_some_and(|stem| {
            let stem = stem.to_string_lossy();
            !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !named || !std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0) {
        return false;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = Connection::open_with_flags(path, flags) else {
        return false;
    };
    let stamped = conn
        .query_row("PRAGMA application_id", [], |r| r.get::<_, i32>(0))
        .is_ok_and(|id| id == crate::store::APPLICATION_ID);
    // A crawl's rows never expire; the cache's always do.
    stamped
        && conn
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM resources WHERE expires_at IS NULL)",
                [],
                |r| r.get::<_, bool>(0),
            )
            .unwrap_or(false)
}

/// The files in `dir` named like the cache's (`*.db`, `*.db-wal`, `*.db-shm`), sorted.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Cache;
    use crate::store::Row;

    #[test]
    fn clear_removes_only_the_caches_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cache = Cache::open(d, "http://127.0.0.1:1/api/v2").unwrap();
        let ours = cache.path().unwrap().to_path_buf();
        drop(cache);
        assert!(ours.exists(), "the cache made its file");
        std::fs::write(d.join("notes.db"), "my notes\n").unwrap();
        let foreign = rusqlite::Connection::open(d.join("other.db")).unwrap();
        foreign
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(foreign);
        // A crawl store: stamped, named like a cache file, but its rows never expire.
        let crawl = Store::open(d.join("crawl.db")).unwrap();
        let body = br#"{"id":25,"name":"pikachu"}"#.to_vec();
        crawl
            .put(&[Row::new("pokemon", 25, Some("pikachu".into()), body)])
            .unwrap();
        drop(crawl);
        std::fs::write(d.join("orphan.db-wal"), "x").unwrap();

        let done = clear_dir(d).unwrap();

        assert!(!ours.exists(), "the cache's file is gone");
        for kept in ["notes.db", "other.db", "crawl.db", "orphan.db-wal"] {
            assert!(d.join(kept).exists(), "{kept} was left");
        }
        assert_eq!(
            std::fs::read_to_string(d.join("notes.db")).unwrap(),
            "my notes\n"
        );
        assert!(done.files >= 1, "{done:?}");
        assert!(done.left >= 4, "{done:?}");
        assert!(!is_cache_file(&d.join("crawl.db")));
    }
}
