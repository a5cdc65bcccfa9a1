//! The mirror against what a hostile user can hand it: a latency of an hour with a
//! request in flight when it is told to stop, and (`serve --from`) files too large to
//! read whole or that are not files at all. Each test asserts the bound holds and says
//! what crossed it.

use crate::h2_client;

use std::time::{Duration, Instant};

use asyncdex::mirror::{Data, Mirror, MirrorConfig, MAX_FILE, MAX_H2_STREAMS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Generous for a loaded machine, and far below the 60 s latency under test.
const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn stopping_answers_a_request_waiting_out_its_latency_at_once() {
    let config = MirrorConfig {
        latency: Duration::from_secs(60),
        ..MirrorConfig::default()
    };
    let mirror = Mirror::start(config).await.unwrap();
    let mut conn = TcpStream::connect(mirror.addr()).await.unwrap();
    conn.write_all(b"GET /api/v2/pokemon/25 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Let the request reach its latency.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let reply = tokio::spawn(async move {
        let mut got = Vec::new();
        let _ = conn.read_to_end(&mut got).await;
        got
    });
    timeout(PATIENCE, mirror.stop())
        .await
        .expect("stop returns without waiting out the latency");
    let got = timeout(PATIENCE, reply)
        .await
        .expect("the waiting request is answered or closed, not left for 60 s")
        .unwrap();
    let head = String::from_utf8_lossy(&got);
    assert!(
        got.is_empty() || head.starts_with("HTTP/1.1 503"),
        "a stopping mirror answers 503 or closes: {head:.80}"
    );
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());
}

/// A folder in PokeAPI's static layout with a one-entry pokemon list.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let api = dir.path().join("data/api/v2/pokemon");
    std::fs::create_dir_all(api.join("25")).unwrap();
    std::fs::write(
        api.join("index.json"),
        r#"{"count":1,"results":[{"name":"pikachu","url":"/api/v2/pokemon/25/"}]}"#,
    )
    .unwrap();
    dir
}

/// A sparse file of `len` bytes: no disk used, but `len` to anyone who reads it.
fn sparse(path: &std::path::Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

#[test]
fn a_list_file_too_large_to_read_is_refused_at_open_naming_it() {
    let dir = folder();
    let index = dir.path().join("data/api/v2/pokemon/index.json");
    sparse(&index, 3 << 30);
    let e = Data::open(dir.path())
        .expect_err("a 3 GB list is not read")
        .to_string();
    assert!(e.contains("pokemon/index.json"), "{e}");
    assert!(e.contains("larger than"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

#[tokio::test]
async fn a_resource_file_too_large_is_a_500_not_read_whole() {
    let dir = folder();
    sparse(
        &dir.path().join("data/api/v2/pokemon/25/index.json"),
        MAX_FILE + 1,
    );
    let data = Data::open(dir.path()).unwrap();
    let mirror = Mirror::start_from(data, MirrorConfig::default())
        .await
        .unwrap();
    let mut conn = TcpStream::connect(mirror.addr()).await.unwrap();
    conn.write_all(b"GET /api/v2/pokemon/25 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    timeout(PATIENCE, conn.read_to_end(&mut got))
        .await
        .expect("answered")
        .unwrap();
    let head = String::from_utf8_lossy(&got);
    assert!(head.starts_with("HTTP/1.1 500"), "{head:.200}");
    assert!(
        got.len() < 4096,
        "the body was not sent: {} bytes",
        got.len()
    );
    mirror.stop().await;
}

#[cfg(unix)]
#[test]
fn what_is_neither_a_file_nor_a_folder_is_refused_naming_what_it_is() {
    let e = Data::open(std::path::Path::new("/dev/zero"))
        .expect_err("a device is not a store")
        .to_string();
    assert!(
        e.contains("/dev/zero") && e.contains("character device"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.db");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let e = Data::open(&fifo)
            .expect_err("a FIFO is not a store")
            .to_string();
        assert!(e.contains("pipe.db") && e.contains("FIFO"), "{e}");
        assert!(!e.contains("empty"), "{e}");
    }
}

/// A client that never opens its receive window holds every answer it asked for; the
/// server lets one connection have only so many open at once.
#[tokio::test]
async fn an_http2_client_that_reads_nothing_may_open_only_so_many_streams() {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let (mut send, driver) = h2_client::h2_that_reads_nothing(mirror.addr()).await;
    let req = hyper::Request::get(format!("{}/pokemon/25", mirror.base_url()))
        .body(())
        .unwrap();
    let (answer, _) = send.send_request(req, true).unwrap();
    let answer = timeout(PATIENCE, answer)
        .await
        .expect("headers come")
        .unwrap();
    assert_eq!(answer.status(), 200);
    let most = send.current_max_send_streams();
    assert!(
        (100..=MAX_H2_STREAMS as usize).contains(&most),
        "the server allows {most} streams per connection"
    );
    drop((answer, send));
    driver.abort();
    timeout(PATIENCE, mirror.stop()).await.expect("stops");
}
