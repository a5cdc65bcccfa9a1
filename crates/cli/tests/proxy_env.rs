//! Proxy variables in the environment are read by no backend (hp9 B-F15): ureq and reqwest
//! would by default, hyper's direct path never did. With `HTTPS_PROXY`, `http_proxy` and
//! `ALL_PROXY` all naming a port where nothing listens, every backend still reaches the
//! embedded mirror on loopback, so each run exits 0 with its calls ok.

use std::process::Command;

use crate::common::binary::text;

/// A proxy address where nothing listens (the discard port).
const NOWHERE: &str = "http://127.0.0.1:9";

fn with_proxies(args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_asyncdex"));
    command.args(args).env_remove("RUST_LOG");
    for var in ["NO_PROXY", "no_proxy"] {
        command.env_remove(var);
    }
    for var in ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"] {
        command.env(var, NOWHERE);
    }
    command.output().expect("asyncdex runs")
}

#[test]
fn every_backend_ignores_proxy_variables() {
    let mut problems = Vec::new();
    for mode in ["sequential", "threads", "async"] {
        let out = with_proxies(&["names", "3", "--mode", mode, "--latency", "0"]);
        let stderr = text(&out.stderr);
        if out.status.code() != Some(0) || !stderr.contains(&format!("{mode}: 3 calls: 3 ok")) {
            problems.push(format!("names --mode {mode}: {:?}: {stderr}", out.status));
        }
    }
    let out = with_proxies(&[
        "blocking",
        "--calls",
        "3",
        "--mode",
        "correct",
        "--latency",
        "0",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let row = stdout
        .lines()
        .any(|l| l.split_whitespace().take(2).eq(["correct", "3"]));
    if out.status.code() != Some(0) || !row || stderr.contains("could not connect") {
        problems.push(format!("blocking: {:?}: {stdout}{stderr}", out.status));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
