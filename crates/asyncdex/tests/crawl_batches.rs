//! A crawl runs several batches through one client (the lists, then each round of
//! resources), and each batch may run on several cores: one runtime per core, which ends
//! with its batch. A connection dialled on such a runtime dies with it, while the client
//! (shared by every batch) still holds it idle. These crawls make the next batch meet
//! those connections, with no retries to hide a call that fails on one.

use asyncdex::crawl::{crawl, Crawl};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{BackgroundMirror, MirrorConfig};
use asyncdex::store::{AsyncStore, Store};

/// `crawls` crawls of `resources` in a row through clones of one `client`, each on two
/// cores with no retries: every one must be complete, with nothing failed or retried.
async fn crawls_through_one_client(client: Native, base: &str, crawls: usize) {
    for n in 0..crawls {
        let store = AsyncStore::new(Store::open_in_memory().unwrap());
        let mut job = Crawl::new(Some(vec!["type".into(), "ability".into()]), 32);
        job.policy.cores = 2;
        job.policy.retries = 0;
        let manifest = crawl(client.clone(), base, &store, &job, &mut |_| {})
            .await
            .unwrap();
        for r in &manifest.resources {
            assert_eq!(r.list_error, None, "crawl {n}: {r:?}");
            assert_eq!((r.failed, r.retried), (0, 0), "crawl {n}: {r:?}");
            assert!(r.stored > 0 && r.stored == r.expected, "crawl {n}: {r:?}");
        }
        assert!(manifest.complete(), "crawl {n}");
    }
}

fn options(http2: bool) -> HttpOptions {
    HttpOptions {
        http2,
        ..HttpOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_on_cores_that_ended_never_fail_a_call_over_http1() {
    let mirror = BackgroundMirror::start(MirrorConfig::default()).unwrap();
    let client = Native::new(&options(false)).unwrap();
    crawls_through_one_client(client, mirror.base_url(), 8).await;
    let client = Native::through_reqwest(&options(false)).unwrap();
    crawls_through_one_client(client, mirror.base_url(), 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_on_cores_that_ended_never_fail_a_call_over_http2() {
    let mirror = BackgroundMirror::start(MirrorConfig::default()).unwrap();
    let client = Native::new(&options(true)).unwrap();
    crawls_through_one_client(client, mirror.base_url(), 8).await;
    let client = Native::through_reqwest(&options(true)).unwrap();
    crawls_through_one_client(client, mirror.base_url(), 8).await;
}
