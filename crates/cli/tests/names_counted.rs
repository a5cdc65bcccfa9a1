//! `asyncdex names` against a server that counts what it is asked: a comparison of modes
//! gives every mode the same start (each makes its own requests, no cache between them),
//! and a picture that cannot be written is said after the names and the summary, never
//! instead of them (`stream` too).

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::binary::{asyncdex, text};

/// A PokeAPI on 127.0.0.1 that answers `pokemon/N` with a Pokémon named `p-N` (kept a
/// day, as PokeAPI says), counting those requests; `first` runs before the first answer.
/// At most `max` connections (one per request). Returns the API root and the count.
fn counting_api(
    max: usize,
    first: impl Fn() + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let base = common::serve(max, move |request, stream| {
        let Some(id) = request
            .path()
            .strip_prefix("/api/v2/pokemon/")
            .map(|rest| rest.trim_end_matches('/').to_owned())
        else {
            common::respond(stream, "404 Not Found", "", "{}");
            return;
        };
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            first();
        }
        let body = format!(r#"{{"id":{id},"name":"p-{id}"}}"#);
        let headers = "Content-Type: application/json\r\nCache-Control: public, max-age=86400\r\n";
        common::respond(stream, "200 OK", headers, &body);
    });
    (format!("{base}/api/v2"), count)
}

/// `names 4` of ids 1-50 (no list request) from `api`, with `extra` flags.
fn names(api: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["names", "4", "--ids", "1-50", "--seed", "7", "--api", api];
    args.extend(extra);
    asyncdex(&args)
}

#[test]
fn each_mode_of_a_comparison_makes_its_own_requests_and_one_mode_uses_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    let (api, count) = counting_api(40, || {});

    // A comparison uses no cache, so a typed --cache would do nothing: it is refused.
    let refused = names(&api, &["--cache", cache]);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: --cache is for one mode's run, and --mode all compares"),
        "{stderr}"
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "nothing was asked: {stderr}"
    );
    assert!(
        !std::path::Path::new(cache).exists(),
        "no cache folder made"
    );

    let all = names(&api, &[]);
    let stderr = text(&all.stderr);
    assert_eq!(all.status.code(), Some(0), "{stderr}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        3 * 4,
        "every mode asked the server for every call: {stderr}"
    );
    assert!(!stderr.contains("answered from disk"), "{stderr}");

    // One mode: the cache is used, and a second run asks the server nothing.
    let first = names(&api, &["--mode", "async", "--cache", cache]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let after_first = count.load(Ordering::SeqCst);
    assert!(after_first > 3 * 4, "the first run went to the network");
    let warm = names(&api, &["--mode", "async", "--cache", cache]);
    let stderr = text(&warm.stderr);
    assert_eq!(warm.status.code(), Some(0), "{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), after_first, "{stderr}");
    assert!(stderr.contains("4 answered from disk"), "{stderr}");
    assert!(!stderr.contains("not used for a comparison"), "{stderr}");
    let names_line = |out: &std::process::Output| {
        let stdout = text(&out.stdout);
        stdout
            .lines()
            .find(|l| l.contains("1. p-"))
            .map(str::to_owned)
    };
    assert!(names_line(&first).is_some(), "{}", text(&first.stdout));
    assert_eq!(names_line(&warm), names_line(&first), "the same names");
}

#[test]
fn a_picture_that_cannot_be_written_is_one_error_line_after_the_names_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.json");
    // Checked before the run (nothing there: fine), then made a folder while the run
    // fetches: the write at the end fails, as on a disk that filled up.
    let blocker = trace.clone();
    let (api, _count) = counting_api(40, move || {
        std::fs::create_dir(&blocker).unwrap();
        std::fs::write(blocker.join("keep"), "x").unwrap();
    });
    let out = names(&api, &["--trace", trace.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for name in ["p-", "sequential", "threads", "async", "speedup"] {
        assert!(stdout.contains(name), "missing {name}: {stdout}");
    }
    let lines: Vec<&str> = stderr.lines().collect();
    for mode in ["sequential", "threads", "async"] {
        let summary = format!("{mode}: 4 calls: 4 ok");
        assert!(lines.iter().any(|l| l.starts_with(&summary)), "{stderr}");
    }
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert_eq!(lines.last(), errors.first().copied(), "said last: {stderr}");
    assert!(errors[0].contains("t.json"), "{stderr}");
    assert!(trace.is_dir(), "the folder is as it was");
}

#[test]
fn stream_too_prints_its_names_and_summary_before_a_failed_picture() {
    let dir = tempfile::tempdir().unwrap();
    let timeline = dir.path().join("t.svg");
    let blocker = timeline.clone();
    let (api, _count) = counting_api(10, move || std::fs::create_dir(&blocker).unwrap());
    let out = asyncdex(&[
        "stream",
        "3",
        "--ids",
        "1-50",
        "--api",
        &api,
        "--timeline",
        timeline.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(text(&out.stdout).matches(" p-").count(), 3, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("stream: 3 calls: 3 ok")),
        "{stderr}"
    );
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("error: ") && last.contains("t.svg"),
        "{stderr}"
    );
    assert_eq!(lines.iter().filter(|l| l.starts_with("error:")).count(), 1);
}
