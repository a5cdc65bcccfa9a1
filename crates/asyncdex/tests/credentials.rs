//! [`HttpOptions::credentials`]: an API root's `user:pass@`, taken out of the root once
//! ([`Credentials::take`]), is sent as `Authorization: Basic` by every backend (ureq,
//! ureq offloaded, the direct hyper path over HTTP/1.1 and HTTP/2, reqwest over both) to
//! the origin it came with, and to no other.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use asyncdex::http::{Credentials, HttpOptions};
use axum::http::{HeaderMap, StatusCode};
use common::{fetch, BACKENDS};

/// `ash:p@ss w0rd`, base64.
const BASIC: &str = "Basic YXNoOnBAc3MgdzByZA==";

/// A server on 127.0.0.1 (HTTP/1.1 and HTTP/2 prior knowledge alike) answering 200 only
/// to `BASIC`, 401 otherwise; it counts the requests that came with any `Authorization`.
async fn guarded() -> (String, Arc<AtomicUsize>) {
    let with_auth = Arc::new(AtomicUsize::new(0));
    let counted = with_auth.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let counted = counted.clone();
        async move {
            let auth = headers.get("authorization");
            if auth.is_some() {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            match auth.and_then(|v| v.to_str().ok()) == Some(BASIC) {
                true => (StatusCode::OK, "{}"),
                false => (StatusCode::UNAUTHORIZED, "{}"),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/api/v2"), with_auth)
}

/// Options carrying the credentials of `root` with `ash:p%40ss%20w0rd@` put in.
fn options_for(root: &str, http2: bool) -> HttpOptions {
    let with = root.replacen("http://", "http://ash:p%40ss%20w0rd@", 1);
    let (bare, credentials) = Credentials::take(&with).unwrap();
    assert_eq!(bare, root, "the root comes out credential-free");
    HttpOptions {
        credentials,
        http2,
        ..HttpOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backend_sends_the_options_credentials_to_their_origin() {
    let (root, _) = guarded().await;
    let url = format!("{root}/pokemon/1/");
    for http2 in [false, true] {
        let options = options_for(&root, http2);
        for backend in BACKENDS {
            // The blocking backend speaks HTTP/1.1 whatever `http2` says.
            let resp = fetch(backend, &options, &url).await.unwrap();
            assert_eq!(resp.status, 200, "{backend:?} http2={http2}");
        }
        // Without them, the same call is refused: the 200s above are the credentials'.
        let bare = HttpOptions {
            http2,
            ..HttpOptions::default()
        };
        let resp = fetch(BACKENDS[1], &bare, &url).await.unwrap();
        assert_eq!(resp.status, 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_backend_sends_them_to_another_origin() {
    let (root, _) = guarded().await;
    let (other, other_saw) = guarded().await;
    let options = options_for(&root, false);
    for backend in BACKENDS {
        let resp = fetch(backend, &options, &format!("{other}/pokemon/1/"))
            .await
            .unwrap();
        assert_eq!(resp.status, 401, "{backend:?}");
    }
    assert_eq!(other_saw.load(Ordering::SeqCst), 0, "another port got them");
    assert!(!format!("{options:?}").contains("w0rd"), "{options:?}");
}
