//! Before: a blocking call, then a heartbeat, one after the other.
//!
//! Run: `cargo run --example sync_to_async_before`
//!
//! The starting point of the lesson's second half. `get_status` is a regular blocking
//! function (ureq, Rust's `requests`), and the server takes 300 ms to answer. The program
//! makes the call, then runs a 10 ms heartbeat for as long again. Nothing overlaps: the
//! total is the sum of both. The next two examples try to overlap them.

use std::time::{Duration, Instant};

use asyncdex::http::{Blocking, BlockingTransport, HttpOptions};
use asyncdex::mirror::{BackgroundMirror, MirrorConfig};
use asyncdex_engine::heartbeat::Heartbeat;

/// A regular blocking function. The lesson never changes it.
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

    let started = Instant::now();
    let status = get_status(&client, &url)?;
    let request = started.elapsed();
    println!(
        "GET answered {status} after {:.0} ms",
        request.as_secs_f64() * 1000.0
    );

    let heartbeat = Heartbeat::spawn(Duration::from_millis(10));
    tokio::time::sleep(request).await;
    let beats = heartbeat.stop().await;
    for interval in &beats.intervals {
        println!("heartbeat after {:5.1} ms", interval.as_secs_f64() * 1000.0);
    }
    println!(
        "total {:.0} ms: the request and the heartbeat took turns, never overlapping",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
