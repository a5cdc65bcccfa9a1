//! `bench --concurrencies`: the same calls at each concurrency against one server with a
//! capacity, one line per point, and the picture.

use crate::common;

use common::binary::{asyncdex, json_lines, text};

#[test]
fn a_knee_sweep_measures_each_concurrency_and_draws_where_auto_settled() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("knee.svg");
    let out = asyncdex(&[
        "bench",
        "--concurrencies",
        "2,8,auto",
        "--sizes",
        "40",
        "--latency",
        "20",
        "--jitter",
        "0",
        "--capacity",
        "4",
        "--queue",
        "100",
        "--json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let limits: Vec<&str> = lines
        .iter()
        .map(|l| l["concurrency"].as_str().unwrap())
        .collect();
    assert_eq!(limits, ["2", "8", "auto"]);
    for line in &lines {
        assert_eq!(line["calls"], 40, "{line}");
        assert_eq!(line["ok"], 40, "nothing lost: {line}");
        let (p50, p99, max) = (
            line["p50_ms"].as_f64().unwrap(),
            line["p99_ms"].as_f64().unwrap(),
            line["max_ms"].as_f64().unwrap(),
        );
        assert!(p50 >= 19.0 && p50 <= p99 && p99 <= max, "{line}");
    }
    // Past the capacity of 4, the extra calls only queue: latency grows.
    let p50 = |i: usize| lines[i]["p50_ms"].as_f64().unwrap();
    assert!(
        p50(1) > 1.5 * p50(0),
        "8 in flight queue behind 4: {lines:?}"
    );
    // Only the adaptive point says where it settled, within its range.
    assert!(lines[0]["settled"].is_null() && lines[1]["settled"].is_null());
    let settled = &lines[2]["settled"];
    let (last, min, max) = (
        settled["last"].as_u64().unwrap(),
        settled["min"].as_u64().unwrap(),
        settled["max"].as_u64().unwrap(),
    );
    assert!(
        1 <= min && min <= last && last <= max && max <= 1000,
        "{settled}"
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains(r#"class="throughput""#) && svg.contains(r#"class="p99""#));
    assert!(
        svg.contains(&format!("auto settled at {last}")),
        "{svg:.300}"
    );
}

/// A point that a Ctrl-C cut short is said to be, never reported as a measurement.
#[test]
fn an_interrupted_point_is_no_measurement() {
    use std::process::{Command, Stdio};
    let child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args([
            "bench",
            "--concurrencies",
            "1,2",
            "--sizes",
            "30",
            "--latency",
            "200",
            "--jitter",
            "0",
            "--json",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("asyncdex starts");
    // The first point needs 30 × 200 ms = 6 s: well inside it.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    common::signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "the second point never starts: {lines:?}");
    assert_eq!(lines[0]["interrupted"], true, "{}", lines[0]);
    assert!(
        lines[0].get("ok_per_s").is_none(),
        "no figures: {}",
        lines[0]
    );
}

/// Points count their calls as every command does: failures in their own column, no
/// throughput from them, and the summary and failure lines at the end; a sweep in which
/// no call succeeded ends with one `error:` line and exits 1.
#[test]
fn failed_calls_are_counted_per_point_and_summed_up() {
    let out = asyncdex(
        &"bench --concurrencies 2,auto --sizes 4 --ids 1-5 --fail-rate 1 --retries 0 --latency 1 --jitter 0"
            .split(' ')
            .collect::<Vec<_>>(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|l| l.starts_with("2 ") || l.starts_with("auto"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    // -c, settled ("-", or auto's "N (a-b)": two words), wall, ok, failed, ok/s.
    for (row, at) in rows.iter().zip([3, 4]) {
        assert_eq!(&row[at..at + 3], ["0", "4", "0"], "{stdout}");
    }
    for point in ["-c 2", "-c auto"] {
        let line = format!("{point}: 4 calls: 0 ok, 4 failed, 0 retried, 0 timed out, 0 cancelled");
        assert!(err.contains(&line), "{line:?} in {err}");
    }
    assert_eq!(err.matches("  failed: id ").count(), 8, "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with(
            "error: no call of the sweep succeeded (8 calls); the first failure: -c 2, id "
        ),
        "{last}"
    );
}
