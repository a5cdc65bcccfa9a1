//! Fetch random Pokémon names three ways, and time them: the heart of the lesson.
//!
//! | [`Mode`] | how | cost for N calls of latency L |
//! |---|---|---|
//! | `sequential` | the blocking client (ureq), one call at a time on one thread: call, wait, the next | N × L |
//! | `threads` | the same blocking client, each call offloaded to a pool of T threads ([`asyncdex_engine::offload`]) | ⌈N / T⌉ × L |
//! | `async` | one async client (reqwest), at most C calls in flight ([`asyncdex_engine::gather`]) | ⌈N / C⌉ × L |
//!
//! Threads and async both *wait concurrently*; the difference is what a waiting call costs.
//! A thread is a whole OS stack per call in flight; an async call is a small state machine,
//! so thousands can wait at once on a couple of threads.
//!
//! Every mode fetches the same ids, so their names must match; only the time differs. All
//! three go through [`asyncdex_engine::gather`] with the same [`Policy`] (timeouts, retries, rate,
//! cancellation), so they differ only in the one thing being taught: how they wait.
//!
//! A comparison must also give every mode the same start. A disk cache shared by the modes
//! would not: the first mode would fetch over the network and keep the answers, and the
//! next ones would be timed reading them from disk (a 150x "speedup" that is the disk's).
//! So a run that compares modes leaves [`Plan::cache`] empty: each mode makes its own
//! requests. A cache is for a run of one mode.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> asyncdex::Result<()> {
//! use asyncdex::mirror::{Mirror, MirrorConfig};
//! use asyncdex::names::{run_mode, Mode, Plan};
//!
//! let mirror = Mirror::start(MirrorConfig::default()).await?;
//! let plan = Plan::new(vec![25, 1, 4]);
//! let run = run_mode(Mode::Async, mirror.base_url(), &plan).await?;
//! assert_eq!(run.names(), vec!["pikachu", "bulbasaur", "charmander"]);
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

#[cfg(feature = "store")]
use crate::cache::{Cache, Cached};
use crate::error::{Error, Result};
use crate::http::{Blocking, HttpOptions, Native, Offloaded, Transport};
use crate::named::named_enum;
use crate::pokeapi::Client;
use asyncdex_engine::gather::{self, gather, Failure, Outcome, Policy, Status};
use asyncdex_engine::offload::Pool;
use asyncdex_engine::watchdog::LabelExt;

named_enum! {
    /// How to fetch.
    pub enum Mode ("mode") {
        /// One blocking call after another.
        Sequential = "sequential",
        /// Blocking calls offloaded to a thread pool, awaited together.
        Threads = "threads",
        /// Native async calls, bounded by a concurrency limit.
        Async = "async",
    }
}

/// What to fetch and how hard to push.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The Pokémon ids to fetch names for.
    pub ids: Vec<u32>,
    /// Threads in the pool of the `threads` mode.
    pub threads: usize,
    /// Most calls in flight in the `async` mode.
    pub concurrency: usize,
    /// Client settings.
    pub http: HttpOptions,
    /// Timeouts, retries, rate, cancellation, events; its concurrency is set per mode.
    pub policy: Policy,
    /// A disk cache in front of every mode's client (none by default). Leave it `None`
    /// when the run compares modes: through one cache, every mode after the first would
    /// be timed on the answers the first one kept.
    #[cfg(feature = "store")]
    pub cache: Option<Cache>,
}

impl Plan {
    /// Fetch `ids` with the defaults: Python's pool size, 64 calls in flight, no retries.
    pub fn new(ids: Vec<u32>) -> Plan {
        Plan {
            ids,
            threads: Pool::default_size(),
            concurrency: 64,
            http: HttpOptions::default(),
            policy: Policy::new(64),
            #[cfg(feature = "store")]
            cache: None,
        }
    }

    /// Rejects settings that could never work (no threads, no concurrency).
    pub fn validate(&self) -> Result<()> {
        if self.threads == 0 {
            return Err(Error::invalid_input("a pool needs at least 1 thread"));
        }
        gather::check_limit(self.concurrency)?;
        Ok(())
    }

    /// The policy for `mode`: one call at a time, `threads`, or `concurrency`.
    fn policy_for(&self, mode: Mode) -> Policy {
        let mut policy = self.policy.clone();
        policy.concurrency = match mode {
            Mode::Sequential => 1,
            Mode::Threads => self.threads,
            Mode::Async => self.concurrency,
        };
        if mode != Mode::Async {
            // Blocking calls wait on their pool's threads: more runtimes would only add
            // threads that wait for those.
            policy.cores = 1;
            // The pool's size is these modes' limit: an adaptive one is the async mode's.
            policy.adaptive = None;
            // One at a time (or one per thread) is these modes' lesson, and a blocking
            // call cannot be cancelled: a hedge would only hold a second thread.
            policy.hedge = None;
        }
        policy
    }
}

/// One mode's run: an outcome per id, and the wall time of the whole batch.
#[derive(Debug)]
pub struct ModeRun {
    /// Which mode.
    pub mode: Mode,
    /// The ids, in draw order.
    pub ids: Vec<u32>,
    /// One outcome per id, same order.
    pub outcomes: Vec<Outcome<String, Error>>,
    /// From the first call's start to the last call's end.
    pub wall: Duration,
}

impl ModeRun {
    /// The names fetched, in draw order (failed calls left out).
    pub fn names(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter_map(|o| o.result.as_deref().ok())
            .collect()
    }

    /// How many calls succeeded.
    pub fn ok(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_ok()).count()
    }

    /// How many calls failed (for any reason, timeouts and cancellations included).
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.ok()
    }

    /// How many calls ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.status() == status)
            .count()
    }

    /// Retries made (attempts beyond the first).
    pub fn retried(&self) -> u32 {
        self.outcomes
            .iter()
            .map(|o| o.attempts.saturating_sub(1))
            .sum()
    }

    /// The failures: (id, error).
    pub fn failures(&self) -> impl Iterator<Item = (u32, &Failure<Error>)> {
        self.outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().err().map(|e| (self.ids[o.index], e)))
    }

    /// Calls per second of wall time.
    pub fn rate(&self) -> f64 {
        self.outcomes.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// A client of `transport`, behind the plan's disk cache if it has one.
#[cfg(feature = "store")]
fn client<T: Transport>(base_url: &str, transport: T, plan: &Plan) -> Client<Cached<T>> {
    Client::new(base_url, Cached::new(transport, plan.cache.clone()))
}

/// A client of `transport` (built without the disk cache).
#[cfg(not(feature = "store"))]
fn client<T: Transport>(base_url: &str, transport: T, _plan: &Plan) -> Client<T> {
    Client::new(base_url, transport)
}

/// Fetches the names of `plan.ids` from the API at `base_url` in `mode`.
pub async fn run_mode(mode: Mode, base_url: &str, plan: &Plan) -> Result<ModeRun> {
    plan.validate()?;
    let policy = plan.policy_for(mode);
    let ids = plan.ids.clone();
    let started = Instant::now();
    let outcomes = match mode {
        Mode::Sequential | Mode::Threads => {
            // The same blocking client in both: one thread, or a pool of them.
            let pool = Pool::new(mode.as_str(), policy.concurrency);
            let blocking = Offloaded::new(Blocking::new(&plan.http), pool);
            fetch_names(client(base_url, blocking, plan), ids.clone(), &policy, mode).await?
        }
        Mode::Async => {
            let native = Native::new(&plan.http)?;
            fetch_names(client(base_url, native, plan), ids.clone(), &policy, mode).await?
        }
    };
    Ok(ModeRun {
        mode,
        ids,
        outcomes,
        wall: started.elapsed(),
    })
}

/// The lesson's `get_random_pokemon_name`, for every id, under `policy`, over any backend.
async fn fetch_names<T: Transport>(
    client: Client<T>,
    ids: Vec<u32>,
    policy: &Policy,
    mode: Mode,
) -> Result<Vec<Outcome<String, Error>>> {
    // One shared client: a call clones one pointer, not the client's three.
    let client = std::sync::Arc::new(client);
    Ok(gather(ids, policy, move |id| {
        let client = std::sync::Arc::clone(&client);
        async move { client.name(id).await }.label_with(|| format!("{mode}: fetch pokemon/{id}"))
    })
    .await?)
}
