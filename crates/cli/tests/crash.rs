//! Interrupted runs keep what finished: a crawl killed with `kill -9` resumes to a complete
//! store without duplicates or torn rows, and Ctrl-C (SIGINT) stops a crawl or a names
//! run promptly, keeps what arrived, says what is missing and exits 130.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use asyncdex::store::sha256_hex;
use common::binary::{json_lines, text};

/// Rows in the store at `db` (0 while it cannot be read).
fn rows(db: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
        .unwrap_or(0)
}

/// Starts `asyncdex args` and returns once the store at `db` holds 100 rows.
fn start_and_wait_for_rows(args: &[&str], db: &Path, stderr: Stdio) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(args)
        .stdout(Stdio::piped()) // the manifest: a few lines, read by the tests that stop it
        .stderr(stderr)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows(db) < 100 {
        let problem = if Instant::now() >= deadline {
            Some("the crawl never wrote 100 rows")
        } else if child.try_wait().unwrap().is_some() {
            Some("finished before it could be stopped")
        } else {
            None
        };
        if let Some(problem) = problem {
            let _ = child.kill(); // never leave it running behind a failed test
            let _ = child.wait();
            panic!("{problem}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

#[test]
fn a_crawl_killed_mid_way_resumes_to_a_complete_store_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let db_arg = db.to_str().unwrap();
    let args = [
        "crawl",
        "--resources",
        "pokemon",
        "--out",
        db_arg,
        "-c",
        "8",
        "--latency",
        "5",
        "--jitter",
        "0",
    ];
    // Once rows are being written, kill -9: no chance to clean up.
    let mut child = start_and_wait_for_rows(&args, &db, Stdio::null());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = rows(&db);
    assert!(
        partial < 1351,
        "killed too late to prove anything: {partial}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1351 of 1351 stored"), "{stderr}");

    let conn = rusqlite::Connection::open(&db).unwrap();
    let (count, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT endpoint || '/' || id) FROM resources",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((count, distinct), (1351, 1351));
    let mut stmt = conn
        .prepare("SELECT id, body, sha256 FROM resources")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (id, body, sha) = row.unwrap();
        assert_eq!(sha256_hex(&body), sha, "row {id} is torn");
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["id"].as_u64(), Some(u64::from(id)));
    }
}

/// Ctrl-C: the crawl stops, keeps what it stored, says what is missing and exits 130.
#[cfg(unix)]
#[test]
fn ctrl_c_keeps_what_was_crawled_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("int.db");
    let args = [
        "crawl",
        "--out",
        db.to_str().unwrap(),
        "-c",
        "8",
        "--latency",
        "20",
    ];
    let child = start_and_wait_for_rows(&args, &db, Stdio::piped());
    common::signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("incomplete: pokemon"), "{stderr}");
    assert!(
        !stderr.contains("cancelled"),
        "cancellations are not named: {stderr}"
    );
    let kept = rows(&db);
    assert!((100..2397).contains(&kept), "{kept}");
    // What the stop left unfetched is counted as cancelled, not as failed.
    let table = String::from_utf8_lossy(&out.stdout);
    let (mut failed, mut cancelled) = (0u64, 0u64);
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if let [_, _, _, _, _, f, c, _] = cols[..] {
            failed += f.parse::<u64>().unwrap();
            cancelled += c.parse::<u64>().unwrap();
        }
    }
    assert_eq!(failed, 0, "{table}");
    assert!(cancelled > 0, "{table}");
}

/// Ctrl-C during `names`: it stops within the second, keeps the names that arrived and
/// accounts for every call, finished or cancelled, and exits 130.
#[test]
fn ctrl_c_keeps_what_finished_and_exits_130() {
    let child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args([
            "names",
            "40",
            "--ids",
            "1-1025", // no list request first: the first five arrive at 1 s
            "--mode",
            "async",
            "-c",
            "5",
            "--latency",
            "1000",
            "--jitter",
            "0",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1600)); // the first five have arrived
    let signalled = std::time::Instant::now();
    common::signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    let took = signalled.elapsed();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        took < Duration::from_millis(1500),
        "stopped {took:?} after Ctrl-C"
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "the async mode is reported");
    let ok = lines[0]["ok"].as_u64().unwrap();
    let cancelled = lines[0]["cancelled"].as_u64().unwrap();
    assert!((5..40).contains(&ok), "what finished is kept: {}", lines[0]);
    assert_eq!(
        ok + cancelled,
        40,
        "every call is accounted for: {}",
        lines[0]
    );
    assert_eq!(lines[0]["names"].as_array().unwrap().len() as u64, ok);
}
