//! Errors say what happened, never more: a statement the server cancelled is not a
//! damaged store, and a connection is given up on within the URL's `connect_timeout`.

use std::time::{Duration, Instant};

use super::*;

/// `url` with `query` (`name=value`) added.
fn with(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

#[tokio::test]
async fn postgres_a_cancelled_statement_is_itself_and_only_a_missing_table_is_a_damaged_store() {
    let Some(db) = Scratch::for_test(
        "postgres_a_cancelled_statement_is_itself_and_only_a_missing_table_is_a_damaged_store",
    ) else {
        return;
    };
    PgStore::connect(db.url()).await.unwrap();
    // Another session holds the version table: reading it waits, and the server cancels
    // the wait after 300 ms (SQLSTATE 57014).
    let holder = PgStore::pool(db.url()).unwrap();
    let mut client = holder.client().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE asyncdex.schema_version IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let impatient = with(db.url(), "options=-c%20statement_timeout%3D300");
    for err in [
        PgStore::open_existing(&impatient).await.unwrap_err(),
        PgStore::connect(&impatient).await.unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(
            text.contains("canceling statement due to statement timeout"),
            "{text}"
        );
        assert!(!text.contains("not an asyncdex store"), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
    tx.rollback().await.unwrap();
    PgStore::open_existing(&impatient).await.unwrap();

    // A marked schema without its version table is the one case that is a verdict.
    db.execute("DROP TABLE asyncdex.schema_version").unwrap();
    let err = PgStore::open_existing(db.url()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    assert!(
        err.to_string().ends_with(
            "is not an asyncdex store: its schema asyncdex is marked as asyncdex's but has no version table"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_listener_that_never_answers_is_given_up_on_within_connect_timeout() {
    // The kernel accepts connections into the backlog; nobody ever reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://u:secret@127.0.0.1:{port}/db?connect_timeout=1");
    let started = Instant::now();
    let err = PgStore::connect(&url).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot connect to postgres://u@127.0.0.1:{port}/db: no connection within 1 s (connect_timeout)"
        )
    );
    // Its own second, not the 10 s default (a generous bound: a loaded machine is slow).
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
}

#[tokio::test]
async fn an_ipv6_host_keeps_its_brackets_in_every_line() {
    let err = PgStore::connect("postgres://u:s3cret@[::1]:1/db")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("cannot connect to postgres://u@[::1]:1/db: "),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    let store = PgStore::pool("postgres://u:s3cret@[::1]:1/db").unwrap();
    assert_eq!(store.describe(), "postgres://u@[::1]:1/db");
}
