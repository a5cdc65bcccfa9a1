//! What SQLite's errors mean, said in one line a user can act on.
//!
//! SQLite names a failure by a code and a few words ("disk I/O error", "database is
//! locked") that name neither the file nor the cause. Every store and cache error passes
//! [`one_line`] on its way to the user, which says what usually lies behind the code: a
//! lock another process holds, a full disk or `ulimit -f`, the `-shm` index a WAL file
//! is read through, a `-journal` a killed writer left. [`is_locked`] and
//! [`is_unwritable`] tell the two failures a crawl stops for, with its manifest, from the
//! ones it fails on.

use std::path::Path;

use crate::error::Error;

/// An SQLite error on one line (some carry the statement, over several).
///
/// SQLite's "database is locked" names no culprit: a store another process holds locked
/// longer than the store waits for it (a crawl mid-write, an `sqlite3` shell with a
/// transaction open) is said in those words instead.
pub(super) fn one_line(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    if matches!(e.sqlite_error_code(), Some(DatabaseBusy | DatabaseLocked)) {
        return format!("{LOCKED} (waited {} s)", BUSY_WAIT.as_secs());
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let mut short: String = first.chars().take(200).collect();
    if short.len() < first.len() {
        short.push('…');
    }
    // A WAL store is read through an index SQLite keeps beside it, `-shm`, which it
    // makes (32 KiB) even to read: a full disk or `ulimit -f` there is the index's
    // failure, not the store's (hp10 B notes).
    if let rusqlite::Error::SqliteFailure(f, _) = e {
        use rusqlite::ffi::{
            SQLITE_IOERR_SHMLOCK, SQLITE_IOERR_SHMMAP, SQLITE_IOERR_SHMOPEN, SQLITE_IOERR_SHMSIZE,
        };
        let shm = [
            SQLITE_IOERR_SHMOPEN,
            SQLITE_IOERR_SHMSIZE,
            SQLITE_IOERR_SHMMAP,
            SQLITE_IOERR_SHMLOCK,
        ];
        if shm.contains(&f.extended_code) {
            return "its -shm, the index SQLite makes beside a WAL file to read it, cannot be \
                    written (the disk may be full, or the file at its size limit, ulimit -f)"
                .into();
        }
    }
    // SQLite's words for a write that met a full disk or `ulimit -f` (EFBIG) are only
    // "disk I/O error": say what usually causes it, wherever the write was.
    if matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::SystemIoFailure)
    ) {
        short.push_str(" (the disk may be full, or the file at its size limit, ulimit -f)");
    }
    // A read-only open that met a `-journal` a writer left unfinished (killed mid-write):
    // SQLite must roll it back, and a reader may not (hp10 B-F2).
    if let rusqlite::Error::SqliteFailure(f, _) = e {
        if f.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK {
            return "a writer that did not finish left its -journal beside it, to be rolled back \
                    first by a program that writes the file (sqlite3 FILE 'pragma integrity_check' does)"
                .into();
        }
    }
    short
}

/// Why the store at `path` cannot be written, when SQLite could not open it ("unable to
/// open database file") or could only read it, and its folder says why: on a read-only
/// file system `the file system is read-only` (the store's file is on it too), otherwise
/// `the folder F cannot be written (permission denied)` (a store writes its `-wal` and
/// `-shm` there). `None` for any other failure, a folder that takes new files, or one
/// that is not there.
pub(super) fn unwritable_folder(e: &rusqlite::Error, path: &Path) -> Option<String> {
    use rusqlite::ErrorCode::{CannotOpen, ReadOnly};
    if !matches!(e.sqlite_error_code(), Some(CannotOpen | ReadOnly)) {
        return None;
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let refused = crate::files::access::writable(folder).err()?;
    if refused.kind() == std::io::ErrorKind::NotFound {
        return None; // no folder to blame: SQLite's words (and the path) say it
    }
    Some(folder_or_file_system(folder, &refused))
}

/// The reason [`unwritable_folder`] gives for `folder`, refused with `e`.
fn folder_or_file_system(folder: &Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => crate::files::access::io_words(e),
        _ => crate::files::folder_unwritable(folder, e),
    }
}

/// How long the store waits for another connection's lock before it gives up.
pub(super) const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a lock held past [`BUSY_WAIT`] is called.
pub(super) const LOCKED: &str = "another process is writing it and holds it locked";

/// Whether `e` is a store call that gave up because another process held the store
/// locked for longer than the store waits for it (5 s; SQLite's busy or locked): a
/// failure a crawl stops for with its manifest, as if interrupted, rather than failing
/// (as it stops for [`is_unwritable`]).
///
/// ```
/// use asyncdex::store::is_locked;
/// assert!(!is_locked(&asyncdex::Error::invalid_input("not a store's")));
/// ```
pub fn is_locked(e: &Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    let cause = std::error::Error::source(e).and_then(|c| c.downcast_ref::<rusqlite::Error>());
    matches!(
        cause.and_then(rusqlite::Error::sqlite_error_code),
        Some(DatabaseBusy | DatabaseLocked)
    )
}

/// Whether `e` is a store call that failed because the store's file can no longer be
/// written: the disk is full, the file reached the process's size limit (`ulimit -f`: a
/// write that fails with `EFBIG`, which SQLite reports as a disk I/O error), or the file
/// system turned read-only. Like [`is_locked`], a crawl stops for it with its manifest:
/// what was stored stays, and nothing more can be.
///
/// ```
/// use asyncdex::store::is_unwritable;
/// assert!(!is_unwritable(&asyncdex::Error::invalid_input("not a store's")));
/// ```
pub fn is_unwritable(e: &Error) -> bool {
    use rusqlite::ErrorCode::{DiskFull, ReadOnly, SystemIoFailure};
    let cause = std::error::Error::source(e).and_then(|c| c.downcast_ref::<rusqlite::Error>());
    matches!(
        cause.and_then(rusqlite::Error::sqlite_error_code),
        Some(DiskFull | ReadOnly | SystemIoFailure)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_on_a_read_only_file_system_is_said_so_not_in_sqlite_words() {
        #[cfg(unix)]
        let erofs = std::io::Error::from_raw_os_error(libc::EROFS);
        #[cfg(not(unix))]
        let erofs = std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem);
        assert_eq!(
            folder_or_file_system(Path::new("small"), &erofs),
            "the file system is read-only"
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            folder_or_file_system(Path::new("small"), &denied),
            "the folder small cannot be written (permission denied)"
        );
        // Only SQLite's failures to open or to write are about the folder: a folder that
        // takes new files, or another failure, keeps SQLite's words.
        let dir = tempfile::tempdir().unwrap();
        let cant_open = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            None,
        );
        assert_eq!(
            unwritable_folder(&cant_open, &dir.path().join("s.db")),
            None
        );
        let corrupt = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        );
        assert_eq!(unwritable_folder(&corrupt, Path::new("/proc/s.db")), None);
    }
}
