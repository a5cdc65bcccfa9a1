//! `-c auto`: against the embedded mirror with a capacity, the limit finds it, the summary
//! says where it settled, the timeline draws it and the trace carries it.

use crate::common;

use common::binary::{asyncdex, text};
use serde_json::Value;

#[test]
fn auto_finds_the_mirrors_capacity_and_says_where_it_settled() {
    let dir = tempfile::tempdir().unwrap();
    let (svg, trace) = (dir.path().join("t.svg"), dir.path().join("t.json"));
    let out = asyncdex(&[
        "names",
        "400",
        "--mode",
        "async",
        "-c",
        "auto",
        "--capacity",
        "16",
        "--queue",
        "1000",
        "--latency",
        "20",
        "--jitter",
        "2",
        "--ids",
        "1-1025",
        "--seed",
        "5",
        "--timeline",
        svg.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("400 ok"), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("async: limit auto: settled "))
        .unwrap_or_else(|| panic!("no limit line in {stderr}"));
    let settled: usize = line["async: limit auto: settled ".len()..]
        .split(',')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    // Generous: the capacity is 16; the limit keeps a few queued, and a loaded test
    // machine adds latency of its own.
    assert!((4..=64).contains(&settled), "{line}");
    assert!(line.ends_with("(at most 1000)"), "{line}");

    let svg = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    assert!(doc
        .descendants()
        .any(|n| n.has_tag_name("polyline") && n.attribute("class") == Some("limit")));
    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let limits: Vec<u64> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "C")
        .map(|e| e["args"]["limit"].as_u64().unwrap())
        .collect();
    assert_eq!(limits.first(), Some(&4), "it starts at 4: {limits:?}");
    assert!(
        limits.iter().all(|&l| (1..=1000).contains(&l)),
        "{limits:?}"
    );
}

#[test]
fn a_fixed_limit_prints_no_limit_line() {
    let out = asyncdex(&[
        "names",
        "5",
        "--mode",
        "async",
        "-c",
        "8",
        "--latency",
        "0",
        "--jitter",
        "0",
        "--ids",
        "1-1025",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("limit auto"), "{stderr}");
}
