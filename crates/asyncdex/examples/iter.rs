//! Iterating results as they arrive: async streams.
//!
//! Run: `cargo run --example iter`
//!
//! The lesson's async generator yields names one at a time, and its async comprehension
//! collects them into a list. Rust's counterpart is a `Stream`:
//!
//! 1. an *ordered* stream that fetches one name per item (`stream::iter(..).then(..)`),
//!    just like an async generator: in order, but one wait per item;
//! 2. the same names collected into a `Vec` (the async comprehension);
//! 3. a *concurrent* stream ([`asyncdex_engine::gather::stream`]) that runs the calls together and
//!    yields each name the moment it arrives, fastest first.

use std::time::{Duration, Instant};

use asyncdex::draw::random_ids;
use asyncdex::http::{HttpOptions, Native};
use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pokeapi::Client;
use asyncdex_engine::gather::{stream, Order, Policy};
use futures::StreamExt;
use rand::SeedableRng;

#[tokio::main]
async fn main() -> asyncdex::Result<()> {
    let mirror = Mirror::start(MirrorConfig {
        latency: Duration::from_millis(100),
        jitter: Duration::from_millis(50),
        seed: 7,
        ..MirrorConfig::default()
    })
    .await?;
    let client = Client::new(mirror.base_url(), Native::new(&HttpOptions::default())?);
    let ids = random_ids(5, &mut rand::rngs::StdRng::seed_from_u64(7));
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;

    println!("1. an async generator: one call per item, in order");
    let started = Instant::now();
    let mut names = std::pin::pin!(futures::stream::iter(ids.clone()).then(|id| {
        let client = client.clone();
        async move { client.name(id).await }
    }));
    while let Some(name) = names.next().await {
        println!("{:>8.1} ms  {}", ms(started), name?);
    }

    println!("2. the async comprehension: the same stream, collected");
    let started = Instant::now();
    let all: Vec<String> = futures::stream::iter(ids.clone())
        .then(|id| {
            let client = client.clone();
            async move { client.name(id).await }
        })
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    println!("{:>8.1} ms  {:?}", ms(started), all);

    println!("3. concurrent, as completed: all calls wait together, fastest first");
    let started = Instant::now();
    let mut arriving = stream(ids.clone(), &Policy::new(64), Order::Completed, move |id| {
        let client = client.clone();
        async move { client.name(id).await }
    })?;
    while let Some(outcome) = arriving.next().await {
        println!(
            "{:>8.1} ms  {} (drawn #{})",
            ms(started),
            outcome.result?,
            outcome.index + 1
        );
    }
    mirror.stop().await;
    Ok(())
}
