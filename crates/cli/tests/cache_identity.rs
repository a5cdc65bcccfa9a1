//! The disk cache knows what it is and what it holds: one file per API root (roots that
//! read alike included), never a crawl store nor a link, never taken for a store, bounded
//! in bytes and in freshness, garbage set aside once, a removal during a run said.

use crate::common;

use std::path::Path;

use asyncdex::cache::{self, Cache, Cached, Standing};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{BackgroundMirror, MirrorConfig};
use asyncdex::pokeapi::Client;
use asyncdex::store::{Row, Store};
use common::binary::{asyncdex, text};

/// A server answering `{"id":N,"name":WHO,"pad":…}` for `…/pokemon/N/`, where WHO is
/// `impostor` under `/x-api/` and `genuine` elsewhere, kept for `max_age` seconds.
fn server(max: usize, pad: usize, max_age: &'static str) -> String {
    common::serve(max, move |req, stream| {
        let path = req.path();
        let id: u32 = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let who = if path.contains("/x-api/") {
            "impostor"
        } else {
            "genuine"
        };
        let body = format!(
            r#"{{"id":{id},"name":"{who}","pad":"{}"}}"#,
            "x".repeat(pad)
        );
        let headers = format!(
            "Content-Type: application/json\r\nCache-Control: public, max-age={max_age}\r\n"
        );
        common::respond(stream, "200 OK", &headers, &body);
    })
}

fn client(base: &str, cache: &Cache) -> Client<Cached<Native>> {
    let http = Native::new(&HttpOptions::default()).unwrap();
    Client::new(base, Cached::new(http, Some(cache.clone())))
}

#[tokio::test]
async fn roots_that_read_alike_get_files_of_their_own_and_a_copied_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let host = server(8, 0, "600");
    let (bad, good) = (format!("{host}/x-api/v2"), format!("{host}/x/api/v2"));
    let impostor = Cache::open(dir.path(), &bad).unwrap();
    assert_eq!(client(&bad, &impostor).name(1).await.unwrap(), "impostor");
    let genuine = Cache::open(dir.path(), &good).unwrap();
    assert_ne!(impostor.path(), genuine.path());
    assert_eq!(client(&good, &genuine).name(1).await.unwrap(), "genuine");
    assert_eq!(
        genuine.counts().hits,
        0,
        "answered from the other root's file"
    );
    // http and https are two roots.
    assert_ne!(
        Cache::file_for(dir.path(), &good),
        Cache::file_for(dir.path(), &good.replace("http://", "https://"))
    );
    // The impostor's file copied under the genuine root's name: not this root's cache.
    let (bad_file, good_file) = (
        impostor.path().unwrap().to_owned(),
        genuine.path().unwrap().to_owned(),
    );
    drop((impostor, genuine)); // closed: each file whole, its log folded in
    std::fs::copy(&bad_file, &good_file).unwrap();
    let copied = Cache::open(dir.path(), &good).unwrap();
    assert!(copied.is_disabled());
    assert_eq!(client(&good, &copied).name(1).await.unwrap(), "genuine");
    assert_eq!(copied.standing(), Standing::NotUsed);
}

#[test]
fn a_long_root_gets_a_file_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let root = format!("http://127.0.0.1:1/{}/api/v2", "a".repeat(300));
    let cache = Cache::open(dir.path(), &root).unwrap();
    assert!(!cache.is_disabled());
    assert!(cache.path().unwrap().exists(), "{:?}", cache.path());
    assert!(!Cache::file_for(dir.path(), "http://ash:secret@h/api/v2")
        .to_string_lossy()
        .contains("secret"));
}

/// A crawl store with one type in it, at `path`.
fn crawl_store(path: &Path) {
    let store = Store::open(path).unwrap();
    let body = br#"{"id":13,"name":"electric"}"#.to_vec();
    store
        .put(&[Row::new("type", 13, Some("electric".into()), body)])
        .unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_linked_cache_file_is_not_followed_and_a_store_is_not_a_cache() {
    let (dir, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let base = format!("{}/api/v2", server(8, 0, "600"));
    let victim = elsewhere.path().join("victim.db");
    crawl_store(&victim);
    let before = std::fs::read(&victim).unwrap();
    let file = Cache::file_for(dir.path(), &base);
    std::os::unix::fs::symlink(&victim, &file).unwrap();
    let linked = Cache::open(dir.path(), &base).unwrap();
    assert!(linked.is_disabled(), "the link was followed");
    assert_eq!(client(&base, &linked).name(1).await.unwrap(), "genuine");
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        before,
        "written through the link"
    );
    // The same store at the cache's name, no link: not a cache either, and left alone.
    std::fs::remove_file(&file).unwrap();
    std::fs::copy(&victim, &file).unwrap();
    let store_there = Cache::open(dir.path(), &base).unwrap();
    assert!(store_there.is_disabled());
    assert_eq!(
        client(&base, &store_there).name(2).await.unwrap(),
        "genuine"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert!(!dir
        .path()
        .join(format!("{}.aside", file.display()))
        .exists());
}

#[test]
fn a_cache_file_is_not_a_store_for_crawl_serve_or_export() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = BackgroundMirror::start(MirrorConfig::default()).unwrap();
    let cache = Cache::open(dir.path(), mirror.base_url()).unwrap();
    let file = cache.path().unwrap().to_owned();
    drop(cache);
    for err in [
        Store::open(&file).unwrap_err(),
        Store::open_existing(&file).unwrap_err(),
    ] {
        assert!(err.to_string().contains("disk cache, not a store"), "{err}");
    }
    let before = std::fs::read(&file).unwrap();
    let path = file.to_str().unwrap();
    let api = mirror.base_url();
    for args in [
        &["crawl", "--out", path, "--resources", "type", "--api", api][..],
        &["serve", "--from", path, "--bind", "127.0.0.1:0"][..],
        &["export", "--from", path, "--to", "never-made"][..],
    ] {
        let out = asyncdex(args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("disk cache, not a store"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the cache file changed"
    );
    assert_eq!(mirror.stats().requests, 0);
}

#[tokio::test]
async fn the_budget_evicts_the_oldest_and_max_age_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    // A thousand years of max-age, 20 KB bodies.
    let base = format!("{}/api/v2", server(64, 20_000, "31536000000"));
    let cache = Cache::open(dir.path(), &base).unwrap();
    let budget = 256 * 1024;
    cache.set_budget(budget);
    let client = client(&base, &cache);
    for id in 1..=40 {
        assert_eq!(client.name(id).await.unwrap(), "genuine");
    }
    let folder = cache::stats(dir.path()).unwrap();
    let held: u64 = folder.files[0].endpoints.iter().map(|e| e.bytes).sum();
    assert!(held <= budget, "{held} bytes kept over a {budget} budget");
    let store = Store::open_untouched(cache.path().unwrap()).unwrap();
    assert!(
        store.get("pokemon", "1").unwrap().is_none(),
        "the oldest was not evicted"
    );
    let newest = store
        .get("pokemon", "40")
        .unwrap()
        .expect("the newest kept");
    let week = asyncdex::cache::MAX_AGE_CAP.as_millis() as i64;
    assert!(newest.expires_at.unwrap() <= asyncdex::store::now_ms() + week);
    assert!(newest.expires_at.unwrap() > asyncdex::store::now_ms() + week - 600_000);
    assert_eq!(cache.standing(), Standing::Used);
}

#[test]
fn a_garbage_file_is_set_aside_once_and_clear_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mirror = BackgroundMirror::start(MirrorConfig::default()).unwrap();
    let file = Cache::file_for(dir.path(), mirror.base_url());
    std::fs::write(&file, [0xAB; 4096]).unwrap();
    let run = || {
        let out = asyncdex(&["get", "1", "2", "--cache", d, "--api", mirror.base_url()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        let line = stderr.lines().find(|l| l.starts_with("cache: ")).unwrap();
        line.to_owned()
    };
    let first = run();
    assert!(first.contains("2 from the network"), "{first}");
    assert!(
        first.contains("set aside as") && first.contains(".aside"),
        "{first}"
    );
    let aside = format!("{}.aside", file.display());
    assert_eq!(std::fs::read(&aside).unwrap(), [0xAB; 4096], "kept, aside");
    let second = run();
    assert!(second.contains("2 answered from disk"), "{second}");
    assert!(!second.contains("set aside"), "set aside again: {second}");
    let stats = text(&asyncdex(&["cache", "stats", "--dir", d]).stdout);
    assert!(stats.contains("skipped, set aside by a run"), "{stats}");
    let cleared = asyncdex(&["cache", "clear", "--dir", d]);
    assert_eq!(cleared.status.code(), Some(0));
    assert!(!Path::new(&aside).exists(), "clear left the set-aside file");
    assert!(!file.exists());
    assert!(
        !text(&cleared.stdout).contains("left"),
        "{}",
        text(&cleared.stdout)
    );
}

#[tokio::test]
async fn a_cache_file_removed_during_a_run_is_noticed_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{}/api/v2", server(8, 0, "600"));
    let cache = Cache::open(dir.path(), &base).unwrap();
    let client = client(&base, &cache);
    assert_eq!(client.name(1).await.unwrap(), "genuine");
    assert_eq!(cache.standing(), Standing::Used);
    let cleared = cache::clear_dir(dir.path()).unwrap();
    assert!(cleared.files >= 1, "{cleared:?}");
    assert_eq!(cache.standing(), Standing::Removed, "seen before any write");
    assert_eq!(client.name(2).await.unwrap(), "genuine");
    assert_eq!(cache.standing(), Standing::Removed);
    assert!(cache.is_disabled(), "still writing into the removed file");
    assert!(!cache.path().unwrap().exists(), "a file appeared again");
}

#[cfg(unix)]
#[test]
fn a_run_never_writes_into_a_store_linked_as_its_cache() {
    let (dir, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let victim = elsewhere.path().join("victim.db");
    crawl_store(&victim);
    let before = std::fs::read(&victim).unwrap();
    let link = Cache::file_for(dir.path(), "embedded");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = asyncdex(&[
        "names",
        "3",
        "--mode",
        "async",
        "--latency",
        "0",
        "--cache",
        d,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("cache: ")).unwrap();
    assert!(line.contains("could not be used"), "{line}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        before,
        "written through the link"
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}
