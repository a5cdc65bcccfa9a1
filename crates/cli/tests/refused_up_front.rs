//! What is refused before anything starts leaves nothing behind, and what is sized is
//! sized by what the run can use.
//!
//! An `--api` root that names no host (`http:///ok`, which the URL standard reads as the
//! host `ok`) was a run-time failure after a cache file had been made for that host; it
//! is refused as bad input now. A program's connections are sized by the fetch steps
//! that can be in flight at once, not by `-c` alone: `program -c 100000` over one fetch
//! step needs one connection, and fits a small descriptor limit.

use crate::common;

use std::process::Command;

use common::binary::text;

#[test]
fn an_api_root_without_a_host_is_refused_and_opens_no_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    for api in ["http:///ok", "http://127.0.0.1:0/api/v2"] {
        let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
            .args(["get", "pokemon/3", "--api", api, "--cache"])
            .arg(&cache)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{api}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{api}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: --api: invalid API root {api:?}")),
            "{stderr}"
        );
        assert!(!cache.exists(), "{api}: no cache made");
    }
}

/// `asyncdex program FILE ARGS...` under `ulimit -n limit`.
fn program_under(limit: u32, file: &std::path::Path, args: &str) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_asyncdex");
    let script = format!(
        "ulimit -n {limit} && exec {bin} program {} {args} --latency 0 --jitter 0",
        file.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn a_programs_connections_are_sized_by_its_fetches_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.toml");
    std::fs::write(&one, "[[steps]]\nfetch = \"pokemon/25\"\n").unwrap();
    // One fetch step: one connection, whatever -c allows.
    let out = program_under(256, &one, "-c 100000 --json");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Two sequences of three side by side: at most two fetches at once, however many
    // there are in all; a wider block is sized by its width, and refused if it cannot fit.
    let wide = dir.path().join("wide.toml");
    let sequence = |n: usize| {
        let steps = vec!["{fetch=\"pokemon/1\"}"; n].join(",");
        format!("{{sequence=[{steps}]}}")
    };
    let blocks: Vec<String> = (0..200).map(|_| sequence(3)).collect();
    std::fs::write(
        &wide,
        format!("[[steps]]\nparallel=[{}]\n", blocks.join(",")),
    )
    .unwrap();
    let out = program_under(256, &wide, "-c 100000");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: -c 200 needs about 432 open files"),
        "{stderr}"
    );
    let out = program_under(256, &wide, "-c 100 --json");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
