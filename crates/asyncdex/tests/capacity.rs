//! A mirror with a capacity: at most N served at once, M waiting, the rest turned away
//! with 503 and Retry-After; on tokio's paused clock, so the times are exact.

use std::time::Duration;

use asyncdex::mirror::{app, Capacity, MirrorConfig, MirrorState};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

#[tokio::test(start_paused = true)]
async fn past_the_capacity_requests_wait_and_past_the_queue_they_are_turned_away() {
    let config = MirrorConfig {
        latency: Duration::from_millis(100),
        capacity: Some(Capacity {
            servers: 2,
            queue: 2,
        }),
        ..MirrorConfig::default()
    };
    let state = MirrorState::new("http://mirror.test/api/v2", config);
    let router = app(state.clone());
    let t0 = tokio::time::Instant::now();
    let calls = (0..6).map(|i| {
        let router = router.clone();
        async move {
            let req = Request::get(format!("/api/v2/type/{}/", i + 1))
                .body(Body::empty())
                .unwrap();
            let resp = router.oneshot(req).await.unwrap();
            let retry = resp.headers().get("retry-after").cloned();
            (resp.status(), t0.elapsed(), retry)
        }
    });
    let answers = futures::future::join_all(calls).await;
    let ok: Vec<Duration> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::OK)
        .map(|(_, at, _)| *at)
        .collect();
    let turned_away: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    // Two served at once (100 ms), two waited for them (200 ms), two turned away at once.
    assert_eq!(ok.len(), 4, "{answers:?}");
    assert_eq!(
        ok.iter()
            .filter(|at| **at == Duration::from_millis(100))
            .count(),
        2
    );
    assert_eq!(
        ok.iter()
            .filter(|at| **at == Duration::from_millis(200))
            .count(),
        2
    );
    assert_eq!(turned_away.len(), 2);
    assert!(turned_away
        .iter()
        .all(|(_, at, retry)| at.is_zero() && retry.as_ref().is_some_and(|r| r == "1")));
    let stats = state.stats().capacity.unwrap();
    assert_eq!((stats.queued, stats.rejected), (2, 2));
    assert_eq!(stats.max_wait_us, 100_000);
    assert_eq!(stats.mean_wait(), Duration::from_millis(100));
}

#[tokio::test]
async fn without_a_capacity_nothing_waits_or_is_turned_away() {
    let state = MirrorState::new("http://mirror.test/api/v2", MirrorConfig::default());
    let resp = app(state.clone())
        .oneshot(Request::get("/api/v2/type/1/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(state.stats().capacity, None);
}
