//! The PostgreSQL store against a real server: each test makes a database of its own on
//! the server `ASYNCDEX_POSTGRES_URL` names (`source .ci/postgres` starts one), and skips,
//! saying so, when it is not set. The URL checks need no server.

use std::time::Duration;

use super::queue::{Queue, SeedList, Settled};
use super::rate::SharedRate;
use super::*;
use crate::store::Row;

/// A fresh database, or `None` (and a note on how to get one) without a server.
fn scratch(test: &str) -> Option<Scratch> {
    Scratch::for_test(test)
}

#[tokio::test]
async fn postgres_urls_that_cannot_work_are_one_line_errors_without_a_server() {
    for (url, needle) in [
        ("postgres://u:secret@[::1/db", "invalid PostgreSQL URL"),
        ("postgres://u:secret@127.0.0.1:1", "names no database"),
        ("postgres://u@127.0.0.1/db?sslmode=require", "requires TLS"),
        ("postgres://u@127.0.0.1:99999/db", "invalid PostgreSQL URL"),
    ] {
        let err = PgStore::connect(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}: {err}");
        let text = err.to_string();
        assert!(text.contains(needle), "{url}: {text}");
        assert!(
            !text.contains("secret"),
            "the password is never shown: {text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }
    // Port 1 on the loopback: nothing listens there.
    let err = PgStore::connect("postgres://u:secret@127.0.0.1:1/db")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert!(err
        .to_string()
        .starts_with("cannot connect to postgres://u@127.0.0.1:1/db"));
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn postgres_store_keeps_rows_and_refuses_a_damaged_one() {
    let Some(db) = scratch("postgres_store_keeps_rows_and_refuses_a_damaged_one") else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let body = |id: i32| format!(r#"{{"id":{id}}}"#).into_bytes();
    store
        .put(&[
            Row::new("type", 1, Some("normal".into()), body(1)),
            Row::new("type", 2, Some("fighting".into()), body(2)),
            Row::new("meta", 0, None, b"{}".to_vec()),
        ])
        .await
        .unwrap();
    let hit = store.get_verified("type", "normal").await.unwrap().unwrap();
    assert_eq!((hit.id, &hit.body[..]), (1, &body(1)[..]));
    assert!(store.get_verified("type", "2").await.unwrap().is_some());
    assert!(store.get_verified("type", "99").await.unwrap().is_none());
    assert_eq!(store.endpoints().await.unwrap(), ["meta", "type"]);
    assert_eq!(
        store.entries("type").await.unwrap(),
        [(1, Some("normal".into())), (2, Some("fighting".into()))]
    );
    assert_eq!(store.writes().await.unwrap(), (3, 3));
    db.execute("UPDATE asyncdex.resources SET body = '\\x7b7d' WHERE id = 2")
        .unwrap();
    let err = store
        .get_verified("type", "2")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("type/2 is damaged"), "{err}");
    let mut seen = Vec::new();
    let err = store
        .for_each_verified("type", |s| {
            seen.push(s.id);
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(seen, [1], "stops at the first damaged row");
    assert!(err.to_string().contains("type/2"));
}

#[tokio::test]
async fn postgres_a_served_list_shows_only_the_names_the_bodies_carry() {
    let Some(db) = scratch("postgres_a_served_list_shows_only_the_names_the_bodies_carry") else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let body = |id: i32, name: &str| format!(r#"{{"id":{id},"name":"{name}"}}"#).into_bytes();
    store
        .put(&[
            Row::new("type", 1, Some("normal".into()), body(1, "normal")),
            Row::new("type", 2, Some("fighting".into()), body(2, "fighting")),
            Row::new("type", 3, Some("flying".into()), b"not json".to_vec()),
            Row::new("machine", 4, None, br#"{"id":4}"#.to_vec()),
        ])
        .await
        .unwrap();
    let listed = store.listed_at_most("type", 10).await.unwrap();
    assert_eq!(
        listed.len(),
        3,
        "a body that is not JSON is a 5xx where it is served"
    );
    assert_eq!(
        store.listed_at_most("machine", 10).await.unwrap(),
        [(4, None)]
    );
    assert!(crate::mirror::Data::postgres(store.clone()).await.is_ok());
    for (name, says) in [
        (
            "'../../etc'",
            r#"listed with "../../etc", but its body's name is "fighting""#,
        ),
        (
            "NULL",
            r#"listed with no name, but its body's name is "fighting""#,
        ),
    ] {
        db.execute(&format!(
            "UPDATE asyncdex.resources SET name = {name} WHERE id = 2"
        ))
        .unwrap();
        let err = crate::mirror::Data::postgres(store.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Database);
        let err = err.to_string();
        assert!(
            err.contains("type/2 is damaged") && err.contains(says),
            "{name}: {err}"
        );
    }
}

#[tokio::test]
async fn postgres_schema_is_made_once_and_someone_elses_is_refused_untouched() {
    let Some(db) = scratch("postgres_schema_is_made_once_and_someone_elses_is_refused_untouched")
    else {
        return;
    };
    let err = PgStore::open_existing(db.url()).await.unwrap_err();
    assert!(err.to_string().contains("holds no asyncdex store"), "{err}");
    // Opened twice at once, migrated once.
    let (a, b) = tokio::join!(PgStore::connect(db.url()), PgStore::connect(db.url()));
    let store = a.unwrap();
    b.unwrap();
    let client = store.client().await.unwrap();
    let versions: Vec<i32> = client
        .query("SELECT version FROM asyncdex.schema_version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=VERSION).collect::<Vec<_>>());
    PgStore::open_existing(db.url()).await.unwrap();
    client
        .batch_execute(&format!(
            "INSERT INTO asyncdex.schema_version VALUES ({})",
            VERSION + 1
        ))
        .await
        .unwrap();
    let err = PgStore::connect(db.url()).await.unwrap_err().to_string();
    assert!(err.contains("written by a newer asyncdex"), "{err}");

    let theirs =
        scratch("postgres_schema_is_made_once_and_someone_elses_is_refused_untouched").unwrap();
    theirs
        .execute("CREATE SCHEMA asyncdex; CREATE TABLE asyncdex.users (name text); CREATE TABLE public.orders (n int)")
        .unwrap();
    for err in [
        PgStore::connect(theirs.url()).await.unwrap_err(),
        PgStore::open_existing(theirs.url()).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Database);
        let text = err.to_string();
        assert!(
            text.ends_with("is not an asyncdex store: its schema asyncdex holds table users and was not made by asyncdex"),
            "{text}"
        );
    }
    let store = PgStore::pool(theirs.url()).unwrap();
    let tables: i64 = store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'asyncdex'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing was added beside their table");
}

#[tokio::test]
async fn postgres_an_expired_lease_is_taken_over_and_the_late_worker_writes_nothing() {
    let Some(db) =
        scratch("postgres_an_expired_lease_is_taken_over_and_the_late_worker_writes_nothing")
    else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let endpoints = vec!["type".to_owned()];
    let slow = Queue::new(store.clone(), Duration::from_millis(300));
    let other = Queue::new(store.clone(), Duration::from_secs(30));
    assert_ne!(slow.owner(), other.owner());
    let seeded = slow
        .seed(&endpoints, |todo| async move {
            assert_eq!(todo, ["type"]);
            Ok(vec![Ok::<_, ()>(SeedList {
                endpoint: "type".into(),
                count: 3,
                ids: vec![1, 2, 3],
                unusable: 0,
            })])
        })
        .await
        .unwrap();
    assert_eq!(seeded.len(), 1);
    // The second seeder finds it done and reads nothing.
    let again = other
        .seed(&endpoints, |_| async {
            panic!("seeded twice") as crate::Result<Vec<Result<SeedList, ()>>>
        })
        .await
        .unwrap();
    assert!(again.is_empty());

    let mut leased = slow.lease(&endpoints, 10).await.unwrap();
    leased.sort();
    assert_eq!(leased.len(), 3);
    assert!(
        other.lease(&endpoints, 10).await.unwrap().is_empty(),
        "all leased"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut taken = other.lease(&endpoints, 10).await.unwrap();
    taken.sort();
    assert_eq!(taken, leased, "the expired lease is taken over");
    assert_eq!(other.renew().await.unwrap(), 3, "its leases, renewed");
    assert_eq!(slow.renew().await.unwrap(), 0, "no longer its own");

    let rows = |n: &[i32]| -> Vec<Settled> {
        n.iter()
            .map(|&id| {
                Settled::Done(
                    Row::new("type", id, None, format!(r#"{{"id":{id}}}"#).into_bytes()),
                    1,
                )
            })
            .collect()
    };
    assert_eq!(
        slow.settle(rows(&[1, 2, 3]), &[], 100).await.unwrap(),
        0,
        "too late"
    );
    let mut outcomes = rows(&[1, 2]);
    outcomes.push(Settled::Failed("type".into(), 3, "boom".into(), 2));
    assert_eq!(
        other
            .settle(outcomes, &[("type".into(), 4)], 100)
            .await
            .unwrap(),
        2
    );
    let counts = other.counts(Some(&endpoints)).await.unwrap();
    let c = &counts[0];
    assert_eq!(
        (
            c.listed,
            c.queued,
            c.done,
            c.failed,
            c.left,
            c.leased,
            c.taken_over
        ),
        (3, 4, 2, 1, 1, 0, 3)
    );
    assert_eq!(other.failures("type", 5).await.unwrap(), ["3: boom"]);
    // A new run queues again what failed only once nothing is left or leased.
    assert_eq!(other.retry_failed(&endpoints).await.unwrap(), 0);
    let last = other.lease(&endpoints, 10).await.unwrap();
    assert_eq!(last, [("type".to_owned(), 4)]);
    other.settle(rows(&[4]), &[], 100).await.unwrap();
    assert_eq!(other.retry_failed(&endpoints).await.unwrap(), 1);
    assert_eq!(
        store.writes().await.unwrap(),
        (3, 3),
        "each row written once"
    );
}

#[tokio::test]
async fn postgres_shared_rate_is_for_every_worker_together() {
    let Some(db) = scratch("postgres_shared_rate_is_for_every_worker_together") else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    // Two workers at 100/s together: 40 slots span at least 0.39 s of the one timeline
    // (alone, each would have taken 0.19 s).
    let a = SharedRate::new(store.clone(), 100.0).unwrap();
    let b = SharedRate::new(store.clone(), 100.0).unwrap();
    let started = std::time::Instant::now();
    async fn take(r: &SharedRate) {
        for _ in 0..20 {
            r.acquire().await.unwrap();
        }
    }
    tokio::join!(take(&a), take(&b));
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
    assert!(SharedRate::new(store, 0.0).is_err());
}

#[tokio::test]
async fn postgres_a_lease_whose_answer_was_lost_is_never_renewed_and_expires() {
    let test = "postgres_a_lease_whose_answer_was_lost_is_never_renewed_and_expires";
    let Some(db) = scratch(test) else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let endpoints = vec!["type".to_owned()];
    let worker = Queue::new(store.clone(), Duration::from_secs(5));
    let other = Queue::new(store.clone(), Duration::from_secs(5));
    let list = SeedList {
        endpoint: "type".into(),
        count: 2,
        ids: vec![1, 2],
        unusable: 0,
    };
    worker
        .seed(&endpoints, |_| async { Ok(vec![Ok::<_, ()>(list)]) })
        .await
        .unwrap();
    assert_eq!(worker.lease(&endpoints, 1).await.unwrap().len(), 1);
    // A lease that committed while its answer was lost with the connection: the row is
    // the worker's, and the worker never heard of it.
    db.execute(&format!(
        "UPDATE asyncdex.queue SET state = 'leased', owner = '{}',
             lease_until = now() + interval '300 milliseconds'
         WHERE state = 'todo'",
        worker.owner()
    ))
    .unwrap();
    assert_eq!(worker.renew().await.unwrap(), 1, "only the lease it knows");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let taken = other.lease(&endpoints, 10).await.unwrap();
    assert_eq!(
        taken.len(),
        1,
        "the unknown lease expired, the known one did not"
    );
    let mine = worker.counts(Some(&endpoints)).await.unwrap()[0].leased;
    assert_eq!(mine, 2, "one each");
    let (e, id) = taken[0].clone();
    other
        .settle(vec![Settled::Released(e, id)], &[], 100)
        .await
        .unwrap();
    assert_eq!(other.renew().await.unwrap(), 0, "settled: no longer held");
}

/// The server process behind `client`'s connection.
async fn pid(client: &deadpool_postgres::Object) -> i32 {
    let row = client.query_one("SELECT pg_backend_pid()", &[]).await;
    row.unwrap().get(0)
}

#[tokio::test]
async fn postgres_an_idle_connection_owes_nothing_and_outlives_the_silence_deadline() {
    let Some(db) = scratch("postgres_an_idle_connection_owes_nothing") else {
        return;
    };
    // One second of silence allowed while an answer is owed (30 s by default).
    let store = PgStore::connect(&format!("{}?tcp_user_timeout=1", db.url()))
        .await
        .unwrap();
    let first = {
        let mut client = store.client().await.unwrap();
        let tx = client.transaction().await.unwrap();
        tx.batch_execute("SELECT 1; SELECT 2").await.unwrap();
        tx.commit().await.unwrap();
        pid(&client).await
    };
    // Every answer came: the idle connection is not cut, however long it waits.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let client = store.client().await.unwrap();
    assert!(!client.is_closed());
    assert_eq!(pid(&client).await, first, "the same connection, reused");
    // An answer that takes longer than the deadline to start is cut, and says why.
    let e = client
        .query_one("SELECT pg_sleep(3)", &[])
        .await
        .map_err(store.error("sleep"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(e.to_string().contains("sent nothing for 1 s"), "{e}");
    assert!(client.is_closed(), "{e}");
}
