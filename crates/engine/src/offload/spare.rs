//! Spare threads for one-off blocking work ([`super::once`]): what tokio's
//! `spawn_blocking` does inside, minus its one panic.
//!
//! A job goes to a queue. A thread that is idle takes it; if every thread is busy a new
//! one is started; a thread idle for [`KEEP_IDLE`] exits, so a quiet process holds none.
//! The threads are reused, so a call costs a hand-over, not a thread's creation (a
//! server reading a file per request makes many calls).
//!
//! The difference is what happens when the system refuses a thread (`ulimit -u`, a
//! container's pids limit): `spawn_blocking` panics ("OS can't spawn worker thread")
//! when no thread of its own is alive to take the work. Here the job is taken back and
//! the refusal returned, so the caller reports an error instead of the process dying; if
//! threads are alive, the job waits in the queue for one of them, as it would for a
//! busy pool.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// A job: the caller's function, wrapped to send its result back.
pub(super) type Job = Box<dyn FnOnce() + Send + 'static>;

/// At most this many spare threads at once (tokio's `spawn_blocking` pool has the same
/// ceiling by default).
pub(super) const MAX_ALIVE: usize = 512;

/// How long a thread waits for another job before it exits.
pub(super) const KEEP_IDLE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
    /// Threads alive (idle or running a job).
    alive: usize,
}

#[derive(Default)]
struct Spare {
    state: Mutex<State>,
    wake: Condvar,
}

fn spare() -> &'static Spare {
    static SPARE: OnceLock<Spare> = OnceLock::new();
    SPARE.get_or_init(Spare::default)
}

/// Queues `job` for a spare thread, starting one if none is idle to take it (and fewer
/// than [`MAX_ALIVE`] are alive: past that the job waits its turn, as in tokio's pool, so
/// ten thousand requests at once start no more than that). The system's refusal to start
/// a thread is returned only when no thread is alive to run the job later; the job is then
/// dropped unrun.
pub(super) fn submit(job: Job) -> std::io::Result<()> {
    let spare = spare();
    let mut state = spare.state.lock().unwrap_or_else(|e| e.into_inner());
    state.queue.push_back(job);
    if state.queue.len() <= state.idle || state.alive >= MAX_ALIVE {
        // Woken after the lock is let go, so the thread does not wake only to wait for it.
        drop(state);
        spare.wake.notify_one();
        return Ok(());
    }
    // Started under the lock, so that on a refusal the job taken back is this call's
    // own (only warm-up pays for it: started threads are reused).
    match std::thread::Builder::new()
        .name("offload-once".into())
        .spawn(move || work(spare))
    {
        Ok(_) => {
            state.alive += 1;
            Ok(())
        }
        Err(_) if state.alive > 0 => Ok(()), // a thread alive takes it when it is free
        Err(e) => {
            state.queue.pop_back();
            Err(e)
        }
    }
}

/// A spare thread: run jobs until none comes for [`KEEP_IDLE`].
fn work(spare: &Spare) {
    let mut state = spare.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            job();
            state = spare.state.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        state.idle += 1;
        let (next, waited) = spare
            .wake
            .wait_timeout(state, KEEP_IDLE)
            .unwrap_or_else(|e| e.into_inner());
        state = next;
        state.idle -= 1;
        if waited.timed_out() && state.queue.is_empty() {
            state.alive -= 1;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};

    #[test]
    fn more_jobs_than_the_ceiling_wait_their_turn_and_all_run() {
        let jobs = MAX_ALIVE + 88;
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (done, finished) = mpsc::channel();
        for _ in 0..jobs {
            let (running, most, done) = (running.clone(), most.clone(), done.clone());
            submit(Box::new(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
                let _ = done.send(());
            }))
            .expect("a thread starts or one alive takes the job");
        }
        for _ in 0..jobs {
            finished
                .recv_timeout(Duration::from_secs(60))
                .expect("every job runs");
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most <= MAX_ALIVE, "{most} jobs ran at once");
        assert!(most > 1, "the jobs ran side by side");
    }
}
