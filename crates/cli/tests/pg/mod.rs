//! What the PostgreSQL tests share (`postgres.rs`, `postgres_hostile.rs`,
//! `postgres_outage.rs`): a runtime for the in-process mirror, a worker process, and a
//! table of refusals that must never show the password.

#![allow(dead_code)]

pub mod proxy;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::binary::{asyncdex, problems, text, Case};

/// A runtime for the mirror the workers crawl (two threads).
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A worker: `asyncdex crawl --json` into `url` from the API at `api`.
pub fn worker(url: &str, api: &str, resources: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args([
            "crawl",
            "--out",
            url,
            "--api",
            api,
            "--resources",
            resources,
            "--json",
        ])
        .args(extra)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most `limit` (killing it, and failing, past that).
pub fn wait(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}: {}", text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Runs every case; what is wrong with their answers, and any that shows `secret`.
pub fn refusals(cases: &[Case], secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    for case in cases {
        let out = asyncdex(&case.args);
        found.extend(problems(case, &out));
        if text(&out.stderr).contains(secret) || text(&out.stdout).contains(secret) {
            found.push(format!("{}: the password is shown", case.what));
        }
    }
    found
}
