//! Crawling into PostgreSQL with the binary, as users do: bad URLs are one line and write
//! nothing; three workers started a second apart, one killed with `kill -9`, finish the
//! crawl with every resource stored once; what they stored is served as SQLite's copy is.
//!
//! The tests that need a server make a database of their own on the one that
//! `ASYNCDEX_POSTGRES_URL` names (`source .ci/postgres` starts one; CI does), and skip,
//! saying how to start one, when it is not set. Their names all start with `postgres_`.

use crate::common;
use crate::pg;

use std::time::{Duration, Instant};

use asyncdex::mirror::{Data, Faults, Mirror, MirrorConfig, MirrorState};
use asyncdex::pg::{PgStore, Scratch};
use asyncdex::store::Store;
use common::binary::{asyncdex, problems, text, Case};
use common::crawl::crawl_into;
use pg::{rt, worker};

/// A fresh database, or `None` (and a note on how to get one) without a server.
fn scratch(test: &str) -> Option<Scratch> {
    Scratch::for_test(test)
}

#[test]
fn postgres_urls_malformed_or_unreachable_are_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("export");
    let to = to.to_str().unwrap();
    let unreachable = "postgres://u:hunter2@127.0.0.1:1/crawl";
    let cases = [
        Case::usage(
            "a malformed URL",
            &[
                "crawl",
                "--out",
                "postgres://u:hunter2@[::1/crawl",
                "--resources",
                "type",
            ],
            "invalid PostgreSQL URL",
        ),
        Case::usage(
            "a URL without a database",
            &[
                "crawl",
                "--out",
                "postgres://u@127.0.0.1:1",
                "--resources",
                "type",
            ],
            "names no database",
        ),
        Case::usage(
            "--status of a file",
            &["crawl", "--status", "--out", "x.db"],
            "--status is for a crawl shared through PostgreSQL",
        ),
        Case::usage(
            "--lease for a file",
            &[
                "crawl",
                "--lease",
                "5",
                "--out",
                "x.db",
                "--resources",
                "type",
            ],
            "--lease is for a crawl shared through PostgreSQL",
        ),
        Case::usage(
            "a lease of no time",
            &["crawl", "--lease", "0", "--out", unreachable],
            "--lease",
        ),
        Case::fails(
            "crawl into a server nobody runs",
            &["crawl", "--out", unreachable, "--resources", "type"],
            "cannot connect to postgres://u@127.0.0.1:1/crawl",
        )
        .in_one_line(),
        Case::fails(
            "serve from a server nobody runs",
            &["serve", "--from", unreachable, "--bind", "127.0.0.1:0"],
            "cannot connect to postgres://u@127.0.0.1:1/crawl",
        )
        .in_one_line(),
        Case::fails(
            "export from a server nobody runs",
            &["export", "--from", unreachable, "--to", to],
            "cannot connect to postgres://u@127.0.0.1:1/crawl",
        )
        .in_one_line(),
    ];
    let found = pg::refusals(&cases, "hunter2");
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert!(!std::path::Path::new(to).exists(), "export wrote nothing");
}

#[test]
fn postgres_a_wrong_password_or_someone_elses_schema_is_refused_untouched() {
    let test = "postgres_a_wrong_password_or_someone_elses_schema_is_refused_untouched";
    let Some(db) = scratch(test) else { return };
    let url = db.url();
    let (head, tail) = url.split_once('@').unwrap();
    let user = head.rsplit_once(':').unwrap().0;
    let wrong = format!("{user}:not-the-password@{tail}");
    db.execute("CREATE SCHEMA asyncdex; CREATE TABLE asyncdex.users (name text)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("export");
    let to = to.to_str().unwrap();
    let cases = [
        Case::fails(
            "a wrong password",
            &["crawl", "--out", &wrong, "--resources", "type"],
            "password authentication failed",
        )
        .in_one_line(),
        Case::fails(
            "crawl into someone else's schema",
            &["crawl", "--out", url, "--resources", "type"],
            "is not an asyncdex store: its schema asyncdex holds table users",
        )
        .in_one_line(),
        Case::fails(
            "serve someone else's schema",
            &["serve", "--from", url, "--bind", "127.0.0.1:0"],
            "is not an asyncdex store",
        )
        .in_one_line(),
        Case::fails(
            "export someone else's schema",
            &["export", "--from", url, "--to", to],
            "is not an asyncdex store",
        )
        .in_one_line(),
        Case::fails(
            "the status of someone else's schema",
            &["crawl", "--status", "--out", url],
            "is not an asyncdex store",
        )
        .in_one_line(),
    ];
    let mut found = Vec::new();
    for case in &cases {
        found.extend(problems(case, &asyncdex(&case.args)));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert!(!std::path::Path::new(to).exists(), "export wrote nothing");
    // Their schema holds their table and nothing else (the check raises otherwise).
    db.execute(
        "DO $$ BEGIN
             IF (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'asyncdex') <> 1
             THEN RAISE EXCEPTION 'something was added to their schema'; END IF;
         END $$",
    )
    .unwrap();
}

/// Runs three workers a second apart against a mirror configured by `config`, killing
/// the second with SIGKILL half a second after it starts when `kill`; checks that the
/// crawl is complete with every resource written once, and serves what they stored
/// beside an SQLite crawl of the same resources, comparing every answer.
fn three_workers(test: &str, config: MirrorConfig, kill: bool, extra: &[&str]) {
    let Some(db) = scratch(test) else { return };
    let rt = rt();
    let mirror = rt.block_on(Mirror::start(config)).unwrap();
    let api = mirror.base_url().to_owned();
    let resources = "ability,berry,type";
    let mut args = vec!["-c", "2", "--lease", "2"];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let mut workers = Vec::new();
    for i in 0..3 {
        if i > 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
        workers.push(worker(db.url(), &api, resources, &args));
        if kill && i == 1 {
            std::thread::sleep(Duration::from_millis(500));
            workers[1].kill().unwrap(); // SIGKILL: no chance to release its leases
        }
    }
    let mut finished = Vec::new();
    for (i, w) in workers.into_iter().enumerate() {
        let out = w.wait_with_output().unwrap();
        if kill && i == 1 {
            continue;
        }
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "worker {i}: {stderr}");
        let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(manifest["complete"], true, "worker {i}: {manifest}");
        assert!(
            stderr.contains(" 0 leased, 0 failed, 0 left"),
            "worker {i}: {stderr}"
        );
        finished.push(manifest);
    }
    assert!(started.elapsed() < Duration::from_secs(120));

    rt.block_on(mirror.stop());

    // Every resource once, as SQLite's crawl of the same lists (from a mirror of the same
    // data, without faults) has them.
    let reference = rt.block_on(Mirror::start(MirrorConfig::default())).unwrap();
    let sqlite = Store::open_in_memory().unwrap();
    let list: Vec<&str> = resources.split(',').collect();
    let manifest = rt.block_on(crawl_into(reference.base_url(), &sqlite, Some(&list)));
    rt.block_on(reference.stop());
    assert!(manifest.complete());
    let (expected, _) = manifest.totals();
    let store = rt.block_on(PgStore::open_existing(db.url())).unwrap();
    assert_eq!(
        rt.block_on(store.writes()).unwrap(),
        (expected, expected),
        "every resource stored, each written once"
    );
    let status = asyncdex(&["crawl", "--status", "--json", "--out", db.url()]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["complete"], true, "{status}");
    assert_eq!(status["totals"]["done"], expected, "{status}");

    // Served alike: every list and every resource, byte for byte.
    let base = "http://mirror.test/api/v2";
    let cfg = MirrorConfig::default();
    let from_pg = MirrorState::with_data(
        base,
        cfg.clone(),
        rt.block_on(Data::postgres(store)).unwrap(),
    );
    let from_sqlite = MirrorState::with_data(base, cfg, Data::store(sqlite.clone()).unwrap());
    let mut uris = vec!["/api/v2/".to_owned()];
    for endpoint in &list {
        uris.push(format!("/api/v2/{endpoint}/?limit=100000"));
        uris.push(format!("/api/v2/{endpoint}/?limit=7&offset=3"));
        for (id, name) in sqlite.entries(endpoint).unwrap() {
            uris.push(format!("/api/v2/{endpoint}/{id}/"));
            if let Some(name) = name {
                uris.push(format!("/api/v2/{endpoint}/{name}/"));
            }
        }
    }
    let differ: Vec<String> = rt.block_on(async {
        let mut differ = Vec::new();
        for uri in &uris {
            let (a, b) = (get(&from_pg, uri).await, get(&from_sqlite, uri).await);
            if a != b {
                differ.push(format!("{uri}: postgres {a:?}, sqlite {b:?}"));
            }
        }
        differ
    });
    assert!(
        differ.is_empty(),
        "{} differ: {}",
        differ.len(),
        differ[..differ.len().min(3)].join("\n")
    );
    assert!(uris.len() > 500, "{} answers compared", uris.len());
}

async fn get(state: &std::sync::Arc<MirrorState>, uri: &str) -> (u16, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::get(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = asyncdex::mirror::app(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

#[test]
fn postgres_three_workers_one_killed_store_every_resource_once_and_serve_it_as_sqlite() {
    let config = MirrorConfig {
        latency: Duration::from_millis(50),
        ..MirrorConfig::default()
    };
    three_workers(
        "postgres_three_workers_one_killed_store_every_resource_once_and_serve_it_as_sqlite",
        config,
        true,
        &[],
    );
}

#[test]
fn postgres_three_workers_under_injected_faults_lose_nothing() {
    let config = MirrorConfig {
        latency: Duration::from_millis(10),
        faults: Faults {
            fail: 0.2,
            seed: 7,
            ..Faults::default()
        },
        ..MirrorConfig::default()
    };
    three_workers(
        "postgres_three_workers_under_injected_faults_lose_nothing",
        config,
        false,
        &["--retries", "10"],
    );
}
