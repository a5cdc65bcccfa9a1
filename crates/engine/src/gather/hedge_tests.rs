//! Hedged requests through a whole batch, on tokio's paused clock.
use super::super::{gather, Policy};
use super::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

/// How often each input was called: the first call of an input is the original.
fn counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

fn hedging(concurrency: usize) -> Policy {
    let mut policy = Policy::new(concurrency);
    policy.hedge = Some(Hedge::at(0.95).unwrap());
    policy
}

#[tokio::test(start_paused = true)]
async fn a_call_slower_than_p95_is_hedged_and_the_hedge_wins() {
    let calls = counters(40);
    let seen = calls.clone();
    let t0 = tokio::time::Instant::now();
    let out = gather((0..40).collect(), &hedging(1), move |i: usize| {
        let copy = seen[i].fetch_add(1, SeqCst);
        async move {
            // Call 30's original is stuck for 10 s; every other answer takes 10 ms.
            let ms = if i == 30 && copy == 0 { 10_000 } else { 10 };
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::io::Error>((i, copy))
        }
    })
    .await
    .unwrap();
    assert_eq!(out.len(), 40, "one outcome per input");
    assert!(out.iter().enumerate().all(|(i, o)| o.index == i));
    let slow = &out[30];
    assert_eq!(slow.hedged, Some(Winner::Hedge));
    assert_eq!(slow.result.as_ref().unwrap(), &(30, 1), "the copy's answer");
    assert_eq!(slow.attempts, 1, "a hedge is not a retry");
    // One at a time: 39 calls of 10 ms, and call 30 waits the p95 (10 ms), then its
    // copy's 10 ms, instead of 10 s. (The outcomes' own times are the real clock's.)
    assert_eq!(t0.elapsed(), Duration::from_millis(39 * 10 + 20));
    for o in out.iter().filter(|o| o.index != 30) {
        assert_eq!(o.hedged, None, "call {} was never slow", o.index);
    }
    let sent: usize = calls.iter().map(|c| c.load(SeqCst)).sum();
    assert_eq!(sent, 41, "one extra request, and only one");
}

#[tokio::test(start_paused = true)]
async fn the_budget_caps_the_copies() {
    let n = 200;
    let calls = counters(n);
    let seen = calls.clone();
    let out = gather((0..n).collect(), &hedging(4), move |i: usize| {
        let copy = seen[i].fetch_add(1, SeqCst);
        async move {
            // After the warm-up every original is slow: all would be hedged, unbounded.
            let ms = if i >= 20 && copy == 0 { 1_000 } else { 10 };
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::io::Error>(i)
        }
    })
    .await
    .unwrap();
    assert_eq!(out.len(), n);
    assert!(out.iter().all(|o| o.result.is_ok() && o.attempts == 1));
    let hedged = out.iter().filter(|o| o.hedged.is_some()).count();
    let sent: usize = calls.iter().map(|c| c.load(SeqCst)).sum();
    assert_eq!(sent - n, hedged, "each hedged call sent one copy");
    assert!(hedged >= 1, "some were hedged");
    assert!(hedged <= n / 20, "at most 5 % of {n} calls: {hedged}");
}

#[tokio::test(start_paused = true)]
async fn a_copy_that_fails_does_not_beat_one_that_succeeds() {
    let calls = counters(30);
    let seen = calls.clone();
    let t0 = tokio::time::Instant::now();
    let out = gather((0..30).collect(), &hedging(1), move |i: usize| {
        let copy = seen[i].fetch_add(1, SeqCst);
        async move {
            match (i, copy) {
                // The original is slow but succeeds; its copy fails at once.
                (25, 0) => tokio::time::sleep(Duration::from_millis(50)).await,
                (25, _) => return Err(std::io::Error::other("copy failed")),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
            Ok(i)
        }
    })
    .await
    .unwrap();
    assert_eq!(out[25].hedged, Some(Winner::Original));
    assert_eq!(*out[25].result.as_ref().unwrap(), 25);
    assert_eq!(calls[25].load(SeqCst), 2, "the copy was sent");
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(29 * 10 + 50),
        "the original waited for"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_hedge_policy_nothing_is_copied() {
    let calls = counters(50);
    let seen = calls.clone();
    let out = gather((0..50).collect(), &Policy::new(2), move |i: usize| {
        seen[i].fetch_add(1, SeqCst);
        async move {
            let ms = if i == 40 { 5_000 } else { 10 };
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::io::Error>(i)
        }
    })
    .await
    .unwrap();
    assert!(out.iter().all(|o| o.hedged.is_none()));
    assert!(calls.iter().all(|c| c.load(SeqCst) == 1));
}

#[tokio::test(start_paused = true)]
async fn a_copy_still_waiting_for_a_rate_token_is_not_counted_as_a_hedge() {
    let n = 40;
    let calls = counters(n);
    let seen = calls.clone();
    let mut policy = hedging(1);
    // A token every 100 ms: a copy taken 10 ms into an attempt waits ~90 ms for one.
    policy.rate = Some(crate::gather::RateLimit::per_second(10.0).unwrap());
    let out = gather((0..n).collect(), &policy, move |i: usize| {
        let copy = seen[i].fetch_add(1, SeqCst);
        async move {
            // Call 30's original passes the p95 (10 ms) but answers at 50 ms, long before
            // its copy could have had a token.
            let ms = if i == 30 && copy == 0 { 50 } else { 10 };
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::io::Error>(i)
        }
    })
    .await
    .unwrap();
    assert_eq!(calls[30].load(SeqCst), 1, "the copy never made its call");
    assert_eq!(out[30].hedged, None, "so call 30 was not hedged");
    assert!(out.iter().all(|o| o.hedged.is_none() && o.result.is_ok()));
    let sent: usize = calls.iter().map(|c| c.load(SeqCst)).sum();
    assert_eq!(sent, n, "no extra request went out");
}

#[tokio::test(start_paused = true)]
async fn a_copy_that_got_its_token_and_lost_is_counted() {
    let calls = counters(40);
    let seen = calls.clone();
    let mut policy = hedging(1);
    policy.rate = Some(crate::gather::RateLimit::per_second(10.0).unwrap());
    let out = gather((0..40).collect(), &policy, move |i: usize| {
        let copy = seen[i].fetch_add(1, SeqCst);
        async move {
            // Call 30's original answers at 150 ms; its copy has a token at ~100 ms and
            // then hangs: the original wins, and the copy was sent.
            let ms = match (i, copy) {
                (30, 0) => 150,
                (30, _) => 10_000,
                _ => 10,
            };
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::io::Error>(i)
        }
    })
    .await
    .unwrap();
    assert_eq!(calls[30].load(SeqCst), 2, "the copy made its call");
    assert_eq!(out[30].hedged, Some(Winner::Original));
}
