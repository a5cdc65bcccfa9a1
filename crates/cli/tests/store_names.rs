//! `crawl --out` names a file, whatever the name spells (hp9 B-F10), and a store that
//! cannot be opened says why in the reader's words, never "not an asyncdex store" unless
//! the file is not one (hp9 B-F16). Each run is from a folder of its own (relative names).

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::binary::{asyncdex_in, text, FAST};

fn crawl(out: &str, dir: &Path) -> Output {
    let mut args = vec!["crawl", "--resources", "type", "--out", out];
    args.extend(FAST);
    asyncdex_in(&args, Some(dir))
}

fn is_store(path: &Path) -> bool {
    let meta = std::fs::symlink_metadata(path).unwrap();
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
        .unwrap();
    meta.is_file() && rows > 0
}

#[test]
fn store_names_sqlite_reads_as_memory_or_a_uri_are_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in [
        ":memory:",
        "file:x.db?mode=memory",
        "file:m?mode=memory&cache=shared",
    ] {
        let out = crawl(name, d);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        assert!(is_store(&d.join(name)), "{name}: no file of that name");
    }
    // `file:NAME` with NAME a link: a file `file:NAME`, the link's target untouched.
    std::os::unix::fs::symlink(d.join("target.db"), d.join("victim.db")).unwrap();
    let out = crawl("file:victim.db", d);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(is_store(&d.join("file:victim.db")));
    assert!(!d.join("target.db").exists(), "written through the link");
    // And a link named `file:…` is refused as the link it is.
    std::os::unix::fs::symlink(d.join("target.db"), d.join("file:link.db")).unwrap();
    let out = crawl("file:link.db", d);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("it is a symbolic link"), "{stderr}");
    assert!(!d.join("target.db").exists());
}

/// `crawl` as an unprivileged uid of its own, in `dir` (root ignores file modes).
fn crawl_as_other(out: &str, dir: &Path) -> Option<Output> {
    if !common::binary::can_change_uid() {
        return None;
    }
    let mut args = vec!["crawl", "--resources", "type", "--out", out];
    args.extend(FAST);
    Some(
        common::binary::asyncdex_as(54330)
            .args(&args)
            .env("HOME", dir)
            .current_dir(dir)
            .output()
            .unwrap(),
    )
}

#[test]
fn store_that_cannot_be_read_or_written_is_refused_at_open_for_that_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let chmod = |p: &Path, mode| std::fs::set_permissions(p, PermissionsExt::from_mode(mode));
    chmod(d, 0o777).unwrap();
    let made = crawl("p0.db", d);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    std::os::unix::fs::chown(d.join("p0.db"), Some(54330), Some(54330)).unwrap();
    for (mode, wanted) in [
        (0o400, "error: p0.db cannot be written: permission denied"),
        (
            0o000,
            "error: cannot read the store p0.db: permission denied",
        ),
    ] {
        chmod(&d.join("p0.db"), mode).unwrap();
        let Some(out) = crawl_as_other("p0.db", d) else {
            return;
        };
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mode:o}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            wanted,
            "{mode:o}: before anything is fetched"
        );
        assert!(out.stdout.is_empty(), "{mode:o}: {}", text(&out.stdout));
    }
}

/// hp11 B-F8: on a read-only file system a store (new or existing) and an export are
/// refused before the run, exit 2, in `--timeline`'s words; reading the store still works.
#[test]
fn store_or_export_on_a_read_only_file_system_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(small) = common::binary::Mount::tmpfs(&d.join("small")) else {
        return;
    };
    let made = crawl("small/s.db", d);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    small.read_only();
    let read_only = "the folder small cannot be written (the file system is read-only)";
    let crawl_into = |out: &str| crawl(out, d);
    let export = |to: &str| asyncdex_in(&["export", "--from", "small/s.db", "--to", to], Some(d));
    for (case, out) in [
        ("crawl into an existing store", crawl_into("small/s.db")),
        ("crawl into a new store", crawl_into("small/new.db")),
        ("export into a new folder", export("small/ex")),
        ("export into the folder itself", export("small")),
    ] {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{case}: {stderr}");
        assert!(stderr.contains(read_only), "{case}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{case}: {stderr}");
        assert!(out.stdout.is_empty(), "{case}: {}", text(&out.stdout));
    }
    let read = export("ex");
    assert_eq!(read.status.code(), Some(0), "{}", text(&read.stderr));
}

#[test]
fn store_damaged_is_said_damaged_and_not_sqlite_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(crawl("whole.db", d).status.code(), Some(0));
    let bytes = std::fs::read(d.join("whole.db")).unwrap();
    std::fs::write(d.join("cut.db"), &bytes[..4096]).unwrap();
    let stderr = text(&crawl("cut.db", d).stderr);
    assert!(stderr.contains("cut.db is damaged"), "{stderr}");
    assert!(!stderr.contains("not an asyncdex store"), "{stderr}");
    std::fs::write(d.join("notes.db"), "not SQLite, ".repeat(20)).unwrap();
    let stderr = text(&crawl("notes.db", d).stderr);
    assert!(
        stderr.contains("notes.db is not an asyncdex store: it is not an SQLite database"),
        "{stderr}"
    );
}
