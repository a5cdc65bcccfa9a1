//! # asyncdex-engine
//!
//! Waiting concurrently, done right. Most programs spend their time waiting: on files,
//! databases, web APIs. One call at a time, the waits add up; started together, they
//! overlap, and a thousand waits cost about one. This crate is the machinery for that, and
//! knows nothing of HTTP, SQL or Pokémon: any function, any error type.
//!
//! | idea | module |
//! |---|---|
//! | run a blocking function concurrently, unchanged (`asyncio.to_thread`) | [`offload`] |
//! | many calls at once: bounded, retried, rate-limited, one outcome per call (`asyncio.gather`) | [`gather`] |
//! | outcomes as they arrive, or in input order (`asyncio.as_completed`) | [`gather::stream()`] |
//! | a heartbeat proves the runtime stays responsive | [`heartbeat`] |
//! | how long calls took: p50, p90, p99, max, a histogram | [`latency`] |
//! | catch stalls in any program while they happen, by label | [`watchdog`] |
//! | design with concurrency: steps in sequence and in parallel | [`compose`] |
//! | one event log per run, for progress bars and pictures | [`events`] |
//!
//! ## A first example: many files, read concurrently
//!
//! `std::fs::read_to_string` blocks. [`offload::Pool`] runs it, unchanged, on a bounded
//! pool of threads; [`gather::gather`] runs it for every path, at most 4 at a time,
//! retrying what the caller's own error type calls transient, and returns exactly one
//! [`gather::Outcome`] per path, in input order. The error type is the caller's: here a
//! small enum of its own, which says through [`gather::Classify`] what is worth retrying.
//!
//! ```
//! use asyncdex_engine::gather::{gather, Classify, Policy, Retry};
//! use asyncdex_engine::offload::Pool;
//!
//! #[derive(Debug, thiserror::Error)]
//! enum ReadError {
//!     #[error("{0}: {1}")]
//!     Io(String, std::io::Error),
//!     #[error("the pool failed: {0}")]
//!     Pool(#[from] asyncdex_engine::Error),
//! }
//!
//! impl Classify for ReadError {
//!     fn retry(&self) -> Retry {
//!         match self {
//!             // A file that is not there will not appear by asking again.
//!             ReadError::Io(_, e) if e.kind() == std::io::ErrorKind::Interrupted => Retry::Yes,
//!             _ => Retry::No,
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut paths = Vec::new();
//! for i in 0..10 {
//!     let path = dir.path().join(format!("{i}.txt"));
//!     std::fs::write(&path, "x".repeat(i))?;
//!     paths.push(path);
//! }
//! paths.push(dir.path().join("missing.txt"));
//!
//! let pool = Pool::new("files", 4);
//! let mut policy = Policy::new(4);
//! policy.retries = 2;
//! let outcomes = gather(paths, &policy, move |path: std::path::PathBuf| {
//!     let pool = pool.clone();
//!     async move {
//!         let shown = path.display().to_string();
//!         pool.run(move || std::fs::read_to_string(&path))
//!             .await?
//!             .map_err(|e| ReadError::Io(shown, e))
//!     }
//! })
//! .await?;
//!
//! assert_eq!(outcomes.len(), 11); // one per path, in input order
//! let sizes: Vec<usize> = outcomes[..10].iter().map(|o| o.result.as_ref().unwrap().len()).collect();
//! assert_eq!(sizes, (0..10).collect::<Vec<_>>());
//! assert!(outcomes[10].result.is_err()); // the missing file: failed, after one attempt
//! assert_eq!(outcomes[10].attempts, 1);
//! # Ok(()) }
//! ```
//!
//! The same engine drives asyncdex's PokeAPI client (see the `asyncdex` crate): there the
//! calls are HTTP requests and the error says 429 and 5xx are transient, 404 is not.
#![warn(missing_docs)]

pub mod compose;
mod error;
pub mod events;
pub mod gather;
pub mod heartbeat;
pub mod latency;
pub mod offload;
pub mod watchdog;

pub use error::{Error, ErrorKind, Result};
