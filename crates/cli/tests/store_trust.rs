//! A store comes from elsewhere (a copied file, a shared schema): what it says is checked
//! before it is acted on. An endpoint that is no endpoint name (`../../..`) refuses the
//! export and the server in one line, and nothing is written; a crawl of one API into a
//! store of another is refused before anything is fetched.

use crate::common;

use common::binary::{asyncdex, text};

/// Runs a crawl of the embedded mirror's types into `out`: 21 of them.
fn crawl_types_run(out: &std::path::Path) -> std::process::Output {
    asyncdex(&[
        "crawl",
        "--resources",
        "type",
        "--latency",
        "0",
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Crawls the embedded mirror's types into `out`, which must succeed.
fn crawl_types(out: &std::path::Path) {
    let got = crawl_types_run(out);
    assert!(got.status.success(), "{}", text(&got.stderr));
}

/// Runs a crawl of the types of `api` into `out`.
fn crawl_api(api: &str, out: &std::path::Path) -> std::process::Output {
    asyncdex(&[
        "crawl",
        "--resources",
        "type",
        "--api",
        api,
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Every file under `dir` and its bytes, by path.
fn tree(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn one_error_line(stderr: &[u8]) -> String {
    let stderr = text(stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_owned()
}

#[test]
fn an_endpoint_that_climbs_out_refuses_export_and_serve_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("evil.db");
    crawl_types(&db);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "UPDATE resources SET endpoint = '../../..' WHERE id = 1;
             INSERT INTO lists VALUES ('../../..', 1, 0);",
        )
        .unwrap();
    // A folder with the user's own files where the escape would land.
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("1")).unwrap();
    std::fs::write(www.join("index.json"), "<html>my homepage</html>").unwrap();
    std::fs::write(www.join("1/index.json"), "USER FILE").unwrap();
    let before = tree(&www);

    let got = asyncdex(&[
        "export",
        "--from",
        db.to_str().unwrap(),
        "--to",
        www.to_str().unwrap(),
    ]);
    assert_eq!(got.status.code(), Some(1));
    let line = one_error_line(&got.stderr);
    assert!(
        line.contains(&format!(
            "store {}: resource 1 has endpoint \"../../..\" which is not an endpoint name",
            db.display()
        )),
        "{line}"
    );
    assert!(line.contains("nothing exported"), "{line}");
    assert_eq!(tree(&www), before, "the user's files were touched");

    let got = asyncdex(&[
        "serve",
        "--from",
        db.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
    ]);
    assert_eq!(got.status.code(), Some(1));
    let line = one_error_line(&got.stderr);
    assert!(line.contains("which is not an endpoint name"), "{line}");
}

#[test]
fn a_crawl_of_another_api_into_a_store_is_refused_before_it_fetches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    crawl_types(&db);
    let count = || -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT count FROM lists WHERE endpoint = 'type'", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    assert_eq!(count(), 21);
    // Nothing listens there: a crawl that fetched anything would fail otherwise.
    let api = "http://127.0.0.1:9/api/v2";
    let got = crawl_api(api, &db);
    assert_eq!(got.status.code(), Some(2), "{}", text(&got.stderr));
    assert_eq!(
        one_error_line(&got.stderr),
        format!(
            "error: store {} holds embedded, not {api}: choose another --out",
            db.display()
        )
    );
    assert_eq!(count(), 21, "the store's list count was overwritten");
    // The same API again resumes it, as it always did.
    crawl_types(&db);
}

#[test]
fn a_crawl_that_fetched_nothing_does_not_bind_its_store_to_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n2.db");
    // Nothing listens there: the crawl fails having fetched nothing.
    let got = crawl_api("http://127.0.0.1:1/x/api/v2", &db);
    assert_eq!(got.status.code(), Some(1), "{}", text(&got.stderr));
    // The corrected crawl takes the store, and now holds it.
    crawl_types(&db);
    let root: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT root FROM api_root", [], |r| r.get(0))
        .unwrap();
    assert_eq!(root, "embedded");
}

#[test]
fn a_damaged_root_record_in_a_store_with_data_is_one_line_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    crawl_types(&db);
    for (rows, why) in [
        (
            "INSERT INTO api_root VALUES ('http://other/api/v2')",
            "it has more than one row",
        ),
        ("UPDATE api_root SET root = ''", "its root is empty"),
        ("UPDATE api_root SET root = x'00ff'", "its root is not text"),
    ] {
        let copy = dir.path().join("copy.db");
        std::fs::copy(&db, &copy).unwrap();
        rusqlite::Connection::open(&copy)
            .unwrap()
            .execute_batch(rows)
            .unwrap();
        let got = crawl_types_run(&copy);
        assert_eq!(got.status.code(), Some(1), "{}", text(&got.stderr));
        assert_eq!(
            one_error_line(&got.stderr),
            format!(
                "error: store {}: its API root record is damaged ({why})",
                copy.display()
            )
        );
    }
}
