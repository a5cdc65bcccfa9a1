//! A crawl into a store another process holds locked: refused before anything is fetched,
//! in one line that says why ("another process is writing it"), not SQLite's bare
//! "database is locked" after the fetching was done and lost. Locked mid-crawl, the crawl
//! waits a bounded time, then stops as an interrupted one does: its manifest says what is
//! not stored, one `error:` line names the lock, exit 1; what was stored stays, and the
//! next run resumes. Ctrl-C during either wait ends it at once (exit 130): the open says
//! "interrupted", not the lock; a crawl stops as any interrupted crawl does.

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
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

/// Starts a crawl of the 1351 Pokémon into `db`, 8 at a time, 20 ms each: seconds of
/// crawling to lock it in.
fn crawl_pokemon(db: &Path) -> std::process::Child {
    let out = db.to_str().unwrap();
    let crawl = ["crawl", "--resources", "pokemon", "-c", "8", "--out", out];
    spawn(&[&crawl[..], &["--latency", "20", "--jitter", "0"]].concat())
}

/// Once a crawl has written its first rows into `db`, takes its write lock, as another
/// process would, and returns the connection holding it.
fn lock_once_rows_are_stored(db: &Path) -> rusqlite::Connection {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the crawl never stored a row");
        std::thread::sleep(Duration::from_millis(20));
        let Ok(conn) = rusqlite::Connection::open(db) else {
            continue;
        };
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        let count = conn.query_row("SELECT count(*) FROM resources", [], |r| r.get::<_, i64>(0));
        if count.is_ok_and(|n| n > 0) {
            conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
            return conn;
        }
    }
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

/// The `pokemon` row of a crawl's manifest table: expected, stored, skipped, fetched,
/// failed, cancelled.
fn pokemon_row(stdout: &str) -> Vec<u64> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("pokemon "))
        .unwrap_or_else(|| panic!("no pokemon row in {stdout}"));
    line.split_whitespace()
        .skip(1)
        .take(6)
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn a_lock_taken_mid_crawl_stops_it_with_its_manifest_and_a_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let crawl = || crawl_pokemon(&db);
    let child = crawl();
    let holder = lock_once_rows_are_stored(&db);
    let locked_at = Instant::now();
    let out = child.wait_with_output().unwrap();
    let waited = locked_at.elapsed();
    let stored_then = stored(&db);
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: store ") && last.contains("another process is writing it"),
        "{stderr}"
    );
    assert!(waited < Duration::from_secs(60), "stopped after {waited:?}");
    // The manifest: what is stored is what the file holds, the rest is not stored.
    let row = pokemon_row(&stdout);
    let [expected, stored_now, _, _, failed, cancelled] = row[..] else {
        unreachable!()
    };
    assert_eq!(stored_now as i64, stored_then, "{stdout}");
    assert!(stored_now > 0 && stored_now < expected, "{stdout}");
    assert_eq!(failed, 0, "{stdout}");
    assert_eq!(stored_now + cancelled, expected, "{stdout}");
    // Every call that finished is counted once: stored, or fetched and not stored (the
    // calls that finished while the write waited included), besides the list's one.
    let number_before = |text: &str, words: &str| -> u64 {
        let at = text
            .find(words)
            .unwrap_or_else(|| panic!("no {words:?}: {stderr}"));
        let digits: String = text[..at]
            .chars()
            .rev()
            .skip_while(|c| *c == ' ' || *c == '(')
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().unwrap()
    };
    let unstored = number_before(last, " fetched resources not stored");
    let calls = number_before(&stderr, " calls)");
    // (A call of the 8 in flight may finish as the stream is dropped: counted by the
    // latency line alone. Before, every call that finished during the 5 s wait was.)
    let counted = 1 + stored_now + unstored;
    assert!(
        (counted..=counted + 8).contains(&calls),
        "{calls} calls, {counted} counted: {stdout}{stderr}"
    );

    // Lock gone: the rerun fetches only what is missing.
    let out = crawl().wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let row = pokemon_row(&stdout);
    assert_eq!(row[2], stored_now, "skipped what was stored: {stdout}");
    assert_eq!(
        (row[1], row[3]),
        (expected, expected - stored_now),
        "{stdout}"
    );
}

/// Sends SIGINT to `child` after `after`, and waits for it: its output, and how long it
/// took to exit once signalled.
fn interrupted_after(child: std::process::Child, after: Duration) -> (Output, Duration) {
    std::thread::sleep(after);
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: a signal to the child this test started, still unreaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let signalled = Instant::now();
    let out = child.wait_with_output().unwrap();
    (out, signalled.elapsed())
}

/// Starts asyncdex with `args`, its output piped.
fn spawn(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("asyncdex starts")
}

#[test]
fn ctrl_c_while_waiting_for_the_lock_stops_at_once_and_says_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let out_arg = store.to_str().unwrap();
    let mut args = vec!["crawl", "--resources", "type", "--out", out_arg];
    args.extend(FAST);
    assert_eq!(asyncdex(&args).status.code(), Some(0));
    let holder = rusqlite::Connection::open(&store).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // Waiting for the lock (5 s) when Ctrl-C comes, half a second in.
    let (out, took) = interrupted_after(spawn(&args), Duration::from_millis(500));
    holder.execute_batch("ROLLBACK").unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(2),
        "exited {took:?} after the signal"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        !stderr.contains("waited 5 s"),
        "the lock, not the signal: {stderr}"
    );
    assert!(!stderr.contains("crawling "), "it started: {stderr}");
}

#[test]
fn ctrl_c_while_a_write_waits_for_the_lock_stops_the_crawl_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let child = crawl_pokemon(&db);
    let holder = lock_once_rows_are_stored(&db);
    // The next batch waits for the lock; Ctrl-C half a second into the wait.
    let (out, took) = interrupted_after(child, Duration::from_millis(500));
    let stored_then = stored(&db);
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(2),
        "exited {took:?} after the signal"
    );
    assert!(
        !stderr.contains("error:"),
        "a Ctrl-C, not a failure: {stderr}"
    );
    // The manifest, as after any Ctrl-C: what the file holds, the rest cancelled.
    let row = pokemon_row(&stdout);
    let [expected, stored_now, _, _, failed, cancelled] = row[..] else {
        unreachable!()
    };
    assert_eq!(stored_now as i64, stored_then, "{stdout}");
    assert_eq!(failed, 0, "{stdout}");
    assert_eq!(stored_now + cancelled, expected, "{stdout}");
}
