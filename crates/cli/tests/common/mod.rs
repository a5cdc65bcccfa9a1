//! Helpers shared by the CLI's integration tests: the library's tiny misbehaving servers
//! on 127.0.0.1 (one copy, the asyncdex crate's), running the binary, crawl helpers.

#![allow(dead_code, unused_imports)]

#[path = "../../../asyncdex/tests/common/mod.rs"]
mod servers;

pub use servers::*;

pub mod binary;
pub mod crawl;
