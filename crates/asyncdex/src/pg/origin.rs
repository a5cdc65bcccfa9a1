//! Which API a PostgreSQL store holds: one API's copy, as an SQLite store is.
//!
//! The rules are [`crate::store`]'s (its `origin` module, whose pure pieces this one
//! calls: the record's shape, who takes the store, the refusal and how it shows a stored
//! root): a crawl into a store stamps it with the API root it crawls (an
//! [`identity`](crate::cache::identity), no credentials); the same root resumes; another
//! root is refused before anything is fetched, `store postgres://… holds A, not B`
//! ([`InvalidInput`](crate::ErrorKind::InvalidInput)); a store that holds no data (no
//! resource, no list count, no queue row done or failed) takes whichever root claims it;
//! a record of another shape (two rows, an empty root) is an error
//! ([`Database`](crate::ErrorKind::Database)) in a store that holds data. A store taken
//! from another root drops the work that root left queued and never fetched.
//!
//! What differs is where the record lives and who races for it. The table
//! `asyncdex.api_root` is made by the schema's migration 2 ([`super::schema`]), empty: in
//! PostgreSQL an empty table is what a missing table is in SQLite, a store never claimed
//! (new, or crawled before version 2), taken by the first root that claims it. And many
//! workers share one store, starting together:
//!
//! - each claim is one transaction under an advisory lock, so two claims of one new store
//!   take turns: one stamps, the other finds the stamp (same root: both go on; never two
//!   rows). A claim waits for its locks by asking again every 100 ms, never blocked in
//!   the server, where a long wait would look like a server gone silent;
//! - the stamp is locked (`FOR UPDATE`) before the data is looked at, and the seeding of
//!   the queue reads it `FOR SHARE` in the seeding transaction (`PgStore::check_claim`).
//!   So two workers of two roots starting together on an empty store cannot both go on:
//!   the second re-stamps it only while nothing is seeded, and then the first, seeding,
//!   finds the store is no longer its root's and is refused; a claim that comes while a
//!   worker seeds waits for the lists and is refused for them.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::error::SqlState;

use super::PgStore;
use crate::error::Result;
use crate::store::origin::{damaged, refusal, shape, takes, verdict, Stamp};

/// The advisory lock taken while claiming (`"root"` in ASCII).
const LOCK: i64 = 0x726f_6f74;
/// How often a claim waiting for the stamp asks for it again.
const POLL: Duration = Duration::from_millis(100);

/// Reads the record and checks its shape (`lock`: `FOR UPDATE`, `FOR SHARE` or nothing).
async fn stamp(
    client: &impl GenericClient,
    lock: &str,
) -> std::result::Result<Stamp, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!("SELECT root FROM asyncdex.api_root LIMIT 2 {lock}"),
            &[],
        )
        .await?;
    let rows: Vec<Option<String>> = rows.iter().map(|r| Some(r.get(0))).collect();
    Ok(match rows.is_empty() {
        // An empty table: a store no crawl has claimed yet.
        true => Stamp::None,
        false => shape(rows),
    })
}

/// Takes the claim's advisory lock and the stamp `FOR UPDATE`, asking again every
/// [`POLL`] rather than blocking in the server: a seeding worker holds the stamp for as
/// long as its lists take to read, and a statement blocked that long is silent, which
/// looks like a server that stopped answering ([`super::silence`]).
async fn lock(tx: &mut Transaction<'_>) -> std::result::Result<Stamp, tokio_postgres::Error> {
    loop {
        let row = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&LOCK])
            .await?;
        if row.get::<_, bool>(0) {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    loop {
        // A savepoint: a refused `NOWAIT` undoes only itself; the locks it takes stay
        // the transaction's once released.
        let attempt = tx.savepoint("stamp").await?;
        match stamp(&attempt, "FOR UPDATE NOWAIT").await {
            Ok(held) => {
                attempt.commit().await?;
                return Ok(held);
            }
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                attempt.rollback().await?;
                tokio::time::sleep(POLL).await;
            }
            Err(e) => return Err(e),
        }
    }
}

impl PgStore {
    /// `store postgres://user@host:port/db`: how errors about its record name it.
    fn label(&self) -> String {
        format!("store {}", self.shown)
    }

    /// The API root this store holds ([`PgStore::claim_root`]), if a crawl claimed it. A
    /// record of another shape is an error of kind [`Database`](crate::ErrorKind::Database).
    pub async fn api_root(&self) -> Result<Option<String>> {
        let client = self.client().await?;
        let held = stamp(&client, "")
            .await
            .map_err(self.error("cannot read the store's API root"))?;
        match held {
            Stamp::None => Ok(None),
            Stamp::Root(root) => Ok(Some(root)),
            Stamp::Damaged(why) => Err(damaged(&self.label(), why)),
        }
    }

    /// Makes this the store of the API `root`, or checks that it is, by the rules of the
    /// [module](self); in one transaction, so workers claiming at once take turns. A store
    /// of another root is an error of kind [`InvalidInput`](crate::ErrorKind::InvalidInput),
    /// and nothing in it changes. Call it before a crawl fetches anything; the root is
    /// remembered, and the seeding of the queue checks the store is still this root's.
    pub async fn claim_root(&self, root: &str) -> Result<()> {
        let mut client = self.client().await?;
        let failed = self.error("cannot claim the store's API root");
        let mut tx = client.transaction().await.map_err(&failed)?;
        // Locked before the data is looked at: a worker seeding holds the stamp shared
        // until its lists are committed, so they are seen here.
        let held = lock(&mut tx).await.map_err(&failed)?;
        let holds_data: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM asyncdex.resources)
                     OR EXISTS (SELECT 1 FROM asyncdex.lists)
                     OR EXISTS (SELECT 1 FROM asyncdex.queue WHERE state IN ('done', 'failed'))",
                &[],
            )
            .await
            .map_err(&failed)?
            .get(0);
        let take = takes(&held, root, holds_data);
        // Another root's record, taken: the work it left waiting (rows queued but never
        // fetched) was its lists', not this root's, which the crawl seeds afresh.
        let restamped = take && !matches!(held, Stamp::None);
        if restamped {
            tx.batch_execute("DELETE FROM asyncdex.queue WHERE state IN ('todo', 'leased')")
                .await
                .map_err(&failed)?;
        }
        if take {
            // Updated in place when it is one row, so a seeding that waits on it reads
            // the new root, not no row.
            let updated = tx
                .execute("UPDATE asyncdex.api_root SET root = $1", &[&root])
                .await
                .map_err(&failed)?;
            if updated != 1 {
                tx.batch_execute("DELETE FROM asyncdex.api_root")
                    .await
                    .map_err(&failed)?;
                tx.execute("INSERT INTO asyncdex.api_root (root) VALUES ($1)", &[&root])
                    .await
                    .map_err(&failed)?;
            }
        }
        tx.commit().await.map_err(&failed)?;
        if !take {
            verdict(&self.label(), held, root)?;
        }
        if let Ok(mut claimed) = self.claimed.lock() {
            *claimed = Some(root.to_owned());
        }
        Ok(())
    }

    /// Checks, in the caller's transaction, that the store still holds the root this
    /// process claimed ([`PgStore::claim_root`]; nothing to check when it claimed none),
    /// and keeps it so (`FOR SHARE`) until that transaction ends.
    pub(crate) async fn check_claim(&self, tx: &impl GenericClient) -> Result<()> {
        let Some(root) = self.claimed.lock().ok().and_then(|c| c.clone()) else {
            return Ok(());
        };
        let held = stamp(tx, "FOR SHARE")
            .await
            .map_err(self.error("cannot read the store's API root"))?;
        match held {
            Stamp::Root(held) if held == root => Ok(()),
            Stamp::Root(held) => Err(refusal(&self.label(), &held, &root)),
            // Claimed, and now no row: someone removed it.
            Stamp::None => Err(damaged(&self.label(), "it has no row")),
            Stamp::Damaged(why) => Err(damaged(&self.label(), why)),
        }
    }
}
