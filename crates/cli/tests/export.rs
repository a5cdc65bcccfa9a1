//! Exporting a store as a folder laid out like PokeAPI's api-data, and the round trip:
//! crawl, export, serve the folder, crawl it again, and get back the same bytes.

use crate::common;

use std::collections::BTreeMap;

use asyncdex::export::export;
use asyncdex::mirror::{Data, Mirror, MirrorConfig};
use asyncdex::store::Store;
use common::crawl::crawl_into;

/// Every (endpoint, id) → body in a store.
fn bodies(store: &Store) -> BTreeMap<(String, i32), Vec<u8>> {
    let mut all = BTreeMap::new();
    for endpoint in store.endpoints().unwrap() {
        store
            .for_each(&endpoint, |row| {
                all.insert((endpoint.clone(), row.id), row.body.to_vec());
                Ok(())
            })
            .unwrap();
    }
    all
}

#[tokio::test]
async fn crawl_export_serve_crawl_gives_back_the_same_bytes() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let first = Store::open_in_memory().unwrap();
    assert!(crawl_into(mirror.base_url(), &first, None).await.complete());
    mirror.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let report = export(&first, dir.path()).unwrap();
    assert_eq!((report.lists, report.resources), (49, bodies(&first).len()));

    let served = Mirror::start_from(Data::dir(dir.path()).unwrap(), MirrorConfig::default())
        .await
        .unwrap();
    let second = Store::open_in_memory().unwrap();
    assert!(crawl_into(served.base_url(), &second, None)
        .await
        .complete());
    served.stop().await;
    let (a, b) = (bodies(&first), bodies(&second));
    assert_eq!(a.len(), b.len());
    assert!(a == b, "bodies differ after the round trip");
}
