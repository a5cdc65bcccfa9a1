//! `bench --concurrencies`: the same calls at each concurrency against one server with a
//! capacity, one line per point, and the picture.

mod common;

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
