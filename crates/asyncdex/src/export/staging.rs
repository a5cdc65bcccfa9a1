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
//!   it (`--to a/b/site` with no `a`) are removed again if the export fails. Should another
//!   export have made `site` meanwhile, the rename is refused and this one merges into
//!   it instead, as below.
//! - **the target is a folder already** (an earlier export being refreshed, or an empty
//!   folder): an export never deletes what it did not write, so it cannot swap the folder
//!   for a new one (the user's `index.html` beside `data/` would go). The temporary folder
//!   is made *inside* it (`site/.export-asyncdex.PID.N`: the same file system even when
//!   `site` is a mount point), and holds the files flat (`0`, `1`, ...: a folder per
//!   resource made and removed again would cost more than the files). Then every place is
//!   checked (a symbolic link, or a folder where a file goes, is refused before anything
//!   moves), the missing folders are made, and each file is renamed over its old version
//!   in the order written, so a list appears after the resources it names and the root
//!   index last. A server already serving the folder sees each file old or new, never
//!   half; files of an earlier export that this one does not have are left as they were,
//!   as they always were. Two merges into one folder take turns ([`super::landing`]), so
//!   the folder never ends a mix of two exports' files. Before the first file moves, the
//!   folder's record ([`super::record`]) names both exports' files: a merge killed
//!   midway leaves only files a record names, which the next export replaces or removes.
//!
//! On failure, or when the caller asks the export to stop (a user's Ctrl-C, passed in as
//! a plain `stop` question: see [`super::export_until`]), the temporary folder is removed
//! ([`Drop`]), and the target is as it was. Stopping is checked before each file is
//! written, never while the export is put in place: that is the moment it is committed.
//! A process killed outright (`kill -9`, a second Ctrl-C) cannot clean up: its temporary
//! folder, named as above, stays, and the target is still untouched. The next export to
//! that target removes it before writing, once it has proved no live export holds it
//! ([`super::stale`]: every temporary folder is locked by its export and marked).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::stale::{self, Claim};
use super::{enter, io_error, landing, record};
use crate::error::{Error, ErrorKind, Result};
use crate::files::write_atomic;

/// Where an export is written, and how it is put in place.
pub(super) struct Staging<'a> {
    /// Asked before each file: `true` stops the export (see [`super::export_until`]).
    stop: &'a dyn Fn() -> bool,
    /// The folder the user named.
    target: PathBuf,
    /// The temporary folder the files are written into (canonical).
    tmp: PathBuf,
    /// `Some(canonical target)` when the target existed, to merge into.
    merge_into: Option<PathBuf>,
    /// Folders made on the way to a new target, deepest first: removed on failure.
    made: Vec<PathBuf>,
    /// A new target: the folders made in the temporary one so far, by relative path.
    entered: HashMap<String, PathBuf>,
    /// Each file written (flat in the temporary folder when merging, in its place in the
    /// layout otherwise) and where it goes, relative to the target, in the order written.
    staged: Vec<(PathBuf, String)>,
    /// Put in place: nothing to clean up.
    landed: bool,
    /// This export's lock on its temporary folder, telling the next one it is alive.
    claim: Option<Claim>,
    /// Temporary folders of killed exports to this target, removed before this one began.
    pub(super) stale_removed: Vec<PathBuf>,
}

/// A unique hidden name in this process, `PREFIX.export-asyncdex.PID.N`.
fn temp_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}.export-asyncdex.{}.{n}", std::process::id())
}

/// The folder `target` is in (`.` for a bare name).
fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Where an export to `target`, new at the time, put its temporary folder: the canonical
/// parent, and the folder name's prefix (`.site`).
fn beside(target: &Path) -> Option<(PathBuf, String)> {
    let name = target.file_name()?;
    let parent = parent_of(target).canonicalize().ok()?;
    Some((parent, format!(".{}", name.to_string_lossy())))
}

fn absent(path: &Path) -> bool {
    matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

impl<'a> Staging<'a> {
    /// A temporary folder for an export to `target`: beside it if it does not exist yet,
    /// inside it if it is a folder already; anything else at `target` is refused.
    pub(super) fn new(target: &Path, stop: &'a dyn Fn() -> bool) -> Result<Staging<'a>> {
        let mut staging = Staging {
            stop,
            target: target.to_owned(),
            tmp: PathBuf::new(),
            merge_into: None,
            made: Vec::new(),
            entered: HashMap::new(),
            staged: Vec::new(),
            landed: false,
            claim: None,
            stale_removed: Vec::new(),
        };
        let (folder, name) = match std::fs::metadata(target) {
            // A link the user gave as the target is followed, as it always was.
            Ok(meta) if meta.is_dir() => {
                let real = target.canonicalize().map_err(|e| io_error(target, e))?;
                staging.merge_into = Some(real.clone());
                // A killed export may have left its folder inside, or beside (when the
                // target was new to it).
                staging.stale_removed = stale::sweep(&real, "");
                if let Some((parent, prefix)) = beside(target) {
                    staging.stale_removed.extend(stale::sweep(&parent, &prefix));
                }
                (real, temp_name(""))
            }
            Ok(_) => return Err(io_error(target, "it is not a directory")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && absent(target) => {
                let Some(name) = target.file_name() else {
                    return Err(io_error(target, "it names no folder"));
                };
                let parent = parent_of(target);
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
                let prefix = format!(".{}", name.to_string_lossy());
                staging.stale_removed = stale::sweep(&real, &prefix);
                (real, temp_name(&prefix))
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
        staging.claim = Some(stale::claim(&staging.tmp, target)?);
        Ok(staging)
    }

    /// Writes one file of the export, `rel` under its root (`data/api/v2/type/13/index.json`).
    pub(super) fn put(&mut self, rel: &str, body: &[u8]) -> Result<()> {
        self.unstopped()?;
        super::confined(rel)?;
        if self.merge_into.is_some() {
            let from = self.tmp.join(self.staged.len().to_string());
            write_atomic(&from, body)?;
            self.staged.push((from, rel.to_owned()));
            return Ok(());
        }
        let (folder, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let path = self.folder(folder)?.join(name);
        write_atomic(&path, body)?;
        // Kept for a merge after all, should another export make the target first.
        self.staged.push((path, rel.to_owned()));
        Ok(())
    }

    /// The folder `rel` in the temporary one, made (each step a real folder) if missing.
    fn folder(&mut self, rel: &str) -> Result<PathBuf> {
        if rel.is_empty() {
            return Ok(self.tmp.clone());
        }
        if let Some(path) = self.entered.get(rel) {
            return Ok(path.clone());
        }
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let parent = self.folder(parent)?;
        let path = enter(&self.tmp, &parent, name)?;
        self.entered.insert(rel.to_owned(), path.clone());
        Ok(path)
    }

    /// `Ok` unless the export was asked to stop: then a [`ErrorKind::Cancelled`] error.
    pub(super) fn unstopped(&self) -> Result<()> {
        match (self.stop)() {
            false => Ok(()),
            true => Err(Error::new(ErrorKind::Cancelled, "stopped")),
        }
    }

    /// `e`, which stopped the export before anything was put in place, saying so. A stop
    /// that was asked for is no failure: its message is only what became of the target.
    pub(super) fn nothing_written(&self, e: Error) -> Error {
        let target = self.target.display();
        let how = match self.merge_into {
            Some(_) => format!("{target} is as it was"),
            None => format!("{target} was not created"),
        };
        match e.kind() {
            ErrorKind::Cancelled => Error::new(e.kind(), format!("nothing exported, {how}")),
            _ => Error::new(e.kind(), format!("{e} (nothing exported: {how})")),
        }
    }

    /// Puts the export in place: one rename to a new target, or a merge into an
    /// existing one (see the module docs). A new target that another export made while
    /// this one was written is merged into instead; merges take turns ([`landing`]).
    /// Whatever fails before the first file moves says that nothing was exported.
    ///
    /// Returns how many files of the export before it (named in its [`record`]) it
    /// removed, not having written them again.
    pub(super) fn land(mut self) -> Result<usize> {
        let written = record::body(self.staged.iter().map(|(_, rel)| rel.as_str()));
        let root = match self.merge_into.clone() {
            Some(root) => root,
            // The marker goes first: it is no file of the export's; the record goes in.
            None => match stale::unmark(&self.tmp)
                .and_then(|()| write_atomic(&self.tmp.join(record::RECORD), &written))
                .map_err(|e| self.nothing_written(e))
                .map(|()| std::fs::rename(&self.tmp, &self.target))?
            {
                Ok(()) => {
                    self.landed = true;
                    // The folder is the target now: its lock would hold up a merge there.
                    self.claim = None;
                    return Ok(0);
                }
                Err(e) if made_meanwhile(&e, &self.target) => {
                    // Still a temporary folder: marked again, for a sweep should this die.
                    let _ = stale::mark(&self.tmp, &self.target);
                    let root = self.target.canonicalize();
                    let root = root.map_err(|e| self.nothing_written(io_error(&self.target, e)))?;
                    self.merge_into = Some(root.clone());
                    root
                }
                Err(e) => {
                    let why = format!("cannot move the export into place: {e}");
                    return Err(self.nothing_written(io_error(&self.target, why)));
                }
            },
        };
        let _turn = landing::hold(&root, self.stop).map_err(|e| self.nothing_written(e))?;
        let earlier = record::read(&root).map_err(|e| self.nothing_written(e))?;
        let missing = self
            .check_places(&root, &earlier)
            .map_err(|e| self.nothing_written(e))?;
        for folder in missing {
            match std::fs::create_dir(&folder) {
                // Made meanwhile by something else than an export: a real folder will do.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && real_dir(&folder) => {}
                made => made.map_err(|e| io_error(&folder, e))?,
            }
        }
        // Before the first file moves, the record names every file the landing may leave
        // behind: the earlier export's and this one's. A landing killed midway (kill -9, a
        // power cut) then leaves only files a record names, which the next export replaces
        // or removes as an earlier export's, never a half-landed export nobody names
        // (hp11 B-F9). The record of this export alone is written once all have landed.
        let intent = record::body(
            earlier.iter().map(String::as_str).chain(
                self.staged
                    .iter()
                    .map(|(_, rel)| rel.as_str())
                    .filter(|rel| !earlier.contains(*rel)),
            ),
        );
        write_atomic(&root.join(record::RECORD), &intent).map_err(|e| self.nothing_written(e))?;
        for (moved, (from, rel)) in self.staged.iter().enumerate() {
            killed_here(moved)?;
            let there = root.join(rel);
            // A replaced file keeps its mode, as `write_atomic` keeps it.
            if let Ok(meta) = std::fs::symlink_metadata(&there) {
                let _ = std::fs::set_permissions(from, meta.permissions());
            }
            std::fs::rename(from, &there).map_err(|e| io_error(&there, e))?;
        }
        // Empty now (or empty folders only, and a record, when a new target became a merge).
        let _ = std::fs::remove_dir_all(&self.tmp);
        self.landed = true;
        // What the export before wrote and this one did not: gone, as from a new folder.
        let now: HashSet<&str> = self.staged.iter().map(|(_, rel)| rel.as_str()).collect();
        let removed = earlier
            .iter()
            .filter(|rel| !now.contains(rel.as_str()))
            .filter(|rel| record::remove_inside(&root, rel))
            .count();
        write_atomic(&root.join(record::RECORD), &written)?;
        Ok(removed)
    }
}

/// Where a test stops a landing after `moved` files, as a `kill -9` would.
#[cfg(test)]
fn killed_here(moved: usize) -> Result<()> {
    match tests::KILLED_AFTER.with(|k| k.get()) == Some(moved) {
        true => Err(Error::new(ErrorKind::Io, "killed (a test)")),
        false => Ok(()),
    }
}

/// Nowhere outside tests.
#[cfg(not(test))]
fn killed_here(_moved: usize) -> Result<()> {
    Ok(())
}

/// Whether a rename onto `target` failed because a folder is there now: made by another
/// export (or anyone) after this one started.
fn made_meanwhile(e: &std::io::Error, target: &Path) -> bool {
    use std::io::ErrorKind::{AlreadyExists, DirectoryNotEmpty};
    matches!(e.kind(), AlreadyExists | DirectoryNotEmpty) && real_dir(target)
}

/// A folder, not a link to one.
fn real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

impl Drop for Staging<'_> {
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

impl Staging<'_> {
    /// Checks every place a merge into `root` touches, before anything moves: each folder
    /// on the way must be a real folder or missing, each file's place missing or a
    /// regular file the export before wrote (named in its record, `earlier`); a symbolic
    /// link anywhere is refused. Returns the folders to make, each after its parent.
    fn check_places(&self, root: &Path, earlier: &HashSet<String>) -> Result<Vec<PathBuf>> {
        let link = "it is a symbolic link (an export writes only inside the folder it is given)";
        let mut seen = HashSet::new();
        let mut missing = Vec::new();
        for (_, rel) in &self.staged {
            let mut at = 0;
            while let Some(slash) = rel[at..].find('/') {
                at += slash + 1;
                let folder = &rel[..at - 1];
                if !seen.insert(folder) {
                    continue;
                }
                let place = root.join(folder);
                match std::fs::symlink_metadata(&place) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        return Err(io_error(&place, link))
                    }
                    Ok(meta) if !meta.is_dir() => {
                        return Err(io_error(&place, "it is not a directory"))
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(place),
                    Err(e) => return Err(io_error(&place, e)),
                }
            }
            let place = root.join(rel);
            match std::fs::symlink_metadata(&place) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(io_error(&place, link)),
                Ok(meta) if !meta.is_file() => {
                    return Err(io_error(&place, "it is not a regular file"))
                }
                Ok(_) if !earlier.contains(rel) => {
                    return Err(io_error(
                        &place,
                        "a file is there that no export wrote (an export replaces only its own files: move it, or export into a new or empty folder)",
                    ))
                }
                _ => {}
            }
        }
        Ok(missing)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use crate::store::{Row, Store};

    thread_local! {
        /// A landing that stops after this many files moved, as a `kill -9` would.
        pub(super) static KILLED_AFTER: Cell<Option<usize>> = const { Cell::new(None) };
    }

    fn store(endpoints: &[(&str, i32)]) -> Store {
        let store = Store::open_in_memory().unwrap();
        for (endpoint, n) in endpoints {
            for id in 1..=*n {
                let body = format!(r#"{{"id":{id},"name":"{endpoint}-{id}"}}"#).into_bytes();
                let row = Row::new(endpoint, id, Some(format!("{endpoint}-{id}")), body);
                store.put(&[row]).unwrap();
            }
        }
        store
    }

    /// Every file under `dir`, relative, sorted.
    fn files(dir: &std::path::Path) -> Vec<String> {
        let mut all = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(at) = todo.pop() {
            for entry in std::fs::read_dir(&at).unwrap() {
                let path = entry.unwrap().path();
                match path.is_dir() {
                    true => todo.push(path),
                    false => all.push(path.strip_prefix(dir).unwrap().display().to_string()),
                }
            }
        }
        all.sort();
        all
    }

    #[test]
    fn a_landing_killed_midway_leaves_only_files_the_next_export_replaces_or_removes() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        let small = store(&[("type", 2)]);
        crate::export::export(&small, &site).unwrap();
        let before = files(&site);
        // A bigger export into it, killed after three files moved: half of it landed.
        KILLED_AFTER.with(|k| k.set(Some(3)));
        let big = store(&[("type", 2), ("ability", 4)]);
        assert!(crate::export::export(&big, &site).is_err());
        KILLED_AFTER.with(|k| k.set(None));
        assert!(
            files(&site).iter().any(|f| f.contains("ability/")),
            "half landed"
        );
        // The next export of the small store leaves the folder as it left it before.
        crate::export::export(&small, &site).unwrap();
        assert_eq!(files(&site), before);
    }
}
