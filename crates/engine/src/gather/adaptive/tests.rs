//! The adaptive limit: its rules on exact numbers, then against simulated servers on
//! tokio's paused clock (a server with `n` places and a fixed latency, queueing the rest).
use super::*;
use crate::gather::{gather, Retry};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

const MS: Duration = Duration::from_millis(1);

/// Feeds `estimate` one window of `n` samples of `latency` each, all with `in_flight` in
/// flight, starting at `at`; returns the limit the window decided and when it ended.
fn window(
    estimate: &mut Estimate,
    at: Instant,
    n: usize,
    latency: Duration,
    in_flight: usize,
) -> (Option<f64>, Instant) {
    let mut decided = None;
    let end = at + latency;
    for _ in 0..n {
        if decided.is_none() {
            decided = estimate.record(end, at, in_flight, Signal::Sample);
        }
    }
    (decided, end)
}

#[test]
fn slow_start_doubles_while_latency_stays_at_its_floor() {
    let t0 = Instant::now();
    let mut estimate = Estimate::new(4.0, 1000.0, t0);
    let mut at = t0;
    let mut limits = Vec::new();
    for _ in 0..5 {
        let limit = estimate.limit as usize;
        let (decided, end) = window(&mut estimate, at, limit.max(4), 100 * MS, limit);
        limits.push(decided.unwrap() as usize);
        at = end;
    }
    assert_eq!(limits, [8, 16, 32, 64, 128]);
}

#[test]
fn a_queue_cuts_the_limit_to_what_the_server_serves_plus_a_few() {
    let t0 = Instant::now();
    let mut estimate = Estimate::new(64.0, 1000.0, t0);
    let (_, at) = window(&mut estimate, t0, 32, 100 * MS, 64); // the floor: 100 ms
    estimate.limit = 64.0;
    // 64 in flight take 128 ms: 50 are served at once, 14 wait (Little's law).
    let (decided, _) = window(&mut estimate, at, 32, 128 * MS, 64);
    let limit = decided.unwrap();
    assert!((52.0..=54.0).contains(&limit), "{limit}");
    assert!(!estimate.slow_start);
}

#[test]
fn an_idle_batch_earns_no_rise() {
    let t0 = Instant::now();
    let mut estimate = Estimate::new(100.0, 1000.0, t0);
    // 10 in flight of 100 allowed: the batch does not use its limit.
    let (decided, _) = window(&mut estimate, t0, 50, 100 * MS, 10);
    assert_eq!(decided, Some(100.0));
}

#[test]
fn overload_cuts_once_per_window_never_below_one() {
    let t0 = Instant::now();
    let mut estimate = Estimate::new(100.0, 1000.0, t0);
    let later = t0 + 10 * MS;
    assert_eq!(
        estimate.record(later, t0, 100, Signal::Congestion),
        Some(70.0)
    );
    // Attempts that started before the cut ran under the old limit: no second cut.
    assert_eq!(estimate.record(later, t0, 100, Signal::Congestion), None);
    let mut at = later;
    for _ in 0..30 {
        at += MS;
        estimate.record(at + MS, at, 1, Signal::Congestion);
    }
    assert_eq!(estimate.limit, 1.0);
}

#[test]
fn the_limit_never_passes_its_maximum() {
    let t0 = Instant::now();
    let mut estimate = Estimate::new(4.0, 20.0, t0);
    let mut at = t0;
    for _ in 0..10 {
        let limit = estimate.limit as usize;
        at = window(&mut estimate, at, limit.max(4), 100 * MS, limit).1;
        assert!(estimate.limit <= 20.0);
    }
    assert_eq!(estimate.limit, 20.0);
}

/// The simulated server's one failure: no room, not even in the queue.
#[derive(Debug)]
struct Overloaded;

impl std::fmt::Display for Overloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("503 overloaded")
    }
}

impl Classify for Overloaded {
    fn retry(&self) -> Retry {
        Retry::Yes
    }

    fn is_overload(&self) -> bool {
        true
    }
}

/// A server with `places` served at once for `latency` ± 10 % each (a fixed sequence of
/// delays: without any spread, every call of a simulated server would end on the same
/// tick, as no real one does), `queue` more waiting for a place, the rest turned away; it
/// counts its peak of requests inside.
struct Server {
    places: Semaphore,
    queue: usize,
    waiting: AtomicUsize,
    latency: Duration,
    inside: AtomicUsize,
    peak: AtomicUsize,
    rejected: AtomicUsize,
    served: AtomicUsize,
    /// Each delay is `latency` × (1 ± spread).
    spread: f64,
}

impl Server {
    fn new(places: usize, queue: usize, latency: Duration) -> Arc<Server> {
        Arc::new(Server {
            places: Semaphore::new(places),
            queue,
            waiting: AtomicUsize::new(0),
            latency,
            inside: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            rejected: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            spread: 0.1,
        })
    }

    /// A server with room for everyone whose delays vary by ±`spread`.
    fn noisy(latency: Duration, spread: f64) -> Arc<Server> {
        let mut server = Server::new(1_000_000, 0, latency);
        Arc::get_mut(&mut server).unwrap().spread = spread;
        server
    }

    async fn serve(&self) -> std::result::Result<(), Overloaded> {
        let inside = self.inside.fetch_add(1, Relaxed) + 1;
        self.peak.fetch_max(inside, Relaxed);
        let answer = self.answer().await;
        self.inside.fetch_sub(1, Relaxed);
        answer
    }

    async fn answer(&self) -> std::result::Result<(), Overloaded> {
        let _place = match self.places.try_acquire() {
            Ok(place) => place,
            Err(_) => {
                if self.waiting.fetch_add(1, Relaxed) >= self.queue {
                    self.waiting.fetch_sub(1, Relaxed);
                    self.rejected.fetch_add(1, Relaxed);
                    return Err(Overloaded);
                }
                let place = self.places.acquire().await.unwrap();
                self.waiting.fetch_sub(1, Relaxed);
                place
            }
        };
        let n = self.served.fetch_add(1, Relaxed) as u64;
        let spread = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 44; // 0 ..= 2^20 - 1
        let factor = 1.0 - self.spread + 2.0 * self.spread * spread as f64 / (1u64 << 20) as f64;
        tokio::time::sleep(self.latency.mul_f64(factor)).await;
        Ok(())
    }
}

/// What a run of `calls` against `server` under an adaptive policy of at most `max` did:
/// each limit with when it began, and when the run ended.
struct Run {
    limits: Vec<(Duration, usize)>,
    took: Duration,
    failed: usize,
}

impl Run {
    /// The limit's time-weighted mean over the run's second half.
    fn settled(&self) -> f64 {
        let (from, to) = (self.took / 2, self.took);
        let mut weighted = 0.0;
        for (i, &(began, limit)) in self.limits.iter().enumerate() {
            let ended = self.limits.get(i + 1).map_or(to, |next| next.0);
            let (began, ended) = (began.max(from), ended.min(to));
            if ended > began {
                weighted += limit as f64 * (ended - began).as_secs_f64();
            }
        }
        weighted / (to - from).as_secs_f64()
    }

    fn lowest(&self) -> usize {
        self.limits.iter().map(|l| l.1).min().unwrap()
    }

    fn highest(&self) -> usize {
        self.limits.iter().map(|l| l.1).max().unwrap()
    }
}

async fn run_against(server: &Arc<Server>, calls: usize, max: usize, retries: u32) -> Run {
    let t0 = Instant::now();
    let limits = Arc::new(Mutex::new(Vec::new()));
    let mut policy = Policy::new(max);
    policy.adaptive = Some(Adaptive::default());
    policy.retries = retries;
    policy.retry_budget = Some(usize::MAX);
    policy.backoff.max = Duration::from_millis(200);
    let seen = limits.clone();
    policy.events = Some(Arc::new(move |event: &Event| {
        if let Event::Limit { limit } = event {
            seen.lock().unwrap().push((t0.elapsed(), *limit));
        }
    }));
    let server = server.clone();
    let outcomes = gather((0..calls).collect(), &policy, move |_: usize| {
        let server = server.clone();
        async move { server.serve().await }
    })
    .await
    .unwrap();
    assert_eq!(outcomes.len(), calls, "one outcome per call");
    let limits = limits.lock().unwrap().clone();
    Run {
        limits,
        took: t0.elapsed(),
        failed: outcomes.iter().filter(|o| o.result.is_err()).count(),
    }
}

#[tokio::test(start_paused = true)]
async fn against_a_queueing_server_the_limit_settles_near_its_capacity() {
    for places in [10, 50, 200] {
        let server = Server::new(places, 1_000_000, 100 * MS);
        let run = run_against(&server, places * 60, 1000, 0).await;
        let settled = run.settled();
        let n = places as f64;
        assert!(
            settled >= 0.8 * n && settled <= 1.2 * n + 6.0,
            "capacity {places}: settled at {settled:.1}; limits {:?}",
            run.limits
        );
        assert_eq!(run.failed, 0, "capacity {places}");
        assert!(run.lowest() >= 1 && run.highest() <= 1000);
    }
}

#[tokio::test(start_paused = true)]
async fn jitter_is_not_a_queue() {
    // Room for everyone, but each delay anywhere in 50-150 ms: no queue, only noise.
    let server = Server::noisy(100 * MS, 0.5);
    let run = run_against(&server, 6000, 200, 0).await;
    let settled = run.settled();
    assert!(
        settled >= 150.0,
        "settled at {settled:.1}; {:?}",
        run.limits
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_turns_calls_away_makes_the_limit_fall() {
    // No queue and no latency growth: only the refusals say where the capacity is.
    let server = Server::new(30, 0, 100 * MS);
    let run = run_against(&server, 3000, 1000, 10).await;
    assert!(server.rejected.load(Relaxed) > 0);
    let falls = run.limits.windows(2).filter(|w| w[1].1 < w[0].1).count();
    assert!(falls > 0, "{:?}", run.limits);
    let settled = run.settled();
    assert!((10.0..=60.0).contains(&settled), "settled at {settled:.1}");
    assert_eq!(run.failed, 0, "every refused call was retried");
}

#[tokio::test(start_paused = true)]
async fn the_limit_stays_within_one_and_its_maximum() {
    let roomy = Server::new(10_000, 0, 100 * MS);
    let run = run_against(&roomy, 2000, 20, 0).await;
    assert_eq!(run.highest(), 20);
    assert!(
        roomy.peak.load(Relaxed) <= 20,
        "in flight never past the maximum"
    );

    let full = Server::new(1, 0, 100 * MS);
    let run = run_against(&full, 200, 1000, 0).await;
    assert_eq!(run.lowest(), 1, "{:?}", run.limits);
    assert!(run.failed > 0);
}

/// Several drivers (threads of their own, on the real clock): the limit falls to 1, so
/// one driver has no share for a while, and the batch still ends with every outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_cores_a_limit_of_one_still_finishes() {
    let server = Server::new(1, 0, Duration::from_millis(1));
    let mut policy = Policy::new(64);
    policy.adaptive = Some(Adaptive { initial: 8 });
    policy.cores = 3;
    let call = move |_: usize| {
        let server = server.clone();
        async move { server.serve().await }
    };
    let outcomes = tokio::time::timeout(
        Duration::from_secs(30),
        gather((0..300).collect(), &policy, call),
    )
    .await
    .expect("the batch ends")
    .unwrap();
    assert_eq!(outcomes.len(), 300);
    assert!(outcomes.iter().any(|o| o.result.is_ok()));
}
