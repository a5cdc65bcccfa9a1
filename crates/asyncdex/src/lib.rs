//! # asyncdex
//!
//! A concurrent PokeAPI client, an offline PokeAPI mirror, and a measured lesson in why
//! waiting concurrently matters. The concurrency itself (offload, gather, streams,
//! heartbeat, watchdog, compose, events) is the [`asyncdex_engine`] crate, which knows
//! nothing of HTTP or Pokémon; this crate is its worked example: PokeAPI over HTTP.
//!
//! Each idea of the lesson has one module, whose `//!` doc teaches it:
//!
//! | idea | module |
//! |---|---|
//! | hide I/O behind one interface; swap blocking and async backends | [`http`] |
//! | typed models and a client, async and blocking | [`pokeapi`] |
//! | which Pokémon: random ids drawn from the API's own list | [`draw`] |
//! | one by one vs threads vs async, timed side by side | [`names`] |
//! | a heartbeat proves the runtime stays responsive; the wrong way stalls it | [`sync_to_async`] |
//! | concurrency (taking turns) vs parallelism (all cores) | [`parallelism`] |
//! | design with concurrency: devices and programs of steps in sequence and in parallel | [`devices`], [`program`] |
//! | how cost grows with the work, per mode | [`sweep`] |
//! | an offline PokeAPI (all of it) with latency and fault injection | [`mirror`] |
//! | where calls go: the embedded mirror or a real API | [`source`] |
//! | a blocking database used concurrently, unchanged | [`store`] |
//! | a disk cache in front of any backend | [`cache`] |
//! | clone an API, resumably, and prove it is all there | [`crawl`] |
//! | a copy served ([`mirror::Data`]) or written as static files | [`export`] |
//!
//! Cargo features: `mirror` (the embedded PokeAPI server, and what runs against it:
//! [`source`], [`sweep`], [`parallelism`]) and `store` (SQLite: [`store`], [`cache`],
//! [`crawl`], [`export`]), both on by default. With `default-features = false` the crate
//! is the clients alone: [`http`], [`pokeapi`], [`names`], [`draw`], [`program`].
#![warn(missing_docs)]

#[cfg(feature = "store")]
pub mod cache;
#[cfg(feature = "store")]
pub mod crawl;
pub mod devices;
pub mod draw;
mod error;
#[cfg(feature = "store")]
pub mod export;
pub mod files;
pub mod http;
#[cfg(feature = "mirror")]
pub mod knee;
#[cfg(feature = "mirror")]
pub mod mirror;
mod named;
pub mod names;
#[cfg(feature = "mirror")]
pub mod parallelism;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod pokeapi;
pub mod program;
#[cfg(feature = "mirror")]
pub mod source;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "mirror")]
pub mod sweep;
pub mod sync_to_async;

pub use error::{Error, ErrorKind, Result};
