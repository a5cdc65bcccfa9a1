//! Where a shared crawl stands: per endpoint, what its list claimed and how many of its
//! rows are done, leased, failed or waiting, counted by the server in one query
//! (`crawl --status` prints it; each worker's closing line sums it). A lease counted as
//! taken over is one that expired and was leased again: a worker died, froze or lost its
//! connection for longer than a lease.

use super::PgStore;
use crate::error::Result;

/// Where one endpoint's queue stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// The endpoint.
    pub endpoint: String,
    /// The count its list reported.
    pub listed: u64,
    /// Entries of its list with no usable id.
    pub unusable: u64,
    /// Rows in the queue (listed ids, plus followed links).
    pub queued: u64,
    /// Fetched and stored.
    pub done: u64,
    /// Leased by a worker now (including leases past their deadline, not yet taken over).
    pub leased: u64,
    /// Failed for good in this run (a new run tries them again).
    pub failed: u64,
    /// Waiting for a worker.
    pub left: u64,
    /// Leases taken over after their deadline passed (a worker died or stalled).
    pub taken_over: u64,
}

/// Where each endpoint of `store`'s queue stands (see [`super::queue::Queue::counts`]).
pub async fn counts(store: &PgStore, endpoints: Option<&[String]>) -> Result<Vec<Counts>> {
    let client = store.client().await?;
    let rows = client
        .query(
            "SELECT l.endpoint, l.count, l.unusable,
                    count(q.id),
                    count(*) FILTER (WHERE q.state = 'done'),
                    count(*) FILTER (WHERE q.state = 'leased'),
                    count(*) FILTER (WHERE q.state = 'failed'),
                    count(*) FILTER (WHERE q.state = 'todo'),
                    coalesce(sum(q.leases - 1) FILTER (WHERE q.leases > 1), 0)::int8
             FROM asyncdex.lists l LEFT JOIN asyncdex.queue q ON q.endpoint = l.endpoint
             WHERE $1::text[] IS NULL OR l.endpoint = ANY($1)
             GROUP BY l.endpoint, l.count, l.unusable ORDER BY 1",
            &[&endpoints],
        )
        .await
        .map_err(store.error("cannot count the queue"))?;
    let n = |r: &tokio_postgres::Row, i| r.get::<_, i64>(i) as u64;
    Ok(rows
        .iter()
        .map(|r| Counts {
            endpoint: r.get(0),
            listed: n(r, 1),
            unusable: n(r, 2),
            queued: n(r, 3),
            done: n(r, 4),
            leased: n(r, 5),
            failed: n(r, 6),
            left: n(r, 7),
            taken_over: n(r, 8),
        })
        .collect())
}
