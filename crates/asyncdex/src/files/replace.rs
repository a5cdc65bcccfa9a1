//! What asyncdex may replace: the one decision, asked by the writer just before its rename
//! and by a program before its run ([`may_replace`]).
//!
//! Replacing a file is a rename over it, and a rename asks nothing: not what the file was,
//! not whose. So before it, the entry at the path is asked, in order:
//!
//! 1. **Is it a file?** A symbolic link, a folder, a device, a FIFO or a socket is never
//!    replaced ([`Refusal::Link`], [`Refusal::NotAFile`]).
//! 2. **Whose is it?** A file of another user is replaced only by root, who can give the
//!    replacement the old owner and group: otherwise the new file would be this user's,
//!    and the other user would have lost theirs ([`Refusal::OtherUser`]). In a sticky
//!    folder such as `/tmp` the system refuses that rename anyway, *after* the run; asked
//!    here, it is said before.
//! 3. **What is in it?** Nothing (an empty file): replaced. Otherwise its first
//!    [`HEAD`] bytes must be of the [`Kind`] about to be written ([`Refusal::OtherKind`]),
//!    and if what is written bears asyncdex's [`mark`](super::mark), so must the file
//!    ([`Refusal::NotMarked`]): a timeline replaces the previous run's timeline, never a
//!    hand-drawn SVG.
//!
//! A replacement keeps the old file's mode, owner and group (see
//! [`AtomicFile::commit`](super::AtomicFile::commit)).
//!
//! ```
//! use asyncdex::files::{may_replace, mark, Kind, Refusal};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("t.svg");
//! assert!(may_replace(&path, Kind::Svg, true).is_ok()); // nothing there
//! std::fs::write(&path, "<svg>a logo</svg>").unwrap();
//! assert!(matches!(may_replace(&path, Kind::Svg, true), Err(Refusal::NotMarked(Kind::Svg))));
//! std::fs::write(&path, format!("{}<svg>a timeline</svg>", mark::SVG)).unwrap();
//! assert!(may_replace(&path, Kind::Svg, true).is_ok());
//! let refused = may_replace(&path, Kind::Trace, true).unwrap_err();
//! assert_eq!(refused.to_string(), "it is an SVG picture, not a JSON trace");
//! ```

use std::fmt;
use std::fs::Metadata;
use std::io::Read;
use std::path::Path;

use super::{describe, mark, Kind, HEAD};

/// Why a file must not be replaced.
#[derive(Debug)]
#[non_exhaustive]
pub enum Refusal {
    /// A symbolic link: never followed, never replaced.
    Link,
    /// Not a regular file: what it is (`a directory`, `a device`: [`describe`]).
    NotAFile(&'static str),
    /// Another user's file (their user id), and this process is not root.
    OtherUser(u32),
    /// A file of another kind than the one to be written.
    OtherKind {
        /// What the file is.
        found: Kind,
        /// What was to be written.
        wanted: Kind,
    },
    /// A file of the kind to be written, but not written by asyncdex.
    NotMarked(Kind),
    /// The entry or its first bytes could not be read.
    Io(std::io::Error),
}

impl Refusal {
    /// Whether the refusal is about the file's contents (its kind, its mark): the file was
    /// looked into and left as it was.
    pub fn is_about_contents(&self) -> bool {
        matches!(self, Refusal::OtherKind { .. } | Refusal::NotMarked(_))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Link => f.write_str("it is a symbolic link (give the file it points to)"),
            Refusal::NotAFile(what) => write!(f, "it is {what}, not a regular file"),
            Refusal::OtherUser(uid) => write!(
                f,
                "it is another user's file (uid {uid}), which only root may replace keeping its owner"
            ),
            Refusal::OtherKind { found, wanted } => write!(f, "it is {found}, not {wanted}"),
            Refusal::NotMarked(kind) => write!(f, "it is {kind} that asyncdex did not write"),
            Refusal::Io(e) => write!(f, "it cannot be read to tell what it is ({e})"),
        }
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Refusal::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether a file of `kind` (bearing asyncdex's [`mark`] if `marked`) may replace what is
/// at `path` now: nothing, an empty file, or a file of this user's (any user's, for root)
/// of the same kind, marked as asyncdex's if the new one is. See the module docs.
pub fn may_replace(path: &Path, kind: Kind, marked: bool) -> Result<(), Refusal> {
    judge(path, kind, marked).map(drop)
}

/// [`may_replace`], giving the metadata of the file that may be replaced (its mode, owner
/// and group, for the replacement to keep), or `None` if nothing is there.
pub(super) fn judge(path: &Path, kind: Kind, marked: bool) -> Result<Option<Metadata>, Refusal> {
    let Some(meta) = entry(path)? else {
        return Ok(None);
    };
    if meta.len() == 0 {
        return Ok(Some(meta));
    }
    let mut head = Vec::with_capacity(HEAD);
    std::fs::File::open(path)
        .and_then(|f| f.take(HEAD as u64).read_to_end(&mut head))
        .map_err(Refusal::Io)?;
    if head.is_empty() {
        return Ok(Some(meta)); // emptied since it was asked
    }
    let found = Kind::of(&head);
    if found != kind {
        return Err(Refusal::OtherKind {
            found,
            wanted: kind,
        });
    }
    if marked && !mark::is_marked(&head) {
        return Err(Refusal::NotMarked(kind));
    }
    Ok(Some(meta))
}

/// What is at `path`: nothing (`None`), or a regular file this process may replace as its
/// owner would have it (its metadata: mode, owner, group, to keep). Steps 1 and 2 of the
/// module docs; the contents are not read.
pub(super) fn entry(path: &Path) -> Result<Option<Metadata>, Refusal> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Refusal::Io(e)),
    };
    if meta.file_type().is_symlink() {
        return Err(Refusal::Link);
    }
    if !meta.is_file() {
        return Err(Refusal::NotAFile(describe(&meta)));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if !owner_allows(meta.uid(), me) {
            return Err(Refusal::OtherUser(meta.uid()));
        }
    }
    Ok(Some(meta))
}

/// Whether user `me` may replace a file of user `owner` and keep its owner: the same
/// user, or root (who alone may give a file to another user).
fn owner_allows(owner: u32, me: u32) -> bool {
    owner == me || me == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_or_root_replaces_a_file() {
        assert!(owner_allows(1000, 1000));
        assert!(owner_allows(1000, 0), "root, who can keep the owner");
        assert!(owner_allows(0, 0));
        assert!(!owner_allows(0, 1000), "root's file, as a user");
        assert!(!owner_allows(1001, 1000), "another user's file");
    }

    #[test]
    fn a_picture_replaces_only_a_marked_picture_of_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let trace = format!("{}]}}", mark::TRACE);
        let cases: &[(&str, Kind, bool, Option<&str>)] = &[
            ("", Kind::Svg, true, None),
            ("<svg/>", Kind::Svg, false, None),
            (
                "<svg/>",
                Kind::Svg,
                true,
                Some("that asyncdex did not write"),
            ),
            (&trace, Kind::Trace, true, None),
            (
                &trace,
                Kind::Svg,
                true,
                Some("it is a JSON trace, not an SVG"),
            ),
            (
                "{\"traceEvents\":[]}",
                Kind::Trace,
                true,
                Some("did not write"),
            ),
            (
                "SQLite format 3\0",
                Kind::Svg,
                true,
                Some("a SQLite database"),
            ),
        ];
        for &(contents, kind, marked, refused) in cases {
            std::fs::write(&path, contents).unwrap();
            let got = may_replace(&path, kind, marked);
            match (refused, got) {
                (None, Ok(())) => {}
                (Some(why), Err(e)) => assert!(e.to_string().contains(why), "{contents:?}: {e}"),
                (want, got) => panic!("{contents:?} as {kind}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_or_a_folder_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        assert!(matches!(
            may_replace(&link, Kind::Svg, true),
            Err(Refusal::Link)
        ));
        let found = may_replace(dir.path(), Kind::Svg, true);
        assert!(matches!(found, Err(Refusal::NotAFile("a directory"))));
    }
}
