//! The server's byte budget for answers in flight: clients that ask and never read hold
//! their answers, and past the budget the server says "come back in a second" (503,
//! `Retry-After: 1`) instead of holding more; once they go, it answers again.

use crate::common;
use crate::h2_client;

use std::time::Duration;

use asyncdex::mirror::{Mirror, MirrorConfig, ServeLimits};
use tokio::time::timeout;

/// Generous: on a loaded machine the server may take a while to fill a socket.
const PATIENCE: Duration = Duration::from_secs(20);

/// The largest Pokémon body there is, so that a few fill the budget.
const BIG: &str = "/api/v2/pokemon/1/";

/// The mirror's own counter of answer bytes in flight.
async fn in_flight(mirror: &Mirror) -> u64 {
    let meta = get(mirror, "/asyncdex/meta").await;
    let body = meta.split("\r\n\r\n").nth(1).unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(body).expect("meta is JSON");
    json["answers_in_flight_bytes"].as_u64().expect("counted")
}

/// One `GET` on a fresh connection, read to the end.
async fn get(mirror: &Mirror, path: &str) -> String {
    common::http1_get(mirror.addr(), path, PATIENCE).await
}

/// Statuses of `n` requests for `path` on one HTTP/2 connection whose client never opens
/// its receive window, so every answer stays with the server; the connection's driver,
/// to drop when done.
async fn never_read(mirror: &Mirror, path: &str, n: usize) -> (Vec<u16>, impl Drop) {
    let (send, driver) = h2_client::h2_that_reads_nothing(mirror.addr()).await;
    let mut statuses = Vec::new();
    let mut held = Vec::new();
    for _ in 0..n {
        let mut send = send.clone().ready().await.unwrap();
        let req = hyper::Request::get(format!("http://test{path}"))
            .body(())
            .unwrap();
        let (answer, _) = send.send_request(req, true).unwrap();
        let answer = timeout(PATIENCE, answer)
            .await
            .expect("headers come")
            .unwrap();
        statuses.push(answer.status().as_u16());
        held.push(answer); // its body unread
    }
    (
        statuses,
        Aborted {
            driver,
            _answers: held,
        },
    )
}

/// Aborts a connection's driver (and drops the answers it held) when dropped.
struct Aborted<T> {
    driver: tokio::task::JoinHandle<T>,
    _answers: Vec<hyper::Response<h2::RecvStream>>,
}

impl<T> Drop for Aborted<T> {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

#[tokio::test]
async fn past_the_budget_a_server_turns_answers_away_until_readers_go() {
    let body = get(&Mirror::start(MirrorConfig::default()).await.unwrap(), BIG).await;
    let size = body.len() as u64;
    assert!(size > 100_000, "pokemon/1 is a large body ({size} bytes)");
    let limits = ServeLimits {
        answer_budget: (size * 3) as usize,
        ..ServeLimits::default()
    };
    let mirror = Mirror::start_limited(MirrorConfig::default(), limits)
        .await
        .unwrap();
    let (statuses, connection) = never_read(&mirror, BIG, 10).await;
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    assert!(
        (1..=3).contains(&ok),
        "a budget of 3 bodies held {ok}: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 503),
        "{statuses:?}"
    );
    let held = in_flight(&mirror).await;
    assert!(held <= size * 3, "held {held} bytes, budget {}", size * 3);
    assert!(held > 0, "the unread answers are counted");
    // Over HTTP/1.1 too, while the budget is spent.
    let answer = get(&mirror, BIG).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:.200}");
    assert!(answer.contains("retry-after: 1"), "{answer:.200}");
    // Once the reader goes, its answers are given back and the server answers again.
    drop(connection);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if in_flight(&mirror).await == 0 && get(&mirror, BIG).await.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the budget was never given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = mirror.stop().await;
    assert!(
        stats.over_budget >= 8,
        "every refusal is counted: {stats:?}"
    );
}
