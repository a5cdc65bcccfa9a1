//! The client's disk cache keeps its file in a store's format, under a stamp of its own
//! ([`CACHE_APPLICATION_ID`]): same tables, same code, but a cache is never taken for a
//! store (`serve`, `export` and `crawl` refuse it) nor a store for a cache (the cache
//! never writes into a crawl's file, not even through a link).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::schema::{self, Found, CACHE_APPLICATION_ID};
use super::{db_error, Store};
use crate::error::{Error, ErrorKind, Result};

impl Store {
    /// Opens (or creates) a disk cache file at `path`: a store's tables under the cache's
    /// own stamp ([`CACHE_APPLICATION_ID`]), stamped before anything else is written. A
    /// store, another program's database or anything that is not SQLite is refused and
    /// left as it was; a symbolic link is refused, never followed (SQLite's `NOFOLLOW`,
    /// so it holds even if a link appears after the check).
    pub(crate) fn open_cache(path: &Path) -> Result<Store> {
        let what = format!("cannot open the cache file {}", path.display());
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("{what}: it is a symbolic link (not followed)"),
                ))
            }
            _ => schema::check_regular(path, "cannot open the cache file")?,
        }
        let not_cache = |why: &str| {
            Error::new(
                ErrorKind::Database,
                format!("{} is not an asyncdex cache file: {why}", path.display()),
            )
        };
        let found = schema::examine(path).map_err(|why| match why {
            schema::Why::Not(why) => not_cache(&why),
            // Not read (permission denied, a lock, a disk I/O error): not "not a cache".
            why => why.error(path, "cannot read the cache file"),
        })?;
        if let Found::Store { .. } = found {
            return Err(not_cache("it is a store (a crawl's), not a cache"));
        }
        let flags = schema::WRITE_FLAGS | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(schema::sqlite_name(path), flags)
            .map_err(db_error(&what))?;
        if found == Found::Empty {
            conn.pragma_update(None, "application_id", CACHE_APPLICATION_ID)
                .map_err(db_error(&what))?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_error(&what))?;
        Store::init(conn, Some(path.to_owned()), &what)
    }

    /// Runs `f` on the store's connection: for the cache's own table and its eviction,
    /// which are the cache's business, not a store's.
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.with(f)
    }
}
