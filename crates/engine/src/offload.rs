//! Run any blocking function, unchanged, without blocking the async runtime.
//!
//! This is Rust's answer to Python's `asyncio.to_thread`. An async runtime runs many tasks
//! on a few threads by taking turns: a task runs until it must wait, then hands the thread
//! back. A blocking call (`ureq::get`, a SQLite query, `std::thread::sleep`) never hands it
//! back, so every other task on that thread stalls. The cure is to run the blocking call on
//! another thread and *await* its result: the caller waits, the runtime does not.
//!
//! [`Pool`] does exactly that, with a bound: `size` worker threads (the default,
//! [`Pool::default_size`], is Python's `min(32, cores + 4)`), started when the pool is
//! created so the runtime never pays for creating a thread; further callers wait for a
//! permit *before* their work is queued, so a flood of calls applies back-pressure instead
//! of growing memory. Pools are named and independent (their threads are called
//! `NAME-0`, `NAME-1`...), so one workload (say, a database) cannot starve another (say,
//! HTTP). The threads exit when the last clone of the pool is dropped.
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
//! # async fn main() -> asyncdex_engine::Result<()> {
//! use asyncdex_engine::offload::Pool;
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

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::{oneshot, Semaphore};

use crate::error::{Error, ErrorKind, Result};

mod spare;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A named, bounded pool for blocking work. Cheap to clone; clones share the threads.
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
    /// Dropping it (with the last clone of the pool) makes the workers exit.
    jobs: mpsc::Sender<Job>,
}

impl Pool {
    /// A pool named `name` with `size` worker threads (`size` 0 counts as 1).
    ///
    /// Should the system refuse to start a thread, the pool runs with those it got (one
    /// warning says how many); with none at all, every call fails with an [`ErrorKind::Closed`] error.
    pub fn new(name: impl Into<String>, size: usize) -> Self {
        let name = name.into();
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        // Threads are started until the system refuses one; then no more are tried (the
        // next would be refused too), and one warning says how many the pool got.
        let wanted = size.max(1);
        let mut started = 0;
        while started < wanted {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{started}"))
                .spawn(move || worker(&queue));
            if let Err(e) = spawned {
                tracing::warn!(
                    "pool '{name}': started {started} of {wanted} threads, the system refused more: {e}"
                );
                break;
            }
            started += 1;
        }
        Pool {
            inner: Arc::new(Inner {
                name,
                size: started,
                permits: Arc::new(Semaphore::new(started)),
                waiting: AtomicUsize::new(0),
                busy: AtomicUsize::new(0),
                jobs,
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

    /// The most functions that run at once (its number of threads).
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
        let inner = &self.inner;
        if inner.size == 0 {
            return Err(Error::new(
                ErrorKind::Closed,
                format!("pool '{}' has no threads", inner.name),
            ));
        }
        let permit = {
            let _waiting = Gauge::enter(&inner.waiting);
            Arc::clone(&inner.permits)
                .acquire_owned()
                .await
                .expect("pool semaphore is never closed")
        };
        let (done, result) = oneshot::channel();
        let pool = Arc::clone(inner);
        let job: Job = Box::new(move || {
            let busy = Gauge::enter(&pool.busy);
            let outcome = catch_unwind(AssertUnwindSafe(f));
            // Count down and free the permit before answering, so a caller that has its
            // result sees the pool as it is now, and busy() never exceeds size().
            drop(busy);
            drop(permit);
            let _ = done.send(outcome); // the caller may be gone: the result is discarded
        });
        inner.jobs.send(job).map_err(|_| {
            Error::new(
                ErrorKind::Closed,
                format!("pool '{}' is shut down", inner.name),
            )
        })?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => Err(Error::new(
                ErrorKind::Panicked,
                format!(
                    "blocking work in pool '{}' panicked: {}",
                    inner.name,
                    panic_message(panic.as_ref())
                ),
            )),
            Err(_) => Err(Error::new(
                ErrorKind::Cancelled,
                format!("blocking work in pool '{}' was dropped", inner.name),
            )),
        }
    }
}

/// Runs one blocking function, `what` it does named for errors, off the runtime, and awaits
/// it: for occasional one-off work (opening a database, a program that builds a runtime
/// of its own). Many calls want a [`Pool`]: bounded, named, its threads ready.
///
/// It runs on a spare thread (started on demand, reused, gone after 10 s idle), with
/// the caller's runtime entered, as `tokio::task::spawn_blocking` would run it. A panic
/// in `f` becomes an [`ErrorKind::Panicked`] error naming `what`. Where the system
/// refuses a thread and none is alive to take the work (`ulimit -u` reached), the call
/// fails with an [`ErrorKind::Closed`] error and `f` never runs: `spawn_blocking` would
/// panic there.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> asyncdex_engine::Result<()> {
/// let text = asyncdex_engine::offload::once("read a file", || std::fs::read_to_string("/nonexistent")).await?;
/// assert!(text.is_err()); // the function's own result, untouched
/// # Ok(()) }
/// ```
pub async fn once<F, T>(what: &str, f: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current().ok();
    let (done, result) = oneshot::channel();
    spare::submit(Box::new(move || {
        let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
        let _ = done.send(catch_unwind(AssertUnwindSafe(f)));
    }))
    .map_err(|e| {
        Error::new(
            ErrorKind::Closed,
            format!("{what}: cannot start a thread: {e}"),
        )
    })?;
    match result.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(Error::new(
            ErrorKind::Panicked,
            format!("{what} panicked: {}", panic_message(panic.as_ref())),
        )),
        Err(_) => Err(Error::new(
            ErrorKind::Cancelled,
            format!("{what} was cancelled"),
        )),
    }
}

/// A worker: run jobs until the pool is dropped.
fn worker(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
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
    async fn work_runs_on_the_pools_own_named_threads() {
        async fn thread_of(pool: &Pool) -> String {
            let name = || std::thread::current().name().unwrap_or_default().to_owned();
            pool.run(name).await.unwrap()
        }
        assert!(thread_of(&Pool::new("db", 2)).await.starts_with("db-"));
        assert!(thread_of(&Pool::new("http", 2)).await.starts_with("http-"));
    }

    #[tokio::test]
    async fn once_runs_with_the_runtime_entered_and_reports_a_panic() {
        let inside = once("look", || tokio::runtime::Handle::try_current().is_ok()).await;
        assert!(
            inside.unwrap(),
            "spawn_blocking's promise: the runtime is there"
        );
        let err = once("exploding", || panic!("boom")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Panicked);
        assert!(
            err.to_string().contains("exploding panicked: boom"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn once_calls_run_side_by_side() {
        // Each waits for the other: run one after another, they would never meet.
        let meet = Arc::new(std::sync::Barrier::new(3));
        let call = |m: Arc<std::sync::Barrier>| once("meet", move || m.wait().is_leader());
        let (a, b, c) = tokio::join!(call(Arc::clone(&meet)), call(Arc::clone(&meet)), call(meet));
        let leaders = [a, b, c]
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count();
        assert_eq!(leaders, 1);
    }

    #[tokio::test]
    async fn a_panic_is_an_error_and_frees_the_permit() {
        let pool = Pool::new("test", 1);
        let err = pool.run(|| panic!("boom")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Panicked);
        assert!(err.to_string().contains("boom"), "{err}");
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
