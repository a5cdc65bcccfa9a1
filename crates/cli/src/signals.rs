//! One way to stop every command: SIGINT (Ctrl-C) and SIGTERM (`kill`, `timeout`, a
//! service manager) are handled alike.
//!
//! The first signal cancels the run's [`CancellationToken`]: each command stops starting
//! work, reports (or stores) what finished, and the process exits 130 for SIGINT, 143 for
//! SIGTERM (128 + the signal's number, as a shell reports a process the signal killed). A
//! second signal of either kind exits at once with its own code.
//!
//! "Second" means a later one, not a copy: `timeout` sends its signal twice within a
//! millisecond (to the child, then to the child's process group). A signal that arrives
//! within [`GRACE`] of the
//! first is the same request to stop and is ignored; only one after it forces the exit,
//! which would otherwise cut the report short before a line of it was printed.
//!
//! A forced exit happens between two writes, never inside a line: stdout is line-buffered
//! (Rust's `Stdout` is, even on a pipe), and `main` hands the commands a line-buffered
//! stderr too, so each finished line has gone out in one `write` before the next begins,
//! and the exit loses at most an unfinished one.
//!
//! The handlers are installed before the command starts (not inside a task that might
//! run later), so a signal that arrives early is never met by the default disposition,
//! which would kill the process and lose what it had.
//!
//! They listen on a thread of their own, with a small runtime of its own, not on the
//! command's: a client command runs on one thread, and a command that blocks that thread
//! (`blocking --mode wrong` does it on purpose; a bug might by accident) would otherwise
//! keep the listener from running at all, so neither Ctrl-C nor the second signal (the
//! escape hatch) would be seen until the thread came back. Cancelling the token from
//! another thread is what it is made for: the command's tasks wake on their own runtime.
//!
//! SIGPIPE is not handled here: Rust ignores it before `main`, so a write to a closed pipe
//! returns `EPIPE` as an error to the code that wrote, which reports it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::commands::{EXIT_INTERRUPTED, EXIT_TERMINATED};

/// How long after the first signal another one still counts as the same (see the module
/// docs): long enough for a sender's duplicates, short of a person's second Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(1);

/// The signals listened for; tells which arrived first.
pub struct Signals {
    first: Arc<AtomicU8>,
}

impl Signals {
    /// The exit code of the first signal received (130 or 143), if one was.
    pub fn received(&self) -> Option<u8> {
        match self.first.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code),
        }
    }
}

/// Installs the handlers, on a thread of their own (see the module docs), before it
/// returns; the first signal cancels `cancel`, a second one after [`GRACE`] exits.
pub fn listen(cancel: CancellationToken) -> std::io::Result<Signals> {
    let first = Arc::new(AtomicU8::new(0));
    let (installed, ready) = std::sync::mpsc::channel();
    let seen = Arc::clone(&first);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let (runtime, mut next) = match runtime.and_then(|rt| {
                let next = rt.block_on(async { Next::new() })?;
                Ok((rt, next))
            }) {
                Ok(both) => both,
                Err(e) => return drop(installed.send(Err(e))),
            };
            let _ = installed.send(Ok(()));
            runtime.block_on(async move {
                let code = next.recv().await;
                let first = Instant::now();
                seen.store(code, Ordering::SeqCst);
                cancel.cancel();
                loop {
                    let code = next.recv().await;
                    if first.elapsed() >= GRACE {
                        std::process::exit(i32::from(code));
                    }
                }
            });
        })?;
    ready
        .recv()
        .map_err(|_| std::io::Error::other("the signal thread ended before listening"))??;
    Ok(Signals { first })
}

/// The next SIGINT or SIGTERM, as the exit code it calls for.
struct Next {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Next {
    #[cfg(unix)]
    fn new() -> std::io::Result<Next> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Next {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Next> {
        Ok(Next {})
    }

    #[cfg(unix)]
    async fn recv(&mut self) -> u8 {
        tokio::select! {
            _ = self.int.recv() => EXIT_INTERRUPTED,
            _ = self.term.recv() => EXIT_TERMINATED,
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> u8 {
        let _ = tokio::signal::ctrl_c().await;
        EXIT_INTERRUPTED
    }
}
