//! `export` through the binary under a signal and beside other exports: SIGINT or SIGTERM
//! mid-export stops it with one line, exit 130/143, and the target as it was (a new folder
//! never appears, an earlier export and the user's files are untouched); three exports
//! at once into one folder all succeed, each landing whole.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use asyncdex::store::{Row, Store};
use common::binary::text;
use common::tree;

/// A store file of `n` types with bodies of about 2 KB: thousands of files to write, so
/// an export takes a while (seconds, in a debug build).
fn store_file(dir: &Path, n: i32) -> PathBuf {
    let path = dir.join("store.db");
    let store = Store::open(&path).unwrap();
    let pad = "x".repeat(2000);
    let rows: Vec<Row> = (1..=n)
        .map(|id| {
            let body = format!(r#"{{"id":{id},"pad":"{pad}"}}"#);
            Row::new("type", id, Some(format!("t{id}")), body.into_bytes())
        })
        .collect();
    store.put(&rows).unwrap();
    path
}

fn start_export(from: &Path, to: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(["export", "--from"])
        .arg(from)
        .arg("--to")
        .arg(to)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("asyncdex starts")
}

/// Whether `folder` holds an export's temporary folder (`*.export-asyncdex.*`).
fn staging_in(folder: &Path) -> bool {
    std::fs::read_dir(folder)
        .map(|entries| {
            entries.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .contains(".export-asyncdex.")
            })
        })
        .unwrap_or(false)
}

/// Starts an export of `from` into `to`, waits until it is writing (its temporary folder
/// is in `watch`), sends `signal`, and returns its output.
fn export_signalled(from: &Path, to: &Path, watch: &Path, signal: &str) -> Output {
    let child = start_export(from, to);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !staging_in(watch) {
        assert!(
            Instant::now() < deadline,
            "the export never started writing"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    common::signal(child.id(), signal);
    child.wait_with_output().unwrap()
}

#[test]
fn a_signal_mid_export_leaves_the_target_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let from = store_file(dir.path(), 4000);

    // A new folder: never created.
    let parent = tempfile::tempdir().unwrap();
    let site = parent.path().join("site");
    let out = export_signalled(&from, &site, parent.path(), "INT");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "interrupted: nothing exported, {} was not created\n",
            site.display()
        )
    );
    assert!(tree(parent.path()).is_empty(), "{:?}", tree(parent.path()));

    // An earlier export with the user's page beside it: as it was, byte for byte.
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("data/api/v2/type/1")).unwrap();
    std::fs::write(site.path().join("data/api/v2/type/1/index.json"), "old").unwrap();
    std::fs::write(site.path().join("index.html"), "my page").unwrap();
    let before = tree(site.path());
    let out = export_signalled(&from, site.path(), site.path(), "TERM");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "interrupted: nothing exported, {} is as it was\n",
            site.path().display()
        )
    );
    assert_eq!(tree(site.path()), before, "the folder changed");
}

#[test]
fn three_exports_at_once_into_one_folder_all_land_whole() {
    let dir = tempfile::tempdir().unwrap();
    let from = store_file(dir.path(), 500);
    for existing in [false, true] {
        let parent = tempfile::tempdir().unwrap();
        let site = parent.path().join("site");
        if existing {
            std::fs::create_dir(&site).unwrap();
        }
        let children: Vec<Child> = (0..3).map(|_| start_export(&from, &site)).collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "existing {existing}: {stderr}");
            assert!(
                stderr.starts_with("export: 500 resources and 1 lists"),
                "{stderr}"
            );
        }
        let names: Vec<String> = tree(parent.path()).into_iter().map(|(n, _)| n).collect();
        let files = names.iter().filter(|n| n.ends_with("index.json")).count();
        // 500 bodies, their list, the root index; no temporary folder left.
        assert_eq!(files, 502, "existing {existing}: {names:?}");
        assert!(
            !names.iter().any(|n| n.contains("export-asyncdex")),
            "existing {existing}: {names:?}"
        );
    }
}

/// The temporary folder in `folder` of an export that has begun writing: marked as an
/// export's (`.asyncdex-export-staging`) and holding a file of the export's already.
fn writing_staging_in(folder: &Path) -> Option<PathBuf> {
    std::fs::read_dir(folder).ok()?.flatten().find_map(|e| {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let files = std::fs::read_dir(&path).map(|f| f.count()).unwrap_or(0);
        let marked = path.join(".asyncdex-export-staging").is_file();
        (name.contains(".export-asyncdex.") && marked && files > 1).then_some(path)
    })
}

/// Starts an export of `from` into `to`, and `kill -9`s it once its temporary folder in
/// `watch` is being written; returns that folder, left behind.
fn export_killed(from: &Path, to: &Path, watch: &Path) -> PathBuf {
    let mut child = start_export(from, to);
    let deadline = Instant::now() + Duration::from_secs(30);
    let staging = loop {
        if let Some(staging) = writing_staging_in(watch) {
            break staging;
        }
        assert!(
            Instant::now() < deadline,
            "the export never started writing"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    common::signal(child.id(), "KILL");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed, not finished: {status:?}");
    assert!(staging.is_dir(), "a killed export leaves its folder");
    staging
}

#[test]
fn the_next_export_removes_what_a_killed_one_left_and_only_that() {
    let dir = tempfile::tempdir().unwrap();
    let from = store_file(dir.path(), 2000);
    for existing in [false, true] {
        let parent = tempfile::tempdir().unwrap();
        let site = parent.path().join("site");
        let watch = if existing {
            std::fs::create_dir(&site).unwrap();
            site.clone()
        } else {
            parent.path().to_owned()
        };
        let left = export_killed(&from, &site, &watch);
        // Named like an export's, but not marked as one: someone else's, it stays.
        let decoy = watch.join(
            left.file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".0", ".9"),
        );
        std::fs::create_dir(&decoy).unwrap();
        std::fs::write(decoy.join("mine"), "not an export's").unwrap();

        let out = start_export(&from, &site).wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "existing {existing}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "export: removed 1 temporary folder that killed exports to {} had left: {}",
                site.display(),
                left.display()
            ),
            "existing {existing}"
        );
        assert!(lines[1].starts_with("export: 2000 resources"), "{stderr}");
        assert_eq!(lines.len(), 2, "{stderr}");
        assert!(!left.exists(), "existing {existing}");
        assert_eq!(
            std::fs::read(decoy.join("mine")).unwrap(),
            b"not an export's"
        );
        let names: Vec<String> = tree(parent.path()).into_iter().map(|(n, _)| n).collect();
        let files = names.iter().filter(|n| n.ends_with("index.json")).count();
        assert_eq!(files, 2002, "existing {existing}");
        let temporary = names.iter().filter(|n| n.contains("export-asyncdex"));
        assert_eq!(
            temporary.count(),
            2,
            "the decoy and its file only: {names:?}"
        );
    }
}
