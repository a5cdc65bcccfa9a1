//! Concurrency is not parallelism, and Rust has no GIL: CPU-bound work, three ways.
//!
//! *Concurrency* is taking turns while waiting: one cook, many pots. It speeds up I/O,
//! where the time is spent waiting. *Parallelism* is several cores computing at the same
//! instant: several cooks. It speeds up CPU-bound work, where there is no waiting.
//!
//! The job here is one asyncdex really does: parsing real-size (~250 KB) Pokémon bodies
//! into the typed model. Three ways:
//!
//! - [`Way::Inline`]: parse inside an async task. No waiting happens, so async gains
//!   nothing, and the task holds its runtime thread the whole time: the
//!   [`watchdog`](asyncdex_engine::watchdog) reports the stall, by label.
//! - [`Way::Offload`]: the work split over the [`offload`](asyncdex_engine::offload) pool's threads.
//!   The runtime stays free, and the threads run on all cores at once.
//! - [`Way::Rayon`]: the work spread over every core with rayon's work-stealing
//!   `par_iter`, itself run on the offload pool so the runtime stays free.
//!
//! In CPython the last two would not be faster: the GIL lets one thread run Python code at
//! a time, so threads give concurrency but not parallelism (hence `multiprocessing`). Rust
//! threads run truly in parallel, so the speed-up approaches the number of cores.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::named::named_enum;
use crate::pokeapi::Pokemon;
use asyncdex_engine::offload::Pool;
use asyncdex_engine::watchdog::{LabelExt, Watchdog, WatchdogConfig, WatchdogEvent};

named_enum! {
    /// How to run the CPU-bound job.
    pub enum Way ("way") {
        /// Inside an async task, on the runtime's thread.
        Inline = "inline",
        /// Split over the offload pool's threads.
        Offload = "offload",
        /// Spread over all cores with rayon.
        Rayon = "rayon",
    }
}

/// What one way measured.
#[derive(Debug, Clone)]
pub struct CpuRun {
    /// Which way.
    pub way: Way,
    /// Bodies parsed.
    pub jobs: usize,
    /// Wall time.
    pub wall: Duration,
    /// Sum of every parsed Pokémon's base stats: equal across ways, or something is wrong.
    pub checksum: u64,
    /// Stalls the watchdog reported while this way ran.
    pub stalls: Vec<WatchdogEvent>,
}

/// `jobs` real-size Pokémon bodies (64 distinct ones, shared, to bound memory).
pub fn real_size_bodies(jobs: usize) -> Vec<Bytes> {
    let distinct = crate::mirror::pokemon_bodies(64);
    (0..jobs)
        .map(|i| distinct[i % distinct.len()].clone())
        .collect()
}

/// The unit of work: parse one body into the typed model; return its base-stat total.
pub fn parse_one(body: &[u8]) -> u64 {
    let p: Pokemon = serde_json::from_slice(body).expect("mirror bodies parse");
    p.stats.iter().map(|s| u64::from(s.base_stat)).sum()
}

/// Runs the job `way`, with a watchdog counting stalls, on the current runtime.
pub async fn run_way(way: Way, bodies: Arc<Vec<Bytes>>, pool: &Pool) -> Result<CpuRun> {
    let stalls = Arc::new(Mutex::new(Vec::new()));
    let log = stalls.clone();
    let dog = Watchdog::start(
        &tokio::runtime::Handle::current(),
        WatchdogConfig::default(),
        move |e| {
            if matches!(e, WatchdogEvent::Stalled(_)) {
                log.lock().unwrap_or_else(|p| p.into_inner()).push(e);
            }
        },
    )
    .map_err(|e| no_thread("the watchdog's thread", e))?;
    let jobs = bodies.len();
    let started = Instant::now();
    let checksum = match way {
        Way::Inline => {
            let bodies = bodies.clone();
            let label = format!("cpu inline: parse {jobs} bodies");
            tokio::spawn(
                async move { bodies.iter().map(|b| parse_one(b)).sum::<u64>() }.label(label),
            )
            .await
            .map_err(|e| Error::new(crate::ErrorKind::Panicked, e.to_string()))?
        }
        Way::Offload => {
            let chunk = jobs.div_ceil(pool.size()).max(1);
            let parts = (0..jobs).step_by(chunk).map(|start| {
                let bodies = bodies.clone();
                pool.run(move || {
                    bodies[start..(start + chunk).min(bodies.len())]
                        .iter()
                        .map(|b| parse_one(b))
                        .sum::<u64>()
                })
            });
            let mut sum = 0;
            for part in futures::future::join_all(parts).await {
                sum += part?;
            }
            sum
        }
        Way::Rayon => {
            // A pool of its own, built here: rayon's global pool, built on first use,
            // panics in the worker that uses it when the system refuses its threads.
            let threads = rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("rayon-{i}"))
                .build()
                .map_err(|e| no_thread("rayon's threads", e))?;
            let bodies = bodies.clone();
            pool.run(move || {
                threads.install(|| bodies.par_iter().map(|b| parse_one(b)).sum::<u64>())
            })
            .await?
        }
    };
    let wall = started.elapsed();
    // Give the watchdog one check after the work, so a stall at the very end is counted.
    tokio::time::sleep(Duration::from_millis(20)).await;
    dog.stop();
    let stalls = std::mem::take(&mut *stalls.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(CpuRun {
        way,
        jobs,
        wall,
        checksum,
        stalls,
    })
}

/// The error of threads the system refused to start (`what`: whose), naming the likely
/// limit.
fn no_thread(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        crate::ErrorKind::Io,
        format!("cannot start {what}: {e} (ulimit -u?)"),
    )
}
