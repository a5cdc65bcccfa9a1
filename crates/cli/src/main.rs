//! The `asyncdex` command line: flags in, one library call per command, printing and an
//! exit code out. `args` holds the flags (clap), `jobs` turns them into one validated job
//! per command, `commands` runs each job through the library and prints its report
//! (tables, JSON lines, progress bars), `timeline` and `chart` draw pictures. The library
//! crates (`asyncdex`, `asyncdex-engine`) never name a flag.

// Flag docs are `--help` text, where a URL is written bare.
#![allow(rustdoc::bare_urls)]

mod args;
mod chart;
mod commands;
mod jobs;
mod timeline;

use std::process::ExitCode;

use asyncdex_engine::watchdog::{Watchdog, WatchdogConfig};
use clap::Parser;
use commands::Io;
use tokio_util::sync::CancellationToken;

use args::Cli;

// jemalloc, as oha and most Rust network tools: each request allocates and frees a few
// dozen small blocks (task, buffers, headers) across threads, which glibc's malloc serves
// more slowly (measured in BENCHMARKS.md). The library leaves the choice to its users.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if e.use_stderr()
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            // One line that names the problem; `--help` has the rest.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see --help)");
            return ExitCode::from(commands::EXIT_USAGE);
        }
        Err(e) => e.exit(),
    };
    let default_level = ["warn", "info", "debug"][usize::from(cli.verbose.min(2))];
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    // The runtime flavour is chosen per command. A server wants every core: `serve` gets
    // a multi-threaded runtime. A client's work per call is tiny, and on one thread no
    // wake-up has to cross to another worker (measured: +19 % requests/s); blocking work
    // goes to the offload pools and the embedded mirror has a runtime of its own.
    let mut builder = if cli.command.is_server() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(commands::EXIT_FAILED);
        }
    };
    let _watchdog = cli.watchdog.then(|| {
        Watchdog::start(runtime.handle(), WatchdogConfig::default(), |event| {
            eprintln!("{event}")
        })
    });
    // Ctrl-C: the first cancels the run (what finished is still reported, exit 130);
    // a second one exits at once.
    let cancel = CancellationToken::new();
    runtime.spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(commands::EXIT_INTERRUPTED));
                }
            }
        }
    });
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let io = Io {
        out: &mut out,
        err: &mut std::io::stderr(),
    };
    match runtime.block_on(jobs::run(cli.command, io, cancel)) {
        Ok(summary) => ExitCode::from(summary.exit_code()),
        Err(e) => {
            use std::io::Write;
            // One line, whatever the message quotes.
            let line = e.to_string().replace(['\n', '\r'], " ");
            let _ = writeln!(err, "error: {line}");
            ExitCode::from(commands::exit_code_for(&e))
        }
    }
}
