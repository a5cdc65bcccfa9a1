//! Run any blocking function, unchanged, without blocking the async runtime.
//!
//! This is Rust's answer to Python's `asyncio.to_thread`. An async runtime runs many tasks
//! on a few threads by taking turns: a task runs until it must wait, then hands the thread
//! back. A blocking call (`ureq::get`, a SQLite query, `std::thread::sleep`) never hands it
//! back, so every other task on that thread stalls. The cure is to run the blocking call on
//! another thread and *await* its result: the caller waits, the runtime does not.
//!
//! [`Pool`] does exactly that, with a bound: at most `size` functions run at once (the
//! default, [`Pool::default_size`], is Python's `min(32, cores + 4)`); further callers wait
//! for a permit *before* their work is queued, so a flood of calls applies back-pressure
//! instead of growing memory. Pools are named and independent, so one workload (say, a
//! database) cannot starve another (say, HTTP).
//!
//! Semantics worth knowing:
//! - **Panics** inside the function come back as an [`ErrorKind::Panicked`] error; the
//!   program goes on and the permit is released.
//! - **Cancellation**: dropping the future before the function starts means it never
//!   runs. Once it runs it cannot be interrupted (no thread can be killed safely); it
//!   finishes and its result is discarded.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex::Result<()> {
//! use asyncdex::offload::Pool;
//!
//! fn slow_square(x: u64) -> u64 {
//!     std::thread::sleep(std::time::Duration::from_millis(10)); // a blocking call
//!     x * x
//! }
//!
//! let pool = Pool::new("demo", 4);
//! // The function is unchanged; the call site awaits it.
//! let (a, b) = tokio::join!(pool.run(|| slow_square(3)), pool.run(|| slow_square(4)));
//! assert_eq!((a?, b?), (9, 16));
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::{Error, ErrorKind, Result};

/// A named, bounded pool for blocking work. Cheap to clone; clones share the bound.
#[derive(Clone, Debug)]
pub struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    size: usize,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    busy: AtomicUsize,
}

impl Pool {
    /// A pool named `name` running at most `size` functions at once (`size` 0 counts as 1).
    pub fn new(name: impl Into<String>, size: usize) -> Self {
        let size = size.max(1);
        Pool {
            inner: Arc::new(Inner {
                name: name.into(),
                size,
                permits: Arc::new(Semaphore::new(size)),
                waiting: AtomicUsize::new(0),
                busy: AtomicUsize::new(0),
            }),
        }
    }

    /// Python's default executor size: `min(32, cores + 4)`.
    pub fn default_size() -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores + 4).min(32)
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The most functions that run at once.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// Callers waiting for a permit right now (the queue depth).
    pub fn waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::Relaxed)
    }

    /// Functions running right now.
    pub fn busy(&self) -> usize {
        self.inner.busy.load(Ordering::Relaxed)
    }

    /// Runs `f` on a pool thread and awaits its result.
    ///
    /// Waits for a permit first (back-pressure). A panic in `f` becomes an
    /// [`ErrorKind::Panicked`] error.
    pub async fn run<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = {
            let _waiting = Gauge::enter(&self.inner.waiting);
            Arc::clone(&self.inner.permits)
                .acquire_owned()
                .await
                .expect("pool semaphore is never closed")
        };
        let inner = Arc::clone(&self.inner);
        let handle = tokio::task::spawn_blocking(move || {
            // Locals drop in reverse order: the gauge counts down before the permit is
            // released, so `busy()` never exceeds `size()`, also when `f` unwinds.
            let _permit = permit;
            let _busy = Gauge::enter(&inner.busy);
            f()
        });
        handle.await.map_err(|e| {
            let kind = if e.is_panic() {
                ErrorKind::Panicked
            } else {
                ErrorKind::Cancelled
            };
            Error::new(
                kind,
                format!("blocking work in pool '{}' {kind}", self.inner.name),
            )
        })
    }
}

/// Counts itself in a gauge while alive, also on unwind and on cancellation.
struct Gauge<'a>(&'a AtomicUsize);

impl<'a> Gauge<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Gauge(counter)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_panic_is_an_error_and_frees_the_permit() {
        let pool = Pool::new("test", 1);
        let err = pool.run(|| panic!("boom")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Panicked);
        // The single permit is free again: this would hang otherwise.
        let ok = tokio::time::timeout(Duration::from_secs(5), pool.run(|| 7)).await;
        assert_eq!(ok.unwrap().unwrap(), 7);
        assert_eq!(pool.busy(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_runs_more_than_size_at_once() {
        let pool = Pool::new("bounded", 3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let calls = (0..12).map(|_| {
            let (running, peak) = (running.clone(), peak.clone());
            pool.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for r in futures::future::join_all(calls).await {
            r.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test]
    async fn work_dropped_before_it_starts_never_runs() {
        let pool = Pool::new("cancel", 1);
        let ran = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Occupy the only permit until we say so.
        let blocker = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(move || rx.recv().ok()).await }
        });
        while pool.busy() == 0 {
            tokio::task::yield_now().await;
        }
        let queued = {
            let ran = ran.clone();
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || ran.fetch_add(1, Ordering::SeqCst)).await })
        };
        while pool.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        queued.abort();
        assert!(queued.await.unwrap_err().is_cancelled());
        tx.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        assert_eq!(pool.run(|| 1).await.unwrap(), 1);
        assert_eq!(ran.load(Ordering::SeqCst), 0, "cancelled work must not run");
        assert_eq!(pool.waiting(), 0);
    }
}
