//! A crawl against a hostile API, and a store or export pointed at hostile paths: each
//! bound is enforced at the one place its kind of input enters (a list's `next`, the
//! follow queue, the API root, a list entry's url, the store's path, the export's folders).
//! What a hostile list says (entries without a url, root names that are no endpoint
//! names, a count of 10^12 over two entries) is counted in the manifest with its reason;
//! none fails the rest. A draw's list is bounded too.

use crate::common;

use std::time::Duration;

use asyncdex::crawl::{crawl, Crawl, Manifest, MAX_ENDPOINTS};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::store::{AsyncStore, Row, Store};
use common::{respond, serve, Request};

const JSON: &str = "Content-Type: application/json\r\n";

/// A crawl of `resources` (or the root's) at `base`, no retries, into memory.
async fn run(base: &str, resources: Option<Vec<String>>, follow: bool, cap: usize) -> Manifest {
    try_run(base, resources, follow, cap).await.unwrap()
}

async fn try_run(
    base: &str,
    resources: Option<Vec<String>>,
    follow: bool,
    cap: usize,
) -> asyncdex::Result<Manifest> {
    let mut job = Crawl::new(resources, 4);
    job.policy.retries = 0;
    job.policy.timeout = Some(Duration::from_secs(10));
    job.follow = follow;
    job.max_scheduled = cap;
    let store = AsyncStore::new(Store::open_in_memory().unwrap());
    let transport = Native::new(&HttpOptions::default()).unwrap();
    let mut tick = |_| {};
    let run = crawl(transport, base, &store, &job, &mut tick);
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the crawl ends")
}

fn host(req: &Request) -> String {
    req.header("host").unwrap_or("").to_owned()
}

#[tokio::test]
async fn a_next_link_that_loops_back_is_stopped_with_a_reason() {
    let addr = serve(20, |req, s| {
        let next = format!("http://{}{}", host(req), req.path());
        let body = format!(
            r#"{{"count":5,"next":"{next}","results":[{{"url":"http://{}/api/v2/type/1/"}}]}}"#,
            host(req)
        );
        respond(s, "200 OK", JSON, &body);
    });
    let m = run(
        &format!("{addr}/api/v2"),
        Some(vec!["type".into()]),
        false,
        100,
    )
    .await;
    // What the first page named is crawled; the loop is named, and the crawl is not
    // complete.
    let r = &m.resources[0];
    assert_eq!((r.list_error.as_deref(), r.expected), (None, 1), "{r:?}");
    let err = &r.failures[0];
    assert!(
        err.starts_with("only 1 listed entries were read: ")
            && err.contains("already read (a loop)"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    assert!(!m.complete());
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let addr = serve(20, |req, s| {
        let port = host(req).rsplit(':').next().unwrap_or("").to_owned();
        let body = format!(
            r#"{{"count":5,"next":"http://127.0.0.2:{port}/api/v2/type/?offset=1","results":[]}}"#
        );
        respond(s, "200 OK", JSON, &body);
    });
    let m = run(
        &format!("{addr}/api/v2"),
        Some(vec!["type".into()]),
        false,
        100,
    )
    .await;
    let err = m.resources[0].list_error.as_deref().expect("a list error");
    assert!(err.contains("is not under"), "{err}");
    assert!(err.contains("127.0.0.2"), "{err}");
}

/// Each `type/N` links to `type/2N` and `type/2N+1`: without a cap, a crawl never ends.
#[tokio::test]
async fn following_links_stops_at_the_cap_and_says_so() {
    let addr = serve(100, |req, s| {
        let path = req.path();
        if path.starts_with("/api/v2/type/?") {
            let body = format!(
                r#"{{"count":1,"next":null,"results":[{{"url":"http://{}/api/v2/type/1/"}}]}}"#,
                host(req)
            );
            return respond(s, "200 OK", JSON, &body);
        }
        let id: i32 = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let (a, b) = (2 * id, 2 * id + 1);
        let body = format!(
            r#"{{"id":{id},"name":"t{id}","a":"/api/v2/type/{a}/","b":"/api/v2/type/{b}/"}}"#
        );
        respond(s, "200 OK", JSON, &body);
    });
    let m = run(
        &format!("{addr}/api/v2"),
        Some(vec!["type".into()]),
        true,
        5,
    )
    .await;
    let r = &m.resources[0];
    assert_eq!(r.fetched, 5, "{r:?}");
    assert!(
        r.failures.iter().any(|f| f.contains("cap of 5 resources")),
        "{r:?}"
    );
    assert!(!m.complete(), "a capped crawl is not complete");
}

#[tokio::test]
async fn a_root_naming_too_many_endpoints_is_refused() {
    let addr = serve(5, |_, s| {
        let names: Vec<String> = (0..=MAX_ENDPOINTS)
            .map(|i| format!(r#""e{i}":"/api/v2/e{i}/""#))
            .collect();
        respond(s, "200 OK", JSON, &format!("{{{}}}", names.join(",")));
    });
    let err = try_run(&format!("{addr}/api/v2"), None, false, 100)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than the 1000"), "{err}");
    let many = (0..=MAX_ENDPOINTS).map(|i| format!("e{i}")).collect();
    let err = Crawl::new(Some(many), 4)
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than the 1000"), "{err}");
    assert!(!err.contains("--"), "{err}");
}

#[tokio::test]
async fn entries_without_a_usable_id_are_counted_with_a_reason() {
    let addr = serve(5, |req, s| {
        let h = host(req);
        let body = format!(
            r#"{{"count":2,"next":null,"results":[{{"url":"http://{h}/api/v2/type/4294967295/"}},{{"url":"http://{h}/api/v2/type/abc/"}}]}}"#
        );
        respond(s, "200 OK", JSON, &body);
    });
    let m = run(
        &format!("{addr}/api/v2"),
        Some(vec!["type".into()]),
        false,
        100,
    )
    .await;
    let r = &m.resources[0];
    assert_eq!((r.expected, r.stored), (2, 0), "{r:?}");
    assert!(
        r.failures
            .iter()
            .any(|f| f.starts_with("2 listed entries have no usable id")),
        "{r:?}"
    );
    assert!(!m.complete());
}

#[tokio::test]
async fn the_listed_ids_count_against_the_cap_too() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let m = run(mirror.base_url(), Some(vec!["type".into()]), false, 3).await;
    mirror.stop().await;
    let r = &m.resources[0];
    assert_eq!(r.fetched, 3, "{r:?}");
    assert!(r.failures.iter().any(|f| f.contains("cap of 3")), "{r:?}");
    assert!(!m.complete());
}

#[test]
fn a_store_path_that_is_not_a_regular_file_is_refused_before_sqlite_touches_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let err = Store::open(&fifo).unwrap_err().to_string();
    assert!(
        err.ends_with("it is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    let sub = dir.path().join("folder");
    std::fs::create_dir(&sub).unwrap();
    let err = Store::open(&sub).unwrap_err().to_string();
    assert!(
        err.ends_with("it is a directory, not a regular file"),
        "{err}"
    );
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    assert!(Store::open(&link).unwrap_err().to_string().contains("FIFO"));
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["folder", "link", "pipe"], "nothing beside them");
    assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0);
}

/// A store's path is a file's path, whatever it spells: SQLite reads `:memory:` as a
/// database in memory and a name that begins `file:` as a URI, which "stored" a crawl in
/// RAM or wrote it through a link the checks never saw (hp9 B-F10). (Relative names are
/// tried through the binary, from a folder of their own: crates/cli/tests/store_names.rs.)
#[test]
fn a_store_path_sqlite_would_read_as_a_uri_or_memory_is_a_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let memory = dir.path().join(":memory:");
    Store::open(&memory)
        .unwrap()
        .put(&[Row::new("type", 1, None, r#"{"id":1}"#)])
        .unwrap();
    assert_eq!(
        Store::open_existing(&memory)
            .unwrap()
            .entries("type")
            .unwrap(),
        [(1, None)]
    );
    // `file:` + an absolute path: as a URI, the link below (and the target behind it); as
    // the relative path it is, a file under a folder `file:` that is not there.
    let target = dir.path().join("target.db");
    let link = dir.path().join("victim.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let name = format!("file:{}", link.display());
    assert!(
        !std::path::Path::new("file:").exists(),
        "a folder file: here"
    );
    let err = Store::open(&name).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("cannot open the store {name}:")),
        "{err}"
    );
    assert!(!target.exists(), "written through the link: {err}");
    let uri = format!("file:{}?mode=memory", dir.path().join("m.db").display());
    assert!(Store::open(&uri).is_err(), "a store in memory");
}

/// A store that cannot be read is said to be that, in the words a reader uses, never
/// "not an asyncdex store" (hp9 B-F16): here, held by another process in exclusive
/// locking mode, which keeps out readers too.
#[test]
fn a_store_locked_against_readers_is_refused_as_locked_not_as_foreign() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lx.db");
    Store::open(&path)
        .unwrap()
        .put(&[Row::new("type", 1, None, r#"{"id":1}"#)])
        .unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
        .unwrap();
    for (how, err) in [
        ("open", Store::open(&path).unwrap_err()),
        ("open_existing", Store::open_existing(&path).unwrap_err()),
    ] {
        assert!(asyncdex::store::is_locked(&err), "{how}: {err}");
        let text = err.to_string();
        assert_eq!(
            text,
            format!(
                "cannot read the store {}: another process is writing it and holds it locked (waited 5 s)",
                path.display()
            ),
            "{how}"
        );
    }
}

/// SQLite opens `-wal`, `-shm` and `-journal` beside a store by name: a FIFO there would
/// block the open for ever, signals with it (hp9 B-F18), so each is checked like the store.
#[test]
fn what_sqlite_opens_beside_a_store_must_be_a_regular_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    drop(Store::open(&db).unwrap());
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = dir.path().join(format!("x.db{suffix}"));
        let made = std::process::Command::new("mkfifo")
            .arg(&side)
            .status()
            .unwrap();
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let path = db.clone();
        std::thread::spawn(move || {
            let errs = [Store::open(&path).err(), Store::open_existing(&path).err()];
            let _ = tx.send(errs.map(|e| e.map(|e| e.to_string())));
        });
        let errs = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the open hung on a FIFO at {suffix}"));
        for err in errs {
            let err = err.unwrap_or_else(|| panic!("a FIFO at {suffix} was accepted"));
            assert!(
                err.ends_with(&format!(
                    "x.db{suffix}: it is a FIFO (named pipe), not a regular file"
                )),
                "{err}"
            );
        }
        std::fs::remove_file(&side).unwrap();
    }
    assert!(
        Store::open_existing(&db).is_ok(),
        "the store itself is fine"
    );
}

/// A store named as another database's `-wal`, `-shm` or `-journal` would be emptied by
/// the next open of that database (hp10 B-F7): refused, nothing made.
#[test]
fn a_store_named_as_another_databases_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    drop(Store::open(&db).unwrap());
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = dir.path().join(format!("x.db{suffix}"));
        let err = Store::open(&side).unwrap_err().to_string();
        assert!(
            err.contains(&format!("x.db{suffix}: it is the name of")),
            "{err}"
        );
        assert!(err.contains("x.db beside it"), "{err}");
        assert!(Store::open_existing(&side).is_err());
    }
    let after: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "something was made beside x.db");
    // With no database beside it, the name is only a name.
    let alone = tempfile::tempdir().unwrap();
    assert!(Store::open(alone.path().join("notes-journal")).is_ok());
}

/// A store a writer was killed in the middle of writing keeps a hot `-journal` beside it:
/// a reader cannot roll it back, and the refusal says so (hp10 B-F2), not "readonly".
#[test]
fn a_hot_journal_left_by_a_killed_writer_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let store = Store::open(&db).unwrap();
    let rows: Vec<Row> = (1..=300)
        .map(|id| {
            Row::new(
                "type",
                id,
                None,
                format!(r#"{{"id":{id},"pad":"{}"}}"#, "p".repeat(900)),
            )
        })
        .collect();
    store.put(&rows).unwrap();
    drop(store);
    // A writer mid-transaction, its pages spilled: copied as a crash would leave it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA journal_mode=DELETE; PRAGMA cache_size=1; BEGIN; UPDATE resources SET fetched_at = fetched_at + 1;")
        .unwrap();
    let left = dir.path().join("left.db");
    std::fs::copy(&db, &left).unwrap();
    std::fs::copy(
        dir.path().join("x.db-journal"),
        dir.path().join("left.db-journal"),
    )
    .unwrap();
    drop(conn);
    let err = Store::open_existing(&left).unwrap_err().to_string();
    assert!(
        err.contains("a writer that did not finish left its -journal"),
        "{err}"
    );
    assert!(!err.contains("readonly"), "{err}");
}

fn one_row_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let body = br#"{"id":13}"#.to_vec();
    store
        .put(&[Row::new("type", 13, Some("electric".into()), body)])
        .unwrap();
    store
}

#[test]
fn export_refuses_to_write_through_a_symlinked_folder() {
    for planted in ["data/api/v2", "data/api/v2/type"] {
        let to = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let link = to.path().join(planted);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();
        let err = asyncdex::export::export(&one_row_store(), to.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("symbolic link"), "{planted}: {err}");
        assert!(err.contains(planted), "{planted}: {err}");
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            0,
            "{planted}: nothing written outside"
        );
    }
}

/// A server whose root names `type` (plus `extra_root` keys), whose `type` list is
/// `list`, and whose `type/N/` answers that type.
fn typed_api(list: &'static str, extra_root: &'static str) -> String {
    let addr = serve(50, move |req: &Request, s| {
        let host = req.header("host").unwrap_or("").to_owned();
        let path = req.path().to_owned();
        let body = if path == "/api/v2/" {
            format!(r#"{{"type":"http://{host}/api/v2/type/"{extra_root}}}"#)
        } else if path.starts_with("/api/v2/type/?") {
            list.replace("HOST", &host)
        } else if let Some(id) = path.strip_prefix("/api/v2/type/") {
            let id = id.trim_end_matches('/');
            format!(r#"{{"id":{id},"name":"t{id}"}}"#)
        } else if path == "/api/v2/meta/" {
            r#"{"deploy_date":"x"}"#.to_owned()
        } else {
            return respond(s, "404 Not Found", "", "");
        };
        respond(s, "200 OK", JSON, &body);
    });
    format!("{addr}/api/v2")
}

#[tokio::test]
async fn entries_without_a_url_are_counted_and_the_rest_fetched() {
    let base = typed_api(
        r#"{"count":4,"next":null,"results":[{"url":null},{"url":"http://HOST/api/v2/type/1/"},{"name":"x"},{"url":7}]}"#,
        "",
    );
    let m = run(&base, Some(vec!["type".into()]), false, 100).await;
    let r = &m.resources[0];
    assert_eq!(r.list_error, None, "{r:?}");
    assert_eq!((r.expected, r.stored, r.fetched), (4, 1, 1), "{r:?}");
    assert!(
        r.failures
            .iter()
            .any(|f| f.starts_with("3 listed entries have no url")),
        "{r:?}"
    );
    assert!(!m.complete());
}

#[tokio::test]
async fn a_root_name_that_is_no_endpoint_is_reported_not_dropped() {
    let base = typed_api(
        r#"{"count":1,"next":null,"results":[{"url":"http://HOST/api/v2/type/1/"}]}"#,
        r#","Bad Name":"http://x/","évolution":"http://x/""#,
    );
    let m = run(&base, None, false, 100).await;
    let shown: Vec<(&str, Option<&str>)> = m
        .resources
        .iter()
        .map(|r| (r.endpoint.as_str(), r.list_error.as_deref()))
        .collect();
    for bad in ["\"Bad Name\"", "\"évolution\""] {
        let (_, why) = shown.iter().find(|(e, _)| *e == bad).expect("reported");
        assert!(why.unwrap().contains("not an endpoint name"), "{shown:?}");
    }
    let t = m.resources.iter().find(|r| r.endpoint == "type").unwrap();
    assert_eq!((t.stored, t.list_error.as_deref()), (1, None));
    assert!(!m.complete(), "the clone lacks what the root named");
}

#[tokio::test]
async fn a_root_name_past_the_length_bound_is_reported_and_the_rest_crawled() {
    // Lowercase letters only, so only its length makes it no endpoint name: stored, it
    // would be a folder no file system can make, and every export of the store would fail.
    let extra: &'static str =
        Box::leak(format!(r#","{}":"http://x/""#, "e".repeat(300)).into_boxed_str());
    let base = typed_api(
        r#"{"count":1,"next":null,"results":[{"url":"http://HOST/api/v2/type/1/"}]}"#,
        extra,
    );
    let m = run(&base, None, false, 100).await;
    let long = m
        .resources
        .iter()
        .find(|r| r.endpoint.starts_with("\"eee"))
        .expect("reported");
    assert!(long.endpoint.len() < 80, "cut: {}", long.endpoint);
    let why = long.list_error.as_deref().unwrap();
    assert!(
        why.contains("not an endpoint name") && why.contains("at most 64"),
        "{why}"
    );
    assert_eq!(long.stored, 0);
    let t = m.resources.iter().find(|r| r.endpoint == "type").unwrap();
    assert_eq!((t.stored, t.list_error.as_deref()), (1, None));
    assert!(!m.complete());
}

#[tokio::test]
async fn a_claimed_count_is_a_claim_not_expected_and_one_above_the_named_is_incomplete() {
    let base = typed_api(
        r#"{"count":1000000000000,"next":null,"results":[{"url":"http://HOST/api/v2/type/1/"},{"url":"http://HOST/api/v2/type/2/"}]}"#,
        "",
    );
    let m = run(&base, Some(vec!["type".into()]), false, 100).await;
    let r = &m.resources[0];
    assert_eq!((r.expected, r.stored), (2, 2), "{r:?}");
    assert_eq!(r.claimed, Some(1_000_000_000_000));
    assert_eq!(m.totals(), (2, 2));
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["claimed"], 1_000_000_000_000u64);
    // A list that counts more than it names was cut short, or lies: either way what it
    // counts is not all stored, and the crawl is not complete (hp12 A-F3).
    assert!(!m.complete(), "{r:?}");
    assert!(
        r.failures[0].contains("counts 1000000000000 entries but names 2"),
        "{r:?}"
    );
    // One that counts fewer than it names: every named one is stored, complete.
    let base = typed_api(
        r#"{"count":1,"next":null,"results":[{"url":"http://HOST/api/v2/type/1/"},{"url":"http://HOST/api/v2/type/2/"}]}"#,
        "",
    );
    let m = run(&base, Some(vec!["type".into()]), false, 100).await;
    assert_eq!(m.resources[0].claimed, Some(1));
    assert!(m.complete(), "{:?}", m.resources[0]);
}

#[tokio::test]
async fn a_draw_refuses_a_list_of_more_than_a_million_ids() {
    use asyncdex::draw::{listed, MAX_RANGE};
    let n = MAX_RANGE as usize + 1;
    let mut list = String::from(r#"{"count":0,"next":null,"results":["#);
    for id in 1..=n {
        list.push_str(&format!(r#"{{"url":"/pokemon/{id}/"}},"#));
    }
    list.pop();
    list.push_str("]}");
    let list: &'static str = Box::leak(list.into_boxed_str());
    let addr = serve(1, move |_, s| respond(s, "200 OK", JSON, list));
    let transport = Native::new(&HttpOptions::default()).unwrap();
    let err = listed(&transport, &format!("{addr}/api/v2"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("names more than 1000000 Pokémon"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

/// A server whose root names `pokemon` and `ability`; the pokemon list's first page is
/// `first` (`HOST` replaced), `ability/?offset=3…` and `pokemon/1/encounters?offset=3`
/// answer list pages of ids 4–6, and each `pokemon/N/` or `ability/N/` answers itself.
/// The paths asked are kept in the returned log.
fn two_endpoint_api(first: String) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    let addr = serve(50, move |req: &Request, s| {
        let host = host(req);
        let path = req.path().to_owned();
        log.lock().unwrap().push(path.clone());
        let page = |ep: &str| {
            let results: Vec<String> = (4..=6)
                .map(|i| format!(r#"{{"name":"{ep}{i}","url":"http://{host}/api/v2/{ep}/{i}/"}}"#))
                .collect();
            format!(
                r#"{{"count":6,"next":null,"results":[{}]}}"#,
                results.join(",")
            )
        };
        let body = if path == "/api/v2/" {
            format!(
                r#"{{"pokemon":"http://{host}/api/v2/pokemon/","ability":"http://{host}/api/v2/ability/"}}"#
            )
        } else if path.starts_with("/api/v2/pokemon/?") {
            first.replace("HOST", &host)
        } else if path.starts_with("/api/v2/ability/?") {
            page("ability")
        } else if path.starts_with("/api/v2/pokemon/1/encounters") {
            page("pokemon")
        } else if let Some((ep, id)) = path
            .strip_prefix("/api/v2/")
            .and_then(|p| p.trim_end_matches('/').split_once('/'))
        {
            format!(r#"{{"id":{id},"name":"{}{id}"}}"#, &ep[..1])
        } else {
            return respond(s, "404 Not Found", "", "");
        };
        respond(s, "200 OK", JSON, &body);
    });
    (format!("{addr}/api/v2"), asked)
}

/// A crawl of `resources` at `base` into a store that is kept, to look at what it holds.
async fn run_kept(base: &str, resources: &[&str]) -> (Manifest, AsyncStore) {
    let mut job = Crawl::new(Some(resources.iter().map(|r| r.to_string()).collect()), 4);
    job.policy.retries = 0;
    job.policy.timeout = Some(Duration::from_secs(10));
    let store = AsyncStore::new(Store::open_in_memory().unwrap());
    let transport = Native::new(&HttpOptions::default()).unwrap();
    let mut tick = |_| {};
    let run = crawl(transport, base, &store, &job, &mut tick);
    let m = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the crawl ends")
        .unwrap();
    (m, store)
}

#[tokio::test]
async fn a_next_link_to_another_endpoints_list_or_a_resource_is_not_followed() {
    for next in [
        "http://HOST/api/v2/ability/?offset=3&limit=3",
        "http://HOST/api/v2/pokemon/1/encounters?offset=3",
    ] {
        let first = format!(
            r#"{{"count":6,"next":"{next}","results":[{{"url":"http://HOST/api/v2/pokemon/1/"}},{{"url":"http://HOST/api/v2/pokemon/2/"}},{{"url":"http://HOST/api/v2/pokemon/3/"}}]}}"#
        );
        let (base, asked) = two_endpoint_api(first);
        let (m, store) = run_kept(&base, &["pokemon"]).await;
        let r = &m.resources[0];
        assert_eq!(r.list_error, None, "{r:?}");
        let err = r
            .failures
            .iter()
            .find(|f| f.starts_with("only 3 listed entries were read"))
            .expect("the list's end is missing");
        assert!(err.contains("is not the pokemon list"), "{err}");
        assert!(err.contains(&next[next.find("/api").unwrap()..]), "{err}");
        assert!(!err.contains('\n'), "{err}");
        assert!(!m.complete(), "{next}");
        let asked = asked.lock().unwrap().clone();
        assert!(
            !asked.iter().any(|p| p.contains("offset=3")),
            "{next} was read as a page of the pokemon list: {asked:?}"
        );
        let stored = store.run(|s| s.valid_ids("pokemon")).await.unwrap();
        assert!(
            [4, 5, 6].iter().all(|id| !stored.contains(id)),
            "{stored:?}"
        );
        // Nothing lost: the ids the first page named are stored.
        assert!([1, 2, 3].iter().all(|id| stored.contains(id)), "{stored:?}");
    }
}

#[tokio::test]
async fn entries_under_another_endpoint_have_no_usable_id() {
    let first = r#"{"count":4,"next":null,"results":[{"name":"x7","url":"http://HOST/api/v2/ability/7/"},{"name":"x8","url":"http://HOST/api/v2/ability/8/"},{"name":"x9","url":"http://HOST/api/v2/ability/9/"},{"name":"p1","url":"http://HOST/api/v2/pokemon/1/"}]}"#;
    let (base, asked) = two_endpoint_api(first.to_owned());
    let (m, store) = run_kept(&base, &["pokemon"]).await;
    let r = &m.resources[0];
    assert_eq!(r.list_error, None, "{r:?}");
    assert_eq!((r.expected, r.stored, r.fetched), (4, 1, 1), "{r:?}");
    assert!(
        r.failures
            .iter()
            .any(|f| f.starts_with("3 listed entries have no usable id")
                && f.contains("not one of this endpoint's")),
        "{r:?}"
    );
    assert!(!m.complete());
    let asked = asked.lock().unwrap().clone();
    for id in 7..=9 {
        let wrong = format!("/api/v2/pokemon/{id}/");
        assert!(!asked.contains(&wrong), "{asked:?}");
    }
    let stored = store.run(|s| s.valid_ids("pokemon")).await.unwrap();
    assert_eq!(stored, [1].into_iter().collect(), "{stored:?}");
}

#[tokio::test]
async fn a_draw_takes_no_id_from_an_entry_under_another_endpoint() {
    use asyncdex::draw::listed;
    let list = r#"{"count":3,"next":null,"results":[{"url":"/api/v2/ability/7/"},{"url":"/api/v2/pokemon/2/"},{"url":"/api/v2/ability/9/"}]}"#;
    let addr = serve(1, move |_, s| respond(s, "200 OK", JSON, list));
    let transport = Native::new(&HttpOptions::default()).unwrap();
    let ids = listed(&transport, &format!("{addr}/api/v2")).await.unwrap();
    assert_eq!(ids, vec![2]);
}

/// A list that never ends (each page's `next` one further, naming nothing more) stops at
/// the page cap, and what its first page named is still crawled (hp12 A-F4: "0 of 0
/// stored", the named resource thrown away with the list).
#[tokio::test]
async fn a_list_stopped_by_the_page_cap_keeps_what_its_pages_named() {
    let pages = asyncdex::crawl::MAX_LIST_PAGES;
    let addr = serve(pages + 10, |req, s| {
        let path = req.path();
        let body = match path.split_once("offset=") {
            Some((_, offset)) => {
                let at: usize = offset.split('&').next().unwrap().parse().unwrap();
                let named = if at == 0 {
                    format!(r#"{{"url":"http://{}/api/v2/type/1/"}}"#, host(req))
                } else {
                    String::new()
                };
                format!(
                    r#"{{"count":2,"next":"http://{}/api/v2/type/?limit=1&offset={}","results":[{named}]}}"#,
                    host(req),
                    at + 1
                )
            }
            None => r#"{"id":1,"name":"normal"}"#.to_owned(),
        };
        respond(s, "200 OK", JSON, &body);
    });
    let m = run(
        &format!("{addr}/api/v2"),
        Some(vec!["type".into()]),
        false,
        100,
    )
    .await;
    let r = &m.resources[0];
    assert_eq!((r.expected, r.stored), (1, 1), "{r:?}");
    assert!(
        r.failures[0].contains(&format!("runs past {pages} pages")),
        "{r:?}"
    );
    assert!(!m.complete());
}
