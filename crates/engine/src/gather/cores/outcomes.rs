//! The consumer's side: the batch's outcomes as one `Stream`, in completion order or in
//! input order.
//!
//! The drivers send their outcomes in handfuls down one channel. In completion order they
//! are yielded as they come; in input order each is parked in its place until every one
//! before it has come (the window keeps that within the limit). Each outcome yielded
//! gives its place in the window back, a quarter of the window at a time and all of it
//! before waiting, so the drivers are woken seldom but never held back by what was read.
//! The drivers start at the first poll, and dropping the stream stops them.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::stream::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;

use super::queue::Window;
use crate::gather::{Order, Outcome};

/// The outcomes of a batch, as [`crate::gather::stream`] yields them. Dropping it stops every
/// driver: calls in flight are dropped, the rest never start.
pub(in crate::gather) struct Outcomes<T, E> {
    rx: mpsc::UnboundedReceiver<Vec<Outcome<T, E>>>,
    window: Arc<dyn Window>,
    /// Starts the drivers at the first poll.
    start: Option<Box<dyn FnOnce() + Send>>,
    order: Order,
    /// Completion order: outcomes received and not yet yielded.
    received: std::vec::IntoIter<Outcome<T, E>>,
    /// Outcomes yielded whose room in the window is not given back yet: room is given
    /// back in handfuls (a quarter of the window), and all of it before waiting.
    unpublished: usize,
    publish_every: usize,
    /// Input order: the index of the next outcome to yield, and those that came early.
    due: usize,
    early: VecDeque<Option<Outcome<T, E>>>,
    _stop: DropGuard,
}

impl<T, E> Outcomes<T, E> {
    /// The outcomes coming down `rx`, whose reading moves `window` (of `width` places) on;
    /// `start` starts the drivers at the first poll, and `stop` stops them when dropped.
    pub(super) fn new(
        rx: mpsc::UnboundedReceiver<Vec<Outcome<T, E>>>,
        window: Arc<dyn Window>,
        width: usize,
        start: Box<dyn FnOnce() + Send>,
        order: Order,
        stop: DropGuard,
    ) -> Self {
        Outcomes {
            rx,
            window,
            start: Some(start),
            order,
            received: Vec::new().into_iter(),
            unpublished: 0,
            publish_every: (width / 4).max(1),
            due: 0,
            early: VecDeque::new(),
            _stop: stop,
        }
    }

    fn yielded(&mut self, outcome: Option<Outcome<T, E>>) -> Poll<Option<Outcome<T, E>>> {
        self.unpublished += 1;
        if self.unpublished >= self.publish_every {
            self.publish();
        }
        Poll::Ready(outcome)
    }

    fn publish(&mut self) {
        if self.unpublished > 0 {
            self.window.advance(self.unpublished);
            self.unpublished = 0;
        }
    }
}

impl<T, E> Stream for Outcomes<T, E> {
    type Item = Outcome<T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Outcome<T, E>>> {
        if let Some(start) = self.start.take() {
            start();
        }
        loop {
            match self.order {
                Order::Completed => {
                    if let Some(outcome) = self.received.next() {
                        return self.yielded(Some(outcome));
                    }
                }
                Order::Input => {
                    if let Some(Some(_)) = self.early.front() {
                        let outcome = self.early.pop_front().flatten();
                        self.due += 1;
                        return self.yielded(outcome);
                    }
                }
            }
            self.publish();
            let Some(batch) = std::task::ready!(self.rx.poll_recv(cx)) else {
                // Every driver is done. In input order nothing can be left waiting (every
                // input before one that came has come too), but should a driver have been
                // stopped from outside, what did come is still yielded.
                while let Some(early) = self.early.pop_front() {
                    if early.is_some() {
                        return Poll::Ready(early);
                    }
                }
                return Poll::Ready(None);
            };
            if self.order == Order::Completed {
                self.received = batch.into_iter();
                continue;
            }
            // Input order: park each in its place (the window keeps that within `limit`).
            for outcome in batch {
                let place = outcome.index - self.due;
                if self.early.len() <= place {
                    self.early.resize_with(place + 1, || None);
                }
                self.early[place] = Some(outcome);
            }
        }
    }
}

impl<T, E> Unpin for Outcomes<T, E> {}
