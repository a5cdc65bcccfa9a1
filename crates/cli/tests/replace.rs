//! An output file (`--timeline`, `--trace`, `--plot`) replaces only a file of its own kind
//! that asyncdex wrote, and only this user's (any user's, for root, keeping its owner):
//! never a database, a hand-drawn picture, the run's cache file, or the running program. Refused before the run
//! (exit 2, one line, nothing fetched); refused again when it is written, should the file
//! appear meanwhile (exit 1, one line, the run's results printed all the same).

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::binary::{asyncdex, problems, text, Case, FAST};

/// `names 3` with `extra` flags.
fn names(extra: &[&str]) -> Output {
    let mut args = vec!["names", "3", "--mode", "async"];
    args.extend(FAST);
    args.extend(extra);
    asyncdex(&args)
}

/// Exit 2, nothing on stdout, and one `error:` line that is `line`.
fn assert_refused(out: &Output, line: &str) {
    let found = problems(&Case::usage("refused", &[], line), out);
    assert!(found.is_empty(), "{found:?}");
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_database_or_any_other_kind_of_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("victim.svg");
    let bytes = b"SQLite format 3\0 and the rest of a database";
    std::fs::write(&db, bytes).unwrap();
    assert_refused(
        &names(&["--timeline", s(&db)]),
        &format!(
            "error: --timeline {}: it exists and is not a timeline (a SQLite database); remove it or choose another path",
            db.display()
        ),
    );
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
    // A JSON file that is not a trace, an SVG given as a trace, a program's text.
    for (flag, name, contents, what) in [
        (
            "--trace",
            "package.json",
            "{\"name\": \"x\"}",
            "not a trace (a JSON document)",
        ),
        (
            "--trace",
            "svg.json",
            "<svg></svg>",
            "not a trace (an SVG picture)",
        ),
        (
            "--timeline",
            "notes.svg",
            "my notes\n",
            "not a timeline (a text file)",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let out = names(&[flag, s(&path)]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(what),
            "{name}: {}",
            text(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), contents);
    }
    let plot = asyncdex(&["bench", "--sizes", "1", "--plot", s(&db)]);
    assert_eq!(plot.status.code(), Some(2), "{}", text(&plot.stderr));
    assert!(text(&plot.stderr).contains("is not a chart (a SQLite database)"));
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
}

#[test]
fn a_file_named_for_the_other_output_is_refused() {
    // Swapped: each would get the other's contents.
    let dir = tempfile::tempdir().unwrap();
    let (svg, json) = (dir.path().join("t.svg"), dir.path().join("t.json"));
    for (flag, path, line) in [
        (
            "--timeline",
            &json,
            "a timeline is an SVG picture; give a file name ending in .svg",
        ),
        (
            "--trace",
            &svg,
            "a trace is a JSON trace; give a file name ending in .json",
        ),
    ] {
        let out = names(&[flag, s(path)]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(line), "{}", text(&out.stderr));
        assert!(!path.exists());
    }
    let plot = asyncdex(&["bench", "--sizes", "1", "--plot", "pokedex.db"]);
    assert_eq!(plot.status.code(), Some(2), "{}", text(&plot.stderr));
    assert!(text(&plot.stderr).contains("ending in .svg"));
    // Any case.
    let upper = dir.path().join("T.SVG");
    assert_eq!(names(&["--timeline", s(&upper)]).status.code(), Some(0));
}

#[test]
fn a_picture_asyncdex_did_not_write_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (svg, json) = (dir.path().join("logo.svg"), dir.path().join("t.json"));
    let logo = "<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"5\"/></svg>";
    let trace = "{\"traceEvents\":[{\"name\":\"mine\",\"ph\":\"X\"}]}";
    std::fs::write(&svg, logo).unwrap();
    std::fs::write(&json, trace).unwrap();
    for (flag, path, what) in [
        ("--timeline", &svg, "an SVG picture"),
        ("--trace", &json, "a JSON trace"),
    ] {
        assert_refused(
            &names(&[flag, s(path)]),
            &format!(
                "error: {flag} {}: it exists and is {what} that asyncdex did not write; remove it or choose another path",
                path.display()
            ),
        );
    }
    assert_eq!(std::fs::read_to_string(&svg).unwrap(), logo);
    assert_eq!(std::fs::read_to_string(&json).unwrap(), trace);
}

#[test]
fn a_replaced_picture_keeps_its_owner_group_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // SAFETY: reads this process's effective user id.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can make a file of another user's to replace");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("t.svg");
    assert_eq!(names(&["--timeline", s(&svg)]).status.code(), Some(0));
    std::os::unix::fs::chown(
        &svg,
        Some(common::binary::NOBODY),
        Some(common::binary::NOBODY),
    )
    .unwrap();
    std::fs::set_permissions(&svg, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&svg).unwrap().ino();
    let out = names(&["--timeline", s(&svg)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let meta = std::fs::metadata(&svg).unwrap();
    assert_ne!(meta.ino(), before, "replaced");
    assert_eq!(
        (meta.uid(), meta.gid()),
        (common::binary::NOBODY, common::binary::NOBODY)
    );
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
}

#[test]
fn a_folder_this_user_cannot_write_or_another_users_file_is_refused_before_the_run() {
    use std::os::unix::fs::PermissionsExt;
    // File modes do not stop root: run as `nobody`, which only root can become.
    if !common::binary::can_change_uid() {
        return;
    }
    let chmod = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755).unwrap();
    let (closed, open, sticky) = (
        dir.path().join("closed"),
        dir.path().join("open"),
        dir.path().join("sticky"),
    );
    for (folder, mode) in [(&closed, 0o755), (&open, 0o777), (&sticky, 0o1777)] {
        std::fs::create_dir(folder).unwrap();
        chmod(folder, mode).unwrap();
    }
    // Root's own timeline, writable by anyone, in the two folders anyone may write.
    let mut cases = vec![(
        closed.join("t.svg"),
        "cannot be written (permission denied)".to_owned(),
    )];
    for folder in [&open, &sticky] {
        let svg = folder.join("t.svg");
        assert_eq!(names(&["--timeline", s(&svg)]).status.code(), Some(0));
        chmod(&svg, 0o666).unwrap();
        cases.push((svg, "it is another user's file (uid 0)".to_owned()));
    }
    for (path, why) in cases {
        let before = std::fs::read(&path).ok();
        let mut args = vec!["names", "3", "--mode", "async"];
        args.extend(FAST);
        args.extend(["--timeline", s(&path)]);
        let out = common::binary::asyncdex_as(common::binary::NOBODY)
            .args(&args)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(why.as_str()),
            "{}: {stderr}",
            path.display()
        );
        assert!(out.stdout.is_empty(), "refused before the run");
        assert_eq!(std::fs::read(&path).ok(), before, "left as it was");
    }
}

#[test]
fn a_picture_replaces_an_earlier_picture_of_its_kind_and_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let (svg, json) = (dir.path().join("t.svg"), dir.path().join("t.json"));
    std::fs::write(&svg, "").unwrap();
    let args = ["--timeline", s(&svg), "--trace", s(&json)];
    for run in 0..2 {
        let out = names(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {run}: {}",
            text(&out.stderr)
        );
    }
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with(asyncdex::files::mark::SVG), "marked: {svg}");
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(trace["traceEvents"].is_array());
}

#[test]
fn the_runs_own_cache_file_is_refused_under_any_name() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c");
    std::fs::create_dir(&cache).unwrap();
    let out = names(&["--cache", s(&cache)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = asyncdex::cache::Cache::file_for(&cache, "embedded");
    let before = std::fs::read(&file).unwrap();
    // Its own name is no trace's (`.db`); a hard link gives it one.
    let link = dir.path().join("t.json");
    std::fs::hard_link(&file, &link).unwrap();
    let line = format!(
        "error: --trace {}: it is a file of the run's cache (--cache {}); choose another path",
        link.display(),
        cache.display()
    );
    assert_refused(&names(&["--cache", s(&cache), "--trace", s(&link)]), &line);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the cache is as it was"
    );
}

#[test]
fn the_running_program_is_refused() {
    // A hard link to the binary, beside it (one file system): the program run by that
    // name is asked to draw over itself.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let exe = dir.path().join("asyncdex.svg");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_asyncdex"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_asyncdex"), &exe).unwrap();
    }
    let size = std::fs::metadata(&exe).unwrap().len();
    let mut args = vec!["names", "3"];
    args.extend(FAST);
    args.extend(["--timeline", s(&exe)]);
    let out = std::process::Command::new(&exe)
        .args(&args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_refused(
        &out,
        &format!(
            "error: --timeline {}: it is the asyncdex program running now; choose another path",
            exe.display()
        ),
    );
    assert_eq!(std::fs::metadata(&exe).unwrap().len(), size);
}

#[test]
fn a_file_that_appears_during_the_run_is_left_and_the_results_still_printed() {
    let dir = tempfile::tempdir().unwrap();
    let (svg, json) = (dir.path().join("late.svg"), dir.path().join("late.json"));
    // Ten calls one after another at 200 ms each: two seconds in which the file appears.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(["names", "10", "--mode", "sequential", "--latency", "200"])
        .args(["--jitter", "0", "--timeline", s(&svg), "--trace", s(&json)])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let db = b"SQLite format 3\0 a database made during the run";
    std::fs::write(&svg, db).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        text(&out.stdout).contains("sequential"),
        "the table is printed"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("sequential: 10 calls: 10 ok")),
        "the summary is printed: {stderr}"
    );
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert_eq!(lines.last(), errors.first().copied(), "said last: {stderr}");
    assert!(
        errors[0].contains("it is a SQLite database, not an SVG picture"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&svg).unwrap(), db, "left as it was");
    assert!(std::fs::read_to_string(&json)
        .unwrap()
        .contains("traceEvents"));
}
