//! Twenty random Pokémon names: one by one, then all together.
//!
//! Run: `cargo run --example gather`
//!
//! Proves the lesson's central claim. Each call waits ~100 ms. Awaited one after another,
//! twenty calls wait twenty times (~2 s). Started together and awaited together (Python's
//! `asyncio.gather`, here [`asyncdex_engine::gather::gather`]), they all wait at the same time:
//! ~100 ms in all. Same client, same calls; only the waiting overlaps.

use std::time::{Duration, Instant};

use asyncdex::draw::random_ids;
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pokeapi::Client;
use asyncdex_engine::gather::{gather, Policy};
use rand::SeedableRng;

#[tokio::main]
async fn main() -> asyncdex::Result<()> {
    let mirror = Mirror::start(MirrorConfig {
        latency: Duration::from_millis(100),
        ..MirrorConfig::default()
    })
    .await?;
    let client = Client::new(mirror.base_url(), Native::new(&HttpOptions::default())?);
    let ids = random_ids(20, &mut rand::rngs::StdRng::seed_from_u64(2024));

    // One by one: each `.await` finishes before the next call starts.
    let started = Instant::now();
    let mut one_by_one = Vec::new();
    for &id in &ids {
        one_by_one.push(client.name(id).await?);
    }
    let sequential = started.elapsed();

    // Together: start all twenty, then wait for all of them.
    let started = Instant::now();
    let outcomes = gather(ids.clone(), &Policy::new(64), {
        let client = client.clone();
        move |id| {
            let client = client.clone();
            async move { client.name(id).await }
        }
    })
    .await?;
    let together = started.elapsed();
    let names: Vec<String> = outcomes
        .into_iter()
        .map(|o| o.result)
        .collect::<Result<_, _>>()?;

    assert_eq!(names, one_by_one, "same calls, same answers");
    println!("{}", names.join(", "));
    println!(
        "one by one: {:>7.1} ms\ntogether:   {:>7.1} ms  ({:.1}x faster)",
        sequential.as_secs_f64() * 1000.0,
        together.as_secs_f64() * 1000.0,
        sequential.as_secs_f64() / together.as_secs_f64()
    );
    mirror.stop().await;
    Ok(())
}
