//! How much concurrency is right: the knee of the curve, measured.
//!
//! Concurrency wins while the calls *wait*: twenty calls that each wait 100 ms take 2 s
//! one after another and 100 ms together. But a real server is not infinitely wide. Give
//! it a capacity of `S` requests served at once, each taking `L`, and it can finish at
//! most `S / L` requests per second, whatever the client does. Little's law says what
//! happens to the rest: `in flight = throughput × latency`. So against that server:
//!
//! - **below the knee** (`c < S`), every call is served at once: throughput is `c / L`
//!   and grows with `c`; latency stays at its floor `L`. Too little concurrency wastes
//!   time.
//! - **at the knee** (`c = S`), throughput reaches the server's `S / L`.
//! - **past it** (`c > S`), throughput stays at `S / L`, and the extra `c − S` calls
//!   only *queue*: latency grows to `c / S × L`, the server holds a queue on the client's
//!   behalf, and once its queue is full it pushes back (`503`, `429`, `Retry-After`).
//!   Too much concurrency buys nothing but waiting, refusals and an unfair share.
//!
//! The client cannot see `S`. It can see its own latency and the server's pushback, and
//! that is what an adaptive limit listens to (`-c auto`, the engine's adaptive policy):
//! raise the limit while latency stays near its floor, lower it when latency climbs or
//! the server says "come back later". [`run`] measures the curve: the same job at each
//! concurrency against one server, wall time, throughput, the latency percentiles and how
//! often the server pushed back, and where an adaptive limit settled; `asyncdex bench
//! --concurrencies` prints it and draws it.

use std::time::Duration;

use asyncdex_engine::gather::{Adaptive, Event, Policy};
use asyncdex_engine::latency::{Histogram, Latencies};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::draw::{draw, Ids};
use crate::error::Result;
use crate::names::{run_mode, Mode, ModeRun, Plan};

/// Most concurrencies one sweep measures.
pub const MAX_POINTS: usize = 64;

/// The most an adaptive limit of a sweep may reach unless told otherwise.
pub const AUTO_MAX: usize = 1000;

/// A concurrency to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Exactly this many calls in flight.
    Fixed(usize),
    /// An adaptive limit, at most `max`.
    Auto {
        /// Its upper bound.
        max: usize,
    },
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Fixed(c) => write!(f, "{c}"),
            Limit::Auto { .. } => f.write_str("auto"),
        }
    }
}

/// What to sweep: `n` calls at each limit.
#[derive(Debug, Clone)]
pub struct KneeSweep {
    /// Calls per point.
    pub n: usize,
    /// The limits, in the order measured.
    pub limits: Vec<Limit>,
    /// Client settings and the policy (its concurrency is set per point).
    pub plan: Plan,
    /// Where the ids are drawn from.
    pub ids: Ids,
    /// Seed of the draws (the same ids at every point).
    pub seed: u64,
}

/// One point of the curve.
#[derive(Debug, Clone)]
pub struct Point {
    /// The limit it ran with.
    pub limit: Limit,
    /// The run was cancelled (Ctrl-C) while this point ran: its calls stopped part-way,
    /// so its figures are no measurement of `n` calls.
    pub interrupted: bool,
    /// Where an adaptive limit ended (and its range), if it was one.
    pub settled: Option<Settled>,
    /// Calls made.
    pub calls: usize,
    /// Calls that succeeded.
    pub ok: usize,
    /// Attempts made, retries included.
    pub attempts: u64,
    /// Answers in which the server pushed back: a retry it asked to wait for
    /// (`Retry-After`: a 429 or a 503 of a full queue), or a call that failed on one.
    pub pushed_back: u64,
    /// From the first call's start to the last call's end.
    pub wall: Duration,
    /// Latency of a call (first attempt's start to outcome, retries and their waits
    /// included): percentiles, the largest, the mean. `None` if no call finished.
    pub latency: Option<Latencies>,
}

/// Where an adaptive limit settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// Its value when the batch ended.
    pub last: usize,
    /// The lowest it went.
    pub min: usize,
    /// The highest it went.
    pub max: usize,
}

impl Point {
    /// Successful calls per second of wall time.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// The share of attempts the server pushed back, 0 to 1.
    pub fn pushback_rate(&self) -> f64 {
        self.pushed_back as f64 / self.attempts.max(1) as f64
    }

    fn of(limit: Limit, run: &ModeRun, pushed_back: u64, settled: Option<Settled>) -> Point {
        let failed_on_pushback = run
            .outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().err())
            .filter(|f| {
                f.error()
                    .and_then(|e| e.status())
                    .is_some_and(|s| s == 429 || s == 503)
            })
            .count() as u64;
        Point {
            limit,
            interrupted: false,
            settled,
            calls: run.outcomes.len(),
            ok: run.ok(),
            attempts: run.outcomes.iter().map(|o| u64::from(o.attempts)).sum(),
            pushed_back: pushed_back + failed_on_pushback,
            wall: run.wall,
            latency: Histogram::of_calls(&run.outcomes).latencies(),
        }
    }
}

/// Runs the sweep against the API at `base_url`, calling `done` after each point with the
/// point and its calls (each call's outcome, to count and report them: the point keeps only
/// its figures, so a sweep of many points holds no call past its point).
pub async fn run(
    sweep: &KneeSweep,
    base_url: &str,
    mut done: impl FnMut(&Point, &ModeRun),
) -> Result<Vec<Point>> {
    let pool = crate::sweep::id_pool(&sweep.ids, &sweep.plan, base_url).await?;
    let ids = draw(sweep.n, &pool, &mut StdRng::seed_from_u64(sweep.seed));
    let mut points = Vec::new();
    for &limit in &sweep.limits {
        if sweep.plan.policy.cancel.is_cancelled() {
            break;
        }
        let mut plan = sweep.plan.clone();
        plan.ids = ids.clone();
        let watch = Watch::default();
        apply(limit, &mut plan, &watch);
        let run = run_mode(Mode::Async, base_url, &plan).await?;
        let mut point = Point::of(limit, &run, watch.pushed_back(), watch.settled());
        point.interrupted = sweep.plan.policy.cancel.is_cancelled();
        done(&point, &run);
        points.push(point);
    }
    Ok(points)
}

/// Sets the plan's limit, and the events that count pushback and follow the limit.
fn apply(limit: Limit, plan: &mut Plan, watch: &Watch) {
    match limit {
        Limit::Fixed(c) => {
            plan.concurrency = c;
        }
        Limit::Auto { max } => {
            plan.concurrency = max;
            plan.policy.adaptive = Some(Adaptive::default());
        }
    }
    watch.attach(&mut plan.policy);
}

/// Counts what a batch's events say: retries the server asked to wait for.
#[derive(Debug, Default, Clone)]
struct Watch {
    inner: std::sync::Arc<std::sync::Mutex<Seen>>,
}

#[derive(Debug, Default)]
struct Seen {
    pushed_back: u64,
    settled: Option<Settled>,
}

impl Watch {
    fn attach(&self, policy: &mut Policy) {
        let inner = std::sync::Arc::clone(&self.inner);
        policy.add_events(std::sync::Arc::new(move |event: &Event| {
            // Only the two events it counts take the lock: every other one (two a call)
            // passes through untouched, so the sweep does not measure its own bookkeeping.
            match *event {
                Event::Retrying { asked: Some(_), .. } => {
                    if let Ok(mut seen) = inner.lock() {
                        seen.pushed_back += 1;
                    }
                }
                Event::Limit { limit } => {
                    if let Ok(mut seen) = inner.lock() {
                        let was = seen.settled.unwrap_or(Settled {
                            last: limit,
                            min: limit,
                            max: limit,
                        });
                        seen.settled = Some(Settled {
                            last: limit,
                            min: was.min.min(limit),
                            max: was.max.max(limit),
                        });
                    }
                }
                _ => {}
            }
        }));
    }

    fn pushed_back(&self) -> u64 {
        self.inner.lock().map_or(0, |s| s.pushed_back)
    }

    fn settled(&self) -> Option<Settled> {
        self.inner.lock().ok().and_then(|s| s.settled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_the_flag_says_them() {
        assert_eq!(Limit::Fixed(50).to_string(), "50");
        assert_eq!(Limit::Auto { max: 1000 }.to_string(), "auto");
    }
}
