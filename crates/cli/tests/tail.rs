//! The tail, end to end: every fetching command closes with its latencies, the embedded
//! mirror makes a slow tail on purpose, and `--hedge` sends second copies of the slow calls
//! (never more than its budget), each call still one outcome. Counts are asserted, never
//! speed.

use crate::common;

use common::binary::{asyncdex, json_lines, text};

/// A slow tail on the embedded mirror: a fifth of requests wait 300 ms more.
const TAIL: [&str; 8] = [
    "--latency",
    "5",
    "--jitter",
    "0",
    "--tail-rate",
    "0.2",
    "--tail-ms",
    "300",
];

/// `names N` in the async mode against the tail, with `extra` flags.
fn names(n: &str, extra: &[&str]) -> std::process::Output {
    let run = [
        "names",
        n,
        "--mode",
        "async",
        "--ids",
        "1-898",
        "--retries",
        "0",
    ];
    asyncdex(&[&run[..], extra, &TAIL].concat())
}

#[test]
fn names_reports_percentiles_and_a_histogram() {
    let out = names("50", &["--histogram", "--seed", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("async: latency p50 "))
        .unwrap_or_else(|| panic!("a latency line: {stderr}"));
    assert!(line.ends_with("(50 calls)"), "{line}");
    // The histogram: bars on 1-2-5 bins (where they fall depends on the machine).
    let bars: Vec<&str> = stderr.lines().filter(|l| l.contains(" – ")).collect();
    assert!(!bars.is_empty(), "{stderr}");
    let counted: u64 = bars
        .iter()
        .map(|b| b.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(counted, 50, "every call in one bar: {stderr}");
}

#[test]
fn a_hedged_run_keeps_one_outcome_per_call_and_its_budget() {
    let out = names("200", &["--hedge", "p50", "--json", "--seed", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let run = &lines[0];
    assert_eq!(run["n"], 200);
    assert_eq!(run["ok"], 200, "{run}");
    let hedged = run["hedged"].as_u64().unwrap();
    assert!(
        hedged >= 1,
        "a fifth of the calls were slow, some hedged: {run}"
    );
    assert!(hedged <= 10, "at most 5 % of 200 calls: {hedged}");
    assert!(run["hedges_won"].as_u64().unwrap() <= hedged);
    let latency = &run["latency_ms"];
    assert_eq!(latency["count"], 200);
    for p in ["p50", "p90", "p99", "max", "mean"] {
        assert!(latency[p].as_f64().unwrap() > 0.0, "{p}: {latency}");
    }
    assert!(latency["p50"].as_f64() <= latency["p99"].as_f64());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("async: {hedged} call")) && stderr.contains(" hedged ("),
        "the summary says how many were hedged: {stderr}"
    );
}

#[test]
fn get_and_stream_close_with_their_latencies() {
    let get = asyncdex(&[&["get", "25", "pikachu", "move/pound"][..], &TAIL].concat());
    assert!(get.status.success(), "{}", text(&get.stderr));
    assert!(text(&get.stderr).contains("get: latency p50 "));
    let stream = asyncdex(&[&["stream", "5", "--ids", "1-898", "--json"][..], &TAIL].concat());
    assert!(stream.status.success(), "{}", text(&stream.stderr));
    assert!(text(&stream.stderr).contains("stream: latency p50 "));
    for line in json_lines(&stream) {
        assert!(
            line["ms"].as_f64().unwrap() >= 0.0,
            "each name has its latency: {line}"
        );
    }
}
