//! The signals that must not lose a run, beyond those signals.rs sends: SIGALRM, SIGXCPU
//! and SIGPWR stop it gracefully with 128 + their number; SIGUSR1, SIGUSR2, the timers
//! (SIGVTALRM, SIGPROF), SIGIO, SIGSTKFLT and the real-time signals are nobody's request
//! to stop, and are ignored (their default would kill the run and lose it), from the
//! process's first instant, before the flags are parsed; a SIGHUP that `nohup` (or
//! `trap '' HUP`) set to be ignored stays ignored; and `serve`, stopped by a signal, exits
//! with that signal's code like every other command.

use crate::common;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::binary::text;

/// A run of about a second: ten names, five at a time, 300 ms each.
const TEN_NAMES: &str = "names 10 --ids 1-1025 --mode async -c 5 --latency 300 --jitter 0 --json";

/// Starts `script` under `sh -c`, with `$ASYNCDEX` the binary, stdout and stderr piped.
fn sh(script: &str) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("ASYNCDEX", env!("CARGO_BIN_EXE_asyncdex"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts")
}

/// Sends each of `signals` to `child` after `after`, and waits for it.
fn signalled(child: Child, after: Duration, signals: &[&str]) -> Output {
    std::thread::sleep(after);
    for signal in signals {
        common::signal(child.id(), signal);
    }
    child.wait_with_output().unwrap()
}

/// The one JSON line's `ok` count.
fn ok_count(out: &Output) -> u64 {
    let lines = common::binary::json_lines(out);
    assert_eq!(lines.len(), 1, "{}", text(&out.stderr));
    lines[0]["ok"].as_u64().unwrap()
}

#[test]
fn user_signals_do_not_stop_a_run() {
    let child = sh(&format!("exec \"$ASYNCDEX\" {TEN_NAMES}"));
    let out = signalled(child, Duration::from_millis(400), &["USR1", "USR2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(ok_count(&out), 10, "the run went on to the end");
}

#[test]
fn timer_io_and_real_time_signals_do_not_stop_a_run() {
    // 34 and 64: SIGRTMIN and SIGRTMAX under glibc (32 and 33 are its own).
    let child = sh(&format!("exec \"$ASYNCDEX\" {TEN_NAMES}"));
    let signals = ["VTALRM", "PROF", "POLL", "STKFLT", "34", "50", "64"];
    let out = signalled(child, Duration::from_millis(400), &signals);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(ok_count(&out), 10, "the run went on to the end");
}

#[test]
fn a_deadline_a_cpu_limit_or_a_power_failure_stops_a_run_with_its_report() {
    // SIGALRM used to kill silently: exit 142, nothing printed, every name lost.
    for (signal, code) in [("ALRM", 142), ("XCPU", 152), ("PWR", 158)] {
        let child = sh(&format!("exec \"$ASYNCDEX\" {TEN_NAMES}"));
        let out = signalled(child, Duration::from_millis(450), &[signal]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        let ok = ok_count(&out);
        assert!(
            (1..10).contains(&ok),
            "SIG{signal}: what finished is printed: {ok}"
        );
    }
}

#[test]
fn a_deadline_ignored_by_whoever_started_the_run_stays_ignored() {
    let child = sh(&format!("trap '' ALRM; exec \"$ASYNCDEX\" {TEN_NAMES}"));
    let out = signalled(child, Duration::from_millis(400), &["ALRM"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(ok_count(&out), 10, "the run went on to the end");
}

#[test]
fn a_hangup_ignored_by_whoever_started_the_run_stays_ignored() {
    // What `nohup` does: SIGHUP ignored, then exec. The run is not stopped by it.
    let child = sh(&format!("trap '' HUP; exec \"$ASYNCDEX\" {TEN_NAMES}"));
    let out = signalled(child, Duration::from_millis(400), &["HUP"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(ok_count(&out), 10, "the run went on to the end");
}

#[test]
fn serve_stopped_by_a_signal_exits_with_its_code() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129), ("ALRM", 142)] {
        let child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = signalled(child, Duration::from_millis(1000), &[signal]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(
            stdout.contains("stopped after 0 requests"),
            "SIG{signal}: the closing line: {stdout}"
        );
    }
}

#[test]
fn a_file_size_limit_is_an_error_line_not_a_silent_death() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("x.db");
    // 128 KiB of file (sh counts 512-byte blocks): the types' bodies (about 1 MB) cannot fit. Left to SIGXFSZ's
    // default the crawl died with exit 153 and printed nothing.
    let child = sh(&format!(
        "ulimit -f 256; exec \"$ASYNCDEX\" crawl --resources type --latency 0 --jitter 0 --out '{}'",
        store.display()
    ));
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The cause named, not SQLite's bare "disk I/O error"; one line.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("ulimit -f"), "{stderr}");
    // What was stored is said: the manifest's `type` row is printed.
    let row: Vec<u64> = stdout
        .lines()
        .find(|l| l.starts_with("type "))
        .unwrap_or_else(|| panic!("no manifest row: {stdout} {stderr}"))
        .split_whitespace()
        .skip(1)
        .take(6)
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(
        row[4], 0,
        "nothing failed, the unstored are cancelled: {stdout}"
    );
    assert!(row[1] < row[0], "not all stored under the limit: {stdout}");
    // Without the limit, the same store completes.
    let rerun = sh(&format!(
        "exec \"$ASYNCDEX\" crawl --resources type --latency 0 --jitter 0 --out '{}'",
        store.display()
    ))
    .wait_with_output()
    .unwrap();
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun.stderr));
}

#[test]
fn a_store_that_cannot_be_made_names_the_cause_before_fetching() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("x.db");
    // 512 bytes of file: not even the schema's first page fits.
    let out = sh(&format!(
        "ulimit -f 1; exec \"$ASYNCDEX\" crawl --resources type --latency 0 --jitter 0 --out '{}'",
        store.display()
    ))
    .wait_with_output()
    .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one line: {stderr}");
    assert!(errors[0].contains("x.db"), "the store named: {stderr}");
    assert!(errors[0].contains("ulimit -f"), "the cause named: {stderr}");
    assert!(
        !stdout.contains("type "),
        "refused before a crawl ran: {stdout}"
    );
}

/// A pipe whose buffer is already full: its read end, and its write end to hand a child
/// as stderr, whose first write then blocks until the read end is drained.
fn full_pipe() -> (std::fs::File, std::fs::File) {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe` writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors are new and owned by nothing else.
    let (read, mut write) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    // Filled without blocking, then made blocking again for the child.
    let set_nonblocking = |on: bool| {
        // SAFETY: F_GETFL and F_SETFL on a descriptor this function owns.
        unsafe {
            let flags = libc::fcntl(fds[1], libc::F_GETFL);
            let flags = match on {
                true => flags | libc::O_NONBLOCK,
                false => flags & !libc::O_NONBLOCK,
            };
            assert_eq!(libc::fcntl(fds[1], libc::F_SETFL, flags), 0);
        }
    };
    set_nonblocking(true);
    let block = [b'.'; 4096];
    loop {
        match write.write(&block) {
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling the pipe: {e}"),
        }
    }
    set_nonblocking(false);
    (read, write)
}

/// The one-letter state of process `pid` (`S`: asleep in a system call), if it is there.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (name) S ...`: the name may hold spaces, the state follows its last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

#[test]
fn a_user_signal_at_start_up_does_not_kill_the_process() {
    use std::io::Read;
    // A usage error's one line is written before the flags are even turned into a
    // command: with stderr a full pipe, the process sleeps in that write, at a point
    // where it used to have no handler yet (SIGUSR1's default killed it: exit 138).
    let (mut read, write) = full_pipe();
    let mut command = Command::new(env!("CARGO_BIN_EXE_asyncdex"));
    command
        .arg("--no-such-flag")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(write);
    let mut child = command.spawn().unwrap();
    drop(command); // its copy of the write end: the drain below ends when the child's does
    let pid = child.id();
    let asleep = std::time::Instant::now();
    while state(pid) != Some('S') {
        assert!(
            asleep.elapsed() < Duration::from_secs(10),
            "never blocked in its write: {:?}",
            state(pid)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for signal in ["USR1", "USR2", "USR1"] {
        common::signal(pid, signal);
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut stderr = Vec::new();
    read.read_to_end(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    let stderr = text(&stderr);
    let line = stderr.trim_start_matches('.');
    assert_eq!(status.code(), Some(2), "{status:?}: {line}");
    assert!(
        line.starts_with("error: unexpected argument '--no-such-flag'"),
        "{line}"
    );
}
