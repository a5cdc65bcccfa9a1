//! A PostgreSQL store is one API's copy, as an SQLite store is (`store_trust.rs`): a
//! crawl of another API into it is refused before anything is fetched, one line, exit 2,
//! nothing in it changed; a crawl that fetched nothing does not bind it to its root; a
//! damaged root record in a store with data is one line, exit 1. Skipped, saying so,
//! without `ASYNCDEX_POSTGRES_URL` (`source .ci/postgres`).

use crate::common;
use crate::pg;

use asyncdex::pg::{PgStore, Scratch};
use common::binary::{asyncdex, text};
use pg::rt;

/// Runs a crawl of the types of `api` (`None`: the embedded mirror) into the store `url`.
fn crawl(url: &str, api: Option<&str>) -> std::process::Output {
    let mut args = vec!["crawl", "--resources", "type", "--out", url];
    match api {
        Some(api) => args.extend(["--api", api]),
        None => args.extend(["--latency", "0"]),
    }
    asyncdex(&args)
}

fn one_error_line(stderr: &[u8]) -> String {
    let stderr = text(stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_owned()
}

#[test]
fn postgres_a_crawl_of_another_api_into_a_store_is_refused_before_it_fetches() {
    let test = "postgres_a_crawl_of_another_api_into_a_store_is_refused_before_it_fetches";
    let Some(db) = Scratch::for_test(test) else {
        return;
    };
    let got = crawl(db.url(), None);
    assert!(got.status.success(), "{}", text(&got.stderr));
    let rt = rt();
    let store = rt.block_on(PgStore::connect(db.url())).unwrap();
    let writes = rt.block_on(store.writes()).unwrap();
    assert_eq!(writes, (21, 21));
    // Nothing listens there: a crawl that fetched anything would fail otherwise (exit 1).
    let api = "http://127.0.0.1:9/api/v2";
    let got = crawl(db.url(), Some(api));
    assert_eq!(got.status.code(), Some(2), "{}", text(&got.stderr));
    assert_eq!(
        one_error_line(&got.stderr),
        format!(
            "error: store {} holds embedded, not {api}: choose another --out",
            store.describe()
        )
    );
    assert_eq!(rt.block_on(store.writes()).unwrap(), writes, "it wrote");
    assert_eq!(
        rt.block_on(store.api_root()).unwrap().as_deref(),
        Some("embedded")
    );
    // The same API again resumes it, as it always did.
    let got = crawl(db.url(), None);
    assert!(got.status.success(), "{}", text(&got.stderr));
}

#[test]
fn postgres_a_crawl_that_fetched_nothing_does_not_bind_its_store_to_its_root() {
    let test = "postgres_a_crawl_that_fetched_nothing_does_not_bind_its_store_to_its_root";
    let Some(db) = Scratch::for_test(test) else {
        return;
    };
    // Nothing listens there: the crawl fails having fetched nothing.
    let got = crawl(db.url(), Some("http://127.0.0.1:1/x/api/v2"));
    assert_eq!(got.status.code(), Some(1), "{}", text(&got.stderr));
    // The corrected crawl takes the store, and now holds it.
    let got = crawl(db.url(), None);
    assert!(got.status.success(), "{}", text(&got.stderr));
    let rt = rt();
    let store = rt.block_on(PgStore::connect(db.url())).unwrap();
    assert_eq!(
        rt.block_on(store.api_root()).unwrap().as_deref(),
        Some("embedded")
    );

    // A damaged record in a store with data: one line, exit 1, nothing fetched.
    for (sql, why) in [
        (
            "UPDATE asyncdex.api_root SET root = ''",
            "its root is empty",
        ),
        (
            "INSERT INTO asyncdex.api_root VALUES ('embedded')",
            "it has more than one row",
        ),
    ] {
        db.execute(sql).unwrap();
        let got = crawl(db.url(), None);
        assert_eq!(got.status.code(), Some(1), "{}", text(&got.stderr));
        assert_eq!(
            one_error_line(&got.stderr),
            format!(
                "error: store {}: its API root record is damaged ({why})",
                store.describe()
            )
        );
    }
}
