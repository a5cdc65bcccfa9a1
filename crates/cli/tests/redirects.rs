//! A server at `--api` may redirect under its root (`pokemon/25` to `pokemon/25/`), never
//! off it: no command is led to another server (hp12 A-F2), so a crawl never stores
//! another server's answers as its API's, nor `get` shows them.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::binary::{asyncdex, text};
use common::{respond, serve};

/// A server that counts what it is asked: the one the API's redirects point to.
fn elsewhere(asked: &Arc<AtomicUsize>) -> String {
    let asked = asked.clone();
    serve(64, move |_, stream| {
        asked.fetch_add(1, Ordering::SeqCst);
        respond(
            stream,
            "200 OK",
            "",
            r#"{"id":1,"name":"m1","evil":"from elsewhere"}"#,
        )
    })
}

/// An API root whose `move` list and resources redirect to `other`, and whose
/// `pokemon/25` redirects under itself to an answer.
fn redirecting(other: String) -> String {
    let base = serve(256, move |req, stream| {
        let path = req.path();
        if path == "/api/v2/pokemon/25" {
            respond(
                stream,
                "301 Moved Permanently",
                "Location: /api/v2/pokemon/25/\r\n",
                "",
            )
        } else if path == "/api/v2/pokemon/25/" {
            respond(stream, "200 OK", "", r#"{"id":25,"name":"pikachu"}"#)
        } else if path.starts_with("/api/v2/move") {
            respond(
                stream,
                "302 Found",
                &format!("Location: {other}{path}\r\n"),
                "",
            )
        } else {
            respond(stream, "404 Not Found", "", "{}")
        }
    });
    format!("{base}/api/v2")
}

#[test]
fn a_redirect_off_the_api_is_not_followed_by_get_or_crawl() {
    let asked = Arc::new(AtomicUsize::new(0));
    let api = redirecting(elsewhere(&asked));
    // Under the root: followed.
    let out = asyncdex(&["get", "pokemon/25", "--api", &api, "--retries", "0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // `pokemon/25` asked as such is redirected to `pokemon/25/`, under the root.
    assert!(
        text(&out.stdout).contains("pikachu"),
        "{}",
        text(&out.stdout)
    );
    let out = asyncdex(&["get", "move/1", "--api", &api, "--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("off the API root {api}/: not followed")),
        "{err}"
    );
    // A crawl of `move`: its list read is refused the same way, nothing is stored.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let db = db.to_str().unwrap();
    let out = asyncdex(&[
        "crawl",
        "--api",
        &api,
        "--resources",
        "move",
        "--out",
        db,
        "--retries",
        "0",
    ]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("not followed"), "{all}");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "the other server is never asked"
    );
    if std::path::Path::new(db).exists() {
        let store = asyncdex::store::Store::open_existing(db).unwrap();
        assert!(store.entries("move").unwrap().is_empty(), "nothing stored");
    }
}
