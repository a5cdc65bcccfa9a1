//! The measured lessons: `blocking` shows a stalled runtime, `cpu` gives one answer three
//! ways, and `bench` sweeps sizes, skips what is over budget and plots three curves.

use crate::common;

use common::binary::{asyncdex, json_lines, text};

#[test]
fn blocking_shows_the_stall_in_wrong_and_not_in_correct() {
    let out = asyncdex(&["blocking", "--latency", "150", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let modes: Vec<&str> = lines.iter().map(|l| l["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["before", "wrong", "correct"]);
    let lag = |i: usize, key: &str| lines[i][key].as_f64().unwrap();
    assert!(lag(1, "max_lag_ms") >= 140.0, "wrong stalls: {}", lines[1]);
    assert!(
        lag(2, "p99_lag_ms") < 40.0,
        "correct keeps time: {}",
        lines[2]
    );
}

/// The table's closing lines explain the modes that ran, and only those.
#[test]
fn blocking_explains_only_the_modes_it_ran() {
    for (mode, says, not) in [
        ("correct", "correct: the same function", "wrong:"),
        ("wrong", "wrong: the blocking call", "correct:"),
    ] {
        let out = asyncdex(&["blocking", "--mode", mode, "--calls", "2", "--latency", "0"]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(stdout.contains(says), "{mode}: {stdout}");
        assert!(!stdout.contains(not), "{mode}: {stdout}");
    }
}

#[test]
fn cpu_gives_the_same_answer_three_ways() {
    let out = asyncdex(&["cpu", "--jobs", "12", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let ways: Vec<&str> = lines.iter().map(|l| l["way"].as_str().unwrap()).collect();
    assert_eq!(ways, ["inline", "offload", "rayon"]);
    assert!(lines
        .iter()
        .all(|l| l["checksum"] == lines[0]["checksum"] && l["jobs"] == 12));
    assert_eq!(
        lines[1]["stalls"], 0,
        "offloaded work never stalls the runtime"
    );
}

#[test]
fn bench_sweeps_skips_over_budget_and_plots_three_curves() {
    let dir = tempfile::tempdir().unwrap(); // removed on drop, even when an assertion fails
    let plot = dir.path().join("bench.svg");
    let out = asyncdex(&[
        "bench",
        "--sizes",
        "1,8,200",
        "--latency",
        "20",
        "--jitter",
        "0",
        "--budget",
        "1",
        "--threads",
        "4",
        "-c",
        "8",
        "--json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cells = json_lines(&out);
    assert_eq!(cells.len(), 9, "three sizes, three modes");
    let cell = |mode: &str, n: u64| {
        cells
            .iter()
            .find(|c| c["mode"] == mode && c["n"] == n)
            .unwrap()
    };
    // Sequential 200 × 20 ms = 4 s is over the 1 s budget: skipped, not guessed.
    assert_eq!(cell("sequential", 200)["skipped"], true);
    assert!(cell("sequential", 200).get("wall_ms").is_none());
    // Ideals follow each mode's width: 8 calls = 8 waits, 2 waves of 4, 1 wave of 8.
    assert_eq!(cell("sequential", 8)["ideal_ms"], 160.0);
    assert_eq!(cell("threads", 8)["ideal_ms"], 40.0);
    assert_eq!(cell("async", 8)["ideal_ms"], 20.0);
    for c in cells.iter().filter(|c| c["skipped"] == false) {
        assert_eq!(c["ok"], c["n"], "{c}");
        assert!(
            c["ratio"].as_f64().unwrap() >= 0.9,
            "never faster than physics: {c}"
        );
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let series: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("series"))
        .filter_map(|n| n.attribute("data-mode"))
        .collect();
    assert_eq!(series, ["sequential", "threads", "async"]);
}
