//! Servers whose answers carry megabytes of headers, over HTTP/1.1 and HTTP/2 (h2c, prior
//! knowledge): every backend stops at `MAX_RESPONSE_HEADERS` (64 KiB) with one line,
//! instead of holding whatever the server sends; headers under the bound are fine.

use crate::common;

use std::io::Write;
use std::time::{Duration, Instant};

use asyncdex::http::{HttpOptions, MAX_RESPONSE_HEADERS, MAX_RESPONSE_HEADER_LINES};
use common::{fetch, serve, Backend, BACKENDS};

/// `bytes` of header lines, in headers of 1 KB each.
fn header_lines(bytes: usize) -> Vec<(String, String)> {
    (0..bytes / 1024)
        .map(|i| (format!("x-junk-{i}"), "j".repeat(1000)))
        .collect()
}

/// `count` header lines of 9 bytes each (`h0001: v` and CRLF, as a server sends them).
fn short_lines(count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| (format!("h{i:04}"), "v".into()))
        .collect()
}

/// An HTTP/1.1 server whose answers carry `bytes` of headers, then `{}`.
fn http1_with_headers(bytes: usize) -> String {
    http1_with(header_lines(bytes))
}

/// An HTTP/1.1 server whose answers carry `lines` after its own two (`Content-Length`,
/// `Connection`), then `{}`.
fn http1_with(lines: Vec<(String, String)>) -> String {
    serve(16, move |_, stream| {
        let mut head =
            String::from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n");
        for (name, value) in &lines {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n{}");
        let _ = stream.write_all(head.as_bytes());
    })
}

/// An HTTP/2 server (h2c) whose answers carry `bytes` of headers, then `{}`; stops after
/// `connections` connections.
async fn http2_with_headers(bytes: usize, connections: usize) -> String {
    http2_with(header_lines(bytes), connections).await
}

/// An HTTP/2 server (h2c) whose answers carry `lines`, then `{}`; stops after
/// `connections` connections.
async fn http2_with(lines: Vec<(String, String)>, connections: usize) -> String {
    let lines = std::sync::Arc::new(lines);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..connections {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let lines = lines.clone();
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((_, mut respond))) = conn.accept().await {
                    let mut answer = hyper::Response::builder().status(200);
                    for (name, value) in lines.iter() {
                        answer = answer.header(name, value);
                    }
                    let Ok(mut body) = respond.send_response(answer.body(()).unwrap(), false)
                    else {
                        continue;
                    };
                    let _ = body.send_data(bytes::Bytes::from_static(b"{}"), true);
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Fetches `url` on `backend`, within 10 s: the error if it failed.
async fn call(backend: Backend, options: &HttpOptions, url: &str) -> Option<asyncdex::Error> {
    let started = Instant::now();
    let result = fetch(backend, options, url).await;
    assert!(started.elapsed() < Duration::from_secs(10), "{backend:?}");
    result.err()
}

/// A final error in one short line naming `url`.
fn one_line_naming(e: &asyncdex::Error, url: &str) {
    assert_eq!(e.kind(), asyncdex::ErrorKind::Decode, "{e}");
    assert!(
        !e.is_transient(),
        "asking again brings the same headers: {e}"
    );
    let line = e.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.contains(url), "{line}");
    assert!(line.len() < 400, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn megabytes_of_http1_headers_fail_the_call_on_every_backend() {
    let url = format!("{}/api/v2/pokemon/1/", http1_with_headers(2 << 20));
    let options = HttpOptions::default();
    for backend in BACKENDS {
        let e = call(backend, &options, &url).await.expect("refused");
        one_line_naming(&e, &url);
        // 2 048 lines of 1 KB pass both bounds; which one a backend meets first depends
        // on how much of the head one read brings (ureq counts a whole buffer's lines).
        let said = e.to_string();
        assert!(
            said.contains("more than 65536 bytes of headers")
                || said.contains("more than 100 header lines"),
            "{backend:?}: {e}"
        );
    }
    // Past 64 KiB, the two HTTP/1.1 clients of plain http stop too.
    let url = format!("{}/api/v2/pokemon/1/", http1_with_headers(100 * 1024));
    for backend in [Backend::Direct, Backend::Blocking] {
        let e = call(backend, &options, &url).await;
        let e = e.unwrap_or_else(|| panic!("{backend:?}: 100 KB of headers accepted"));
        assert!(
            e.to_string().contains("more than 65536 bytes of headers"),
            "{backend:?}: {e}"
        );
    }
    // Under the bound, an answer like any other.
    let url = format!(
        "{}/api/v2/pokemon/1/",
        http1_with_headers(MAX_RESPONSE_HEADERS / 2)
    );
    for backend in BACKENDS {
        let e = call(backend, &options, &url).await;
        assert!(e.is_none(), "{backend:?}: {e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn megabytes_of_http2_headers_fail_the_call() {
    let options = HttpOptions {
        http2: true,
        ..HttpOptions::default()
    };
    for (bytes, refused) in [
        (2 << 20, true),
        (100 * 1024, true),
        (MAX_RESPONSE_HEADERS / 2, false),
    ] {
        let url = format!("{}/api/v2/pokemon/1/", http2_with_headers(bytes, 4).await);
        for backend in [Backend::Direct, Backend::Reqwest] {
            match call(backend, &options, &url).await {
                Some(e) if refused => {
                    one_line_naming(&e, &url);
                    assert!(e.to_string().contains("headers this client refused"), "{e}");
                }
                e => assert_eq!(e.is_some(), refused, "{backend:?}, {bytes} bytes: {e:?}"),
            }
        }
    }
}

/// The line in every backend's words for more header lines than the cap.
fn too_many_lines() -> String {
    format!("more than {MAX_RESPONSE_HEADER_LINES} header lines")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_header_line_cap_on_every_backend() {
    let options = HttpOptions::default();
    // Up to the cap (the server's own two lines count), an answer like any other.
    let url = format!(
        "{}/api/v2/pokemon/1/",
        http1_with(short_lines(MAX_RESPONSE_HEADER_LINES - 2))
    );
    for backend in BACKENDS {
        let e = call(backend, &options, &url).await;
        assert!(e.is_none(), "{backend:?}: {e:?}");
    }
    // One past it (under 1 KB in all), and 500 (4.5 KB): refused, naming the count, never
    // a byte size the answer did not reach.
    for extra in [MAX_RESPONSE_HEADER_LINES - 1, 500] {
        let url = format!("{}/api/v2/pokemon/1/", http1_with(short_lines(extra)));
        for backend in BACKENDS {
            let e = call(backend, &options, &url).await;
            let e = e.unwrap_or_else(|| panic!("{backend:?}: {} lines accepted", extra + 2));
            one_line_naming(&e, &url);
            assert!(
                e.to_string().contains(&too_many_lines()),
                "{backend:?}: {e}"
            );
        }
    }
    // HTTP/2, where the header list has no count of its own: the same cap.
    let options = HttpOptions {
        http2: true,
        ..HttpOptions::default()
    };
    for (lines, refused) in [(MAX_RESPONSE_HEADER_LINES, false), (500, true)] {
        let url = format!(
            "{}/api/v2/pokemon/1/",
            http2_with(short_lines(lines), 4).await
        );
        for backend in [Backend::Direct, Backend::Reqwest] {
            let e = call(backend, &options, &url).await;
            match e {
                Some(e) if refused => {
                    one_line_naming(&e, &url);
                    assert!(
                        e.to_string().contains(&too_many_lines()),
                        "{backend:?}: {e}"
                    );
                }
                e => assert_eq!(e.is_some(), refused, "{backend:?}, {lines} lines: {e:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_header_of_70_kb_fails_naming_bytes_on_every_backend() {
    let options = HttpOptions::default();
    let big = vec![("x-big".to_string(), "b".repeat(70_000))];
    let url = format!("{}/api/v2/pokemon/1/", http1_with(big.clone()));
    for backend in BACKENDS {
        let e = call(backend, &options, &url).await;
        let e = e.unwrap_or_else(|| panic!("{backend:?}: 70 KB of headers accepted"));
        one_line_naming(&e, &url);
        assert!(
            e.to_string().contains("more than 65536 bytes of headers"),
            "{backend:?}: {e}"
        );
    }
    let options = HttpOptions {
        http2: true,
        ..HttpOptions::default()
    };
    let url = format!("{}/api/v2/pokemon/1/", http2_with(big, 4).await);
    for backend in [Backend::Direct, Backend::Reqwest] {
        let e = call(backend, &options, &url).await;
        let e = e.unwrap_or_else(|| panic!("{backend:?}: 70 KB of HTTP/2 headers accepted"));
        one_line_naming(&e, &url);
        assert!(e.to_string().contains("65536 bytes"), "{backend:?}: {e}");
    }
}
