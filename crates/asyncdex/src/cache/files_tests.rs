//! `cache stats` and `cache clear` on hostile folders.

use super::*;
use crate::cache::Cache;
use crate::store::Row;

#[test]
fn clear_removes_only_the_caches_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache = Cache::open(d, "http://127.0.0.1:1/api/v2").unwrap();
    let ours = cache.path().unwrap().to_path_buf();
    drop(cache);
    assert!(ours.exists(), "the cache made its file");
    std::fs::write(d.join("notes.db"), "my notes\n").unwrap();
    let foreign = rusqlite::Connection::open(d.join("other.db")).unwrap();
    foreign
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(foreign);
    // A crawl store: stamped, named like a cache file, but its rows never expire.
    let crawl = Store::open(d.join("crawl.db")).unwrap();
    let body = br#"{"id":25,"name":"pikachu"}"#.to_vec();
    crawl
        .put(&[Row::new("pokemon", 25, Some("pikachu".into()), body)])
        .unwrap();
    drop(crawl);
    std::fs::write(d.join("orphan.db-wal"), "x").unwrap();

    let done = clear_dir(d).unwrap();

    assert!(!ours.exists(), "the cache's file is gone");
    for kept in ["notes.db", "other.db", "crawl.db", "orphan.db-wal"] {
        assert!(d.join(kept).exists(), "{kept} was left");
    }
    assert_eq!(
        std::fs::read_to_string(d.join("notes.db")).unwrap(),
        "my notes\n"
    );
    assert!(done.files >= 1, "{done:?}");
    assert!(done.left >= 4, "{done:?}");
    assert!(!is_cache_file(&d.join("crawl.db")));
    // Looking at the crawl store (is it ours?) left nothing beside it.
    for side in ["crawl.db-wal", "crawl.db-shm", "other.db-shm"] {
        assert!(!d.join(side).exists(), "{side} was made");
    }
}

/// A folder with one real cache file in it, and its path.
fn with_one_cache(dir: &Path) -> PathBuf {
    let cache = Cache::open(dir, "http://127.0.0.1:1/api/v2").unwrap();
    let store = cache.store().unwrap();
    let mut row = Row::new("pokemon", 25, Some("pikachu".into()), b"{}".to_vec());
    row.expires_at = Some(i64::MAX);
    store.put(&[row]).unwrap();
    cache.path().unwrap().to_path_buf()
}

#[cfg(unix)]
#[test]
fn stats_never_follows_a_link_out_of_the_folder() {
    let (outside, inside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let target = with_one_cache(outside.path());
    std::os::unix::fs::symlink(&target, inside.path().join("elsewhere.db")).unwrap();
    let folder = stats(inside.path()).unwrap();
    assert!(folder.files.is_empty(), "{folder:?}");
    assert_eq!(folder.skipped.len(), 1, "{folder:?}");
    assert!(folder.skipped[0].1.contains("not a regular file"));
    let cleared = clear_dir(inside.path()).unwrap();
    assert_eq!((cleared.files, cleared.left), (0, 1));
    assert!(target.exists());
}

#[test]
fn stats_leaves_no_wal_beside_another_programs_database() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs.db");
    let conn = rusqlite::Connection::open(&theirs).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch("CREATE TABLE notes (t); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(conn);
    let beside = |suffix: &str| dir.path().join(format!("theirs.db{suffix}")).exists();
    assert!(
        !beside("-wal") && !beside("-shm"),
        "a clean close removes them"
    );
    let folder = stats(dir.path()).unwrap();
    assert!(!is_cache_file(&theirs));
    assert!(
        !beside("-wal") && !beside("-shm"),
        "stats left files beside theirs"
    );
    assert_eq!(
        folder.skipped[0].1,
        "an SQLite database that is not an asyncdex cache (left unread)"
    );
}

#[test]
fn garbage_files_are_counted_and_the_rest_still_shown() {
    let dir = tempfile::tempdir().unwrap();
    let ours = with_one_cache(dir.path());
    std::fs::write(dir.path().join("garbage.db"), vec![0xAB; 5000]).unwrap();
    // Stamped like ours, then cut short: unreadable, not a failure of the whole run.
    let mut cut = std::fs::read(&ours).unwrap();
    cut.truncate(200);
    std::fs::write(dir.path().join("cut.db"), cut).unwrap();
    let folder = stats(dir.path()).unwrap();
    assert_eq!(folder.files.len(), 1, "{folder:?}");
    assert_eq!(folder.files[0].path, ours);
    assert_eq!(folder.files[0].endpoints[0].rows, 1);
    let why: Vec<(String, &str)> = folder
        .skipped
        .iter()
        .map(|(p, why)| (p.file_name().unwrap().to_string_lossy().into(), &why[..]))
        .collect();
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why[0].0 == "cut.db" && why[0].1.starts_with("unreadable"),
        "{why:?}"
    );
    assert_eq!(
        why[1],
        (
            "garbage.db".into(),
            "not an SQLite file, so not an asyncdex cache (left unread)"
        )
    );
}

#[test]
fn clear_removes_set_aside_files_only_when_named_as_the_cache_names_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ours = crate::cache::name::file_for(d, "http://127.0.0.1:1/api/v2");
    let ours_aside = PathBuf::from(format!("{}.aside", ours.display()));
    std::fs::write(&ours_aside, [0xAB; 64]).unwrap();
    // A user's files that merely end as set-aside files do.
    let users = [
        "notes.db.aside",
        "my-db.db-wal.aside",
        "x-0123456789ABCDEF.db.aside",
    ];
    for name in users {
        std::fs::write(d.join(name), "mine\n").unwrap();
    }
    let listed = stats(d).unwrap();
    assert_eq!(listed.skipped.len(), 1, "{:?}", listed.skipped);
    assert_eq!(listed.skipped[0].0, ours_aside);

    let done = clear_dir(d).unwrap();
    assert!(
        !ours_aside.exists(),
        "the cache's own set-aside file is removed"
    );
    assert_eq!(done.files, 1);
    assert_eq!(done.left, users.len());
    for name in users {
        assert_eq!(
            std::fs::read(d.join(name)).unwrap(),
            b"mine\n",
            "{name} kept"
        );
    }
}
