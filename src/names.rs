//! Fetch random Pokémon names three ways, and time them: the heart of the lesson.
//!
//! | [`Mode`] | how | cost for N calls of latency L |
//! |---|---|---|
//! | `sequential` | a blocking loop (ureq): one call, wait, the next | N × L |
//! | `threads` | the same blocking client, each call offloaded to a pool of T threads ([`crate::offload`]) | ⌈N / T⌉ × L |
//! | `async` | one async client (reqwest), at most C calls in flight ([`crate::gather`]) | ⌈N / C⌉ × L |
//!
//! Threads and async both *wait concurrently*; the difference is what a waiting call costs.
//! A thread is a whole OS stack per call in flight; an async call is a small state machine,
//! so thousands can wait at once on a couple of threads.
//!
//! Every mode fetches the same ids, so their names must match; only the time differs.
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

use crate::error::{Error, Result};
use crate::gather::{self, gather, Outcome};
use crate::http::{Blocking, HttpOptions, Native, Offloaded};
use crate::named::named_enum;
use crate::offload::Pool;
use crate::pokeapi::{BlockingClient, Client};
use crate::watchdog::LabelExt;

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
}

impl Plan {
    /// Fetch `ids` with the defaults: Python's pool size, 64 calls in flight.
    pub fn new(ids: Vec<u32>) -> Plan {
        Plan {
            ids,
            threads: Pool::default_size(),
            concurrency: 64,
            http: HttpOptions::default(),
        }
    }

    /// Rejects settings that could never work (no threads, no concurrency).
    pub fn validate(&self) -> Result<()> {
        if self.threads == 0 {
            return Err(Error::invalid_input("--threads must be at least 1"));
        }
        gather::check_limit(self.concurrency)?;
        Ok(())
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
    pub outcomes: Vec<Outcome<String>>,
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

    /// How many calls failed.
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.ok()
    }

    /// The failures: (id, error).
    pub fn failures(&self) -> impl Iterator<Item = (u32, &Error)> {
        self.outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().err().map(|e| (self.ids[o.index], e)))
    }

    /// Calls per second of wall time.
    pub fn rate(&self) -> f64 {
        self.outcomes.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Fetches the names of `plan.ids` from the API at `base_url` in `mode`.
pub async fn run_mode(mode: Mode, base_url: &str, plan: &Plan) -> Result<ModeRun> {
    plan.validate()?;
    let ids = plan.ids.clone();
    let started = Instant::now();
    let outcomes = match mode {
        Mode::Sequential => {
            let client = BlockingClient::new(base_url, Blocking::new(&plan.http));
            let ids = ids.clone();
            // The whole loop is blocking, so it runs off the runtime's threads.
            tokio::task::spawn_blocking(move || sequential(&client, &ids))
                .await
                .map_err(|e| Error::new(crate::ErrorKind::Panicked, e.to_string()))?
        }
        Mode::Threads => {
            let pool = Pool::new("http", plan.threads);
            let client = Client::new(base_url, Offloaded::new(Blocking::new(&plan.http), pool));
            gather(ids.clone(), plan.threads, move |id| {
                let client = client.clone();
                async move { client.name(id).await }.label(format!("threads: fetch pokemon/{id}"))
            })
            .await?
        }
        Mode::Async => {
            let client = Client::new(base_url, Native::new(&plan.http)?);
            gather(ids.clone(), plan.concurrency, move |id| {
                let client = client.clone();
                async move { client.name(id).await }.label(format!("async: fetch pokemon/{id}"))
            })
            .await?
        }
    };
    Ok(ModeRun {
        mode,
        ids,
        outcomes,
        wall: started.elapsed(),
    })
}

/// The lesson's first program: `for id in ids: names.append(get_name(id))`.
fn sequential(client: &BlockingClient<Blocking>, ids: &[u32]) -> Vec<Outcome<String>> {
    let epoch = Instant::now();
    ids.iter()
        .enumerate()
        .map(|(index, &id)| {
            let started = epoch.elapsed();
            let result = client.name(id);
            Outcome {
                index,
                started,
                finished: epoch.elapsed(),
                result,
            }
        })
        .collect()
}
