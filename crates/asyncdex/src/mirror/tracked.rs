//! Requests in progress, counted per connection: what tells an idle connection (safe to
//! close) from a busy one. A request counts from the moment the router is called until its
//! answer's body has been sent, so a slow answer (latency, a stall) keeps its connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::serve::Conn;

/// One request in progress on a connection, until its answer is sent (or dropped).
pub(super) struct Busy(Arc<Conn>);

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

impl<S, R, B> hyper::service::Service<R> for Tracked<S>
where
    S: hyper::service::Service<R, Response = hyper::Response<B>>,
{
    type Response = hyper::Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, req: R) -> Self::Future {
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
        Poll::Ready(answer.map(|r| r.map(|inner| TrackedBody { inner, _busy: busy })))
    }
}

pin_project_lite::pin_project! {
    /// A body being sent: the request ends when it is dropped.
    pub(super) struct TrackedBody<B> {
        #[pin]
        inner: B,
        _busy: Option<Busy>,
    }
}

impl<B: hyper::body::Body> hyper::body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
