//! Building a server's multi-thread runtime where the system may refuse threads.
//!
//! `tokio::runtime::Builder::build` returns a `Result`, but for a multi-thread runtime
//! it does not report the one failure a tight `ulimit -u` (or a container's pids limit)
//! causes: it starts each worker through its blocking pool, and when the system refuses
//! the *first* worker it panics ("OS can't spawn worker thread") inside `build`. When a
//! *later* worker is refused, nothing is said at all: that worker is queued behind
//! threads that never finish, and the runtime runs with fewer workers than it was asked
//! for. Neither can be caught cleanly: a caught panic has printed its message already.
//!
//! So [`build`] asks the system first. It starts up to `workers` small threads that
//! only wait (a *reservation*); as many as started, that is how many workers the runtime
//! is built with, once they have exited and the system has counted them gone. When none
//! starts, the answer is a current-thread runtime: it starts no thread, so it is built
//! even then, and serves from the caller's own thread. The check and the build are two
//! steps, so another process of the same user could take the last thread in between;
//! the reservation makes that a race of microseconds instead of the rule.

use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

/// A runtime built by [`build`], and how many workers it has (0: current-thread).
#[derive(Debug)]
pub struct Built {
    /// The runtime, `enable_all`.
    pub runtime: Runtime,
    /// Its worker threads; 0 when the system refused every one and the runtime runs on
    /// the thread that drives it (`block_on`).
    pub workers: usize,
}

/// Builds a multi-thread runtime of up to `workers` workers (0 counts as 1) whose
/// threads are called `name`, or, when the system starts no thread at all, a
/// current-thread runtime. Never panics for a refused thread. The error is the system's
/// refusal of what a runtime needs besides threads (an epoll or event descriptor).
pub fn build(name: &str, workers: usize) -> std::io::Result<Built> {
    let workers = reserve(workers.max(1));
    let runtime = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .build()?
    };
    Ok(Built { runtime, workers })
}

/// The stack of a reservation's thread. It only waits, but its start makes the thread's
/// first allocation (Rust's handler for a stack overflow), and the allocator's first
/// call on a thread sets up that thread's cache, deep in jemalloc: unoptimised (a debug
/// build), with the heap in some states, that overflowed a 64 KiB stack (`serve` died
/// of SIGSEGV before it served anything). 256 KiB is address space, not memory used.
const RESERVE_STACK: usize = 256 * 1024;

/// Starts up to `n` threads that wait, then lets them go; returns how many started. It
/// returns once the system no longer counts them (or after a short bound).
fn reserve(n: usize) -> usize {
    let before = threads_now();
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("asyncdex-reserve".into())
            .stack_size(RESERVE_STACK)
            .spawn(move || {
                let _ = released.recv();
            });
        match spawned {
            Ok(thread) => held.push((release, thread)),
            Err(_) => break,
        }
    }
    let started = held.len();
    for (release, thread) in held {
        drop(release);
        let _ = thread.join();
    }
    // A joined thread may still be counted against the limit for a moment: on Linux the
    // count drops just before the thread leaves the process's thread count, which is
    // what is waited for here.
    if let Some(before) = before {
        let deadline = Instant::now() + Duration::from_millis(100);
        while threads_now().is_some_and(|now| now > before) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    started
}

/// This process's thread count, where the system says it (`Threads:` on Linux).
fn threads_now() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_threads_to_spare_it_has_the_workers_asked_for() {
        let built = build("test-runtime", 2).unwrap();
        assert_eq!(built.workers, 2);
        let name = built
            .runtime
            .block_on(async {
                tokio::spawn(async { std::thread::current().name().map(str::to_owned) }).await
            })
            .unwrap();
        assert_eq!(name.as_deref(), Some("test-runtime"));
    }

    #[test]
    fn a_reservation_counts_the_threads_it_started() {
        assert_eq!(reserve(3), 3);
    }
}
