//! A server that stops answering without closing the connection (a frozen host, a
//! network path that drops packets, a proxy that stopped forwarding) is noticed, and
//! the connection is treated as lost.
//!
//! Nothing in the protocol says "still working": a query whose answer never comes waits
//! forever, and tokio-postgres has no timeout of its own. Two guards, at two levels:
//!
//! - **The kernel** ([`super::wire`] sets them on every TCP socket): keepalive probes
//!   after [`KEEPALIVE_IDLE`] of quiet, and `TCP_USER_TIMEOUT` (data sent and not
//!   acknowledged for [`ANSWER_DEADLINE`] ends the connection). They catch a peer that
//!   is gone (a host powered off, a cable cut), not one whose kernel still acknowledges
//!   bytes that nothing reads (a frozen process, a stuck proxy).
//! - **The protocol** (`Silence`): the socket wrapper knows, from the message types
//!   going by, when an answer is owed: every `Sync` and simple `Query` the client sends
//!   (and its startup message) is answered by one `ReadyForQuery`. While one is owed
//!   and no byte has moved either way for [`ANSWER_DEADLINE`], the socket fails with
//!   an error saying so. The connection ends, its client reports it closed, the pool
//!   drops it (never reused), and the call is an outage ([`super::outage`]): a worker
//!   makes it again on a new connection, `serve`, `export` and a status fail in one line.
//!
//! Why a silence and not a deadline per call: a legitimately slow call (a batch of large
//! bodies written over a slow link, a long result read) moves bytes all along and is
//! never cut, however long it takes; only a server that says nothing at all while it
//! owes an answer is. None of asyncdex's statements makes the server think for seconds
//! before its first byte (they are indexed lookups, small counts, `SKIP LOCKED` leases);
//! the one that waited, the seeding lock, polls instead ([`super::queue`]). So 30 s of
//! silence is a margin of thousands over an honest answer, and as long as an outage a
//! worker rides out. A URL's `tcp_user_timeout` (libpq's parameter, in seconds) sets
//! both this deadline and the kernel's, for a network known to be slower (or a test).
//! A call waiting for a connection from a full pool is bounded by the pool ([`super`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// How long a connection may stay silent while it owes an answer (see the module).
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(30);

/// Quiet on a connection before the kernel probes its peer (then every 5 s, 3 times).
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);

/// Answers a connection owes, and how long it has been silent.
pub(super) struct Silence {
    limit: Duration,
    /// `ReadyForQuery` messages still to come.
    owed: u64,
    /// A frontend message is half written (the server has not read it all).
    writing: bool,
    timer: Pin<Box<Sleep>>,
    /// Where the error is also written: the client only reports its connection closed.
    heard: super::wire::Violations,
}

impl Silence {
    /// No answer owed yet; `limit` of silence allowed once one is; the error is written
    /// to `heard` too.
    pub(super) fn new(limit: Duration, heard: super::wire::Violations) -> Silence {
        Silence {
            limit,
            owed: 0,
            writing: false,
            timer: Box::pin(tokio::time::sleep(limit)),
            heard,
        }
    }

    /// A frontend message of type `kind` began (0: the untyped startup message).
    pub(super) fn sent(&mut self, kind: u8) {
        if matches!(kind, 0 | b'S' | b'Q') {
            self.owed += 1;
        }
    }

    /// Whether a frontend message is half written.
    pub(super) fn writing(&mut self, writing: bool) {
        self.writing = writing;
    }

    /// A backend message of type `kind` began.
    pub(super) fn received(&mut self, kind: u8) {
        if kind == b'Z' {
            self.owed = self.owed.saturating_sub(1);
        }
    }

    fn waiting(&self) -> bool {
        self.owed > 0 || self.writing
    }

    /// Bytes moved (either way): the silence starts again, if an answer is owed.
    pub(super) fn moved(&mut self, cx: &mut Context<'_>) {
        if self.waiting() {
            self.timer.as_mut().reset(Instant::now() + self.limit);
            // Registers the task, so the deadline wakes it if nothing else does.
            let _ = self.timer.as_mut().poll(cx);
        }
    }

    /// Called when the socket has nothing to give (or take): the error once an answer
    /// has been owed for the whole limit without a byte moving.
    pub(super) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.waiting() {
            return Poll::Pending;
        }
        ready!(self.timer.as_mut().poll(cx));
        let why = format!(
            "the server sent nothing for {} s while an answer was due",
            self.limit.as_secs()
        );
        if let Ok(mut heard) = self.heard.lock() {
            *heard = Some(why.clone());
        }
        Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn expired(s: &mut Silence) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        s.poll_expired(&mut cx).is_ready()
    }

    #[tokio::test(start_paused = true)]
    async fn silence_counts_only_while_an_answer_is_owed() {
        let mut cx = Context::from_waker(Waker::noop());
        let heard = super::super::wire::Violations::default();
        let mut s = Silence::new(Duration::from_secs(30), heard.clone());
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!expired(&mut s), "an idle connection owes nothing");

        s.sent(b'P');
        s.sent(b'B');
        s.sent(b'S');
        s.moved(&mut cx);
        tokio::time::sleep(Duration::from_secs(20)).await;
        s.received(b'1');
        s.moved(&mut cx);
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert!(!expired(&mut s), "bytes came 20 s ago");
        tokio::time::sleep(Duration::from_secs(11)).await;
        let e = s.poll_expired(&mut cx);
        assert!(
            matches!(&e, Poll::Ready(e) if e.to_string().contains("nothing for 30 s")),
            "{e:?}"
        );

        assert!(heard.lock().unwrap().as_ref().unwrap().contains("30 s"));
        s.received(b'Z');
        assert!(!expired(&mut s), "answered");
        s.writing(true);
        assert!(expired(&mut s), "a write the server stopped reading");
    }
}
