//! The mirror against clients that hold connections without using them: idle sockets by
//! the dozen, a header never finished, a connection that never says a word. Each test
//! sets small limits so the guard acts within the test's time, and asserts the server
//! still answers.

use crate::common;

use std::time::Duration;

use asyncdex::mirror::{ConnectionCap, Mirror, MirrorConfig, ServeLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Generous: the guards act in well under a second; a loaded machine may be slow.
const PATIENCE: Duration = Duration::from_secs(15);

fn limits(cap: usize, header: Duration, idle: Duration) -> ServeLimits {
    ServeLimits {
        header_timeout: header,
        idle_timeout: idle,
        max_connections: ConnectionCap::Fixed(cap),
        shutdown_grace: Duration::from_secs(10),
        ..ServeLimits::default()
    }
}

/// One `GET` on a fresh connection; the status line of the answer.
async fn status_line(mirror: &Mirror, path: &str) -> String {
    let answer = common::http1_get(mirror.addr(), path, PATIENCE).await;
    answer.lines().next().unwrap_or("").to_owned()
}

/// Whether the server closed `stream` (end of file, or reset) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false, // still open
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // an error answer before closing is fine
        }
    }
}

#[tokio::test]
async fn at_the_connection_cap_idle_connections_make_room_for_a_request() {
    let cap = 50;
    let long = Duration::from_secs(60);
    let mirror = Mirror::start_limited(MirrorConfig::default(), limits(cap, long, long))
        .await
        .unwrap();
    let mut idle = Vec::new();
    for _ in 0..60 {
        idle.push(TcpStream::connect(mirror.addr()).await.unwrap());
    }
    // Sixty idle sockets, a cap of fifty: the request is still answered.
    assert_eq!(
        status_line(&mirror, "/api/v2/pokemon/25/").await,
        "HTTP/1.1 200 OK"
    );
    // To make room, the server closed the idle ones beyond the cap, and no more.
    let checks = idle
        .iter_mut()
        .map(|s| closed_within(s, Duration::from_millis(1500)));
    let closed = futures::future::join_all(checks)
        .await
        .into_iter()
        .filter(|&c| c)
        .count();
    assert!(
        closed >= 60 + 1 - cap,
        "only {closed} idle connections closed"
    );
    assert!(closed <= 60, "{closed}");
    mirror.stop().await;
}

#[tokio::test]
async fn a_half_sent_header_is_closed_after_the_header_timeout() {
    let limits = limits(100, Duration::from_millis(300), Duration::from_secs(60));
    let mirror = Mirror::start_limited(MirrorConfig::default(), limits)
        .await
        .unwrap();
    let mut stream = TcpStream::connect(mirror.addr()).await.unwrap();
    stream
        .write_all(b"GET /api/v2/pokemon/1/ HTTP/1.1\r\nHost: test\r\nX-Never: finished")
        .await
        .unwrap();
    assert!(
        closed_within(&mut stream, PATIENCE).await,
        "the half-sent header was kept open"
    );
    assert_eq!(
        status_line(&mirror, "/api/v2/type/13/").await,
        "HTTP/1.1 200 OK"
    );
    mirror.stop().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout() {
    let limits = limits(100, Duration::from_secs(60), Duration::from_millis(300));
    let mirror = Mirror::start_limited(MirrorConfig::default(), limits)
        .await
        .unwrap();
    let mut silent = TcpStream::connect(mirror.addr()).await.unwrap();
    assert!(
        closed_within(&mut silent, PATIENCE).await,
        "a silent connection was kept open"
    );
    mirror.stop().await;
}

#[tokio::test]
async fn a_slow_answer_is_not_cut_by_the_idle_timeout() {
    let config = MirrorConfig {
        latency: Duration::from_millis(1200),
        ..MirrorConfig::default()
    };
    let limits = limits(100, Duration::from_secs(60), Duration::from_millis(200));
    let mirror = Mirror::start_limited(config, limits).await.unwrap();
    // The request is in progress for six idle timeouts: it is answered all the same.
    assert_eq!(
        status_line(&mirror, "/api/v2/pokemon/1/").await,
        "HTTP/1.1 200 OK"
    );
    mirror.stop().await;
}

#[test]
fn the_embedded_mirrors_share_of_descriptors_leaves_the_client_half() {
    asyncdex::mirror::raise_fd_limit().unwrap();
    let whole = ServeLimits::default().connection_cap();
    let shared = ServeLimits::sharing_process().connection_cap();
    assert!(shared < whole, "{shared} of {whole}");
    if let Some(soft) = asyncdex::mirror::fd_limit().and_then(|l| l.soft) {
        assert!(shared as u64 <= soft / 2, "{shared} of {soft} descriptors");
    }
    assert_eq!(
        limits(7, Duration::ZERO, Duration::ZERO).connection_cap(),
        7
    );
}

/// A client that never reads its answers holds the server's writes; once the server stops,
/// the connection gets `shutdown_grace` to finish, then it is dropped: `serve` returns
/// instead of waiting for a client that may never read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_waits_for_a_client_that_never_reads_only_so_long() {
    let mut limits = limits(64, Duration::from_secs(30), Duration::from_secs(60));
    limits.shutdown_grace = Duration::from_millis(300);
    let listener = asyncdex::mirror::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(asyncdex::mirror::serve_limited(
        listener,
        MirrorConfig::default(),
        asyncdex::mirror::Data::embedded(),
        limits,
        async move {
            let _ = stopped.await;
        },
    ));
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    // 64 answers of 250 KB asked at once and never read: 16 MB, far more than the kernel's
    // buffers hold, so the server's writes stay stuck.
    let request = "GET /api/v2/pokemon/25/ HTTP/1.1\r\nHost: test\r\n\r\n".repeat(64);
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    let returned = timeout(Duration::from_secs(5), server).await;
    assert!(
        returned.is_ok(),
        "serve waited for a client that never reads"
    );
    drop(stream);
}

/// A connection to `addr` from `from` (any 127.x address is loopback), with a receive
/// buffer of 4 KiB, that has sent `request`.
async fn connect_from(from: [u8; 4], addr: std::net::SocketAddr, request: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind(std::net::SocketAddr::from((from, 0))).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn one_address_holding_every_slot_does_not_keep_another_out() {
    let cap = 8;
    let long = Duration::from_secs(60);
    let mirror = Mirror::start_limited(MirrorConfig::default(), limits(cap, long, long))
        .await
        .unwrap();
    // Forty connections from one address, five times the cap: half of them a header never
    // finished (slowloris), half twenty answers asked for and never read (so they stay
    // busy for the whole send timeout). Most wait in the kernel's queue, ahead of the probe.
    let half = "GET /api/v2/pokemon/25/ HTTP/1.1\r\nHost: hog\r\n";
    let unread = "GET /api/v2/pokemon/25/ HTTP/1.1\r\nHost: hog\r\n\r\n".repeat(20);
    let mut hog = Vec::new();
    for i in 0..40 {
        let request = if i % 2 == 0 { half } else { unread.as_str() };
        hog.push(connect_from([127, 0, 0, 2], mirror.addr(), request).await);
    }
    // A client from another address is answered, though every slot was taken first.
    let mut probe = connect_from(
        [127, 0, 0, 3],
        mirror.addr(),
        "GET /api/v2/pokemon/1/ HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n",
    )
    .await;
    let mut answer = Vec::new();
    timeout(Duration::from_secs(8), probe.read_to_end(&mut answer))
        .await
        .expect("the probe is answered while the flood holds on")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer:.100}");
    let stats = mirror.stats();
    assert!(stats.crowded_out >= 1, "counted: {stats:?}");
    // Room was made by closing the flooding address's connections, not all of them: some
    // are still served (at most the cap) or wait for a slot (a room of two).
    let mut open = 0;
    for stream in &mut hog {
        if !closed_within(stream, Duration::from_millis(50)).await {
            open += 1;
        }
    }
    assert!(
        (1..=cap + 2).contains(&open),
        "{open} of the flood's connections open"
    );
    drop(hog);
    mirror.stop().await;
}
