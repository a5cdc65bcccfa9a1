//! What makes an SQLite file an asyncdex store, and how a file is told apart before anything
//! in it changes.
//!
//! A store is stamped with [`APPLICATION_ID`] in SQLite's header (`PRAGMA application_id`,
//! the field SQLite sets aside for exactly this). A file is inspected read-only first:
//!
//! - stamped with our id: a store;
//! - stamped with another program's id: refused;
//! - unstamped and empty (no tables): a new store, stamped when it is created;
//! - unstamped with exactly a store's tables and columns (and perhaps the API root it
//!   holds, see the `origin` module): a store written before the stamp existed, stamped
//!   when next opened for writing;
//! - anything else: refused, saying which tables it has.
//!
//! A refused file is left byte for byte as it was: no journal mode changed, no table
//! created, no `-wal` or `-shm` file beside it.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, ErrorKind, Result};
use crate::files::access::io_words;

/// The `application_id` in a store's header: `"adex"` in ASCII.
pub const APPLICATION_ID: i32 = 0x6164_6578;

/// The `application_id` in the client's disk cache files: `"adxc"` in ASCII. A cache file
/// has a store's tables, but it is not a store (its rows expire, it belongs to one API
/// root): a store refuses a file with this stamp, and the cache refuses a store's.
pub const CACHE_APPLICATION_ID: i32 = 0x6164_7863;

/// Why a store refuses a cache file.
pub(super) const IS_CACHE: &str = "it is the client's disk cache, not a store";

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS resources (
    endpoint   TEXT    NOT NULL,
    id         INTEGER NOT NULL,
    name       TEXT,
    url        TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    body       BLOB    NOT NULL,
    sha256     TEXT    NOT NULL,
    fetched_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (endpoint, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resources_by_name ON resources (endpoint, name);
CREATE TABLE IF NOT EXISTS lists (
    endpoint TEXT PRIMARY KEY,
    count    INTEGER NOT NULL,
    seen_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    endpoint TEXT    NOT NULL,
    id       INTEGER NOT NULL,
    error    TEXT    NOT NULL,
    attempts INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (endpoint, id)
);
CREATE TABLE IF NOT EXISTS misses (
    endpoint   TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (endpoint, key)
);
";

/// A store's tables and their columns, in order.
const TABLES: [(&str, &[&str]); 4] = [
    (
        "resources",
        &[
            "endpoint",
            "id",
            "name",
            "url",
            "status",
            "body",
            "sha256",
            "fetched_at",
            "expires_at",
        ],
    ),
    ("lists", &["endpoint", "count", "seen_at"]),
    ("failures", &["endpoint", "id", "error", "attempts", "at"]),
    ("misses", &["endpoint", "key", "expires_at"]),
];

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// Missing, empty, or an SQLite database with no tables: a store may be made of it.
    Empty,
    /// A store (stamped, or with exactly a store's schema).
    Store {
        /// Whether its header already carries [`APPLICATION_ID`].
        stamped: bool,
    },
    /// A disk cache file (stamped [`CACHE_APPLICATION_ID`]).
    Cache,
}

/// Refuses a path that exists and is not a regular file (a device such as `/dev/null`, a
/// FIFO, a directory, a link to one), before SQLite touches it: SQLite would open it, or
/// leave a `-journal` beside it (`/dev/null-journal`). The `-wal`, `-shm` and `-journal`
/// beside it are checked the same way, and a path that is itself one of those of a file
/// beside it (`x.db-wal` where `x.db` is) is refused.
pub(super) fn check_regular(path: &Path, what: &str) -> Result<()> {
    one_regular(path, what)?;
    // A path that is itself what SQLite keeps beside another database (`x.db-wal` beside
    // `x.db`): a store there would be taken for that database's log or index, and
    // emptied, the next time anything opens it (hp10 B-F7).
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    for (suffix, is) in SIDECARS {
        let Some(base) = name.as_deref().and_then(|n| n.strip_suffix(suffix)) else {
            continue;
        };
        let base = path.with_file_name(base);
        if !base.as_os_str().is_empty() && std::fs::symlink_metadata(&base).is_ok() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{what} {}: it is the name of {is} of {} beside it, which SQLite would empty or remove",
                    path.display(),
                    base.display()
                ),
            ));
        }
    }
    // SQLite opens what is beside it by name too: a FIFO at `-shm` would block the open
    // for ever (and a signal with it), a folder at `-wal` fail it as a "disk I/O error".
    // A link there SQLite will not follow (it opens them O_NOFOLLOW), and says only
    // "unable to open database file": named here instead (hp11 B-F3).
    for (suffix, _) in SIDECARS {
        let beside = super::reading::beside(path, suffix);
        if std::fs::symlink_metadata(&beside).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{what} {}: {} is a symbolic link, not a regular file (SQLite does not follow it there)",
                    path.display(),
                    beside.display()
                ),
            ));
        }
        one_regular(&beside, what)?;
    }
    orphan_log(path, what)
}

/// Refuses a path with no database but a log beside it: a `-wal` or `-journal` that holds
/// something, left by a store moved away without it (or killed, then moved). It may be
/// the only copy of that store's last rows, and SQLite, creating a database at the path,
/// would empty or remove it (hp11 B-F5). Only a path with no file at all: while a new
/// store is being made its file exists (empty) beside its first journal.
fn orphan_log(path: &Path, what: &str) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    for (suffix, is) in [SIDECARS[0], SIDECARS[2]] {
        let log = super::reading::beside(path, suffix);
        if std::fs::metadata(&log).is_ok_and(|m| m.len() > 0) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{what} {}: there is no database there, but {} is {is} of one (moved away without it?), which SQLite would empty: move it back beside its database, or remove it",
                    path.display(),
                    log.display()
                ),
            ));
        }
    }
    Ok(())
}

/// What SQLite keeps beside a database `x`, by the suffix of its name, in words.
const SIDECARS: [(&str, &str); 3] = [
    ("-wal", "the write-ahead log"),
    ("-shm", "the shared-memory index"),
    ("-journal", "the rollback journal"),
];

/// [`check_regular`] for one file.
fn one_regular(path: &Path, what: &str) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{what} {}: {e}", path.display()),
            ))
        }
    };
    if meta.is_file() {
        return Ok(());
    }
    let kind = meta.file_type();
    let mut is = if kind.is_dir() {
        "a directory"
    } else {
        "something else"
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() {
            is = "a character device";
        } else if kind.is_block_device() {
            is = "a block device";
        } else if kind.is_fifo() {
            is = "a FIFO (named pipe)";
        } else if kind.is_socket() {
            is = "a socket";
        }
    }
    Err(Error::new(
        ErrorKind::Io,
        format!("{what} {}: it is {is}, not a regular file", path.display()),
    ))
}

/// Why a file was not taken: it was read and is something else (or damaged), or it
/// could not be read at all. Only the first is "not an asyncdex store"; the second is
/// said as what stopped the read (`permission denied`, a lock held past the wait, a disk
/// I/O error), in the words [`Store::open_existing`](super::Store::open_existing) uses.
#[derive(Debug)]
pub(super) enum Why {
    /// Read, and found not to be a store: the reason (`it is not an SQLite database`).
    Not(String),
    /// Not read: the operating system's reason, in words (`permission denied`).
    Io(String),
    /// Not read: SQLite's error (busy, locked, I/O), kept as the error's source.
    Sqlite(rusqlite::Error),
}

impl Why {
    /// The error for `path`: `path is not an asyncdex store: …` (or `is damaged`) for a
    /// file read and refused, `what path: …` for one that could not be read.
    pub(super) fn error(self, path: &Path, what: &str) -> Error {
        let what = format!("{what} {}", path.display());
        match self {
            Why::Not(why) => refused(path, &why),
            Why::Io(why) => Error::new(ErrorKind::Io, format!("{what}: {why}")),
            Why::Sqlite(e) => super::db_error(what)(e),
        }
    }
}

/// Inspects `path`, a store about to be opened to be written, without changing it; an
/// error (one line, naming the file) if it is not a store and not empty, or cannot be
/// read (`cannot read the store …: …`), or SQLite could not open it in a folder that
/// cannot be written (`… cannot be written: the file system is read-only`: the open to
/// write it would fail as surely, and SQLite's own words name neither).
pub(super) fn inspect(path: &Path) -> Result<Found> {
    const WHAT: &str = "cannot read the store";
    examine(path).map_err(|why| match why {
        Why::Sqlite(e) => super::open_error(path, format!("{WHAT} {}", path.display()))(e),
        why => why.error(path, WHAT),
    })
}

/// [`inspect`], with the reason a file is refused alone (`it is not an SQLite database`).
pub(super) fn examine(path: &Path) -> std::result::Result<Found, Why> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => return Ok(Found::Empty),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Empty),
        Err(e) => return Err(Why::Io(io_words(&e))),
    }
    // Readable, and its log and index too, before SQLite is asked: SQLite says only
    // "unable to open database file" for a file this user may not read.
    for suffix in ["", "-wal", "-shm"] {
        let file = super::reading::beside(path, suffix);
        match std::fs::File::open(&file) {
            Err(e) if suffix.is_empty() || e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Why::Io(match suffix {
                    "" => io_words(&e),
                    _ => format!("{}: {}", file.display(), io_words(&e)),
                }))
            }
            _ => {}
        }
    }
    // SQLite reads a WAL file through a `-wal` and a `-shm`, making both if they are
    // missing, read-only or not; a file refused is left as it was found, without them.
    let made = super::reading::Sidecars::absent(path);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(sqlite_name(path), flags).map_err(Why::Sqlite)?;
    let _ = super::waiting::patient(&conn);
    let found = inspect_conn(&conn);
    drop(conn);
    if found.is_err() {
        made.remove();
    }
    found
}

/// The name SQLite is given for the file at `path`: that file, always, whatever its
/// name. SQLite reads some names as more than a path: `:memory:` is a database in
/// memory, an empty name a temporary one, and (our SQLite is built with
/// `SQLITE_USE_URI`, so even without `SQLITE_OPEN_URI`) a name that begins `file:` is a
/// URI: `file:x.db?mode=memory` in memory again, `file:link` a file the checks on
/// `path` never looked at. A relative path is given as `./path`, which SQLite reads as
/// that file and nothing else; an absolute one begins with `/`, which is never special.
/// Every open of a store by its path goes through here, so the checks made on `path`
/// (`check_regular`, the crawl's refusal of a link) are on the file SQLite opens.
pub(super) fn sqlite_name(path: &Path) -> std::path::PathBuf {
    if path.is_relative() {
        Path::new(".").join(path)
    } else {
        path.to_owned()
    }
}

/// How a store is opened to be written: read-write, created if missing, and never
/// `SQLITE_OPEN_URI` (rusqlite's default flags include it): the name is a file's.
pub(super) const WRITE_FLAGS: OpenFlags = OpenFlags::SQLITE_OPEN_READ_WRITE
    .union(OpenFlags::SQLITE_OPEN_CREATE)
    .union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

pub(super) fn inspect_conn(conn: &Connection) -> std::result::Result<Found, Why> {
    // Only what the file *is* makes it "not a store"; a read that failed (a lock, an
    // I/O error) says so.
    let sqlite = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => Why::Not("it is not an SQLite database".into()),
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => Why::Not(format!(
            "{DAMAGED} ({})",
            super::sqlite_errors::one_line(&e)
        )),
        _ => Why::Sqlite(e),
    };
    let id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sqlite)?;
    if id == APPLICATION_ID {
        return Ok(Found::Store { stamped: true });
    }
    if id == CACHE_APPLICATION_ID {
        return Ok(Found::Cache);
    }
    if id != 0 {
        return Err(Why::Not(format!(
            "it belongs to another program (application id {id:#010x})"
        )));
    }
    let mut tables = names(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        [],
    )
    .map_err(sqlite)?;
    // The API root a crawl keeps (the `origin` module) is a store's own table too.
    let own = |t: &String| TABLES.iter().any(|(name, _)| name == t) || t == super::origin::TABLE;
    if tables.iter().all(own) {
        tables.retain(|t| t != super::origin::TABLE);
    }
    if tables.is_empty() {
        return Ok(Found::Empty);
    }
    let mut same = tables.len() == TABLES.len();
    for (table, columns) in TABLES {
        if !same {
            break;
        }
        let found = names(
            conn,
            "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
            [table],
        )
        .map_err(sqlite)?;
        same = found.iter().map(String::as_str).eq(columns.iter().copied());
    }
    if same {
        return Ok(Found::Store { stamped: false });
    }
    let mut shown: Vec<&str> = tables.iter().map(String::as_str).take(8).collect();
    if tables.len() > shown.len() {
        shown.push("…");
    }
    let what = if tables.len() == 1 { "table" } else { "tables" };
    Err(Why::Not(format!("it has {what} {}", shown.join(", "))))
}

fn names<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// `path is not an asyncdex store: why`.
pub(super) fn refused(path: &Path, why: &str) -> Error {
    // A file cut short or overwritten is damaged, whoever made it; not another's.
    let text = match why.strip_prefix(DAMAGED) {
        Some(rest) => format!("{} is damaged{rest}", path.display()),
        None => format!("{} is not an asyncdex store: {why}", path.display()),
    };
    Error::new(ErrorKind::Database, text)
}

/// How a reason begins when SQLite found the file damaged (`database disk image is
/// malformed`): [`refused`] then says so, not "not an asyncdex store".
const DAMAGED: &str = "it is damaged";

#[cfg(test)]
mod tests {
    use super::*;

    fn db(dir: &Path, name: &str, sql: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        Connection::open(&path).unwrap().execute_batch(sql).unwrap();
        path
    }

    #[test]
    fn files_are_told_apart_by_stamp_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(inspect(&d.join("missing.db")).unwrap(), Found::Empty);
        std::fs::write(d.join("zero.db"), b"").unwrap();
        assert_eq!(inspect(&d.join("zero.db")).unwrap(), Found::Empty);
        let legacy = db(d, "legacy.db", SCHEMA);
        assert_eq!(inspect(&legacy).unwrap(), Found::Store { stamped: false });
        let rooted = db(
            d,
            "rooted.db",
            &format!("{SCHEMA} CREATE TABLE api_root (root TEXT NOT NULL);"),
        );
        assert_eq!(inspect(&rooted).unwrap(), Found::Store { stamped: false });
        let stamped = db(
            d,
            "ours.db",
            &format!("PRAGMA application_id = {APPLICATION_ID};"),
        );
        assert_eq!(inspect(&stamped).unwrap(), Found::Store { stamped: true });
        let other = db(
            d,
            "other.db",
            "PRAGMA application_id = 7; CREATE TABLE t (x);",
        );
        let err = inspect(&other).unwrap_err().to_string();
        assert!(
            err.contains("another program (application id 0x00000007)"),
            "{err}"
        );
        let theirs = db(
            d,
            "theirs.db",
            "CREATE TABLE resources (id INTEGER, owner TEXT); CREATE TABLE users (name TEXT);",
        );
        let err = inspect(&theirs).unwrap_err().to_string();
        assert!(err.ends_with("is not an asyncdex store: it has tables resources, users"));
        std::fs::write(
            d.join("text.db"),
            "plain text, long enough to be read as a header",
        )
        .unwrap();
        let err = inspect(&d.join("text.db")).unwrap_err().to_string();
        assert!(err.ends_with("it is not an SQLite database"), "{err}");
    }

    #[test]
    fn a_name_sqlite_reads_as_more_than_a_path_is_given_as_a_plain_one() {
        for (name, given) in [
            (":memory:", "./:memory:"),
            ("file:x.db?mode=memory", "./file:x.db?mode=memory"),
            ("file:victim.db", "./file:victim.db"),
            ("store.db", "./store.db"),
            ("/tmp/file:x", "/tmp/file:x"),
        ] {
            assert_eq!(sqlite_name(Path::new(name)), Path::new(given), "{name}");
        }
    }
}
