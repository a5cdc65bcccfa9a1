//! Paths reach the terminal escaped: a file or folder named with an escape sequence
//! (`ESC [31m` recolours, `ESC ] 0; … BEL` retitles the window) or a bidirectional
//! override (U+202E reorders what follows) is shown as `\u{1b}`… in every line that names
//! it, from `--out`, `--to`, `--dir`, `--cache`, `--from` or `$HOME`. A server's names
//! reach JSON lines escaped too: `\u009b`, `\u202e`, `\u2028`, the same string once
//! parsed, never the raw character.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::binary::{text, FAST};

/// What a hostile name holds: colour, a window title, a right-to-left override.
const HOSTILE: &str = "\u{1b}[31mRED\u{1b}]0;pwn\u{7}\u{202e}x";

/// How [`HOSTILE`] looks once escaped.
const SHOWN: &str = "\\u{1b}[31mRED\\u{1b}]0;pwn\\u{7}\\u{202e}x";

/// Runs asyncdex with `args` and `env` added (HOME and XDG_CACHE_HOME unset first).
fn run(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_asyncdex"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("XDG_CACHE_HOME");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("asyncdex runs")
}

/// Problems with `out`: a raw control or override character anywhere, or `needle`
/// (the escaped name, showing the path was printed at all) missing.
fn problems(what: &str, out: &Output, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    if !out.status.success() {
        found.push(format!("{what}: {}: {stderr}", out.status));
    }
    for (name, bytes, shown) in [
        ("stdout", &out.stdout, &stdout),
        ("stderr", &out.stderr, &stderr),
    ] {
        if bytes.iter().any(|&b| b == 0x1b || b == 0x07) {
            found.push(format!("{what}: a raw ESC/BEL in {name}: {shown:?}"));
        }
        if shown.contains('\u{202e}') {
            found.push(format!("{what}: a raw U+202E in {name}: {shown:?}"));
        }
    }
    if !format!("{stdout}{stderr}").contains(needle) {
        found.push(format!(
            "{what}: {needle:?} not shown in {stdout:?} / {stderr:?}"
        ));
    }
    found
}

#[test]
fn every_printed_path_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let path = |name: &str| root.join(format!("{name}{HOSTILE}"));
    let arg = |p: &Path| p.to_str().unwrap().to_owned();
    let mut found = Vec::new();

    // crawl --out: the opening "into …" line and the closing "stored in …" line.
    let db = path("store.db");
    let mut args = vec!["crawl", "--resources", "type", "--out"];
    let out_arg = arg(&db);
    args.push(&out_arg);
    args.extend(FAST);
    let out = run(&args, &[]);
    found.extend(problems("crawl --out", &out, &format!("store.db{SHOWN}")));
    let stderr = text(&out.stderr);
    if stderr.matches(SHOWN).count() < 2 {
        found.push(format!("crawl: both lines name the store: {stderr:?}"));
    }

    // export --from … --to: the closing line names the folder twice.
    let to = arg(&path("site"));
    let out = run(&["export", "--from", &out_arg, "--to", &to], &[]);
    found.extend(problems("export --to", &out, &format!("site{SHOWN}")));

    // cache stats --dir, cache clear --dir, and the folder under $HOME.
    let cache = arg(&path("cache"));
    let out = run(&["cache", "stats", "--dir", &cache], &[]);
    found.extend(problems(
        "cache stats --dir",
        &out,
        &format!("cache{SHOWN}"),
    ));
    let out = run(&["cache", "clear", "--dir", &cache], &[]);
    found.extend(problems(
        "cache clear --dir",
        &out,
        &format!("cache{SHOWN}"),
    ));
    let home = path("home");
    std::fs::create_dir(&home).unwrap();
    let out = run(&["cache", "stats"], &[("HOME", &home)]);
    found.extend(problems(
        "cache stats under $HOME",
        &out,
        &format!("home{SHOWN}"),
    ));

    // A fetching run's cache line names the cache file.
    let mut args = vec!["names", "2", "--mode", "async", "--cache", &cache];
    args.extend(FAST);
    let out = run(&args, &[]);
    found.extend(problems("names --cache", &out, &format!("cache{SHOWN}")));

    // serve --from: the banner names the folder.
    let mut child = Command::new(env!("CARGO_BIN_EXE_asyncdex"))
        .args(["serve", "--from", &to, "--bind", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner);
    common::signal(child.id(), "TERM");
    let _ = child.wait();
    read.unwrap();
    if banner.contains(['\u{1b}', '\u{7}', '\u{202e}']) || !banner.contains(SHOWN) {
        found.push(format!("serve --from: banner {banner:?}"));
    }

    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_path_in_an_error_line_is_escaped() {
    // The one `error:` line escapes whatever the message quotes, paths included.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(format!("none{HOSTILE}.db"));
    let to = dir.path().join("out");
    let out = run(
        &[
            "export",
            "--from",
            missing.to_str().unwrap(),
            "--to",
            to.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(&format!("none{SHOWN}.db")), "{stderr:?}");
    assert!(!out.stderr.contains(&0x1b), "{stderr:?}");
}

#[test]
fn a_bad_value_in_a_usage_error_is_escaped() {
    // clap quotes the value it refuses; its own styling is stripped, but not a carriage
    // return (it would overwrite the start of the line), a C1 CSI or an override.
    let dir = tempfile::tempdir().unwrap();
    let out_arg = dir.path().join("no\r\u{9b}31m\u{202e}/x.db");
    for args in [
        vec!["names", "5\r\u{9b}31m\u{202e}x"],
        vec!["crawl", "--out", out_arg.to_str().unwrap()],
    ] {
        let out = run(&args, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(
            !stderr.contains(['\r', '\u{9b}', '\u{202e}']),
            "{args:?}: {stderr:?}"
        );
        assert!(
            stderr.contains("\\r\\u{9b}31m\\u{202e}"),
            "{args:?}: {stderr:?}"
        );
    }
}

#[test]
fn a_warning_quoting_a_path_is_escaped() {
    // A garbage file where the cache file would be: warned about, naming the path.
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join(format!("cache{HOSTILE}"));
    let mut args = vec![
        "names",
        "2",
        "--mode",
        "async",
        "--cache",
        cache.to_str().unwrap(),
    ];
    args.extend(FAST);
    run(&args, &[]);
    let files: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one cache file: {files:?}");
    std::fs::write(files[0].path(), "garbage").unwrap();
    let out = run(&args, &[]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("WARN"), "a warning: {stderr:?}");
    assert!(!out.stderr.contains(&0x1b), "{stderr:?}");
    assert!(!stderr.contains('\u{202e}'), "{stderr:?}");
    assert!(stderr.contains("\\u{202e}x"), "{stderr:?}");
}

/// A name as a hostile server may send it, each character raw in the body: C1 CSI
/// (U+009B) and NEL (U+0085), overrides and isolates, a line separator, DEL.
const HOSTILE_NAME: &str = "pika\u{9b}31m\u{202e}RED\u{2066}x\u{85}y\u{2028}z\u{2029}\u{7f}";

/// Whether JSON output must not hold `c` raw: a control (but the line's own `\n`), a
/// bidirectional control, U+2028 or U+2029.
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
        )
        || matches!(c, '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

#[test]
fn a_servers_names_reach_json_lines_escaped() {
    // serde_json writes all of them raw: the body holds the characters themselves.
    let body = serde_json::json!({"id": 1, "name": HOSTILE_NAME}).to_string();
    assert!(body.contains('\u{9b}'));
    let body: &'static str = Box::leak(body.into_boxed_str());
    let base = common::serve(40, move |_, stream| {
        common::respond(stream, "200 OK", "Content-Type: application/json\r\n", body)
    });
    let base = format!("{base}/api/v2");
    let api = ["--api", &base, "--retries", "0", "--json"];
    for (what, args, names) in [
        (
            "names --json",
            vec!["names", "3", "--ids", "1-3", "--mode", "async"],
            "names",
        ),
        ("stream --json", vec!["stream", "3", "--ids", "1-3"], "name"),
        ("get --json", vec!["get", "pokemon/1"], "name"),
    ] {
        let out = run(&[args.as_slice(), &api].concat(), &[]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{what}: {stderr}");
        let raw: Vec<char> = format!("{stdout}{stderr}")
            .chars()
            .filter(|&c| hidden(c))
            .collect();
        assert!(
            raw.is_empty(),
            "{what}: raw {raw:?} in {stdout:?} / {stderr:?}"
        );
        assert!(
            stdout.contains(r"pika\u009b31m\u202eRED\u2066x\u0085y\u2028z\u2029\u007f"),
            "{what}: {stdout}"
        );
        let lines = common::binary::json_lines(&out);
        assert!(!lines.is_empty(), "{what}: {stdout}");
        for line in &lines {
            let parsed = match &line[names] {
                serde_json::Value::Array(all) => all.clone(),
                one => vec![one.clone()],
            };
            assert!(!parsed.is_empty(), "{what}: {line}");
            assert!(
                parsed.iter().all(|n| n == HOSTILE_NAME),
                "{what}: the same name: {line}"
            );
        }
    }
}
