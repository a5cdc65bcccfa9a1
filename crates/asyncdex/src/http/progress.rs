//! How far a call got: what its deadline's error can truthfully say.
//!
//! A call's deadline ([`HttpOptions::time_limit`](super::HttpOptions::time_limit)) is
//! one timer around the whole call, and when it fires the call's future is dropped, with
//! everything it knew. Yet "no answer within 5 s" is only true if no answer came: a server
//! that sent its headers and then stalled in the middle of the body did answer. So the
//! call keeps a [`Progress`] outside the timer, on the caller's side: the body reader
//! ([`super::body::Collect`]) marks it when a hop's headers have arrived and counts the
//! body's bytes, and the error made when the timer fires says which case it was:
//!
//! - `timed out waiting for URL: no answer within 5.0 s` (no headers came);
//! - `timed out waiting for URL: the answer came, but its body did not finish within
//!   5.0 s (1 byte read)`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::failure;
use crate::error::Error;

/// How far one call got: whether the current hop's headers came, and how many bytes of
/// its body. Shared by reference between the call and whoever times it.
#[derive(Debug, Default)]
pub(super) struct Progress {
    answered: AtomicBool,
    read: AtomicU64,
}

impl Progress {
    /// A hop's headers arrived: its body starts (a redirect's next hop starts again).
    pub(super) fn answered(&self) {
        self.read.store(0, Relaxed);
        self.answered.store(true, Relaxed);
    }

    /// A redirect was followed: the next hop has not answered yet, whatever the last one
    /// sent (its own headers and body are not the answer: hp11 A-F1).
    pub(super) fn next_hop(&self) {
        self.read.store(0, Relaxed);
        self.answered.store(false, Relaxed);
    }

    /// `n` more bytes of the body arrived.
    pub(super) fn read(&self, n: u64) {
        self.read.fetch_add(n, Relaxed);
    }

    /// The error for a deadline of `limit` passed on the call to `url`, worded by how far
    /// it got.
    pub(super) fn timed_out(&self, url: &str, limit: Duration) -> Error {
        if self.answered.load(Relaxed) {
            failure::body_timed_out(url, limit, self.read.load(Relaxed))
        } else {
            failure::timed_out(url, limit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_says_whether_an_answer_came() {
        let (url, limit) = ("http://x/", Duration::from_millis(300));
        let progress = Progress::default();
        let e = progress.timed_out(url, limit);
        assert_eq!(
            e.to_string(),
            "timed out waiting for http://x/: no answer within 0.3 s"
        );
        progress.answered();
        progress.read(1);
        let e = progress.timed_out(url, limit);
        assert_eq!(e.kind(), crate::ErrorKind::Timeout);
        assert_eq!(
            e.to_string(),
            "timed out waiting for http://x/: the answer came, but its body did not finish within 0.3 s (1 byte read)"
        );
        progress.read(41);
        assert!(progress
            .timed_out(url, limit)
            .to_string()
            .contains("(42 bytes read)"));
        // A redirect's own answer is not the answer: the next hop starts with none.
        progress.next_hop();
        assert!(progress
            .timed_out(url, limit)
            .to_string()
            .ends_with("no answer within 0.3 s"));
    }
}
