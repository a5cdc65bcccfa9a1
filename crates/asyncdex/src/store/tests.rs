use super::*;

fn row(endpoint: &str, id: i32, name: &str) -> Row {
    Row::new(
        endpoint,
        id,
        Some(name.into()),
        format!(r#"{{"id":{id},"name":"{name}"}}"#).into_bytes(),
    )
}

#[test]
fn a_row_is_found_by_id_and_by_name_and_replaced_not_duplicated() {
    let store = Store::open_in_memory().unwrap();
    store.put(&[row("pokemon", 25, "pikachu")]).unwrap();
    store.put(&[row("pokemon", 25, "pikachu")]).unwrap();
    assert_eq!(
        store.entries("pokemon").unwrap(),
        vec![(25, Some("pikachu".into()))]
    );
    let by_name = store.get("pokemon", "pikachu").unwrap().unwrap();
    let by_id = store.get("pokemon", "25").unwrap().unwrap();
    assert_eq!(by_name, by_id);
    assert!(store.get("pokemon", "26").unwrap().is_none());
    assert!(store.get("type", "25").unwrap().is_none());
}

#[test]
fn a_stored_row_clears_its_failure_and_stats_count_both() {
    let store = Store::open_in_memory().unwrap();
    store.set_list_count("type", 3).unwrap();
    store.record_failure("type", 1, "HTTP 500", 3).unwrap();
    store.record_failure("type", 2, "HTTP 500", 3).unwrap();
    store.put(&[row("type", 1, "normal")]).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.len(), 1);
    let s = &stats[0];
    assert_eq!(
        (s.endpoint.as_str(), s.rows, s.listed, s.failed),
        ("type", 1, Some(3), 1)
    );
    assert_eq!(s.bytes, br#"{"id":1,"name":"normal"}"#.len() as u64);
}

#[test]
fn a_body_changed_behind_the_stores_back_is_not_valid() {
    let store = Store::open_in_memory().unwrap();
    store
        .put(&[row("type", 1, "normal"), row("type", 2, "fighting")])
        .unwrap();
    store
        .with(|c| c.execute("UPDATE resources SET body = x'00' WHERE id = 2", []))
        .unwrap();
    assert_eq!(store.valid_ids("type").unwrap(), [1].into());
}

#[test]
fn a_transaction_is_all_or_nothing() {
    let store = Store::open_in_memory().unwrap();
    store
        .with(|c| {
            c.execute_batch(
                "CREATE TRIGGER no_13 BEFORE INSERT ON resources WHEN NEW.id = 13
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
        })
        .unwrap();
    let err = store
        .put(&[row("type", 12, "grass"), row("type", 13, "electric")])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    assert!(
        store.entries("type").unwrap().is_empty(),
        "12 must roll back"
    );
}

#[test]
fn misses_expire_where_they_say() {
    let store = Store::open_in_memory().unwrap();
    store.put_miss("pokemon", "missingno", 1234).unwrap();
    assert_eq!(store.get_miss("pokemon", "missingno").unwrap(), Some(1234));
    assert_eq!(store.get_miss("pokemon", "agumon").unwrap(), None);
}

#[test]
fn a_file_that_is_not_a_store_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db");
    std::fs::write(&path, "hello, I am a text file, not SQLite at all").unwrap();
    let err = Store::open(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    assert!(err.to_string().contains("not-a-db"), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[tokio::test]
async fn the_async_store_is_the_blocking_store_offloaded() {
    let dir = tempfile::tempdir().unwrap();
    let store = AsyncStore::new(Store::open(dir.path().join("a.db")).unwrap());
    let rows: Vec<Row> = (1..=50)
        .map(|i| row("pokemon", i, &format!("p{i}")))
        .collect();
    let writes = rows.chunks(10).map(|c| store.put(c.to_vec()));
    for result in futures::future::join_all(writes).await {
        result.unwrap();
    }
    assert_eq!(store.blocking().entries("pokemon").unwrap().len(), 50);
    let hit = store.get("pokemon", "p7").await.unwrap().unwrap();
    assert_eq!(hit.id, 7);
}

#[test]
fn for_each_streams_rows_in_id_order_and_stops_at_an_error() {
    let store = Store::open_in_memory().unwrap();
    store
        .put(&[
            row("type", 3, "c"),
            row("type", 1, "a"),
            row("type", 2, "b"),
        ])
        .unwrap();
    let mut seen = Vec::new();
    let err = store
        .for_each("type", |s| {
            seen.push(s.id);
            if s.id == 2 {
                return Err(Error::new(ErrorKind::Io, "disk full"));
            }
            Ok(())
        })
        .unwrap_err();
    assert_eq!(seen, vec![1, 2]);
    assert_eq!(err.to_string(), "disk full");
}

#[test]
fn a_foreign_database_is_refused_read_only_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Store::open_existing(&path).unwrap_err();
    assert!(err.to_string().contains("not an asyncdex store"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Nor is it written into (`crawl --out theirs.db`): no tables, no WAL mode added.
    let err = Store::open(&path).unwrap_err();
    assert!(err.to_string().contains("not an asyncdex store"), "{err}");
    assert!(!err.to_string().contains('\n'));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!dir.path().join("theirs.db-wal").exists());
    // A real store opens, and reads.
    let ours = dir.path().join("ours.db");
    Store::open(&ours)
        .unwrap()
        .put(&[row("type", 1, "normal")])
        .unwrap();
    let read = Store::open_existing(&ours).unwrap();
    assert_eq!(read.entries("type").unwrap().len(), 1);
    assert_eq!(
        read.put(&[row("type", 2, "x")]).unwrap_err().kind(),
        ErrorKind::Database
    );
}

#[test]
fn a_write_waits_for_a_lock_then_says_it_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = Store::open(&path).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let err = store.put(&[row("type", 1, "normal")]).unwrap_err();
    // Waited for the lock (bounded), then gave up in words that name it.
    assert!(
        started.elapsed() >= super::sqlite_errors::BUSY_WAIT / 2,
        "{err}"
    );
    assert!(is_locked(&err), "{err}");
    assert!(
        err.to_string().contains("another process is writing it"),
        "{err}"
    );
    other.execute_batch("ROLLBACK").unwrap();
    store.put(&[row("type", 1, "normal")]).unwrap();
    // Other failures are not a lock.
    let read = Store::open_existing(&path).unwrap();
    assert!(!is_locked(&read.put(&[row("type", 2, "x")]).unwrap_err()));
}

#[test]
fn a_log_with_no_database_beside_it_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    for suffix in ["-wal", "-journal"] {
        let path = dir.path().join(format!("moved{suffix}.db"));
        let log = reading::beside(&path, suffix);
        std::fs::write(&log, b"the last rows of a store moved away").unwrap();
        let err = Store::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("there is no database there") && err.contains("move it back"),
            "{suffix}: {err}"
        );
        assert!(!path.exists(), "{suffix}: no database made");
        assert_eq!(
            std::fs::read(&log).unwrap(),
            b"the last rows of a store moved away"
        );
        // An empty log holds nothing to lose: the store is made.
        std::fs::write(&log, b"").unwrap();
        Store::open(&path).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn a_link_beside_a_store_is_named_and_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    Store::open(&path).unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"untouched").unwrap();
    for suffix in ["-wal", "-shm", "-journal"] {
        let link = reading::beside(&path, suffix);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for err in [
            Store::open(&path).unwrap_err(),
            Store::open_existing(&path).unwrap_err(),
        ] {
            let err = err.to_string();
            assert!(
                err.contains(&format!(
                    "s.db{suffix} is a symbolic link, not a regular file"
                )),
                "{suffix}: {err}"
            );
        }
        std::fs::remove_file(&link).unwrap();
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
}

/// hp11 B-F8: a store on a read-only file system, existing or new, is said to be one
/// when it opens, not in SQLite's "unable to open database file". Needs `mount` (root):
/// skipped, saying so, where it fails.
#[cfg(target_os = "linux")]
#[test]
fn a_store_on_a_read_only_file_system_cannot_be_written_and_says_why() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mount = |args: &[&str]| Command::new("mount").args(args).arg(&small).output();
    match mount(&["-t", "tmpfs", "-o", "size=1m", "tmpfs"]) {
        Ok(out) if out.status.success() => {}
        other => {
            eprintln!("skipped: cannot mount a tmpfs: {other:?}");
            return;
        }
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&small);
    let path = small.join("s.db");
    Store::open(&path)
        .unwrap()
        .put(&[row("type", 1, "normal")])
        .unwrap();
    assert!(mount(&["-o", "remount,ro"]).unwrap().status.success());
    for path in [path, small.join("new.db")] {
        assert_eq!(
            Store::open(&path).unwrap_err().to_string(),
            format!(
                "{} cannot be written: the file system is read-only",
                path.display()
            )
        );
    }
}
