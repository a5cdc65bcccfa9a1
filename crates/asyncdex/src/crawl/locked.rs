//! A store locked under a running crawl, or one that can no longer be written (a full
//! disk, `ulimit -f`): stop as an interruption does, lose nothing.
//!
//! Opening a store for a crawl checks that it can be written ([`crate::store::Store::open`]),
//! so a store another process holds locked is refused before anything is fetched. A
//! process may take the lock *later*, mid-crawl (an `sqlite3` shell's `BEGIN EXCLUSIVE`,
//! another program's long transaction). Each write then waits for it, a bounded time
//! (the store's busy wait, 5 s); a lock held longer must not cost the crawl its work.
//! Failing outright would: the batch in hand is dropped, and there is no manifest to say
//! what is stored. So the crawl stops as a Ctrl-C stops it:
//!
//! - the batch that could not be written is counted as *not stored* (missing: cancelled
//!   in the manifest, so a rerun fetches it), never as fetched;
//! - the calls in flight are dropped, the rounds end, and nothing more is written;
//! - what earlier batches wrote stays (each was one whole transaction), and the manifest
//!   is returned as usual;
//! - the store records why ([`AsyncStore::gave_up`]): the lock, and how many fetched
//!   resources it left unstored, for the caller to report as an error.
//!
//! A store that can no longer be written at all ([`is_unwritable`]: the disk full, the
//! file at the process's size limit, a file system remounted read-only) is the same
//! kind of stop: waiting would not help, but what was stored is whole and the manifest
//! says what it is. The cause is named (the store's errors add it to SQLite's own words
//! for a write that met `ulimit -f`, only "disk I/O error").

use crate::error::{Error, Result};
use crate::store::{is_locked, is_unwritable, AsyncStore};

/// `Ok(true)` if `written` was, `Ok(false)` if it failed for a lock another process held
/// past the wait (recorded in the store, saying how many fetched resources that left
/// unstored: [`AsyncStore::gave_up`]), the error otherwise.
pub(super) fn kept(store: &AsyncStore, written: Result<()>, unstored: usize) -> Result<bool> {
    match written {
        Ok(()) => Ok(true),
        // The wait was cut short by Ctrl-C: the crawl is stopping anyway, as interrupted.
        Err(e) if e.kind() == crate::ErrorKind::Cancelled => Ok(false),
        Err(e) if is_locked(&e) || is_unwritable(&e) => {
            let lost = match unstored {
                0 => String::new(),
                n => format!(", {n} fetched resources not stored"),
            };
            let cause = match is_unwritable(&e) {
                true => format!("the store can no longer be written ({e})"),
                false => e.to_string(),
            };
            let why = format!("{cause}; the crawl stopped{lost}");
            store.give_up(Error::new(e.kind(), why).with_source(e));
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
