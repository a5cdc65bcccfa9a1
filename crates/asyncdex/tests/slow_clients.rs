//! The mirror against clients that ask and do not read: a stalled reader is dropped after
//! the send timeout and its answers given back; a hostile peer holds no more than its
//! share of the answer budget, so an honest client is answered meanwhile; and an honest
//! client that asks for more than its share at once waits for its own answers instead of
//! being turned away.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use asyncdex::mirror::{Mirror, MirrorConfig, ServeLimits};
use tokio::io::AsyncWriteExt;
use tokio::time::{timeout, Instant};

/// Generous: on a loaded machine the server may take a while to fill a socket.
const PATIENCE: Duration = Duration::from_secs(20);

/// A large Pokémon body, so that a few fill a small budget.
const BIG: &str = "/api/v2/pokemon/1/";

/// The mirror's own counters.
async fn meta(mirror: &Mirror) -> serde_json::Value {
    let meta = common::http1_get(mirror.addr(), "/asyncdex/meta", PATIENCE).await;
    let body = meta.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).expect("meta is JSON")
}

async fn in_flight(mirror: &Mirror) -> u64 {
    meta(mirror).await["answers_in_flight_bytes"]
        .as_u64()
        .expect("counted")
}

/// Waits until `check` holds, polling; fails naming `what` after [`PATIENCE`].
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The size of [`BIG`]'s body.
async fn big_size() -> u64 {
    let mirror = Mirror::start(MirrorConfig::default()).await.unwrap();
    let answer = common::http1_get(mirror.addr(), BIG, PATIENCE).await;
    let size = answer.split("\r\n\r\n").nth(1).unwrap_or("").len() as u64;
    assert!(size > 100_000, "{BIG} is a large body ({size} bytes)");
    size
}

/// An HTTP/2 connection to `addr` from `from` (any 127.x address is loopback), with
/// receive windows of `window` bytes; its driver.
async fn h2_from(
    from: [u8; 4],
    addr: SocketAddr,
    window: u32,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(window)
        .initial_connection_window_size(window.max(65_535))
        .handshake::<_, bytes::Bytes>(tcp)
        .await
        .unwrap();
    (send, tokio::spawn(conn))
}

/// Sends `n` requests for `path` on `send`; their answers (headers may not have come).
async fn ask(
    send: &h2::client::SendRequest<bytes::Bytes>,
    path: &str,
    n: usize,
) -> Vec<h2::client::ResponseFuture> {
    let mut answers = Vec::new();
    for _ in 0..n {
        let mut send = send.clone().ready().await.unwrap();
        let req = hyper::Request::get(format!("http://test{path}"))
            .body(())
            .unwrap();
        answers.push(send.send_request(req, true).unwrap().0);
    }
    answers
}

fn quick(send_timeout: Duration) -> ServeLimits {
    ServeLimits {
        send_timeout,
        ..ServeLimits::default()
    }
}

#[tokio::test]
async fn a_stalled_http2_reader_is_dropped_and_its_answers_given_back() {
    let mirror = Mirror::start_limited(MirrorConfig::default(), quick(Duration::from_secs(1)))
        .await
        .unwrap();
    let (send, driver) = h2_from([127, 0, 0, 1], mirror.addr(), 0).await;
    let mut held = Vec::new(); // kept, unread: a dropped answer is a reset stream
    for answer in ask(&send, BIG, 5).await {
        let answer = timeout(PATIENCE, answer).await.expect("headers come");
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 200);
        held.push(answer);
    }
    assert!(
        in_flight(&mirror).await > 0,
        "the unread answers are held, for now"
    );
    eventually("the stalled reader's answers are given back", || async {
        in_flight(&mirror).await == 0
    })
    .await;
    let closed = timeout(PATIENCE, driver).await;
    assert!(closed.is_ok(), "the server closed the stalled connection");
    let stats = mirror.stop().await;
    assert!(stats.stalled >= 1, "counted: {stats:?}");
}

#[tokio::test]
async fn a_stalled_http1_reader_is_dropped_and_its_answer_given_back() {
    let mirror = Mirror::start_limited(MirrorConfig::default(), quick(Duration::from_secs(1)))
        .await
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(mirror.addr()).await.unwrap();
    // Forty answers asked at once (pipelined): more than the kernel's socket buffers take
    // (a few MB on loopback), so the rest stay with the server.
    let request = format!("GET {BIG} HTTP/1.1\r\nHost: test\r\n\r\n").repeat(40);
    stream.write_all(request.as_bytes()).await.unwrap();
    // Never read: the answers stay with the server, until the send timeout.
    let start = Instant::now();
    for _ in 0..10 {
        eprintln!("DBG {:?} {}", start.elapsed(), meta(&mirror).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually("the reader's answer is held", || async {
        in_flight(&mirror).await > 0
    })
    .await;
    eventually("the stalled reader's answer is given back", || async {
        in_flight(&mirror).await == 0
    })
    .await;
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    let stats = mirror.stop().await;
    assert_eq!(stats.stalled, 1, "counted: {stats:?}");
    drop(stream);
}

#[tokio::test]
async fn an_honest_client_is_answered_while_a_hostile_peer_holds_its_share() {
    let size = big_size().await;
    let limits = ServeLimits {
        answer_budget: (size * 8) as usize,
        connection_share: (size * 8) as usize,
        peer_share: (size * 2) as usize,
        ..ServeLimits::default() // a send timeout of a minute: the hostile peer stays
    };
    let mirror = Mirror::start_limited(MirrorConfig::default(), limits)
        .await
        .unwrap();
    // Two hostile connections from 127.0.0.2, ten streams each, reading nothing.
    let (a, a_driver) = h2_from([127, 0, 0, 2], mirror.addr(), 0).await;
    let (b, b_driver) = h2_from([127, 0, 0, 2], mirror.addr(), 0).await;
    let _held = (ask(&a, BIG, 10).await, ask(&b, BIG, 10).await);
    eventually("the hostile peer holds its share", || async {
        in_flight(&mirror).await >= size * 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await; // let it try for more
    let held = in_flight(&mirror).await;
    assert!(held <= size * 3, "a share of 2 bodies held {held} bytes");
    // The hostile peer's own look at the counters is not held up by its share.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from(([127, 0, 0, 2], 0))).unwrap();
    let mut stream = socket.connect(mirror.addr()).await.unwrap();
    let request = "GET /asyncdex/meta HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer);
    timeout(PATIENCE, read)
        .await
        .expect("meta answers")
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "meta answered");
    // An honest client, from 127.0.0.1: answered in full, now.
    let answer = common::http1_get(mirror.addr(), BIG, PATIENCE).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
    a_driver.abort();
    b_driver.abort();
    mirror.stop().await;
}

#[tokio::test]
async fn an_honest_client_asking_past_its_share_waits_for_its_own_answers() {
    let size = big_size().await;
    let limits = ServeLimits {
        connection_share: (size * 2) as usize,
        ..ServeLimits::default()
    };
    let mirror = Mirror::start_limited(MirrorConfig::default(), limits)
        .await
        .unwrap();
    let (send, driver) = h2_from([127, 0, 0, 1], mirror.addr(), 1 << 20).await;
    let answers = ask(&send, BIG, 20).await;
    for answer in answers {
        let answer = timeout(PATIENCE, answer).await.expect("answered").unwrap();
        assert_eq!(answer.status(), 200, "waited, not turned away");
        let mut body = answer.into_body();
        let mut got = 0;
        while let Some(chunk) = timeout(PATIENCE, body.data()).await.expect("read") {
            let chunk = chunk.unwrap();
            got += chunk.len() as u64;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        assert_eq!(got, size, "the whole body");
    }
    driver.abort();
    let stats = mirror.stop().await;
    assert_eq!(stats.over_budget, 0, "none turned away: {stats:?}");
}
