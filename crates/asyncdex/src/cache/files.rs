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

/// What a cache folder holds: the stores in it, and the files named like them that were
/// not read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folder {
    /// Every asyncdex store in it, with what it holds.
    pub files: Vec<FileStats>,
    /// Files named `*.db`, `*.db-wal` or `*.db-shm` that were not read, and why: not ours
    /// (not stamped as an asyncdex store), unreadable, or not a regular file (a symbolic
    /// link is never followed out of the folder).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Every cache file in `dir`, with what it holds (nothing if the folder is missing).
///
/// It leaves the folder as it found it: every store is read with
/// [`Store::open_untouched`], so no `-wal` or `-shm` appears beside a cache file that
/// was closed. Hostile folders are read safely: a symbolic link or other non-regular
/// file is not followed, a file not stamped as an asyncdex store is never opened by SQLite (which
/// could leave a `-wal` and `-shm` beside someone else's database), and a store that
/// cannot be read is skipped with its reason; none of them fails the rest.
pub fn stats(dir: &Path) -> Result<Folder> {
    let (found, irregular) = cache_files(dir)?;
    let mut folder = Folder {
        skipped: irregular
            .into_iter()
            .map(|p| (p, "not a regular file (not followed)".to_owned()))
            .collect(),
        ..Folder::default()
    };
    for path in found {
        if is_aside(&path) {
            // One line per set-aside cache file, its -wal and -shm with it.
            if unnumbered(&path.to_string_lossy()).ends_with(".db.aside") {
                let why = "set aside by a run: it could not be read as a cache";
                folder.skipped.push((path, why.into()));
            }
            continue;
        }
        let is_db = path.extension().is_some_and(|e| e == "db");
        if !is_db {
            continue; // a -wal or -shm: counted with its store
        }
        let why = match stamped(&path) {
            Some(Stamp::Cache) => None,
            Some(Stamp::Store) if is_cache_file(&path) => None,
            Some(Stamp::Store) => Some("an asyncdex store, not a cache (left unread)".into()),
            None => Some(not_ours(&path)),
        };
        if let Some(why) = why {
            folder.skipped.push((path, why));
            continue;
        }
        // Read without a trace: no `-wal`/`-shm` made beside a file only looked at.
        match Store::open_untouched(&path).and_then(|store| store.stats()) {
            Ok(endpoints) => folder.files.push(FileStats {
                bytes: on_disk(&path),
                endpoints,
                path,
            }),
            Err(e) => folder.skipped.push((path, format!("unreadable: {e}"))),
        }
    }
    Ok(folder)
}

/// What a file's first bytes say it is, read with plain file reads, so that a file that
/// is not ours is never handed to SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Header {
    /// Nothing there.
    Missing,
    /// A symbolic link, a folder, a FIFO...: never opened.
    NotRegular,
    /// A regular file that is not SQLite (or too short to be).
    Garbage,
    /// A regular file that could not be opened or read (permission denied, an I/O error).
    Unreadable,
    /// An SQLite database, with the `application_id` in its header.
    Sqlite([u8; 4]),
}

/// Why a `*.db` in a cache folder that is not stamped as asyncdex's is skipped, in the
/// words of what it is.
fn not_ours(path: &Path) -> String {
    match header(path) {
        Header::Unreadable => match std::fs::File::open(path) {
            Err(e) => format!("cannot be read: {}", crate::files::access::io_words(&e)),
            Ok(_) => "cannot be read".into(),
        },
        Header::Sqlite(_) => {
            "an SQLite database that is not an asyncdex cache (left unread)".into()
        }
        _ => "not an SQLite file, so not an asyncdex cache (left unread)".into(),
    }
}

/// Reads the header of the file at `path` (without following a link).
pub(super) fn header(path: &Path) -> Header {
    use std::io::Read;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Header::NotRegular,
        Err(_) => return Header::Missing,
    }
    let mut header = [0u8; 100];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Header::Garbage,
        Err(_) => return Header::Unreadable,
    }
    if !header.starts_with(b"SQLite format 3\0") {
        return Header::Garbage;
    }
    Header::Sqlite([header[68], header[69], header[70], header[71]])
}

/// What an asyncdex file is, by its stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// A cache file ([`CACHE_APPLICATION_ID`](crate::store::CACHE_APPLICATION_ID)).
    Cache,
    /// A store ([`APPLICATION_ID`](crate::store::APPLICATION_ID)): a crawl's, or a cache
    /// file made before caches had a stamp of their own.
    Store,
}

/// The stamp of the regular file at `path`, read from its header: a cache's, a store's,
/// or a store's not written *yet* (unstamped beside a write-ahead log: a store still
/// open keeps its stamp in the `-wal` until a checkpoint; SQLite then makes no new file
/// beside it, since both already exist).
fn stamped(path: &Path) -> Option<Stamp> {
    let regular = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
    let Header::Sqlite(id) = header(path) else {
        return None;
    };
    let with_suffix = |suffix: &str| crate::store::beside(path, suffix);
    if id == crate::store::CACHE_APPLICATION_ID.to_be_bytes() {
        Some(Stamp::Cache)
    } else if id == crate::store::APPLICATION_ID.to_be_bytes()
        || (id == [0; 4] && regular(&with_suffix("-wal")) && regular(&with_suffix("-shm")))
    {
        Some(Stamp::Store)
    } else {
        None
    }
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
/// A `*.db` is the cache's when it is named the way
/// [`Cache::file_for`](super::Cache::file_for) names files and stamped as a cache file
/// (see [`is_cache_file`]; an older cache file, stamped as a store, counts when every
/// resource in it expires: the cache keeps nothing forever, a crawl store keeps
/// everything). Its `-wal` and `-shm` go with it, and so does every file a run set aside
/// (`*.db.aside`, `*.db.aside.2`…, named as the cache names its files: it could not be
/// read as a cache).
/// Anything else
/// matching `*.db*` (a crawl store, another program's database, a text file called
/// `notes.db`, a log whose database is gone) is left and counted in [`Cleared::left`].
pub fn clear_dir(dir: &Path) -> Result<Cleared> {
    let (found, irregular) = cache_files(dir)?;
    let mut done = Cleared {
        left: irregular.len(),
        ..Cleared::default()
    };
    let ours: Vec<&PathBuf> = found
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db") && is_cache_file(p))
        .collect();
    for path in &found {
        if is_aside(path) {
            done.bytes += remove(path)?;
            done.files += 1;
            continue;
        }
        let name = path.as_os_str().to_string_lossy();
        let db = name
            .strip_suffix("-wal")
            .or_else(|| name.strip_suffix("-shm"))
            .unwrap_or(&name);
        if !ours.iter().any(|p| p.as_os_str().to_string_lossy() == db) {
            done.left += 1;
            continue;
        }
        done.bytes += remove(path)?;
        done.files += 1;
    }
    Ok(done)
}

/// Removes the file at `path`; returns its size.
fn remove(path: &Path) -> Result<u64> {
    let size = std::fs::symlink_metadata(path).map_or(0, |m| m.len());
    std::fs::remove_file(path).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot remove {}: {e}", path.display()),
        )
    })?;
    Ok(size)
}

/// Whether `path` is named as a run names a cache file it set aside (`x.db.aside`, with
/// its `x.db-wal.aside` and `x.db-shm.aside`), where `x` is a name the cache gives its
/// files ([`super::name::named_like_ours`]): a user's own `notes.db.aside` is not ours.
fn is_aside(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    let name = unnumbered(&name);
    ASIDE_SUFFIXES.iter().any(|s| {
        name.strip_suffix(s)
            .is_some_and(super::name::named_like_ours)
    })
}

/// The names of set-aside files end so, with a number after them from the second one
/// on (`x.db.aside.2`: a file set aside never replaces one set aside before).
const ASIDE_SUFFIXES: [&str; 3] = [".db.aside", ".db-wal.aside", ".db-shm.aside"];

/// `name` without the number a set-aside file may end with (`.2` … `.9`, see
/// [`super::open::ASIDE_KEPT`]).
pub(super) fn unnumbered(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((rest, n)) if n.len() == 1 && matches!(n.as_bytes()[0], b'2'..=b'9') => rest,
        _ => name,
    }
}

/// Whether `path` is a file the cache made, read without changing it: named like
/// [`Cache::file_for`](super::Cache::file_for)'s files, and stamped as a cache file
/// ([`CACHE_APPLICATION_ID`](crate::store::CACHE_APPLICATION_ID), however damaged the
/// rest), or (a cache file made before caches had their own stamp) stamped with
/// [`APPLICATION_ID`](crate::store::APPLICATION_ID) and holding no resource that never
/// expires.
pub fn is_cache_file(path: &Path) -> bool {
    let named = path.extension().is_some_and(|e| e == "db")
        && path.file_stem().is_some_and(|stem| {
            let stem = stem.to_string_lossy();
            !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    match stamped(path) {
        _ if !named => return false,
        Some(Stamp::Cache) => return true,
        Some(Stamp::Store) => {}
        None => return false,
    }
    // Stamped as a store: a crawl's, or a cache file made before caches had a stamp of
    // their own.
    // Read without a trace (a plain read-only open would leave a `-wal` and `-shm`
    // beside a crawl store, or beside a cache file about to be removed).
    let Ok(conn) = crate::store::connect_untouched(path) else {
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

/// The entries of `dir` named like the cache's (`*.db`, `*.db-wal`, `*.db-shm`), sorted:
/// the regular files, and the rest (symbolic links, directories, FIFOs), which are never
/// followed or opened.
fn cache_files(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Io,
                format!("cannot read the cache folder {}: {e}", dir.display()),
            ))
        }
    };
    let (mut files, mut others) = (Vec::new(), Vec::new());
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if ![".db", ".db-wal", ".db-shm"]
            .iter()
            .chain(&ASIDE_SUFFIXES)
            .any(|s| unnumbered(&name).ends_with(s))
        {
            continue;
        }
        // The entry's own type: a symbolic link is a link, wherever it points.
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if regular { &mut files } else { &mut others }.push(entry.path());
    }
    files.sort();
    others.sort();
    Ok((files, others))
}

fn on_disk(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            std::fs::symlink_metadata(crate::store::beside(db, suffix))
                .ok()
                .filter(|m| m.is_file())
                .map_or(0, |m| m.len())
        })
        .sum()
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
