//! Running the `asyncdex` binary as a user does, and table tests over its answers.
//!
//! A table test runs every case, collects what went wrong into a `Vec<String>` (each entry
//! naming its case), and asserts once at the end, so one broken case never hides another.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// The embedded mirror made fast: no latency, no jitter.
pub const FAST: [&str; 4] = ["--latency", "0", "--jitter", "0"];

/// A 429 whose `Retry-After` is 99 999 999 999 s: a wait no run should keep.
pub const THROTTLED_FOR_AGES: &str = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 99999999999\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";

/// Runs asyncdex with `args`, `RUST_LOG` unset so stderr holds only what a user sees.
pub fn asyncdex(args: &[&str]) -> Output {
    asyncdex_in(args, None)
}

/// Like [`asyncdex`], from the working directory `dir` when one is given.
pub fn asyncdex_in(args: &[&str], dir: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_asyncdex"));
    command.args(args).env_remove("RUST_LOG");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().expect("asyncdex runs")
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every line of stdout as JSON (panics, naming the line, on one that is not).
pub fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// One case of a table of failing runs: what it checks, the arguments, the exit code
/// expected and a piece of text stderr must hold.
pub struct Case<'a> {
    /// What the case checks, in words; every failure report starts with it.
    pub what: &'a str,
    /// The arguments given to asyncdex.
    pub args: Vec<&'a str>,
    /// The documented exit code.
    pub code: i32,
    /// Text that stderr must contain.
    pub needle: &'a str,
    /// Whether stderr must be exactly one line (always so for a usage error).
    pub one_line: bool,
}

impl<'a> Case<'a> {
    /// A usage error: exit 2, one line starting with `error: `, nothing on stdout.
    pub fn usage(what: &'a str, args: &[&'a str], needle: &'a str) -> Self {
        Case {
            what,
            args: args.to_vec(),
            code: 2,
            needle,
            one_line: true,
        }
    }

    /// A run that fails (exit 1) and says why.
    pub fn fails(what: &'a str, args: &[&'a str], needle: &'a str) -> Self {
        Case {
            what,
            args: args.to_vec(),
            code: 1,
            needle,
            one_line: false,
        }
    }

    /// The same case, its stderr required to be a single line.
    pub fn in_one_line(self) -> Self {
        Case {
            one_line: true,
            ..self
        }
    }
}

/// Everything wrong with `out` as the answer to `case` (empty when all is well): the
/// exit code, the needle, no panic, one line when asked; and for a usage error (exit 2)
/// also a first line starting with `error: ` and nothing on stdout (nothing was fetched).
pub fn problems(case: &Case, out: &Output) -> Vec<String> {
    let stderr = text(&out.stderr);
    let shown = stderr.trim_end(); // one report line per problem, however stderr ends
    let label = format!("{} ({:?})", case.what, case.args);
    let mut found = Vec::new();
    if out.status.code() != Some(case.code) {
        found.push(format!(
            "{label}: exit {:?}, expected {}; stderr: {shown}",
            out.status.code(),
            case.code
        ));
    }
    if !stderr.contains(case.needle) {
        found.push(format!(
            "{label}: expected {:?} in stderr: {shown}",
            case.needle
        ));
    }
    if stderr.contains("panicked") {
        found.push(format!("{label}: panicked: {shown}"));
    }
    if (case.one_line || case.code == 2) && stderr.lines().count() != 1 {
        found.push(format!("{label}: one line expected, got: {shown}"));
    }
    if case.code == 2 {
        if !stderr.starts_with("error: ") {
            found.push(format!("{label}: does not start with `error: `: {shown}"));
        }
        if !out.stdout.is_empty() {
            found.push(format!(
                "{label}: nothing should be fetched, stdout: {}",
                text(&out.stdout)
            ));
        }
    }
    found
}

/// Runs every case (from `dir` when given) and fails once, listing every failing case.
pub fn run_table(cases: &[Case], dir: Option<&Path>) {
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|case| problems(case, &asyncdex_in(&case.args, dir)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed checks:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Whether a test can run commands as another uid (root, with `setpriv`): what root is
/// not held to (file modes, RLIMIT_NPROC) takes another user to test; says so if not.
pub fn can_change_uid() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !(root && setpriv) {
        eprintln!("skipped: needs root and setpriv to run as another uid");
    }
    root && setpriv
}

/// The uid (and gid) of `nobody` (and `nogroup`) on Linux.
pub const NOBODY: u32 = 65534;

/// `program` as `uid` (and group `uid`, no other groups), through `setpriv`: for a test
/// that [`can_change_uid`]. `RUST_LOG` is unset.
pub fn command_as(uid: u32, program: &str) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            program,
        ])
        .env_remove("RUST_LOG");
    command
}

/// The binary as `uid` ([`command_as`]).
pub fn asyncdex_as(uid: u32) -> Command {
    command_as(uid, env!("CARGO_BIN_EXE_asyncdex"))
}

/// `bash -c run` as `uid` (an unused one, its own per test: the runs of one count against
/// its limit only), in `dir`.
pub fn as_uid(uid: u32, run: &str, dir: &Path) -> Output {
    command_as(uid, "bash")
        .arg("-c")
        .arg(run)
        .env("ASYNCDEX", env!("CARGO_BIN_EXE_asyncdex"))
        .env("HOME", dir)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `asyncdex serve` started with `args` (after `serve`), its stdout and stderr piped: the
/// child, the rest of its stdout, its base URL (read from its first line), and an HTTP
/// agent that takes every status as an answer.
pub fn serve(
    args: &[&std::ffi::OsStr],
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
    String,
    ureq::Agent,
) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .arg("serve")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .to_owned();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    (child, stdout, base, agent)
}

/// A 1 MiB tmpfs mounted at a folder, made read-only by [`Mount::read_only`] and
/// unmounted when dropped: a read-only file system (`EROFS`), which file modes cannot
/// stand in for (root ignores them).
pub struct Mount(std::path::PathBuf);

impl Mount {
    /// Mounts a tmpfs at `at` (made if missing); `None`, saying why the test is skipped,
    /// where this process may not mount (not root, or no `CAP_SYS_ADMIN`).
    pub fn tmpfs(at: &Path) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(at)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Mount(at.to_owned())),
            Ok(out) => {
                eprintln!(
                    "skipped: cannot mount a tmpfs: {}",
                    text(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount: {e}");
                None
            }
        }
    }

    /// Remounts it read-only.
    pub fn read_only(&self) {
        let out = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(out.status.success(), "remount,ro: {}", text(&out.stderr));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
