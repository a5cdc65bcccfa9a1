//! One export lands in a folder at a time: a lock on the folder while files move in.
//!
//! Two exports into one folder at once (two shells, a cron job and a person, a script
//! started twice) each build their files out of sight ([`super::staging`]), and both then
//! put them in place. A *new* folder appears in one `rename`, and a rename cannot half
//! happen: the first export to finish makes the folder, and the later one finds it made
//! and merges into it like an export refreshing an earlier one. A *merge* moves thousands
//! of files one by one; two merges at once would interleave their renames, and the folder
//! would end a mix of both exports (this file from one store, that one from the other) that
//! neither wrote. So a merge holds an exclusive lock on the folder while it moves its
//! files in: the merges take turns, each lands whole, and the last to land is what the
//! folder holds.
//!
//! The lock is `flock(2)` on the folder itself (a directory can be opened and locked like
//! a file): it creates nothing, leaves nothing behind, and the kernel drops it when the
//! process ends however it ends (`kill -9` too), so a crashed export never blocks the next
//! one. It is advisory: it orders asyncdex exports, not other programs writing there.
//!
//! Waiting for the lock is bounded ([`WAIT`]: far longer than a merge takes; the whole
//! API, 15 000 files renamed over an earlier export's, takes seconds) and asks
//! the export's `stop` as it waits, so a Ctrl-C while another export lands still stops
//! this one at once, with nothing exported. Elsewhere than Unix there is no lock and
//! merges are not ordered.

use std::path::Path;
use std::time::{Duration, Instant};

use super::io_error;
use crate::error::{Error, ErrorKind, Result};

/// How long an export waits for another one to finish landing in the same folder.
pub(super) const WAIT: Duration = Duration::from_secs(600);

/// How often the lock is tried again while another export holds it.
const RETRY: Duration = Duration::from_millis(10);

/// The lock on a folder, held until it is dropped.
pub(super) struct Landing {
    /// The open folder the lock is on; closing it releases the lock.
    #[cfg(unix)]
    _folder: std::fs::File,
}

/// Takes the lock on `folder`, waiting up to [`WAIT`] for another export to finish
/// landing there; `stop` answering `true` meanwhile gives up with a
/// [`ErrorKind::Cancelled`] error.
pub(super) fn hold(folder: &Path, stop: &dyn Fn() -> bool) -> Result<Landing> {
    let started = Instant::now();
    loop {
        if let Some(landing) = try_hold(folder)? {
            return Ok(landing);
        }
        if stop() {
            return Err(Error::new(ErrorKind::Cancelled, "stopped"));
        }
        if started.elapsed() >= WAIT {
            return Err(io_error(
                folder,
                format!(
                    "another export has been putting its files there for {} s",
                    WAIT.as_secs()
                ),
            ));
        }
        std::thread::sleep(RETRY);
    }
}

/// The lock if it is free now, `None` if another process holds it (or another open of
/// the folder in this one). Also how an export claims its temporary folder
/// ([`super::stale`]).
#[cfg(unix)]
pub(super) fn try_hold(folder: &Path) -> Result<Option<Landing>> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(folder).map_err(|e| io_error(folder, e))?;
    // SAFETY: flock on a descriptor this function owns, open for its whole call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(Landing { _folder: file }));
    }
    match std::io::Error::last_os_error() {
        e if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        e if e.kind() == std::io::ErrorKind::Interrupted => Ok(None),
        e => Err(io_error(folder, format!("cannot lock it: {e}"))),
    }
}

#[cfg(not(unix))]
pub(super) fn try_hold(_folder: &Path) -> Result<Option<Landing>> {
    Ok(Some(Landing {}))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_second_holder_waits_and_a_stop_ends_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let first = hold(dir.path(), &|| false).unwrap();
        // flock locks belong to the open file: a second open, even in this process,
        // waits as another process would.
        assert!(try_hold(dir.path()).unwrap().is_none());
        let asked = AtomicBool::new(false);
        let err = hold(dir.path(), &|| asked.swap(true, Ordering::SeqCst))
            .err()
            .expect("stopped while the lock is held");
        assert_eq!(err.kind(), ErrorKind::Cancelled);
        drop(first);
        assert!(
            hold(dir.path(), &|| true).is_ok(),
            "free again once dropped"
        );
    }
}
