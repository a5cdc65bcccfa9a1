//! Opening a cache file: the cache's own file, for this API root, and only while it is
//! still there.
//!
//! - The file must be a cache file ([`CACHE_APPLICATION_ID`](crate::store::CACHE_APPLICATION_ID)):
//!   a crawl store, another program's database or a symbolic link is refused and left as
//!   it is (the run goes on without a cache).
//! - A file that is not SQLite at all, or a cache file too damaged to open, is *set
//!   aside*: renamed to `NAME.db.aside` (its `-wal`/`-shm` likewise, so no stale log is
//!   read into the next file), and a new cache file is started in its place. It happens
//!   once; the next run finds a good file. A name already taken is never replaced: the
//!   next free one is used (`NAME.db.aside.2`, up to 9). `cache clear` removes set-aside
//!   files. A file that cannot be read (permission denied) is not garbage: it is left as
//!   it is, and the run goes on without a cache.
//! - The file keeps the API root it caches (credentials never included) and is used only
//!   for that root: a file of another root under this name is not this cache, nor is one
//!   that holds entries but has lost its root record (damaged): both are left as they are.
//! - The cache remembers which file it opened (device and inode). A file removed or
//!   replaced during the run (`cache clear` in another terminal) is noticed before the
//!   next write, said once, and nothing more is written into the deleted file.

use std::path::{Path, PathBuf};

use rusqlite::OptionalExtension;

use super::files::{header, Header};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{beside, Store, CACHE_APPLICATION_ID};

/// How the error for a file of another API root ends (after its path).
pub(super) const OTHER_ROOT: &str = "is the cache of another API root, not of this one";

/// How the error for a file that holds entries but no record of its API root ends.
pub(super) const NO_ROOT: &str =
    "has no record of its API root (damaged): whose entries it holds cannot be told";

/// What the name of a set-aside file ends with (`x.db.aside`).
pub(super) const ASIDE: &str = ".aside";

/// A cache file, opened.
#[derive(Debug)]
pub(super) struct Opened {
    pub(super) store: Store,
    /// Its device and inode, to tell whether the path still names it.
    pub(super) file: Option<(u64, u64)>,
    /// Where a damaged file found at the path was put first, if one was.
    pub(super) set_aside: Option<PathBuf>,
}

/// Opens the cache file at `path` for the API `identity` (see the module docs).
pub(super) fn open(path: &Path, identity: &str) -> Result<Opened> {
    let existed = std::fs::symlink_metadata(path).is_ok();
    let (store, set_aside) = match Store::open_cache(path) {
        Ok(store) => (store, None),
        Err(e) if !existed => {
            // Made by this open and left all but empty (a full disk, a quota): removed,
            // so no half-made file is found next time (hp10 B-F3).
            remove_if_empty(path);
            return Err(e);
        }
        Err(e) if damaged(path, &e) => {
            let aside = set_aside(path)?;
            tracing::warn!(
                "cache: {e}; set aside as {}, a new cache file started",
                aside.display()
            );
            (Store::open_cache(path)?, Some(aside))
        }
        Err(e) => return Err(e),
    };
    check_root(&store, path, identity)?;
    Ok(Opened {
        file: file_id(path),
        store,
        set_aside,
    })
}

/// Whether the regular file at `path`, which failed to open with `e`, is garbage or a
/// cache file of ours too damaged to open: not SQLite at all, or stamped as a cache and
/// refused by SQLite as damaged (not merely busy: a healthy file another run holds is
/// never moved). Another program's database or a crawl store is never set aside (it is
/// not ours to move).
fn damaged(path: &Path, e: &Error) -> bool {
    // An empty file is a cache not written yet (a full disk stopped its first write):
    // nothing in it to set aside.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.len() == 0) {
        return false;
    }
    match header(path) {
        Header::Garbage => true,
        // Not read, so not known to be garbage: never moved.
        Header::Unreadable => false,
        Header::Sqlite(id) if id == CACHE_APPLICATION_ID.to_be_bytes() => {
            let text = e.to_string();
            ["malformed", "not a database", "not an SQLite database"]
                .iter()
                .any(|damage| text.contains(damage))
        }
        Header::Sqlite(_) | Header::Missing | Header::NotRegular => false,
    }
}

/// How many set-aside copies of one cache file are kept at most (`x.db.aside`, then
/// `x.db.aside.2` … `x.db.aside.9`); with as many there, a damaged file is left where it
/// is and the run goes on without a cache until `cache clear`.
pub(super) const ASIDE_KEPT: usize = 9;

/// The most a cache file made by a failed first open can hold: a few pages, no entry.
const NOTHING_IN_IT: u64 = 64 * 1024;

/// Removes the file at `path` and its `-wal` and `-shm`, each only if it is a regular
/// file of no more than [`NOTHING_IN_IT`]: what a failed first open leaves (SQLite may
/// have written its first page before the disk refused more).
fn remove_if_empty(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let p = beside(path, suffix);
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file() && m.len() <= NOTHING_IN_IT) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Renames the file at `path`, and its `-wal` and `-shm`, to the first set-aside names
/// free for all three: never over a file (or a link) already there, which may be an
/// earlier copy set aside, or anyone's.
fn set_aside(path: &Path) -> Result<PathBuf> {
    let with = |suffix: &str, n: usize| match n {
        1 => beside(path, &format!("{suffix}{ASIDE}")),
        n => beside(path, &format!("{suffix}{ASIDE}.{n}")),
    };
    let taken = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let n = (1..=ASIDE_KEPT)
        .find(|&n| ["", "-wal", "-shm"].iter().all(|s| !taken(&with(s, n))))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot set {} aside: {ASIDE_KEPT} copies set aside before are kept beside it (asyncdex cache clear removes them)",
                    path.display()
                ),
            )
        })?;
    for side in ["-wal", "-shm"] {
        let file = beside(path, side);
        if std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
            let _ = move_to_free(&file, &with(side, n));
        }
    }
    let aside = with("", n);
    move_to_free(path, &aside).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot set {} aside: {e}", path.display()),
        )
    })?;
    Ok(aside)
}

/// Renames `from` to `to` only if nothing is at `to`: a hard link made first fails if
/// something is (`rename` would replace it), then the old name is removed.
fn move_to_free(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

/// Records `identity` in a new cache file, or checks that the file is this root's; makes
/// the indexes eviction walks. A file that has its root table but no root in it, and
/// holds entries, is damaged: whose entries they are cannot be told, so it is not used
/// (as another root's file is not).
fn check_root(store: &Store, path: &Path, identity: &str) -> Result<()> {
    let kept = store.with_conn(|conn| {
        let tx = conn.transaction()?;
        let had_table = tx
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cache_root'",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        tx.execute_batch("CREATE TABLE IF NOT EXISTS cache_root (root TEXT NOT NULL)")?;
        tx.execute_batch(super::budget::INDEXES)?;
        let kept: Option<String> = tx
            .query_row("SELECT root FROM cache_root LIMIT 1", [], |r| r.get(0))
            .optional()?;
        let holds = || {
            tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM resources) OR EXISTS (SELECT 1 FROM misses)",
                [],
                |r| r.get::<_, bool>(0),
            )
        };
        let kept = match kept {
            Some(root) => Some(root),
            None if had_table && holds()? => None,
            None => {
                tx.execute("INSERT INTO cache_root (root) VALUES (?1)", [identity])?;
                Some(identity.to_owned())
            }
        };
        tx.commit()?;
        Ok(kept)
    })?;
    match kept {
        Some(root) if root == identity => Ok(()),
        Some(_) => Err(Error::new(
            ErrorKind::Database,
            format!("{} {OTHER_ROOT}", path.display()),
        )),
        None => Err(Error::new(
            ErrorKind::Database,
            format!("{} {NO_ROOT}", path.display()),
        )),
    }
}

/// The device and inode `path` names now (without following a link).
pub(super) fn file_id(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
