//! Recap: get one Pokémon, asynchronously.
//!
//! Run: `cargo run --example recap`
//!
//! The lesson starts by fetching a single Pokémon with an async HTTP client. One call is
//! no faster async than blocking: it still waits one network latency (100 ms here, on the
//! embedded mirror). What async buys shows up with *many* calls: see `gather`.

use std::time::{Duration, Instant};

use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pokeapi::Client;

#[tokio::main]
async fn main() -> asyncdex::Result<()> {
    let mirror = Mirror::start(MirrorConfig {
        latency: Duration::from_millis(100),
        ..MirrorConfig::default()
    })
    .await?;
    let client = Client::new(mirror.base_url(), Native::new(&HttpOptions::default())?);

    let started = Instant::now();
    let pikachu = client.pokemon(25).await?;
    println!(
        "#{} {}: {} type, {:.1} m, {:.1} kg, speed {} ({:.0} ms)",
        pikachu.id,
        pikachu.name,
        pikachu.type_names().join("/"),
        f64::from(pikachu.height) / 10.0,
        f64::from(pikachu.weight) / 10.0,
        pikachu.base_stat("speed").unwrap_or(0),
        started.elapsed().as_secs_f64() * 1000.0
    );
    mirror.stop().await;
    Ok(())
}
