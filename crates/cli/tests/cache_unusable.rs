//! A cache that cannot be used says why: a `--cache` that is not a folder is bad input
//! (exit 2, one line, before the run); a cache file the run cannot use is named in the
//! run's closing `cache:` line with the reason, and the run goes on without it.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::binary::{asyncdex, problems, text, Case, FAST};

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
