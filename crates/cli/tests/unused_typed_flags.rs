//! Flags typed where they would do nothing, each refused with exit 2 and one line saying
//! why (hostile pass 9), beside flag_promises.rs's audit: `--cache` for a comparison of
//! modes (`names --mode all`, which never uses a cache), `--tail-ms` with no slow request
//! (`--tail-rate 0`), and any fetching flag typed at its default (`--latency 100`, `-c`)
//! for a program with no fetch steps. Where each does act, it runs.

use crate::common;

use std::process::Command;

use common::binary::{asyncdex, json_lines, run_table, text, Case, FAST};

#[test]
fn a_typed_flag_that_would_do_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    let store = dir.path().join("c.db");
    let store = store.to_str().unwrap();
    let compare = "--cache is for one mode's run, and --mode all compares modes without one \
                   (each makes its own requests): drop --cache or give one --mode";
    let mut cases = vec![
        Case::usage(
            "a comparison's cache",
            &["names", "2", "--cache", cache],
            compare,
        ),
        Case::usage(
            "a comparison's cache, bare",
            &["names", "2", "--mode", "all", "--cache"],
            compare,
        ),
    ];
    let unslowed: [&[&str]; 7] = [
        &["names", "2"],
        &["get", "1"],
        &["stream", "2"],
        &["program", "--example", "smart-home"],
        &["crawl", "--out", store],
        &["bench", "--sizes", "1"],
        &["serve", "--bind", "127.0.0.1:0"],
    ];
    let tail = ["--tail-rate", "0", "--tail-ms", "50"];
    let args: Vec<Vec<&str>> = unslowed.iter().map(|c| [c, &tail[..]].concat()).collect();
    for args in &args {
        cases.push(Case::usage(
            "--tail-ms with nothing slow",
            args,
            "error: --tail-ms is how much longer a slow request waits, and with --tail-rate 0 \
             none is slow: give --tail-rate P above 0 with it, or drop both",
        ));
    }
    let api = ["get", "1", "--api", "http://127.0.0.1:9/api/v2"];
    let remote = [&api[..], &tail].concat();
    cases.push(Case::usage(
        "--tail-ms with --api",
        &remote,
        "error: --tail-ms shapes the embedded mirror, and --api names another server",
    ));
    // Each at its default: typed, it is still a flag that would do nothing.
    let defaults: [&[&str]; 6] = [
        &["--latency", "100"],
        &["--jitter", "20"],
        &["--timeout", "30"],
        &["--max-body", "64"],
        &["--max-retry-after", "60"],
        &["-c", "64"],
    ];
    let args: Vec<Vec<&str>> = defaults
        .iter()
        .map(|flag| [&["program", "--example", "smart-home"][..], flag].concat())
        .collect();
    let says: Vec<String> = defaults
        .iter()
        .map(|flag| {
            format!(
                "error: {} is for fetch steps, and smart-home.toml has none: drop it",
                flag[0]
            )
        })
        .collect();
    for (args, says) in args.iter().zip(&says) {
        cases.push(Case::usage("a program with no fetch steps", args, says));
    }
    run_table(&cases, Some(dir.path()));
    assert!(!std::path::Path::new(store).exists(), "nothing started");
    assert!(!std::path::Path::new(cache).exists(), "no cache made");
}

/// Where they act, the same flags run: `--cache` for one mode, `--tail-ms` with a
/// `--tail-rate` above 0, `--latency` for a program that fetches.
#[test]
fn the_same_flags_where_they_act_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let program = dir.path().join("fetch.toml");
    std::fs::write(&program, "[[steps]]\nparallel=[{fetch=\"pokemon/25\"}]\n").unwrap();
    let names = ["names", "2", "--ids", "1-100", "--json", "--mode", "async"];
    let one_mode = [&names[..], &["--cache", cache.to_str().unwrap()]].concat();
    let slow = [&names[..], &["--tail-rate", "0.5", "--tail-ms", "1"]].concat();
    let runs: [&[&str]; 3] = [
        &one_mode,
        &slow,
        &["program", program.to_str().unwrap(), "--json"],
    ];
    for args in runs {
        let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
            .args(args)
            .args(FAST) // --latency for the program too
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!json_lines(&out).is_empty(), "{args:?}");
    }
    assert!(cache.is_dir(), "one mode used the cache");
}

/// hp11 B-F1: a batch's flag its calls can never spend. `--retry-budget` with
/// `--retries 0`; `--hedge` for fewer than 20 calls (a batch earns 5 % of a copy per call,
/// so fewer never earn one); `--cores` for one call. Each is refused before the run
/// (exit 2, one line naming it); at 20 calls, two resources or `--retries 1` they run.
#[test]
fn a_batch_flag_its_calls_cannot_spend_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("c.db");
    let store = store.to_str().unwrap();
    let budget = "error: --retry-budget bounds the run's retries, and with --retries 0 no call \
                  retries: drop one of them";
    let mut cases = Vec::new();
    let retried: [&[&str]; 5] = [
        &["names", "5", "--mode", "sequential"],
        &["get", "25"],
        &["stream", "3"],
        &["crawl", "--out", store],
        &["bench", "--sizes", "1"],
    ];
    let unretried = ["--retries", "0", "--retry-budget", "7"];
    let args: Vec<Vec<&str>> = retried
        .iter()
        .map(|c| [c, &unretried[..]].concat())
        .collect();
    for args in &args {
        cases.push(Case::usage("a retry budget with no retries", args, budget));
    }
    let hedged: [(&[&str], &str); 5] = [
        (&["get", "25"], "get makes 1"),
        (&["names", "5", "--mode", "async"], "names makes 5"),
        (&["names", "19"], "names makes 19"),
        (&["stream", "3"], "stream makes 3"),
        (
            &["bench", "--sizes", "1,10"],
            "the largest of bench --sizes makes 10",
        ),
    ];
    let args: Vec<Vec<&str>> = hedged
        .iter()
        .map(|(c, _)| [c, &["--hedge", "p95"][..]].concat())
        .collect();
    let says: Vec<String> = hedged
        .iter()
        .map(|(_, makes)| {
            format!(
                "error: --hedge sends a copy only once 20 calls have earned one (at most 5 % \
                 more requests), and {makes}: drop it or make 20 calls or more"
            )
        })
        .collect();
    for (args, says) in args.iter().zip(&says) {
        cases.push(Case::usage("a hedge no call earns", args, says));
    }
    let one: [(&[&str], &str); 3] = [
        (&["get", "25", "--cores", "2"], "get"),
        (&["names", "1", "--mode", "async", "--cores", "1"], "names"),
        (&["stream", "1", "--cores", "4"], "stream"),
    ];
    let says: Vec<String> = one
        .iter()
        .map(|(_, command)| {
            format!(
                "error: --cores spreads a batch's calls over runtimes, and {command} makes one \
                 call, on one runtime: drop it"
            )
        })
        .collect();
    for ((args, _), says) in one.iter().zip(&says) {
        cases.push(Case::usage("runtimes for one call", args, says));
    }
    // Without an async mode the flag's own line stays: it is for the async mode.
    cases.push(Case::usage(
        "a hedge with no async mode",
        &["names", "3", "--mode", "threads", "--hedge", "p95"],
        "--hedge is for the async mode, and --mode threads has none",
    ));
    run_table(&cases, Some(dir.path()));
    assert!(!std::path::Path::new(store).exists(), "nothing started");
}

/// Where their calls can spend them, the same flags run: a budget with `--retries 1`, a
/// hedge for 20 calls, runtimes for two resources.
#[test]
fn a_batch_flag_its_calls_can_spend_runs() {
    let runs: [&[&str]; 3] = [
        &[
            "names",
            "2",
            "--mode",
            "async",
            "--retries",
            "1",
            "--retry-budget",
            "1",
        ],
        &["names", "20", "--mode", "async", "--hedge", "p95"],
        &["get", "25", "26", "--cores", "2"],
    ];
    for args in runs {
        let out = asyncdex(&[args, &FAST[..]].concat());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
