//! A stopping worker hands back what it holds, and only that ([`super::stop`]).

use std::time::Duration;

use super::queue::{Queue, SeedList};
use super::*;

#[tokio::test]
async fn postgres_a_stopping_worker_hands_back_its_own_leases_and_no_others() {
    let Some(db) =
        Scratch::for_test("postgres_a_stopping_worker_hands_back_its_own_leases_and_no_others")
    else {
        return;
    };
    let store = PgStore::connect(db.url()).await.unwrap();
    let endpoints = vec!["type".to_owned()];
    // Long leases: a lease that expired would hide a hand-back that did nothing.
    let stopping = Queue::new(store.clone(), Duration::from_secs(600));
    let other = Queue::new(store.clone(), Duration::from_secs(600));
    stopping
        .seed(&endpoints, |_| async {
            Ok(vec![Ok::<_, ()>(SeedList {
                endpoint: "type".into(),
                count: 8,
                ids: (1..=8).collect(),
                unusable: 0,
            })])
        })
        .await
        .unwrap();
    assert_eq!(stopping.lease(&endpoints, 5).await.unwrap().len(), 5);
    assert_eq!(other.lease(&endpoints, 2).await.unwrap().len(), 2);

    assert_eq!(stopping.hand_back().await.unwrap(), 5);
    assert_eq!(stopping.renew().await.unwrap(), 0, "it holds nothing now");
    let c = &stopping.counts(None).await.unwrap()[0];
    assert_eq!((c.leased, c.left, c.done), (2, 6, 0), "{c:?}");
    // What it handed back is leased again at once, with no lease to wait for.
    let mut again = other.lease(&endpoints, 10).await.unwrap();
    again.sort();
    assert_eq!(again.len(), 6);
    assert_eq!(
        stopping.hand_back().await.unwrap(),
        0,
        "nothing of its own left"
    );
    let c = &stopping.counts(None).await.unwrap()[0];
    assert_eq!(
        c.leased, 8,
        "the other worker's leases are untouched: {c:?}"
    );
}
