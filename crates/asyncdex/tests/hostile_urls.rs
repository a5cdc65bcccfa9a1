//! Hostile or unusual URLs, met by every backend (blocking, direct, reqwest, offloaded)
//! alike: credentials in the URL (sent as basic authentication, never shown), and
//! redirects (followed, bounded, credentials kept only on the same host).

use crate::common;

use std::time::Duration;

use asyncdex::http::HttpOptions;
use asyncdex::ErrorKind;
use common::{fetch, refused_url, respond, serve, BACKENDS};

/// `ash:p@ss w0rd`, base64: what the server below insists on.
const BASIC: &str = "Basic YXNoOnBAc3MgdzByZA==";

/// A server that answers 200 only to `BASIC`, on a request line without credentials;
/// 401 otherwise.
fn guarded() -> String {
    serve(64, |req, stream| {
        let authorized = req.header("authorization") == Some(BASIC);
        let clean = req.path().starts_with('/') && !req.head.contains("w0rd");
        if authorized && clean {
            respond(stream, "200 OK", "", "{}");
        } else {
            respond(stream, "401 Unauthorized", "", "{}");
        }
    })
}

/// `base` (`http://addr`) with the credentials put in, percent-encoded.
fn with_credentials(base: &str) -> String {
    base.replacen("http://", "http://ash:p%40ss%20w0rd@", 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_url_are_sent_as_basic_auth_on_every_backend() {
    let url = format!("{}/api/v2/pokemon/1/", with_credentials(&guarded()));
    for backend in BACKENDS {
        let resp = fetch(backend, &HttpOptions::default(), &url).await.unwrap();
        assert_eq!(resp.status, 200, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_error_line_or_url_shows_the_password() {
    let refused = with_credentials(&refused_url());
    let stalled = with_credentials(&serve(8, |_, _| std::thread::sleep(Duration::from_secs(5))));
    let short = HttpOptions {
        timeout: Some(Duration::from_millis(200)),
        ..HttpOptions::default()
    };
    for (url, kind) in [(refused, ErrorKind::Connect), (stalled, ErrorKind::Timeout)] {
        let url = format!("{url}/pokemon/1/");
        for backend in BACKENDS {
            let e = fetch(backend, &short, &url).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{backend:?}: {e}");
            let line = format!("{e} {:?} {:?}", e.url(), std::error::Error::source(&e));
            assert!(
                !line.contains("w0rd") && !line.contains("p%40ss"),
                "{backend:?}: {line}"
            );
            assert!(
                e.to_string().contains("ash:***@127.0.0.1"),
                "{backend:?}: {e}"
            );
        }
    }
}

/// A server that redirects `/api/v2/old/` to `/api/v2/new/` (and `/loop/` to itself),
/// answering the target only with the credentials `guarded` wants.
fn redirecting() -> String {
    serve(256, |req, stream| match req.path() {
        "/api/v2/old/" => respond(
            stream,
            "301 Moved Permanently",
            "Location: /api/v2/new/\r\n",
            "",
        ),
        "/api/v2/relative/" => respond(
            stream,
            "307 Temporary Redirect",
            "Location: ../new/\r\n",
            "",
        ),
        "/api/v2/loop/" => respond(stream, "302 Found", "Location: /api/v2/loop/\r\n", ""),
        "/api/v2/new/" if req.header("authorization") == Some(BASIC) => {
            respond(stream, "200 OK", "", "{\"at\":\"new\"}")
        }
        _ => respond(stream, "401 Unauthorized", "", "{}"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backend_follows_a_redirect_to_its_target() {
    let base = with_credentials(&redirecting());
    for path in ["old", "relative"] {
        let url = format!("{base}/api/v2/{path}/");
        for backend in BACKENDS {
            let resp = fetch(backend, &HttpOptions::default(), &url).await.unwrap();
            // 200 only at the target, with the credentials kept on the same host.
            assert_eq!(
                (resp.status, &resp.body[..]),
                (200, &b"{\"at\":\"new\"}"[..]),
                "{backend:?} {path}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_is_a_final_error_on_every_backend() {
    let url = format!("{}/api/v2/loop/", redirecting());
    for backend in BACKENDS {
        let e = fetch(backend, &HttpOptions::default(), &url)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Status, "{backend:?}: {e}");
        assert!(!e.is_transient());
        assert_eq!(
            e.to_string(),
            format!("too many redirects from {url} (followed 10)"),
            "{backend:?}"
        );
    }
}

/// A client kept on its API root follows redirects under it and is never led off it: a
/// server cannot make it fetch another server's answers (and a crawl store them as its
/// own). The other server is never asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_off_the_api_root_is_refused_and_never_followed_on_every_backend() {
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let other = serve(64, {
        let asked = asked.clone();
        move |_, stream| {
            asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            respond(stream, "200 OK", "", "{\"id\":1,\"from\":\"elsewhere\"}")
        }
    });
    let base = serve(256, move |req, stream| {
        let to = match req.path() {
            "/api/v2/pokemon/1" => "/api/v2/pokemon/1/".to_owned(),
            "/api/v2/pokemon/2/" => format!("{other}/api/v2/pokemon/2/"),
            "/api/v2/pokemon/3/" => "/api/v3/pokemon/3/".to_owned(),
            _ => return respond(stream, "200 OK", "", "{\"id\":1}"),
        };
        respond(stream, "302 Found", &format!("Location: {to}\r\n"), "")
    });
    let options = HttpOptions {
        redirects_within: Some(format!("{base}/api/v2")),
        ..HttpOptions::default()
    };
    for backend in BACKENDS {
        let under = fetch(backend, &options, &format!("{base}/api/v2/pokemon/1"))
            .await
            .unwrap();
        assert_eq!(under.status, 200, "{backend:?}: under the root, followed");
        for n in [2, 3] {
            let url = format!("{base}/api/v2/pokemon/{n}/");
            let e = fetch(backend, &options, &url).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Status, "{backend:?}: {e}");
            assert!(!e.is_transient(), "{backend:?}");
            assert!(
                e.to_string()
                    .starts_with(&format!("{url} redirects to http://127.0.0.1:")),
                "{backend:?}: {e}"
            );
            assert!(
                e.to_string()
                    .ends_with(&format!("off the API root {base}/api/v2/: not followed")),
                "{backend:?}: {e}"
            );
        }
    }
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "never asked"
    );
}
