//! All or nothing: an export is built out of sight, then put in place whole.
//!
//! Writing straight into the folder a user named would leave half an export behind when
//! a damaged row stops it halfway: a folder that *looks* like a copy of the API and is
//! not. So an export first writes every file into a temporary folder of its own, on the
//! same file system as the target (a `rename` across file systems is a copy, and not
//! atomic), and only when every body has been checked and every file written does it put
//! them in place:
//!
//! - **the target does not exist** (the usual case): the temporary folder is a hidden
//!   sibling (`.site.export-asyncdex.PID.N` beside `site`), renamed to the target in one
//!   step. Before it, there is no `site`; after it, a whole one. Folders made on the way to
//!   it (`--to a/b/site` with no `a`) are removed again if the export fails.
//! - **the target is a folder already** (an earlier export being refreshed, or an empty
//!   folder): an export never deletes what it did not write, so it cannot swap the folder
//!   for a new one (the user's `index.html` beside `data/` would go). The temporary folder
//!   is made *inside* it (`site/.export-asyncdex.PID.N`: the same file system even when
//!   `site` is a mount point), and its files are merged in: every place first checked (a
//!   symbolic link or a folder where a file goes is refused before anything moves), then
//!   each file renamed over its old version, deepest first, so that a list appears after
//!   the resources it names and the root index last. A server already serving the folder
//!   sees each file old or new, never half; files of an earlier export that this one does
//!   not have are left as they were, as they always were.
//!
//! On failure the temporary folder is removed ([`Drop`]), and the target is as it was.
//! A process killed outright (`kill -9`, a second Ctrl-C) cannot clean up: its temporary
//! folder, named as above, is left to delete by hand, and the target is still untouched.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::io_error;
use crate::error::{Error, Result};

/// Where an export is written, and how it is put in place.
pub(super) struct Staging {
    /// The folder the user named.
    target: PathBuf,
    /// The temporary folder the files are written into (canonical).
    tmp: PathBuf,
    /// `Some(canonical target)` when the target existed, to merge into.
    merge_into: Option<PathBuf>,
    /// Folders made on the way to a new target, deepest first: removed on failure.
    made: Vec<PathBuf>,
    /// Put in place: nothing to clean up.
    landed: bool,
}

/// A unique hidden name in this process, `PREFIX.export-asyncdex.PID.N`.
fn temp_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}.export-asyncdex.{}.{n}", std::process::id())
}

fn absent(path: &Path) -> bool {
    matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

impl Staging {
    /// A temporary folder for an export to `target`: beside it if it does not exist yet,
    /// inside it if it is a folder already; anything else at `target` is refused.
    pub(super) fn new(target: &Path) -> Result<Staging> {
        let mut staging = Staging {
            target: target.to_owned(),
            tmp: PathBuf::new(),
            merge_into: None,
            made: Vec::new(),
            landed: false,
        };
        let (folder, name) = match std::fs::metadata(target) {
            // A link the user gave as the target is followed, as it always was.
            Ok(meta) if meta.is_dir() => {
                let real = target.canonicalize().map_err(|e| io_error(target, e))?;
                staging.merge_into = Some(real.clone());
                (real, temp_name(""))
            }
            Ok(_) => return Err(io_error(target, "it is not a directory")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && absent(target) => {
                let Some(name) = target.file_name() else {
                    return Err(io_error(target, "it names no folder"));
                };
                let parent = match target.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                    _ => PathBuf::from("."),
                };
                let mut up = parent.as_path();
                while absent(up) {
                    staging.made.push(up.to_owned());
                    match up.parent() {
                        Some(p) if !p.as_os_str().is_empty() => up = p,
                        _ => break,
                    }
                }
                std::fs::create_dir_all(&parent).map_err(|e| io_error(&parent, e))?;
                let real = parent.canonicalize().map_err(|e| io_error(&parent, e))?;
                (real, temp_name(&format!(".{}", name.to_string_lossy())))
            }
            // A link to nothing, a folder that cannot be read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(io_error(target, "it is a symbolic link to nothing"))
            }
            Err(e) => return Err(io_error(target, e)),
        };
        let tmp = folder.join(name);
        std::fs::create_dir(&tmp).map_err(|e| io_error(&tmp, e))?;
        staging.tmp = tmp;
        Ok(staging)
    }

    /// The folder to write the export into.
    pub(super) fn root(&self) -> &Path {
        &self.tmp
    }

    /// `e`, which stopped the export before anything was put in place, saying so.
    pub(super) fn nothing_written(&self, e: Error) -> Error {
        let target = self.target.display();
        let how = match self.merge_into {
            Some(_) => format!("{target} is as it was"),
            None => format!("{target} was not created"),
        };
        Error::new(e.kind(), format!("{e} (nothing exported: {how})"))
    }

    /// Puts the export in place: one rename to a new target, or a merge into an
    /// existing one (see the module docs).
    pub(super) fn land(mut self) -> Result<()> {
        match self.merge_into.clone() {
            None => std::fs::rename(&self.tmp, &self.target).map_err(|e| {
                io_error(
                    &self.target,
                    format!("cannot move the export into place: {e}"),
                )
            })?,
            Some(root) => {
                let mut steps = Vec::new();
                plan(&self.tmp, &root, &mut steps)?;
                for step in steps {
                    match step {
                        Step::Folder(there) => {
                            if absent(&there) {
                                std::fs::create_dir(&there).map_err(|e| io_error(&there, e))?;
                            }
                        }
                        Step::File(from, there) => {
                            // A replaced file keeps its mode, as `write_atomic` keeps it.
                            if let Ok(meta) = std::fs::symlink_metadata(&there) {
                                let _ = std::fs::set_permissions(&from, meta.permissions());
                            }
                            std::fs::rename(&from, &there).map_err(|e| io_error(&there, e))?;
                        }
                    }
                }
                // Only the emptied folders are left in it.
                let _ = std::fs::remove_dir_all(&self.tmp);
            }
        }
        self.landed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.landed {
            return;
        }
        // Our own folder, made exclusively: everything in it is this export's (and
        // `remove_dir_all` never follows a link out of it).
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
        for folder in &self.made {
            // Only if still empty: what someone else put there meanwhile stays.
            let _ = std::fs::remove_dir(folder);
        }
    }
}

/// One move of a merge: a folder to make in the target, or a file to rename into it.
enum Step {
    Folder(PathBuf),
    File(PathBuf, PathBuf),
}

/// The steps that merge the staged folder `from` into `there`, after
/// checking every place they touch: a folder where a file goes, a file where a folder
/// goes, or a symbolic link anywhere is refused before anything moves. A folder comes
/// before what goes in it, and a folder's files after its subfolders (so a list lands
/// after the resources it names, the root index last).
fn plan(from: &Path, there: &Path, steps: &mut Vec<Step>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .and_then(|dir| dir.collect::<std::io::Result<Vec<_>>>())
        .map_err(|e| io_error(from, e))?;
    entries.sort_by_key(|e| e.file_name());
    let mut files = Vec::new();
    for entry in entries {
        let (staged, place) = (entry.path(), there.join(entry.file_name()));
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let found = std::fs::symlink_metadata(&place);
        let refused = match &found {
            Ok(meta) if meta.file_type().is_symlink() => {
                Some("it is a symbolic link (an export writes only inside the folder it is given)")
            }
            Ok(meta) if is_dir && !meta.is_dir() => Some("it is not a directory"),
            Ok(meta) if !is_dir && !meta.is_file() => Some("it is not a regular file"),
            _ => None,
        };
        if let Some(why) = refused {
            return Err(io_error(&place, why));
        }
        if is_dir {
            if found.is_err() {
                steps.push(Step::Folder(place.clone()));
            }
            plan(&staged, &place, steps)?;
        } else {
            files.push(Step::File(staged, place));
        }
    }
    steps.extend(files);
    Ok(())
}
