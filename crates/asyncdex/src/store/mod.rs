//! A copy of an API in one SQLite file: what `crawl` writes, `serve --from` reads, `export`
//! turns into static files, and the client's disk cache keeps.
//!
//! [`Store`] is plain blocking code over rusqlite: every method waits for the disk. That is
//! fine on a thread and wrong on the async runtime, where one slow `fsync` would stall every
//! call in flight. [`AsyncStore`] is the lesson's answer applied to a database: the *same*
//! blocking store, unchanged, with each call run on an [`offload`](asyncdex_engine::offload) pool and
//! awaited: `asyncio.to_thread(db.execute, ...)`, in Rust.
//!
//! The file is in WAL mode (readers never wait for the writer, a crash never leaves half a
//! transaction) and every batch of rows is written in one transaction, so a crawl killed at
//! any instant leaves only whole rows behind. Bodies are kept with their SHA-256, so a row
//! that is not what was written can be told apart and fetched again.
//!
//! ```
//! use asyncdex::store::{Row, Store};
//!
//! let store = Store::open_in_memory()?;
//! store.put(&[Row::new("pokemon", 25, Some("pikachu".into()), br#"{"id":25,"name":"pikachu"}"#.to_vec())])?;
//! let hit = store.get("pokemon", "pikachu")?.expect("stored");
//! assert_eq!(hit.id, 25);
//! assert!(store.get("pokemon", "25")?.is_some()); // one row, found by id or by name
//! # Ok::<(), asyncdex::Error>(())
//! ```

mod cache_file;
mod checked;
#[cfg(feature = "postgres")]
pub(crate) use checked::{named, verify};
#[cfg(feature = "postgres")]
pub(crate) use listed::{listed_as, BodyName};
mod links;
mod listed;
mod offloaded;
pub(crate) mod origin;
mod reading;
pub(crate) use reading::beside;
mod rows;
mod schema;
mod sqlite_errors;
mod untouched;
mod waiting;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) use checked::filed;
pub use links::{
    is_listed, linked_ids, rebase, rebased_len, relativize, API_PATH, ENCOUNTERS, META,
};
pub use offloaded::AsyncStore;
pub use rows::{now_ms, sha256_hex, EndpointStats, Row, Stored};
use schema::{Found, SCHEMA};
pub use schema::{APPLICATION_ID, CACHE_APPLICATION_ID};
pub use sqlite_errors::{is_locked, is_unwritable};
pub(crate) use untouched::connect_untouched;
pub use waiting::{stop_waiting, AFTER_STOP};

use crate::error::{Error, ErrorKind, Result};

/// The blocking store: one SQLite connection, shared by clones.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn db_error(what: impl std::fmt::Display) -> impl FnOnce(rusqlite::Error) -> Error {
    move |e| {
        if waiting::ended_by_stop(&e) {
            return waiting::interrupted(what, e);
        }
        Error::new(
            ErrorKind::Database,
            format!("{what}: {}", sqlite_errors::one_line(&e)),
        )
        // Kept, so that a lock held past the wait can be told from other failures.
        .with_source(e)
    }
}

/// `path cannot be written: why`: a store opened to be written that cannot be.
fn unwritable(path: &Path, why: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{} cannot be written: {why}", path.display()),
    )
}

/// SQLite's error opening the store at `path` to write it, as [`db_error`] says it
/// (`what: …`), unless its folder says why it cannot be written: a read-only file
/// system is `path cannot be written: the file system is read-only`, not SQLite's
/// "unable to open database file" (hp11 B-F8).
pub(super) fn open_error(path: &Path, what: String) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| match sqlite_errors::unwritable_folder(&e, path) {
        Some(why) => unwritable(path, &why),
        None => db_error(what)(e),
    }
}

impl Store {
    /// Opens (or creates) the store at `path`, in WAL mode.
    ///
    /// The file is inspected read-only first: one that is not an asyncdex store (another
    /// program's database, or not SQLite at all) is refused with a one-line error saying
    /// what it holds, and left byte for byte as it was (see [`APPLICATION_ID`]). A path that
    /// is not a regular file (a device, a FIFO, a directory) is refused before SQLite opens
    /// it, so nothing (no `-journal`) appears beside it.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        schema::check_regular(path, "cannot open the store")?;
        let found = schema::inspect(path)?;
        if found == Found::Cache {
            return Err(schema::refused(path, schema::IS_CACHE));
        }
        // Opened to be written: a file this user may only read (mode 400) is refused now,
        // before a crawl fetches anything it could never keep. (SQLite would open it
        // read-only without a word, and fail only at the first write.)
        if path.exists() {
            if let Err(e) = std::fs::OpenOptions::new().write(true).open(path) {
                return Err(unwritable(path, &crate::files::access::io_words(&e)));
            }
        }
        let what = format!("cannot open the store {}", path.display());
        let conn = Connection::open_with_flags(schema::sqlite_name(path), schema::WRITE_FLAGS)
            .map_err(open_error(path, what.clone()))?;
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(unwritable(path, "SQLite could open it only to read"));
        }
        waiting::patient(&conn).map_err(db_error(&what))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_error(&what))?;
        let store = Store::init(conn, Some(path.to_owned()), &what)?;
        if found != (Found::Store { stamped: true }) {
            store.with(|c| c.pragma_update(None, "application_id", APPLICATION_ID))?;
        }
        // Opened to be written: that it can be is checked now, before a crawl fetches
        // anything it could not keep (another process holding it locked, for one).
        store.with(|c| c.execute_batch("BEGIN IMMEDIATE; ROLLBACK"))?;
        Ok(store)
    }

    /// A store in memory, for tests and examples.
    pub fn open_in_memory() -> Result<Store> {
        let what = "cannot open an in-memory store";
        let conn = Connection::open_in_memory().map_err(db_error(what))?;
        Store::init(conn, None, what)
    }

    fn init(conn: Connection, path: Option<PathBuf>, what: &str) -> Result<Store> {
        // NORMAL is durable at every checkpoint and never corrupt in WAL mode: a crash may
        // lose the last transactions, never half of one.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_error(what))?;
        waiting::patient(&conn).map_err(db_error(what))?;
        conn.execute_batch(SCHEMA).map_err(|e| {
            Error::new(
                ErrorKind::Database,
                format!("{what}: {}", sqlite_errors::one_line(&e)),
            )
        })?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The file, if it is not in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(db_error(format!(
            "store {}",
            self.path
                .as_deref()
                .map_or("(memory)".into(), |p| p.display().to_string())
        )))
    }

    /// Writes `rows` in one transaction (all or none), replacing rows with the same
    /// endpoint and id, and clearing their failures.
    pub fn put(&self, rows: &[Row]) -> Result<()> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO resources
                     (endpoint, id, name, url, status, body, sha256, fetched_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                let mut clear =
                    tx.prepare_cached("DELETE FROM failures WHERE endpoint = ?1 AND id = ?2")?;
                for row in rows {
                    insert.execute(params![
                        row.endpoint,
                        row.id,
                        row.name,
                        row.url(),
                        row.status,
                        &row.body[..],
                        sha256_hex(&row.body),
                        row.fetched_at,
                        row.expires_at,
                    ])?;
                    clear.execute(params![row.endpoint, row.id])?;
                }
            }
            tx.commit()
        })
    }

    /// The resource of `endpoint` with id or name `key`.
    pub fn get(&self, endpoint: &str, key: &str) -> Result<Option<Stored>> {
        let by_id = key.parse::<i32>().ok();
        self.with(|conn| {
            let sql = if by_id.is_some() {
                "SELECT id, name, body, fetched_at, expires_at FROM resources
                 WHERE endpoint = ?1 AND id = ?2"
            } else {
                "SELECT id, name, body, fetched_at, expires_at FROM resources
                 WHERE endpoint = ?1 AND name = ?2"
            };
            let mut stmt = conn.prepare_cached(sql)?;
            let key: &dyn rusqlite::ToSql = match &by_id {
                Some(id) => id,
                None => &key,
            };
            stmt.query_row(params![endpoint, key], |r| {
                Ok(Stored {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    body: Bytes::from(r.get::<_, Vec<u8>>(2)?),
                    fetched_at: r.get(3)?,
                    expires_at: r.get(4)?,
                })
            })
            .optional()
        })
    }

    /// Ids of `endpoint` stored intact: the body still has the SHA-256 it was written with.
    pub fn valid_ids(&self, endpoint: &str) -> Result<std::collections::HashSet<i32>> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, body, sha256 FROM resources WHERE endpoint = ?1")?;
            let rows = stmt.query_map([endpoint], |r| {
                Ok((
                    r.get::<_, i32>(0)?,
                    sha256_hex(r.get_ref(1)?.as_blob()?) == r.get::<_, String>(2)?,
                ))
            })?;
            let mut ids = std::collections::HashSet::new();
            for row in rows {
                let (id, intact) = row?;
                if intact {
                    ids.insert(id);
                }
            }
            Ok(ids)
        })
    }

    /// `(id, name)` of every stored resource of `endpoint`, by id.
    pub fn entries(&self, endpoint: &str) -> Result<Vec<(i32, Option<String>)>> {
        self.entries_at_most(endpoint, usize::MAX)
    }

    /// [`Store::entries`], the first `most` of them only: what a reader that bounds a
    /// list holds, however many the file has.
    pub fn entries_at_most(
        &self,
        endpoint: &str,
        most: usize,
    ) -> Result<Vec<(i32, Option<String>)>> {
        let most = i64::try_from(most).unwrap_or(i64::MAX);
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name FROM resources WHERE endpoint = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(rusqlite::params![endpoint, most], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            rows.collect()
        })
    }

    /// Remembers the count `endpoint`'s list reported.
    pub fn set_list_count(&self, endpoint: &str, count: u64) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO lists (endpoint, count, seen_at) VALUES (?1, ?2, ?3)",
                params![endpoint, count as i64, now_ms()],
            )
            .map(drop)
        })
    }

    /// Records that fetching `endpoint`/`id` failed (kept until it is stored).
    pub fn record_failure(
        &self,
        endpoint: &str,
        id: i32,
        error: &str,
        attempts: u32,
    ) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO failures (endpoint, id, error, attempts, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![endpoint, id, error, attempts, now_ms()],
            )
            .map(drop)
        })
    }

    /// Remembers that `endpoint`/`key` does not exist, until `expires_at`.
    pub fn put_miss(&self, endpoint: &str, key: &str, expires_at: i64) -> Result<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO misses (endpoint, key, expires_at) VALUES (?1, ?2, ?3)",
                params![endpoint, key, expires_at],
            )
            .map(drop)
        })
    }

    /// Until when `endpoint`/`key` is known not to exist, if it is.
    pub fn get_miss(&self, endpoint: &str, key: &str) -> Result<Option<i64>> {
        self.with(|conn| {
            conn.query_row(
                "SELECT expires_at FROM misses WHERE endpoint = ?1 AND key = ?2",
                params![endpoint, key],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// What each endpoint holds, sorted by endpoint.
    pub fn stats(&self) -> Result<Vec<EndpointStats>> {
        let now = now_ms();
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.endpoint,
                    (SELECT count(*) FROM resources r WHERE r.endpoint = e.endpoint),
                    (SELECT coalesce(sum(length(body)), 0) FROM resources r WHERE r.endpoint = e.endpoint),
                    (SELECT count FROM lists l WHERE l.endpoint = e.endpoint),
                    (SELECT count(*) FROM failures f WHERE f.endpoint = e.endpoint),
                    (SELECT count(*) FROM resources r WHERE r.endpoint = e.endpoint AND r.expires_at < ?1)
                 FROM (SELECT endpoint FROM resources UNION SELECT endpoint FROM lists
                       UNION SELECT endpoint FROM failures) e ORDER BY 1",
            )?;
            let rows = stmt.query_map([now], |r| {
                let n = |i| r.get::<_, i64>(i).map(|v| v as u64);
                Ok(EndpointStats {
                    endpoint: r.get(0)?,
                    rows: n(1)?,
                    bytes: n(2)?,
                    listed: r.get::<_, Option<i64>>(3)?.map(|v| v as u64),
                    failed: n(4)?,
                    expired: n(5)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Calls `each` with every stored resource of `endpoint`, by id, one at a time (a
    /// store can be larger than memory). Bodies are as stored, unchecked: to serve or
    /// export them, [`Store::for_each_verified`].
    pub fn for_each(
        &self,
        endpoint: &str,
        mut each: impl FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        self.scan(endpoint, |stored, _| each(stored))
    }
}

#[cfg(test)]
mod tests;
