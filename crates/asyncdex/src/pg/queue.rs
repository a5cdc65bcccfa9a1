//! The shared work queue: one row per resource to fetch, in one of four states.
//!
//! ```text
//!  seed ──► todo ──lease──► leased ──settle──► done
//!            ▲                │  └────settle──► failed ──(a new run)──► todo
//!            └──lease expired─┘  (or released, or handed back: Ctrl-C)
//! ```
//!
//! - **Seeding** happens once per endpoint, whoever comes first: under an advisory lock a
//!   worker finds the endpoints with no list count yet, reads their lists, and inserts
//!   their ids (`ON CONFLICT DO NOTHING`) with the count, in one transaction. Workers that
//!   arrive meanwhile wait for the lock, then find the lists there and join. They wait
//!   by asking again every 100 ms (`pg_try_advisory_xact_lock`), not by blocking in the
//!   server: a blocked statement is silent for as long as the lists take to read, which
//!   looks like a server that stopped answering ([`super::silence`]).
//! - **Leasing** takes up to N open rows with `SELECT … FOR UPDATE SKIP LOCKED` (two
//!   workers never wait for each other, never take the same row), marking them with the
//!   worker's name and a deadline. The worker renews its leases while it works; a worker
//!   killed with `kill -9` stops renewing, its deadline passes, and the next lease takes
//!   its rows again. Nothing is lost, and nothing is waited for longer than a lease.
//! - **Settling** a chunk of outcomes is one transaction: the rows still leased by this
//!   worker are marked done (and their bodies written), failed, or released. A row whose
//!   lease was taken over meanwhile is not written by the late worker: each resource is
//!   stored by exactly one of them. Settles commit without waiting for the disk
//!   (`synchronous_commit = off`, this transaction only): a crash of the server forgets
//!   a row and its `done` together, and the lease simply expires again.
//! - **Renewing** extends only the leases the worker knows it holds (what its leases
//!   returned, less what it settled): a lease whose answer was lost with the connection
//!   ([`super::outage`]) is never renewed, so it expires and is leased again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::types::ToSql;

pub use super::counts::{counts, Counts};
use super::{rows::put_rows, PgStore};
use crate::error::Result;
use crate::store::{now_ms, Row};

/// How long a lease lasts when nobody renews it, by default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// The advisory lock held while seeding (`"seed"` in ASCII).
const SEED_LOCK: i64 = 0x7365_6564;
/// How often a worker waiting for the seeding lock asks for it again.
const SEED_POLL: Duration = Duration::from_millis(100);

/// A list read for seeding: its count and ids.
#[derive(Debug, Clone, Default)]
pub struct SeedList {
    /// The endpoint.
    pub endpoint: String,
    /// The count the list reported.
    pub count: u64,
    /// Its ids.
    pub ids: Vec<i32>,
    /// Entries with no usable id.
    pub unusable: u64,
}

/// One fetch's outcome, to settle.
#[derive(Debug, Clone)]
pub enum Settled {
    /// Fetched: its row, and how many attempts it took.
    Done(Row, u32),
    /// Failed for good: the endpoint, the id, why, and the attempts.
    Failed(String, i32, String, u32),
    /// Not finished (the worker is stopping): back to the queue.
    Released(String, i32),
}

/// A worker's handle on the queue: the store, its name, how long its leases last.
#[derive(Debug, Clone)]
pub struct Queue {
    pub(super) store: PgStore,
    pub(super) owner: String,
    lease: Duration,
    /// The rows this worker leased and has not settled yet: what [`Queue::renew`] renews.
    pub(super) held: Arc<Mutex<HashSet<(String, i32)>>>,
}

fn texts(v: &[(String, i32)]) -> (Vec<&str>, Vec<i32>) {
    v.iter().map(|(e, id)| (e.as_str(), *id)).unzip()
}

impl Queue {
    /// A worker on `store`'s queue, named after this host and process, whose leases last
    /// `lease` unless renewed.
    pub fn new(store: PgStore, lease: Duration) -> Queue {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let owner = format!("{host}:{}:{:08x}", std::process::id(), super::unique());
        Queue {
            store,
            owner,
            lease,
            held: Arc::default(),
        }
    }

    /// This worker's name, as the queue's `owner` column shows it.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The store.
    pub fn store(&self) -> &PgStore {
        &self.store
    }

    /// Seeds the endpoints of `endpoints` that have no list yet, once, whoever comes
    /// first: `read` is called (under the seeding lock) with those endpoints and returns
    /// what it read; lists it could not read are left unseeded, for the next worker.
    /// Returns what `read` returned (nothing when every list was already seeded).
    pub async fn seed<F, Fut, E>(
        &self,
        endpoints: &[String],
        read: F,
    ) -> Result<Vec<std::result::Result<SeedList, E>>>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<std::result::Result<SeedList, E>>>>,
    {
        let mut client = self.store.client().await?;
        let failed = self.store.error("cannot seed the queue");
        let tx = client.transaction().await.map_err(&failed)?;
        loop {
            let row = tx
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&SEED_LOCK])
                .await
                .map_err(&failed)?;
            if row.get::<_, bool>(0) {
                break;
            }
            tokio::time::sleep(SEED_POLL).await;
        }
        // Seeded only into a store of this worker's root, which stays so until committed.
        self.store.check_claim(&tx).await?;
        let seeded: HashSet<String> = tx
            .query(
                "SELECT endpoint FROM asyncdex.lists WHERE endpoint = ANY($1)",
                &[&endpoints],
            )
            .await
            .map_err(&failed)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let todo: Vec<String> = endpoints
            .iter()
            .filter(|e| !seeded.contains(*e))
            .cloned()
            .collect();
        if todo.is_empty() {
            tx.commit().await.map_err(&failed)?;
            return Ok(Vec::new());
        }
        let lists = read(todo).await?;
        for list in lists.iter().flatten() {
            tx.execute(
                "INSERT INTO asyncdex.queue (endpoint, id) SELECT $1, unnest($2::int4[])
                 ON CONFLICT DO NOTHING",
                &[&list.endpoint, &list.ids],
            )
            .await
            .map_err(&failed)?;
            tx.execute(
                "INSERT INTO asyncdex.lists (endpoint, count, unusable, seen_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &list.endpoint,
                    &(list.count as i64),
                    &(list.unusable as i64),
                    &now_ms(),
                ],
            )
            .await
            .map_err(&failed)?;
        }
        tx.commit().await.map_err(&failed)?;
        Ok(lists)
    }

    /// A new run: when nothing of `endpoints` is left or leased, what failed is queued
    /// again (as a rerun of an SQLite crawl fetches what failed). Returns how many.
    pub async fn retry_failed(&self, endpoints: &[String]) -> Result<u64> {
        let client = self.store.client().await?;
        client
            .execute(
                "UPDATE asyncdex.queue SET state = 'todo', error = NULL
                 WHERE state = 'failed' AND endpoint = ANY($1)
                   AND NOT EXISTS (SELECT 1 FROM asyncdex.queue
                                   WHERE state IN ('todo', 'leased') AND endpoint = ANY($1))",
                &[&endpoints],
            )
            .await
            .map_err(self.store.error("cannot queue the failed again"))
    }

    /// Leases up to `n` open rows of `endpoints` (waiting, or leased past their deadline).
    pub async fn lease(&self, endpoints: &[String], n: usize) -> Result<Vec<(String, i32)>> {
        let client = self.store.client().await?;
        let rows = client
            .query(
                "WITH picked AS (
                     SELECT endpoint, id FROM asyncdex.queue
                     WHERE endpoint = ANY($1)
                       AND (state = 'todo' OR (state = 'leased' AND lease_until < now()))
                     LIMIT $2 FOR UPDATE SKIP LOCKED)
                 UPDATE asyncdex.queue q
                 SET state = 'leased', owner = $3, leases = q.leases + 1,
                     lease_until = now() + $4 * interval '1 millisecond'
                 FROM picked WHERE q.endpoint = picked.endpoint AND q.id = picked.id
                 RETURNING q.endpoint, q.id",
                &[
                    &endpoints,
                    &(n as i64),
                    &self.owner,
                    &(self.lease.as_millis() as f64),
                ],
            )
            .await
            .map_err(self.store.error("cannot lease from the queue"))?;
        let leased: Vec<(String, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        if let Ok(mut held) = self.held.lock() {
            held.extend(leased.iter().cloned());
        }
        Ok(leased)
    }

    /// Pushes the deadline of every lease this worker holds one lease further away.
    ///
    /// It never waits for a row: one that a settle of this worker has locked is being
    /// released anyway, and is skipped. (Waiting was a deadlock, measured: a renewal
    /// locking rows in table order and a settle locking them in its own order each held
    /// a row the other wanted.)
    ///
    /// Only the leases this worker knows it holds are renewed (see the module).
    pub async fn renew(&self) -> Result<u64> {
        let held: Vec<(String, i32)> = match self.held.lock() {
            Ok(held) => held.iter().cloned().collect(),
            Err(_) => Vec::new(),
        };
        if held.is_empty() {
            return Ok(0);
        }
        let (endpoints, ids) = texts(&held);
        let client = self.store.client().await?;
        client
            .execute(
                "UPDATE asyncdex.queue q SET lease_until = now() + $2 * interval '1 millisecond'
                 FROM (SELECT endpoint, id FROM asyncdex.queue
                       WHERE owner = $1 AND state = 'leased'
                         AND (endpoint, id) IN (SELECT * FROM unnest($3::text[], $4::int4[]))
                       FOR UPDATE SKIP LOCKED) mine
                 WHERE q.endpoint = mine.endpoint AND q.id = mine.id",
                &[
                    &self.owner,
                    &(self.lease.as_millis() as f64),
                    &endpoints,
                    &ids,
                ],
            )
            .await
            .map_err(self.store.error("cannot renew leases"))
    }

    /// Settles `outcomes` in one transaction: only rows this worker still leases change;
    /// the bodies of those done are written, and `found` (links followed) is queued,
    /// while the queue holds fewer than `cap` rows. Returns the rows written.
    pub async fn settle(
        &self,
        outcomes: Vec<Settled>,
        found: &[(String, i32)],
        cap: usize,
    ) -> Result<u64> {
        let mut client = self.store.client().await?;
        let failed = self.store.error("cannot settle leases");
        let tx = client.transaction().await.map_err(&failed)?;
        // The commit does not wait for the disk: a server that crashes may forget the
        // last fraction of a second of settles, and then forgets their rows and their
        // `done` together (one transaction), so those leases expire and are fetched
        // again. Nothing is lost; each lane saves an fsync per batch.
        tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
            .await
            .map_err(&failed)?;
        let (mut done, mut failures, mut released) = (Vec::new(), Vec::new(), Vec::new());
        let settled: Vec<(String, i32)> = outcomes
            .iter()
            .map(|o| match o {
                Settled::Done(row, _) => (row.endpoint.clone(), row.id),
                Settled::Failed(e, id, ..) | Settled::Released(e, id) => (e.clone(), *id),
            })
            .collect();
        for outcome in outcomes {
            match outcome {
                Settled::Done(row, attempts) => done.push((row, attempts)),
                Settled::Failed(e, id, why, attempts) => failures.push((e, id, why, attempts)),
                Settled::Released(e, id) => released.push((e, id)),
            }
        }
        let mut written = 0;
        if !done.is_empty() {
            let keys: Vec<(String, i32)> = done
                .iter()
                .map(|(r, _)| (r.endpoint.clone(), r.id))
                .collect();
            let (endpoints, ids) = texts(&keys);
            let attempts: Vec<i32> = done.iter().map(|(_, a)| *a as i32).collect();
            let ours: HashSet<(String, i32)> = tx
                .query(
                    "UPDATE asyncdex.queue q
                     SET state = 'done', owner = NULL, lease_until = NULL, error = NULL,
                         attempts = q.attempts + u.attempts
                     FROM unnest($1::text[], $2::int4[], $3::int4[]) AS u(endpoint, id, attempts)
                     WHERE q.endpoint = u.endpoint AND q.id = u.id
                       AND q.owner = $4 AND q.state = 'leased'
                     RETURNING q.endpoint, q.id",
                    &[&endpoints, &ids, &attempts, &self.owner],
                )
                .await
                .map_err(&failed)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let rows: Vec<Row> = done
                .into_iter()
                .map(|(row, _)| row)
                .filter(|r| ours.contains(&(r.endpoint.clone(), r.id)))
                .collect();
            written = put_rows(&tx, &rows).await.map_err(&failed)?;
        }
        if !failures.is_empty() {
            let endpoints: Vec<&str> = failures.iter().map(|f| f.0.as_str()).collect();
            let ids: Vec<i32> = failures.iter().map(|f| f.1).collect();
            let whys: Vec<&str> = failures.iter().map(|f| f.2.as_str()).collect();
            let attempts: Vec<i32> = failures.iter().map(|f| f.3 as i32).collect();
            let params: [&(dyn ToSql + Sync); 5] =
                [&endpoints, &ids, &whys, &attempts, &self.owner];
            tx.execute(
                "UPDATE asyncdex.queue q
                 SET state = 'failed', owner = NULL, lease_until = NULL, error = u.error,
                     attempts = q.attempts + u.attempts
                 FROM unnest($1::text[], $2::int4[], $3::text[], $4::int4[])
                      AS u(endpoint, id, error, attempts)
                 WHERE q.endpoint = u.endpoint AND q.id = u.id
                   AND q.owner = $5 AND q.state = 'leased'",
                &params,
            )
            .await
            .map_err(&failed)?;
        }
        if !released.is_empty() {
            let (endpoints, ids) = texts(&released);
            tx.execute(
                "UPDATE asyncdex.queue q SET state = 'todo', owner = NULL, lease_until = NULL
                 FROM unnest($1::text[], $2::int4[]) AS u(endpoint, id)
                 WHERE q.endpoint = u.endpoint AND q.id = u.id
                   AND q.owner = $3 AND q.state = 'leased'",
                &[&endpoints, &ids, &self.owner],
            )
            .await
            .map_err(&failed)?;
        }
        if !found.is_empty() {
            let (endpoints, ids) = texts(found);
            tx.execute(
                "INSERT INTO asyncdex.queue (endpoint, id)
                 SELECT * FROM unnest($1::text[], $2::int4[])
                 WHERE (SELECT count(*) FROM asyncdex.queue) < $3
                 ON CONFLICT DO NOTHING",
                &[&endpoints, &ids, &(cap as i64)],
            )
            .await
            .map_err(&failed)?;
        }
        tx.commit().await.map_err(&failed)?;
        if let Ok(mut held) = self.held.lock() {
            for key in settled {
                held.remove(&key);
            }
        }
        Ok(written)
    }

    /// Where each endpoint stands (every endpoint with a list when `endpoints` is
    /// `None`), sorted by endpoint.
    pub async fn counts(&self, endpoints: Option<&[String]>) -> Result<Vec<Counts>> {
        counts(&self.store, endpoints).await
    }

    /// The first `n` failures of `endpoint` (`id: why`), by id.
    pub async fn failures(&self, endpoint: &str, n: usize) -> Result<Vec<String>> {
        let client = self.store.client().await?;
        let rows = client
            .query(
                "SELECT id, coalesce(error, '') FROM asyncdex.queue
                 WHERE endpoint = $1 AND state = 'failed' ORDER BY id LIMIT $2",
                &[&endpoint, &(n as i64)],
            )
            .await
            .map_err(self.store.error("cannot read failures"))?;
        Ok(rows
            .iter()
            .map(|r| format!("{}: {}", r.get::<_, i32>(0), r.get::<_, String>(1)))
            .collect())
    }
}
