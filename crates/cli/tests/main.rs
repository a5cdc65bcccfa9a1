//! Every integration test of this crate, in one binary (`cargo test --test integration`).
//!
//! One file per kind of behaviour, each a module here; `common/` (and the folders beside it)
//! hold what several share. One binary instead of one per file links the dependencies once:
//! CI builds in minutes less, and the test build takes a fraction of the disk.

mod common;
mod pg;

mod auto;
mod bad_input;
mod bench;
mod cache;
mod cache_identity;
mod cache_unusable;
mod crash;
mod crawl;
mod credentials;
mod escaping;
mod export;
mod export_stops;
mod files;
mod flag_promises;
mod get_hostile;
mod get_stream;
mod knee;
mod lessons;
mod list_retry;
mod long_lines;
mod names;
mod names_counted;
mod output;
mod postgres;
mod postgres_hostile;
mod postgres_outage;
mod postgres_stop;
mod postgres_trust;
mod process_limits;
mod program;
mod proxy_env;
mod redirects;
mod refused_up_front;
mod replace;
mod serve;
mod serve_from;
mod signals;
mod small_stack;
mod stop_signals;
mod store_lock;
mod store_names;
mod store_readonly;
mod store_trust;
mod tail;
mod unused_typed_flags;
