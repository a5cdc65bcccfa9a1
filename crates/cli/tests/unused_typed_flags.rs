//! Flags typed where they would do nothing, each refused with exit 2 and one line saying
//! why (hostile pass 9), beside flag_promises.rs's audit: `--cache` for a comparison of
//! modes (`names --mode all`, which never uses a cache), `--tail-ms` with no slow request
//! (`--tail-rate 0`), and any fetching flag typed at its default (`--latency 100`, `-c`)
//! for a program with no fetch steps. Where each does act, it runs.

use crate::common;

use std::process::Command;

use common::binary::{json_lines, run_table, text, Case, FAST};

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
