//! The send timeout: a client that does not read its answers loses its connection.
//!
//! An answer the server has made sits in memory until the client reads it. A client that
//! reads nothing, or a byte a second, holds it as long as it likes, and a few thousand such
//! clients hold the whole answer budget: every honest client is then answered 503. So,
//! as nginx's `send_timeout` does, the server watches each connection's *write progress*
//! while it owes answers, and drops the connection of a reader that does not keep up; its
//! answers (and their charges) go with it. Two rules, checked a few times per timeout:
//!
//! - **The connection** must keep writing: while it owes answer bytes, every byte written
//!   to its socket earns `1 / min_send_rate` seconds of credit, up to
//!   [`ServeLimits::send_timeout`](super::ServeLimits) ahead; when the credit runs out the
//!   connection is dropped. A client that stops reading is dropped one send timeout after
//!   its socket stopped taking bytes; one that reads a byte a second, shortly after (a
//!   byte a second earns a millisecond a second). A client that reads at `min_send_rate`
//!   or faster is never dropped, however long its answer. [`Progress`] counts the bytes,
//!   wrapping the socket.
//! - **Each answer** must keep being taken: an HTTP/2 stream whose client opens no window
//!   is never written at all, while the connection's other streams may flow. An answer is
//!   handed to the connection in [`CHUNK`]-sized pieces, and one whose next piece has not
//!   been asked for in a whole send timeout ([`AnswerClock`]) drops its connection.
//!
//! [`SendWatch`] is the rule, apart from any clock or socket, so it is tested alone.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

/// The size of the pieces an answer is handed to its connection in (HTTP/2's default
/// frame size). hyper asks for the next piece only once the connection can take it, so
/// an answer's progress is seen at this grain.
pub(super) const CHUNK: usize = 16 * 1024;

/// A socket that counts the bytes written to it.
pub(super) struct Progress<T> {
    pub(super) inner: T,
    pub(super) written: Arc<AtomicU64>,
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Progress<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> Progress<T> {
    fn count(&self, wrote: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = wrote {
            self.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        wrote
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Progress<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let wrote = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.count(wrote)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let wrote = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.count(wrote)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// When an answer's next piece was last asked for, and whether it has all been taken.
#[derive(Debug)]
pub(super) struct AnswerClock {
    /// Milliseconds since the connection's epoch.
    asked: AtomicU64,
    done: AtomicBool,
}

impl AnswerClock {
    pub(super) fn new(now_ms: u64) -> AnswerClock {
        AnswerClock {
            asked: AtomicU64::new(now_ms),
            done: AtomicBool::new(false),
        }
    }

    /// The connection asked for the next piece at `now_ms`.
    pub(super) fn asked(&self, now_ms: u64) {
        self.asked.store(now_ms, Ordering::Relaxed);
    }

    /// The answer is all taken (or dropped).
    pub(super) fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    pub(super) fn is_done(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }

    /// Milliseconds since the connection's epoch at which a piece was last asked for.
    pub(super) fn last_asked(&self) -> u64 {
        self.asked.load(Ordering::Relaxed)
    }
}

/// Milliseconds from `epoch` to now.
pub(super) fn ms_since(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

/// The connection rule: write credit, earned by bytes written, spent by time.
#[derive(Debug)]
pub(super) struct SendWatch {
    timeout: Duration,
    /// Bytes per second that keep a connection even; 0: any progress restarts the timeout.
    min_rate: u64,
    deadline: Instant,
    written: u64,
}

impl SendWatch {
    pub(super) fn new(timeout: Duration, min_rate: u64, now: Instant) -> SendWatch {
        SendWatch {
            timeout,
            min_rate,
            deadline: now + timeout,
            written: 0,
        }
    }

    /// Looks at the connection at `now`: `owes` if it has answer bytes not yet written,
    /// `written` its bytes written so far. False once it has run out of credit.
    pub(super) fn keeps_up(&mut self, now: Instant, owes: bool, written: u64) -> bool {
        let new = written.saturating_sub(self.written);
        self.written = written;
        let most = now + self.timeout;
        if !owes {
            self.deadline = most; // nothing to send: nothing to keep up with
            return true;
        }
        self.deadline = match (new, self.min_rate) {
            (0, _) => self.deadline,
            (_, 0) => most,
            (n, rate) => {
                (self.deadline + Duration::from_secs_f64(n as f64 / rate as f64)).min(most)
            }
        };
        now < self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(60);

    /// Runs `watch` one tick a second for `secs`, writing `rate` bytes a second; the
    /// second at which it gave up, if it did.
    fn dropped_after(watch: &mut SendWatch, start: Instant, rate: u64, secs: u64) -> Option<u64> {
        (1..=secs).find(|&s| !watch.keeps_up(start + Duration::from_secs(s), true, rate * s))
    }

    #[test]
    fn a_reader_that_stops_is_dropped_one_timeout_later() {
        let start = Instant::now();
        let mut watch = SendWatch::new(T, 1024, start);
        assert_eq!(dropped_after(&mut watch, start, 0, 120), Some(60));
    }

    #[test]
    fn a_byte_a_second_buys_a_millisecond_a_second() {
        let start = Instant::now();
        let mut watch = SendWatch::new(T, 1024, start);
        let at = dropped_after(&mut watch, start, 1, 120).expect("dropped");
        assert!((60..62).contains(&at), "dropped at {at} s");
    }

    #[test]
    fn a_reader_at_the_minimum_rate_is_kept_however_long_it_reads() {
        let start = Instant::now();
        let mut watch = SendWatch::new(T, 1024, start);
        assert_eq!(dropped_after(&mut watch, start, 1024, 3600), None);
    }

    #[test]
    fn a_connection_that_owes_nothing_is_never_dropped_and_starts_afresh() {
        let start = Instant::now();
        let mut watch = SendWatch::new(T, 1024, start);
        for s in 1..=600 {
            assert!(watch.keeps_up(start + Duration::from_secs(s), false, 0));
        }
        let now = start + Duration::from_secs(600);
        assert!(watch.keeps_up(now + Duration::from_secs(59), true, 0));
        assert!(!watch.keeps_up(now + Duration::from_secs(60), true, 0));
    }

    #[test]
    fn with_no_minimum_rate_any_progress_restarts_the_timeout() {
        let start = Instant::now();
        let mut watch = SendWatch::new(T, 0, start);
        assert_eq!(dropped_after(&mut watch, start, 1, 600), None);
        let mut watch = SendWatch::new(T, 0, start);
        assert_eq!(dropped_after(&mut watch, start, 0, 120), Some(60));
    }
}
