//! The client's disk cache: kept while fresh, shared by id and name, 404s remembered
//! briefly, never kept (answers and 404s) when the server says not to; async and blocking
//! alike.

use crate::common;

use asyncdex::cache::{self, Cache, Cached};
use asyncdex::http::{Blocking, HttpOptions, Native};
use asyncdex::mirror::{BackgroundMirror, Mirror, MirrorConfig};
use asyncdex::pokeapi::{BlockingClient, Client, Key};
use asyncdex::store::Row;
use asyncdex::ErrorKind;
use common::binary::{asyncdex, text};

fn key(s: &str) -> Key {
    s.parse().unwrap()
}

#[tokio::test]
async fn one_entry_answers_by_id_and_by_name_with_links_to_the_api_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let cache = Cache::open(dir.path(), mirror.base_url()).unwrap();
    let client = Client::new(
        mirror.base_url(),
        Cached::new(
            Native::new(&HttpOptions::default()).unwrap(),
            Some(cache.clone()),
        ),
    );
    let live = client.pokemon(25).await.unwrap();
    let cached = client.pokemon(key("Pikachu")).await.unwrap();
    assert_eq!(
        cached, live,
        "the cached model equals the live one, links included"
    );
    assert!(cached.species.url.starts_with(mirror.base_url()));
    assert_eq!(client.name(25).await.unwrap(), "pikachu");
    assert_eq!(mirror.stats().requests, 1);
    assert_eq!((cache.counts().hits, cache.counts().misses), (2, 1));
    // A 404 is remembered too.
    for _ in 0..2 {
        let err = client.pokemon(99_999).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
    assert_eq!(mirror.stats().requests, 2);
    // A list page is kept by its query: the same page again is answered from disk, with
    // its links pointing at the API asked; another page goes to the server.
    let first = client
        .page(asyncdex::pokeapi::Resource::Type, 5, 0)
        .await
        .unwrap();
    let again = client
        .page(asyncdex::pokeapi::Resource::Type, 5, 0)
        .await
        .unwrap();
    assert_eq!(again, first);
    assert!(again
        .next
        .as_deref()
        .unwrap()
        .starts_with(mirror.base_url()));
    assert_eq!(mirror.stats().requests, 3);
    client
        .page(asyncdex::pokeapi::Resource::Type, 5, 5)
        .await
        .unwrap();
    assert_eq!(mirror.stats().requests, 4);
    mirror.stop().await;
}

#[tokio::test]
async fn an_expired_entry_goes_back_to_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let cache = Cache::open(dir.path(), mirror.base_url()).unwrap();
    let mut stale = Row::new(
        "pokemon",
        25,
        Some("pikachu".into()),
        br#"{"id":25,"name":"stale"}"#.to_vec(),
    );
    stale.expires_at = Some(asyncdex::store::now_ms() - 1);
    cache.store().unwrap().put(&[stale]).unwrap();
    let client = Client::new(
        mirror.base_url(),
        Cached::new(Native::new(&HttpOptions::default()).unwrap(), Some(cache)),
    );
    assert_eq!(client.name(25).await.unwrap(), "pikachu");
    assert_eq!(mirror.stats().requests, 1);
    // ...and the fresh answer replaced the stale one.
    assert_eq!(client.name(25).await.unwrap(), "pikachu");
    assert_eq!(mirror.stats().requests, 1);
    mirror.stop().await;
}

/// An async client with a cache in `dir`, of a server that answers `response` twice.
fn answering_twice(
    response: &'static str,
    dir: &std::path::Path,
) -> (Client<Cached<Native>>, Cache) {
    let base = common::fixed_server(response, std::time::Duration::ZERO, 2);
    let cache = Cache::open(dir, &base).unwrap();
    let transport = Cached::new(
        Native::new(&HttpOptions::default()).unwrap(),
        Some(cache.clone()),
    );
    (Client::new(&base, transport), cache)
}

#[tokio::test]
async fn an_answer_the_server_says_not_to_keep_is_not_kept() {
    const NO_STORE: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store, max-age=600\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{\"id\":1,\"name\":\"tmp\"}\n";
    const NO_MAX_AGE: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{\"id\":1,\"name\":\"tmp\"}\n";
    for response in [NO_STORE, NO_MAX_AGE] {
        let dir = tempfile::tempdir().unwrap();
        let (client, cache) = answering_twice(response, dir.path());
        for _ in 0..2 {
            assert_eq!(client.name(1).await.unwrap(), "tmp");
        }
        assert_eq!(cache.counts().hits, 0);
        let stats = cache::stats(dir.path()).unwrap();
        assert!(stats.files[0].endpoints.is_empty(), "{stats:?}");
    }
}

#[tokio::test]
async fn a_404_the_server_says_not_to_keep_is_asked_again() {
    const NOT_FOUND: &str = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n";
    const REST: &str = "Content-Length: 23\r\nConnection: close\r\n\r\n{\"detail\":\"Not found.\"}";
    let cases: [(&str, u64); 4] = [
        ("Cache-Control: no-store\r\n", 0),
        ("Cache-Control: no-cache\r\n", 0),
        ("Cache-Control: public, max-age=0\r\n", 0),
        // Says nothing: remembered for a while, the second call answered from disk.
        ("", 1),
    ];
    for (cache_control, hits) in cases {
        let response: &'static str = format!("{NOT_FOUND}{cache_control}{REST}").leak();
        let dir = tempfile::tempdir().unwrap();
        let (client, cache) = answering_twice(response, dir.path());
        for _ in 0..2 {
            let err = client.pokemon(3).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{cache_control:?}: {err}");
        }
        assert_eq!(cache.counts().hits, hits, "{cache_control:?}");
    }
}

#[test]
fn the_blocking_client_shares_the_same_cache() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = BackgroundMirror::start(MirrorConfig::default()).unwrap();
    let cache = Cache::open(dir.path(), mirror.base_url()).unwrap();
    let client = BlockingClient::new(
        mirror.base_url(),
        Cached::new(Blocking::new(&HttpOptions::default()), Some(cache.clone())),
    );
    assert_eq!(client.pokemon(key("bulbasaur")).unwrap().id, 1);
    assert_eq!(client.pokemon(1).unwrap().name, "bulbasaur");
    assert_eq!(mirror.stats().requests, 1);
    assert_eq!(cache.counts().hits, 1);
}

#[test]
fn a_second_names_run_answers_from_the_cache_without_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().to_str().unwrap();
    let mirror = BackgroundMirror::start(MirrorConfig::default()).unwrap();
    let args = [
        "names",
        "20",
        "--seed",
        "1",
        "--json",
        "--mode",
        "async",
        "--cache",
        cache_dir,
        "--api",
        mirror.base_url(),
    ];
    let first = asyncdex(&args);
    assert_eq!(first.status.code(), Some(0));
    let after_first = mirror.stats().requests;
    assert!(after_first > 0);
    let second = asyncdex(&args);
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(
        mirror.stats().requests,
        after_first,
        "the second run went to the network"
    );
    let names = |out: &std::process::Output| {
        let line: serde_json::Value =
            serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
        line["names"].clone()
    };
    assert_eq!(names(&first), names(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("from disk"), "{stderr}");

    // Without --cache, a loopback API is not cached: the network again.
    let uncached = asyncdex(
        &args[..7]
            .iter()
            .chain(&["--api", mirror.base_url()])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert_eq!(uncached.status.code(), Some(0));
    assert!(mirror.stats().requests > after_first);

    let stats = asyncdex(&["cache", "stats", "--dir", cache_dir]);
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(
        text.contains("pokemon") && text.contains("resources"),
        "{text}"
    );
    let cleared = asyncdex(&["cache", "clear", "--dir", cache_dir]);
    assert_eq!(cleared.status.code(), Some(0));
    let text = String::from_utf8_lossy(&asyncdex(&["cache", "stats", "--dir", cache_dir]).stdout)
        .into_owned();
    assert!(text.contains("holds nothing"), "{text}");
}

#[test]
fn cache_clear_leaves_files_that_are_not_the_caches() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.db");
    std::fs::write(&notes, "my notes").unwrap();
    let out = asyncdex(&["cache", "--dir", dir.path().to_str().unwrap(), "clear"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("removed 0 files"), "{stdout}");
    assert!(stdout.contains("left 1 file"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");
}

#[test]
fn a_cache_file_set_aside_is_said_and_its_calls_counted_as_the_networks() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = BackgroundMirror::start(MirrorConfig::default()).unwrap();
    std::fs::write(Cache::file_for(dir.path(), mirror.base_url()), [0xAB; 4096]).unwrap();
    let out = asyncdex(&[
        "get",
        "1",
        "2",
        "--cache",
        dir.path().to_str().unwrap(),
        "--api",
        mirror.base_url(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("cache: ")).unwrap();
    assert!(line.contains("2 from the network"), "{line}");
    assert!(line.contains("set aside"), "{line}");
    assert_eq!(mirror.stats().requests, 2);
    // `cache stats` shows the garbage file (set aside) as skipped, and does not fail.
    let stats = asyncdex(&["cache", "stats", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(stats.status.code(), Some(0), "{}", text(&stats.stderr));
    assert!(text(&stats.stdout).contains("skipped, set aside by a run"));
}

#[test]
fn a_cached_body_changed_on_disk_is_dropped_and_fetched_again() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = BackgroundMirror::start(MirrorConfig::default()).unwrap();
    let args = [
        "get",
        "pokemon/1",
        "--cache",
        dir.path().to_str().unwrap(),
        "--api",
        mirror.base_url(),
    ];
    let first = asyncdex(&args);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(mirror.stats().requests, 1);
    // One bit of the kept body flipped behind the cache's back.
    let db = rusqlite::Connection::open(Cache::file_for(dir.path(), mirror.base_url())).unwrap();
    let mut body: Vec<u8> = db
        .query_row("SELECT body FROM resources WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    body[10] ^= 1;
    db.execute("UPDATE resources SET body = ?1 WHERE id = 1", [&body])
        .unwrap();
    drop(db);
    let second = asyncdex(&args);
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert_eq!(
        mirror.stats().requests,
        2,
        "the damaged entry was fetched again"
    );
    assert_eq!(text(&second.stdout), text(&first.stdout));
    let line = stderr.lines().find(|l| l.starts_with("cache: ")).unwrap();
    assert!(
        line.contains("0 answered from disk, 1 from the network"),
        "{line}"
    );
    assert!(line.contains("1 damaged entry dropped"), "{line}");
    // ...and kept again, intact: the third run is answered from disk.
    let third = asyncdex(&args);
    assert_eq!(third.status.code(), Some(0), "{}", text(&third.stderr));
    assert_eq!(mirror.stats().requests, 2);
    assert_eq!(text(&third.stdout), text(&first.stdout));
}
