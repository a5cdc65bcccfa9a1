//! A kept gzip copy never outlives the body it was made from: a store row (or a folder's
//! file) rewritten while the mirror serves it is answered new to gzip clients and plain
//! ones alike, and both answers decode to the same bytes.

use std::io::Read;

use asyncdex::mirror::{app, Data, MirrorConfig, MirrorState};
use asyncdex::store::{Row, Store};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

const BASE: &str = "http://mirror.test/api/v2";

/// The body of `GET path`, gunzipped if the answer says it is gzip (asked if `gzip`).
async fn body(router: &Router, path: &str, gzip: bool) -> Vec<u8> {
    let mut req = Request::get(path);
    if gzip {
        req = req.header(header::ACCEPT_ENCODING, "gzip");
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    let compressed = resp.headers().get(header::CONTENT_ENCODING).is_some();
    assert_eq!(compressed, gzip, "gzip answered exactly when asked");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    if !compressed {
        return bytes.to_vec();
    }
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut plain)
        .unwrap();
    plain
}

/// Asks `path` gzip then plain, and checks both decode to one body holding `expect`.
async fn agree(router: &Router, path: &str, expect: &str) {
    let gzip = body(router, path, true).await;
    let plain = body(router, path, false).await;
    assert_eq!(
        String::from_utf8_lossy(&gzip),
        String::from_utf8_lossy(&plain),
        "gzip and plain answers of {path} decode to the same body"
    );
    let text = String::from_utf8(plain).unwrap();
    assert!(text.contains(expect), "{path} answered {text}");
}

fn type_row(name: &str) -> Row {
    let body = format!(r#"{{"id":1,"name":"{name}","pokemon":[]}}"#);
    Row::new("type", 1, Some(name.to_owned()), body.into_bytes())
}

#[tokio::test]
async fn a_store_row_rewritten_while_served_is_answered_new_compressed_and_plain() {
    let store = Store::open_in_memory().unwrap();
    store.put(&[type_row("normal")]).unwrap();
    // The store is shared by clones: the writer below writes what the mirror serves.
    let data = Data::store(store.clone()).unwrap();
    let router = app(MirrorState::with_data(BASE, MirrorConfig::default(), data));
    agree(&router, "/api/v2/type/1/", "\"normal\"").await;

    store.put(&[type_row("CHANGED")]).unwrap();
    agree(&router, "/api/v2/type/1/", "\"CHANGED\"").await;
    // The new copy is kept and still agrees; the old one is gone for good.
    agree(&router, "/api/v2/type/1/", "\"CHANGED\"").await;

    store.put(&[type_row("normal")]).unwrap();
    agree(&router, "/api/v2/type/1/", "\"normal\"").await;
}

#[tokio::test]
async fn a_folder_file_rewritten_while_served_is_answered_new_compressed_and_plain() {
    let dir = tempfile::tempdir().unwrap();
    let api = dir.path().join("data/api/v2/type");
    std::fs::create_dir_all(api.join("1")).unwrap();
    std::fs::write(
        api.join("index.json"),
        r#"{"count":1,"results":[{"name":"normal","url":"/api/v2/type/1/"}]}"#,
    )
    .unwrap();
    let file = api.join("1/index.json");
    std::fs::write(&file, r#"{"id":1,"name":"normal"}"#).unwrap();
    let data = Data::dir(dir.path()).unwrap();
    let router = app(MirrorState::with_data(BASE, MirrorConfig::default(), data));
    agree(&router, "/api/v2/type/1/", "\"normal\"").await;

    // Same length, other bytes: the length alone would not tell them apart.
    std::fs::write(&file, r#"{"id":1,"name":"NORMAL"}"#).unwrap();
    agree(&router, "/api/v2/type/1/", "\"NORMAL\"").await;
}
