//! Under tight process limits asyncdex refuses or fails with one `error:` line, never an
//! abort or a panic: `ulimit -v`/`-d` below what it needs is refused at start (a soft
//! limit under a high enough hard one is raised), and a `ulimit -u` that leaves no thread
//! to start fails the work that needed one, or runs with fewer threads (a server's
//! runtime, the embedded mirror's), and never prints tokio's "can't spawn" panic.

use crate::common;

use std::process::{Command, Output};

use common::binary::{as_uid, can_change_uid, text};

/// Runs `script` under `sh -c` with `$ASYNCDEX` the binary.
fn sh(script: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("ASYNCDEX", env!("CARGO_BIN_EXE_asyncdex"))
        .env_remove("RUST_LOG")
        .output()
        .expect("sh runs")
}

#[test]
fn too_small_an_address_space_is_refused_in_one_line() {
    for (ulimit, says) in [
        (
            "ulimit -v 250000",
            "error: the address-space limit (ulimit -v) is 244 MiB; asyncdex needs at least 2048 MiB",
        ),
        (
            "ulimit -d 300000",
            "error: the data-segment limit (ulimit -d) is 292 MiB; asyncdex needs at least 2048 MiB",
        ),
    ] {
        let out = sh(&format!("{ulimit}; exec \"$ASYNCDEX\" names 3 --latency 0"));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{ulimit}: {stderr}");
        assert_eq!(stderr.trim_end(), says, "{ulimit}");
        assert!(out.stdout.is_empty(), "{ulimit}: nothing started");
    }
}

#[test]
fn a_low_soft_limit_under_a_high_hard_one_is_raised() {
    // Soft 300 MB, hard unlimited: raised at start, so the run (which aborted in an
    // allocation under 300 MB before) goes through.
    let out =
        sh("ulimit -S -v 300000; exec \"$ASYNCDEX\" names 20 --mode async --latency 0 --json");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = common::binary::json_lines(&out);
    assert_eq!(lines[0]["ok"], 20);
}

#[test]
fn a_process_limit_is_an_error_line_never_a_panic() {
    if !can_change_uid() {
        return;
    }
    // Where the runs as that uid may write (crawl's store).
    let dir = tempfile::tempdir().unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o777);
    std::fs::set_permissions(dir.path(), mode).unwrap();
    let out = dir.path().display();
    let mut ran_out = 0;
    for args in [
        "names 20 --mode async --latency 0 --jitter 0".to_owned(),
        "get pikachu --latency 0 --jitter 0".to_owned(),
        "names 6 --mode threads --latency 0 --jitter 0".to_owned(),
        // The embedded mirror's own runtime (several workers) and the store's threads.
        format!("crawl --resources type --latency 0 --out {out}/type-LIMIT.db"),
        // A server runs until stopped: `timeout` stops one that started (exit 124).
        "serve --bind 127.0.0.1:0".to_owned(),
    ] {
        for limit in [3, 5, 7, 9, 12, 16] {
            let args = args.replace("LIMIT", &limit.to_string());
            let run = if args.starts_with("serve") {
                format!("ulimit -u {limit}; exec timeout 3 \"$ASYNCDEX\" {args}")
            } else {
                format!("ulimit -u {limit}; exec \"$ASYNCDEX\" {args}")
            };
            let out = as_uid(54321, &run, dir.path());
            let stderr = text(&out.stderr);
            let case = format!("{args} under ulimit -u {limit}");
            // tokio's own panic text too: a panic caught and turned into an error line
            // has printed it already.
            for never in ["panicked", "can't spawn", "RUST_BACKTRACE"] {
                assert!(!stderr.contains(never), "{case}: {stderr}");
            }
            match out.status.code() {
                Some(0 | 3) => {}
                // A server that started and answered until `timeout` stopped it.
                Some(124) if args.starts_with("serve") => {
                    assert!(text(&out.stdout).contains("serving"), "{case}: {stderr}");
                }
                Some(1) => {
                    // A one-line refusal, or every call failed, each on its line.
                    ran_out += 1;
                    let said = stderr.lines().any(|l| l.starts_with("error: "))
                        || stderr.contains("calls: 0 ok");
                    assert!(said, "{case}: {stderr}");
                }
                other => panic!("{case}: exit {other:?}: {stderr}"),
            }
        }
    }
    assert!(ran_out > 0, "some limit was too tight to run under");
}

/// `asyncdex ARGS` under `ulimit -n limit`.
fn under_fd_limit(limit: u32, args: &str) -> Output {
    sh(&format!("ulimit -n {limit}; exec \"$ASYNCDEX\" {args}"))
}

/// The descriptor check counts what the run opens (hp9 F7): the threads mode its pool,
/// the sequential mode one connection, a program with no fetch steps none, not the async
/// mode's `-c 64`; and a refusal names a flag that mode takes.
#[test]
fn the_descriptor_check_counts_what_the_mode_opens() {
    for args in [
        "names 100 --mode threads --threads 20 --latency 0",
        "names 100 --mode sequential --latency 0",
        "bench --modes sequential,threads --threads 20 --sizes 40 --latency 0",
    ] {
        let out = under_fd_limit(100, args);
        assert_eq!(out.status.code(), Some(0), "{args}: {}", text(&out.stderr));
    }
    let out = under_fd_limit(33, "program --example smart-home");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let out = under_fd_limit(50, "names 100 --mode threads --threads 20 --latency 0");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: --threads 20 needs about 72 open files (20 connections at both ends: the \
         client and the embedded mirror), but this process may open 50: lower --threads, or \
         raise the limit (ulimit -n)"
    );
    // Under the floor even one connection does not fit: no flag is advised, nor --http2
    // (hp10 B-F4).
    let out = under_fd_limit(20, "names 100 --mode async --latency 0");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .ends_with("but this process may open 20: raise the limit (ulimit -n)"),
        "{stderr}"
    );
    // One connection: no flag can lower it, and none is advised.
    for args in [
        "names 100 --mode sequential --latency 0",
        "get pikachu --latency 0",
    ] {
        let out = under_fd_limit(20, args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "error: this run needs about 34 open files (1 connection at both ends: the client \
             and the embedded mirror), but this process may open 20: raise the limit (ulimit -n)",
            "{args}"
        );
    }
}

/// `cpu` under a `ulimit -u` that leaves too few threads (hp9 F8): the watchdog's thread
/// or rayon's that cannot start is the run's one `error:` line, never a panic.
#[test]
fn cpu_without_threads_to_start_is_one_error_line() {
    if !can_change_uid() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o777);
    std::fs::set_permissions(dir.path(), mode).unwrap();
    for limit in [2, 4, 10] {
        let run = format!("ulimit -u {limit}; exec \"$ASYNCDEX\" cpu --jobs 4");
        let out = as_uid(54323, &run, dir.path());
        let stderr = text(&out.stderr);
        let case = format!("cpu --jobs 4 under ulimit -u {limit}");
        assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
        for never in ["panicked", "RUST_BACKTRACE"] {
            assert!(!stderr.contains(never), "{case}: {stderr}");
        }
        let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{case}: {stderr}");
        assert!(errors[0].ends_with("(ulimit -u?)"), "{case}: {stderr}");
    }
}

/// A pool the system refuses threads to runs with those it got and says so once, not a
/// warning a thread (hp9 F8: thousands of lines for `--threads 1000`).
#[test]
fn a_pool_short_of_threads_warns_once() {
    if !can_change_uid() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o777);
    std::fs::set_permissions(dir.path(), mode).unwrap();
    let mut short = 0;
    for limit in [8, 12, 16] {
        let run = format!(
            "ulimit -u {limit}; exec \"$ASYNCDEX\" blocking --calls 200 --mode correct --latency 0"
        );
        let out = as_uid(54324, &run, dir.path());
        let stderr = text(&out.stderr);
        let warned = stderr.matches("pool 'blocking-demo'").count();
        assert!(warned <= 1, "ulimit -u {limit}: {stderr}");
        short += warned;
        assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(short > 0, "some limit left the pool short");
}

/// A pool whose stacks cannot fit the address-space limit is refused in one line before
/// the run (hp10 B-F10: `--threads 1024` under `ulimit -v 2200000` aborted midway with
/// "memory allocation failed"); under a soft limit a hard one allows, it is raised.
#[test]
fn threads_whose_stacks_cannot_fit_the_address_space_are_refused() {
    for (args, flag) in [
        (
            "names 20 --mode threads --threads 600 --latency 0",
            "--threads 600",
        ),
        ("blocking --calls 600 --latency 0", "--calls 600"),
        ("cpu --jobs 4 --threads 600", "--threads 600"),
    ] {
        let out = sh(&format!("ulimit -v 2200000; exec \"$ASYNCDEX\" {args}"));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "error: {flag} needs about 3248 MiB of address space"
            )),
            "{args}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args}: nothing started");
    }
    let out = sh("ulimit -S -v 2200000; exec \"$ASYNCDEX\" names 20 --mode threads --threads 600 --latency 0");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
