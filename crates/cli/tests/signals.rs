//! SIGINT, SIGTERM, SIGHUP and SIGQUIT stop every long-running command the same way: what
//! finished is printed, the rest is marked cancelled, and the exit code names the signal
//! (128 + its number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 131 for SIGQUIT).
//! Each test signals the built binary mid-run and bounds the time. (The signals that do
//! not stop a run, and `serve`'s codes: stop_signals.rs.)

use crate::common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Starts asyncdex with `args`, stdout and stderr piped.
fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("asyncdex starts")
}

/// Waits `after`, sends `signal`, and returns the output and how long the exit took.
fn signal_after(child: Child, after: Duration, signal: &str) -> (Output, Duration) {
    std::thread::sleep(after);
    let sent = Instant::now();
    common::signal(child.id(), signal);
    let out = child.wait_with_output().unwrap();
    (out, sent.elapsed())
}

const SIGNALS: [(&str, i32); 4] = [("INT", 130), ("TERM", 143), ("HUP", 129), ("QUIT", 131)];

#[test]
fn names_keeps_what_finished_under_int_and_term() {
    for (signal, code) in SIGNALS {
        let child = start(&[
            "names",
            "40",
            "--ids",
            "1-1025", // no list request first: the first five arrive at 0.8 s
            "--mode",
            "async",
            "-c",
            "5",
            "--latency",
            "800",
            "--jitter",
            "0",
            "--json",
        ]);
        let (out, took) = signal_after(child, Duration::from_millis(1400), signal);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(
            took < Duration::from_secs(3),
            "SIG{signal}: stopped {took:?} after"
        );
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "SIG{signal}: the async mode is reported");
        let count = |k: &str| lines[0][k].as_u64().unwrap();
        assert!(
            count("ok") >= 5,
            "SIG{signal}: what finished is kept: {}",
            lines[0]
        );
        assert_eq!(
            count("ok") + count("failed") + count("timed_out") + count("cancelled"),
            40,
            "SIG{signal}: every call counted once: {}",
            lines[0]
        );
    }
}

#[test]
fn program_reports_finished_steps_and_cancels_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wait8s.toml");
    std::fs::write(
        &file,
        "[[steps]]\nlabel = \"short\"\nwait_ms = 200\n[[steps]]\nlabel = \"long\"\nwait_ms = 8000\n",
    )
    .unwrap();
    for (signal, code) in SIGNALS {
        let child = start(&["program", file.to_str().unwrap(), "--json"]);
        let (out, took) = signal_after(child, Duration::from_millis(900), signal);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(
            took < Duration::from_secs(3),
            "SIG{signal}: stopped {took:?} after"
        );
        let lines = json_lines(&out);
        let steps = lines[0]["steps"].as_array().unwrap();
        let status = |label: &str| {
            let step = steps.iter().find(|s| s["label"] == label).unwrap();
            step["status"].as_str().unwrap().to_owned()
        };
        assert_eq!(status("short"), "ok", "SIG{signal}: {}", lines[0]);
        assert_eq!(status("long"), "cancelled", "SIG{signal}: {}", lines[0]);
    }
}

#[test]
fn blocking_stops_between_programs_and_reports_what_ran() {
    for (signal, code) in SIGNALS {
        // `before` takes 2 x 2 x 500 ms (the calls, then as long a heartbeat), then
        // `wrong` blocks 2 x 500 ms more: the signal comes in the middle of `wrong`.
        let child = start(&[
            "blocking",
            "--latency",
            "500",
            "--mode",
            "all",
            "--calls",
            "2",
            "--json",
        ]);
        let (out, took) = signal_after(child, Duration::from_millis(2500), signal);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(
            took < Duration::from_secs(3),
            "SIG{signal}: stopped {took:?} after"
        );
        let lines = json_lines(&out);
        assert_eq!(lines[0]["mode"], "before", "SIG{signal}: {lines:?}");
        assert_eq!(
            lines[0]["ok"], 2,
            "SIG{signal}: the finished program: {lines:?}"
        );
        let last = lines.last().unwrap();
        assert_eq!(last["interrupted"], true, "SIG{signal}: {lines:?}");
    }
}

/// Longer than the CLI's grace (1 s), within which a second signal counts as the first.
const PAST_THE_GRACE: Duration = Duration::from_millis(1300);

#[test]
fn a_second_signal_exits_at_once() {
    // A long blocking GET cannot be interrupted; the first signal stops waiting for it,
    // and even a wedged run ends at the second.
    let mut child = start(&["blocking", "--latency", "5000", "--mode", "correct"]);
    std::thread::sleep(Duration::from_millis(700));
    common::signal(child.id(), "INT");
    std::thread::sleep(PAST_THE_GRACE);
    if child.try_wait().unwrap().is_none() {
        common::signal(child.id(), "TERM");
    }
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    let code = out.status.code();
    assert!(
        matches!(code, Some(130 | 143)),
        "{code:?}: {}",
        text(&out.stderr)
    );
}

#[test]
fn fail_fast_counts_each_call_once_in_json_and_the_summary_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args([
            "names",
            "200",
            "--ids",
            "1-1025", // no list request: it would be faulted too
            "--mode",
            "async",
            "--fail-rate",
            "0.3",
            "--retries",
            "0",
            "--fail-fast",
            "--json",
            "--latency",
            "0",
            "--jitter",
            "0",
            "--seed",
            "7",
        ])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let lines = json_lines(&out);
    let line = &lines[0];
    let count = |k: &str| line[k].as_u64().unwrap();
    let sum = count("ok") + count("failed") + count("timed_out") + count("cancelled");
    assert_eq!(sum, 200, "disjoint counts add up to the calls: {line}");
    assert!(count("failed") >= 1 && count("cancelled") >= 1, "{line}");
    let completed = (count("ok") + count("failed") + count("timed_out")) as f64;
    let rate = completed / (line["wall_ms"].as_f64().unwrap() / 1000.0);
    let printed = line["requests_per_s"].as_f64().unwrap();
    assert!(
        (printed - rate).abs() <= rate * 0.05 + 0.2,
        "{printed} vs {rate}: {line}"
    );
    let stderr = text(&out.stderr);
    let summary = format!(
        "{} ok, {} failed, 0 retried, {} timed out, {} cancelled",
        count("ok"),
        count("failed"),
        count("timed_out"),
        count("cancelled")
    );
    assert!(stderr.contains(&summary), "{summary:?} not in {stderr}");
}

#[test]
fn a_shortened_wait_cut_off_by_a_signal_is_not_reported_as_waited() {
    let api = common::fixed_server(common::binary::THROTTLED_FOR_AGES, Duration::ZERO, 8);
    let child = start(&[
        "get",
        "25",
        "--api",
        &api,
        "--retries",
        "1",
        "--max-retry-after",
        "60",
    ]);
    let (out, took) = signal_after(child, Duration::from_millis(1500), "INT");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("waited 60 s"), "{stderr}");
    assert!(
        stderr.contains("shortened to 60 s; the run stopped before that wait was over"),
        "{stderr}"
    );
}

#[test]
fn a_second_signal_exits_at_once_even_while_the_runtime_is_blocked() {
    // Ten Pokémon as JSON (~1 MB) into a pipe nobody reads: the write blocks the
    // command's only runtime thread once the pipe's 64 KiB are full. The signals must be
    // heard elsewhere, or neither Ctrl-C nor the second signal could end the run.
    let ids: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    let mut args = vec!["get", "--json", "--latency", "0", "--jitter", "0"];
    args.extend(ids.iter().map(String::as_str));
    let mut child = start(&args);
    std::thread::sleep(Duration::from_millis(2000));
    assert!(child.try_wait().unwrap().is_none(), "it is stuck writing");
    common::signal(child.id(), "INT");
    std::thread::sleep(PAST_THE_GRACE);
    common::signal(child.id(), "TERM");
    let sent = Instant::now();
    // Not wait_with_output: reading stdout would unblock the write.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if sent.elapsed() > Duration::from_secs(5) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(143),
        "exits at the second signal"
    );
}

#[test]
fn two_signals_a_millisecond_apart_are_one_and_lose_nothing() {
    // `timeout` signals the child, then its process group: two SIGINTs within a
    // millisecond. They are one request to stop: the report is printed whole, every time.
    for run in 0..5 {
        let child = start(&[
            "names",
            "40",
            "--ids",
            "1-1025",
            "--mode",
            "async",
            "-c",
            "5",
            "--latency",
            "300",
            "--jitter",
            "0",
        ]);
        std::thread::sleep(Duration::from_millis(1000));
        common::signal(child.id(), "INT");
        std::thread::sleep(Duration::from_millis(1));
        common::signal(child.id(), "INT");
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(130), "run {run}: {stderr}");
        assert!(
            stdout.contains("   1. "),
            "run {run}: the names fetched are printed: {stdout:?}"
        );
        assert!(
            stdout.lines().any(|l| l.starts_with("async ")),
            "run {run}: the table is printed: {stdout:?}"
        );
        assert!(
            stderr.contains("async: 40 calls: "),
            "run {run}: the summary is printed: {stderr:?}"
        );
        assert!(
            stdout.ends_with('\n') && stderr.ends_with('\n'),
            "run {run}: no line cut short: {stdout:?} {stderr:?}"
        );
    }
}

#[test]
fn a_signal_while_a_store_open_waits_for_its_lock_is_an_interruption_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let out_arg = store.to_str().unwrap();
    let args = [
        "crawl",
        "--resources",
        "type",
        "--out",
        out_arg,
        "--latency",
        "0",
        "--jitter",
        "0",
    ];
    let first = start(&args).wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let holder = rusqlite::Connection::open(&store).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        // The open waits for the lock (up to 5 s) when the signal comes.
        let (out, took) = signal_after(start(&args), Duration::from_millis(500), signal);
        holder.execute_batch("ROLLBACK").unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(took < Duration::from_secs(3), "SIG{signal}: {took:?}");
        assert_eq!(stderr.lines().count(), 1, "SIG{signal}: one line: {stderr}");
        assert!(
            stderr.starts_with("interrupted: ") && !stderr.contains("error"),
            "SIG{signal}: said as a stop, not a failure: {stderr}"
        );
    }
}
