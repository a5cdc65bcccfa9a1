//! `bench` counts every call as every command does: each cell shows its ok and failed
//! calls (timed-out ones after the row), a cell with failures has no ratio and counts only
//! its successes as throughput, and the run ends with the same summary and failure lines
//! `names` prints, one `error:` line when no call succeeded, and the exit code the README
//! gives (1 all failed, 3 some).

use crate::common;

use std::process::Output;

use common::binary::{asyncdex, json_lines, text};

/// `asyncdex bench` with these arguments (separated by spaces).
fn bench(args: &str) -> Output {
    let args: Vec<&str> = std::iter::once("bench")
        .chain(args.split_whitespace())
        .collect();
    asyncdex(&args)
}

/// The rows of a table: the lines after the header that start with a mode.
fn rows(stdout: &[u8]) -> Vec<Vec<String>> {
    text(stdout)
        .lines()
        .filter(|l| {
            ["sequential", "threads", "async"]
                .iter()
                .any(|m| l.starts_with(m))
        })
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn a_sweep_whose_every_call_failed_says_so_and_exits_1() {
    let out = bench("--sizes 3,5 --ids 1-5 --fail-rate 1 --retries 0 --latency 1 --jitter 0");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let rows = rows(&out.stdout);
    assert_eq!(rows.len(), 6, "every cell has its row: {rows:?}");
    for row in &rows {
        // mode N ok failed wall ideal ratio ok/s …
        assert_eq!(row[2], "0", "no call ok: {row:?}");
        assert_eq!(row[3], row[1], "every call failed: {row:?}");
        assert_eq!(row[6], "-", "no ratio from failures: {row:?}");
        assert_eq!(row[7], "0.0", "failures are no throughput: {row:?}");
    }
    for cell in ["sequential 3", "threads 5", "async 5"] {
        let calls = &cell[cell.len() - 1..];
        let line = format!("{cell}: {calls} calls: 0 ok, {calls} failed, 0 retried");
        assert!(err.contains(&line), "{line:?} in {err}");
    }
    assert_eq!(err.matches("  failed: id ").count(), 24, "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error: no call of the sweep succeeded (24 calls); the first failure: sequential 3, id "),
        "{last}"
    );
    assert_eq!(err.matches("error:").count(), 1, "{err}");
}

#[test]
fn a_sweep_with_some_failures_counts_each_call_once_and_exits_3() {
    let out = bench(
        "--sizes 20 --modes sequential,async --ids 1-100 --fail-rate 0.5 --retries 0 \
         --latency 2 --jitter 0 --json",
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let cells = json_lines(&out);
    assert_eq!(cells.len(), 2, "{cells:?}");
    let mut failed = 0;
    for cell in &cells {
        let count = |k: &str| cell[k].as_u64().unwrap();
        let sum = count("ok") + count("failed") + count("timed_out") + count("cancelled");
        assert_eq!(sum, 20, "one outcome per call: {cell}");
        assert!(count("failed") > 0, "half the calls fail: {cell}");
        failed += count("failed");
        assert!(cell["ratio"].is_null(), "no ratio from failures: {cell}");
        let rate = count("ok") as f64 / (cell["wall_ms"].as_f64().unwrap() / 1000.0);
        let said = cell["ok_per_s"].as_f64().unwrap();
        assert!(
            (said - rate).abs() <= 0.01 * rate + 0.1,
            "ok calls only: {said} vs {rate}: {cell}"
        );
        let mode = cell["mode"].as_str().unwrap();
        let line = format!(
            "{mode} 20: 20 calls: {} ok, {} failed",
            count("ok"),
            count("failed")
        );
        assert!(err.contains(&line), "{line:?} in {err}");
    }
    assert_eq!(err.matches("  failed: id ").count() as u64, failed, "{err}");
    assert!(!err.contains("error:"), "some calls succeeded: {err}");
}

#[test]
fn timed_out_calls_are_counted_and_said_after_the_row() {
    // A server that accepts and never answers: every call times out.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(16).flatten() {
            held.push(stream);
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let out = bench(&format!(
        "--sizes 2 --modes sequential,async --ids 1-5 --api http://127.0.0.1:{port}/api/v2 --timeout 0.3 --retries 0"
    ));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let stdout = text(&out.stdout);
    let rows = rows(&out.stdout);
    assert_eq!(rows.len(), 2, "{stdout}");
    for row in &rows {
        assert_eq!((row[2].as_str(), row[3].as_str()), ("0", "0"), "{row:?}");
    }
    assert_eq!(
        stdout
            .matches("  2 timed out; not every call succeeded")
            .count(),
        2,
        "{stdout}"
    );
    assert!(
        err.contains("async 2: 2 calls: 0 ok, 0 failed, 0 retried, 2 timed out"),
        "{err}"
    );
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("error: no call of the sweep succeeded"),
        "{err}"
    );
}

#[test]
fn the_budget_is_said_as_what_it_does_skip_cells_whose_ideal_is_over_it() {
    // Ideal of N = 1 000 one by one at 1 ms: 1 s, over a budget of 0.5 s.
    let out =
        bench("--sizes 1,1000 --modes sequential --ids 1-5 --latency 1 --jitter 0 --budget 0.5");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let header = stdout.lines().next().unwrap();
    assert!(
        header.contains("skip cells whose ideal time is over 0.5 s"),
        "{header}"
    );
    assert!(
        !header.contains("per cell"),
        "not a limit per cell: {header}"
    );
    assert!(stdout.contains("skipped: its ideal, 1.0 s"), "{stdout}");
    let help = text(&asyncdex(&["bench", "--help"]).stdout);
    assert!(
        help.contains("Skip cells whose ideal time is over this many seconds. Not a time limit"),
        "{help}"
    );
}
