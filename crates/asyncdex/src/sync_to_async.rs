//! Turning a blocking call into a concurrent one, and proving it with a heartbeat.
//!
//! The lesson's three programs, one to one. Each runs a 10 ms [`Heartbeat`] beside one
//! blocking HTTP GET (ureq) to a server that answers after a latency (300 ms by default),
//! on a **single-threaded** runtime, the way Python's asyncio runs:
//!
//! - [`Mode::Before`]: the request, then the heartbeat: one after the other. Nothing
//!   overlaps; the total is the sum.
//! - [`Mode::Wrong`]: the heartbeat is spawned as a task, but the blocking call is made
//!   on the runtime's own thread. The thread is stuck in `recv()`, so the heartbeat cannot
//!   run: one interval is as long as the whole request. The runtime stopped breathing.
//! - [`Mode::Correct`]: the *same, unchanged* blocking function is sent to an
//!   [`offload`](asyncdex_engine::offload) pool and awaited together with the heartbeat. The runtime
//!   thread is free while the request waits; ticks stay ~10 ms apart.
//!
//! Each call is an ordinary client call: it has the client's deadline
//! ([`HttpOptions::timeout`], 30 s by default, so a server that stalls cannot hang the
//! demo; [`run_with`] takes other options), and a 2xx counts only if its body is JSON, as
//! the PokeAPI client would decode it: a server answering HTML is an
//! [`ErrorKind::Decode`] error, not a success.
//!
//! ```no_run
//! # fn main() -> asyncdex::Result<()> {
//! use std::time::Duration;
//! use asyncdex::sync_to_async::{run, Demo, Mode};
//!
//! let url = "http://127.0.0.1:8000/api/v2/pokemon/25/"; // a server with 300 ms latency
//! let demo = Demo::default(); // one call, one round, 10 ms heartbeat
//! let wrong = run(Mode::Wrong, url, &demo)?;
//! let right = run(Mode::Correct, url, &demo)?;
//! assert!(wrong.beats.max_lag() > right.beats.max_lag());
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Blocking, BlockingTransport, HttpOptions};
use crate::named::named_enum;
use asyncdex_engine::heartbeat::{Beats, Heartbeat};
use asyncdex_engine::offload::Pool;

named_enum! {
    /// Which of the lesson's three programs.
    pub enum Mode ("mode") {
        /// Request, then heartbeat.
        Before = "before",
        /// Heartbeat task + blocking call on the runtime thread: the stall.
        Wrong = "wrong",
        /// Heartbeat + the blocking call offloaded and awaited: no stall.
        Correct = "correct",
    }
}

/// Most threads a program's offload pool starts: more calls per round than this queue
/// for a thread (a pool as large as the calls would start one thread per call).
pub const MAX_POOL: usize = 512;

/// How big a program to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demo {
    /// Blocking calls per round (at once in `correct`, one after another otherwise).
    pub calls: usize,
    /// Rounds, one after another.
    pub rounds: usize,
    /// Heartbeat period.
    pub period: Duration,
}

impl Default for Demo {
    /// The lesson's program: one call, one round, a 10 ms heartbeat.
    fn default() -> Self {
        Demo {
            calls: 1,
            rounds: 1,
            period: Duration::from_millis(10),
        }
    }
}

/// What one program measured.
#[derive(Debug, Clone)]
pub struct DemoRun {
    /// Which program.
    pub mode: Mode,
    /// Blocking calls made in all.
    pub calls: usize,
    /// Calls that answered 2xx with a resource (a JSON object).
    pub ok: usize,
    /// The first call that did not (numbered from 0, in the order the calls were made)
    /// and why; `None` when every call succeeded. The others that failed are counted
    /// (`calls - ok`), not kept: a run of 100 000 failures holds one error.
    pub first_failure: Option<(usize, Error)>,
    /// From start to end of the program.
    pub total: Duration,
    /// The heartbeat's intervals.
    pub beats: Beats,
}

/// The unchanged blocking function: one GET of a resource, returning the status. A 2xx
/// whose body is not a resource (not JSON, not an object, nested too deep: the check every
/// client makes, [`check_resource`](crate::pokeapi::check_resource)) is a decode error, as
/// the client's would be; another status is the client's status error (`HTTP 503 from …`,
/// `not found: …`).
fn fetch_blocking(client: &Blocking, url: &str) -> Result<u16> {
    let resp = client.get(url)?;
    if !(200..300).contains(&resp.status) {
        return Err(crate::pokeapi::status_error(&resp, &redact_url(url), url));
    }
    let shape = crate::pokeapi::Shape::Object;
    crate::pokeapi::check_resource(&resp.body, shape).map_err(|e| {
        let url = redact_url(url);
        let why = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("is not JSON: {e}")
            }
            _ => format!("is not a resource: {e}"),
        };
        Error::new(ErrorKind::Decode, format!("the answer from {url} {why}")).with_url(url)
    })?;
    Ok(resp.status)
}

/// Runs program `mode` against `url` as `demo` says, on a fresh single-threaded runtime,
/// with the default client options (30 s timeout). Must not be called from inside an
/// async context (it blocks); from async code use `spawn_blocking`.
pub fn run(mode: Mode, url: &str, demo: &Demo) -> Result<DemoRun> {
    run_with(mode, url, demo, &HttpOptions::default())
}

/// [`run`] with the blocking client's `options` (a shorter timeout, a body limit).
pub fn run_with(mode: Mode, url: &str, demo: &Demo, options: &HttpOptions) -> Result<DemoRun> {
    let Demo {
        calls,
        rounds,
        period,
    } = *demo;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Blocking::new(options);
    let pool = Pool::new("blocking-demo", calls.clamp(1, MAX_POOL));
    let url = url.to_owned();
    runtime.block_on(async move {
        let started = Instant::now();
        let (statuses, beats) = match mode {
            Mode::Before => {
                let statuses: Vec<Result<u16>> = (0..calls * rounds)
                    .map(|_| fetch_blocking(&client, &url))
                    .collect();
                let elapsed = started.elapsed();
                // Nothing got through: the run fails with its first failure, without
                // beating as long again for a comparison nobody gets (hp12 A-F5: a
                // stalled call cost its 30 s twice).
                if !statuses.is_empty() && statuses.iter().all(Result::is_err) {
                    return Err(statuses.into_iter().find_map(Result::err).expect("failed"));
                }
                let heartbeat = Heartbeat::spawn(period);
                tokio::time::sleep(elapsed).await;
                (statuses, heartbeat.stop().await)
            }
            Mode::Wrong => {
                let heartbeat = Heartbeat::spawn(period);
                tokio::time::sleep(period * 3).await; // the heartbeat is beating
                                                      // The mistake: a blocking call right here, on the runtime's only thread.
                let statuses: Vec<Result<u16>> = (0..calls * rounds)
                    .map(|_| fetch_blocking(&client, &url))
                    .collect();
                tokio::time::sleep(period * 3).await; // it beats again, late
                (statuses, heartbeat.stop().await)
            }
            Mode::Correct => {
                let heartbeat = Heartbeat::spawn(period);
                tokio::time::sleep(period * 3).await;
                // The same function, unchanged, offloaded and awaited.
                let mut statuses = Vec::new();
                for _ in 0..rounds {
                    let batch = (0..calls).map(|_| {
                        let (client, url) = (client.clone(), url.clone());
                        pool.run(move || fetch_blocking(&client, &url))
                    });
                    let done = futures::future::join_all(batch).await;
                    statuses.extend(
                        done.into_iter()
                            .map(|r| r.map_err(Error::from).and_then(|inner| inner)),
                    );
                }
                tokio::time::sleep(period * 3).await;
                (statuses, heartbeat.stop().await)
            }
        };
        let ok = statuses.iter().filter(|s| s.is_ok()).count();
        let first_failure = statuses
            .into_iter()
            .enumerate()
            .find_map(|(i, s)| s.err().map(|e| (i, e)));
        match first_failure {
            // Nothing got through: the run failed, with the first failure as it was.
            Some((_, e)) if ok == 0 => return Err(e),
            None if ok == 0 => {
                return Err(Error::new(
                    ErrorKind::Status,
                    format!("no call to {} was made", redact_url(&url)),
                ))
            }
            _ => {}
        }
        Ok(DemoRun {
            mode,
            calls: calls * rounds,
            ok,
            first_failure,
            total: started.elapsed(),
            beats,
        })
    })
}
