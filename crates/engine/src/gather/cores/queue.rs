//! The queue every driver takes its inputs from, and the window that holds them back.
//!
//! The inputs sit in one `Vec`; an atomic index says which is next, so a driver takes
//! one with a compare-and-swap and no lock, and a busier driver simply takes fewer. A
//! second index, the *horizon*, says how far the window reaches: an input at or past it
//! waits ([`Take::Full`]) until the consumer has read more outcomes and moves the horizon
//! on ([`Window::advance`]), waking a driver that found the window full. So however fast
//! the drivers are, what waits for the consumer stays bounded.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use tokio::sync::Notify;

/// The inputs, the next one to start, and how far the window reaches: shared by every
/// driver and the consumer.
pub(super) struct Queue<I> {
    inputs: Vec<I>,
    next: AtomicUsize,
    /// Inputs below this index may start; the consumer moves it on.
    horizon: AtomicUsize,
    /// Some driver found the window full and waits for `room`.
    pub(super) waiting: AtomicBool,
    pub(super) room: Notify,
}

/// What a driver gets when it asks the queue for an input.
pub(super) enum Take<I> {
    Input(usize, I),
    /// The window is full: wait for the consumer.
    Full,
    /// Every input has started.
    Done,
}

impl<I: Clone> Queue<I> {
    /// A queue of `inputs`, the first `window` of which may start.
    pub(super) fn new(inputs: Vec<I>, window: usize) -> Self {
        Queue {
            inputs,
            next: AtomicUsize::new(0),
            horizon: AtomicUsize::new(window),
            waiting: AtomicBool::new(false),
            room: Notify::new(),
        }
    }

    /// The next input and its index, if the window has room for it.
    pub(super) fn take(&self) -> Take<I> {
        let mut next = self.next.load(SeqCst);
        loop {
            let Some(input) = self.inputs.get(next) else {
                return Take::Done;
            };
            if next >= self.horizon.load(SeqCst) {
                return Take::Full;
            }
            match self
                .next
                .compare_exchange_weak(next, next + 1, SeqCst, SeqCst)
            {
                Ok(_) => return Take::Input(next, input.clone()),
                Err(now) => next = now,
            }
        }
    }

    /// The window has room for the next input.
    pub(super) fn has_room(&self) -> bool {
        self.next.load(SeqCst) < self.horizon.load(SeqCst)
    }

    /// Every input has been taken.
    pub(super) fn exhausted(&self) -> bool {
        self.next.load(SeqCst) >= self.inputs.len()
    }
}

/// The consumer read `n` more outcomes: the window moves on by as many.
pub(super) trait Window: Send + Sync {
    fn advance(&self, n: usize);
}

impl<I: Send + Sync> Window for Queue<I> {
    fn advance(&self, n: usize) {
        self.horizon.fetch_add(n, SeqCst);
        if self.waiting.swap(false, SeqCst) {
            self.room.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_stops_at_the_window_and_at_the_end() {
        let queue = Queue::new(vec!['a', 'b', 'c'], 2);
        assert!(matches!(queue.take(), Take::Input(0, 'a')));
        assert!(matches!(queue.take(), Take::Input(1, 'b')));
        assert!(matches!(queue.take(), Take::Full));
        queue.advance(1);
        assert!(matches!(queue.take(), Take::Input(2, 'c')));
        assert!(matches!(queue.take(), Take::Done));
    }
}
