//! Serving what was crawled (`serve --from` a store or an exported folder): answered like
//! the embedded Pokédex, and a folder never exposes anything outside it, whether reached
//! by `..`, encoded separators, absolute paths or symlinks that lead out.

use crate::common;

use std::path::Path;

use asyncdex::export::export;
use asyncdex::mirror::{app, Data, Mirror, MirrorConfig, MirrorState};
use asyncdex::store::Store;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::crawl::crawl_into;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Answers `uri` through the mirror's router, in process: the status and the body as text.
async fn get(state: &std::sync::Arc<MirrorState>, uri: &str) -> (StatusCode, String) {
    let resp = app(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_store_is_served_like_the_embedded_api() {
    let embedded = MirrorState::new("http://mirror.test/api/v2", MirrorConfig::default());
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let store = Store::open_in_memory().unwrap();
    crawl_into(mirror.base_url(), &store, Some(&["pokemon", "type"])).await;
    mirror.stop().await;
    let from_store = MirrorState::with_data(
        "http://mirror.test/api/v2",
        MirrorConfig::default(),
        Data::store(store).unwrap(),
    );
    // Every URI answered the same, or the test lists each that is not.
    let mut failures = Vec::new();
    for (what, uri) in [
        ("a pokemon by id", "/api/v2/pokemon/25/"),
        ("a pokemon by name in capitals", "/api/v2/pokemon/PIKACHU"),
        (
            "the last page of a list",
            "/api/v2/pokemon/?limit=3&offset=1348",
        ),
        ("a whole list", "/api/v2/type/"),
        ("a type by name", "/api/v2/type/electric/"),
        ("an id nobody has", "/api/v2/pokemon/99999/"),
        ("a name nobody has", "/api/v2/pokemon/agumon/"),
        ("an endpoint neither has", "/api/v2/digimon/1/"),
    ] {
        let want = get(&embedded, uri).await;
        let got = get(&from_store, uri).await;
        if got != want {
            failures.push(format!("{what} ({uri}): got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // What the store does not hold is not served, even if the embedded data has it.
    assert_eq!(
        get(&from_store, "/api/v2/pokemon-species/25/").await.0,
        StatusCode::BAD_REQUEST
    );
}

/// A folder that a store was exported into, a secret beside it, and links leading out.
fn folder_with_traps() -> (tempfile::TempDir, std::path::PathBuf) {
    let outside = tempfile::tempdir().unwrap();
    let served = outside.path().join("served");
    std::fs::write(
        outside.path().join("secret.json"),
        r#"{"secret":"TOPSECRET"}"#,
    )
    .unwrap();
    let store = Store::open_in_memory().unwrap();
    let rows = (1..=3).map(|id| {
        asyncdex::store::Row::new(
            "type",
            id,
            Some(format!("t{id}")),
            format!(r#"{{"id":{id},"name":"t{id}"}}"#).into_bytes(),
        )
    });
    store.put(&rows.collect::<Vec<_>>()).unwrap();
    export(&store, &served).unwrap();
    // type 3 is a link to a folder outside; so is a whole list named "evil".
    let secret_dir = outside.path().join("secret-dir");
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("index.json"), r#"{"id":3,"secret":"TOPSECRET","count":1,"results":[{"name":"x","url":"/api/v2/evil/1/"}]}"#).unwrap();
    let type3 = served.join("data/api/v2/type/3");
    std::fs::remove_dir_all(&type3).unwrap();
    symlink(&secret_dir, &type3);
    symlink(&secret_dir, &served.join("data/api/v2/evil"));
    (outside, served)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(not(unix))]
fn symlink(_: &Path, _: &Path) {}

#[tokio::test]
async fn a_served_folder_never_exposes_anything_outside_it() {
    let (_outside, served) = folder_with_traps();
    let state = MirrorState::with_data(
        "http://mirror.test/api/v2",
        MirrorConfig::default(),
        Data::dir(&served).unwrap(),
    );
    let (status, body) = get(&state, "/api/v2/type/1/").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"id":1,"name":"t1"}"#)
    );
    let mut failures = Vec::new();
    for (what, uri) in [
        ("dot-dot above the api root", "/api/v2/../secret.json"),
        (
            "dot-dot twice above the api root",
            "/api/v2/../../secret.json",
        ),
        (
            "dot-dot from inside a list",
            "/api/v2/type/../../../secret.json",
        ),
        ("encoded slashes", "/api/v2/type/..%2F..%2F..%2Fsecret.json"),
        (
            "encoded dots and slashes",
            "/api/v2/type/%2E%2E%2F%2E%2E%2Fsecret.json",
        ),
        ("encoded dots, lower case", "/api/v2/%2e%2e/secret.json"),
        (
            "dot-dot after a resource",
            "/api/v2/type/1/../../../../secret.json",
        ),
        ("an absolute path in a list", "/api/v2/type//etc/passwd"),
        ("an encoded absolute path", "/api/v2/type/%2Fetc%2Fpasswd"),
        ("an absolute path at the root", "/api/v2//etc/passwd"),
        ("a list that is a symlink out", "/api/v2/evil/"),
        ("a resource inside a symlinked list", "/api/v2/evil/1/"),
        ("a NUL byte", "/api/v2/type/1%00/"),
        ("a negative id", "/api/v2/type/-1/"),
    ] {
        let (status, body) = get(&state, uri).await;
        if status != StatusCode::BAD_REQUEST && status != StatusCode::NOT_FOUND {
            failures.push(format!("{what} ({uri}): {status}, expected 400 or 404"));
        }
        if body.contains("TOPSECRET") {
            failures.push(format!("{what} ({uri}) leaked: {body}"));
        }
    }
    // A listed resource that is a symlink out is never followed, and is an error (the
    // folder is damaged), not a resource that is not there (hp10 B-F6).
    for uri in ["/api/v2/type/3/", "/api/v2/type/t3/"] {
        let (status, body) = get(&state, uri).await;
        if status != StatusCode::INTERNAL_SERVER_ERROR {
            failures.push(format!(
                "a listed symlink out ({uri}): {status}, expected 500"
            ));
        }
        if body.contains("TOPSECRET") {
            failures.push(format!("a listed symlink out ({uri}) leaked: {body}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The list of types still names type 3 (it is in the index), but serving it is refused.
    let (_, list) = get(&state, "/api/v2/type/").await;
    assert!(list.contains(r#""count":3"#), "{list}");
}

/// hp11 A-F4: `serve --from` a folder named with an escape sequence, a newline and an
/// override, one of whose files cannot be read (a FIFO). The error logged for that
/// request is one line, its path escaped as every other line's (`\u{1b}`, `\n`,
/// `\u{202e}`): a folder's name cannot forge a log entry.
#[cfg(unix)]
#[test]
fn a_request_error_naming_a_hostile_folder_is_one_escaped_log_line() {
    use std::process::Command;

    let outside = tempfile::tempdir().unwrap();
    let served = outside.path().join("e\u{1b}[31mRED\nNL\u{202e}");
    let api = served.join("data/api/v2");
    std::fs::create_dir_all(api.join("pokemon/3")).unwrap();
    std::fs::write(api.join("index.json"), r#"{"pokemon":"/api/v2/pokemon/"}"#).unwrap();
    std::fs::write(
        api.join("pokemon/index.json"),
        r#"{"count":1,"next":null,"previous":null,"results":[{"name":"c","url":"/api/v2/pokemon/3/"}]}"#,
    )
    .unwrap();
    let fifo = api.join("pokemon/3/index.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());

    let (child, _stdout, base, agent) = common::binary::serve(&[
        "--from".as_ref(),
        served.as_os_str(),
        "--bind".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    let status = agent
        .get(format!("{base}/pokemon/3/"))
        .call()
        .unwrap()
        .status();
    common::signal(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(status, 500);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let logged: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    let error = logged
        .iter()
        .find(|l| l.contains("cannot serve pokemon/3"))
        .unwrap_or_else(|| panic!("no error logged: {stderr:?}"));
    assert_eq!(logged.len(), 1, "one event, one line: {stderr:?}");
    assert!(
        error.contains("e\\u{1b}[31mRED\\nNL\\u{202e}/data/api/v2/pokemon/3/index.json"),
        "{error}"
    );
    assert!(
        !error.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{error:?}"
    );
}
