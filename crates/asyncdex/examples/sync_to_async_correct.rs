//! The correct way: the same blocking function, offloaded and awaited.
//!
//! Run: `cargo run --example sync_to_async_correct`
//!
//! The blocking function is not changed at all. It is handed to a thread pool
//! ([`asyncdex_engine::offload::Pool`], Rust's `asyncio.to_thread`) and the runtime *awaits* the
//! result. The pool thread waits for the server; the runtime thread is free, so the
//! heartbeat keeps beating every ~10 ms through the whole 300 ms request. This is how
//! asyncdex runs ureq calls in `names --mode threads`, and how it reaches SQLite.

use std::time::Duration;

use asyncdex::http::{Blocking, BlockingTransport, HttpOptions};
use asyncdex::mirror::{BackgroundMirror, MirrorConfig};
use asyncdex_engine::heartbeat::Heartbeat;
use asyncdex_engine::offload::Pool;

/// The same regular blocking function, unchanged.
fn get_status(client: &Blocking, url: &str) -> asyncdex::Result<u16> {
    Ok(client.get(url)?.status)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> asyncdex::Result<()> {
    let mirror = BackgroundMirror::start(MirrorConfig {
        latency: Duration::from_millis(300),
        ..MirrorConfig::default()
    })?;
    let url = format!("{}/pokemon/25/", mirror.base_url());
    let client = Blocking::new(&HttpOptions::default());
    let pool = Pool::new("http", Pool::default_size());

    let heartbeat = Heartbeat::spawn(Duration::from_millis(10));
    tokio::time::sleep(Duration::from_millis(30)).await;

    // THE FIX: run it on the pool and await it. The runtime keeps running other tasks.
    let status = pool.run(move || get_status(&client, &url)).await??;

    tokio::time::sleep(Duration::from_millis(30)).await;
    let beats = heartbeat.stop().await;
    for interval in &beats.intervals {
        println!("heartbeat after {:5.1} ms", interval.as_secs_f64() * 1000.0);
    }
    println!(
        "GET answered {status}; worst heartbeat lag {:.1} ms: the runtime kept breathing",
        beats.max_lag().as_secs_f64() * 1000.0
    );
    Ok(())
}
