//! Outside text is cut twice: a value in a table at 100 characters, and every line,
//! however many values it quotes, at 1 000 (then `…`). A hostile server's 3 000-character
//! endpoint name, a program's 100 000-character device names, a redirect to a 60 000-
//! character Location: each leaves lines a terminal can show.

use crate::common;

use std::process::Output;

use common::binary::{asyncdex, text, FAST};

/// The most characters of outside text a line shows, and a value in a table.
const LINE: usize = 1000;
const FIELD: usize = 100;

/// Every line of stdout and stderr at most [`LINE`] characters and the `…` of its cut.
fn every_line_bounded(what: &str, out: &Output) {
    for (name, stream) in [("stdout", text(&out.stdout)), ("stderr", text(&out.stderr))] {
        for line in stream.lines() {
            let n = line.chars().count();
            assert!(
                n <= LINE || (n == LINE + 1 && line.contains('…')),
                "{what}: a {n}-character line in {name}: {}…",
                line.chars().take(200).collect::<String>()
            );
        }
    }
}

/// The longest run of `c` in `text`: how much of a long name a line shows.
fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// A PokeAPI whose one endpoint is named with 3 000 `e`s, holding one resource.
fn long_endpoint_api() -> String {
    let name: &'static str = Box::leak("e".repeat(3000).into_boxed_str());
    let base = common::serve(40, move |request, stream| {
        let path = request.path().split('?').next().unwrap_or("").to_owned();
        let root = "/api/v2/";
        let rest = path.strip_prefix(root).unwrap_or("").trim_end_matches('/');
        let host = request.header("host").unwrap_or("127.0.0.1");
        let base = format!("http://{host}{root}");
        let body = match rest.split('/').collect::<Vec<_>>()[..] {
            [""] => serde_json::json!({ name: format!("{base}{name}/") }),
            [_] => serde_json::json!({
                "count": 1, "next": null, "previous": null,
                "results": [{"name": "n1", "url": format!("{base}{name}/1/")}],
            }),
            _ => serde_json::json!({"id": 1, "name": "n1"}),
        };
        let json = "Content-Type: application/json\r\n";
        common::respond(stream, "200 OK", json, &body.to_string());
    });
    format!("{base}/api/v2")
}

#[test]
fn a_crawl_manifest_row_shows_a_long_endpoint_in_a_cell() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("long.db");
    let api = long_endpoint_api();
    let args = ["crawl", "--api", &api, "--out", db.to_str().unwrap()];
    let out = asyncdex(&[&args[..], &["--retries", "0"]].concat());
    // Such a name may be refused (not crawled, exit 3) or crawled: either way its row in
    // the manifest, and every line that names it, is bounded.
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{}",
        text(&out.stderr)
    );
    every_line_bounded("crawl", &out);
    let stdout = text(&out.stdout);
    // Refused, the name is shown quoted: its row starts with the quote.
    let row = stdout
        .lines()
        .find(|l| l.trim_start_matches('"').starts_with("eee"))
        .expect("its row");
    assert!(
        longest_run(row, 'e') <= FIELD,
        "the cell is cut at 100: {row}"
    );
    assert!(row.chars().count() < 200, "{row}");
    assert!(
        longest_run(&text(&out.stderr), 'e') < LINE,
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_program_with_long_device_names_prints_bounded_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = ("a".repeat(100_000), "b".repeat(100_000));
    let file = dir.path().join("long.toml");
    let program = format!(
        "name = \"long\"\n[devices]\n\"{a}\" = \"hue-light\"\n\"{b}\" = \"hue-light\"\n\
         [[steps]]\ndevice = \"{a}\"\nsend = \"connect\"\n\
         [[steps]]\ndevice = \"{b}\"\nsend = \"connect\"\n"
    );
    std::fs::write(&file, program).unwrap();
    // No fetch step: a typed `--latency` would do nothing, and is refused.
    let out = asyncdex(&["program", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    every_line_bounded("program", &out);
    let stdout = text(&out.stdout);
    // The header lists both devices: one line, cut.
    let header = stdout.lines().next().unwrap();
    assert!(header.contains('…'), "{}", &header[..200]);
    // Each step's label is a cell: at most 100 of the name's characters.
    let steps: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("aaa"))
        .skip(1)
        .collect();
    assert!(!steps.is_empty(), "{stdout}");
    for row in steps {
        assert!(longest_run(row, 'a') <= FIELD, "{}", &row[..200]);
    }
}

#[test]
fn a_long_redirect_location_is_one_bounded_failure_line() {
    let location: &'static str = Box::leak(format!("/api/v2/{}", "l".repeat(60_000)).into());
    let base = common::serve(40, move |_, stream| {
        let headers = format!("Location: {location}\r\n");
        common::respond(stream, "302 Found", &headers, "");
    });
    let api = format!("{base}/api/v2");
    let out = asyncdex(&["get", "pokemon/3", "--api", &api, "--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    every_line_bounded("get", &out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("redirect"), "{stderr}");
    assert!(stderr.contains('…'), "cut: {stderr}");
}

/// A server that answers every other request with 503, the rest with JSON.
fn half_failing_api() -> String {
    let count = std::sync::atomic::AtomicUsize::new(0);
    let base = common::serve(40, move |_, stream| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let json = "Content-Type: application/json\r\n";
        match n % 2 {
            0 => common::respond(stream, "200 OK", json, r#"{"id":25,"name":"pikachu"}"#),
            _ => common::respond(stream, "503 Service Unavailable", json, "{}"),
        }
    });
    format!("{base}/api/v2")
}

#[test]
fn blocking_says_how_many_calls_failed_and_why() {
    let api = half_failing_api();
    let args = [
        "blocking", "--mode", "before", "--calls", "4", "--api", &api,
    ];
    let out = asyncdex(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "some failed: {stderr}");
    assert!(
        stderr.contains("blocking: before: 4 calls: 2 ok, 2 failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  failed: call 2: HTTP 503 from http://127.0.0.1"),
        "the first failure, as names lists one: {stderr}"
    );
    every_line_bounded("blocking", &out);

    // --json says it too, and every call failing is the run's error (exit 1).
    let api = half_failing_api();
    let args = [
        "blocking", "--mode", "before", "--calls", "4", "--api", &api, "--json",
    ];
    let out = asyncdex(&args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let line = &common::binary::json_lines(&out)[0];
    assert_eq!(
        (line["ok"].as_u64(), line["failed"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(line["first_failure"].as_str().unwrap().contains("HTTP 503"));
    let refused = common::refused_url();
    let out = asyncdex(&["blocking", "--mode", "before", "--api", &refused]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("error: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_ordinary_table_is_left_whole() {
    // Lines far below the cut are written as they came.
    let out = asyncdex(
        &[
            &["names", "3", "--ids", "1-3", "--mode", "async"][..],
            &FAST,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    every_line_bounded("names", &out);
    assert!(text(&out.stdout).contains("1."), "{}", text(&out.stdout));
}

/// hp11 B-F4: a path past PATH_MAX (22 folders of 200 `d`s, in a missing folder) makes
/// its error line long; the line is cut in its middle, so its end, the reason, is shown.
/// So is the cache's warning (a log line), cut like every other line.
#[test]
fn a_long_path_is_cut_in_its_middle_and_the_reason_is_shown() {
    let long = vec!["d".repeat(200); 22].join("/");
    let timeline = format!("missing/{long}/t.svg");
    let out = asyncdex(&["names", "3", "--timeline", &timeline]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    every_line_bounded("names --timeline", &out);
    let stderr = text(&out.stderr);
    let error = stderr.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(error.contains("ddd…ddd"), "cut in the path: {error}");
    assert!(
        error.ends_with("ddd: File name too long (os error 36) (see --help)"),
        "{error}"
    );

    let cache = format!("missing/{long}/c");
    let out = asyncdex(&["get", "25", "--latency", "1", "--cache", &cache]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    every_line_bounded("get --cache", &out);
    let stderr = text(&out.stderr);
    let warning = stderr.lines().find(|l| l.contains("WARN")).unwrap();
    assert!(
        warning.ends_with("/c: File name too long (os error 36)"),
        "{warning}"
    );
    let summary = stderr.lines().find(|l| l.starts_with("cache:")).unwrap();
    assert!(summary.ends_with("File name too long (os error 36)), and was left as it was"));
}
