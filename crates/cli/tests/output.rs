//! A report that cannot be written is a failure: a closed stdout, a full disk, a reader
//! that went away each give one `error:` line on stderr and exit 1, never a silent 0.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs asyncdex through `sh -c` so the shell can close or redirect its stdout.
fn sh(script: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("ASYNCDEX", env!("CARGO_BIN_EXE_asyncdex"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn assert_one_error(out: &Output, what: &str, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {stderr}");
    assert!(errors[0].contains(needle), "{what}: {stderr}");
}

#[test]
fn a_closed_stdout_is_refused() {
    for command in ["names 20", "stream 20"] {
        let out = sh(&format!(
            "\"$ASYNCDEX\" {command} --latency 0 --jitter 0 >&-"
        ));
        assert_one_error(&out, command, "standard output is closed");
    }
}

/// Stdout open for reading only (`1<file`, `1<folder`) fails every write with EBADF,
/// which Rust's `Stdout` drops in silence: refused at start as a closed one is, and the
/// file is left as it was (hp11 B-F6: exit 0, the report lost).
#[test]
fn a_stdout_open_for_reading_only_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ro.txt");
    std::fs::write(&file, "hi").unwrap();
    for (command, target) in [
        ("names 3 --latency 0", &file),
        ("get 25 --json --latency 0", &file),
        ("stream 3 --latency 0", &dir.path().to_path_buf()),
        ("--help", &file),
    ] {
        let out = sh(&format!("\"$ASYNCDEX\" {command} 1<'{}'", target.display()));
        assert_one_error(&out, command, "standard output is open for reading only");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hi");
}

#[test]
fn a_full_disk_is_an_error() {
    for command in ["names 20 --mode async", "stream 20", "names 5 --json"] {
        let out = sh(&format!(
            "\"$ASYNCDEX\" {command} --latency 0 --jitter 0 >/dev/full"
        ));
        assert_one_error(&out, command, "No space left");
    }
}

#[test]
fn a_reader_that_went_away_is_an_error() {
    // `true` reads nothing and exits: every write after that meets EPIPE (Rust ignores
    // SIGPIPE, so the write returns the error instead of killing the process).
    let mut child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(["stream", "300", "--latency", "0", "--jitter", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before anything is written
    let out = child.wait_with_output().unwrap();
    assert_one_error(&out, "stream to a closed pipe", "Broken pipe");
}

#[test]
fn dev_null_on_purpose_is_fine() {
    let out = sh("\"$ASYNCDEX\" names 3 --mode async --latency 0 --jitter 0 >/dev/null");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn program_text_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "[[steps]]\nlabel = \"a\\u001b[31mred\\n\\nnewline\"\nwait_ms = 1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(["program", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!stdout.contains('\u{1b}'), "no raw escape: {stdout:?}");
    let line = stdout.lines().find(|l| l.contains("red")).unwrap();
    assert!(line.contains("a\\u{1b}[31mred\\n\\nnewline"), "{line}");
}

#[test]
fn log_lines_to_a_pipe_carry_no_colour() {
    // A cache file that is garbage: the run sets it aside and logs a warning.
    let dir = tempfile::tempdir().unwrap();
    let file = asyncdex::cache::Cache::file_for(dir.path(), "embedded");
    std::fs::write(file, [0x5a_u8; 4096]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args("names 3 --mode async --latency 0 --jitter 0".split(' '))
        .arg("--cache")
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("WARN") && stderr.contains("set aside"),
        "{stderr}"
    );
    assert!(!stderr.contains("\u{1b}["), "no escape codes: {stderr:?}");
}

#[test]
fn commands_that_report_on_stderr_run_with_stdout_closed() {
    // `export` writes its report to stderr: it runs (and here finds no store: exit 2).
    let out = sh("\"$ASYNCDEX\" export --from /nonexistent/x.db --to /nonexistent/out >&-");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("standard output is closed"), "{stderr}");
    // `serve` as a service manager may start it: it serves until stopped (exit 143).
    let script = "\"$ASYNCDEX\" serve --bind 127.0.0.1:0 >&- & pid=$!; sleep 1.5; \
                  kill -TERM $pid; wait $pid";
    let out = sh(script);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(!stderr.contains("standard output is closed"), "{stderr}");
}

/// A non-blocking pipe (a runner may set O_NONBLOCK on the pipe it hands over) whose
/// reader starts late: a full pipe is a wait, not the end of the report (hp11 B-F7:
/// "Resource temporarily unavailable", exit 1, all past the first 64 KiB lost).
#[test]
fn a_full_non_blocking_pipe_is_waited_for_and_nothing_is_lost() {
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: two descriptors for pipe() to fill; each then owned once.
    let (read, write) = unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        let flags = libc::fcntl(fds[1], libc::F_GETFL);
        assert_eq!(
            libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK),
            0
        );
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args([
            "stream",
            "2000",
            "--latency",
            "0",
            "--jitter",
            "0",
            "--json",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing until the pipe is full (64 KiB): from then on each write of the
    // child's meets EAGAIN until this reader starts (before the fix, it gave up there).
    // Bounded: 60 s at most.
    let full = |fd: i32| {
        let mut queued: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int, the bytes waiting in the pipe.
        unsafe { libc::ioctl(fd, libc::FIONREAD, &mut queued) };
        // Not quite 64 KiB: a line that does not fit waits (or fails) whole.
        queued >= 60 * 1024
    };
    let began = std::time::Instant::now();
    while !full(read.as_raw_fd()) && began.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut report = String::new();
    std::fs::File::from(read)
        .read_to_string(&mut report)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        report.len() > 64 * 1024,
        "more than a pipe holds: {}",
        report.len()
    );
    assert_eq!(report.lines().count(), 2000, "every call: {stderr}");
}
