//! `asyncdex get` (and `names`) against a server on 127.0.0.1 that answers 200 with things that are not
//! PokeAPI resources: `null`, a number, a string, an array, 100 000 nested arrays, and an
//! object with a 5 MB name. A body that is not a JSON object fails its call (exit 1, one
//! line naming what came, never a Rust type name); an object prints, its text bounded.

use crate::common;

use common::binary::{asyncdex, text};
use common::{respond, serve};

/// A server answering `body` (JSON, 200) to every request, for up to `max` connections.
fn answering(body: String, max: usize) -> String {
    let body: &'static str = Box::leak(body.into_boxed_str());
    let base = serve(max, move |_, stream| {
        respond(stream, "200 OK", "Content-Type: application/json\r\n", body)
    });
    format!("{base}/api/v2")
}

/// `get` of one resource from `base`, without retries.
fn get(base: &str, what: &str) -> std::process::Output {
    asyncdex(&["get", what, "--api", base, "--retries", "0"])
}

#[test]
fn a_body_that_is_not_an_object_fails_its_call_naming_what_came() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for (body, says) in [
        ("null".to_owned(), "expected a JSON object, got null"),
        ("42".to_owned(), "expected a JSON object, got a number"),
        (
            r#""pikachu""#.to_owned(),
            "expected a JSON object, got a string",
        ),
        (
            "[1, 2, 3]".to_owned(),
            "expected a JSON object, got an array",
        ),
        (deep, "nested deeper than 100 levels"),
    ] {
        for what in ["pokemon/25", "move/pound", "evolution-chain/1"] {
            let out = get(&answering(body.clone(), 2), what);
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            let case = format!("{what} answered {:.20}", body);
            assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
            assert!(stderr.contains(says), "{case}: {stderr}");
            assert!(stderr.contains("1 failed"), "{case}: {stderr}");
            assert!(
                !stdout.contains("summary"),
                "{case}: nothing printed: {stdout}"
            );
            for leak in ["struct", "IgnoredAny", "panicked", "Value"] {
                assert!(!stderr.contains(leak), "{case}: {leak} in {stderr}");
            }
            let failed: Vec<&str> = stderr.lines().filter(|l| l.contains(says)).collect();
            assert_eq!(failed.len(), 1, "{case}: one line: {stderr}");
        }
    }
}

#[test]
fn an_object_missing_every_field_still_prints_its_line() {
    let out = get(&answering("{}".into(), 2), "move/pound");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("move/pound"))
        .expect(&stdout);
    assert!(line.contains("? ?, power -, accuracy -, pp -"), "{line}");
    // A Pokémon body that does not fit the model gets the one-line form, not a table row.
    let out = get(&answering(r#"{"id": 25}"#.into(), 2), "pokemon/25");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("pokemon/25"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_huge_name_is_printed_bounded_and_escaped() {
    let name = format!("\u{1b}[31m{}", "x".repeat(5_000_000));
    let body = serde_json::json!({"id": 1, "name": name}).to_string();
    let out = get(&answering(body, 2), "version/1");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("version/1"))
        .expect(&stdout);
    assert!(line.len() < 1_000, "bounded: {} bytes", line.len());
    assert!(line.contains("\\u{1b}[31mxxx"), "escaped: {line}");
    assert!(line.contains("x…"), "cut, and says so: {line}");
    assert!(
        !stdout.contains('\u{1b}'),
        "no escape sequence reaches the terminal"
    );
    // `--json` is the body whole: nothing there is shortened.
    let body = serde_json::json!({"id": 1, "name": "y".repeat(1_000_000)}).to_string();
    let out = asyncdex(&["get", "version/1", "--api", &answering(body, 2), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).len() > 1_000_000);
}

#[test]
fn names_print_a_huge_name_bounded_too() {
    let name = format!("\u{1b}]0;{}", "n".repeat(5_000_000));
    let body = serde_json::json!({"id": 1, "name": name}).to_string();
    let base = answering(body, 4);
    let out = asyncdex(&[
        "names", "1", "--ids", "1-1", "--api", &base, "--mode", "async",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = stdout.lines().find(|l| l.contains("nnn")).expect(&stdout);
    // A name in the table is a field: cut at 100 characters, as `get`'s summary is.
    assert!(line.chars().count() < 200, "bounded: {} bytes", line.len());
    assert!(
        line.contains("\\u{1b}]0;nnn") && line.contains("n…"),
        "{line}"
    );
    assert!(!stdout.contains('\u{1b}'));
}

#[test]
fn encounters_are_an_array_and_only_an_array() {
    let out = get(
        &answering(r#"[{"location_area": {"name": "a"}}]"#.into(), 2),
        "pokemon/25/encounters",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("found in 1 location area"),
        "{}",
        text(&out.stdout)
    );
    let out = get(&answering("{}".into(), 2), "pokemon/25/encounters");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("expected a JSON array, got an object"),
        "{}",
        text(&out.stderr)
    );
    // An array of what are not encounters is not encounters either (hp10 A-F4).
    let out = get(
        &answering(r#"[null,1,"s",[],{}]"#.into(), 2),
        "pokemon/25/encounters",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("expected an encounter"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("location area"));
}
