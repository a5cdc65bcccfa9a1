//! A crawl into a store another process holds locked: refused before anything is fetched,
//! in one line that says why ("another process is writing it"), not SQLite's bare
//! "database is locked" after the fetching was done and lost.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::binary::{asyncdex, text, FAST};

/// Runs `crawl --out db` while another connection holds `db` in an exclusive
/// transaction, and returns its output and how long it took.
fn crawl_while_locked(db: &Path) -> (Output, Duration) {
    let holder = rusqlite::Connection::open(db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    let mut args = vec![
        "crawl",
        "--resources",
        "type",
        "--out",
        db.to_str().unwrap(),
    ];
    args.extend(FAST);
    let out = asyncdex(&args);
    let took = started.elapsed();
    holder.execute_batch("ROLLBACK").unwrap();
    (out, took)
}

fn stored(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_locked_store_is_refused_before_anything_is_fetched() {
    let dir = tempfile::tempdir().unwrap();

    // A new file someone else has opened and locked.
    let fresh = dir.path().join("fresh.db");
    let (out, took) = crawl_while_locked(&fresh);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("another process is writing it"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing to report: {}",
        text(&out.stdout)
    );
    assert!(took < Duration::from_secs(30), "gave up after {took:?}");

    // An existing store (WAL mode), locked by another writer: not a call is made.
    let store = dir.path().join("store.db");
    let mut args = vec![
        "crawl",
        "--resources",
        "meta",
        "--out",
        store.to_str().unwrap(),
    ];
    args.extend(FAST);
    assert_eq!(asyncdex(&args).status.code(), Some(0));
    let before = stored(&store);
    let (out, _) = crawl_while_locked(&store);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: store ") && stderr.contains("another process is writing it"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("crawling "),
        "it started crawling: {stderr}"
    );
    assert_eq!(stored(&store), before);
}
