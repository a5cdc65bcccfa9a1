//! The crawler, the store, serving what was crawled and exporting it: every resource,
//! provably, and byte for byte on the way back.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use asyncdex::crawl::{crawl, Crawl, Manifest};
use asyncdex::export::export;
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{app, Data, Mirror, MirrorConfig, MirrorState};
use asyncdex::store::{sha256_hex, AsyncStore, Store};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Crawls `resources` of the API at `base` into `store`.
async fn crawl_into(base: &str, store: &Store, resources: Option<&[&str]>) -> Manifest {
    let resources = resources.map(|r| r.iter().map(|s| s.to_string()).collect());
    run(base, store, &Crawl::new(resources, 32)).await
}

/// Runs `job` against the API at `base` into `store`.
async fn run(base: &str, store: &Store, job: &Crawl) -> Manifest {
    let transport = Native::new(&HttpOptions::default()).unwrap();
    crawl(
        transport,
        base,
        &AsyncStore::new(store.clone()),
        job,
        &mut |_| {},
    )
    .await
    .unwrap()
}

/// Every (endpoint, id) → body in a store.
fn bodies(store: &Store) -> BTreeMap<(String, u32), Vec<u8>> {
    let mut all = BTreeMap::new();
    for endpoint in store.endpoints().unwrap() {
        store
            .for_each(&endpoint, |row| {
                all.insert((endpoint.clone(), row.id), row.body.to_vec());
                Ok(())
            })
            .unwrap();
    }
    all
}

#[tokio::test]
async fn a_crawl_stores_every_resource_of_every_list_and_says_so() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let store = Store::open_in_memory().unwrap();
    let manifest = crawl_into(mirror.base_url(), &store, None).await;
    assert!(manifest.complete(), "{manifest:?}");
    let dex = asyncdex::pokedex::Pokedex::get();
    let expected = [
        ("pokemon", dex.pokemon.len()),
        ("pokemon-species", dex.species.len()),
        ("type", dex.types.len()),
    ];
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
        4,
        "the root and three lists only"
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
        let m = run(faulty.base_url(), &store, &job).await;
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

#[tokio::test]
async fn crawl_export_serve_crawl_gives_back_the_same_bytes() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let first = Store::open_in_memory().unwrap();
    assert!(crawl_into(mirror.base_url(), &first, None).await.complete());
    mirror.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let report = export(&first, dir.path()).unwrap();
    assert_eq!((report.lists, report.resources), (3, bodies(&first).len()));

    let served = Mirror::start_from(Data::dir(dir.path()).unwrap(), MirrorConfig::default())
        .await
        .unwrap();
    let second = Store::open_in_memory().unwrap();
    assert!(crawl_into(served.base_url(), &second, None)
        .await
        .complete());
    served.stop().await;
    let (a, b) = (bodies(&first), bodies(&second));
    assert_eq!(a.len(), b.len());
    assert!(a == b, "bodies differ after the round trip");
}

async fn get(state: &std::sync::Arc<MirrorState>, uri: &str) -> (StatusCode, String) {
    let resp = app(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_store_is_served_like_the_embedded_pokedex() {
    let embedded = MirrorState::new("http://mirror.test/api/v2", MirrorConfig::default());
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let store = Store::open_in_memory().unwrap();
    crawl_into(mirror.base_url(), &store, Some(&["pokemon", "type"])).await;
    mirror.stop().await;
    let from_store = MirrorState::with_data(
        "http://mirror.test/api/v2",
        MirrorConfig::default(),
        Data::store(store).unwrap(),
    );
    for uri in [
        "/api/v2/pokemon/25/",
        "/api/v2/pokemon/PIKACHU",
        "/api/v2/pokemon/?limit=3&offset=1348",
        "/api/v2/type/",
        "/api/v2/type/electric/",
        "/api/v2/pokemon/99999/",
        "/api/v2/pokemon/agumon/",
        "/api/v2/move/1/",
    ] {
        let want = get(&embedded, uri).await;
        let got = get(&from_store, uri).await;
        assert_eq!(got, want, "{uri}");
    }
    // What the store does not hold is not served, even if the embedded Pokédex has it.
    assert_eq!(
        get(&from_store, "/api/v2/pokemon-species/25/").await.0,
        StatusCode::BAD_REQUEST
    );
}

/// A folder that a store was exported into, a secret beside it, and links leading out.
fn folder_with_traps() -> (tempfile::TempDir, std::path::PathBuf) {
    let outside = tempfile::tempdir().unwrap();
    let served = outside.path().join("served");
    std::fs::write(
        outside.path().join("secret.json"),
        r#"{"secret":"TOPSECRET"}"#,
    )
    .unwrap();
    let store = Store::open_in_memory().unwrap();
    let rows = (1..=3).map(|id| {
        asyncdex::store::Row::new(
            "type",
            id,
            Some(format!("t{id}")),
            format!(r#"{{"id":{id},"name":"t{id}"}}"#).into_bytes(),
        )
    });
    store.put(&rows.collect::<Vec<_>>()).unwrap();
    export(&store, &served).unwrap();
    // type 3 is a link to a folder outside; so is a whole list named "evil".
    let secret_dir = outside.path().join("secret-dir");
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("index.json"), r#"{"id":3,"secret":"TOPSECRET","count":1,"results":[{"name":"x","url":"/api/v2/evil/1/"}]}"#).unwrap();
    let type3 = served.join("data/api/v2/type/3");
    std::fs::remove_dir_all(&type3).unwrap();
    symlink(&secret_dir, &type3);
    symlink(&secret_dir, &served.join("data/api/v2/evil"));
    (outside, served)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(not(unix))]
fn symlink(_: &Path, _: &Path) {}

#[tokio::test]
async fn a_served_folder_never_exposes_anything_outside_it() {
    let (_outside, served) = folder_with_traps();
    let state = MirrorState::with_data(
        "http://mirror.test/api/v2",
        MirrorConfig::default(),
        Data::dir(&served).unwrap(),
    );
    let (status, body) = get(&state, "/api/v2/type/1/").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"id":1,"name":"t1"}"#)
    );
    for uri in [
        "/api/v2/../secret.json",
        "/api/v2/../../secret.json",
        "/api/v2/type/../../../secret.json",
        "/api/v2/type/..%2F..%2F..%2Fsecret.json",
        "/api/v2/type/%2E%2E%2F%2E%2E%2Fsecret.json",
        "/api/v2/%2e%2e/secret.json",
        "/api/v2/type/1/../../../../secret.json",
        "/api/v2/type//etc/passwd",
        "/api/v2/type/%2Fetc%2Fpasswd",
        "/api/v2//etc/passwd",
        "/api/v2/type/3/",
        "/api/v2/type/t3/",
        "/api/v2/evil/",
        "/api/v2/evil/1/",
        "/api/v2/type/1%00/",
        "/api/v2/type/-1/",
    ] {
        let (status, body) = get(&state, uri).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{uri}: {status}"
        );
        assert!(!body.contains("TOPSECRET"), "{uri} leaked: {body}");
    }
    // The list of types still names type 3 (it is in the index), but serving it is refused.
    let (_, list) = get(&state, "/api/v2/type/").await;
    assert!(list.contains(r#""count":3"#), "{list}");
}

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
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows(db) < 100 {
        assert!(Instant::now() < deadline, "the crawl never wrote 100 rows");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be stopped"
        );
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

#[test]
fn crawl_and_export_report_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asyncdex.db");
    let cases: [(&[&str], &str); 4] = [
        (
            &["crawl", "--resources", "Pokémon", "--latency", "0"],
            "invalid resource",
        ),
        (
            &["crawl", "--resources", "", "--latency", "0"],
            r#"invalid resource """#,
        ),
        (
            &[
                "export",
                "--from",
                "/nonexistent/x.db",
                "--to",
                "/tmp/never",
            ],
            "no store at",
        ),
        (&["serve", "--from", "/nonexistent/dir"], "cannot serve"),
    ];
    for (args, needle) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(if needle == "cannot serve" { 1 } else { 2 }),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    assert!(!db.exists());
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
    let manifest = run(mirror.base_url(), &store, &job).await;
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
        let manifest = run(mirror.base_url(), &store, &job).await;
        let ids: Vec<u32> = store
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
}
