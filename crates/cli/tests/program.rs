//! `asyncdex program`: the built-in smart-home example near its critical path, program
//! files that fetch and wait, and bad programs reported by file and line.

use crate::common;

use common::binary::{asyncdex, json_lines, run_table, text, Case, FAST};

#[test]
fn program_example_runs_the_smart_home_near_its_critical_path() {
    let out = asyncdex(&["program", "--example", "smart-home", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = &json_lines(&out)[0];
    assert_eq!(report["program"], "smart-home");
    assert_eq!(report["critical_path_ms"], 3000.0);
    let measured = report["measured_ms"].as_f64().unwrap();
    assert!((3000.0..4500.0).contains(&measured), "{measured}");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 15);
    // The three registrations start together; flush and clean follow one another.
    let step = |label: &str| steps.iter().find(|s| s["label"] == label).unwrap();
    let start = |label: &str| step(label)["start_ms"].as_f64().unwrap();
    assert!((start("light: connect") - start("toilet: connect")).abs() < 50.0);
    assert!(step("toilet: clean")["start_ms"].as_f64() >= step("toilet: flush")["end_ms"].as_f64());
}

#[test]
fn program_files_fetch_wait_and_report_bad_input_by_line() {
    let dir = tempfile::tempdir().unwrap(); // removed on drop, even when an assertion fails
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "name = \"pokedex-tour\"\n[[steps]]\nparallel = [{ fetch = \"pokemon/25\" }, { fetch = \"type/electric\" }, { wait_ms = 50 }]\n",
    )
    .unwrap();
    let out = asyncdex(&[&["program", good.to_str().unwrap(), "--json"][..], &FAST].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = &json_lines(&out)[0];
    let results: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap())
        .collect();
    assert!(
        results.contains(&"pikachu") && results.contains(&"electric"),
        "{results:?}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[devices]\nlight = \"hue-light\"\n\n[[steps]]\ndevice = \"light\"\nsend = \"explode\"\n",
    )
    .unwrap();
    let bad_path = bad.to_str().unwrap();
    run_table(
        &[
            Case::usage(
                "a program file with an unknown message, named by file and line",
                &["program", bad_path],
                "bad.toml:6: `send`: unknown message type `explode`",
            ),
            Case::usage(
                "a program file that does not exist",
                &["program", "/nonexistent/p.toml"],
                "cannot read program /nonexistent/p.toml",
            ),
            Case::usage("no program given", &["program"], "required"),
        ],
        None,
    );
}

/// A parallel block of 130 fetches takes its turns through 64 places: three waves of the
/// latency at least, and every fetch answered (not 130 connections at once).
#[test]
fn a_wide_parallel_block_fetches_through_a_bounded_number_of_places() {
    let dir = tempfile::tempdir().unwrap();
    let steps: Vec<String> = (1..=130)
        .map(|i| format!("{{ fetch = \"pokemon/{i}\" }}"))
        .collect();
    let text = format!(
        "name = \"wide\"\n[[steps]]\nparallel = [{}]\n",
        steps.join(", ")
    );
    let file = dir.path().join("wide.toml");
    std::fs::write(&file, text).unwrap();
    let started = std::time::Instant::now();
    let out = common::binary::asyncdex(&[
        "program",
        file.to_str().unwrap(),
        "--latency",
        "100",
        "--jitter",
        "0",
    ]);
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::binary::text(&out.stderr)
    );
    assert!(
        took >= std::time::Duration::from_millis(300),
        "130 fetches through 64 places take three waves: {took:?}"
    );
}

#[test]
fn a_program_of_instant_steps_gives_no_ratio_to_an_ideal_of_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("instant.toml");
    std::fs::write(&file, "[[steps]]\nfetch = \"pokemon/25\"\n").unwrap();
    let out = asyncdex(&[&["program", file.to_str().unwrap()][..], &FAST].concat());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("no ratio: its ideal is 0 s"), "{all}");
    assert!(!all.contains("x the ideal"), "{all}");
}
