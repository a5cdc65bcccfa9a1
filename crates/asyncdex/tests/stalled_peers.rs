//! Many peers that ask and never read cannot shut a newcomer out: the last quarter of the
//! answer budget is kept for peers that hold little (the mirror's `reserve` module). The
//! hostile pass's 36 peers, scaled down: 24 loopback addresses, each an HTTP/2 connection
//! whose receive window is 0, asking for list pages and reading nothing.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use asyncdex::mirror::{Mirror, MirrorConfig, ServeLimits};
use tokio::time::{timeout, Instant};

/// Generous: on a loaded machine the server may take a while to render the pages.
const PATIENCE: Duration = Duration::from_secs(30);

/// The budget: 16 MiB, so a peer holding at most 128 KiB is light.
const BUDGET: usize = 16 << 20;

/// What the stalled peers ask for: 21 KB pages.
const HOSTILE: &str = "/api/v2/pokemon/?limit=300";

async fn in_flight(mirror: &Mirror) -> usize {
    let meta = common::http1_get(mirror.addr(), "/asyncdex/meta", PATIENCE).await;
    let body = meta.split("\r\n\r\n").nth(1).unwrap_or("");
    let meta: serde_json::Value = serde_json::from_str(body).expect("meta is JSON");
    meta["answers_in_flight_bytes"].as_u64().expect("counted") as usize
}

/// An HTTP/2 connection from `from` that opens no window and asks `streams` times for
/// [`HOSTILE`]; the driver and the answers, kept unread until dropped.
async fn stalled_peer(from: [u8; 4], addr: SocketAddr, streams: usize) -> Stalled {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, bytes::Bytes>(tcp)
        .await
        .unwrap();
    let driver = tokio::spawn(conn);
    let mut answers = Vec::new();
    for _ in 0..streams {
        let mut send = send.clone().ready().await.unwrap();
        let req = hyper::Request::get(format!("http://test{HOSTILE}"))
            .body(())
            .unwrap();
        answers.push(send.send_request(req, true).unwrap().0);
    }
    Stalled {
        driver,
        _answers: answers,
    }
}

/// A stalled peer: its connection ends when dropped.
struct Stalled {
    driver: tokio::task::JoinHandle<Result<(), h2::Error>>,
    _answers: Vec<h2::client::ResponseFuture>,
}

impl Drop for Stalled {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

#[tokio::test]
async fn a_new_peer_is_answered_while_many_stalled_peers_hold_the_budget() {
    let limits = ServeLimits {
        answer_budget: BUDGET,
        connection_share: BUDGET / 16,
        peer_share: BUDGET / 8,
        ..ServeLimits::default() // a send timeout of a minute: the stalled peers stay
    };
    let mirror = Mirror::start_limited(MirrorConfig::default(), limits)
        .await
        .unwrap();
    let mut peers = Vec::new();
    for n in 0..24 {
        peers.push(stalled_peer([127, 0, 0, 10 + n], mirror.addr(), 60).await);
    }
    // 24 peers × 60 pages of 21 KB: 30 MB asked, each peer held to its 1 MiB connection
    // share: more than the budget's first three quarters.
    let deadline = Instant::now() + PATIENCE;
    while in_flight(&mirror).await < BUDGET * 3 / 4 - 64 * 1024 {
        assert!(
            Instant::now() < deadline,
            "the stalled peers never held 3/4"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // let them try for more
                                                          // A newcomer from 127.0.0.1: a 42 KB page (larger than any one stalled answer, so it
                                                          // would not fit in what they leave over) and resources, every one answered.
    for n in 1..=10 {
        let page = format!("/api/v2/pokemon/?limit=600&offset={n}");
        for path in [page, format!("/api/v2/item/{n}/")] {
            let answer = timeout(PATIENCE, common::http1_get(mirror.addr(), &path, PATIENCE))
                .await
                .expect("answered");
            assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer:.100}");
        }
    }
    let held = in_flight(&mirror).await;
    assert!(held <= BUDGET, "never past the budget: {held}");
    drop(peers);
    let stats = mirror.stop().await;
    assert!(
        stats.over_budget > 0,
        "the stalled peers were turned away past their part: {stats:?}"
    );
}
