//! # asyncdex
//!
//! A concurrent PokeAPI client, an offline PokeAPI mirror, and a measured lesson in why
//! waiting concurrently matters.
//!
//! Each idea of the lesson has one module, whose `//!` doc teaches it:
//!
//! | idea | module |
//! |---|---|
//! | run a blocking function concurrently, unchanged (`asyncio.to_thread`) | [`offload`] |
//! | hide I/O behind one interface; swap blocking and async backends | [`http`] |
//! | typed models and a client, async and blocking | [`pokeapi`] |
//! | many calls at once: bounded, retried, rate-limited, one outcome per call (`asyncio.gather`) | [`gather`] |
//! | one by one vs threads vs async, timed side by side | [`names`] |
//! | a heartbeat proves the runtime stays responsive; the wrong way stalls it | [`heartbeat`], [`sync_to_async`] |
//! | catch stalls in any program while they happen, by label | [`watchdog`] |
//! | concurrency (taking turns) vs parallelism (all cores) | [`parallelism`] |
//! | design with concurrency: steps in sequence and in parallel | [`compose`], [`devices`], [`program`] |
//! | one event log per run, drawn as a timeline or a trace | [`events`], [`timeline`] |
//! | how cost grows with the work, per mode, on a log-log chart | [`bench`](mod@bench), [`chart`] |
//! | an offline PokeAPI with latency and fault injection | [`mirror`], [`pokedex`] |
//! | where calls go: the embedded mirror or a real API | [`source`] |
//! | a blocking database used concurrently, unchanged | [`store`] |
//! | a disk cache in front of any backend | [`cache`] |
//! | clone an API, resumably, and prove it is all there | [`crawl`] |
//! | a copy served ([`mirror::Data`]) or written as static files | [`export`] |
//! | the CLI's commands, as library calls | [`commands`] |
#![warn(missing_docs)]

pub mod bench;
pub mod cache;
pub mod chart;
pub mod commands;
pub mod compose;
pub mod crawl;
pub mod devices;
mod error;
pub mod events;
pub mod export;
mod files;
pub mod gather;
pub mod heartbeat;
pub mod http;
pub mod mirror;
mod named;
pub mod names;
pub mod offload;
pub mod parallelism;
pub mod pokeapi;
pub mod pokedex;
pub mod program;
pub mod source;
pub mod store;
pub mod sync_to_async;
pub mod timeline;
pub mod watchdog;

pub use error::{Error, ErrorKind, Result};
