//! The store and the cache against files that are not what they should be: another
//! program's database where a store was expected, garbage where the cache keeps its file,
//! a stored body changed behind the store's back.

use crate::common;

use std::path::Path;

use asyncdex::cache::{Cache, Cached, Standing};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pokeapi::Client;
use asyncdex::store::{Row, Store};
use asyncdex::ErrorKind;
use common::tree;

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
fn a_store_cut_short_is_refused_as_damaged_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.db");
    let store = Store::open(&whole).unwrap();
    let rows: Vec<Row> = (1..=200)
        .map(|id| {
            Row::new(
                "type",
                id,
                None,
                format!(r#"{{"id":{id},"pad":"{}"}}"#, "x".repeat(400)),
            )
        })
        .collect();
    store.put(&rows).unwrap();
    drop(store);
    let bytes = std::fs::read(&whole).unwrap();
    // Its header says WAL, as every store's: reading it would make a -wal and a -shm.
    for cut in [4096, 20_000] {
        let path = dir.path().join(format!("cut-{cut}.db"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let opened = [
            ("open", Store::open(&path).map(drop)),
            ("open_existing", Store::open_existing(&path).map(drop)),
        ];
        for (how, result) in opened {
            let err = result.unwrap_err().to_string();
            assert!(err.contains("malformed"), "{how} {cut}: {err}");
            assert!(!err.contains("not an asyncdex store"), "{how} {cut}: {err}");
            assert_eq!(std::fs::read(&path).unwrap(), &bytes[..cut], "{how} {cut}");
            sidecars_absent(&path);
        }
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

/// A store of three types, the second one's body damaged behind the store's back.
fn damaged_store(dir: &Path) -> Store {
    let path = dir.join("damaged.db");
    let store = Store::open(&path).unwrap();
    store
        .put(&[
            Row::new("type", 1, Some("normal".into()), br#"{"id":1}"#.to_vec()),
            Row::new("type", 2, Some("fighting".into()), br#"{"id":2}"#.to_vec()),
            Row::new("type", 3, Some("flying".into()), br#"{"id":3}"#.to_vec()),
        ])
        .unwrap();
    drop(store);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE resources SET body = x'7b2269' WHERE id = 2", [])
        .unwrap();
    Store::open_existing(&path).unwrap()
}

#[test]
fn export_refuses_a_damaged_body_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = damaged_store(dir.path());
    let out = tempfile::tempdir().unwrap();
    let err = asyncdex::export::export(&store, out.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    assert!(err.to_string().contains("type/2 is damaged"), "{err}");
    assert!(!err.to_string().contains('\n'), "one line: {err}");
    assert!(tree(out.path()).is_empty(), "{:?}", tree(out.path()));
}

#[test]
fn export_refuses_a_body_filed_as_another_resource() {
    // Each row's hash is right (written through the store): only what it holds is wrong.
    for (id, name, body, said) in [
        (
            5,
            "normal",
            r#"{"id":7,"name":"normal"}"#,
            "its id is 7, not 5",
        ),
        (
            1,
            "normal",
            r#"{"id":1,"name":"fire"}"#,
            r#"its name is "fire", not "normal""#,
        ),
        (
            -1,
            "dark",
            r#"{"id":1,"name":"dark"}"#,
            "its id is 1, not -1",
        ),
        (2, "steel", "[1, 2]", "expected a JSON object, got an array"),
    ] {
        let store = Store::open_in_memory().unwrap();
        store
            .put(&[Row::new(
                "type",
                id,
                Some(name.into()),
                body.as_bytes().to_vec(),
            )])
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        let err = asyncdex::export::export(&store, out.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Database, "{body}: {err}");
        let err = err.to_string();
        assert!(err.contains(&format!("type/{id} is damaged")), "{err}");
        assert!(err.contains(said), "{body}: {err}");
        assert!(
            tree(out.path()).is_empty(),
            "{body}: {:?}",
            tree(out.path())
        );
    }
}

#[test]
fn a_damaged_body_leaves_no_half_export_and_no_temporary_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store = damaged_store(dir.path());
    let parent = tempfile::tempdir().unwrap();
    // Folders on the way that do not exist yet are not left behind either.
    let site = parent.path().join("a/b/site");
    let err = asyncdex::export::export(&store, &site)
        .unwrap_err()
        .to_string();
    assert!(err.contains("type/2 is damaged"), "{err}");
    assert!(err.contains("was not created"), "{err}");
    assert!(
        !site.exists(),
        "a half export was left at {}",
        site.display()
    );
    assert!(tree(parent.path()).is_empty(), "{:?}", tree(parent.path()));
}

#[test]
fn a_damaged_body_leaves_an_earlier_export_and_the_users_files_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    let good = Store::open_in_memory().unwrap();
    good.put(&[Row::new(
        "type",
        1,
        Some("normal".into()),
        br#"{"id":1,"old":1}"#.to_vec(),
    )])
    .unwrap();
    asyncdex::export::export(&good, site.path()).unwrap();
    std::fs::write(site.path().join("index.html"), "my page").unwrap();
    let before = tree(site.path());
    let err = asyncdex::export::export(&damaged_store(dir.path()), site.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("type/2 is damaged") && err.contains("is as it was"),
        "{err}"
    );
    assert_eq!(tree(site.path()), before, "the folder changed");
}

#[test]
fn an_export_into_an_earlier_one_replaces_its_files_and_keeps_the_users() {
    use std::os::unix::fs::PermissionsExt;
    let site = tempfile::tempdir().unwrap();
    let store = Store::open_in_memory().unwrap();
    let row = |id: i32, body: &str| Row::new("type", id, None, body.as_bytes().to_vec());
    store
        .put(&[row(1, r#"{"id":1,"v":1}"#), row(2, r#"{"id":2}"#)])
        .unwrap();
    asyncdex::export::export(&store, site.path()).unwrap();
    let one = site.path().join("data/api/v2/type/1/index.json");
    std::fs::set_permissions(&one, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(site.path().join("index.html"), "my page").unwrap();
    let again = Store::open_in_memory().unwrap();
    again.put(&[row(1, r#"{"id":1,"v":2}"#)]).unwrap();
    let report = asyncdex::export::export(&again, site.path()).unwrap();
    assert_eq!(report.resources, 1);
    assert_eq!(std::fs::read_to_string(&one).unwrap(), r#"{"id":1,"v":2}"#);
    let mode = std::fs::metadata(&one).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a replaced file keeps its mode");
    let names: Vec<String> = tree(site.path()).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"index.html".to_owned()), "{names:?}");
    // What the earlier export wrote and this one did not is gone: the folder holds the
    // last export alone (hp9 B-F9), the user's own file beside it.
    assert!(!names.contains(&"data/api/v2/type/2/index.json".to_owned()));
    assert_eq!(report.earlier_removed, 1);
    assert!(
        !names.iter().any(|n| n.contains("export-asyncdex")),
        "a temporary folder was left: {names:?}"
    );
}

/// A file at a path an export writes that no export wrote (hand-written, another tool's)
/// is never replaced: the export is refused naming it, the folder as it was (hp9 B-F9).
#[test]
fn an_export_never_replaces_a_file_no_export_wrote() {
    let site = tempfile::tempdir().unwrap();
    let theirs = site.path().join("data/api/v2/type/1");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("index.json"), "handwritten").unwrap();
    let store = Store::open_in_memory().unwrap();
    store
        .put(&[Row::new("type", 1, None, br#"{"id":1}"#.to_vec())])
        .unwrap();
    let before = tree(site.path());
    let err = asyncdex::export::export(&store, site.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("type/1/index.json") && err.contains("that no export wrote"),
        "{err}"
    );
    assert!(err.contains("is as it was"), "{err}");
    assert_eq!(tree(site.path()), before, "the folder changed");
    // A damaged record is refused the same way, never trusted.
    std::fs::remove_file(theirs.join("index.json")).unwrap();
    std::fs::write(
        site.path().join(".asyncdex-export"),
        "asyncdex export v1
../x
",
    )
    .unwrap();
    let err = asyncdex::export::export(&store, site.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("the export's record is damaged"), "{err}");
}

#[test]
fn a_symbolic_link_in_an_earlier_export_is_refused_before_anything_moves() {
    let site = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("data/api/v2")).unwrap();
    std::fs::write(site.path().join("data/api/v2/index.json"), "{}").unwrap();
    std::os::unix::fs::symlink(outside.path(), site.path().join("data/api/v2/type")).unwrap();
    let before = tree(site.path());
    let store = Store::open_in_memory().unwrap();
    store
        .put(&[Row::new("type", 13, None, br#"{"id":13}"#.to_vec())])
        .unwrap();
    let err = asyncdex::export::export(&store, site.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("symbolic link") && err.contains("v2/type"),
        "{err}"
    );
    assert_eq!(tree(site.path()), before, "something moved");
    assert!(tree(outside.path()).is_empty(), "written through the link");
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
    // The garbage is set aside (kept, renamed) and a new cache file takes its place.
    let aside = format!("{}.aside", file.display());
    assert_eq!(cache.standing(), Standing::Replaced(aside.clone().into()));
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        garbage,
        "kept as it was, aside"
    );
    assert_eq!(cache.counts().hits, 2, "the new file answered");
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
        let cache = Cache::open(dir.path(), mirror.base_url()).unwrap();
        let store = cache.store().unwrap();
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
    assert!(
        cache.is_disabled() || matches!(cache.standing(), Standing::Replaced(_)),
        "a failing cache is put out of the way"
    );
    mirror.stop().await;
}

/// The warnings the library logs, from every thread (the cache reads on its offload
/// pool): recorded for the whole test binary, read by what they name.
mod warnings {
    use std::sync::{Mutex, Once};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Recorder;

    struct Message(String);

    impl Visit for Message {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0 = format!("{value:?}");
            }
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            *metadata.level() <= Level::WARN
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut message = Message(String::new());
            event.record(&mut message);
            SEEN.lock().unwrap().push(message.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// Starts recording (once per binary).
    pub fn record() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let _ = tracing::subscriber::set_global_default(Recorder);
        });
    }

    /// The warnings so far that contain `text` (a test's own file path).
    pub fn naming(text: &str) -> Vec<String> {
        SEEN.lock()
            .unwrap()
            .iter()
            .filter(|w| w.contains(text))
            .cloned()
            .collect()
    }
}

/// One run's cache and client: `max_body` both the cache's and the transport's limit.
fn cached_client(dir: &Path, mirror: &Mirror, max_body: u64) -> (Cache, Client<Cached<Native>>) {
    let cache = Cache::open(dir, mirror.base_url()).unwrap();
    cache.set_max_body(max_body);
    let http = Native::new(&HttpOptions {
        max_body,
        ..HttpOptions::default()
    })
    .unwrap();
    let client = Client::new(mirror.base_url(), Cached::new(http, Some(cache.clone())));
    (cache, client)
}

/// Runs `sql` on the cache file at `file`, the cache closed.
fn edit(file: &Path, sql: &str, params: impl rusqlite::Params) {
    let conn = rusqlite::Connection::open(file).unwrap();
    conn.execute(sql, params).unwrap();
}

const DEFAULT_MAX_BODY: u64 = asyncdex::http::DEFAULT_MAX_BODY;

#[tokio::test]
async fn a_cached_body_that_is_not_its_resource_is_dropped_with_one_warning_and_fetched_again() {
    warnings::record();
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    for bad in ["not json", "[1,2]", &deep, r#"{"id":7,"name":"squirtle"}"#] {
        let dir = tempfile::tempdir().unwrap();
        let file = Cache::file_for(dir.path(), mirror.base_url());
        {
            let (_cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
            assert_eq!(client.pokemon(25).await.unwrap().name, "pikachu");
        }
        // The body replaced with its own digest: the hash check passes.
        let sha = asyncdex::store::sha256_hex(bad.as_bytes());
        edit(
            &file,
            "UPDATE resources SET body = ?1, sha256 = ?2 WHERE id = 25",
            rusqlite::params![bad.as_bytes(), sha],
        );
        let asked = mirror.stats().requests;
        {
            let (cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
            let got = client.pokemon(25).await.unwrap();
            assert_eq!((got.id, got.name.as_str()), (25, "pikachu"), "{bad:.20}");
            let counts = cache.counts();
            assert_eq!((counts.hits, counts.damaged), (0, 1), "{bad:.20}");
            assert!(!cache.is_disabled(), "one bad entry is not a bad file");
        }
        assert_eq!(mirror.stats().requests, asked + 1, "fetched again");
        let said = warnings::naming(&file.display().to_string());
        assert_eq!(said.len(), 1, "one warning: {said:?}");
        assert!(
            said[0].contains("pokemon/25") && said[0].contains("dropped"),
            "{}",
            said[0]
        );
        // The next run answers from disk again, with the good body.
        let (cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
        assert_eq!(client.pokemon(25).await.unwrap().name, "pikachu");
        assert_eq!(cache.counts().hits, 1, "{bad:.20}");
        assert_eq!(mirror.stats().requests, asked + 1);
        assert_eq!(warnings::naming(&file.display().to_string()).len(), 1);
    }
    mirror.stop().await;
}

#[tokio::test]
async fn a_cached_entry_is_fresh_by_its_age_and_a_status_not_200_is_fetched_again() {
    warnings::record();
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let eight_days = 8 * 24 * 3600 * 1000_i64;
    for (sql, damaged) in [
        // Fetched in 1970 and "fresh" for ever.
        (
            format!(
                "UPDATE resources SET fetched_at = 0, expires_at = {}",
                i64::MAX
            ),
            false,
        ),
        // Fetched in the far future.
        (
            format!("UPDATE resources SET fetched_at = {}", i64::MAX),
            false,
        ),
        // Older than the freshness cap, however long it says it lasts.
        (
            format!(
                "UPDATE resources SET fetched_at = fetched_at - {eight_days}, expires_at = {}",
                i64::MAX
            ),
            false,
        ),
        ("UPDATE resources SET status = 500".to_owned(), true),
        ("UPDATE resources SET status = -1".to_owned(), true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = Cache::file_for(dir.path(), mirror.base_url());
        {
            let (_cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
            client.pokemon(25).await.unwrap();
        }
        edit(&file, &sql, []);
        let asked = mirror.stats().requests;
        {
            let (cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
            assert_eq!(client.pokemon(25).await.unwrap().name, "pikachu");
            let counts = cache.counts();
            assert_eq!(counts.hits, 0, "{sql}: answered from disk");
            assert_eq!(counts.damaged, u64::from(damaged), "{sql}");
        }
        assert_eq!(mirror.stats().requests, asked + 1, "{sql}: not refetched");
        let said = warnings::naming(&file.display().to_string());
        assert_eq!(said.len(), usize::from(damaged), "{sql}: {said:?}");
        // The answer fetched again replaced the entry: the next run is answered from disk.
        let (cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
        client.pokemon(25).await.unwrap();
        assert_eq!(cache.counts().hits, 1, "{sql}: not replaced");
    }
    mirror.stop().await;
}

#[tokio::test]
async fn a_cached_body_over_the_runs_max_body_is_not_answered_from_disk() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = Cache::file_for(dir.path(), mirror.base_url());
    {
        let (_cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
        client.pokemon(25).await.unwrap();
    }
    let kept: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row(
            "SELECT length(body) FROM resources WHERE id = 25",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let kept = kept as u64;
    let asked = mirror.stats().requests;
    {
        // A smaller limit: the disk does not answer past it; the network's reader
        // refuses the body.
        let (cache, client) = cached_client(dir.path(), &mirror, kept - 1);
        let err = client.pokemon(25).await.unwrap_err();
        assert!(err.to_string().contains("larger than the limit"), "{err}");
        assert_eq!(cache.counts().hits, 0, "answered from disk past --max-body");
    }
    assert_eq!(mirror.stats().requests, asked + 1);
    // Not dropped: within the limit, it answers from disk.
    let (cache, client) = cached_client(dir.path(), &mirror, kept);
    client.pokemon(25).await.unwrap();
    assert_eq!(cache.counts().hits, 1);
    mirror.stop().await;
}

#[tokio::test]
async fn a_cache_file_that_lost_its_root_record_is_not_used_and_left_as_it_was() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = Cache::file_for(dir.path(), mirror.base_url());
    {
        let (_cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
        client.pokemon(25).await.unwrap();
    }
    edit(&file, "DELETE FROM cache_root", []);
    let (cache, client) = cached_client(dir.path(), &mirror, DEFAULT_MAX_BODY);
    assert_eq!(client.pokemon(25).await.unwrap().name, "pikachu");
    assert!(cache.is_disabled());
    assert_eq!(cache.standing(), Standing::NotUsed);
    let why = cache.not_used_because().unwrap();
    assert!(why.contains("no record of its API root"), "{why}");
    assert_eq!(cache.counts().hits, 0);
    drop((cache, client));
    let conn = rusqlite::Connection::open(&file).unwrap();
    let (rows, roots): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM resources), (SELECT count(*) FROM cache_root)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, roots), (1, 0), "left as it was");
    mirror.stop().await;
}

/// A store whose names were changed behind its back is refused when it is served, as
/// export refuses it, instead of listing names no resource carries (hp11 B-F2: `serve
/// --from` listed `"../../etc"`, `""` and another row's name as 200).
#[test]
fn a_served_list_shows_only_the_names_the_bodies_carry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("renamed.db");
    let store = Store::open(&path).unwrap();
    let body = |id: i32, name: &str| format!(r#"{{"id":{id},"name":"{name}"}}"#).into_bytes();
    store
        .put(&[
            Row::new("type", 1, Some("normal".into()), body(1, "normal")),
            Row::new("type", 2, Some("fighting".into()), body(2, "fighting")),
        ])
        .unwrap();
    assert!(asyncdex::mirror::Data::store(store.clone()).is_ok());
    drop(store);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE resources SET name = '../../etc' WHERE id = 2", [])
        .unwrap();
    let store = Store::open_existing(&path).unwrap();
    let err = asyncdex::mirror::Data::store(store.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    let err = err.to_string();
    assert!(
        err.contains(
            r#"type/2 is damaged: it is listed with "../../etc", but its body's name is "fighting""#
        ),
        "{err}"
    );
    let out = tempfile::tempdir().unwrap();
    let exported = asyncdex::export::export(&store, out.path()).unwrap_err();
    assert!(
        exported.to_string().contains("type/2 is damaged"),
        "{exported}"
    );
}
