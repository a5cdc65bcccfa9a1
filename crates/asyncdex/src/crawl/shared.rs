//! A crawl shared by any number of workers through one PostgreSQL queue
//! ([`crate::pg::queue`]): processes started at any time, on one machine or many, finish
//! the crawl together, each resource stored once, and a worker killed with `kill -9`
//! loses nothing.
//!
//! A worker:
//!
//! 1. chooses the endpoints as any crawl does (the ones named, or the API root's);
//! 2. seeds the queue from their lists, unless another worker already did (the seeding
//!    lock makes it exactly one of them); a new run first queues again what failed;
//! 3. runs *lanes* of about four calls each (at most 16), each leasing a batch and
//!    fetching it through [`gather()`]: while one lane waits for its batch's slowest
//!    call (a retry's backoff), the others keep the connections busy, and each leases
//!    its next batch while it fetches this one, so no lane waits for the database
//!    between batches. Outcomes are settled as
//!    they arrive, a chunk per transaction: bodies written and leases released together;
//! 4. renews its leases a third of a lease apart, so only a worker that stopped (killed,
//!    frozen, cut off) loses them;
//! 5. stops when nothing is left and nothing is leased: while another worker still holds
//!    leases it waits, and takes them over if their deadline passes.
//!
//! The rate, when there is one, is the whole crawl's ([`SharedRate`]), and applies to
//! every attempt, retries included; so does the timeout, which starts once the request
//! may start. Calls run on the worker's own runtime (one core: against an API that takes
//! milliseconds to answer, one thread has time to spare).
//!
//! Every database call of a worker rides out an outage
//! ([`crate::pg::outage`]): a server restarted mid-crawl costs a pause. One that stays
//! away ends the worker as an interrupt does: its manifest (the queue's counts as last
//! seen), and the store says why ([`PgStore::gave_up`]). A server that stops answering
//! without closing is such an outage once its silence passes a deadline
//! ([`crate::pg::silence`]); a signal during an outage stops the worker as an interrupted
//! crawl ([`PgStore::interrupted`]). A body larger than a PostgreSQL
//! message may carry ([`crate::pg::wire::MAX_BODY`]) is a failure of its resource: it
//! could be stored but never read back.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::fetch::{fetch_row, read_list};
use super::{choose_endpoints, Crawl, Manifest, ResourceReport, Tick, BATCH, NAMED_FAILURES};
use crate::error::{Error, ErrorKind, Result};
use crate::http::Transport;
use crate::pg::outage::ride_out;
use crate::pg::queue::{Counts, Queue, SeedList, Settled};
use crate::pg::rate::SharedRate;
use crate::pg::wire::MAX_BODY;
use crate::pg::PgStore;
use crate::store::linked_ids;
use asyncdex_engine::gather::{self, gather, with_shared, Order};

/// How long a worker with nothing to lease waits before looking again, while other
/// workers still hold leases.
const POLL: Duration = Duration::from_millis(200);

/// Calls per lane, about: a lane waits for the slowest call of its batch (a retry's
/// backoff, under faults), so small lanes keep the rest of the concurrency busy.
const LANE: usize = 4;
/// Lanes per worker, at most (each leases and settles on its own).
const MAX_LANES: usize = 16;

/// How a worker shares the crawl.
#[derive(Debug, Clone)]
pub struct Sharing {
    /// How long a lease lasts unless renewed: how long a dead worker's batch waits.
    pub lease: Duration,
    /// Requests per second for the whole crawl, every worker together.
    pub rate: Option<f64>,
}

impl Default for Sharing {
    fn default() -> Self {
        Sharing {
            lease: crate::pg::queue::DEFAULT_LEASE,
            rate: None,
        }
    }
}

/// What one worker did, per endpoint.
#[derive(Default)]
struct Done {
    fetched: BTreeMap<String, u64>,
    retried: BTreeMap<String, u64>,
}

/// Runs one worker of the crawl of `base` shared through `store`'s queue; `tick` hears
/// where the whole crawl stands after each chunk settled. Returns the manifest of the
/// whole crawl (every worker's work) when nothing is left or leased, or when cancelled.
pub async fn crawl_shared<T: Transport>(
    transport: T,
    base: &str,
    store: &PgStore,
    job: &Crawl,
    sharing: &Sharing,
    tick: &mut dyn FnMut(Tick),
) -> Result<Manifest> {
    job.validate()?;
    let base: Arc<str> = base.trim_end_matches('/').into();
    let shared = (transport.clone(), base.clone());
    let endpoints = choose_endpoints(job, &shared).await?;
    let queue = Queue::new(store.clone(), sharing.lease);

    // 1. Seed, once, whoever comes first. The lists are read once and kept, so a seed cut
    // short by an outage is made again without reading them again.
    let cancel = job.policy.cancel.clone();
    let cancel = &cancel;
    type Read = std::result::Result<SeedList, (String, String)>;
    let lists: RefCell<BTreeMap<String, Read>> = RefCell::default();
    let (lists, api) = (&lists, &shared);
    let read = move |todo: Vec<String>| async move {
        let missing: Vec<String> = {
            let lists = lists.borrow();
            todo.iter()
                .filter(|e| !lists.contains_key(*e))
                .cloned()
                .collect()
        };
        let call = with_shared(api.clone(), |(t, b), endpoint: String| async move {
            read_list(&t, &b, &endpoint).await
        });
        let read = gather(missing.clone(), &job.policy, call).await?;
        let mut lists = lists.borrow_mut();
        for (endpoint, o) in missing.into_iter().zip(read) {
            let list = match o.result {
                Ok(l) => Ok(SeedList {
                    endpoint: endpoint.clone(),
                    count: l.count,
                    ids: l.ids,
                    unusable: l.unusable,
                }),
                Err(e) => Err((endpoint.clone(), Error::from(e).to_string())),
            };
            lists.insert(endpoint, list);
        }
        Ok(todo.iter().map(|e| lists[e].clone()).collect::<Vec<Read>>())
    };
    let seeded = ride_out(store, cancel, || queue.seed(&endpoints, read)).await?;
    let list_errors: BTreeMap<String, String> =
        seeded.into_iter().filter_map(|r| r.err()).collect();
    ride_out(store, cancel, || queue.retry_failed(&endpoints)).await?;
    // The queue as last seen: the manifest when the server goes away for good.
    let last_counts =
        RefCell::new(ride_out(store, cancel, || queue.counts(Some(&endpoints))).await?);

    // 2. Renew this worker's leases while it works.
    let renewing = {
        let queue = queue.clone();
        let every = sharing.lease / 3;
        tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let _ = queue.renew().await;
            }
        }))
    };

    // 3. The lanes.
    let rate = match sharing.rate {
        Some(r) => Some(Arc::new(SharedRate::new(store.clone(), r)?)),
        None => None,
    };
    let lanes = (job.policy.concurrency / LANE).clamp(1, MAX_LANES);
    let mut policy = job.policy.clone();
    policy.concurrency = job.policy.concurrency.div_ceil(lanes);
    let timeout = policy.timeout.take();
    policy.rate = None;
    // Every call on this runtime: a batch's extra runtimes (`Policy::cores`) end with the
    // batch, and would take the connections they opened with them, while a worker leases
    // many short batches through one client.
    policy.cores = 1;
    let names: Arc<HashSet<String>> = Arc::new(endpoints.iter().cloned().collect());
    let done = RefCell::new(Done::default());
    let tick = RefCell::new(tick);
    let last_tick = RefCell::new(Instant::now() - Duration::from_secs(1));
    let lane = || async {
        let mut seen_links: HashSet<(String, i32)> = HashSet::new();
        // The batch leased while the last one was fetched: no wait between batches.
        let mut next: Option<Vec<(String, i32)>> = None;
        while !policy.cancel.is_cancelled() {
            let batch = match next.take() {
                Some(batch) => batch,
                None => {
                    ride_out(store, cancel, || {
                        queue.lease(&endpoints, policy.concurrency)
                    })
                    .await?
                }
            };
            if batch.is_empty() {
                let counts = ride_out(store, cancel, || queue.counts(Some(&endpoints))).await?;
                let open: u64 = counts.iter().map(|c| c.left + c.leased).sum();
                *last_counts.borrow_mut() = counts;
                if open == 0 {
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = policy.cancel.cancelled() => {}
                }
                continue;
            }
            let call = with_shared(
                (shared.clone(), rate.clone(), store.clone(), cancel.clone()),
                move |((t, b), rate, store, cancel), (endpoint, id): (String, i32)| async move {
                    if let Some(rate) = &rate {
                        ride_out(&store, &cancel, || rate.acquire()).await?;
                    }
                    let fetch = fetch_row(&t, &b, &endpoint, id);
                    match timeout {
                        None => fetch.await,
                        Some(limit) => {
                            tokio::time::timeout(limit, fetch)
                                .await
                                .unwrap_or_else(|_| {
                                    Err(Error::new(
                                        ErrorKind::Timeout,
                                        format!("{endpoint} {id}: no answer within {limit:?}"),
                                    ))
                                })
                        }
                    }
                },
            );
            let outcomes = gather::stream(batch.clone(), &policy, Order::Completed, call)?;
            let mut chunks = outcomes.ready_chunks(BATCH);
            let mut prefetch = std::pin::pin!(ride_out(store, cancel, || queue
                .lease(&endpoints, policy.concurrency)));
            let mut prefetched = None;
            loop {
                let chunk = tokio::select! {
                    chunk = chunks.next() => chunk,
                    got = &mut prefetch, if prefetched.is_none() => {
                        prefetched = Some(got?);
                        continue;
                    }
                };
                let Some(chunk) = chunk else { break };
                let mut settle = Vec::with_capacity(chunk.len());
                let mut found = Vec::new();
                for outcome in chunk {
                    let (endpoint, id) = batch[outcome.index].clone();
                    let attempts = outcome.attempts;
                    {
                        let mut d = done.borrow_mut();
                        *d.retried.entry(endpoint.clone()).or_default() +=
                            u64::from(attempts.saturating_sub(1));
                    }
                    match outcome.result.map_err(Error::from) {
                        Ok(row) if row.body.len() > MAX_BODY => {
                            let why = format!(
                                "its body of {} bytes is more than the {} MiB a PostgreSQL store keeps",
                                row.body.len(),
                                MAX_BODY >> 20
                            );
                            settle.push(Settled::Failed(endpoint, id, why, attempts));
                        }
                        Ok(row) => {
                            if job.follow {
                                for (e, linked) in linked_ids(&row.body) {
                                    if names.contains(e)
                                        && seen_links.insert((e.to_owned(), linked))
                                    {
                                        found.push((e.to_owned(), linked));
                                    }
                                }
                            }
                            settle.push(Settled::Done(row, attempts));
                        }
                        Err(e) if e.kind() == ErrorKind::Cancelled => {
                            settle.push(Settled::Released(endpoint, id));
                        }
                        Err(e) => {
                            settle.push(Settled::Failed(endpoint, id, e.to_string(), attempts));
                        }
                    }
                }
                let mut fetched: Vec<String> = Vec::new();
                for s in &settle {
                    if let Settled::Done(row, _) = s {
                        fetched.push(row.endpoint.clone());
                    }
                }
                ride_out(store, cancel, || {
                    queue.settle(settle.clone(), &found, job.max_scheduled)
                })
                .await?;
                {
                    let mut d = done.borrow_mut();
                    for e in fetched {
                        *d.fetched.entry(e).or_default() += 1;
                    }
                }
                if last_tick.borrow().elapsed() >= Duration::from_secs(1) {
                    *last_tick.borrow_mut() = Instant::now();
                    let counts = ride_out(store, cancel, || queue.counts(Some(&endpoints))).await?;
                    let sum = |f: fn(&Counts) -> u64| counts.iter().map(f).sum::<u64>() as usize;
                    let now = Tick {
                        done: sum(|c| c.done + c.failed),
                        total: sum(|c| c.queued),
                        failed: sum(|c| c.failed),
                    };
                    (tick.borrow_mut())(now);
                    *last_counts.borrow_mut() = counts;
                }
            }
            next = Some(match prefetched {
                Some(batch) => batch,
                None => prefetch.await?,
            });
        }
        if let Some(batch) = next {
            // Leased ahead and never started (the worker is stopping): back to the queue.
            let back: Vec<Settled> = batch
                .into_iter()
                .map(|(e, id)| Settled::Released(e, id))
                .collect();
            ride_out(store, cancel, || {
                queue.settle(back.clone(), &[], job.max_scheduled)
            })
            .await?;
        }
        Ok::<(), Error>(())
    };
    let ran = futures::future::try_join_all((0..lanes).map(|_| lane())).await;
    drop(renewing);
    // Whatever is still leased to this worker (a lane ended the others mid-batch) goes
    // back now, within seconds, rather than waiting a lease for nobody (best effort: what
    // is not handed back expires as before).
    let _ = queue.hand_back().await;
    match ran {
        Err(e) if store.gave_up().is_none() => return Err(e),
        _ => {}
    }

    // 4. The manifest of the whole crawl, as the queue has it now; when the server stayed
    // away, as it was last seen (like an interrupt's).
    let now = match store.gave_up() {
        Some(_) => None,
        None => Some(ride_out(store, cancel, || queue.counts(Some(&endpoints))).await),
    };
    let (away, counts) = match now {
        Some(Ok(counts)) => (false, counts),
        Some(Err(e)) if store.gave_up().is_none() => return Err(e),
        _ => (true, last_counts.into_inner()),
    };
    let counts: BTreeMap<String, Counts> = counts
        .into_iter()
        .map(|c| (c.endpoint.clone(), c))
        .collect();
    let done = done.into_inner();
    let mut resources = Vec::with_capacity(endpoints.len());
    for endpoint in &endpoints {
        let mut report = ResourceReport {
            endpoint: endpoint.clone(),
            retried: done.retried.get(endpoint).copied().unwrap_or(0),
            ..ResourceReport::default()
        };
        let Some(c) = counts.get(endpoint) else {
            report.list_error = Some(
                list_errors
                    .get(endpoint)
                    .cloned()
                    .unwrap_or_else(|| "its list was not read".into()),
            );
            resources.push(report);
            continue;
        };
        report.expected = c.listed.max(c.queued);
        report.stored = c.done;
        report.fetched = done.fetched.get(endpoint).copied().unwrap_or(0);
        report.skipped = c.done.saturating_sub(report.fetched);
        report.failed = c.failed;
        report.cancelled = c.left + c.leased;
        if c.unusable > 0 {
            report.failures.push(format!(
                "{} listed entries have no usable id (their url is not one of this endpoint's, ending in a number that fits)",
                c.unusable
            ));
        }
        if c.failed > 0 && !away {
            let named = ride_out(store, cancel, || queue.failures(endpoint, NAMED_FAILURES));
            match named.await {
                Ok(named) => report.failures.extend(named),
                Err(_) if store.gave_up().is_some() => {}
                Err(e) => return Err(e),
            }
        }
        resources.push(report);
    }
    Ok(Manifest { resources })
}
