//! Clone an API into a [`Store`](crate::store::Store): every resource, provably.
//!
//! A crawl is the lesson at full size. It reads each list endpoint for its count and its
//! ids, then fetches every resource through [`gather`](crate::gather): bounded, retried,
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

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::gather::{self, gather, Order, Outcome, Policy};
use crate::http::Transport;
use crate::pokeapi::status_error;
use crate::store::{linked_ids, relativize, AsyncStore, Row};

/// Largest page asked of a list endpoint (PokeAPI answers all of a list in one page).
const PAGE: usize = 100_000;
/// Outcomes written per transaction, at most.
const BATCH: usize = 256;
/// Failures named per resource in the manifest.
const NAMED_FAILURES: usize = 5;

/// What to crawl and how hard to push.
#[derive(Debug, Clone)]
pub struct Crawl {
    /// The endpoints (`pokemon`, `type`...); `None`: every list the API's root names.
    pub resources: Option<Vec<String>>,
    /// Also fetch resources that bodies link to, within the chosen endpoints.
    pub follow: bool,
    /// Concurrency, timeouts, retries, rate, cancellation.
    pub policy: Policy,
}

impl Crawl {
    /// A crawl of `resources` with `concurrency` calls in flight, 5 retries per call.
    pub fn new(resources: Option<Vec<String>>, concurrency: usize) -> Crawl {
        let mut policy = Policy::new(concurrency);
        policy.retries = 5;
        Crawl {
            resources,
            follow: false,
            policy,
        }
    }

    /// Rejects what can never work: no resources, a name that is not an endpoint.
    pub fn validate(&self) -> Result<()> {
        self.policy.check()?;
        if let Some(list) = &self.resources {
            if list.is_empty() {
                return Err(Error::invalid_input("--resources names no resource"));
            }
            for r in list {
                check_endpoint(r)?;
            }
        }
        Ok(())
    }
}

/// Checks an endpoint name: lowercase letters, digits and dashes (`pokemon-species`).
pub fn check_endpoint(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(name)
    } else {
        Err(Error::invalid_input(format!(
            "invalid resource {name:?}: expected an endpoint name such as pokemon or pokemon-species"
        )))
    }
}

/// How one resource's crawl ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResourceReport {
    /// The endpoint.
    pub endpoint: String,
    /// How many its list says there are (plus any found by following links).
    pub expected: u64,
    /// How many the store now holds intact.
    pub stored: u64,
    /// Already stored intact before this run: skipped.
    pub skipped: u64,
    /// Fetched and stored by this run.
    pub fetched: u64,
    /// Not stored: their last fetch failed (or was cancelled).
    pub failed: u64,
    /// Retries this run made.
    pub retried: u64,
    /// Why the list itself could not be read, if it could not.
    pub list_error: Option<String>,
    /// The first few failures: `id: reason`.
    pub failures: Vec<String>,
}

impl ResourceReport {
    /// Everything the list promised is stored.
    pub fn complete(&self) -> bool {
        self.list_error.is_none() && self.stored >= self.expected && self.failed == 0
    }
}

/// The end of a crawl: a report per resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// One report per endpoint, in the order crawled.
    pub resources: Vec<ResourceReport>,
}

impl Manifest {
    /// Every resource of every list is stored.
    pub fn complete(&self) -> bool {
        self.resources.iter().all(ResourceReport::complete)
    }

    /// Sums over every resource: (expected, stored).
    pub fn totals(&self) -> (u64, u64) {
        self.resources
            .iter()
            .fold((0, 0), |(e, s), r| (e + r.expected, s + r.stored))
    }
}

/// Where a crawl stands, after each batch written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Calls finished so far this run.
    pub done: usize,
    /// Calls this run will make (grows when links are followed).
    pub total: usize,
    /// Calls that failed so far.
    pub failed: usize,
}

/// A list entry: its `url` ends with the id (unnamed resources have no `name`).
#[derive(Deserialize)]
struct Entry {
    url: String,
}

#[derive(Deserialize)]
struct ListPage {
    count: u64,
    next: Option<String>,
    results: Vec<Entry>,
}

/// What a list says: its count and every id in it.
#[derive(Debug, Clone, Default)]
struct Listing {
    count: u64,
    ids: Vec<u32>,
}

#[derive(Deserialize)]
struct IdName<'a> {
    id: u32,
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
}

/// The id at the end of a resource URL (`.../pokemon/25/` → 25).
pub(crate) fn id_of(url: &str) -> Option<u32> {
    url.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

async fn get_ok<T: Transport>(transport: &T, url: &str, what: &str) -> Result<bytes::Bytes> {
    let resp = transport.get(url).await?;
    if resp.status == 200 {
        Ok(resp.body)
    } else {
        Err(status_error(&resp, &what, url))
    }
}

fn decode_error(what: impl std::fmt::Display, url: &str, e: serde_json::Error) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("could not decode {what} from {url}: {e}"),
    )
    .with_url(url)
}

async fn read_list<T: Transport>(transport: &T, base: &str, endpoint: &str) -> Result<Listing> {
    let mut url = format!("{base}/{endpoint}/?limit={PAGE}&offset=0");
    let mut listing = Listing::default();
    loop {
        let what = format!("the {endpoint} list");
        let body = get_ok(transport, &url, &what).await.map_err(|e| {
            if matches!(e.status(), Some(400 | 404)) {
                Error::new(
                    ErrorKind::NotFound,
                    format!("the API has no {endpoint:?} list ({e})"),
                )
                .with_url(&url)
            } else {
                e
            }
        })?;
        let page: ListPage =
            serde_json::from_slice(&body).map_err(|e| decode_error(&what, &url, e))?;
        listing.count = page.count;
        listing
            .ids
            .extend(page.results.iter().filter_map(|e| id_of(&e.url)));
        match page.next {
            Some(next) if listing.ids.len() < page.count as usize => url = next,
            _ => return Ok(listing),
        }
    }
}

/// Every endpoint the API's root names (`GET {base}/`).
async fn root_endpoints<T: Transport>(transport: &T, base: &str) -> Result<Vec<String>> {
    let url = format!("{base}/");
    let body = get_ok(transport, &url, "the API root").await?;
    let root: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&body).map_err(|e| decode_error("the API root", &url, e))?;
    Ok(root
        .into_keys()
        .filter(|k| check_endpoint(k).is_ok())
        .collect())
}

/// Fetches one resource and makes it a row (links relative).
async fn fetch_row<T: Transport>(
    transport: &T,
    base: &str,
    endpoint: &str,
    id: u32,
) -> Result<Row> {
    let url = format!("{base}/{endpoint}/{id}/");
    let what = format!("{endpoint} {id}");
    let body = get_ok(transport, &url, &what).await?;
    let head: IdName = serde_json::from_slice(&body).map_err(|e| decode_error(&what, &url, e))?;
    if head.id != id {
        return Err(Error::new(
            ErrorKind::Decode,
            format!("asked {url} for id {id}, got id {}", head.id),
        )
        .with_url(&url));
    }
    let name = head.name.map(|n| n.into_owned());
    Ok(Row::new(endpoint, id, name, relativize(&body, base)))
}

/// Crawls the API at `base` into `store` through `transport`; `tick` hears of progress
/// after every batch written. Returns the manifest, complete or not; an error only when
/// the crawl could not run at all (the root unreadable, the store failing).
pub async fn crawl<T: Transport>(
    transport: T,
    base: &str,
    store: &AsyncStore,
    job: &Crawl,
    tick: &mut dyn FnMut(Tick),
) -> Result<Manifest> {
    job.validate()?;
    let base: Arc<str> = base.trim_end_matches('/').into();
    let endpoints = match &job.resources {
        Some(list) => list.clone(),
        None => {
            // One call, with the same retries as any other.
            let (t, b) = (transport.clone(), base.clone());
            let root = gather(vec![()], &job.policy, move |()| {
                let (t, b) = (t.clone(), b.clone());
                async move { root_endpoints(&t, &b).await }
            });
            let outcome = root.await?.pop().expect("one outcome per input");
            outcome.result?
        }
    };
    let mut reports: Vec<ResourceReport> = endpoints
        .iter()
        .map(|e| ResourceReport {
            endpoint: e.clone(),
            ..ResourceReport::default()
        })
        .collect();

    // 1. Every list, concurrently.
    let lists = gather(endpoints.clone(), &job.policy, {
        let (transport, base) = (transport.clone(), base.clone());
        move |endpoint: String| {
            let (transport, base) = (transport.clone(), base.clone());
            async move { read_list(&transport, &base, &endpoint).await }
        }
    })
    .await?;

    // 2. What is missing: listed, and not stored intact.
    let mut known: Vec<HashSet<u32>> = vec![HashSet::new(); endpoints.len()];
    let mut todo: Vec<(usize, u32)> = Vec::new();
    for (i, outcome) in lists.into_iter().enumerate() {
        let report = &mut reports[i];
        report.retried += u64::from(outcome.attempts.saturating_sub(1));
        let listing = match outcome.result {
            Ok(listing) => listing,
            Err(e) => {
                report.list_error = Some(e.to_string());
                continue;
            }
        };
        let endpoint = endpoints[i].clone();
        let count = listing.count;
        store
            .run(move |s| s.set_list_count(&endpoint, count))
            .await?;
        let endpoint = endpoints[i].clone();
        let valid = store.run(move |s| s.valid_ids(&endpoint)).await?;
        report.expected = count;
        for id in listing.ids {
            if !known[i].insert(id) {
                continue;
            }
            if valid.contains(&id) {
                report.skipped += 1;
            } else {
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
    while !todo.is_empty() && !job.policy.cancel.is_cancelled() {
        progress.total += todo.len();
        let round = std::mem::take(&mut todo);
        let call = {
            let (transport, base, names) = (transport.clone(), base.clone(), names.clone());
            move |(i, id): (usize, u32)| {
                let (transport, base, names) = (transport.clone(), base.clone(), names.clone());
                async move { fetch_row(&transport, &base, &names[i], id).await }
            }
        };
        let outcomes = gather::stream(round.clone(), &job.policy, Order::Completed, call)?;
        let mut chunks = outcomes.ready_chunks(BATCH);
        while let Some(chunk) = chunks.next().await {
            let mut rows = Vec::new();
            let mut failures = Vec::new();
            for outcome in chunk {
                let (i, id) = round[outcome.index];
                let report = &mut reports[i];
                report.retried += u64::from(outcome.attempts.saturating_sub(1));
                match outcome_row(outcome) {
                    Ok(row) => {
                        report.fetched += 1;
                        if job.follow {
                            for (endpoint, linked) in linked_ids(&row.body) {
                                if let Some(&j) = index.get(endpoint) {
                                    if known[j].insert(linked) {
                                        todo.push((j, linked));
                                    }
                                }
                            }
                        }
                        rows.push(row);
                    }
                    Err((e, attempts)) => {
                        progress.failed += 1;
                        if report.failures.len() < NAMED_FAILURES {
                            report.failures.push(format!("{id}: {e}"));
                        }
                        failures.push((names[i].clone(), id, e.to_string(), attempts));
                    }
                }
            }
            progress.done += rows.len() + failures.len();
            store
                .run(move |s| {
                    s.put(&rows)?;
                    for (endpoint, id, error, attempts) in failures {
                        s.record_failure(&endpoint, id, &error, attempts)?;
                    }
                    Ok(())
                })
                .await?;
            tick(progress);
        }
    }

    // 4. The manifest: what the store holds now, against what was expected.
    for (i, report) in reports.iter_mut().enumerate() {
        if report.list_error.is_some() {
            continue;
        }
        let endpoint = endpoints[i].clone();
        let valid = store.run(move |s| s.valid_ids(&endpoint)).await?;
        report.expected = report.expected.max(known[i].len() as u64);
        report.stored = known[i].iter().filter(|id| valid.contains(id)).count() as u64;
        report.failed = known[i].len() as u64 - report.stored;
    }
    Ok(Manifest { resources: reports })
}

fn outcome_row(outcome: Outcome<Row>) -> std::result::Result<Row, (Error, u32)> {
    let attempts = outcome.attempts;
    outcome.result.map_err(|e| (e, attempts))
}
