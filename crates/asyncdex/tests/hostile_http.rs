//! Hostile servers, met by every backend (blocking, direct, reqwest, offloaded) alike: an
//! endless or huge body, a `Retry-After` of centuries, a stall after the headers, a
//! non-JSON answer, an absurd timeout. Each guard is one row of tests: the same assertion
//! for every backend.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asyncdex::http::HttpOptions;
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pokeapi::Client;
use asyncdex::sync_to_async::{run_with, Demo, Mode};
use asyncdex::ErrorKind;
use asyncdex_engine::gather::{gather, Event, Policy};
use common::{fetch, respond, serve, AnyTransport, BACKENDS};
use std::io::Write;

const MIB: u64 = 1024 * 1024;

/// A server whose every answer is a chunked body that never ends (until the client hangs
/// up, or 30 s pass).
fn endless_body() -> String {
    endless("200 OK", "Content-Type: application/json")
}

/// A server answering `status` with `header` and a chunked body that never ends.
fn endless(status: &'static str, header: &'static str) -> String {
    serve(16, move |_, stream| {
        let head = format!("HTTP/1.1 {status}\r\n{header}\r\nTransfer-Encoding: chunked\r\n\r\n");
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "e".repeat(16 * 1024));
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until && stream.write_all(chunk.as_bytes()).is_ok() {}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_stops_at_the_limit_on_every_backend() {
    let url = format!("{}/api/v2/pokemon/1/", endless_body());
    let options = HttpOptions {
        max_body: MIB,
        ..HttpOptions::default()
    };
    for backend in BACKENDS {
        let started = Instant::now();
        let e = fetch(backend, &options, &url).await.unwrap_err();
        // Quickly, so memory never grew far past the limit (the server never stops).
        assert!(started.elapsed() < Duration::from_secs(10), "{backend:?}");
        assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}: {e}");
        assert!(!e.is_transient(), "{backend:?}");
        assert_eq!(
            e.to_string(),
            format!("the answer from {url} is larger than the limit of 1048576 bytes (1 MiB); stopped reading it"),
            "{backend:?}"
        );
        assert_eq!(e.url(), Some(url.as_str()));
    }
}

/// An answer that is not a success is its status, whatever its body: only an excerpt of
/// an endless error body is read, so a 503 is a 503 (retried after its Retry-After) and
/// a 404 a 404, never "larger than the limit" (hp11 A-F2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_error_body_is_its_status_on_every_backend() {
    for (status, code) in [("503 Service Unavailable", 503), ("404 Not Found", 404)] {
        let url = format!("{}/api/v2/pokemon/1/", endless(status, "Retry-After: 7"));
        for backend in BACKENDS {
            let started = Instant::now();
            let resp = fetch(backend, &HttpOptions::default(), &url)
                .await
                .unwrap_or_else(|e| panic!("{backend:?} {status}: {e}"));
            assert!(started.elapsed() < Duration::from_secs(10), "{backend:?}");
            assert_eq!(resp.status, code, "{backend:?}");
            assert_eq!(
                resp.retry_after,
                Some(Duration::from_secs(7)),
                "{backend:?}"
            );
            assert!(
                resp.body.len() <= 64 * 1024,
                "{backend:?}: {}",
                resp.body.len()
            );
            assert!(
                resp.body.starts_with(b"eeee"),
                "{backend:?}: an excerpt kept"
            );
        }
    }
}

/// A server answering `404` whose body comes a byte every 200 ms (for 30 s), or, with
/// `drip` false, never comes after the headers.
fn slow_error_body(drip: bool) -> String {
    serve(16, move |_, stream| {
        let head = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(200));
            if drip && stream.write_all(b"1\r\ne\r\n").is_err() {
                return;
            }
        }
    })
}

/// An error body that drips, or stalls after its headers, is its status once its excerpt
/// has been read for two seconds, not a call that waits out its deadline for words
/// nothing acts on. The blocking client (ureq) cannot stop a read that gets no byte
/// sooner than its deadline, so the stall is the async backends' alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_error_body_is_its_status_within_seconds() {
    let options = HttpOptions {
        timeout: Some(Duration::from_secs(60)),
        ..HttpOptions::default()
    };
    let cases = [
        (true, &BACKENDS[..]),
        (
            false,
            &[common::Backend::Direct, common::Backend::Reqwest][..],
        ),
    ];
    for (drip, backends) in cases {
        let url = format!("{}/api/v2/pokemon/1/", slow_error_body(drip));
        for &backend in backends {
            let started = Instant::now();
            let resp = fetch(backend, &options, &url)
                .await
                .unwrap_or_else(|e| panic!("{backend:?} drip {drip}: {e}"));
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(15),
                "{backend:?} drip {drip}: {took:?}"
            );
            assert_eq!(resp.status, 404, "{backend:?} drip {drip}");
            if drip {
                assert!(
                    resp.body.starts_with(b"e"),
                    "{backend:?}: what came is kept"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_declared_huge_body_is_refused_before_it_is_read() {
    let base = serve(8, |_, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n{");
        std::thread::sleep(Duration::from_secs(5));
    });
    let url = format!("{base}/api/v2/");
    for backend in BACKENDS {
        let started = Instant::now();
        let e = fetch(backend, &HttpOptions::default(), &url)
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(4), "{backend:?}");
        assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}: {e}");
        assert!(e.to_string().contains("(64 MiB)"), "{backend:?}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_holds_over_http2_too() {
    // Its bodies are the real ones: pokemon/25 is ~250 KB.
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let url = format!("{}/pokemon/25/", mirror.base_url());
    let options = HttpOptions {
        http2: true,
        max_body: 64 * 1024,
        ..HttpOptions::default()
    };
    for backend in [common::Backend::Direct, common::Backend::Reqwest] {
        let e = fetch(backend, &options, &url).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}: {e}");
        let fine = HttpOptions {
            http2: true,
            ..HttpOptions::default()
        };
        assert_eq!(fetch(backend, &fine, &url).await.unwrap().status, 200);
    }
}

/// An HTTP/2 server (h2c) whose first connection takes every stream and answers none
/// (stuck: flooding, or no longer reading), and whose later ones answer at once.
async fn http2_stuck_first() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for connection in 0..4 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(tcp).await else {
                    return;
                };
                let mut held = Vec::new();
                let until = tokio::time::sleep(Duration::from_secs(20));
                tokio::pin!(until);
                loop {
                    let accepted = tokio::select! {
                        accepted = conn.accept() => accepted,
                        () = &mut until => return,
                    };
                    let Some(Ok((_, mut respond))) = accepted else {
                        return;
                    };
                    if connection == 0 {
                        held.push(respond);
                        continue;
                    }
                    let answer = hyper::Response::builder().status(200).body(()).unwrap();
                    if let Ok(mut body) = respond.send_response(answer, false) {
                        let _ = body.send_data(bytes::Bytes::from_static(b"{}"), true);
                    }
                }
            });
        }
    });
    format!("http://{addr}/api/v2/pokemon/1/")
}

/// A call that did not end well on an HTTP/2 connection (here: its deadline passed)
/// leaves that connection behind: the retry dials a fresh one instead of queueing on a
/// connection that answers nothing (hp11 A-F7: a flooded connection made every retry
/// "no answer within --timeout", the server never asked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_call_that_went_wrong_on_http2_the_next_one_dials_anew() {
    use asyncdex::http::Transport;
    let url = http2_stuck_first().await;
    let options = HttpOptions {
        http2: true,
        ..HttpOptions::default()
    };
    let client = AnyTransport::new(common::Backend::Direct, &options);
    let first = tokio::time::timeout(Duration::from_millis(300), client.get(&url)).await;
    assert!(first.is_err(), "the stuck connection answers nothing");
    let second = tokio::time::timeout(Duration::from_secs(10), client.get(&url))
        .await
        .expect("answered on a fresh connection")
        .unwrap();
    assert_eq!(second.status, 200);
}

/// A raw HTTP/2 server that breaks the protocol on the connection: after its SETTINGS it
/// grows the connection's window past 2^31 − 1 (a FLOW_CONTROL_ERROR for the client).
fn http2_window_overflow() -> String {
    serve(8, |_, stream| {
        let settings = [0, 0, 0, 4, 0, 0, 0, 0, 0];
        let window_update = [0, 0, 4, 8, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff];
        let _ = stream.write_all(&settings);
        let _ = stream.write_all(&window_update);
        let _ = stream.write_all(&window_update);
        std::thread::sleep(Duration::from_secs(5));
    })
}

/// A server that breaks HTTP/2 on the connection is said to, not worded as headers this
/// client refused, which nobody sent (hp11 A-F3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_breaks_http2_on_the_connection_is_said_to() {
    let url = format!("{}/api/v2/pokemon/1/", http2_window_overflow());
    let options = HttpOptions {
        http2: true,
        timeout: Some(Duration::from_secs(5)),
        ..HttpOptions::default()
    };
    // The direct backend, which plain http:// uses. (reqwest, for https://, reports
    // hyper's "connection closed": h2's reason does not reach it.)
    for backend in [common::Backend::Direct] {
        let e = fetch(backend, &options, &url).await.unwrap_err();
        let line = e.to_string();
        assert!(
            line.contains("broke the HTTP/2 protocol") && line.contains("flow-control"),
            "{backend:?}: {line}"
        );
        assert!(
            !line.contains("headers this client refused"),
            "{backend:?}: {line}"
        );
    }
}

/// A server that answers every request 429 with `retry_after`.
fn throttling(retry_after: &'static str) -> String {
    serve(64, move |_, stream| {
        respond(
            stream,
            "429 Too Many Requests",
            &format!("Retry-After: {retry_after}\r\n"),
            "{}",
        );
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_of_centuries_waits_the_cap_and_says_so() {
    for asked in [
        "99999999999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "999999999999999999999999",
    ] {
        let base = format!("{}/api/v2", throttling(asked));
        for backend in BACKENDS {
            let retrying = Arc::new(Mutex::new(Vec::new()));
            let sink = retrying.clone();
            let mut policy = Policy::new(1);
            policy.retries = 2;
            policy.max_retry_after = Duration::from_millis(50);
            policy.events = Some(Arc::new(move |e: &Event| {
                if let Event::Retrying { wait, asked, .. } = e {
                    sink.lock().unwrap().push((*wait, *asked));
                }
            }));
            let client = Client::new(&base, AnyTransport::new(backend, &HttpOptions::default()));
            let started = Instant::now();
            let out = gather(vec![1u32], &policy, move |id| {
                let client = client.clone();
                async move { client.name(id).await }
            })
            .await
            .unwrap();
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{backend:?} {asked}"
            );
            let e = out[0].result.as_ref().unwrap_err().error().unwrap();
            assert_eq!(e.status(), Some(429), "{backend:?}");
            assert_eq!(out[0].attempts, 3);
            let seen = retrying.lock().unwrap();
            assert_eq!(seen.len(), 2, "{backend:?} {asked}");
            for (wait, asked_for) in seen.iter() {
                assert_eq!(*wait, Duration::from_millis(50));
                let asked_for = asked_for.expect("the asked wait is reported");
                assert!(
                    asked_for > Duration::from_secs(3000 * 365 * 86400),
                    "{asked}: {asked_for:?}"
                );
            }
        }
    }
}

/// A server that sends its headers, then nothing, for 20 s.
fn stalling() -> String {
    serve(16, |_, stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{");
        std::thread::sleep(Duration::from_secs(20));
    })
}

/// Calls `url` on every backend with a 0.3 s deadline; each must time out quickly, with
/// the line `timed out waiting for URL: {detail}`.
async fn times_out_on_every_backend(url: &str, detail: &str) -> HttpOptions {
    let options = HttpOptions {
        timeout: Some(Duration::from_millis(300)),
        ..HttpOptions::default()
    };
    for backend in BACKENDS {
        let started = Instant::now();
        let e = fetch(backend, &options, url).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{backend:?}");
        assert_eq!(e.kind(), ErrorKind::Timeout, "{backend:?}: {e}");
        assert_eq!(
            e.to_string(),
            format!("timed out waiting for {url}: {detail}"),
            "{backend:?}"
        );
    }
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stalls_after_its_headers_times_out() {
    let url = format!("{}/api/v2/pokemon/1/", stalling());
    // An answer came: the line says so, and how much of its body.
    let detail = "the answer came, but its body did not finish within 0.3 s (1 byte read)";
    let options = times_out_on_every_backend(&url, detail).await;
    // The blocking demo too: its calls are the client's, deadline included, and a run
    // whose every call timed out ends then, in every program (hp12 A-F5: `before` beat
    // its heartbeat as long again after the failed call).
    let options = HttpOptions {
        timeout: Some(Duration::from_secs(2)),
        ..options
    };
    for mode in [Mode::Before, Mode::Wrong, Mode::Correct] {
        let (demo_url, options) = (url.clone(), options.clone());
        let started = Instant::now();
        let e = tokio::task::spawn_blocking(move || {
            run_with(mode, &demo_url, &Demo::default(), &options)
        })
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{mode:?}: {e}");
        let took = started.elapsed();
        assert!(took < Duration::from_millis(3_500), "{mode:?}: {took:?}");
    }
}

/// A server that redirects with a body of its own (10 KB) to a hop that never answers.
fn redirecting_to_silence() -> String {
    serve(16, |request, stream| {
        if request.path().contains("/next/") {
            std::thread::sleep(Duration::from_secs(20));
            return;
        }
        let body = "r".repeat(10 * 1024);
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: /api/v2/next/\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(format!("{head}{body}").as_bytes());
    })
}

/// A redirect's own answer is not the answer: when the hop it points to never answers,
/// the deadline says no answer came, not that a body (the redirect's) did not finish
/// (hp11 A-F1: "the answer came, but its body did not finish (10240 bytes read)").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_a_hop_that_never_answers_is_no_answer() {
    let url = format!("{}/api/v2/pokemon/1/", redirecting_to_silence());
    let options = HttpOptions {
        timeout: Some(Duration::from_millis(300)),
        ..HttpOptions::default()
    };
    for backend in [common::Backend::Direct, common::Backend::Reqwest] {
        let e = fetch(backend, &options, &url).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{backend:?}: {e}");
        assert!(
            e.to_string().ends_with(": no answer within 0.3 s"),
            "{backend:?}: {e}"
        );
    }
}

/// A server that reads the request and answers nothing, for 20 s.
fn silent() -> String {
    serve(16, |_, _| std::thread::sleep(Duration::from_secs(20)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_with_no_answer() {
    let url = format!("{}/api/v2/pokemon/1/", silent());
    times_out_on_every_backend(&url, "no answer within 0.3 s").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_timeout_is_clamped_not_a_panic() {
    let base = serve(16, |_, stream| {
        respond(stream, "200 OK", "", "{\"name\":\"bulbasaur\"}")
    });
    let url = format!("{base}/api/v2/pokemon/1/");
    let options = HttpOptions {
        timeout: Some(Duration::from_secs_f64(1e19)),
        ..HttpOptions::default()
    };
    for backend in BACKENDS {
        let resp = fetch(backend, &options, &url).await.unwrap();
        assert_eq!(resp.status, 200, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_where_json_is_expected_is_a_decode_error_everywhere() {
    let base = common::fixed_server(common::HTML, Duration::ZERO, 64);
    for backend in BACKENDS {
        let client = Client::new(&base, AnyTransport::new(backend, &HttpOptions::default()));
        let e = client.name(1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}: {e}");
        let e = client.pokemon(1).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}: {e}");
    }
    // The blocking demo does not count an HTML 200 as a success.
    let url = format!("{base}/pokemon/25/");
    let e = tokio::task::spawn_blocking(move || {
        run_with(
            Mode::Correct,
            &url,
            &Demo::default(),
            &HttpOptions::default(),
        )
    })
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert!(e.to_string().contains("is not JSON"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_demo_counts_only_a_resource_as_a_success() {
    // Valid JSON, none of it a resource: as every client refuses it, so does the demo.
    const NULL: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnull";
    const ARRAY: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n[1,2]";
    const OBJECT: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    for (response, said) in [
        (NULL, Some("got null")),
        (ARRAY, Some("got an array")),
        (OBJECT, None),
    ] {
        let url = format!(
            "{}/pokemon/25/",
            common::fixed_server(response, Duration::ZERO, 64)
        );
        let run = tokio::task::spawn_blocking(move || {
            run_with(
                Mode::Correct,
                &url,
                &Demo::default(),
                &HttpOptions::default(),
            )
        })
        .await
        .unwrap();
        match said {
            Some(said) => {
                let e = run.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
                assert!(e.to_string().contains("is not a resource"), "{e}");
                assert!(e.to_string().contains(said), "{e}");
            }
            None => assert!(run.is_ok(), "an object is a resource"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_is_another_resource_is_refused_on_every_backend() {
    // Asked for type/5 and type/fire, a server answers type 7, `normal`.
    const OTHER: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\nConnection: close\r\n\r\n{\"id\":7,\"name\":\"normal\"}";
    let base = common::fixed_server(OTHER, Duration::ZERO, 64);
    for backend in BACKENDS {
        let client = Client::new(&base, AnyTransport::new(backend, &HttpOptions::default()));
        for (key, said) in [
            (asyncdex::pokeapi::Key::Id(5), "its id is 7, not 5"),
            (
                asyncdex::pokeapi::Key::Name("fire".into()),
                "its name is \"normal\", not \"fire\"",
            ),
        ] {
            let what = asyncdex::pokeapi::Ref::new("type", key).unwrap();
            let e = client.raw(&what).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}: {e}");
            assert!(e.to_string().contains(said), "{backend:?}: {e}");
        }
        let seven = asyncdex::pokeapi::Ref::new("type", asyncdex::pokeapi::Key::Id(7)).unwrap();
        assert!(client.raw(&seven).await.is_ok(), "{backend:?}: its own id");
    }
}

/// `http2` (prior knowledge) against a server that speaks only HTTP/1.1 (hp9 A-F2): it
/// answers the HTTP/2 preface with an HTTP/1.1 status line, which h2 reads as a frame of
/// absurd size. The line says the server does not speak HTTP/2, not that its headers were
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_to_a_server_of_http1_only_says_so() {
    // One HTTP/1.1 answer, then what the client sends is read until it hangs up (as a
    // real server would before closing), so the answer is what the client meets.
    let base = serve(8, |_, stream| {
        let answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno";
        if stream.write_all(answer.as_bytes()).is_ok() {
            let _ = std::io::copy(stream, &mut std::io::sink());
        }
    });
    let url = format!("{base}/api/v2/pokemon/25/");
    let server = base.trim_start_matches("http://");
    let options = HttpOptions {
        http2: true,
        timeout: Some(Duration::from_secs(10)),
        ..HttpOptions::default()
    };
    let says = format!("the server at {server} does not speak HTTP/2 (prior knowledge)");
    // The direct path (every `http://` call) always meets h2's own error.
    for _ in 0..3 {
        let e = fetch(common::Backend::Direct, &options, &url)
            .await
            .unwrap_err();
        let line = e.to_string();
        assert!(line.starts_with(&says), "{line}");
        assert!(!line.contains("headers"), "{line}");
        assert_eq!(e.kind(), ErrorKind::Decode, "{line}");
        assert!(!e.is_transient(), "asking again cannot help: {line}");
    }
    // reqwest's pool may hand the call only the closed connection (its task met h2's
    // error first: "channel closed", "connection was not ready"): the cause when it is
    // told, never a header refusal.
    let e = fetch(common::Backend::Reqwest, &options, &url)
        .await
        .unwrap_err();
    let line = e.to_string();
    assert!(!line.contains("headers"), "{line}");
}

/// HTTP/1.1 (no `http2`) against a server that speaks only HTTP/2 (prior knowledge) (hp10
/// A-F2): it answers with a SETTINGS frame and a GOAWAY. Every backend says the server does
/// not answer in HTTP/1.x and asks for HTTP/2, not "invalid HTTP version parsed".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_to_a_server_of_http2_only_says_so_on_every_backend() {
    let base = serve(16, |_, stream| {
        let settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00";
        let goaway = b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01";
        let _ = stream.write_all(settings);
        let _ = stream.write_all(goaway);
    });
    let url = format!("{base}/api/v2/pokemon/25/");
    let server = base.trim_start_matches("http://");
    let says = format!("the server at {server} does not answer in HTTP/1.x: it answered {url} with what is not an HTTP/1.x status line (an HTTP/2-only server?); call it with HTTP/2 (prior knowledge)");
    let options = HttpOptions {
        timeout: Some(Duration::from_secs(10)),
        ..HttpOptions::default()
    };
    for backend in BACKENDS {
        let e = fetch(backend, &options, &url).await.unwrap_err();
        assert_eq!(e.to_string(), says, "{backend:?}");
        assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}");
        assert!(!e.is_transient(), "{backend:?}: asking again cannot help");
        assert_eq!(e.url(), Some(url.as_str()), "{backend:?}");
    }
}

/// A chunked answer whose chunk-size line goes on forever in extensions (`5;aaaa…`), or
/// whose trailers never end (hp10 A-F3): refused at once, and the line names the bound
/// passed, as the header bound does; not "the body broke off" (the server cut nothing) nor
/// "stalled" (the server kept sending).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_chunk_extensions_or_trailers_name_the_bound_passed() {
    fn flood(head: &'static [u8], line: Vec<u8>) -> String {
        serve(16, move |_, stream| {
            if stream.write_all(head).is_err() {
                return;
            }
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until && stream.write_all(&line).is_ok() {}
        })
    }
    let extensions = flood(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5;",
        vec![b'a'; 64 * 1024],
    );
    let options = HttpOptions {
        timeout: Some(Duration::from_secs(8)),
        ..HttpOptions::default()
    };
    let url = format!("{extensions}/api/v2/pokemon/1/");
    for backend in BACKENDS {
        let started = Instant::now();
        let e = fetch(backend, &options, &url).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{backend:?}: {e}"
        );
        let line = e.to_string();
        let bound = match backend {
            // hyper: 16 KiB of extensions in a body; ureq: its 128 KiB input buffer for
            // one line.
            common::Backend::Direct | common::Backend::Reqwest => {
                "has more than 16384 bytes of chunk extensions; stopped reading it".to_owned()
            }
            _ => "has more than 131072 bytes of chunked framing in one line (a chunk size with its extensions, or a trailer); stopped reading it".to_owned(),
        };
        assert_eq!(
            line,
            format!("the answer from {url} {bound}"),
            "{backend:?}"
        );
        assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}");
        assert!(!e.is_transient(), "{backend:?}");
    }
    let trailers = flood(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n",
        format!("X-T: {}\r\n", "a".repeat(60_000)).into_bytes(),
    );
    let url = format!("{trailers}/api/v2/pokemon/1/");
    // The async backends (hyper) bound trailers; ureq drops each trailer line it reads and
    // never counts them, so the blocking backend meets only the call's deadline.
    for backend in [common::Backend::Direct, common::Backend::Reqwest] {
        let started = Instant::now();
        let e = fetch(backend, &options, &url).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{backend:?}: {e}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "the answer from {url} has more than 16384 bytes of trailers; stopped reading it"
            ),
            "{backend:?}"
        );
        assert_eq!(e.kind(), ErrorKind::Decode, "{backend:?}");
    }
}
