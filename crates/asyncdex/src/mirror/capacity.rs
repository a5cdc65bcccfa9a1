//! A server with a capacity: at most `servers` requests served at once, at most `queue`
//! more waiting for a place; past that, `503 Service Unavailable` with `Retry-After: 1`.
//!
//! Real servers are not infinitely wide. With a capacity, the mirror behaves as one does
//! when a client asks too much of it: up to the capacity, more concurrency buys
//! throughput; past it, requests wait in the queue and latency grows as Little's law says
//! (a queue of `q` requests ahead, each holding a server for the latency `L`, waits
//! `q / servers × L`); past the queue, the server pushes back. The mirror counts how many
//! waited, for how long, and how many it turned away (`/asyncdex/meta`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};

/// How many requests the mirror serves at once, and how many more may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Requests served at once (at least 1).
    pub servers: usize,
    /// Requests that may wait for a place; more are answered 503.
    pub queue: usize,
}

/// What the capacity did: requests that waited, for how long, and those turned away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CapacityStats {
    /// Requests that found every place taken and waited in the queue.
    pub queued: u64,
    /// Requests turned away (503): the queue was full.
    pub rejected: u64,
    /// Time spent waiting in the queue, all requests together, in microseconds.
    pub waited_us: u64,
    /// The longest one request waited, in microseconds.
    pub max_wait_us: u64,
}

/// The places and the queue.
#[derive(Debug)]
pub(super) struct Gate {
    places: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
    queued: AtomicU64,
    rejected: AtomicU64,
    waited_us: AtomicU64,
    max_wait_us: AtomicU64,
}

impl Gate {
    pub(super) fn new(capacity: Capacity) -> Gate {
        Gate {
            places: Semaphore::new(capacity.servers.max(1)),
            waiting: AtomicUsize::new(0),
            queue: capacity.queue,
            queued: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            waited_us: AtomicU64::new(0),
            max_wait_us: AtomicU64::new(0),
        }
    }

    /// A place to serve one request: at once if one is free, after waiting in the queue
    /// if the queue has room, or `None` (turn it away) if it has not.
    pub(super) async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(place) = self.places.try_acquire() {
            return Some(place);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let since = Instant::now();
        let place = self.places.acquire().await.ok();
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let waited = since.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.waited_us.fetch_add(waited, Ordering::Relaxed);
        self.max_wait_us.fetch_max(waited, Ordering::Relaxed);
        place
    }

    pub(super) fn stats(&self) -> CapacityStats {
        CapacityStats {
            queued: self.queued.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            waited_us: self.waited_us.load(Ordering::Relaxed),
            max_wait_us: self.max_wait_us.load(Ordering::Relaxed),
        }
    }
}

impl CapacityStats {
    /// The mean wait of those that waited.
    pub fn mean_wait(&self) -> Duration {
        Duration::from_micros(self.waited_us.checked_div(self.queued).unwrap_or(0))
    }
}
