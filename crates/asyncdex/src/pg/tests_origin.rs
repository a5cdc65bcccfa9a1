//! The API root a PostgreSQL store keeps ([`super::origin`]), against a real server: the
//! rules SQLite's store follows, workers claiming at once, and a version-1 store migrated
//! with its data kept. Each test skips, saying so, without `ASYNCDEX_POSTGRES_URL`.

use std::time::Duration;

use super::queue::{Queue, SeedList};
use super::*;
use crate::store::Row;

/// A fresh database, or `None` (and a note on how to get one) without a server.
fn scratch(test: &str) -> Option<Scratch> {
    Scratch::for_test(test)
}

/// The rows of the root record.
async fn roots(store: &PgStore) -> Vec<String> {
    let client = store.client().await.unwrap();
    let rows = client
        .query("SELECT root FROM asyncdex.api_root ORDER BY root", &[])
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// How many rows the queue holds, in any state.
async fn queued(store: &PgStore) -> i64 {
    let client = store.client().await.unwrap();
    let row = client
        .query_one("SELECT count(*) FROM asyncdex.queue", &[])
        .await
        .unwrap();
    row.get(0)
}

/// Seeds the list of `type` (ids 1 and 2) through `queue`, as a worker does.
async fn seed(queue: &Queue) -> Result<()> {
    queue
        .seed(&["type".to_owned()], |_| async {
            Ok(vec![Ok::<_, ()>(SeedList {
                endpoint: "type".into(),
                count: 2,
                ids: vec![1, 2],
                unusable: 0,
            })])
        })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn postgres_the_first_root_is_kept_and_another_is_refused_leaving_it() {
    let test = "postgres_the_first_root_is_kept_and_another_is_refused_leaving_it";
    let Some(db) = scratch(test) else { return };
    let store = PgStore::connect(db.url()).await.unwrap();
    assert_eq!(
        store.api_root().await.unwrap(),
        None,
        "no root before a crawl"
    );
    store.claim_root("http://a/api/v2").await.unwrap();
    seed(&Queue::new(store.clone(), Duration::from_secs(30)))
        .await
        .unwrap();
    // Another process, later: the same root resumes, another is refused.
    let store = PgStore::connect(db.url()).await.unwrap();
    store.claim_root("http://a/api/v2").await.unwrap();
    let err = store.claim_root("http://b/api/v2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "store {} holds http://a/api/v2, not http://b/api/v2",
            store.describe()
        )
    );
    assert_eq!(roots(&store).await, ["http://a/api/v2"]);

    // What is shown of a planted root: one line, cut, no password.
    let planted = format!("http://ash:hunter2@127.0.0.1:9/\nx{}", "r".repeat(500));
    db.execute(&format!("UPDATE asyncdex.api_root SET root = '{planted}'"))
        .unwrap();
    let err = store.claim_root("embedded").await.unwrap_err().to_string();
    assert!(!err.contains('\n') && err.contains("/\\nx"), "{err}");
    assert!(err.len() < 400 && err.ends_with("…, not embedded"), "{err}");
    assert!(
        !err.contains("hunter2") && err.contains("ash:***@"),
        "{err}"
    );
}

#[tokio::test]
async fn postgres_a_store_with_no_data_takes_the_next_root_and_data_keeps_it() {
    let test = "postgres_a_store_with_no_data_takes_the_next_root_and_data_keeps_it";
    let Some(db) = scratch(test) else { return };
    let store = PgStore::connect(db.url()).await.unwrap();
    store
        .claim_root("http://127.0.0.1:1/x/api/v2")
        .await
        .unwrap();
    // Work to do is not data: nothing was fetched yet. It was the old root's work, so
    // re-stamping drops it (the new root's crawl seeds its own).
    db.execute("INSERT INTO asyncdex.queue (endpoint, id) VALUES ('type', 1), ('type', 2)")
        .unwrap();
    db.execute("UPDATE asyncdex.queue SET state = 'leased' WHERE id = 2")
        .unwrap();
    store.claim_root("embedded").await.unwrap();
    assert_eq!(roots(&store).await, ["embedded"], "re-stamped, once");
    assert_eq!(store.api_root().await.unwrap().as_deref(), Some("embedded"));
    assert_eq!(
        queued(&store).await,
        0,
        "the old root's waiting work is dropped"
    );
    // The same root again changes nothing: its work stays.
    db.execute("INSERT INTO asyncdex.queue (endpoint, id) VALUES ('type', 1)")
        .unwrap();
    store.claim_root("embedded").await.unwrap();
    assert_eq!(queued(&store).await, 1, "a resumed root keeps its work");
    // Each of these is data: the stamp holds.
    for (data, undo) in [
        (
            "UPDATE asyncdex.queue SET state = 'failed'",
            "UPDATE asyncdex.queue SET state = 'todo'",
        ),
        (
            "UPDATE asyncdex.queue SET state = 'done'",
            "UPDATE asyncdex.queue SET state = 'todo'",
        ),
        (
            "INSERT INTO asyncdex.lists VALUES ('type', 21, 0, 0)",
            "DELETE FROM asyncdex.lists",
        ),
    ] {
        db.execute(data).unwrap();
        let err = store.claim_root("http://b/api/v2").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{data}: {err}");
        assert_eq!(roots(&store).await, ["embedded"], "{data}");
        db.execute(undo).unwrap();
    }
    store
        .put(&[Row::new("type", 1, None, b"{}".to_vec())])
        .await
        .unwrap();
    let err = store.claim_root("http://b/api/v2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "a resource: {err}");
}

#[tokio::test]
async fn postgres_a_damaged_record_is_an_error_with_data_and_replaced_without() {
    let test = "postgres_a_damaged_record_is_an_error_with_data_and_replaced_without";
    let Some(db) = scratch(test) else { return };
    let store = PgStore::connect(db.url()).await.unwrap();
    for (rows, why) in [
        (
            "INSERT INTO asyncdex.api_root VALUES ('embedded'), ('http://o/api/v2')",
            "it has more than one row",
        ),
        (
            "INSERT INTO asyncdex.api_root VALUES ('')",
            "its root is empty",
        ),
    ] {
        db.execute(&format!(
            "DELETE FROM asyncdex.api_root; {rows};
             INSERT INTO asyncdex.lists VALUES ('type', 21, 0, 0)"
        ))
        .unwrap();
        let want = format!(
            "store {}: its API root record is damaged ({why})",
            store.describe()
        );
        for err in [
            store.claim_root("embedded").await.unwrap_err(),
            store.api_root().await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Database, "{err}");
            assert_eq!(err.to_string(), want);
        }
        // Without data there is nothing to protect: the record is made anew.
        db.execute("DELETE FROM asyncdex.lists").unwrap();
        store.claim_root("embedded").await.unwrap();
        assert_eq!(roots(&store).await, ["embedded"], "{why}");
    }
}

#[tokio::test]
async fn postgres_workers_claiming_at_once_stamp_once_and_two_roots_do_not_both_go_on() {
    let test = "postgres_workers_claiming_at_once_stamp_once_and_two_roots_do_not_both_go_on";
    let Some(db) = scratch(test) else { return };
    let store = PgStore::connect(db.url()).await.unwrap();
    // Eight workers of one root, at once, into a new store: all go on, one row.
    let claims: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_root("embedded").await })
        })
        .collect();
    for claim in claims {
        claim.await.unwrap().unwrap();
    }
    assert_eq!(roots(&store).await, ["embedded"]);

    // Two workers of two roots, both claiming before either seeds: the store is the
    // second's, and the first is refused when it seeds, having stored nothing.
    db.execute("DELETE FROM asyncdex.api_root").unwrap();
    let first = PgStore::connect(db.url()).await.unwrap();
    let second = PgStore::connect(db.url()).await.unwrap();
    first.claim_root("http://a/api/v2").await.unwrap();
    second.claim_root("http://b/api/v2").await.unwrap();
    let err = seed(&Queue::new(first.clone(), Duration::from_secs(30)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string()
            .ends_with("holds http://b/api/v2, not http://a/api/v2"),
        "{err}"
    );
    let lists: i64 = {
        let client = first.client().await.unwrap();
        let row = client
            .query_one("SELECT count(*) FROM asyncdex.lists", &[])
            .await
            .unwrap();
        row.get(0)
    };
    assert_eq!(lists, 0, "the refused worker seeded");
    seed(&Queue::new(second.clone(), Duration::from_secs(30)))
        .await
        .unwrap();
    // Now seeded: the first cannot take it back.
    let err = first.claim_root("http://a/api/v2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn postgres_a_version_1_store_migrates_to_2_keeping_its_data() {
    let test = "postgres_a_version_1_store_migrates_to_2_keeping_its_data";
    let Some(db) = scratch(test) else { return };
    let store = PgStore::connect(db.url()).await.unwrap();
    store
        .put(&[Row::new("type", 1, Some("normal".into()), b"{}".to_vec())])
        .await
        .unwrap();
    db.execute("INSERT INTO asyncdex.lists VALUES ('type', 21, 0, 0)")
        .unwrap();
    // The store as version 1 left it: no root table, one version row.
    db.execute(
        "DROP TABLE asyncdex.api_root; DELETE FROM asyncdex.schema_version WHERE version > 1",
    )
    .unwrap();
    // Read as it is (`serve --from`, `export`), and left at version 1.
    let reader = PgStore::open_existing(db.url()).await.unwrap();
    assert!(reader
        .get_verified("type", "normal")
        .await
        .unwrap()
        .is_some());
    let versions = |store: PgStore| async move {
        let client = store.client().await.unwrap();
        let rows = client
            .query(
                "SELECT version FROM asyncdex.schema_version ORDER BY 1",
                &[],
            )
            .await
            .unwrap();
        rows.iter().map(|r| r.get(0)).collect::<Vec<i32>>()
    };
    assert_eq!(versions(reader).await, [1], "a reader migrates nothing");
    let store = PgStore::connect(db.url()).await.unwrap();
    assert_eq!(versions(store.clone()).await, [1, 2]);
    assert!(store
        .get_verified("type", "normal")
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.api_root().await.unwrap(), None);
    // Crawled before the stamp existed: the next crawl's root is taken as its own.
    store.claim_root("embedded").await.unwrap();
    let err = store.claim_root("http://b/api/v2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    PgStore::open_existing(db.url()).await.unwrap();
}

#[tokio::test]
async fn postgres_a_claim_waits_for_a_seeding_worker_asking_again_not_blocked_in_the_server() {
    let test = "postgres_a_claim_waits_for_a_seeding_worker_asking_again_not_blocked_in_the_server";
    let Some(db) = scratch(test) else { return };
    let store = PgStore::connect(db.url()).await.unwrap();
    store.claim_root("embedded").await.unwrap();
    // Another worker seeding: the stamp held shared, its lists not yet committed.
    let seeding = db
        .hold(
            "SELECT root FROM asyncdex.api_root FOR SHARE;
             INSERT INTO asyncdex.lists VALUES ('type', 21, 0, 0)",
        )
        .unwrap();
    let claim = tokio::spawn({
        let store = store.clone();
        async move { store.claim_root("http://b/api/v2").await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !claim.is_finished(),
        "the claim did not wait for the seeding"
    );
    let client = store.client().await.unwrap();
    let blocked: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(blocked, 0, "a statement is blocked in the server");
    drop(seeding);
    // The seeded lists are data: the other root is refused.
    let err = claim.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(roots(&store).await, ["embedded"]);
}
