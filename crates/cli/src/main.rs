//! The `asyncdex` command line: flags in, one library call per command, printing and an
//! exit code out. `args` holds the flags (clap), `jobs` turns them into one validated job
//! per command, `commands` runs each job through the library and prints its report
//! (tables, JSON lines, progress bars), `timeline` and `chart` draw pictures. The library
//! crates (`asyncdex`, `asyncdex-engine`) never name a flag.

// Flag docs are `--help` text, where a URL is written bare.
#![allow(rustdoc::bare_urls)]

mod address_space;
mod args;
mod bounds;
mod chart;
mod commands;
mod descriptors;
mod full_pipe;
mod given;
mod jobs;
mod json;
mod log_writer;
mod output_file;
mod signals;
mod timeline;

use std::io::Write;
use std::process::ExitCode;

use asyncdex_engine::watchdog::{Watchdog, WatchdogConfig};
use clap::{CommandFactory, FromArgMatches};
use commands::Io;
use tokio_util::sync::CancellationToken;

use args::{Cli, Command};

// jemalloc, as oha and most Rust network tools: each request allocates and frees a few
// dozen small blocks (task, buffers, headers) across threads, which glibc's malloc serves
// more slowly (measured in BENCHMARKS.md). The library leaves the choice to its users.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Before anything that needs a stack: under too small a `ulimit -s` the first deep
    // call would abort the run without an error line.
    if let Err(line) = address_space::ensure_stack() {
        let _ = writeln!(std::io::stderr(), "error: {line}");
        return ExitCode::from(commands::EXIT_FAILED);
    }
    // First of all: until then SIGUSR1 and its kin kill the process (see `signals`).
    if let Err(e) = signals::ignore_harmless() {
        let _ = writeln!(std::io::stderr(), "error: cannot ignore signals: {e}");
        return ExitCode::from(commands::EXIT_FAILED);
    }
    let closed = plug_closed_std_fds();
    // The matches are kept beside the flags: they alone tell a typed `--threads 10` from
    // its default (`given`).
    let parsed = Cli::command().try_get_matches().and_then(|matches| {
        let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))?;
        Ok((cli, given::Given::of(&matches)))
    });
    let (mut cli, given) = match parsed {
        Ok(parsed) => parsed,
        Err(e)
            if e.use_stderr()
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            // One line that names the problem; `--help` has the rest.
            // clap may spread the problem over a few lines before its usage ("the
            // following required arguments were not provided:" then the argument): they
            // are joined, so the one line still names it.
            let text = e.render().to_string();
            let problem: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                .collect();
            let line = match problem.join(" ") {
                l if l.is_empty() => "error: invalid arguments".to_owned(),
                l => l,
            };
            // clap quotes the bad value as given: escaped like every other line.
            let line = commands::report::escape_display(&line);
            let mut err = commands::report::Lines::new(std::io::stderr());
            let _ = writeln!(err, "{line} (see --help)");
            return ExitCode::from(commands::EXIT_USAGE);
        }
        Err(_) if closed.unwritable() => return refuse_closed_stdout(&closed),
        Err(e) => {
            // `--help`, `--version`: printed here, so a failed write is an error too.
            let text = e.render().to_string();
            let mut out = std::io::stdout();
            return match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::from(commands::EXIT_OK),
                Err(e) => fail_output(&e),
            };
        }
    };
    given::note(&mut cli.command, &given);
    // A closed stdout (or one open for reading only) is results nobody will see: refused
    // before any work is done, for the commands whose results go there. `export` reports
    // on stderr, and `serve` may be started by a service manager with stdout closed: its
    // lines are only notes.
    if closed.unwritable() && !matches!(cli.command, Command::Serve(_) | Command::Export(_)) {
        return refuse_closed_stdout(&closed);
    }
    // Before any thread or buffer: under too small a `ulimit -v` an allocation would
    // abort the run midway, without an error line.
    if let Err(line) = address_space::ensure() {
        let _ = writeln!(std::io::stderr(), "error: {line}");
        return ExitCode::from(commands::EXIT_FAILED);
    }
    let default_level = ["warn", "info", "debug"][usize::from(cli.verbose.min(2))];
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .fmt_fields(log_writer::fields())
        .with_writer(log_writer::Stderr)
        .with_ansi(log_in_colour())
        .init();
    // The runtime flavour is chosen per command. A server wants every core: `serve` gets
    // a multi-threaded runtime. A client's work per call is tiny, and on one thread no
    // wake-up has to cross to another worker (measured: +19 % requests/s); blocking work
    // goes to the offload pools and the embedded mirror has a runtime of its own.
    // A server's workers are asked of the system first: tokio's multi-thread build panics
    // where it refuses the first one (`ulimit -u`); with none to spare, `serve` runs on
    // this thread alone.
    let built = if cli.command.is_server() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        asyncdex::mirror::runtime::build("tokio-runtime-worker", cores).map(|b| b.runtime)
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match built {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the async runtime: {e}"
            );
            return ExitCode::from(commands::EXIT_FAILED);
        }
    };
    // The blocking demo runs each mode on a runtime of its own, which the watchdog does
    // not watch (its heartbeat is the demo's own stall detector): a flag that would do
    // nothing is refused (hp10 B-F11).
    if cli.watchdog && matches!(cli.command, Command::Blocking(_)) {
        let _ = writeln!(
            std::io::stderr(),
            "error: --watchdog watches the command's runtime, and blocking runs each mode on one of its own (its heartbeat shows the stall): drop --watchdog"
        );
        return ExitCode::from(commands::EXIT_USAGE);
    }
    let watchdog = cli.watchdog.then(|| {
        Watchdog::start(runtime.handle(), WatchdogConfig::default(), |event| {
            let _ = writeln!(std::io::stderr(), "{event}");
        })
    });
    let _watchdog = match watchdog.transpose() {
        Ok(watchdog) => watchdog,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the watchdog's thread: {e} (ulimit -u?)"
            );
            return ExitCode::from(commands::EXIT_FAILED);
        }
    };
    let cancel = CancellationToken::new();
    let signals = match signals::listen(cancel.clone()) {
        Ok(signals) => signals,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot listen for signals: {e}");
            return ExitCode::from(commands::EXIT_FAILED);
        }
    };
    // Both line-buffered: each finished line leaves in one write, so a forced exit (the
    // second signal) or a log line from another thread falls between two lines, never
    // inside one. (Rust's stdout is a `LineWriter` already; its stderr is unbuffered.)
    // Every human-readable line is cut at 1 000 characters however many values it
    // quotes; `--json` lines are never cut (they keep everything whole).
    // A pipe that is full waits for its reader, whether or not it is non-blocking.
    let stdout = full_pipe::Patient::new(std::io::stdout(), 1);
    let mut out: Box<dyn Write> = match writes_json(&cli.command) {
        true => Box::new(stdout),
        false => Box::new(commands::report::Lines::new(stdout)),
    };
    let stderr = full_pipe::Patient::new(std::io::stderr(), 2);
    let mut err = std::io::LineWriter::new(commands::report::Lines::new(stderr));
    let io = Io {
        out: &mut out,
        err: &mut err,
        cancel: cancel.clone(),
    };
    // A typed flag the run would not use is refused before the run, as a bad value is.
    let result = match given::refuse_unused(&cli.command, &given) {
        Ok(()) => runtime.block_on(jobs::run(cli.command, io, cancel)),
        Err(e) => Err(e),
    };
    // What a signal interrupted may still hold a blocking thread (a GET in `blocking`):
    // leave it behind rather than wait for it; everything finished was reported already.
    if signals.received().is_some() {
        runtime.shutdown_background();
    } else {
        drop(runtime);
    }
    // The last line may still sit in stdout's buffer: a failure to write it is a failure.
    let result = result.and_then(|summary| {
        out.flush().map_err(|e| {
            asyncdex::Error::new(asyncdex::ErrorKind::Io, format!("cannot write output: {e}"))
        })?;
        Ok(summary)
    });
    // Whatever a command left unfinished on stderr (every line ends in '\n', so nothing).
    let _ = err.flush();
    match result {
        Ok(summary) if summary.interrupted => {
            ExitCode::from(signals.received().unwrap_or(commands::EXIT_INTERRUPTED))
        }
        Ok(summary) => ExitCode::from(summary.exit_code()),
        Err(e) => {
            // One line, whatever the message quotes. A wait the signal cut short (for a
            // store's lock) is the stop the signal asked for, not a failure: it is said as
            // every interrupted run says it.
            let line = e.to_string().replace(['\n', '\r'], " ");
            let prefix = match e.kind() {
                asyncdex::ErrorKind::Cancelled if signals.received().is_some() => "interrupted",
                _ => "error",
            };
            let line = commands::report::escape_display(&line);
            let _ = writeln!(err, "{prefix}: {line}");
            ExitCode::from(
                signals
                    .received()
                    .unwrap_or_else(|| commands::exit_code_for(&e)),
            )
        }
    }
}

/// Whether `command` writes JSON lines to stdout (`--json`) rather than tables.
fn writes_json(command: &Command) -> bool {
    match command {
        Command::Names(a) => a.fetch.json,
        Command::Get(a) => a.fetch.json,
        Command::Stream(a) => a.fetch.json,
        Command::Blocking(a) => a.json,
        Command::Cpu(a) => a.json,
        Command::Program(a) => a.json,
        Command::Bench(a) => a.json,
        Command::Crawl(a) => a.json,
        Command::Serve(_) | Command::Export(_) | Command::Cache(_) => false,
    }
}

/// Whether log lines may carry colour: only for a person at a terminal, and only if they
/// have not asked for none (`NO_COLOR` set to anything but "", as https://no-color.org
/// says). A file or a pipe gets plain text: escape codes there are noise to `grep` and to
/// whoever reads the log later.
fn log_in_colour() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_color
}

/// The one-line error and exit code for a command run with its stdout closed, or open
/// for reading only.
fn refuse_closed_stdout(closed: &Closed) -> ExitCode {
    let how = match closed.stdout_read_only {
        true => "open for reading only",
        false => "closed",
    };
    let _ = writeln!(
        std::io::stderr(),
        "error: standard output is {how}: the report would be lost"
    );
    ExitCode::from(commands::EXIT_FAILED)
}

/// The one-line error and exit code for output that could not be written.
fn fail_output(e: &std::io::Error) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: cannot write output: {e}");
    ExitCode::from(commands::EXIT_FAILED)
}

/// Which of the standard streams were closed when the process started.
#[derive(Debug, Default)]
struct Closed {
    stdout: bool,
    /// Stdout open, but for reading only (`1<file`, `1</tmp`): every write fails with
    /// `EBADF`, which Rust's `Stdout` takes for a closed stream and drops in silence.
    stdout_read_only: bool,
}

impl Closed {
    /// Whether nothing written to stdout would arrive: closed, or open for reading only.
    fn unwritable(&self) -> bool {
        self.stdout || self.stdout_read_only
    }
}

/// Whether descriptor `fd` is open for reading only (a write to it fails `EBADF`).
#[cfg(unix)]
fn read_only(fd: libc::c_int) -> bool {
    // SAFETY: F_GETFL reads the descriptor's status flags; -1 if it is not open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    flags != -1 && flags & libc::O_ACCMODE == libc::O_RDONLY
}

#[cfg(not(unix))]
fn read_only(_fd: i32) -> bool {
    false
}

/// Whether stdout was closed when the process started (`asyncdex names 20 >&-`).
///
/// Rust's runtime, before `main`, opens `/dev/null` (read-write) onto each of descriptors
/// 0, 1 and 2 that is closed, so that no file opened later takes its number; from then on
/// a write to that "stdout" succeeds into nothing. It is told apart from a shell's
/// `>/dev/null` (opened write-only) by its access mode. A report written to nowhere by
/// accident is refused; one sent to `/dev/null` on purpose is not.
#[cfg(target_os = "linux")]
fn plug_closed_std_fds() -> Closed {
    use std::os::unix::fs::MetadataExt;
    let is_null = match (
        std::fs::metadata("/proc/self/fd/1"),
        std::fs::metadata("/dev/null"),
    ) {
        (Ok(fd), Ok(null)) => fd.rdev() == null.rdev() && fd.dev() == null.dev(),
        _ => false,
    };
    // `flags:` in fdinfo is octal; the access mode is its low two bits (2 = O_RDWR).
    let read_write = std::fs::read_to_string("/proc/self/fdinfo/1").is_ok_and(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            .is_some_and(|flags| flags & 0o3 == 0o2)
    });
    Closed {
        stdout: is_null && read_write,
        stdout_read_only: read_only(1),
    }
}

#[cfg(not(target_os = "linux"))]
fn plug_closed_std_fds() -> Closed {
    Closed {
        stdout: false,
        stdout_read_only: read_only(1),
    }
}
