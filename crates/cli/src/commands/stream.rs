//! `asyncdex stream [N]`: names printed the moment they arrive (an async stream).

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

use super::latency::{print_hedged, print_latency};
use super::report::{escape_field, print_summary, Progress};
use super::{check_count, group_from, io_error, ms, Io, Pictures, Summary};
use asyncdex::cache::{CacheMode, Cached};
use asyncdex::draw::{draw, Ids};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::pokeapi::Client;
use asyncdex::source::{Source, Target};
use asyncdex::Result;
use asyncdex_engine::gather::{self, Order, Policy};
use asyncdex_engine::latency::Histogram;
use asyncdex_engine::watchdog::LabelExt;

/// A validated `stream` job.
#[derive(Debug, Clone)]
pub struct StreamJob {
    /// How many names.
    pub n: usize,
    /// Seed of the random draw.
    pub seed: u64,
    /// Where the ids are drawn from: the API's own list, or a range.
    pub ids: Ids,
    /// Yield in draw order instead of as completed.
    pub ordered: bool,
    /// Concurrency, timeouts, retries, rate, cancellation.
    pub policy: Policy,
    /// Client settings.
    pub http: HttpOptions,
    /// Where to fetch from.
    pub target: Target,
    /// One JSON object per line.
    pub json: bool,
    /// Timeline and trace files to write.
    pub pictures: Pictures,
    /// Whether and where to keep answers on disk.
    pub cache: CacheMode,
}

/// Runs a `stream` job: each name is printed as soon as it is yielded.
pub async fn stream(mut job: StreamJob, io: Io<'_>) -> Result<Summary> {
    check_count(job.n)?;
    job.policy.check()?;
    let source = Source::open(job.target.clone()).await?;
    let cache = job
        .cache
        .open_for(&source)?
        // Answered from disk within this run's body limit, as from the network.
        .inspect(|c| c.set_max_body(job.http.max_body));
    let transport = Cached::new(Native::new(&job.http)?, cache.clone());
    let (base, policy) = (source.base_url(), &job.policy);
    let pool = super::draw_pool(&job.ids, &transport, base, policy, io.err, "stream: ").await?;
    let ids = draw(job.n, &pool, &mut StdRng::seed_from_u64(job.seed));
    let client = Client::new(source.base_url(), transport);
    let order = if job.ordered {
        Order::Input
    } else {
        Order::Completed
    };
    if !job.json {
        let how = if job.ordered {
            "in draw order"
        } else {
            "as they arrive"
        };
        writeln!(
            io.out,
            "{} names {how}, from {}",
            job.n,
            source.description()
        )
        .map_err(io_error)?;
    }
    let log = job.pictures.log_for(&mut job.policy);
    let watch = Progress::watch(&mut job.policy);
    let started = std::time::Instant::now();
    let client = std::sync::Arc::new(client);
    let mut names = gather::stream(ids.clone(), &job.policy, order, move |id| {
        let client = std::sync::Arc::clone(&client);
        async move { client.name(id).await }.label_with(|| format!("fetch pokemon/{id}"))
    })?;
    let mut outcomes = Vec::with_capacity(job.n);
    while let Some(o) = names.next().await {
        let at = ms(started.elapsed());
        let id = ids[o.index];
        if let Ok(name) = &o.result {
            if job.json {
                let took = ms(o.finished.saturating_sub(o.started));
                let line = json!({"index": o.index, "id": id, "name": name, "at_ms": at, "ms": took, "attempts": o.attempts});
                crate::json::write_line(io.out, &line)
            } else {
                let name = escape_field(name);
                writeln!(io.out, "{at:>10.1} ms  #{:<3} {name} (id {id})", o.index + 1)
            }
            .map_err(io_error)?;
        }
        outcomes.push(o);
    }
    drop(names);
    source.close().await;
    outcomes.sort_by_key(|o| o.index);
    let name = if job.ordered {
        "stream (ordered)"
    } else {
        "stream (as completed)"
    };
    let mut summary = print_summary(io.err, "stream: ", &outcomes, |i| {
        format!("#{} (id {})", i + 1, ids[i])
    })
    .map_err(io_error)?;
    let latency = Histogram::of_calls(&outcomes);
    print_latency(io.err, "stream: ", &latency, job.pictures.histogram).map_err(io_error)?;
    print_hedged(io.err, "stream: ", &outcomes).map_err(io_error)?;
    watch
        .print_shortened(io.err, "stream: ")
        .map_err(io_error)?;
    super::report::print_cache(io.err, cache.as_ref()).map_err(io_error)?;
    summary.interrupted = job.policy.cancel.is_cancelled();
    // The pictures last: the names and the summary are out before a write can fail.
    if let Some(log) = &log {
        let group = group_from(name.into(), log, |i| format!("#{} id {}", i + 1, ids[i]));
        job.pictures
            .write(&format!("asyncdex stream {}", job.n), &[group])?;
    }
    Ok(summary)
}
