//! An output file (`--timeline`, `--trace`, `--plot`) replaces only a file of its own kind:
//! never a database, the run's cache file, or the running program. Refused before the run
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
    let db = dir.path().join("victim.db");
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
            "t.svg",
            "<svg></svg>",
            "not a trace (an SVG picture)",
        ),
        (
            "--timeline",
            "notes.txt",
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
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(trace["traceEvents"].is_array());
}

#[test]
fn the_runs_own_cache_file_is_refused_whether_or_not_it_exists_yet() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c");
    std::fs::create_dir(&cache).unwrap();
    let file = asyncdex::cache::Cache::file_for(&cache, "embedded");
    let line = format!(
        "error: --trace {}: it is a file of the run's cache (--cache {}); choose another path",
        file.display(),
        cache.display()
    );
    assert_refused(&names(&["--cache", s(&cache), "--trace", s(&file)]), &line);
    assert!(!file.exists(), "nothing made");
    let out = names(&["--cache", s(&cache)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let before = std::fs::read(&file).unwrap();
    assert_refused(&names(&["--cache", s(&cache), "--trace", s(&file)]), &line);
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    let out = names(&["--cache", s(&cache), "--timeline", wal.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
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
    let exe = dir.path().join("asyncdex");
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
