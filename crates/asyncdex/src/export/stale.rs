//! What a killed export leaves behind, and how the next one tells it from a live export.
//!
//! An export writes into a hidden temporary folder ([`super::staging`]) and removes it when
//! it fails or is stopped. A process killed outright (`kill -9`, the OOM killer, a power
//! cut) removes nothing: its folder stays beside the target (`.site.export-asyncdex.PID.N`)
//! or inside it (`site/.export-asyncdex.PID.N`). The next export into that target removes
//! such leftovers before it writes, but only what it can *prove* is a dead export's:
//!
//! - **the name**: the exact pattern an export gives its folder for this target
//!   (`.site.export-asyncdex.` or, inside, `.export-asyncdex.`, then `PID.N`, digits only);
//! - **the marker**: a file [`MARKER`] inside it, a real folder (not a link). An export
//!   writes the marker into its folder only once it holds the folder's lock, so a folder
//!   with the name and no marker (someone else's, an older asyncdex's) is never touched;
//! - **the lock**: every export holds a `flock(2)` on its own folder for as long as it
//!   lives ([`Claim`]), and the kernel drops it when the process dies, however it dies.
//!   A folder whose lock can be taken has no live export behind it. The PID in the name
//!   proves nothing (PIDs are reused); the lock is the proof, and it is held (by the
//!   sweeper) while the folder is removed, so two exports sweeping at once cannot both
//!   remove it, and neither removes a live one.
//!
//! Each removed folder is reported ([`super::ExportReport::stale_removed`]), so the user
//! learns where the litter came from. Elsewhere than Unix there is no lock to prove a
//! folder dead, and nothing is removed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::io_error;
use super::landing::{try_hold, Landing};
use crate::error::Result;

/// The file that marks a folder as an export's temporary folder (see the module docs).
pub(super) const MARKER: &str = ".asyncdex-export-staging";

/// What every export folder's name holds after its prefix (`.site` or nothing).
const INFIX: &str = ".export-asyncdex.";

/// A live export's claim on its temporary folder: the lock that tells the next export
/// this folder is in use. Dropping it (or the process dying) releases it.
pub(super) struct Claim {
    _lock: Landing,
}

/// Locks the freshly made temporary folder `tmp`, then marks it ([`MARKER`]) as an export's
/// for `target`: marked only once locked, so a marked folder without a lock is a dead one.
pub(super) fn claim(tmp: &Path, target: &Path) -> Result<Claim> {
    let lock = try_hold(tmp)?.ok_or_else(|| io_error(tmp, "another process locked it"))?;
    mark(tmp, target)?;
    Ok(Claim { _lock: lock })
}

/// Writes the [`MARKER`] into `tmp` (again, after [`unmark`] when a rename was refused).
pub(super) fn mark(tmp: &Path, target: &Path) -> Result<()> {
    let marker = tmp.join(MARKER);
    let text = format!(
        "a temporary folder of an asyncdex export to {}: removed by the next export there once no process holds it\n",
        target.display()
    );
    std::fs::write(&marker, text).map_err(|e| io_error(&marker, e))
}

/// Takes the [`MARKER`] out of `tmp` before it becomes the target itself.
pub(super) fn unmark(tmp: &Path) -> Result<()> {
    let marker = tmp.join(MARKER);
    std::fs::remove_file(&marker).map_err(|e| io_error(&marker, e))
}

/// `prefix` + `.export-asyncdex.PID.N`, digits only: the name an export of that prefix
/// gives its folder.
fn is_export_name(name: &OsStr, prefix: &str) -> bool {
    let Some(rest) = name
        .to_str()
        .and_then(|n| n.strip_prefix(prefix))
        .and_then(|n| n.strip_prefix(INFIX))
    else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    rest.split_once('.')
        .is_some_and(|(pid, n)| digits(pid) && digits(n))
}

/// Removes, from `folder`, every temporary folder named `prefix.export-asyncdex.PID.N` that
/// is provably a dead export's (see the module docs); returns the ones removed.
pub(super) fn sweep(folder: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        if !is_export_name(&entry.file_name(), prefix) {
            continue;
        }
        let path = entry.path();
        let real_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        let marked = std::fs::symlink_metadata(path.join(MARKER)).is_ok_and(|m| m.is_file());
        if !(cfg!(unix) && real_dir && marked) {
            continue;
        }
        // Free: no process holds it. Held while it goes, so no one else sweeps it too.
        let Ok(Some(_dead)) = try_hold(&path) else {
            continue;
        };
        if std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        } else {
            tracing::debug!("a dead export's folder {} stays", path.display());
        }
    }
    removed
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_a_marked_unlocked_folder_of_the_pattern_goes() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("site");
        let make = |name: &str, marked: bool| {
            let path = dir.path().join(name);
            std::fs::create_dir(&path).unwrap();
            std::fs::write(path.join("0"), "a file").unwrap();
            if marked {
                mark(&path, &target).unwrap();
            }
            path
        };
        let dead = make(".site.export-asyncdex.4242.0", true);
        let unmarked = make(".site.export-asyncdex.4242.1", false);
        let other_target = make(".sites.export-asyncdex.4242.0", true);
        let not_ours = make(".site.export-asyncdex.4242.x", true);
        let live = make(".site.export-asyncdex.4243.0", false);
        let held = claim(&live, &target).unwrap();
        assert_eq!(sweep(dir.path(), ".site"), std::slice::from_ref(&dead));
        assert!(!dead.exists());
        for kept in [&unmarked, &other_target, &not_ours, &live] {
            assert!(kept.join("0").exists(), "{}", kept.display());
        }
        // Once its export is gone, the live one is a dead one too.
        drop(held);
        assert_eq!(sweep(dir.path(), ".site"), [live]);
    }

    #[test]
    fn names_are_matched_exactly() {
        let ok = |name: &str, prefix| is_export_name(OsStr::new(name), prefix);
        assert!(ok(".export-asyncdex.1.0", ""));
        assert!(ok(".a.b.export-asyncdex.12.345", ".a.b"));
        for bad in [
            ".export-asyncdex.1",
            ".export-asyncdex..0",
            ".export-asyncdex.1.0.0",
            ".export-asyncdex.-1.0",
            "x.export-asyncdex.1.0",
        ] {
            assert!(!ok(bad, ""), "{bad}");
        }
    }
}
