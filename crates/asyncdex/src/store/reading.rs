//! Reading a store this process may not write: another user's file (a copy deployed as
//! root, mode 644), a read-only mount, a `chmod 444` file in a `555` folder.
//!
//! A reader never needs to write the store. But a store is in WAL mode, and SQLite reads
//! a WAL database through two files beside it, the write-ahead log (`-wal`) and its index
//! in shared memory (`-shm`); a reader that finds them missing *makes* them, even opened
//! read-only. Where it cannot (a folder it may not write) the open fails, in SQLite's
//! words "attempt to write a readonly database" or "unable to open database file", which
//! used to reach the user as "is not an asyncdex store". So a reader looks first, and
//! picks the one way that works ([`Plan`]):
//!
//! - **a `-wal` and a `-shm` beside it**: a writer has it open (or stopped without
//!   closing); the newest rows may be only in the log, so it is read through them
//!   (`mode=ro`), live: what the writer adds later is seen. A `-shm` this process cannot
//!   write is read as it is (SQLite's read-only index).
//! - **no `-wal`, a folder it can write**: `mode=ro` too. SQLite makes an empty `-wal`
//!   and a `-shm`, and a crawl that starts writing later shares them, so `serve --from`
//!   serves what it writes. (These are the only files a reader ever makes.)
//! - **no `-wal`, a folder it cannot write**: nothing was written that the main file
//!   lacks (the last writer folded the log into it and removed it), so the file alone is
//!   the whole store: it is read `immutable=1`, which makes nothing and takes no lock.
//!   That trusts nothing writes it meanwhile; a writer who can (its owner) and starts
//!   after the open is not seen until the reader opens it again.
//! - **a `-wal` without its `-shm`, in a folder it cannot write**: the log cannot be
//!   read without making a `-shm`, and reading the file without its log would miss rows:
//!   refused, saying so and why the folder cannot be written.
//!
//! Before SQLite sees anything, the file (and the `-wal`/`-shm` there are) must be
//! readable: one that is not is refused with the operating system's reason
//! ("permission denied"), never as "not an asyncdex store". That phrase is kept for a
//! file that was read and is something else.
//!
//! `cache stats` reads more carefully still ([`super::untouched`]): it never makes a file,
//! so it reads `immutable` whenever there is no `-wal`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::schema::{self, Found};
use super::{db_error, waiting, Store};
use crate::error::{Error, ErrorKind, Result};
use crate::files::access::{io_words, writable};

/// How a store is opened to be read, from what lies beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// `mode=ro`: through the log and its index (made if missing).
    Live,
    /// `immutable=1`: the main file alone, nothing made, no lock.
    Frozen,
    /// Not readable as it lies: why.
    Refused(String),
}

/// Whether a reader may make files beside the store (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Touch {
    /// A reader that must leave the folder as it found it (`cache stats`).
    Never,
    /// A reader that follows a writer (`serve --from`, `export`): it may make the empty
    /// `-wal` and the `-shm` a writer would share, where it can.
    IfWritable,
}

/// What lies beside a store: its `-wal`, its `-shm`, and whether its folder can be
/// written (the reason if not).
#[derive(Debug)]
pub(super) struct Beside {
    pub(super) wal: bool,
    pub(super) shm: bool,
    pub(super) folder: std::result::Result<(), String>,
}

impl Beside {
    fn look(real: &Path) -> Beside {
        let folder = real
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Beside {
            wal: regular(&beside(real, "-wal")),
            shm: regular(&beside(real, "-shm")),
            folder: writable(folder)
                .map_err(|e| format!("{} cannot be written ({})", folder.display(), io_words(&e))),
        }
    }
}

/// The plan for a reader that may `touch` the folder, given what is `beside` the store.
pub(super) fn plan(touch: Touch, beside: &Beside) -> Plan {
    let can_make = touch == Touch::IfWritable && beside.folder.is_ok();
    match (beside.wal, beside.shm) {
        (true, true) => Plan::Live,
        (false, _) if can_make => Plan::Live,
        (false, _) => Plan::Frozen,
        (true, false) if can_make => Plan::Live,
        (true, false) => Plan::Refused(match (touch, &beside.folder) {
            (Touch::IfWritable, Err(folder)) => format!(
                "its write-ahead log (-wal) has no -shm beside it, and SQLite reads the log only through one, which cannot be made: {folder}; let a process that may write there open it once (any writer folds the log into the store)"
            ),
            _ => "it has a write-ahead log without its -shm, and reading it would make one".into(),
        }),
    }
}

impl Store {
    /// Opens an existing store only to read it (`serve --from`, `export`): it never
    /// needs write access, and it follows a writer that has it open (see the module docs
    /// for how, and for the one file it may make). A file that is not an asyncdex store
    /// is refused, never changed; one that cannot be read is refused with the reason
    /// (`permission denied`, a `-wal` that cannot be read without a `-shm`).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        let made = Sidecars::absent(path);
        let conn = connect(path, Touch::IfWritable)?;
        let refusal = match checked(&conn, path) {
            Err(e) => Some(e),
            Ok(Found::Empty) => Some(schema::refused(path, "it is empty")),
            Ok(Found::Cache) => Some(schema::refused(path, schema::IS_CACHE)),
            Ok(Found::Store { .. }) => None,
        };
        if let Some(e) = refusal {
            // Refused: left as it was found, without the files reading it made.
            drop(conn);
            made.remove();
            return Err(e);
        }
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: Some(path.to_owned()),
        })
    }
}

/// A read-only connection to the store at `path`, by the [`plan`] for `touch`; the file
/// (and its `-wal`/`-shm`) checked to be a readable regular file first.
pub(super) fn connect(path: &Path, touch: Touch) -> Result<Connection> {
    let what = format!("cannot read the store {}", path.display());
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(
                ErrorKind::Database,
                format!("{what}: no such file"),
            ))
        }
        _ => schema::check_regular(path, "cannot read the store")?,
    }
    let real = path
        .canonicalize()
        .map_err(|e| Error::new(ErrorKind::Io, format!("{what}: {}", io_words(&e))))?;
    let beside_it = Beside::look(&real);
    for (present, suffix) in [(true, ""), (beside_it.wal, "-wal"), (beside_it.shm, "-shm")] {
        let file = beside(&real, suffix);
        if let (true, Err(e)) = (present, std::fs::File::open(&file)) {
            let name = match suffix {
                "" => String::new(),
                _ => format!("{}: ", file.display()),
            };
            return Err(Error::new(
                ErrorKind::Io,
                format!("{what}: {name}{}", io_words(&e)),
            ));
        }
    }
    let query = match plan(touch, &beside_it) {
        Plan::Live => "mode=ro",
        Plan::Frozen => "immutable=1",
        Plan::Refused(why) => return Err(Error::new(ErrorKind::Io, format!("{what}: {why}"))),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri(&real, query), flags).map_err(db_error(&what))?;
    waiting::patient(&conn).map_err(db_error(&what))?;
    Ok(conn)
}

/// What `conn`'s file holds. SQLite reads the file (and opens its log) only at the
/// first statement: a failure there to *read* it is said as such (`cannot read the
/// store …: …`), and only a file read and found to be something else is "not an
/// asyncdex store".
pub(super) fn checked(conn: &Connection, path: &Path) -> Result<Found> {
    let read = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    });
    match read {
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return Err(schema::refused(path, "it is not an SQLite database"))
        }
        Err(e) => {
            return Err(db_error(format!(
                "cannot read the store {}",
                path.display()
            ))(e))
        }
        Ok(_) => {}
    }
    schema::inspect_conn(conn).map_err(|why| why.error(path, "cannot read the store"))
}

/// The `-wal` and `-shm` missing beside a file before it is looked at. SQLite makes both
/// to read a WAL file, even read-only, and a read-only connection never removes them: a
/// look that ends in a refusal calls [`Sidecars::remove`], so the file refused is left as
/// it was found (a damaged store, a cache, another program's database).
pub(super) struct Sidecars(Vec<PathBuf>);

impl Sidecars {
    /// Which of `path`'s `-wal` and `-shm` are not there now.
    pub(super) fn absent(path: &Path) -> Sidecars {
        let missing = ["-wal", "-shm"]
            .into_iter()
            .map(|suffix| beside(path, suffix))
            .filter(|file| std::fs::symlink_metadata(file).is_err())
            .collect();
        Sidecars(missing)
    }

    /// Removes those that are there now (made since), once the connection is closed:
    /// regular files only, and a log only while it holds nothing.
    pub(super) fn remove(self) {
        for file in self.0 {
            let Ok(meta) = std::fs::symlink_metadata(&file) else {
                continue;
            };
            let is_log = file.as_os_str().to_string_lossy().ends_with("-wal");
            if meta.is_file() && !(is_log && meta.len() > 0) {
                let _ = std::fs::remove_file(&file);
            }
        }
    }
}

/// `path` with `suffix` added to its name (`x.db` → `x.db-wal`).
pub(crate) fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn regular(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// A `file:` URI naming `path` for SQLite, every byte outside the unreserved set
/// escaped (`?`, `#` and `%` in a name would otherwise end or change it), then `query`.
fn uri(path: &Path, query: &str) -> String {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().into_owned().into_bytes();
    let mut out = String::from("file:");
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push('?');
    out.push_str(query);
    out
}

#[cfg(test)]
#[path = "reading_tests.rs"]
pub(super) mod tests;
