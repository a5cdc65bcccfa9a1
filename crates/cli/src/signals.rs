//! One way to stop every command: SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, a
//! service manager), SIGHUP (the terminal closed, an ssh session dropped), SIGQUIT
//! (`Ctrl-\`), SIGALRM (a deadline), SIGXCPU (the CPU-time soft limit) and SIGPWR (the
//! power is failing) are handled alike ([`STOPS`]).
//!
//! The first signal cancels the run's [`CancellationToken`]: each command stops starting
//! work, reports (or stores) what finished, and the process exits 128 + the signal's
//! number, as a shell reports a process the signal killed: 130 for SIGINT, 143 for
//! SIGTERM, 129 for SIGHUP, 131 for SIGQUIT, 142 for SIGALRM, 152 for SIGXCPU, 158 for
//! SIGPWR. A second signal of any of them exits at once with its own code.
//!
//! Each of these, left to its default, kills the process, and whatever it had fetched
//! and not yet printed or stored is lost. SIGHUP is the one a person sends without
//! meaning to (closing a terminal): it stops the run like the others, so the report is
//! written (wherever stdout points; to a closed terminal it is an error, exit 1, but a
//! crawl's store and a file stay whole). Under `nohup`, which sets SIGHUP to be ignored
//! before starting the program, it stays ignored: that is what `nohup` is asked for.
//! SIGQUIT is a harder Ctrl-C (its default also dumps core): a run asked to quit still
//! loses nothing.
//!
//! Every other signal whose default kills the process is either a fault the process
//! raised itself (SIGSEGV and kin: left alone) or nobody's request to stop, and is
//! ignored ([`ignored`]): SIGUSR1 and SIGUSR2 (they mean what a program defines, and
//! some tools send them to ask for progress, as to `dd`), the timers asyncdex never sets
//! (SIGVTALRM, SIGPROF), SIGIO, SIGSTKFLT and the real-time signals. SIGXFSZ (a file
//! grew past `ulimit -f`) is ignored too, so the write that met the limit fails with an
//! error the run reports, instead of the signal killing it.
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
//! which would kill the process and lose what it had. The ignored ones are set first of
//! all ([`ignore_harmless`], the first thing `main` does, before the flags are parsed):
//! a SIGUSR1 sent the moment the process starts (a tool asking every new process for
//! progress) found the default still in place and killed it, exit 138.
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
                // A wait for another process's lock on a store ends too (within 0.1 s).
                asyncdex::store::stop_waiting();
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

/// The signals that stop a run, each as the exit code it calls for (128 + its number,
/// as a shell reports a process the signal killed). Each, left to its default, would
/// kill the run and lose what it had; each is a request to stop:
///
/// - SIGHUP (1, 129): the terminal closed; SIGINT (2, 130): Ctrl-C; SIGQUIT (3, 131):
///   `Ctrl-\`; SIGTERM (15, 143): `kill`, `timeout`, a service manager;
/// - SIGALRM (14, 142): "time is up", what `alarm()` wrappers and `timeout -s ALRM`
///   send; asyncdex sets no alarm of its own, so one from outside is a deadline;
/// - SIGXCPU (24, 152): the CPU-time soft limit (`ulimit -S -t`) was reached; stopping
///   with a report beats running on until the hard limit's SIGKILL;
/// - SIGPWR (30, 158): the power is failing (a UPS daemon; `lxc-stop` asks a container
///   to shut down with it): stop and store what is done while there is time.
#[cfg(unix)]
const STOPS: [(i32, u8); 7] = [
    (1, 129),
    (2, EXIT_INTERRUPTED),
    (3, 131),
    (14, 142),
    (15, EXIT_TERMINATED),
    (24, 152),
    (30, 158),
];

/// Of [`STOPS`], those left ignored when whoever started asyncdex ignored them: SIGHUP
/// (`nohup` is asked for exactly that), SIGALRM, SIGXCPU, SIGPWR. Not SIGINT and SIGQUIT:
/// a shell ignores those in every `command &` without anyone asking, and a run in the
/// background must still stop on `kill -INT`; nor SIGTERM, the stop of last resort.
#[cfg(unix)]
const KEPT_IGNORED: [i32; 4] = [1, 14, 24, 30];

/// The signals whose default also kills the process but which are nobody's request to
/// stop, so they are ignored (a handler that does nothing; unlike `SIG_IGN` it is not
/// passed on to a program asyncdex starts): SIGUSR1 and SIGUSR2 (10, 12; what a program
/// defines, and asyncdex defines nothing: some tools send them to ask for progress, as to
/// `dd`), SIGSTKFLT (16; never sent by Linux), SIGXFSZ (25; a write past `ulimit -f`,
/// which then fails with EFBIG and is an error line like a full disk), SIGVTALRM and
/// SIGPROF (26, 27; timers asyncdex never sets), SIGIO (29; I/O readiness asyncdex never
/// asks for), and the real-time signals SIGRTMIN..=SIGRTMAX (application-defined, like
/// SIGUSR1).
///
/// Left at their defaults: the faults the process raises itself (SIGILL, SIGTRAP,
/// SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS: after one, running on is not safe, and the
/// core dump is the evidence), SIGKILL and SIGSTOP (no process can catch them), the
/// job-control stops (SIGTSTP, SIGTTIN, SIGTTOU: they pause, not kill) and those ignored
/// by default (SIGCHLD, SIGCONT, SIGURG, SIGWINCH). SIGPIPE is ignored by Rust itself.
#[cfg(unix)]
fn ignored() -> impl Iterator<Item = i32> {
    [10, 12, 16, 25, 26, 27, 29]
        .into_iter()
        .chain(libc::SIGRTMIN()..=libc::SIGRTMAX())
}

/// Installs a handler that does nothing for each of [`ignored`]: the signal no longer
/// kills, and a system call it interrupts is restarted (`SA_RESTART`). One already
/// ignored when the process started stays ignored. `main` calls it first, before
/// anything else can take time (see the module docs).
#[cfg(unix)]
pub fn ignore_harmless() -> std::io::Result<()> {
    extern "C" fn nothing(_: libc::c_int) {}
    let at_start = ignored_mask();
    for signal in ignored() {
        if is_in(at_start, signal) {
            continue;
        }
        // SAFETY: a zeroed `sigaction` is a valid value (empty mask, no flags) that is
        // then filled in; the handler touches nothing, so it is async-signal-safe.
        let done = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = nothing as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if done != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Elsewhere there is no such signal to ignore.
#[cfg(not(unix))]
pub fn ignore_harmless() -> std::io::Result<()> {
    Ok(())
}

/// The next stopping signal of [`STOPS`], as the exit code it calls for.
struct Next {
    #[cfg(unix)]
    stops: Vec<(tokio::signal::unix::Signal, u8)>,
}

impl Next {
    #[cfg(unix)]
    fn new() -> std::io::Result<Next> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut stops = Vec::with_capacity(STOPS.len());
        for (number, code) in STOPS {
            if KEPT_IGNORED.contains(&number) && ignored_at_start(number) {
                continue;
            }
            stops.push((signal(SignalKind::from_raw(number))?, code));
        }
        Ok(Next { stops })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Next> {
        Ok(Next {})
    }

    #[cfg(unix)]
    async fn recv(&mut self) -> u8 {
        std::future::poll_fn(|cx| {
            for (signal, code) in &mut self.stops {
                if signal.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*code);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> u8 {
        let _ = tokio::signal::ctrl_c().await;
        EXIT_INTERRUPTED
    }
}

/// Whether signal `number` was ignored (`SIG_IGN`) when the process started, as `nohup`
/// leaves SIGHUP (see [`ignored_mask`]).
#[cfg(unix)]
fn ignored_at_start(number: i32) -> bool {
    is_in(ignored_mask(), number)
}

/// The signals ignored when the process started: Linux lists them in `/proc/self/status`
/// (`SigIgn:`, a hexadecimal mask, bit `number - 1`), read once, at the first call
/// ([`ignore_harmless`], `main`'s first step). asyncdex never sets `SIG_IGN` itself (it
/// installs handlers), so a later read would say the same; once is enough.
/// Elsewhere, or unreadable: none.
#[cfg(unix)]
fn ignored_mask() -> u64 {
    static AT_START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *AT_START.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
                u64::from_str_radix(mask.trim(), 16).ok()
            })
            .unwrap_or(0)
    })
}

/// Whether signal `number`'s bit is set in `mask` (as [`ignored_mask`] reads it).
#[cfg(unix)]
fn is_in(mask: u64, number: i32) -> bool {
    (1..=64).contains(&number) && mask & (1 << (number - 1)) != 0
}
