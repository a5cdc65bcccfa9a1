//! What a crawl is asked for, checked at the one place it is resolved: a resource named
//! twice is crawled, counted and reported once.

use asyncdex::crawl::{crawl, Crawl};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::store::{AsyncStore, Store};

#[tokio::test]
async fn a_resource_named_twice_is_crawled_and_counted_once() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let store = Store::open_in_memory().unwrap();
    let job = Crawl::new(Some(vec!["type".into(), "type".into()]), 16);
    let transport = Native::new(&HttpOptions::default()).unwrap();
    let manifest = crawl(
        transport,
        mirror.base_url(),
        &AsyncStore::new(store.clone()),
        &job,
        &mut |_| {},
    )
    .await
    .unwrap();
    mirror.stop().await;
    assert_eq!(manifest.resources.len(), 1, "{manifest:?}");
    let report = &manifest.resources[0];
    assert_eq!(report.expected, report.stored);
    assert_eq!(
        report.stored as usize,
        store.entries("type").unwrap().len(),
        "the manifest counts what the store holds"
    );
}

#[test]
fn an_empty_list_of_resources_is_refused_without_naming_a_flag() {
    let err = Crawl::new(Some(vec![]), 4).validate().unwrap_err();
    assert!(!err.to_string().contains("--"), "{err}");
}
