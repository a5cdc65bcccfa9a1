//! The wrong way: a blocking call inside async code freezes the runtime.
//!
//! Run: `cargo run --example sync_to_async_wrong`
//!
//! The heartbeat now runs as a task beside the request, which looks concurrent. But the
//! blocking function is called directly on the runtime's only thread (`current_thread`,
//! like Python's asyncio). While it waits in the kernel for the server's 300 ms answer,
//! nothing else can run: the heartbeat's next interval is ~300 ms, not 10. A runtime that
//! does blocking work on its own threads stops breathing, silently.
//!
//! Add a watchdog to catch this in your own programs (`asyncdex_engine::watchdog`, or the CLI's
//! `--watchdog`): it reports the stall while it happens and names the future.

use std::time::Duration;

use asyncdex::http::{Blocking, BlockingTransport, HttpOptions};
use asyncdex::mirror::{BackgroundMirror, MirrorConfig};
use asyncdex_engine::heartbeat::Heartbeat;

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

    let heartbeat = Heartbeat::spawn(Duration::from_millis(10));
    tokio::time::sleep(Duration::from_millis(30)).await; // the heartbeat beats

    // THE MISTAKE: a blocking call on the runtime's thread. Nothing else runs until it returns.
    let status = get_status(&client, &url)?;

    tokio::time::sleep(Duration::from_millis(30)).await;
    let beats = heartbeat.stop().await;
    for interval in &beats.intervals {
        println!("heartbeat after {:5.1} ms", interval.as_secs_f64() * 1000.0);
    }
    println!(
        "GET answered {status}; worst heartbeat lag {:.0} ms: the runtime was frozen",
        beats.max_lag().as_secs_f64() * 1000.0
    );
    Ok(())
}
