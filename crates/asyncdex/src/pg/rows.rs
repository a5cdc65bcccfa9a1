//! Resources in PostgreSQL, kept as the SQLite store keeps them: the body with relative
//! links and its SHA-256, checked on every read that is served or exported
//! ([`crate::store`]'s rules, one implementation of the check).

use bytes::Bytes;
use deadpool_postgres::GenericClient;
use futures::{pin_mut, TryStreamExt};
use tokio_postgres::types::ToSql;

use super::PgStore;
use crate::error::Result;
use crate::store::{listed_as, named, sha256_hex, verify, BodyName, Row, Stored};

const COLUMNS: &str = "id, name, body, fetched_at, expires_at, sha256";

fn read_row(r: &tokio_postgres::Row) -> (Stored, String) {
    (
        Stored {
            id: r.get(0),
            name: r.get(1),
            body: Bytes::from(r.get::<_, Vec<u8>>(2)),
            fetched_at: r.get(3),
            expires_at: r.get(4),
        },
        r.get(5),
    )
}

/// Writes `rows` with the caller's client (a transaction, in a crawl): a row already
/// there is replaced, and its `writes` counts one more.
pub(super) async fn put_rows(
    client: &impl GenericClient,
    rows: &[Row],
) -> std::result::Result<u64, tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let endpoints: Vec<&str> = rows.iter().map(|r| r.endpoint.as_str()).collect();
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    let names: Vec<Option<&str>> = rows.iter().map(|r| r.name.as_deref()).collect();
    let urls: Vec<String> = rows.iter().map(Row::url).collect();
    let statuses: Vec<i32> = rows.iter().map(|r| i32::from(r.status)).collect();
    let bodies: Vec<&[u8]> = rows.iter().map(|r| &r.body[..]).collect();
    let shas: Vec<String> = rows.iter().map(|r| sha256_hex(&r.body)).collect();
    let fetched: Vec<i64> = rows.iter().map(|r| r.fetched_at).collect();
    let expires: Vec<Option<i64>> = rows.iter().map(|r| r.expires_at).collect();
    let params: [&(dyn ToSql + Sync); 9] = [
        &endpoints, &ids, &names, &urls, &statuses, &bodies, &shas, &fetched, &expires,
    ];
    client
        .execute(
            "INSERT INTO asyncdex.resources
                 (endpoint, id, name, url, status, body, sha256, fetched_at, expires_at)
             SELECT * FROM unnest($1::text[], $2::int4[], $3::text[], $4::text[], $5::int4[],
                                  $6::bytea[], $7::text[], $8::int8[], $9::int8[])
             ON CONFLICT (endpoint, id) DO UPDATE SET
                 name = excluded.name, url = excluded.url, status = excluded.status,
                 body = excluded.body, sha256 = excluded.sha256,
                 fetched_at = excluded.fetched_at, expires_at = excluded.expires_at,
                 writes = asyncdex.resources.writes + 1",
            &params,
        )
        .await
}

impl PgStore {
    /// Writes `rows` in one transaction (all or none), replacing rows with the same
    /// endpoint and id.
    pub async fn put(&self, rows: &[Row]) -> Result<()> {
        let mut client = self.client().await?;
        let failed = self.error("cannot write rows");
        let tx = client.transaction().await.map_err(&failed)?;
        put_rows(&tx, rows).await.map_err(&failed)?;
        tx.commit().await.map_err(&failed)
    }

    /// The resource of `endpoint` with id or name `key`, checked as
    /// [`Store::get_verified`](crate::store::Store::get_verified) checks it.
    pub async fn get_verified(&self, endpoint: &str, key: &str) -> Result<Option<Stored>> {
        let client = self.client().await?;
        let failed = self.error("cannot read a resource");
        let row = match key.parse::<i32>() {
            Ok(id) => client
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM asyncdex.resources WHERE endpoint = $1 AND id = $2"),
                    &[&endpoint, &id],
                )
                .await,
            Err(_) => client
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM asyncdex.resources WHERE endpoint = $1 AND name = $2 ORDER BY id LIMIT 1"),
                    &[&endpoint, &key],
                )
                .await,
        }
        .map_err(failed)?;
        let Some(row) = row else { return Ok(None) };
        let (stored, sha) = read_row(&row);
        verify(self.describe(), endpoint, &stored, &sha)?;
        Ok(Some(stored))
    }

    /// `(id, name)` of every stored resource of `endpoint`, by id.
    pub async fn entries(&self, endpoint: &str) -> Result<Vec<(i32, Option<String>)>> {
        self.entries_at_most(endpoint, usize::MAX).await
    }

    /// [`PgStore::entries`], the first `most` of them only (as
    /// [`Store::entries_at_most`](crate::store::Store::entries_at_most)).
    pub async fn entries_at_most(
        &self,
        endpoint: &str,
        most: usize,
    ) -> Result<Vec<(i32, Option<String>)>> {
        let most = i64::try_from(most).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name FROM asyncdex.resources WHERE endpoint = $1 ORDER BY id LIMIT $2",
                &[&endpoint, &most],
            )
            .await
            .map_err(self.error("cannot list resources"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// [`PgStore::entries_at_most`], each entry checked against its body as
    /// [`Store::listed_at_most`](crate::store::Store::listed_at_most) checks it: the name
    /// a list shows must be the one the body carries. The bodies arrive as the server
    /// sends them, each read for its name and let go.
    pub async fn listed_at_most(
        &self,
        endpoint: &str,
        most: usize,
    ) -> Result<Vec<(i32, Option<String>)>> {
        let most = i64::try_from(most).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let failed = self.error("cannot list resources");
        let params: [&(dyn ToSql + Sync); 2] = [&endpoint, &most];
        let rows = client
            .query_raw(
                "SELECT id, name, body FROM asyncdex.resources WHERE endpoint = $1
                 ORDER BY id LIMIT $2",
                params,
            )
            .await
            .map_err(&failed)?;
        pin_mut!(rows);
        let mut listed = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(&failed)? {
            let (id, name): (i32, Option<String>) = (row.get(0), row.get(1));
            let own = BodyName::of(row.get::<_, &[u8]>(2));
            listed_as(self.describe(), endpoint, id, name.as_deref(), &own)?;
            listed.push((id, name));
        }
        Ok(listed)
    }

    /// Every endpoint with stored resources or a list count, sorted; each checked to be
    /// an endpoint name, as the SQLite store's ([`crate::store::Store::endpoints`]).
    pub async fn endpoints(&self) -> Result<Vec<String>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT endpoint, min(id) FROM (SELECT endpoint, id FROM asyncdex.resources
                 UNION ALL SELECT endpoint, NULL FROM asyncdex.lists) e
                 GROUP BY endpoint ORDER BY 1",
                &[],
            )
            .await
            .map_err(self.error("cannot list endpoints"))?;
        named(
            self.describe(),
            rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        )
    }

    /// `(rows, times written)` over every stored resource: equal when each was written
    /// once.
    pub async fn writes(&self) -> Result<(u64, u64)> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT count(*), coalesce(sum(writes), 0)::int8 FROM asyncdex.resources",
                &[],
            )
            .await
            .map_err(self.error("cannot count rows"))?;
        Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
    }

    /// Calls `each` with every resource of `endpoint`, by id, checked: rows arrive as the
    /// server sends them (a store can be larger than memory), and the first damaged one
    /// stops it with an error naming it.
    pub async fn for_each_verified(
        &self,
        endpoint: &str,
        mut each: impl FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        let client = self.client().await?;
        let failed = self.error("cannot read resources");
        let rows = client
            .query_raw(
                &format!(
                    "SELECT {COLUMNS} FROM asyncdex.resources WHERE endpoint = $1 ORDER BY id"
                ),
                [endpoint],
            )
            .await
            .map_err(&failed)?;
        pin_mut!(rows);
        while let Some(row) = rows.try_next().await.map_err(&failed)? {
            let (stored, sha) = read_row(&row);
            verify(self.describe(), endpoint, &stored, &sha)?;
            each(stored)?;
        }
        Ok(())
    }
}

/// A [`PgStore`] for blocking code (an export on an offload thread): each call waits on
/// the runtime it was made on.
#[derive(Debug, Clone)]
pub struct BlockingPg {
    store: PgStore,
    runtime: tokio::runtime::Handle,
}

impl BlockingPg {
    /// Wraps `store`; call it from a thread that is not one of the runtime's own.
    pub fn new(store: PgStore, runtime: tokio::runtime::Handle) -> BlockingPg {
        BlockingPg { store, runtime }
    }
}

impl crate::export::Exportable for BlockingPg {
    fn endpoints(&self) -> Result<Vec<String>> {
        self.runtime.block_on(self.store.endpoints())
    }

    fn for_each_verified(
        &self,
        endpoint: &str,
        each: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        self.runtime
            .block_on(self.store.for_each_verified(endpoint, each))
    }
}
