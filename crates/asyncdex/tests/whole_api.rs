//! The whole PokeAPI, offline: every one of the 15,514 files of PokeAPI's static data is
//! served, byte for byte the same after its links are made absolute, at the path the live
//! API serves it; and compressed on request, to the same bytes.
//!
//! The comparison needs the source data: it runs when `ASYNCDEX_API_DATA` points at the
//! folder holding `api-v2.jsonl.zst` (CI sets it), and says so and passes otherwise.

use std::io::Read;

use asyncdex::mirror::{app, MirrorConfig, MirrorState};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

const ORIGIN: &str = "http://mirror.test";

async fn fetch(router: &axum::Router, path: &str, gzip: bool) -> (StatusCode, Vec<u8>) {
    let mut req = Request::get(path);
    if gzip {
        req = req.header(header::ACCEPT_ENCODING, "gzip");
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let encoded = resp.headers().get(header::CONTENT_ENCODING).is_some();
    assert_eq!(encoded, gzip && status == StatusCode::OK, "{path}");
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    if !encoded {
        return (status, body);
    }
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut plain)
        .unwrap();
    (status, plain)
}

/// The URL path the live API serves a source PATH at (a list whole, with `limit`).
fn url_of(path: &str) -> String {
    match path {
        "." => "/api/v2/".into(),
        p if !p.contains('/') && p != "meta" => format!("/api/v2/{p}/?limit=100000"),
        p => format!("/api/v2/{p}/"),
    }
}

#[tokio::test]
async fn every_resource_is_served_as_the_source_has_it() {
    let Ok(dir) = std::env::var("ASYNCDEX_API_DATA") else {
        eprintln!("ASYNCDEX_API_DATA is not set: skipping the comparison with every resource");
        return;
    };
    let source = std::path::Path::new(&dir).join("api-v2.jsonl.zst");
    let lines = asyncdex_pack::build::read_jsonl_zst(&source).unwrap();
    let router = app(MirrorState::new(
        format!("{ORIGIN}/api/v2"),
        MirrorConfig::default(),
    ));
    let (mut served, mut failures) = (0usize, Vec::new());
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let tab = line.iter().position(|&b| b == b'\t').unwrap();
        let path = std::str::from_utf8(&line[..tab]).unwrap();
        // Links made absolute, the simple way: every string that starts with `/api/v2/`.
        let want = String::from_utf8(line[tab + 1..].to_vec())
            .unwrap()
            .replace("\"/api/v2/", &format!("\"{ORIGIN}/api/v2/"));
        // Every 50th also compressed: the same bytes once unpacked.
        let gzip = served % 50 == 0;
        let (status, body) = fetch(&router, &url_of(path), gzip).await;
        served += 1;
        if status != StatusCode::OK || body != want.as_bytes() {
            failures.push(format!("{path}: {status}, {} bytes", body.len()));
        }
    }
    assert_eq!(served, 15_514, "every file of the source");
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn lists_page_with_absolute_links_and_names_resolve_in_any_case() {
    let router = app(MirrorState::new(
        format!("{ORIGIN}/api/v2"),
        MirrorConfig::default(),
    ));
    let (status, body) = fetch(&router, "/api/v2/move/?offset=20&limit=5", true).await;
    assert_eq!(status, StatusCode::OK);
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        page["next"],
        format!("{ORIGIN}/api/v2/move/?offset=25&limit=5")
    );
    assert_eq!(
        page["previous"],
        format!("{ORIGIN}/api/v2/move/?offset=15&limit=5")
    );
    let name = page["results"][0]["name"].as_str().unwrap().to_uppercase();
    let (status, by_name) = fetch(&router, &format!("/api/v2/move/{name}"), false).await;
    assert_eq!(status, StatusCode::OK);
    let url = page["results"][0]["url"].as_str().unwrap();
    let (_, by_url) = fetch(&router, url.trim_start_matches(ORIGIN), false).await;
    assert_eq!(by_name, by_url);
    // The default page is 20.
    let (_, first) = fetch(&router, "/api/v2/berry/", false).await;
    let first: serde_json::Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(first["results"].as_array().unwrap().len(), 20);
    assert_eq!(first["previous"], serde_json::Value::Null);
}

/// A folder laid out as PokeAPI's own api-data (`data/api/v2/.../index.json`), with its
/// `meta`, a whole list of 1,351 Pokémon and an encounters file, written from the
/// embedded data.
fn real_layout(root: &std::path::Path) {
    let pack = asyncdex_pack::Pack::embedded();
    for path in [
        ".",
        "meta",
        "pokemon",
        "pokemon/25",
        "pokemon/25/encounters",
        "type",
        "type/13",
    ] {
        let dir = match path {
            "." => root.join("data/api/v2"),
            p => root.join("data/api/v2").join(p),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let body = pack.get_path(path).unwrap().unwrap();
        std::fs::write(dir.join("index.json"), body).unwrap();
    }
}

#[tokio::test]
async fn a_folder_laid_out_like_pokeapis_api_data_is_served() {
    let dir = tempfile::tempdir().unwrap();
    real_layout(dir.path());
    let data = asyncdex::mirror::Data::dir(dir.path()).unwrap();
    let state = MirrorState::with_data(format!("{ORIGIN}/api/v2"), MirrorConfig::default(), data);
    let router = app(state);
    let (status, meta) = fetch(&router, "/api/v2/meta", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta, asyncdex_pack::Pack::embedded().meta());
    let (status, list) = fetch(&router, "/api/v2/pokemon/?limit=2000", false).await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_slice(&list).unwrap();
    assert_eq!(list["count"], 1351);
    let (status, encounters) = fetch(&router, "/api/v2/pokemon/pikachu/encounters", true).await;
    assert_eq!(status, StatusCode::OK);
    let want = asyncdex_pack::Pack::embedded()
        .encounters(25)
        .unwrap()
        .unwrap();
    let want = String::from_utf8(want)
        .unwrap()
        .replace("\"/api/v2/", &format!("\"{ORIGIN}/api/v2/"));
    assert_eq!(encounters, want.as_bytes());
    // Not there: 404, not an error.
    let (status, _) = fetch(&router, "/api/v2/pokemon/1/encounters", false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_damaged_stored_body_is_a_500_never_a_200() {
    let dir = tempfile::tempdir().unwrap();
    real_layout(dir.path());
    std::fs::write(
        dir.path().join("data/api/v2/type/13/index.json"),
        "not json",
    )
    .unwrap();
    // JSON, but another resource's body: filed as type 14 and pokemon 26, it says it is
    // type 13 and pokemon 25.
    let pack = asyncdex_pack::Pack::embedded();
    for (filed, is) in [("type/14", "type/13"), ("pokemon/26", "pokemon/25")] {
        let folder = dir.path().join("data/api/v2").join(filed);
        std::fs::create_dir_all(&folder).unwrap();
        let body = pack.get_path(is).unwrap().unwrap();
        std::fs::write(folder.join("index.json"), body).unwrap();
    }
    let data = asyncdex::mirror::Data::dir(dir.path()).unwrap();
    let state = MirrorState::with_data(format!("{ORIGIN}/api/v2"), MirrorConfig::default(), data);
    let router = app(state);
    let (status, body) = fetch(&router, "/api/v2/type/13/", false).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body.starts_with(b"not json"));
    for filed in ["type/14", "pokemon/26"] {
        let (status, _) = fetch(&router, &format!("/api/v2/{filed}/"), false).await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{filed}: another's body"
        );
    }
    let (status, _) = fetch(&router, "/api/v2/pokemon/25/", false).await;
    assert_eq!(status, StatusCode::OK, "pokemon 25 itself");
    // Listed, but its folder cannot be looked into (a link to itself here; a folder
    // closed to the user alike, hp9 B-F17): an error, not a resource that is not there.
    std::os::unix::fs::symlink("15", dir.path().join("data/api/v2/type/15")).unwrap();
    let (status, _) = fetch(&router, "/api/v2/type/15/", false).await;
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "type/15: unreadable"
    );
    let (status, _) = fetch(&router, "/api/v2/type/16/", false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "type/16: listed, not there");
    // Listed, but a link out of the folder, its file or its folder (hp10 B-F6): never
    // followed, and an error, not a resource that is not there.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("index.json"), r#"{"id":17}"#).unwrap();
    let v2 = dir.path().join("data/api/v2/type");
    std::fs::create_dir_all(v2.join("17")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("index.json"), v2.join("17/index.json"))
        .unwrap();
    std::os::unix::fs::symlink(outside.path(), v2.join("18")).unwrap();
    for listed in ["type/17", "type/18"] {
        let (status, body) = fetch(&router, &format!("/api/v2/{listed}/"), false).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{listed}");
        assert!(
            !body.starts_with(b"{"),
            "{listed}: followed out of the folder"
        );
    }
}

/// Every encounters body of the real data is what the shape check takes for encounters
/// (an array of objects with a `location_area`): the check refuses garbage, never them.
#[test]
fn every_real_encounters_body_passes_the_shape_check() {
    let pack = asyncdex_pack::Pack::embedded();
    let mut checked = 0;
    for id in 1..=11_000 {
        if let Some(Ok(body)) = pack.encounters(id) {
            let shape = asyncdex::pokeapi::Shape::Array;
            if let Err(e) = asyncdex::pokeapi::check_resource(&body, shape) {
                panic!("pokemon/{id}/encounters: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} encounters bodies found");
}
