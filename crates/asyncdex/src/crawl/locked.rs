//! A store locked under a running crawl: stop as an interruption does, lose nothing.
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

use crate::error::{Error, Result};
use crate::store::{is_locked, AsyncStore};

/// `Ok(true)` if `written` was, `Ok(false)` if it failed for a lock another process held
/// past the wait (recorded in the store, saying how many fetched resources that left
/// unstored: [`AsyncStore::gave_up`]), the error otherwise.
pub(super) fn kept(store: &AsyncStore, written: Result<()>, unstored: usize) -> Result<bool> {
    match written {
        Ok(()) => Ok(true),
        // The wait was cut short by Ctrl-C: the crawl is stopping anyway, as interrupted.
        Err(e) if e.kind() == crate::ErrorKind::Cancelled => Ok(false),
        Err(e) if is_locked(&e) => {
            let lost = match unstored {
                0 => String::new(),
                n => format!(", {n} fetched resources not stored"),
            };
            let why = format!("{e}; the crawl stopped{lost}");
            store.give_up(Error::new(e.kind(), why).with_source(e));
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
