//! `asyncdex crawl`: clone the API into a SQLite store, resumably, and print the manifest.

use asyncdex_engine::offload;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::postgres;
use super::report::{escape_display, Progress};
use super::{io_error, Io, Summary};
use asyncdex::crawl::shared::{crawl_shared, Sharing};
use asyncdex::crawl::{crawl as run_crawl, Crawl, Manifest, Tick};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::pg::PgStore;
use asyncdex::source::{Source, Target};
use asyncdex::store::{AsyncStore, Store};
use asyncdex::{ErrorKind, Result};

/// How often a crawl without a terminal prints where it stands.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// A validated `crawl` job.
#[derive(Debug, Clone)]
pub struct CrawlJob {
    /// What to crawl, and the policy (concurrency, retries, rate, cancellation).
    pub crawl: Crawl,
    /// The store file (created if missing, resumed if not).
    pub out: PathBuf,
    /// Client settings.
    pub http: HttpOptions,
    /// Where to crawl from.
    pub target: Target,
    /// The manifest as one JSON object instead of a table.
    pub json: bool,
    /// Only print where a shared (PostgreSQL) crawl stands.
    pub status: bool,
    /// How a crawl into PostgreSQL shares the work (lease, the whole crawl's rate).
    pub sharing: Sharing,
}

/// Where a crawl writes.
enum Out {
    Sqlite(AsyncStore),
    Postgres(PgStore),
}

/// Runs a crawl: a progress bar on a terminal (plain lines every 2 s otherwise), then the
/// manifest, and a line naming what is missing if anything is.
pub async fn crawl(mut job: CrawlJob, io: Io<'_>) -> Result<Summary> {
    job.crawl.validate()?;
    let url = postgres::url_of(&job.out).map(str::to_owned);
    let lease_given = job.sharing.lease != asyncdex::pg::queue::DEFAULT_LEASE;
    postgres::check_flags(url.as_deref(), job.status, lease_given)?;
    if let (Some(url), true) = (&url, job.status) {
        return postgres::status(url, job.json, io).await;
    }
    let (store, shown) = match &url {
        Some(url) => {
            let store = PgStore::connect(url).await?;
            // One API's copy, as an SQLite store is: refused here, before anything is
            // fetched.
            store
                .claim_root(&api_identity(&job.target))
                .await
                .map_err(choose_another_out)?;
            let shown = store.describe().to_owned();
            // The shared crawl applies the rate itself, to every worker together.
            job.crawl.policy.rate = None;
            (Out::Postgres(store), shown)
        }
        None => {
            check_out(&job.out)?;
            let (out, root) = (job.out.clone(), api_identity(&job.target));
            // A store is one API's copy: a crawl from another root into it is refused
            // here, before anything is fetched (bad input, exit 2).
            let open = move || {
                let store = Store::open(out)?;
                store.claim_root(&root).map_err(choose_another_out)?;
                Ok::<_, asyncdex::Error>(store)
            };
            let store = offload::once("opening the store", open).await??;
            (
                Out::Sqlite(AsyncStore::new(store)),
                job.out.display().to_string(),
            )
        }
    };
    let source = Source::open(job.target.clone()).await?;
    let transport = Native::new(&job.http)?;
    let terminal = std::io::stderr().is_terminal();
    let progress = Progress::attach(&mut job.crawl.policy, "crawl");
    // The rows go to the store as they come: the calls are timed from their events.
    let latency = std::sync::Arc::new(asyncdex_engine::latency::Histogram::new());
    job.crawl.policy.add_events(latency.sink());
    writeln!(
        io.err,
        "crawling {} into {} (seed {})",
        source.description(),
        escape_display(&shown),
        job.crawl.policy.seed
    )
    .map_err(io_error)?;
    let started = Instant::now();
    let mut last_line = Instant::now();
    let mut failed_calls = 0;
    let err = &mut *io.err;
    let mut on_tick = |tick: Tick| {
        failed_calls = tick.failed;
        if !terminal && last_line.elapsed() >= LINE_EVERY {
            last_line = Instant::now();
            let _ = writeln!(
                err,
                "crawl: {}/{} done, {} failed, {:.1} s",
                tick.done,
                tick.total,
                tick.failed,
                started.elapsed().as_secs_f64()
            );
        }
    };
    let base = source.base_url();
    let result = match &store {
        Out::Sqlite(store) => run_crawl(transport, base, store, &job.crawl, &mut on_tick).await,
        Out::Postgres(store) => {
            let sharing = &job.sharing;
            crawl_shared(transport, base, store, &job.crawl, sharing, &mut on_tick).await
        }
    };
    progress.finish();
    source.close().await;
    let manifest = result?;
    let elapsed = started.elapsed();
    if job.json {
        let line = serde_json::json!({
            "store": shown,
            "complete": manifest.complete(),
            "seconds": elapsed.as_secs_f64(),
            "resources": manifest.resources,
            "latency_ms": super::latency::latency_json(latency.latencies()),
        });
        crate::json::write_line(io.out, &line).map_err(io_error)?;
    } else {
        print_manifest(&manifest, io.out).map_err(io_error)?;
    }
    let (expected, stored) = manifest.totals();
    let retried: u64 = manifest.resources.iter().map(|r| r.retried).sum();
    writeln!(
        io.err,
        "crawl: {stored} of {expected} stored in {} ({} fetched, {} already there, {retried} retried) in {:.2} s",
        escape_display(&shown),
        manifest.resources.iter().map(|r| r.fetched).sum::<u64>(),
        manifest.resources.iter().map(|r| r.skipped).sum::<u64>(),
        elapsed.as_secs_f64()
    )
    .map_err(io_error)?;
    super::latency::print_latency(io.err, "crawl: ", &latency, false).map_err(io_error)?;
    progress
        .print_shortened(io.err, "crawl: ")
        .map_err(io_error)?;
    if let Out::Postgres(store) = &store {
        let endpoints: Vec<String> = manifest
            .resources
            .iter()
            .map(|r| r.endpoint.clone())
            .collect();
        let line = postgres::queue_line(store, &endpoints).await?;
        writeln!(io.err, "{}", escape_display(&line)).map_err(io_error)?;
    }
    for r in manifest.resources.iter().filter(|r| !r.complete()) {
        let why = match &r.list_error {
            Some(e) => format!("its list could not be read: {e}"),
            None => format!(
                "{} of {} missing{}",
                r.expected - r.stored.min(r.expected),
                r.expected,
                if r.failures.is_empty() {
                    String::new()
                } else {
                    format!(" (first: {})", r.failures.join("; "))
                }
            ),
        };
        let name = escape_display(&r.endpoint);
        writeln!(io.err, "  incomplete: {name}: {}", escape_display(&why)).map_err(io_error)?;
    }
    // A list's count is the server's claim; what it named is what was expected. A count
    // above what it named leaves the crawl incomplete (said above); one below, a note.
    for r in &manifest.resources {
        if let Some(claimed) = r.claimed.filter(|&claimed| claimed < r.expected) {
            let (name, named) = (escape_display(&r.endpoint), r.expected);
            writeln!(
                io.err,
                "  note: {name}: its list claimed {claimed} entries and named {named}"
            )
            .map_err(io_error)?;
        }
    }
    if !manifest.complete() {
        writeln!(
            io.err,
            "crawl: incomplete; run it again to fetch only what is missing"
        )
        .map_err(io_error)?;
    }
    // Stopped by a lock another process held past the wait: the manifest above says what
    // is not stored, this error line why (exit 1).
    if let Some(why) = match &store {
        Out::Sqlite(store) => store.gave_up(),
        Out::Postgres(_) => None,
    } {
        return Err(why);
    }
    let interrupted = job.crawl.policy.cancel.is_cancelled();
    let list_failures = manifest
        .resources
        .iter()
        .filter(|r| r.list_error.is_some())
        .count();
    // Each resource counted once: stored, failed (its fetch failed, or its list could
    // not be read), or, after a signal, cancelled (never fetched).
    let missing = (expected - stored.min(expected)) as usize;
    let failed = if interrupted {
        failed_calls.min(missing)
    } else {
        missing
    };
    Ok(Summary {
        ok: stored as usize,
        failed: failed + list_failures,
        cancelled: missing - failed,
        retried: retried as usize,
        interrupted,
        ..Summary::default()
    })
}

/// A store of another API's root (bad input, exit 2), said with what to do about it.
fn choose_another_out(e: asyncdex::Error) -> asyncdex::Error {
    match e.kind() {
        ErrorKind::InvalidInput => {
            asyncdex::Error::invalid_input(format!("{e}: choose another --out"))
        }
        _ => e,
    }
}

/// What a store crawled from `target` holds: the API root without credentials, or
/// `embedded` for the embedded mirror (its port changes every run, its data does not; the
/// name [`Source::cache_name`] gives it).
fn api_identity(target: &Target) -> String {
    match target {
        Target::Embedded(_) => "embedded".to_owned(),
        Target::Remote(remote) => asyncdex::cache::identity(remote.root()),
    }
}

/// Refuses, before SQLite or the source sees it, a store path that names anything but a
/// regular file (or nothing yet): a directory, a device, a FIFO, or a symbolic link, such
/// as `/dev/stdout` (a link to whatever stdout is: SQLite would write a database into a
/// terminal or pipe and try to put its `-wal` beside the link, in `/dev`). Bad input:
/// exit 2, nothing started, nothing created.
fn check_out(out: &std::path::Path) -> Result<()> {
    match std::fs::symlink_metadata(out) {
        Ok(meta) if !meta.is_file() => Err(asyncdex::Error::invalid_input(format!(
            "cannot keep the store in {}: it is {}, not a regular file (name a file to create or resume)",
            out.display(),
            asyncdex::files::describe(&meta)
        ))),
        _ => Ok(()),
    }
}

fn print_manifest(m: &Manifest, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<20}{:>9}{:>9}{:>9}{:>9}{:>8}{:>10}{:>9}",
        "resource", "expected", "stored", "skipped", "fetched", "failed", "cancelled", "retried"
    )?;
    for r in &m.resources {
        writeln!(
            out,
            "{:<20}{:>9}{:>9}{:>9}{:>9}{:>8}{:>10}{:>9}",
            super::report::escape_field(&r.endpoint),
            r.expected,
            r.stored,
            r.skipped,
            r.fetched,
            r.failed,
            r.cancelled,
            r.retried
        )?;
    }
    Ok(())
}
