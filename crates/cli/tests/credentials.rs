//! `--api http://user:pass@host/api/v2`: the credentials are sent as basic
//! authentication on every request, and appear nowhere a URL is printed or stored (the
//! JSON report, the crawl's lines and manifest, the store's tables); and a credentialed
//! crawl pages a list like any other (its `next` never carries the credentials, and the
//! root it is compared with no longer does either).

use crate::common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::binary::{asyncdex, text};
use common::{respond, serve, Request};

/// The password: it must never come back out.
const PASSWORD: &str = "s3cret-pw";
/// `ash:s3cret-pw`, base64: what the server insists on.
const BASIC: &str = "Basic YXNoOnMzY3JldC1wdw==";

/// How the server was asked: with the credentials, or without.
#[derive(Default)]
struct Seen {
    authorized: AtomicUsize,
    refused: AtomicUsize,
}

/// A PokeAPI of four Pokémon listed two per page, and one type whose body names another
/// id (so that a crawl fails it, and its failure names a URL). Every request must carry
/// `BASIC` (else 401, counted as refused); none may carry the password in its head.
fn guarded_api() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let counted = seen.clone();
    let base = serve(256, move |req, stream| {
        if req.header("authorization") != Some(BASIC) || req.head.contains(PASSWORD) {
            counted.refused.fetch_add(1, Ordering::SeqCst);
            return respond(stream, "401 Unauthorized", "", "{}");
        }
        counted.authorized.fetch_add(1, Ordering::SeqCst);
        let body = answer(req);
        respond(
            stream,
            "200 OK",
            "Content-Type: application/json\r\n",
            &body,
        );
    });
    (format!("{base}/api/v2"), seen)
}

/// The body for `req`: a list page, a Pokémon, the type, or an empty object.
fn answer(req: &Request) -> String {
    let host = req.header("host").unwrap_or("127.0.0.1");
    let api = format!("http://{host}/api/v2");
    let path = req.path();
    let entry =
        |endpoint: &str, id: u32| format!(r#"{{"name":"m{id}","url":"{api}/{endpoint}/{id}/"}}"#);
    if let Some(query) = path.strip_prefix("/api/v2/pokemon/?") {
        // Two pages of two, whatever limit is asked: the second is reached by `next` only.
        let second = query.contains("offset=2");
        let (ids, next) = match second {
            false => ([1, 2], format!(r#""{api}/pokemon/?offset=2&limit=2""#)),
            true => ([3, 4], "null".to_owned()),
        };
        let results: Vec<String> = ids.iter().map(|&id| entry("pokemon", id)).collect();
        return format!(
            r#"{{"count":4,"next":{next},"previous":null,"results":[{}]}}"#,
            results.join(",")
        );
    }
    if path.starts_with("/api/v2/type/?") {
        return format!(
            r#"{{"count":1,"next":null,"previous":null,"results":[{}]}}"#,
            entry("type", 1)
        );
    }
    if path == "/api/v2/type/1/" {
        return r#"{"id":99,"name":"impostor"}"#.to_owned();
    }
    match path
        .strip_prefix("/api/v2/pokemon/")
        .and_then(|rest| rest.trim_end_matches('/').parse::<u32>().ok())
    {
        Some(id) => format!(r#"{{"id":{id},"name":"mon{id}"}}"#),
        None => "{}".to_owned(),
    }
}

/// `base` (`http://addr/api/v2`) with the credentials put in.
fn with_credentials(base: &str) -> String {
    base.replacen("http://", &format!("http://ash:{PASSWORD}@"), 1)
}

/// Every value of every table of the SQLite store at `path`, as text.
fn dump(path: &Path) -> String {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap();
    let names: Vec<String> = tables
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(names.iter().any(|t| t == "failures"), "{names:?}");
    let mut all = String::new();
    for table in names {
        let mut select = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = select.column_count();
        let mut rows = select.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                use rusqlite::types::ValueRef;
                match row.get_ref(i).unwrap() {
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        all.push_str(&String::from_utf8_lossy(t));
                    }
                    ValueRef::Integer(n) => all.push_str(&n.to_string()),
                    ValueRef::Real(x) => all.push_str(&x.to_string()),
                    ValueRef::Null => {}
                }
                all.push('\t');
            }
            all.push('\n');
        }
    }
    all
}

#[test]
fn names_json_with_credentials_shows_no_password_and_sends_them_on_every_call() {
    let (base, seen) = guarded_api();
    let api = with_credentials(&base);
    // Every mode (ureq, ureq offloaded, the direct async path), the ids from the list.
    let out = asyncdex(&["names", "4", "--api", &api, "--json", "--retries", "0"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "{stdout}\n{stderr}"
    );
    let reports: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(reports.len(), 3, "one report per mode: {stdout}");
    for report in reports {
        assert_eq!(
            (&report["ok"], &report["failed"]),
            (&4.into(), &0.into()),
            "{report}"
        );
        assert!(
            report["names"][0].as_str().unwrap().starts_with("mon"),
            "{report}"
        );
        assert_eq!(report["source"], base.as_str(), "{report}");
    }
    assert_eq!(
        seen.refused.load(Ordering::SeqCst),
        0,
        "a call went without them"
    );
    // The list, then 4 names in each of the 3 modes.
    assert!(seen.authorized.load(Ordering::SeqCst) >= 13);
}

#[test]
fn a_credentialed_crawl_pages_its_list_and_stores_no_password() {
    let (base, seen) = guarded_api();
    let api = with_credentials(&base);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let store_arg = store.to_str().unwrap();
    let mut args = vec!["crawl", "--api", &api, "--resources", "pokemon,type"];
    args.extend(["--out", store_arg, "--json", "--retries", "0"]);
    let out = asyncdex(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // The type's impostor makes the crawl incomplete (exit 3): a failure naming its URL.
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "{stdout}\n{stderr}"
    );
    let manifest: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let resources = manifest["resources"].as_array().unwrap();
    let pokemon = resources
        .iter()
        .find(|r| r["endpoint"] == "pokemon")
        .unwrap();
    // Both pages: the second reached through the list's `next`.
    assert_eq!(
        (&pokemon["expected"], &pokemon["stored"]),
        (&4.into(), &4.into()),
        "{pokemon}"
    );
    let kind = resources.iter().find(|r| r["endpoint"] == "type").unwrap();
    assert!(
        kind.to_string().contains(&format!("{base}/type/1/")),
        "{kind}"
    );
    assert_eq!(
        seen.refused.load(Ordering::SeqCst),
        0,
        "a call went without them"
    );
    let tables = dump(&store);
    assert!(
        tables.contains("got id 99"),
        "the failure is stored: {tables}"
    );
    assert!(!tables.contains(PASSWORD), "{tables}");
    assert!(!tables.contains("ash:"), "{tables}");
}

#[test]
fn every_fetching_command_sends_them_and_prints_no_password() {
    let (base, seen) = guarded_api();
    let api = with_credentials(&base);
    for args in [
        vec!["get", "pokemon/3", "--api", &api, "--retries", "0"],
        vec!["stream", "2", "--api", &api, "--retries", "0"],
        vec!["blocking", "--mode", "correct", "--api", &api, "--json"],
    ] {
        let before = seen.authorized.load(Ordering::SeqCst);
        let out = asyncdex(&args);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {all}");
        assert!(!all.contains(PASSWORD), "{args:?}: {all}");
        assert!(seen.authorized.load(Ordering::SeqCst) > before, "{args:?}");
        assert_eq!(seen.refused.load(Ordering::SeqCst), 0, "{args:?}: {all}");
    }
}
