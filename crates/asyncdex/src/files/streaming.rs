//! A file written atomically *and* streaming: a picture of a million calls is written as
//! it is drawn, through a buffer of [`BUFFER`] bytes, instead of being built whole in
//! memory first (a trace of a million calls is ~120 MB of JSON; built as a document of
//! values first, several gigabytes).
//!
//! Atomic still means what it meant for [`write_atomic`](super::write_atomic): the bytes
//! go to a new temporary file beside the target, and only [`AtomicFile::commit`] renames
//! it over the target, after asking what is there now ([`Kind`], from the first
//! [`HEAD`] bytes written, kept on the side as they pass). A writer dropped without a
//! commit (an error halfway, a panic) removes its temporary file, and the target is as it
//! was.
//!
//! ```
//! use std::io::Write;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("t.json");
//! let mut file = asyncdex::files::AtomicFile::create(&path).unwrap();
//! write!(file, "{{\"traceEvents\":[").unwrap();
//! for i in 0..1000 {
//!     write!(file, "{}{{\"ts\":{i}}}", if i > 0 { "," } else { "" }).unwrap();
//!     assert!(file.held() <= asyncdex::files::BUFFER + asyncdex::files::HEAD);
//! }
//! write!(file, "]}}").unwrap();
//! assert!(!path.exists(), "nothing is there until the commit");
//! file.commit().unwrap();
//! assert!(std::fs::read_to_string(&path).unwrap().ends_with("{\"ts\":999}]}"));
//! ```

use std::fs::{File, Metadata, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{cannot_write, mark, refused, replace, temp_path, Kind, HEAD};
use crate::error::Result;

/// The most bytes an [`AtomicFile`] holds before writing them to its file: 64 KiB.
pub const BUFFER: usize = 64 * 1024;

/// A file being written: bytes through a bounded buffer to a temporary file, renamed over
/// the target by [`commit`](AtomicFile::commit) (see the module docs).
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    /// `None` once committed (nothing left to remove).
    file: Option<BufWriter<File>>,
    /// The first [`HEAD`] bytes written: what the file will be ([`Kind`]), and whether
    /// it bears asyncdex's [`mark`].
    head: Vec<u8>,
}

impl AtomicFile {
    /// Starts writing `path`: refuses anything there that is not a regular file, or is
    /// another user's (as [`write_atomic`](super::write_atomic) does), and creates the
    /// temporary file beside it (exclusively: never an existing file).
    pub fn create(path: &Path) -> Result<AtomicFile> {
        replace::entry(path).map_err(|r| refused(path, r))?;
        let tmp = temp_path(path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| cannot_write(path, e.to_string()))?;
        Ok(AtomicFile {
            path: path.to_owned(),
            tmp,
            file: Some(BufWriter::with_capacity(BUFFER, file)),
            head: Vec::new(),
        })
    }

    /// How many bytes this writer holds in memory now: at most [`BUFFER`] waiting to be
    /// written, and the first [`HEAD`] bytes kept to tell the file's kind.
    pub fn held(&self) -> usize {
        self.file.as_ref().map_or(0, |f| f.buffer().len()) + self.head.len()
    }

    /// Finishes: writes what is buffered, asks (last, just before the rename: what is
    /// there now is what would be lost) whether what is at the target may be replaced
    /// ([`may_replace`](super::may_replace): missing, or a file of this user's, empty or
    /// of the same [`Kind`] and marked alike), gives the new file the mode, owner and
    /// group of the one it replaces, and renames it over it. On any failure the temporary
    /// file is removed and the target is left as it was.
    pub fn commit(mut self) -> Result<()> {
        let path = self.path.clone();
        let file = self.file.take().expect("an AtomicFile is committed once");
        let (kind, marked) = (Kind::of(&self.head), mark::is_marked(&self.head));
        let finished = file
            .into_inner()
            .map_err(|e| cannot_write(&path, e.into_error().to_string()))
            .and_then(|f| {
                let old = replace::judge(&path, kind, marked).map_err(|r| refused(&path, r))?;
                match old {
                    Some(old) => keep_owner_and_mode(&f, &old),
                    None => Ok(()),
                }
                .map_err(|e| cannot_write(&path, e.to_string()))
            })
            .and_then(|()| {
                std::fs::rename(&self.tmp, &path).map_err(|e| cannot_write(&path, e.to_string()))
            });
        if finished.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        finished
    }
}

/// Gives `new` the owner, group and mode of `old`, the file it replaces: its owner first,
/// since a change of owner may clear the mode's set-id bits. This user's own file in a
/// group this user is not in keeps its owner, not its group (only root may give a file to
/// such a group); another user's file is never replaced but by root ([`replace`]).
fn keep_owner_and_mode(new: &File, old: &Metadata) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mine = new.metadata()?;
        if (mine.uid(), mine.gid()) != (old.uid(), old.gid()) {
            match std::os::unix::fs::fchown(new, Some(old.uid()), Some(old.gid())) {
                Ok(()) => {}
                Err(e)
                    if mine.uid() == old.uid()
                        && e.kind() == std::io::ErrorKind::PermissionDenied => {}
                Err(e) => return Err(e),
            }
        }
    }
    new.set_permissions(old.permissions())
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("already committed"))?;
        let n = file.write(buf)?;
        let room = HEAD - self.head.len();
        self.head.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), BufWriter::flush)
    }
}

impl Drop for AtomicFile {
    /// Not committed: the temporary file goes, the target stays as it was.
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any name the file system takes can be written: the temporary name beside it is
    /// short whatever the final one's length (hp10 B-F1).
    #[test]
    fn a_name_at_the_file_systems_limit_is_written() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a".repeat(251) + ".svg", "é".repeat(125) + ".svg"] {
            assert!(name.len() <= 255, "{}", name.len());
            let path = dir.path().join(&name);
            super::super::write_atomic(&path, b"<svg/>").unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"<svg/>");
            assert!(temp_path(&path).file_name().unwrap().len() < 120);
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "nothing left beside"
        );
    }

    #[test]
    fn the_buffer_stays_bounded_while_the_file_grows_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let mut file = AtomicFile::create(&path).unwrap();
        let line = [b'x'; 1000];
        file.write_all(b"{\"traceEvents\":[").unwrap();
        let mut most = 0;
        for _ in 0..10_000 {
            file.write_all(&line).unwrap();
            most = most.max(file.held());
        }
        // 10 MB written; never more than the buffer and the head held.
        assert!(most <= BUFFER + HEAD, "held {most} bytes");
        assert!(most > HEAD, "the buffer is used: {most}");
        let on_disk = std::fs::metadata(&file.tmp).unwrap().len();
        assert!(on_disk >= 10_000_000 - BUFFER as u64, "streamed: {on_disk}");
        assert!(!path.exists(), "the target appears only at the commit");
        file.commit().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16 + 10_000_000);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left");
    }

    #[test]
    fn a_writer_dropped_without_commit_leaves_the_target_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svg");
        std::fs::write(&path, b"<svg>old</svg>").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"<svg>half").unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"<svg>old</svg>");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_streamed_file_of_another_kind_is_refused_at_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.json");
        std::fs::write(&db, b"SQLite format 3\0...").unwrap();
        let mut file = AtomicFile::create(&db).unwrap();
        file.write_all(b"{\"traceEvents\":[]}").unwrap();
        let refused = file.commit().unwrap_err().to_string();
        assert!(refused.contains("it is a SQLite database"), "{refused}");
        assert_eq!(std::fs::read(&db).unwrap(), b"SQLite format 3\0...");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
