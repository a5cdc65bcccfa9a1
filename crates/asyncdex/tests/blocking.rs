//! The lesson's second half, proven: the wrong way stalls the runtime, the right way does
//! not; the watchdog names a stall while it happens; the offload pool holds its bounds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::sync_to_async::{run, Demo, Mode};
use asyncdex_engine::offload::Pool;
use asyncdex_engine::watchdog::{LabelExt, Watchdog, WatchdogConfig, WatchdogEvent};

const LATENCY: Duration = Duration::from_millis(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_way_stalls_and_the_correct_way_does_not() {
    let mirror = Mirror::start(MirrorConfig {
        latency: LATENCY,
        ..MirrorConfig::default()
    })
    .await
    .unwrap();
    let url = format!("{}/pokemon/25/", mirror.base_url());
    let demo = Demo::default();
    let (wrong, correct) = tokio::task::spawn_blocking(move || {
        (
            run(Mode::Wrong, &url, &demo).unwrap(),
            run(Mode::Correct, &url, &demo).unwrap(),
        )
    })
    .await
    .unwrap();
    // Wrong: one heartbeat interval spans the whole request.
    assert!(
        wrong.beats.max_lag() >= LATENCY - Duration::from_millis(10),
        "{:?}",
        wrong.beats
    );
    // Correct: the heartbeat keeps time all through the request (bounds generous for CI).
    assert!(correct.beats.p99_lag() < LATENCY / 4, "{:?}", correct.beats);
    assert!(
        correct.beats.intervals.len() >= 15,
        "it kept beating: {:?}",
        correct.beats
    );
    assert_eq!((wrong.ok, correct.ok), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_offloaded_calls_keep_the_heartbeat_on_time() {
    let mirror = Mirror::start(MirrorConfig {
        latency: Duration::from_millis(100),
        ..MirrorConfig::default()
    })
    .await
    .unwrap();
    let url = format!("{}/pokemon/1/", mirror.base_url());
    let demo = Demo {
        calls: 32,
        rounds: 2,
        ..Demo::default()
    };
    let run = tokio::task::spawn_blocking(move || run(Mode::Correct, &url, &demo))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.ok, 64);
    assert!(
        run.beats.p99_lag() < Duration::from_millis(50),
        "{:?}",
        run.beats
    );
}

#[test]
fn the_watchdog_names_a_blocking_future_while_it_blocks() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = WatchdogConfig::default();
    let events: Arc<Mutex<Vec<(Instant, WatchdogEvent)>>> = Arc::default();
    let log = events.clone();
    let dog = Watchdog::start(runtime.handle(), config, move |e| {
        log.lock().unwrap().push((Instant::now(), e))
    })
    .expect("a thread to spare");
    let block = Duration::from_millis(600);
    let (began, ended) = runtime.block_on(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        tokio::spawn(
            async move {
                let began = Instant::now();
                std::thread::sleep(block); // the bug: blocking inside a task
                (began, Instant::now())
            }
            .label("fetch pokemon/25"),
        )
        .await
        .unwrap()
    });
    std::thread::sleep(Duration::from_millis(50));
    let stats = dog.stop();
    let events = events.lock().unwrap();
    // On a loaded machine a worker can also miss its beat for no task's fault (the
    // scheduler gave the thread nothing): such a stall names no culprit. The one this
    // test makes is the first that names one.
    let (at, stall) = events
        .iter()
        .find_map(|(at, e)| match e {
            WatchdogEvent::Stalled(s) if !s.culprits.is_empty() => Some((*at, s.clone())),
            _ => None,
        })
        .expect("a stall naming its culprit was reported");
    assert_eq!(stall.culprits[0].label, "fetch pokemon/25");
    assert!(at < ended, "reported while the stall was happening");
    let detected_after = at - began;
    assert!(
        detected_after >= config.threshold
            && detected_after < config.threshold + Duration::from_millis(250),
        "detected after {detected_after:?}"
    );
    assert!(events
        .iter()
        .any(|(_, e)| matches!(e, WatchdogEvent::Recovered { .. })));
    assert!(stats.stalls >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_holds_its_bound_under_a_flood() {
    let pool = Pool::new("flood", 4);
    let peak_busy = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let calls: Vec<_> = (0..400)
        .map(|_| {
            let (pool, peak, done) = (pool.clone(), peak_busy.clone(), done.clone());
            tokio::spawn(async move {
                let observed = pool.clone();
                pool.run(move || {
                    peak.fetch_max(observed.busy(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_micros(200));
                    done.fetch_add(1, Ordering::SeqCst);
                })
                .await
            })
        })
        .collect();
    // While the flood drains, the pool never runs more than its bound; the rest wait.
    let mut max_waiting = 0;
    while done.load(Ordering::SeqCst) < 400 {
        assert!(pool.busy() <= 4);
        max_waiting = max_waiting.max(pool.waiting());
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert!(peak_busy.load(Ordering::SeqCst) <= 4);
    assert!(max_waiting > 4, "callers queued for permits: {max_waiting}");
    assert_eq!((pool.busy(), pool.waiting()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_already_running_finishes_when_its_caller_is_cancelled() {
    let pool = Pool::new("cancel-running", 1);
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let caller = tokio::spawn({
        let pool = pool.clone();
        async move {
            pool.run(move || {
                std::thread::sleep(Duration::from_millis(100));
                f.fetch_add(1, Ordering::SeqCst);
            })
            .await
        }
    });
    while pool.busy() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    // The running function cannot be interrupted: it finishes, its result is discarded,
    // and its permit comes back.
    let again = tokio::time::timeout(Duration::from_secs(5), pool.run(|| 2)).await;
    assert_eq!(again.unwrap().unwrap(), 2);
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}
