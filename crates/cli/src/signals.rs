//! One way to stop every command: SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, a
//! service manager), SIGHUP (the terminal closed, an ssh session dropped) and SIGQUIT
//! (`Ctrl-\`) are handled alike.
//!
//! The first signal cancels the run's [`CancellationToken`]: each command stops starting
//! work, reports (or stores) what finished, and the process exits 128 + the signal's
//! number, as a shell reports a process the signal killed: 130 for SIGINT, 143 for
//! SIGTERM, 129 for SIGHUP, 131 for SIGQUIT. A second signal of any of them exits at once
//! with its own code.
//!
//! Each of these, left to its default, kills the process, and whatever it had fetched
//! and not yet printed or stored is lost. SIGHUP is the one a person sends without
//! meaning to (closing a terminal): it stops the run like the others, so the report is
//! written (wherever stdout points; to a closed terminal it is an error, exit 1, but a
//! crawl's store and a file stay whole). Under `nohup`, which sets SIGHUP to be ignored
//! before starting the program, it stays ignored: that is what `nohup` is asked for.
//! SIGQUIT is a harder Ctrl-C (its default also dumps core): a run asked to quit still
//! loses nothing. SIGUSR1 and SIGUSR2 are nobody's request to stop (they mean what a
//! program defines, and some tools send them to ask for progress, as to `dd`): asyncdex
//! defines nothing for them, so they are ignored rather than left to kill the run.
//! SIGXFSZ (a file grew past `ulimit -f`) is handled the same way, so the write that met
//! the limit fails with an error the run reports, instead of the signal killing it.
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
    /// The exit code of the first signal received (128 + its number), if one was.
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

/// Exit code: the terminal hung up (SIGHUP, 128 + 1).
pub const EXIT_HANGUP: u8 = 129;
/// Exit code: quit (SIGQUIT, `Ctrl-\`, 128 + 3).
pub const EXIT_QUIT: u8 = 131;

/// The next stopping signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT), as the exit code it
/// calls for. SIGUSR1/2 are registered too, and never read: a registered signal no longer
/// has its default (fatal) disposition, so they are ignored.
struct Next {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    /// None when SIGHUP was ignored when the process started (`nohup`): left so.
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    quit: tokio::signal::unix::Signal,
    #[cfg(unix)]
    _ignored: [tokio::signal::unix::Signal; 3],
}

impl Next {
    #[cfg(unix)]
    fn new() -> std::io::Result<Next> {
        use tokio::signal::unix::{signal, SignalKind};
        let hup = match ignored_at_start(1) {
            true => None,
            false => Some(signal(SignalKind::hangup())?),
        };
        Ok(Next {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup,
            quit: signal(SignalKind::quit())?,
            _ignored: [
                signal(SignalKind::user_defined1())?,
                signal(SignalKind::user_defined2())?,
                // SIGXFSZ (25 on Linux): a write past `ulimit -f`. Left to its default it
                // kills the run silently; handled, the write fails with EFBIG instead, and
                // that is an error line like any other full disk.
                signal(SignalKind::from_raw(25))?,
            ],
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Next> {
        Ok(Next {})
    }

    #[cfg(unix)]
    async fn recv(&mut self) -> u8 {
        let hup = async {
            match &mut self.hup {
                Some(hup) => hup.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.int.recv() => EXIT_INTERRUPTED,
            _ = self.term.recv() => EXIT_TERMINATED,
            _ = hup => EXIT_HANGUP,
            _ = self.quit.recv() => EXIT_QUIT,
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> u8 {
        let _ = tokio::signal::ctrl_c().await;
        EXIT_INTERRUPTED
    }
}

/// Whether signal `number` was ignored (`SIG_IGN`) when the process started, as `nohup`
/// leaves SIGHUP: Linux lists the ignored signals in `/proc/self/status` (`SigIgn:`, a
/// hexadecimal mask, bit `number - 1`). Elsewhere, or unreadable: not ignored.
#[cfg(unix)]
fn ignored_at_start(number: u32) -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (number - 1)) != 0)
    })
}
