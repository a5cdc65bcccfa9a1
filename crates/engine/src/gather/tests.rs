//! The engine's behaviour, mostly on tokio's paused clock.
use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A caller's own error, as an HTTP client would classify it.
#[derive(Debug, Clone, PartialEq)]
enum TestError {
    NotFound,
    Decode,
    Status(u16, Option<Duration>),
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl Classify for TestError {
    fn retry(&self) -> Retry {
        match self {
            TestError::Status(429 | 500..=599, Some(wait)) => Retry::After(*wait),
            TestError::Status(429 | 500..=599, None) => Retry::Yes,
            _ => Retry::No,
        }
    }
}

type TestResult<T> = std::result::Result<T, TestError>;

#[tokio::test(start_paused = true)]
async fn concurrent_calls_take_one_wait_not_the_sum() {
    let t0 = tokio::time::Instant::now();
    let out = gather((0..20).collect(), &Policy::new(64), |i: u32| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, TestError>(i)
    })
    .await
    .unwrap();
    assert_eq!(t0.elapsed(), Duration::from_millis(100));
    assert_eq!(out.len(), 20);
}

#[tokio::test(start_paused = true)]
async fn the_limit_bounds_calls_in_flight() {
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let t0 = tokio::time::Instant::now();
    let (n, p) = (now.clone(), peak.clone());
    gather((0..10).collect(), &Policy::new(3), move |_: u32| {
        let (n, p) = (n.clone(), p.clone());
        async move {
            p.fetch_max(n.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            n.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, TestError>(())
        }
    })
    .await
    .unwrap();
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(t0.elapsed(), Duration::from_millis(400)); // ceil(10 / 3) waves
}

#[tokio::test]
async fn failures_and_panics_keep_their_place_and_nothing_is_lost() {
    let out = gather((0..6).collect(), &Policy::new(2), |i: u32| async move {
        match i {
            2 => Err(TestError::NotFound),
            4 => panic!("call 4 panics"),
            _ => Ok(i),
        }
    })
    .await
    .unwrap();
    let failures: Vec<Option<String>> = out
        .iter()
        .map(|o| o.result.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert_eq!(failures[2].as_deref(), Some("NotFound"));
    assert!(matches!(out[4].result, Err(Failure::Panicked(ref m)) if m.contains("call 4 panics")));
    assert_eq!(out[4].status(), Status::Failed);
    let fine = [0, 1, 3, 5].map(|i| failures[i].is_none());
    assert_eq!(fine, [true; 4]);
    assert_eq!(
        out.iter().map(|o| o.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5]
    );
}

#[tokio::test(start_paused = true)]
async fn completed_order_yields_the_fastest_first_input_order_does_not() {
    let delays = vec![300u64, 100, 200];
    let call = |ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, TestError>(ms)
    };
    let done: Vec<u64> = stream(delays.clone(), &Policy::new(8), Order::Completed, call)
        .unwrap()
        .map(|o| o.result.unwrap())
        .collect()
        .await;
    assert_eq!(done, vec![100, 200, 300]);
    let ordered: Vec<u64> = stream(delays, &Policy::new(8), Order::Input, call)
        .unwrap()
        .map(|o| o.result.unwrap())
        .collect()
        .await;
    assert_eq!(ordered, vec![300, 100, 200]);
}

#[tokio::test]
async fn zero_concurrency_is_rejected() {
    let err = gather(vec![1], &Policy::new(0), |i: u32| async move {
        Ok::<_, TestError>(i)
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// Streams calls that sleep `delays` (ms) under `policy`, reads the first outcome, drops
/// the stream, waits `after`, and returns how many calls finished.
async fn finished_after_dropping(delays: Vec<u64>, policy: &Policy, after: Duration) -> usize {
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let mut s = stream(delays.clone(), policy, Order::Completed, move |ms| {
        let f = f.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            f.fetch_add(1, Ordering::SeqCst);
            Ok::<_, TestError>(ms)
        }
    })
    .unwrap();
    assert_eq!(s.next().await.unwrap().result.unwrap(), delays[0]);
    drop(s);
    tokio::time::sleep(after).await;
    finished.load(Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_aborts_calls_in_flight() {
    let delays = vec![10u64, 1000, 1000];
    let done = finished_after_dropping(delays, &Policy::new(3), Duration::from_secs(5)).await;
    assert_eq!(done, 1);
}

/// A call that fails with `errors` in turn, then succeeds; counts its attempts.
fn flaky(
    errors: Vec<TestError>,
) -> impl Fn(u32) -> futures::future::Ready<TestResult<u32>> + Send + Sync {
    let calls = Arc::new(std::sync::Mutex::new(errors.into_iter()));
    move |i| {
        futures::future::ready(match calls.lock().unwrap().next() {
            Some(e) => Err(e),
            None => Ok(i),
        })
    }
}

fn status(code: u16) -> TestError {
    TestError::Status(code, None)
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_bounded_backoff() {
    let mut policy = Policy::new(1);
    policy.retries = 3;
    let t0 = tokio::time::Instant::now();
    let out = gather(
        vec![7],
        &policy,
        flaky(vec![status(503), status(502), status(500)]),
    )
    .await
    .unwrap();
    assert_eq!(
        (out[0].attempts, out[0].result.as_ref().ok()),
        (4, Some(&7))
    );
    // Full jitter: at most 100 + 200 + 400 ms of waiting.
    assert!(
        t0.elapsed() <= Duration::from_millis(700),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn not_found_and_other_4xx_are_never_retried() {
    let mut policy = Policy::new(1);
    policy.retries = 5;
    for error in [TestError::NotFound, status(400), TestError::Decode] {
        let out = gather(vec![1], &policy, flaky(vec![error])).await.unwrap();
        assert_eq!(out[0].attempts, 1);
        assert_eq!(out[0].status(), Status::Failed);
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let mut policy = Policy::new(1);
    policy.retries = 1;
    let throttled = TestError::Status(429, Some(Duration::from_secs(3)));
    let t0 = tokio::time::Instant::now();
    let out = gather(vec![1], &policy, flaky(vec![throttled]))
        .await
        .unwrap();
    assert!(out[0].result.is_ok());
    assert_eq!(t0.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_is_capped_and_the_cap_is_reported() {
    let mut policy = Policy::new(1);
    policy.retries = 1;
    policy.max_retry_after = Duration::from_secs(2);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    policy.events = Some(Arc::new(move |e: &Event| {
        if let Event::Retrying { wait, asked, .. } = e {
            sink.lock().unwrap().push((*wait, *asked));
        }
    }));
    // Years, or more than any clock holds: the wait is the cap either way.
    let years = TestError::Status(429, Some(Duration::MAX));
    let t0 = tokio::time::Instant::now();
    let out = gather(vec![1], &policy, flaky(vec![years])).await.unwrap();
    assert!(out[0].result.is_ok());
    assert_eq!(t0.elapsed(), Duration::from_secs(2));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(Duration::from_secs(2), Some(Duration::MAX))]
    );
}

#[tokio::test(start_paused = true)]
async fn each_attempt_has_its_own_timeout() {
    let mut policy = Policy::new(4);
    policy.timeout = Some(Duration::from_millis(500));
    policy.retries = 2;
    let t0 = tokio::time::Instant::now();
    let out = gather(vec![1u32], &policy, |_| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<_, TestError>(())
    })
    .await
    .unwrap();
    assert_eq!((out[0].status(), out[0].attempts), (Status::TimedOut, 3));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_bounds_retries_for_the_whole_batch() {
    let mut policy = Policy::new(10);
    policy.retries = 5;
    policy.retry_budget = Some(3);
    let out = gather((0..10).collect(), &policy, |_: u32| async {
        Err::<(), _>(status(503))
    })
    .await
    .unwrap();
    let attempts: u32 = out.iter().map(|o| o.attempts).sum();
    assert_eq!(attempts, 10 + 3);
    assert!(out.iter().all(|o| o.status() == Status::Failed));
}

#[tokio::test(start_paused = true)]
async fn fail_fast_cancels_the_rest_and_keeps_what_finished() {
    let mut policy = Policy::new(2);
    policy.fail_fast = true;
    let out = gather((0..6).collect(), &policy, |i: u32| async move {
        tokio::time::sleep(Duration::from_millis(10 * u64::from(i + 1))).await;
        if i == 1 {
            Err(status(400))
        } else {
            Ok::<_, TestError>(i)
        }
    })
    .await
    .unwrap();
    let statuses: Vec<Status> = out.iter().map(Outcome::status).collect();
    assert_eq!(statuses[0], Status::Ok, "finished before the failure: kept");
    assert_eq!(statuses[1], Status::Failed);
    assert!(
        statuses[2..].iter().all(|s| *s == Status::Cancelled),
        "{statuses:?}"
    );
    assert_eq!(out.len(), 6, "one outcome per input, always");
}

#[tokio::test(start_paused = true)]
async fn outside_cancellation_stops_calls_in_flight_at_once() {
    let policy = Policy::new(4);
    let cancel = policy.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        cancel.cancel();
    });
    let t0 = tokio::time::Instant::now();
    let out = gather((0..8).collect(), &policy, |i: u32| async move {
        tokio::time::sleep(Duration::from_millis(100 + 1000 * u64::from(i % 2))).await;
        Ok::<_, TestError>(i)
    })
    .await
    .unwrap();
    assert_eq!(t0.elapsed(), Duration::from_millis(150));
    let ok = out.iter().filter(|o| o.status() == Status::Ok).count();
    let cancelled = out
        .iter()
        .filter(|o| o.status() == Status::Cancelled)
        .count();
    assert_eq!(
        (ok, cancelled),
        (2, 6),
        "the two that finished by 100 ms are kept"
    );
}

/// The limit sleeps on tokio's clock; this test keeps real time all the same, end to end.
#[tokio::test]
async fn the_rate_limit_spaces_calls_out() {
    let mut policy = Policy::new(64);
    policy.rate = Some(RateLimit::per_second(20.0).unwrap());
    let t0 = Instant::now();
    let out = gather((0..5).collect(), &policy, |i: u32| async move {
        Ok::<_, TestError>(i)
    })
    .await
    .unwrap();
    assert_eq!(out.len(), 5);
    // The first call goes at once, the next four 50 ms apart.
    assert!(
        t0.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn events_tell_the_whole_story() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut policy = Policy::new(1);
    policy.retries = 1;
    policy.events = Some(Arc::new(move |e: &Event| {
        log.lock().unwrap().push(format!("{e:?}"))
    }));
    gather(vec![1], &policy, flaky(vec![status(503)]))
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let kinds: Vec<&str> = seen
        .iter()
        .map(|e| e.split([' ', '{']).next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Queued", "Started", "Retrying", "Started", "Finished"]
    );
}

/// Several cores: each a runtime with a real clock, so these tests keep real time.
#[tokio::test]
async fn several_cores_share_the_work_the_limit_and_nothing_is_lost() {
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let threads = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let mut policy = Policy::new(6);
    policy.cores = 3;
    let (n, p, t) = (now.clone(), peak.clone(), threads.clone());
    let out = gather((0..120u32).collect(), &policy, move |i: u32| {
        let (n, p, t) = (n.clone(), p.clone(), t.clone());
        async move {
            p.fetch_max(n.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            let name = std::thread::current().name().unwrap_or("").to_owned();
            t.lock().unwrap().insert(name);
            tokio::time::sleep(Duration::from_millis(2)).await;
            n.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, TestError>(i * 2)
        }
    })
    .await
    .unwrap();
    let values: Vec<u32> = out.iter().map(|o| *o.result.as_ref().unwrap()).collect();
    assert_eq!(values, (0..120).map(|i| i * 2).collect::<Vec<_>>());
    assert!(out.iter().enumerate().all(|(i, o)| o.index == i));
    assert!(peak.load(Ordering::SeqCst) <= 6, "{peak:?}");
    let threads = threads.lock().unwrap();
    assert!(threads.contains("gather-core-1"), "{threads:?}");
    assert!(threads.contains("gather-core-2"), "{threads:?}");
}

#[tokio::test]
async fn input_order_holds_across_cores() {
    let mut policy = Policy::new(4);
    policy.cores = 2;
    let delays: Vec<u64> = (0..24).map(|i| (i * 7) % 5).collect();
    let call = |ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, TestError>(ms)
    };
    let got: Vec<usize> = stream(delays, &policy, Order::Input, call)
        .unwrap()
        .map(|o| o.index)
        .collect()
        .await;
    assert_eq!(got, (0..24).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn dropping_gather_stops_its_calls() {
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let policy = Policy::new(3);
    let run = gather(vec![10u64, 1000, 1000], &policy, move |ms| {
        let f = f.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            f.fetch_add(1, Ordering::SeqCst);
            Ok::<_, TestError>(ms)
        }
    });
    assert!(tokio::time::timeout(Duration::from_millis(100), run)
        .await
        .is_err());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn dropping_the_stream_stops_the_other_cores_too() {
    let mut policy = Policy::new(4);
    policy.cores = 2;
    let delays = vec![5u64, 300, 300, 300];
    let done = finished_after_dropping(delays, &policy, Duration::from_millis(600)).await;
    assert_eq!(done, 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_holds_back_new_calls_never_those_in_flight() {
    let (started, finished) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (s, f) = (started.clone(), finished.clone());
    let mut outcomes = stream(
        (0..100u32).collect(),
        &Policy::new(2),
        Order::Completed,
        move |i| {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                f.fetch_add(1, Ordering::SeqCst);
                Ok::<_, TestError>(i)
            }
        },
    )
    .unwrap();
    outcomes.next().await.unwrap();
    outcomes.next().await.unwrap();
    // The consumer reads nothing for a while: calls in flight still finish, and new ones
    // start only while fewer than four times the limit wait unread.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        started.load(Ordering::SeqCst),
        10,
        "4 × limit, plus the two read"
    );
    assert_eq!(finished.load(Ordering::SeqCst), 10);
    let rest: Vec<_> = outcomes.collect().await;
    assert_eq!(rest.len(), 98);
}
