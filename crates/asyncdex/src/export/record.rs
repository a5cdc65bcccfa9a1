//! What an export wrote, kept in the folder, so that the next export into it replaces
//! only files an export wrote there.
//!
//! Exporting into a folder that already holds files is a *merge* (the `staging` module):
//! each file is renamed over its old version. Without a record, that rename would replace
//! whatever is at the path: a hand-written `index.json`, a file of another tool, and
//! keep the files of an earlier export that this one no longer has (the folder then
//! serves a mix no store holds). So every export leaves [`RECORD`] at the folder's root:
//! the path of every file it wrote, one a line. The next export into the folder
//!
//! - refuses, before anything moves, a file it would replace that the record does not
//!   name (nothing exported, the folder as it was, the file named);
//! - removes, after its own files are in place, the files the record names that it did
//!   not write again (an endpoint no longer in the store, a resource gone), so the folder
//!   holds exactly the last export, as a new folder would;
//! - writes its own record last.
//!
//! A record is input like any other: at most [`MAX_RECORD`] bytes, each line a path
//! under `data/api/v2` of plain names (as an export writes them), or the record is
//! refused as damaged and nothing is exported. A file it names is removed only if it is a
//! regular file reached through real folders, never through a link.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use super::io_error;
use crate::error::Result;

/// The record's name, at the root of the folder an export wrote.
pub(super) const RECORD: &str = ".asyncdex-export";

/// The record's first line: what it is, and its format's version.
const HEADER: &str = "asyncdex export v1";

/// The largest record read: a million files (the most one crawl stores) of about fifty
/// bytes of path each, and room to spare.
pub(super) const MAX_RECORD: u64 = 128 << 20;

/// The files the record in `root` names; none when there is no record (no export wrote
/// into `root`, or one made before records were kept).
pub(super) fn read(root: &Path) -> Result<HashSet<String>> {
    let path = root.join(RECORD);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(io_error(&path, e)),
    };
    if !meta.is_file() {
        return Err(io_error(
            &path,
            "it is not a regular file (an export's record)",
        ));
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_RECORD + 1).read_to_string(&mut text))
        .map_err(|e| io_error(&path, format!("cannot read the export's record: {e}")))?;
    let damaged = |why: &str| io_error(&path, format!("the export's record is damaged: {why}"));
    if text.len() as u64 > MAX_RECORD {
        return Err(damaged(&format!("it is over {} MiB", MAX_RECORD >> 20)));
    }
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(damaged(&format!("its first line is not {HEADER:?}")));
    }
    lines
        .map(|rel| match super::confined(rel) {
            Ok(()) => Ok(rel.to_owned()),
            Err(_) => Err(damaged(&format!("{rel:?} is not a path an export writes"))),
        })
        .collect()
}

/// The record of an export that wrote `rels`.
pub(super) fn body<'a>(rels: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut text = String::from(HEADER);
    for rel in rels {
        text.push('\n');
        text.push_str(rel);
    }
    text.push('\n');
    text.into_bytes()
}

/// Removes the file `rel` under `root` if it is a regular file reached through real
/// folders (a link on the way, or at it, is left); whether it was removed.
pub(super) fn remove_inside(root: &Path, rel: &str) -> bool {
    let mut at = root.to_path_buf();
    let steps: Vec<&str> = rel.split('/').collect();
    for (i, step) in steps.iter().enumerate() {
        at.push(step);
        let last = i + 1 == steps.len();
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if last && meta.is_file() => return std::fs::remove_file(&at).is_ok(),
            Ok(meta) if !last && meta.is_dir() => {}
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_empty(), "no record, no files");
        let rels = ["data/api/v2/type/13/index.json", "data/api/v2/index.json"];
        std::fs::write(dir.path().join(RECORD), body(rels.iter().copied())).unwrap();
        let read_back = read(dir.path()).unwrap();
        assert_eq!(read_back, rels.iter().map(|r| r.to_string()).collect());
        for damaged in [
            "not a record\n",
            "asyncdex export v1\n../../etc/passwd\n",
            "asyncdex export v1\ndata/api/v2/../x\n",
        ] {
            std::fs::write(dir.path().join(RECORD), damaged).unwrap();
            let e = read(dir.path()).unwrap_err().to_string();
            assert!(e.contains("the export's record is damaged"), "{e}");
        }
    }

    #[test]
    fn only_a_regular_file_reached_through_real_folders_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data/api/v2/type/13")).unwrap();
        std::fs::write(dir.path().join("data/api/v2/type/13/index.json"), "{}").unwrap();
        std::fs::write(outside.path().join("index.json"), "theirs").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("data/api/v2/berry")).unwrap();
        assert!(!remove_inside(dir.path(), "data/api/v2/berry/index.json"));
        assert!(
            outside.path().join("index.json").exists(),
            "removed through a link"
        );
        assert!(remove_inside(dir.path(), "data/api/v2/type/13/index.json"));
        assert!(!dir.path().join("data/api/v2/type/13/index.json").exists());
        assert!(!remove_inside(dir.path(), "data/api/v2/type/13/index.json"));
    }
}
