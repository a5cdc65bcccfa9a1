//! Waiting for another process's lock, and giving the wait up when the run is stopped.
//!
//! SQLite answers *busy* when another connection holds the lock a statement needs (a
//! crawl mid-commit, an `sqlite3` shell inside `BEGIN EXCLUSIVE`). `busy_timeout(5 s)`
//! makes SQLite sleep and retry for up to 5 s, deaf to everything else: a Ctrl-C during
//! the wait was noticed only when it ended, and then reported as the lock. So every store
//! connection gets this module's busy handler instead ([`patient`]): the same bounded wait
//! ([`BUSY_WAIT`]), in sleeps of at most 20 ms, each of which first asks whether the
//! process was asked to stop ([`stop_waiting`]).
//!
//! Once it was, a wait lasts at most [`AFTER_STOP`] more, never the rest of the 5 s: a
//! commit takes milliseconds, so a batch a crawl fetched before the signal is still stored
//! if the lock was only someone's commit; a lock *held* (a shell's open transaction) no
//! longer holds up the exit. The statement then fails as busy, and [`interrupted`] says
//! what happened: `interrupted while another process held it locked` (kind
//! [`ErrorKind::Cancelled`]), not "locked (waited 5 s)".
//!
//! Why a flag for the whole process rather than a token per store: SQLite calls the
//! handler as a plain function (`fn(i32) -> bool`, rusqlite's
//! [`busy_handler`](rusqlite::Connection::busy_handler)), with no room for state of its
//! own; and "this process is stopping" is a fact about the process anyway. The start of
//! the current wait is the one piece of state, kept per thread: SQLite runs the handler
//! on the thread whose statement waits, and says `count == 0` when a new wait begins.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::sqlite_errors::BUSY_WAIT;
use crate::error::{Error, ErrorKind};

/// How long a wait for a lock may still last once the process is stopping.
pub const AFTER_STOP: Duration = Duration::from_millis(100);

/// The longest sleep between two tries (SQLite's own handler sleeps up to 100 ms).
const SLICE: Duration = Duration::from_millis(20);

/// Set once, by [`stop_waiting`]; never cleared (the process is on its way out).
static STOPPING: AtomicBool = AtomicBool::new(false);

/// One wait for a lock: when it began, and when it first saw the stop.
#[derive(Clone, Copy, Debug)]
struct Wait {
    began: Instant,
    stop_seen: Option<Instant>,
}

thread_local! {
    static WAIT: Cell<Option<Wait>> = const { Cell::new(None) };
}

/// Tells every store in this process to stop waiting for other processes' locks: a wait
/// in progress ends within [`AFTER_STOP`], and so does every later one. For the first
/// stop signal (Ctrl-C, SIGTERM): the run is ending, and a lock someone else holds must
/// not hold up the exit. It cannot be undone.
pub fn stop_waiting() {
    STOPPING.store(true, Ordering::SeqCst);
}

fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Gives `conn` the store's busy handler in place of SQLite's timeout (rusqlite sets one
/// of 5 s on every connection it opens): call it first thing, before any statement.
pub(super) fn patient(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(busy))
}

/// SQLite's call: another try (`true`, after a sleep) or give up (`false`: the statement
/// fails as busy). `count` is how many times this wait has called it.
fn busy(count: i32) -> bool {
    let now = Instant::now();
    let wait = WAIT.with(|cell| {
        let mut wait = match cell.get() {
            Some(wait) if count > 0 => wait,
            _ => Wait {
                began: now,
                stop_seen: None,
            },
        };
        if stopping() && wait.stop_seen.is_none() {
            wait.stop_seen = Some(now);
        }
        cell.set(Some(wait));
        wait
    });
    match left(wait, now) {
        Some(left) => {
            std::thread::sleep(left.min(SLICE));
            true
        }
        None => false,
    }
}

/// How much longer `wait` may go on at `now`, if at all: [`BUSY_WAIT`] from its start,
/// and [`AFTER_STOP`] from when it saw the stop, whichever ends first.
fn left(wait: Wait, now: Instant) -> Option<Duration> {
    let mut end = wait.began + BUSY_WAIT;
    if let Some(seen) = wait.stop_seen {
        end = end.min(seen + AFTER_STOP);
    }
    end.checked_duration_since(now).filter(|d| !d.is_zero())
}

/// Whether `e` is a lock wait that the stop cut short (busy or locked, after
/// [`stop_waiting`]).
pub(super) fn ended_by_stop(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    stopping() && matches!(e.sqlite_error_code(), Some(DatabaseBusy | DatabaseLocked))
}

/// The error for a wait the stop cut short: `what: interrupted while another process
/// held it locked`, kind [`ErrorKind::Cancelled`], SQLite's error kept as its source (so
/// it is still [`super::is_locked`]).
pub(super) fn interrupted(what: impl std::fmt::Display, e: rusqlite::Error) -> Error {
    Error::new(
        ErrorKind::Cancelled,
        format!("{what}: interrupted while another process held it locked"),
    )
    .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_lasts_its_bound_or_until_shortly_after_the_stop() {
        let began = Instant::now();
        let quiet = Wait {
            began,
            stop_seen: None,
        };
        assert_eq!(left(quiet, began), Some(BUSY_WAIT));
        assert_eq!(left(quiet, began + BUSY_WAIT), None, "the bound holds");
        let one_second = began + Duration::from_secs(1);
        let stopped = Wait {
            began,
            stop_seen: Some(one_second),
        };
        assert_eq!(left(stopped, one_second), Some(AFTER_STOP));
        assert_eq!(left(stopped, one_second + AFTER_STOP), None);
        // Seen just before the bound: the bound still ends it.
        let late = Wait {
            began,
            stop_seen: Some(began + BUSY_WAIT - Duration::from_millis(10)),
        };
        assert_eq!(
            left(late, began + BUSY_WAIT - Duration::from_millis(10)),
            Some(Duration::from_millis(10))
        );
    }
}
