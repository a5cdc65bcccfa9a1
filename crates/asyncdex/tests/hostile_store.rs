//! The store and the cache against files that are not what they should be: another
//! program's database where a store was expected, garbage where the cache keeps its file,
//! a stored body changed behind the store's back.

use std::path::Path;

use asyncdex::cache::{Cache, Cached};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pokeapi::Client;
use asyncdex::store::{Row, Store};
use asyncdex::ErrorKind;

fn sidecars_absent(db: &Path) {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        assert!(!Path::new(&side).exists(), "{side:?} was left beside it");
    }
}

#[test]
fn another_programs_database_is_refused_in_one_line_and_left_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.db");
    // Their own table named `resources`, not ours, and another beside it.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE resources (id INTEGER PRIMARY KEY, owner TEXT, data BLOB);
             CREATE TABLE users (name TEXT);
             INSERT INTO resources (owner, data) VALUES ('them', x'00ff');",
        )
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    for result in [Store::open(&path), Store::open_existing(&path)] {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Database);
        assert_eq!(
            err.to_string(),
            format!(
                "{} is not an asyncdex store: it has tables resources, users",
                path.display()
            )
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file was changed"
        );
        sidecars_absent(&path);
    }
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let text = "Dear diary, today I caught a Pikachu. It was not an SQLite database.\n";
    std::fs::write(&path, text.repeat(20)).unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(
        err.ends_with("is not an asyncdex store: it is not an SQLite database"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text.repeat(20));
    sidecars_absent(&path);
}

#[test]
fn a_store_is_stamped_and_opens_again_for_writing_and_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.db");
    let body = br#"{"id":25,"name":"pikachu"}"#.to_vec();
    Store::open(&path)
        .unwrap()
        .put(&[Row::new("pokemon", 25, Some("pikachu".into()), body)])
        .unwrap();
    let id: i32 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, asyncdex::store::APPLICATION_ID);
    assert_eq!(
        Store::open(&path)
            .unwrap()
            .entries("pokemon")
            .unwrap()
            .len(),
        1
    );
    let read = Store::open_existing(&path).unwrap();
    assert_eq!(
        read.get_verified("pokemon", "pikachu").unwrap().unwrap().id,
        25
    );
}

#[test]
fn export_refuses_a_damaged_body_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    let store = Store::open(&path).unwrap();
    store
        .put(&[
            Row::new("type", 1, Some("normal".into()), br#"{"id":1}"#.to_vec()),
            Row::new("type", 2, Some("fighting".into()), br#"{"id":2}"#.to_vec()),
        ])
        .unwrap();
    drop(store);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE resources SET body = x'7b2269' WHERE id = 2", [])
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let store = Store::open_existing(&path).unwrap();
    let err = asyncdex::export::export(&store, out.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    assert!(err.to_string().contains("type/2 is damaged"), "{err}");
    let damaged = out.path().join("data/api/v2/type/2/index.json");
    assert!(!damaged.exists(), "the damaged body was exported");
}

#[tokio::test]
async fn garbage_where_the_cache_file_is_means_no_cache_not_no_answers() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = Cache::file_for(dir.path(), mirror.base_url());
    std::fs::write(&file, b"SQLite format 3\0 and then garbage, cut short").unwrap();
    let garbage = std::fs::read(&file).unwrap();
    let cache = Cache::open(dir.path(), mirror.base_url()).unwrap();
    let http = Native::new(&HttpOptions::default()).unwrap();
    let client = Client::new(mirror.base_url(), Cached::new(http, Some(cache.clone())));
    for _ in 0..3 {
        assert_eq!(client.pokemon(25).await.unwrap().name, "pikachu");
    }
    assert_eq!(
        cache.counts().hits,
        0,
        "nothing can come from a broken cache"
    );
    assert!(cache.is_disabled(), "the cache gave up on the file");
    assert_eq!(std::fs::read(&file).unwrap(), garbage, "left as it was");
    mirror.stop().await;
}

#[tokio::test]
async fn a_cache_file_cut_short_is_given_up_on_and_calls_still_answer() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = Cache::file_for(dir.path(), mirror.base_url());
    {
        // A real cache of many pages, then cut to its first two pages: the header and the
        // schema read fine, the rows do not.
        let store = Store::open(&file).unwrap();
        let rows: Vec<Row> = (1..=300)
            .map(|id| {
                Row::new(
                    "pokemon",
                    id,
                    None,
                    format!(r#"{{"id":{id},"pad":"{}"}}"#, "x".repeat(2000)),
                )
            })
            .collect();
        store.put(&rows).unwrap();
    }
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute_batch("PRAGMA journal_mode = DELETE;").unwrap();
    drop(conn);
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(8192).unwrap();
    drop(f);
    let cache = Cache::open(dir.path(), mirror.base_url()).unwrap();
    let http = Native::new(&HttpOptions::default()).unwrap();
    let client = Client::new(mirror.base_url(), Cached::new(http, Some(cache.clone())));
    for id in [25, 26, 25] {
        assert_eq!(client.pokemon(id).await.unwrap().id, id);
    }
    assert!(cache.is_disabled(), "a failing cache is put out of the way");
    mirror.stop().await;
}
