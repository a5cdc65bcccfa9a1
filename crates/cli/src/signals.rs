//! One way to stop every command: SIGINT (Ctrl-C) and SIGTERM (`kill`, `timeout`, a
//! service manager) are handled alike.
//!
//! The first signal cancels the run's [`CancellationToken`]: each command stops starting
//! work, reports (or stores) what finished, and the process exits 130 for SIGINT, 143 for
//! SIGTERM (128 + the signal's number, as a shell reports a process the signal killed). A
//! second signal of either kind exits at once with its own code.
//!
//! The handlers are installed before the command starts (not inside a task that might
//! run later), so a signal that arrives early is never met by the default disposition,
//! which would kill the process and lose what it had.
//!
//! SIGPIPE is not handled here: Rust ignores it before `main`, so a write to a closed pipe
//! returns `EPIPE` as an error to the code that wrote, which reports it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use crate::commands::{EXIT_INTERRUPTED, EXIT_TERMINATED};

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

/// Installs the handlers on `runtime`; the first signal cancels `cancel`.
pub fn listen(runtime: &Runtime, cancel: CancellationToken) -> std::io::Result<Signals> {
    let _entered = runtime.enter();
    let first = Arc::new(AtomicU8::new(0));
    let mut next = Next::new()?;
    runtime.spawn({
        let first = Arc::clone(&first);
        async move {
            let code = next.recv().await;
            first.store(code, Ordering::SeqCst);
            cancel.cancel();
            let code = next.recv().await;
            std::process::exit(i32::from(code));
        }
    });
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
