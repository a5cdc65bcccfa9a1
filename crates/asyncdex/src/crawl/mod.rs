//! Clone an API into a [`Store`](crate::store::Store): every resource, provably.
//!
//! A crawl is the lesson at full size. It reads each list endpoint for its count and its
//! ids, then fetches every resource through [`asyncdex_engine::gather`]: bounded, retried,
//! rate-limited, one outcome per call. Outcomes are written as they arrive, in batches of
//! whatever is ready (one transaction each) through the offloaded store, so the disk never
//! stalls the calls in flight and a crawl killed at any instant keeps only whole rows.
//!
//! It resumes: ids already stored *intact* (their SHA-256 still matches) are skipped, so a
//! rerun fetches only what is missing or failed. At the end a [`Manifest`] compares, per
//! resource, what the list promised with what the store holds, and names what is missing.
//!
//! With `follow`, links found in bodies (a Pokémon's species, a type's Pokémon...) are
//! fetched too when they point into the chosen resources and were not listed.
//!
//! One client serves every batch (the lists, then each round), and a batch on several
//! cores runs one runtime per core that ends with it: a connection it dialled dies then,
//! while the client still holds it idle. The next batch is not hurt: the client notices
//! such a connection before use and dials again (a request it could not send is sent on
//! a fresh one), so no call fails for it, retries or not (`tests/crawl_batches.rs`). The
//! store is not tied to a runtime at all: its calls run on the offload pool's threads.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex::Result<()> {
//! use asyncdex::crawl::{crawl, Crawl};
//! use asyncdex::http::{HttpOptions, Native};
//! use asyncdex::mirror::{Mirror, MirrorConfig};
//! use asyncdex::store::{AsyncStore, Store};
//!
//! let mirror = Mirror::start(MirrorConfig::default()).await?;
//! let store = AsyncStore::new(Store::open_in_memory()?);
//! let job = Crawl::new(Some(vec!["type".into()]), 16);
//! let transport = Native::new(&HttpOptions::default())?;
//! let manifest = crawl(transport, mirror.base_url(), &store, &job, &mut |_| {}).await?;
//! assert!(manifest.complete());
//! assert_eq!(manifest.resources[0].stored, manifest.resources[0].expected);
//! # mirror.stop().await;
//! # Ok(()) }
//! ```

mod fetch;
mod job;
mod locked;
mod manifest;
#[cfg(feature = "postgres")]
pub mod shared;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;

pub(crate) use fetch::id_of;
use fetch::{fetch_row, read_list, root_endpoints, Listing};
pub use fetch::{MAX_ENDPOINTS, MAX_LIST_IDS, MAX_LIST_PAGES};
pub(crate) use job::quoted;
pub use job::{
    check_endpoint, is_endpoint, Crawl, DEFAULT_RETRIES, ENDPOINT_RULE, MAX_ENDPOINT_NAME,
};
use locked::kept;
pub use manifest::{Manifest, ResourceReport, Tick};

use crate::error::{Error, Result};
use crate::http::Transport;
use crate::store::{is_locked, linked_ids, AsyncStore, Row, ENCOUNTERS};
use asyncdex_engine::gather::{self, gather, with_shared, Order, Outcome};

/// Outcomes written per transaction, at most.
const BATCH: usize = 256;
/// Failures named per resource in the manifest.
const NAMED_FAILURES: usize = 5;
/// Resources one crawl schedules, at most (listed and followed together): bodies that
/// link to ever more new ids stop growing the crawl here, and the manifest says so.
pub const MAX_SCHEDULED: usize = 1_000_000;
/// Most entries one list may have where asyncdex serves or writes one (`serve --from` a
/// folder or a store, `export`): PokeAPI's largest (`machine`) has 2 372, so this leaves
/// a margin of forty-fold; a page of it renders in tens of milliseconds.
pub const MAX_LIST_ENTRIES: usize = 100_000;

/// Crawls the API at `base` into `store` through `transport`; `tick` hears of progress
/// after every batch written. Returns the manifest, complete or not; an error only when
/// the crawl could not run at all (the root unreadable, the store failing).
///
/// A store that another process holds locked longer than a write waits for it
/// ([`crate::store::is_locked`]) stops the crawl as an interruption does: the calls in
/// flight are dropped, the batch that could not be written is counted as not stored
/// (cancelled: a rerun fetches it), what was written before stays, and the manifest is
/// returned, with [`AsyncStore::gave_up`] saying why it stopped.
///
/// Credentials go in the transport's [`HttpOptions::credentials`](crate::http::HttpOptions::credentials),
/// not in `base` ([`crate::source::Target::parse`] splits them off): a list's next page,
/// as the server writes it, is not under a root that carries them. Any URL a crawl's
/// errors name is shown redacted all the same ([`crate::http::redact_url`]).
pub async fn crawl<T: Transport>(
    transport: T,
    base: &str,
    store: &AsyncStore,
    job: &Crawl,
    tick: &mut dyn FnMut(Tick),
) -> Result<Manifest> {
    job.validate()?;
    let base: Arc<str> = base.trim_end_matches('/').into();
    // What every call of the crawl shares: each gets its own clone.
    let shared = (transport.clone(), base.clone());
    let endpoints = choose_endpoints(job, &shared).await?;
    let mut reports: Vec<ResourceReport> = endpoints
        .iter()
        .map(|e| ResourceReport {
            endpoint: e.clone(),
            ..ResourceReport::default()
        })
        .collect();

    // 1. Every list, concurrently; each once (the encounters' ids are the Pokémon list's,
    // read once for both).
    let source = |e: &str| if e == ENCOUNTERS { "pokemon" } else { e }.to_owned();
    let mut sources: Vec<String> = endpoints.iter().map(|e| source(e)).collect();
    sources.sort();
    sources.dedup();
    let call = with_shared(shared.clone(), |(t, b), endpoint: String| async move {
        read_list(&t, &b, &endpoint).await
    });
    let read = gather(sources.clone(), &job.policy, call).await?;
    let read: BTreeMap<&str, (u32, std::result::Result<Listing, String>)> = sources
        .iter()
        .zip(read)
        .map(|(s, o)| {
            (
                s.as_str(),
                (o.attempts, o.result.map_err(|e| e.to_string())),
            )
        })
        .collect();
    let lists = endpoints.iter().map(|e| read[source(e).as_str()].clone());

    // 2. What is missing: listed, and not stored intact.
    let mut known: Vec<HashSet<i32>> = vec![HashSet::new(); endpoints.len()];
    // Not stored intact, yet: what the rounds must fetch (a damaged row stays here until
    // it is fetched again, even though a row with its id is in the store).
    let mut missing: Vec<HashSet<i32>> = vec![HashSet::new(); endpoints.len()];
    let mut todo: Vec<(usize, i32)> = Vec::new();
    // Fetched this run and failed for good (a cancelled call is not in here: it is missing
    // because the run stopped, not because the server failed it).
    let mut failed: Vec<HashSet<i32>> = vec![HashSet::new(); endpoints.len()];
    // Everything ever scheduled: listed ids plus followed links, capped at MAX_SCHEDULED;
    // per resource, how many were left out for the cap.
    let mut scheduled = 0usize;
    let mut over_cap: Vec<u64> = vec![0; endpoints.len()];
    // Another process held the store locked past the wait: nothing more is written.
    let mut stopped = false;
    for (i, (attempts, result)) in lists.enumerate() {
        let report = &mut reports[i];
        report.retried += u64::from(attempts.saturating_sub(1));
        let listing = match result {
            Ok(listing) => listing,
            Err(e) => {
                report.list_error = Some(e);
                continue;
            }
        };
        let endpoint = endpoints[i].clone();
        let count = listing.count;
        if !stopped {
            let written = store.run(move |s| s.set_list_count(&endpoint, count)).await;
            stopped = !kept(store, written, 0)?;
        }
        let endpoint = endpoints[i].clone();
        let valid = store.run(move |s| s.valid_ids(&endpoint)).await?;
        report.expected = count;
        report.claimed = listing.claimed;
        if let Some(why) = &listing.cut {
            report
                .failures
                .push(format!("only {count} listed entries were read: {why}"));
        }
        if let Some(claimed) = listing.claimed.filter(|&claimed| claimed > count) {
            // Not taken as expected (a claim of 10^12 is no plan), but not complete either:
            // a list cut short names fewer than it counts, and nothing else says so.
            report.failures.push(format!(
                "its list counts {claimed} entries but names {count}: the rest cannot be fetched"
            ));
        }
        let bad_id = listing.unusable - listing.no_url;
        if bad_id > 0 {
            report.failures.push(format!(
                "{bad_id} listed entries have no usable id (their url is not one of this endpoint's, ending in a number that fits)"
            ));
        }
        if listing.no_url > 0 {
            report.failures.push(format!(
                "{} listed entries have no url (null, missing or not a string)",
                listing.no_url
            ));
        }
        for id in listing.ids {
            if !known[i].insert(id) {
                continue;
            }
            if valid.contains(&id) {
                report.skipped += 1;
            } else if scheduled >= job.max_scheduled {
                known[i].remove(&id);
                over_cap[i] += 1;
            } else {
                scheduled += 1;
                missing[i].insert(id);
                todo.push((i, id));
            }
        }
    }

    // 3. Fetch in rounds: the missing ones, then (with follow) what their bodies link to.
    let index: BTreeMap<&str, usize> = endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| (e.as_str(), i))
        .collect();
    let names: Arc<[String]> = endpoints.clone().into();
    let mut progress = Tick::default();
    while !todo.is_empty() && !job.policy.cancel.is_cancelled() && !stopped {
        progress.total += todo.len();
        let round = std::mem::take(&mut todo);
        let call = with_shared(
            (shared.clone(), names.clone()),
            |((t, b), names), (i, id): (usize, i32)| async move {
                fetch_row(&t, &b, &names[i], id).await
            },
        );
        let outcomes = gather::stream(round.clone(), &job.policy, Order::Completed, call)?;
        let mut chunks = outcomes.ready_chunks(BATCH);
        while let Some(chunk) = chunks.next().await {
            let mut rows = Vec::new();
            let mut written = Vec::new();
            let mut failures = Vec::new();
            for outcome in chunk {
                let (i, id) = round[outcome.index];
                let report = &mut reports[i];
                report.retried += u64::from(outcome.attempts.saturating_sub(1));
                match outcome_row(outcome) {
                    Ok(row) => {
                        report.fetched += 1;
                        missing[i].remove(&id);
                        if job.follow {
                            for (endpoint, linked) in linked_ids(&row.body) {
                                let Some(&j) = index.get(endpoint) else {
                                    continue;
                                };
                                if known[j].contains(&linked) {
                                    continue;
                                }
                                if scheduled >= job.max_scheduled {
                                    over_cap[j] += 1;
                                    continue;
                                }
                                scheduled += 1;
                                known[j].insert(linked);
                                missing[j].insert(linked);
                                todo.push((j, linked));
                            }
                        }
                        written.push((i, id));
                        rows.push(row);
                    }
                    // Cancelled (Ctrl-C) is not the server's failure: missing, not named.
                    Err((e, _)) if e.kind() == crate::ErrorKind::Cancelled => {}
                    Err((e, attempts)) => {
                        progress.failed += 1;
                        failed[i].insert(id);
                        if report.failures.len() < NAMED_FAILURES {
                            report.failures.push(format!("{id}: {e}"));
                        }
                        failures.push((names[i].clone(), id, e.to_string(), attempts));
                    }
                }
            }
            progress.done += rows.len() + failures.len();
            let put = store
                .run(move |s| {
                    s.put(&rows)?;
                    for (endpoint, id, error, attempts) in failures {
                        s.record_failure(&endpoint, id, &error, attempts)?;
                    }
                    Ok(())
                })
                .await;
            let mut unstored = written.len();
            if put.is_err() {
                // Calls that finished while the write waited (up to the store's busy wait)
                // were fetched too, and will not be stored either: counted as they were,
                // the fetched among the unstored, the failed as failed.
                while let Some(Some(chunk)) = futures::FutureExt::now_or_never(chunks.next()) {
                    for outcome in chunk {
                        let (i, id) = round[outcome.index];
                        match outcome_row(outcome) {
                            Ok(_) => unstored += 1,
                            Err((e, _)) if e.kind() == crate::ErrorKind::Cancelled => {}
                            Err(_) => {
                                progress.failed += 1;
                                failed[i].insert(id);
                            }
                        }
                    }
                }
            }
            if !kept(store, put, unstored)? {
                // Fetched, not stored: missing still, never counted as stored. Dropping
                // the stream below stops the calls in flight.
                for (i, id) in written {
                    missing[i].insert(id);
                    reports[i].fetched -= 1;
                }
                stopped = true;
                break;
            }
            tick(progress);
        }
    }

    // 4. The manifest: what the store holds now, against what was expected. Rows found
    // intact at the start were hashed then, rows written since were hashed as they were
    // written, and a damaged row not fetched again is still missing: being there is
    // enough for the rest.
    for (i, report) in reports.iter_mut().enumerate() {
        if over_cap[i] > 0 {
            report.failures.push(format!(
                "{} resources not fetched: the crawl reached its cap of {} resources",
                over_cap[i], job.max_scheduled
            ));
        }
        if report.list_error.is_some() {
            continue;
        }
        let endpoint = endpoints[i].clone();
        let stored: HashSet<i32> = match store.run(move |s| s.entries(&endpoint)).await {
            Ok(entries) => entries.into_iter().map(|(id, _)| id).collect(),
            // Locked even to readers: what this run knows it holds.
            Err(e) if stopped && is_locked(&e) => {
                known[i].difference(&missing[i]).copied().collect()
            }
            Err(e) => return Err(e),
        };
        report.expected = report.expected.max(known[i].len() as u64);
        report.stored = known[i]
            .iter()
            .filter(|id| stored.contains(id) && !missing[i].contains(id))
            .count() as u64;
        let missing = known[i].len() as u64 - report.stored;
        report.failed = (failed[i].len() as u64).min(missing);
        report.cancelled = missing - report.failed;
    }
    Ok(Manifest { resources: reports })
}

/// The endpoints `job` names, each once, or every list the API's root names.
async fn choose_endpoints<T: Transport>(
    job: &Crawl,
    shared: &(T, Arc<str>),
) -> Result<Vec<String>> {
    Ok(match &job.resources {
        // A resource named twice is crawled, counted and reported once.
        Some(list) => {
            let mut seen = std::collections::HashSet::new();
            list.iter()
                .filter(|r| seen.insert(r.as_str()))
                .cloned()
                .collect()
        }
        None => {
            // One call, with the same retries as any other.
            let root = gather(
                vec![()],
                &job.policy,
                with_shared(shared.clone(), |(t, b), ()| async move {
                    root_endpoints(&t, &b).await
                }),
            );
            let outcome = root.await?.pop().expect("one outcome per input");
            outcome.result?
        }
    })
}

fn outcome_row(outcome: Outcome<Row, Error>) -> std::result::Result<Row, (Error, u32)> {
    let attempts = outcome.attempts;
    outcome.result.map_err(|e| (Error::from(e), attempts))
}
