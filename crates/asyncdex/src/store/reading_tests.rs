//! The reader's plan, and a store read while it is written. As another user (a store it
//! may not write, a file it may not read): `crates/cli/tests/store_readonly.rs`.

use super::*;
use crate::store::Row;

fn row(id: i32) -> Row {
    Row::new("type", id, None, format!(r#"{{"id":{id}}}"#))
}

/// The files in `dir`, sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_plan_follows_what_lies_beside_the_store() {
    let shut = || Err("/srv cannot be written (permission denied)".to_owned());
    let at = |wal, shm, folder| Beside { wal, shm, folder };
    use Touch::{IfWritable as Follows, Never};
    for (touch, beside, want) in [
        (Follows, at(false, false, Ok(())), Plan::Live),
        (Follows, at(false, false, shut()), Plan::Frozen),
        (Follows, at(true, true, shut()), Plan::Live),
        (Follows, at(true, false, Ok(())), Plan::Live),
        (Never, at(false, false, Ok(())), Plan::Frozen),
        (Never, at(true, true, Ok(())), Plan::Live),
    ] {
        assert_eq!(plan(touch, &beside), want, "{touch:?} {beside:?}");
    }
    let Plan::Refused(why) = plan(Follows, &at(true, false, shut())) else {
        panic!("a log without its index, in a folder that cannot be written")
    };
    assert!(
        why.contains("no -shm") && why.contains("/srv cannot be written (permission denied)"),
        "{why}"
    );
    assert!(matches!(
        plan(Never, &at(true, false, Ok(()))),
        Plan::Refused(_)
    ));
}

#[test]
fn a_reader_sees_what_a_writer_adds_after_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.db");
    Store::open(&path).unwrap().put(&[row(1)]).unwrap();
    assert_eq!(names(dir.path()), ["live.db"], "closed cleanly: no log");
    let reader = Store::open_existing(&path).unwrap();
    assert_eq!(reader.entries("type").unwrap().len(), 1);
    let writer = Store::open(&path).unwrap();
    writer.put(&[row(2)]).unwrap();
    assert_eq!(reader.entries("type").unwrap().len(), 2, "the new row");
    assert!(reader.put(&[row(3)]).is_err(), "a reader cannot write");
}

#[test]
fn a_file_that_cannot_be_read_is_named_for_why_not_as_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Store::open_existing(dir.path().join("nope.db")).unwrap_err();
    assert!(missing.to_string().ends_with("no such file"), "{missing}");
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "plain text, long enough to be read as a header").unwrap();
    let err = Store::open_existing(&text).unwrap_err().to_string();
    assert!(
        err.ends_with("is not an asyncdex store: it is not an SQLite database"),
        "{err}"
    );
    // A log whose index is gone, where one may be made: read through it.
    let path = dir.path().join("logged.db");
    let writer = Store::open(&path).unwrap();
    writer
        .with(|c| c.pragma_update(None, "wal_autocheckpoint", 0))
        .unwrap();
    writer.put(&[row(1), row(2)]).unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::copy(beside(&path, "-wal"), beside(&copy, "-wal")).unwrap();
    let read = Store::open_existing(&copy).unwrap();
    assert_eq!(read.entries("type").unwrap().len(), 2, "the log's rows");
}
