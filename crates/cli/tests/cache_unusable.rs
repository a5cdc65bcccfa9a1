//! A cache that cannot be used says why: a `--cache` that is not a folder is bad input
//! (exit 2, one line, before the run); a cache file the run cannot use is named in the
//! run's closing `cache:` line with the reason, and the run goes on without it.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::binary::{as_uid, asyncdex, can_change_uid, problems, text, Case, FAST};

/// `names 3` on the embedded mirror, caching in `dir`.
fn names_cached_in(dir: &Path) -> Output {
    let mut args = vec!["names", "3", "--mode", "async", "--cache"];
    args.push(dir.to_str().unwrap());
    args.extend(FAST);
    asyncdex(&args)
}

/// The run's closing `cache:` line, the run having succeeded.
fn cache_line(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("cache: "))
        .unwrap_or_default();
    line.to_owned()
}

#[test]
fn a_cache_folder_that_is_a_file_or_a_device_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    std::fs::write(&file, "mine").unwrap();
    for (given, line) in [
        (
            file.clone(),
            format!("error: --cache {}: not a folder (a file)", file.display()),
        ),
        (
            "/dev/null".into(),
            "error: --cache /dev/null: not a folder (a device)".into(),
        ),
        (
            file.join("sub"),
            format!(
                "error: --cache {}: {} is not a folder (a file)",
                file.join("sub").display(),
                file.display()
            ),
        ),
    ] {
        let found = problems(
            &Case::usage("not a folder", &[], &line),
            &names_cached_in(&given),
        );
        assert!(found.is_empty(), "{}: {found:?}", given.display());
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    // `cache stats` and `cache clear` say so the same way.
    let out = asyncdex(&["cache", "clear", "--dir", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not a folder (a file)"));
}

#[test]
fn a_cache_file_that_cannot_be_used_is_named_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = asyncdex::cache::Cache::file_for(dir.path(), "embedded");
    // A folder where the file goes.
    std::fs::create_dir(&file).unwrap();
    let line = cache_line(&names_cached_in(dir.path()));
    assert!(
        line.contains("could not be used (it is a directory, not a file)"),
        "{line}"
    );
    std::fs::remove_dir(&file).unwrap();
    // A crawl's store under the cache's name: never used, never changed.
    drop(asyncdex::store::Store::open(&file).unwrap());
    let before = std::fs::read(&file).unwrap();
    let line = cache_line(&names_cached_in(dir.path()));
    assert!(
        line.contains("could not be used (it is a crawl store, not a cache)"),
        "{line}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[cfg(target_os = "linux")]
#[test]
fn a_folder_of_the_kernels_file_systems_is_named_as_one() {
    // `/proc` is only looked at: nothing can be made in it.
    let line = cache_line(&names_cached_in(Path::new("/proc")));
    assert!(
        line.contains("(/proc is on the kernel's proc file system, which holds no files)"),
        "{line}"
    );
}

/// A cache folder that cannot be made is a cache that cannot be written (hp9 B-F11): the
/// run goes on without it and says why. A home folder that does not exist is never made
/// to hold a cache: a one-line refusal before the run.
#[cfg(target_os = "linux")]
#[test]
fn a_cache_folder_that_cannot_be_made_means_no_cache_not_no_run() {
    let line = cache_line(&names_cached_in(Path::new("/proc/self/none/c")));
    assert!(
        line.contains("(cannot create the cache folder /proc/self/none/c: "),
        "{line}"
    );
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("gone");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(["get", "pikachu", "--cache"])
        .args(FAST)
        .env("HOME", &home)
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: the home folder {} does not exist",
            home.display()
        )),
        "{stderr}"
    );
    assert!(!home.exists(), "the home was made");
}

/// Setting garbage aside never replaces what is at the set-aside name (hp9 B-F6): an
/// earlier copy, or a link, stays; the next free name is used, and `cache clear` removes
/// them all.
#[test]
fn garbage_set_aside_never_replaces_what_was_set_aside_before() {
    let dir = tempfile::tempdir().unwrap();
    let file = asyncdex::cache::Cache::file_for(dir.path(), "embedded");
    let aside = |n: &str| std::path::PathBuf::from(format!("{}.aside{n}", file.display()));
    std::fs::write(aside(""), "the first garbage").unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "theirs").unwrap();
    std::os::unix::fs::symlink(&outside, aside(".2")).unwrap();
    for (n, garbage) in [(".3", "second"), (".4", "third")] {
        std::fs::write(&file, garbage.repeat(200)).unwrap();
        let out = names_cached_in(dir.path());
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("set aside as {}", aside(n).display())),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(aside(n)).unwrap(),
            garbage.repeat(200)
        );
    }
    assert_eq!(
        std::fs::read_to_string(aside("")).unwrap(),
        "the first garbage"
    );
    assert!(aside(".2").is_symlink(), "the link was replaced");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "theirs");
    let stats = text(&asyncdex(&["cache", "stats", "--dir", dir.path().to_str().unwrap()]).stdout);
    assert_eq!(stats.matches("set aside by a run").count(), 3, "{stats}");
    let out = asyncdex(&["cache", "clear", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for n in ["", ".3", ".4"] {
        assert!(!aside(n).exists(), "clear left {}", aside(n).display());
    }
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "theirs");
}

/// A cache file the user may not read is not garbage (hp9 B-F5): it is named for why
/// (permission denied), left where it is, and the run goes on without it.
#[test]
fn a_cache_file_that_may_not_be_read_is_left_and_named_so() {
    if !can_change_uid() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(dir.path(), mode(0o777)).unwrap();
    let file = asyncdex::cache::Cache::file_for(dir.path(), "embedded");
    assert_eq!(names_cached_in(dir.path()).status.code(), Some(0));
    std::fs::set_permissions(&file, mode(0o000)).unwrap();
    let before = std::fs::read(&file).unwrap();
    let run = format!(
        "exec \"$ASYNCDEX\" names 3 --mode async --latency 0 --jitter 0 --cache {}",
        dir.path().display()
    );
    let out = as_uid(54325, &run, dir.path());
    let line = cache_line(&out);
    assert!(
        line.contains("could not be used (permission denied)"),
        "{line}"
    );
    assert!(
        !text(&out.stderr).contains("set aside"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before, "left as it was");
    let stats = as_uid(
        54325,
        &format!(
            "exec \"$ASYNCDEX\" cache stats --dir {}",
            dir.path().display()
        ),
        dir.path(),
    );
    let stats = text(&stats.stdout);
    assert!(
        stats.contains("cannot be read: permission denied"),
        "{stats}"
    );
}

/// A cache whose first write the disk refuses (full, a quota, `ulimit -f`) is not garbage
/// to set aside: the run goes on without it, and leaves no half-made file (hp10 B-F3).
#[test]
fn a_cache_the_disk_will_not_take_is_gone_without_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -f 1 || exit 99; exec \"$ASYNCDEX\" names 3 --mode async --latency 0 --jitter 0 --cache {}",
            dir.path().display()
        ))
        .env("ASYNCDEX", env!("CARGO_BIN_EXE_asyncdex"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    if out.status.code() == Some(99) {
        eprintln!("skipped: ulimit -f cannot be set");
        return;
    }
    let stderr = text(&out.stderr);
    let line = cache_line(&out);
    assert!(line.contains("the cache file could not be used"), "{line}");
    assert!(!stderr.contains("set aside"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
