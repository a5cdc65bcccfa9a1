//! Every integration test of this crate, in one binary (`cargo test --test integration`).
//!
//! One file per kind of behaviour, each a module here; `common/` (and the folders beside it)
//! hold what several share. One binary instead of one per file links the dependencies once:
//! CI builds in minutes less, and the test build takes a fraction of the disk.

mod common;
mod h2_client;

mod answer_budget;
mod blocking;
mod capacity;
mod client;
mod crawl_batches;
mod crawl_input;
mod credentials;
mod export_confined;
mod export_stops;
mod faults;
mod folder_limits;
mod gzip_follows_source;
mod hostile_crawl;
mod hostile_headers;
mod hostile_http;
mod hostile_mirror;
mod hostile_server;
mod hostile_store;
mod hostile_urls;
mod mirror;
mod program_limits;
mod slow_clients;
mod stalled_peers;
mod whole_api;
