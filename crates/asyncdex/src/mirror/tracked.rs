//! Requests in progress, counted per connection: what tells an idle connection (safe to
//! close) from a busy one. A request counts from the moment the router is called until its
//! answer's body has been sent, so a slow answer (latency, a stall) keeps its connection.
//!
//! The same wrapper names the connection's accounts to the router (the `share` module),
//! and hands each answer to the connection in pieces, noting when the next is asked for
//! (the `progress` module's send timeout).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;

use super::conns::Conn;
use super::progress::{ms_since, AnswerClock, CHUNK};

/// One request in progress on a connection, until its answer is sent (or dropped).
pub(super) struct Busy(pub(super) Arc<Conn>);

impl Busy {
    pub(super) fn start(conn: &Arc<Conn>) -> Busy {
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        conn.started.fetch_add(1, Ordering::Relaxed);
        Busy(conn.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            let now = self.0.clock.fetch_add(1, Ordering::Relaxed);
            self.0.idle_since.store(now, Ordering::Relaxed);
        }
    }
}

/// The router, counting the requests in progress on its connection.
#[derive(Clone)]
pub(super) struct Tracked<S> {
    pub(super) inner: S,
    pub(super) conn: Arc<Conn>,
}

impl<S, R, B> hyper::service::Service<hyper::Request<R>> for Tracked<S>
where
    S: hyper::service::Service<hyper::Request<R>, Response = hyper::Response<B>>,
{
    type Response = hyper::Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, mut req: hyper::Request<R>) -> Self::Future {
        req.extensions_mut().insert(self.conn.payer.clone());
        let busy = Some(Busy::start(&self.conn));
        TrackedFuture {
            inner: self.inner.call(req),
            busy,
        }
    }
}

pin_project_lite::pin_project! {
    /// An answer being made; the request stays in progress while its body is sent.
    pub(super) struct TrackedFuture<F> {
        #[pin]
        inner: F,
        busy: Option<Busy>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<hyper::Response<B>, E>>,
{
    type Output = Result<hyper::Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = ready!(this.inner.poll(cx));
        let busy = this.busy.take();
        Poll::Ready(answer.map(|r| {
            r.map(|inner| {
                let taking = busy.as_ref().map(|b| Taking::start(&b.0));
                TrackedBody {
                    inner,
                    rest: Bytes::new(),
                    taking,
                    _busy: busy,
                }
            })
        }))
    }
}

/// An answer being taken by its connection, watched until it is all taken or dropped.
pub(super) struct Taking {
    clock: Arc<AnswerClock>,
    conn: Arc<Conn>,
}

impl Taking {
    fn start(conn: &Arc<Conn>) -> Taking {
        Taking {
            clock: conn.answer(),
            conn: conn.clone(),
        }
    }

    fn asked(&self) {
        self.clock.asked(ms_since(self.conn.epoch));
    }
}

impl Drop for Taking {
    fn drop(&mut self) {
        self.clock.finish();
    }
}

pin_project_lite::pin_project! {
    /// A body being sent, in pieces of at most [`CHUNK`]: the request ends when it is
    /// dropped.
    pub(super) struct TrackedBody<B> {
        #[pin]
        inner: B,
        // What is left of the inner body's last frame.
        rest: Bytes,
        taking: Option<Taking>,
        _busy: Option<Busy>,
    }
}

impl<B: hyper::body::Body<Data = Bytes>> hyper::body::Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, B::Error>>> {
        let this = self.project();
        if let Some(taking) = this.taking.as_ref() {
            taking.asked();
        }
        if this.rest.is_empty() {
            match ready!(this.inner.poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => *this.rest = data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => {
                    *this.taking = None; // all taken
                    return Poll::Ready(other);
                }
            }
        }
        // Slices of one allocation: no copy, and the charge stays whole until all are sent.
        let piece = this.rest.split_to(this.rest.len().min(CHUNK));
        Poll::Ready(Some(Ok(hyper::body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        let inner = self.inner.size_hint();
        let rest = self.rest.len() as u64;
        let mut hint = hyper::body::SizeHint::new();
        hint.set_lower(inner.lower() + rest);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + rest);
        }
        hint
    }
}
