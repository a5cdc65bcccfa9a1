//! An export asked to stop halfway leaves the target as it was, and exports racing into
//! one folder each land whole: the folder ends as one of them wrote it, never a mix.

use crate::common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use asyncdex::export::{export, export_until};
use asyncdex::store::{Row, Store};
use asyncdex::ErrorKind;
use common::tree;

/// A store of `n` types whose bodies all carry `tag`.
fn store_tagged(tag: &str, n: i32) -> Store {
    let store = Store::open_in_memory().unwrap();
    let rows: Vec<Row> = (1..=n)
        .map(|id| {
            let body = format!(r#"{{"id":{id},"tag":"{tag}"}}"#);
            Row::new("type", id, Some(format!("t{id}")), body.into_bytes())
        })
        .collect();
    store.put(&rows).unwrap();
    store
}

/// `stop` that says yes from its `n`th question on.
fn stop_at(n: usize) -> impl Fn() -> bool {
    let asked = AtomicUsize::new(0);
    move || asked.fetch_add(1, Ordering::SeqCst) + 1 >= n
}

#[test]
fn a_stop_halfway_into_a_new_folder_creates_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let site = parent.path().join("a/site");
    let err = export_until(&store_tagged("x", 50), &site, &stop_at(20)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    let text = err.to_string();
    assert!(text.starts_with("nothing exported, ") && text.ends_with("site was not created"));
    assert!(tree(parent.path()).is_empty(), "{:?}", tree(parent.path()));
}

#[test]
fn a_stop_halfway_into_an_earlier_export_leaves_it_as_it_was() {
    let site = tempfile::tempdir().unwrap();
    export(&store_tagged("old", 3), site.path()).unwrap();
    std::fs::write(site.path().join("index.html"), "my page").unwrap();
    let before = tree(site.path());
    for n in [1, 2, 30, 53] {
        let err = export_until(&store_tagged("new", 50), site.path(), &stop_at(n)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cancelled, "stop at {n}: {err}");
        assert!(err.to_string().ends_with("is as it was"), "{err}");
        assert_eq!(tree(site.path()), before, "stop at {n}: the folder changed");
    }
    // Asked before each of 52 files (50 bodies, their list, the root index) and once
    // before landing (the 53rd): a later stop is too late to stop anything.
    let report = export_until(&store_tagged("new", 50), site.path(), &stop_at(54)).unwrap();
    assert_eq!(report.resources, 50);
}

/// Every exported resource's tag, by file.
fn tags(site: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (name, body) in tree(site) {
        if name.starts_with("data/api/v2/type/") && name.ends_with("/index.json") {
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            if let Some(tag) = json["tag"].as_str() {
                found.push(tag.to_owned());
            }
        }
    }
    found
}

/// Resources in each racing export: enough that, without the lock, landings that start
/// together interleave (300 did not, 3 000 mixed the folder).
const RACED: i32 = 3000;

/// Three exports of three stores into `site` at once; all must succeed. Each one's last
/// question to `stop` (asked once every file is written, before landing) waits for the
/// other two: all three put their files in place at the same moment.
fn race(site: &Path) {
    let files = RACED as usize + 2; // the bodies, their list, the root index
    let together = std::sync::Barrier::new(3);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = ["a", "b", "c"]
            .map(|tag| {
                let together = &together;
                s.spawn(move || {
                    let asked = AtomicUsize::new(0);
                    let stop = || {
                        if asked.fetch_add(1, Ordering::SeqCst) == files {
                            together.wait();
                        }
                        false
                    };
                    export_until(&store_tagged(tag, RACED), site, &stop)
                })
            })
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for result in results {
        assert_eq!(result.unwrap().resources, RACED as usize);
    }
}

#[test]
fn exports_racing_into_one_folder_each_land_whole() {
    // A new folder (one rename wins, the two others merge into it), then an existing
    // folder (three merges).
    for round in 0..2 {
        let parent = tempfile::tempdir().unwrap();
        let site = parent.path().join("site");
        if round == 1 {
            std::fs::create_dir(&site).unwrap();
        }
        race(&site);
        let tags = tags(&site);
        assert_eq!(tags.len(), RACED as usize, "round {round}");
        assert!(
            tags.iter().all(|t| *t == tags[0]),
            "round {round}: a mix of exports: {:?}",
            tags.iter().collect::<std::collections::BTreeSet<_>>()
        );
        let left: Vec<String> = tree(parent.path())
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.contains("export-asyncdex"))
            .collect();
        assert!(
            left.is_empty(),
            "round {round}: temporary folders left: {left:?}"
        );
    }
}
