//! The one way asyncdex writes a file (a timeline, a trace, a chart, an exported
//! resource), so that a reader never sees half of one and a path is never more than it
//! looks.
//!
//! A path given to asyncdex to write is treated as a name for a *regular file*:
//!
//! - something else there (a device such as `/dev/null` or a disk, a FIFO, a socket, a
//!   directory) is refused: replacing it would destroy it (as root, a device node under
//!   `/dev`), and writing into it is not writing a file;
//! - a symbolic link is refused, not followed and not replaced: it may point anywhere the
//!   user did not mean to write;
//! - an existing file is replaced only by a file of its own kind ([`Kind`], told from the
//!   first bytes of both): an SVG picture replaces an SVG picture, never an SQLite
//!   database, an executable or a text file, which are named and left as they were (an
//!   empty file holds nothing to lose, and is replaced); and a file that bears asyncdex's
//!   [`mark`] replaces only a file that bears it: a timeline replaces the last timeline,
//!   not a hand-drawn SVG ([`may_replace`], the one decision);
//! - an existing file keeps its permission mode (a mode-600 file stays 600), its owner and
//!   its group; another user's file is replaced only by root, who can keep them;
//! - the folder must take new files (this user may write it), asked before anything is
//!   written;
//! - the contents go to a new temporary file beside it (created exclusively, so nothing
//!   planted under its name is followed), which is then renamed over it: a crash leaves
//!   the old file or the new one, never a torn one, and the temporary file is removed if
//!   anything fails;
//! - a large file is written streaming ([`write_atomic_with`], [`AtomicFile`]): through
//!   a buffer of [`BUFFER`] bytes into that temporary file, never built whole in memory.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("t.svg");
//! asyncdex::files::write_atomic(&path, b"<svg/>").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"<svg/>");
//! # #[cfg(unix)] {
//! let link = dir.path().join("link.svg");
//! std::os::unix::fs::symlink(&path, &link).unwrap();
//! assert!(asyncdex::files::write_atomic(&link, b"x").is_err()); // never through a link
//! # }
//! let db = dir.path().join("pokedex.db");
//! std::fs::write(&db, b"SQLite format 3\0...").unwrap();
//! let refused = asyncdex::files::write_atomic(&db, b"<svg/>").unwrap_err();
//! assert!(refused.to_string().contains("it is a SQLite database, not an SVG picture"));
//! assert_eq!(std::fs::read(&db).unwrap(), b"SQLite format 3\0...");
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Result};

pub(crate) mod access;
mod kind;
pub mod mark;
mod replace;
mod streaming;
pub use kind::{Kind, HEAD};
pub use replace::{may_replace, Refusal};
pub use streaming::{AtomicFile, BUFFER};

/// Writes `contents` to `path` atomically (a temporary file beside it, then a rename),
/// refusing anything at `path` that is not a regular file, or a file of another kind
/// than `contents` ([`Kind`]), and keeping an existing file's permission mode.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| file.write_all(contents))
}

/// [`write_atomic`] for a file too large to build in memory first: `write` writes it
/// into an [`AtomicFile`] (through a buffer of [`BUFFER`] bytes), and it is committed if
/// `write` succeeds. The same refusals, the same atomic rename; a failure while writing
/// is the same one-line error naming `path`.
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("t.svg");
/// asyncdex::files::write_atomic_with(&path, |file| {
///     (0..3).try_for_each(|i| write!(file, "<svg id=\"{i}\"/>"))
/// })
/// .unwrap();
/// assert!(std::fs::read_to_string(&path).unwrap().starts_with("<svg id=\"0\"/>"));
/// ```
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut AtomicFile) -> std::io::Result<()>,
) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    write(&mut file).map_err(|e| cannot_write(path, e.to_string()))?;
    file.commit()
}

/// Checks, without creating anything, that [`write_atomic`] could write `path` now: its
/// folder exists and this user may make files in it, and nothing but a regular file of
/// this user's (any user's, for root) is there already. A program that writes
/// its file at the end of a long run asks first, so that a typo in the folder or a FIFO
/// in the way is said before the run, not after it (the write checks again: things may
/// change in between).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// assert!(asyncdex::files::check_writable(&dir.path().join("t.svg")).is_ok());
/// assert!(asyncdex::files::check_writable(&dir.path().join("no/t.svg")).is_err());
/// assert!(asyncdex::files::check_writable(dir.path()).is_err()); // a folder
/// ```
pub fn check_writable(path: &Path) -> Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => {
            check_folder_writable(folder).map_err(|why| cannot_write(path, why))?;
            replace::entry(path).map(drop).map_err(|r| refused(path, r))
        }
        Ok(meta) => Err(cannot_write(
            path,
            format!(
                "{} is {}, not a folder",
                folder.display(),
                if meta.is_file() {
                    "a file"
                } else {
                    describe(&meta)
                }
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(cannot_write(
            path,
            format!("the folder {} does not exist", folder.display()),
        )),
        Err(e) => Err(cannot_write(path, format!("{}: {e}", folder.display()))),
    }
}

/// Checks, without creating anything, that this user may make files in the folder
/// `folder` now (`access(2)`: a read-only mount, or another user's folder, says no), and
/// says why not in the words every such refusal uses: `the folder F cannot be written
/// (the file system is read-only)`. [`check_writable`] asks it, and so does a command
/// before a run that writes into a folder (`crawl --out`'s store, `export --to`).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// assert!(asyncdex::files::check_folder_writable(dir.path()).is_ok());
/// ```
pub fn check_folder_writable(folder: &Path) -> std::result::Result<(), String> {
    access::writable(folder).map_err(|e| folder_unwritable(folder, &e))
}

/// `the folder F cannot be written (why)`, for the error `access(2)` gave.
pub(crate) fn folder_unwritable(folder: &Path, e: &std::io::Error) -> String {
    format!(
        "the folder {} cannot be written ({})",
        folder.display(),
        access::io_words(e)
    )
}

/// The error for a file [`may_replace`] said must not be replaced, and why.
fn refused(path: &Path, refusal: Refusal) -> Error {
    match refusal.is_about_contents() {
        true => cannot_write(path, format!("{refusal}, and was left as it was")),
        false => cannot_write(path, refusal.to_string()),
    }
}

/// The error for a file that cannot be written, and why.
fn cannot_write(path: &Path, why: String) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot write {}: {why}", path.display()),
    )
}

/// Most bytes of the final name a temporary name keeps: any name the file system
/// takes (255 bytes) must leave room for the temporary one beside it (hp10 B-F1: a
/// 240-byte name failed only after the run, its temporary name past the limit).
const TEMP_NAME_KEEPS: usize = 64;

/// A name beside `path` for its temporary file: hidden, unique in this process, and
/// short whatever the final name's length (at most its first [`TEMP_NAME_KEEPS`] bytes,
/// whole characters).
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name: String = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned())
        .chars()
        .scan(0, |bytes, c| {
            *bytes += c.len_utf8();
            (*bytes <= TEMP_NAME_KEEPS).then_some(c)
        })
        .collect();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp-asyncdex", std::process::id()))
}

/// What a file system entry that is not a regular file is, in words (`a directory`,
/// `a device`, `a FIFO (named pipe)`, `a socket`, `a symbolic link`), for an error that
/// names why a path was refused. Give it `symlink_metadata`'s answer to name links.
pub fn describe(meta: &std::fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_symlink() {
        return "a symbolic link";
    }
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "something else"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_on_a_read_only_file_system_is_said_so() {
        // What access(2) gives on a read-only mount (EROFS), as the OS reports it.
        #[cfg(unix)]
        let erofs = std::io::Error::from_raw_os_error(libc::EROFS);
        #[cfg(not(unix))]
        let erofs = std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem);
        assert_eq!(erofs.kind(), std::io::ErrorKind::ReadOnlyFilesystem);
        assert_eq!(
            folder_unwritable(Path::new("small"), &erofs),
            "the folder small cannot be written (the file system is read-only)"
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            folder_unwritable(Path::new("/srv"), &denied),
            "the folder /srv cannot be written (permission denied)"
        );
    }
}
