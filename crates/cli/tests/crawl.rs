//! The crawler into the store: every resource of every list, provably (the manifest says
//! what was expected, stored, skipped and failed), failures fetched again on a rerun,
//! links followed within the chosen resources, damaged rows never counted as stored.

use crate::common;

use std::path::Path;

use asyncdex::crawl::Crawl;
use asyncdex::export::export;
use asyncdex::mirror::{Data, Mirror, MirrorConfig};
use asyncdex::store::Store;
use common::crawl::{crawl_into, crawl_job};

#[tokio::test]
async fn a_crawl_stores_every_resource_of_every_list_and_says_so() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let store = Store::open_in_memory().unwrap();
    let manifest = crawl_into(mirror.base_url(), &store, None).await;
    assert!(manifest.complete(), "{manifest:?}");
    // Every list the root names, in its order; the Pokémon's encounters after them; the
    // deploy stamp last: the whole API.
    let mut expected = Vec::new();
    for list in asyncdex_pack::Pack::embedded().lists() {
        expected.push((list.name(), list.len()));
        if list.name() == "pokemon" {
            expected.push(("pokemon-encounters", list.len()));
        }
    }
    expected.push(("meta", 1));
    assert_eq!(
        expected.iter().map(|(_, n)| n).sum::<usize>(),
        14_112 + 1_351 + 1
    );
    let got: Vec<(&str, usize)> = manifest
        .resources
        .iter()
        .map(|r| (r.endpoint.as_str(), r.stored as usize))
        .collect();
    assert_eq!(got, expected);
    for stats in store.stats().unwrap() {
        assert_eq!(Some(stats.rows), stats.listed, "{stats:?}");
    }
    // Links are stored relative: no trace of the mirror's address.
    let pikachu = store.get("pokemon", "pikachu").unwrap().unwrap();
    let text = String::from_utf8(pikachu.body.to_vec()).unwrap();
    assert!(
        text.contains(r#""url":"/api/v2/pokemon-species/25/""#),
        "{text}"
    );
    assert!(!text.contains("127.0.0.1"));
    // A second crawl skips everything and fetches nothing.
    let before = mirror.stats().requests;
    let again = crawl_into(mirror.base_url(), &store, None).await;
    assert!(again.complete());
    assert_eq!(again.resources.iter().map(|r| r.fetched).sum::<u64>(), 0);
    assert_eq!(
        mirror.stats().requests - before,
        50,
        "the root and the 49 lists, each once (the encounters reuse the Pokémon list)"
    );
    mirror.stop().await;
}

#[tokio::test]
async fn failures_are_reported_and_a_rerun_fetches_only_them() {
    let faults = asyncdex::mirror::Faults {
        fail: 0.3,
        seed: 5,
        ..Default::default()
    };
    let faulty = Mirror::start(MirrorConfig {
        faults,
        ..MirrorConfig::default()
    })
    .await
    .unwrap();
    let store = Store::open_in_memory().unwrap();
    let mut job = Crawl::new(Some(vec!["pokemon-species".into()]), 16);
    job.policy.retries = 0;
    let manifest = loop {
        // The list itself may be one of the failures: ask until it is read.
        let m = crawl_job(faulty.base_url(), &store, &job).await;
        if m.resources[0].list_error.is_none() {
            break m;
        }
    };
    let report = &manifest.resources[0];
    assert!(!manifest.complete());
    assert!(report.failed > 0 && report.stored > 0, "{report:?}");
    assert_eq!(report.stored + report.failed, report.expected);
    assert!(report.failures[0].contains("HTTP 50"), "{report:?}");
    let stored_before = store.entries("pokemon-species").unwrap().len() as u64;
    assert_eq!(stored_before, report.stored);
    faulty.stop().await;

    let healthy = Mirror::start(MirrorConfig::default()).await.unwrap();
    let resumed = crawl_into(healthy.base_url(), &store, Some(&["pokemon-species"])).await;
    let r = &resumed.resources[0];
    assert!(resumed.complete(), "{resumed:?}");
    assert_eq!((r.skipped, r.fetched), (stored_before, report.failed));
    let rows = store.stats().unwrap();
    assert_eq!((rows[0].rows, rows[0].failed), (r.expected, 0));
    healthy.stop().await;
}

/// Real PokeAPI static data (the fixtures, when `ASYNCDEX_FIXTURES` points at them, as CI
/// does), laid out as PokeAPI's api-data, served and crawled: the bodies come back byte
/// for byte and the list's count is checked against what is stored.
#[tokio::test]
async fn real_pokeapi_static_data_is_served_and_crawled_back_byte_for_byte() {
    let Ok(fixtures) = std::env::var("ASYNCDEX_FIXTURES") else {
        eprintln!("ASYNCDEX_FIXTURES is not set: skipping the real static data");
        return;
    };
    let fixtures = Path::new(&fixtures);
    let dir = tempfile::tempdir().unwrap();
    let api = dir.path().join("data/api/v2");
    let pikachu = std::fs::read(fixtures.join("pokemon-25.json")).unwrap();
    std::fs::create_dir_all(api.join("pokemon/25")).unwrap();
    std::fs::write(api.join("pokemon/25/index.json"), &pikachu).unwrap();
    // The real full list: 1351 entries, of which this folder holds one body.
    std::fs::copy(
        fixtures.join("pokemon-list.json"),
        api.join("pokemon/index.json"),
    )
    .unwrap();
    let mirror = Mirror::start_from(Data::dir(dir.path()).unwrap(), MirrorConfig::default())
        .await
        .unwrap();
    let resp = reqwest::get(format!("{}/pokemon/pikachu/", mirror.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let served = resp.bytes().await.unwrap();
    assert_eq!(
        &asyncdex::store::relativize(&served, mirror.base_url())[..],
        &pikachu[..]
    );
    let store = Store::open_in_memory().unwrap();
    let mut job = Crawl::new(Some(vec!["pokemon".into()]), 32);
    job.policy.retries = 0;
    let manifest = crawl_job(mirror.base_url(), &store, &job).await;
    mirror.stop().await;
    let r = &manifest.resources[0];
    assert_eq!((r.expected, r.stored, r.failed), (1351, 1, 1350));
    assert!(!manifest.complete());
    assert!(r.failures[0].contains("not found"), "{r:?}");
    assert_eq!(
        &store.get("pokemon", "25").unwrap().unwrap().body[..],
        &pikachu[..]
    );
}

/// `--follow`: resources that bodies link to are fetched even when no list names them, but
/// only within the chosen resources.
#[tokio::test]
async fn follow_fetches_what_bodies_link_to_within_the_chosen_resources() {
    let dir = tempfile::tempdir().unwrap();
    let api = dir.path().join("data/api/v2");
    let write = |path: &str, body: &str| {
        let file = api.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    };
    // The list names only 1; 1 links to 2, 2 links to 3 and to a type; 4 is linked by nobody.
    write(
        "pokemon/index.json",
        r#"{"count":1,"next":null,"previous":null,"results":[{"name":"a","url":"/api/v2/pokemon/1/"}]}"#,
    );
    write(
        "pokemon/1/index.json",
        r#"{"id":1,"name":"a","next":{"url":"/api/v2/pokemon/2/"}}"#,
    );
    write(
        "pokemon/2/index.json",
        r#"{"id":2,"name":"b","next":{"url":"/api/v2/pokemon/3/"},"type":{"url":"/api/v2/type/9/"}}"#,
    );
    write("pokemon/3/index.json", r#"{"id":3,"name":"c"}"#);
    write("pokemon/4/index.json", r#"{"id":4,"name":"d"}"#);
    let mirror = Mirror::start_from(Data::dir(dir.path()).unwrap(), MirrorConfig::default())
        .await
        .unwrap();
    for follow in [false, true] {
        let store = Store::open_in_memory().unwrap();
        let mut job = Crawl::new(Some(vec!["pokemon".into()]), 4);
        job.follow = follow;
        let manifest = crawl_job(mirror.base_url(), &store, &job).await;
        let ids: Vec<i32> = store
            .entries("pokemon")
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let r = &manifest.resources[0];
        if follow {
            assert_eq!(
                ids,
                [1, 2, 3],
                "type 9 is not a chosen resource; 4 is unlinked"
            );
            assert_eq!((r.expected, r.stored), (3, 3));
        } else {
            assert_eq!(ids, [1]);
            assert_eq!((r.expected, r.stored), (1, 1));
        }
        assert!(manifest.complete());
    }
    mirror.stop().await;
}

/// A row damaged behind the store's back is fetched again, and while that fails it is
/// reported missing, never counted as stored.
#[tokio::test]
async fn a_damaged_row_is_fetched_again_and_missing_until_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("types.db");
    let store = Store::open(&db).unwrap();
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    assert!(crawl_into(mirror.base_url(), &store, Some(&["type"]))
        .await
        .complete());
    mirror.stop().await;
    // A copy of the API that has lost type 1, and a store whose type 1 is damaged.
    let site = dir.path().join("site");
    export(&store, &site).unwrap();
    std::fs::remove_file(site.join("data/api/v2/type/1/index.json")).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE resources SET body = x'00' WHERE id = 1", [])
        .unwrap();
    let served = Mirror::start_from(Data::dir(&site).unwrap(), MirrorConfig::default())
        .await
        .unwrap();
    let manifest = crawl_into(served.base_url(), &store, Some(&["type"])).await;
    served.stop().await;
    let r = &manifest.resources[0];
    assert_eq!(
        (r.expected, r.skipped, r.stored, r.failed),
        (21, 20, 20, 1),
        "{r:?}"
    );
    assert!(r.failures[0].starts_with("1: not found"), "{r:?}");
    assert!(!manifest.complete());
}

#[test]
fn a_crawl_takes_a_seed_for_its_faults_and_says_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.db");
    let args = [
        "crawl",
        "--resources",
        "type",
        "--latency",
        "0",
        "--fail-rate",
        "0.2",
        "--retries",
        "0",
        "--json",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ];
    let run = || {
        std::fs::remove_file(&out).ok();
        let got = common::binary::asyncdex(&args);
        let stderr = common::binary::text(&got.stderr);
        assert!(stderr.contains("(seed 7)"), "{stderr}");
        let manifest: serde_json::Value =
            serde_json::from_slice(got.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
        manifest["resources"][0]["failed"].clone()
    };
    // The same seed, the same faults: the same calls fail.
    assert_eq!(run(), run());
}
