//! Reading a store without leaving a trace: what `cache stats` does to a folder it only
//! looks at.
//!
//! A store is in WAL mode, and SQLite reads a WAL database through two files beside it,
//! the write-ahead log (`-wal`) and its index in shared memory (`-shm`). A reader that
//! finds them missing *makes* them, even when opened read-only (`mode=ro`), and, being
//! read-only, never removes them: one `cache stats` left two files beside every cache
//! file it read. SQLite's `immutable=1` makes nothing (no lock, no `-shm`), but it also
//! reads the main file alone, ignoring any log. So:
//!
//! - **no `-wal` beside the file**: nothing was written that the main file lacks (the
//!   last writer checkpointed and removed the log when it closed), so the file alone is
//!   the whole store: it is read `immutable=1`, which creates nothing;
//! - **a `-wal` and a `-shm`**: a writer has it open (or stopped without closing):
//!   the newest rows may be only in the log, so it is read through them (`mode=ro`),
//!   which uses the files that are there and makes none;
//! - **a `-wal` without its `-shm`**: reading it would make a `-shm`, and reading
//!   without the log would miss rows: it is refused, with the reason, unread.
//!
//! `immutable=1` trusts that nothing writes the file during the read. A writer that opens
//! it right then (another asyncdex starting) may make the read fail or count a little
//! stale; the read never changes the file, and a failed read is reported, not hidden.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::reading::{self, Touch};
use super::schema::{self, Found};
use super::Store;
use crate::error::Result;

impl Store {
    /// Opens an existing store to read it and leave the folder exactly as it was: no
    /// `-wal`, `-shm` or `-journal` made beside it (see the module docs for how, and
    /// what it trusts). For one-off reads of a store that may not be open elsewhere
    /// (`cache stats`); a server or an export keeps [`Store::open_existing`], which
    /// follows a writer.
    pub fn open_untouched(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        let conn = connect_untouched(path)?;
        match reading::checked(&conn, path)? {
            Found::Store { .. } | Found::Cache => {}
            Found::Empty => return Err(schema::refused(path, "it is empty")),
        }
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: Some(path.to_owned()),
        })
    }
}

/// The read-only connection behind [`Store::open_untouched`], for a look at any SQLite
/// file (`cache clear` asking whether a file is the cache's) that must change nothing.
pub(crate) fn connect_untouched(path: &Path) -> Result<Connection> {
    reading::connect(path, Touch::Never)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::reading::beside;
    use crate::store::reading::tests::names;
    use crate::store::Row;

    fn row(id: i32) -> Row {
        Row::new("type", id, None, format!(r#"{{"id":{id}}}"#))
    }

    #[test]
    fn a_closed_store_is_read_and_nothing_appears_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        // A name SQLite's URI would misread unescaped.
        let path = dir.path().join("odd ?#%name.db");
        Store::open(&path).unwrap().put(&[row(1), row(2)]).unwrap();
        assert_eq!(names(dir.path()), ["odd ?#%name.db"], "a clean close");
        let store = Store::open_untouched(&path).unwrap();
        assert_eq!(store.stats().unwrap()[0].rows, 2);
        drop(store);
        assert_eq!(names(dir.path()), ["odd ?#%name.db"], "files were made");
        // What a reader that follows a writer does where it may write: the two differ.
        let store = Store::open_existing(&path).unwrap();
        store.stats().unwrap();
        drop(store);
        assert!(names(dir.path()).len() > 1, "{:?}", names(dir.path()));
    }

    #[test]
    fn a_store_open_elsewhere_is_read_through_its_log_and_nothing_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.db");
        let writer = Store::open(&path).unwrap();
        writer.put(&[row(1)]).unwrap();
        writer
            .with(|c| c.pragma_update(None, "wal_autocheckpoint", 0))
            .unwrap();
        writer.put(&[row(2), row(3)]).unwrap(); // only in the log
        let before = names(dir.path());
        assert_eq!(before, ["live.db", "live.db-shm", "live.db-wal"]);
        let read = Store::open_untouched(&path).unwrap();
        assert_eq!(
            read.stats().unwrap()[0].rows,
            3,
            "the log's rows are counted"
        );
        drop(read);
        assert_eq!(names(dir.path()), before);
    }

    #[test]
    fn a_log_without_its_index_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("half.db");
        Store::open(&path).unwrap().put(&[row(1)]).unwrap();
        std::fs::write(beside(&path, "-wal"), b"").unwrap();
        let err = Store::open_untouched(&path).unwrap_err().to_string();
        assert!(err.contains("without its -shm"), "{err}");
        assert_eq!(names(dir.path()), ["half.db", "half.db-wal"]);
    }
}
