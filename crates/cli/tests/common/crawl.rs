//! Crawling from inside a test: a whole job, or chosen resources, into a store.

use asyncdex::crawl::{crawl, Crawl, Manifest};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::store::{AsyncStore, Store};

/// Crawls `resources` (every resource when `None`) of the API at `base` into `store`,
/// 32 at a time.
pub async fn crawl_into(base: &str, store: &Store, resources: Option<&[&str]>) -> Manifest {
    let resources = resources.map(|r| r.iter().map(|s| s.to_string()).collect());
    crawl_job(base, store, &Crawl::new(resources, 32)).await
}

/// Runs `job` against the API at `base` into `store` and returns its manifest.
pub async fn crawl_job(base: &str, store: &Store, job: &Crawl) -> Manifest {
    let transport = Native::new(&HttpOptions::default()).unwrap();
    crawl(
        transport,
        base,
        &AsyncStore::new(store.clone()),
        job,
        &mut |_| {},
    )
    .await
    .unwrap()
}
