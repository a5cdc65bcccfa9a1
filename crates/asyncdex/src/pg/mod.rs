//! A copy of an API in PostgreSQL, and the work queue many crawlers share: how asyncdex
//! scales past one machine. SQLite ([`crate::store`]) stays the embedded default.
//!
//! Everything lives in one schema of its own, [`SCHEMA`] (`asyncdex`), created and
//! migrated by asyncdex itself ([`schema`]): the database may hold anything else, and a
//! schema of that name that asyncdex did not make is refused, never touched.
//!
//! - [`rows`]: resources as the SQLite store keeps them (SHA-256 per body, checked reads),
//!   what `serve --from` and `export` read.
//! - [`queue`]: one row per resource to fetch, leased in batches with
//!   `SELECT … FOR UPDATE SKIP LOCKED`; a lease expires, so a worker killed with `kill -9`
//!   loses nothing: its batch goes back to the queue. [`crate::crawl::shared`] runs a worker.
//! - [`rate`]: one rate for the whole crawl, however many workers share it.
//! - [`origin`]: a store is one API's copy, stamped with its root as an SQLite store is;
//!   a crawl from another root is refused before it fetches anything.
//! - [`url`]: the URL read as a hostile one (bad `%`, several hosts, `PGPASSWORD`).
//! - [`wire`]: every byte from the server passes a guard that bounds a message's length.
//! - [`outage`]: a worker rides out a short outage (reconnecting with backoff), and
//!   stops like an interrupted crawl when the server stays away.
//! - [`silence`]: a server that stops answering without closing is noticed (no byte for
//!   30 s while an answer is owed; kernel keepalives): the connection counts as lost.
//! - [`stop`]: a worker that stops (a signal, an error) hands back the leases it holds,
//!   so the next worker need not wait for them to expire
//!   ([`queue::Queue::hand_back`]).
//!
//! The driver is tokio-postgres with a deadpool pool: async, maintained, and no more
//! than the few queries a store and a queue need (sqlx would bring a query macro layer
//! and its own runtime features for nothing here). It connects without TLS (`NoTls`):
//! meant for a server on the loopback or a private network. A URL that asks for TLS
//! (`sslmode=require`) is refused by name rather than silently sent in the clear.
//!
//! ```no_run
//! # async fn run() -> asyncdex::Result<()> {
//! use asyncdex::pg::PgStore;
//! let store = PgStore::connect("postgres://asyncdex:secret@127.0.0.1:5432/crawl").await?;
//! println!("{} rows", store.endpoints().await?.len());
//! # Ok(()) }
//! ```

mod counts;
pub mod origin;
pub mod outage;
pub mod queue;
pub mod rate;
pub mod rows;
pub mod schema;
mod scratch;
pub mod silence;
pub mod stop;
pub mod url;
pub mod wire;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

pub use schema::{SCHEMA, VERSION};
pub use scratch::{Held, Scratch};
pub use url::is_url;
use url::{invalid, parse, redact, CONNECT_TIMEOUT};

use crate::error::{Error, ErrorKind, Result};

/// Connections one process opens, at most (a worker's lanes, its commits, its lease
/// renewals and rate reservations; a server's concurrent reads).
const POOL_SIZE: usize = 16;
/// The store in PostgreSQL: a pool of connections to one database. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    shown: String,
    /// How long making a connection may take (the URL's `connect_timeout`).
    connect_within: Duration,
    /// The last framing violation its connections met ([`wire`]).
    violations: wire::Violations,
    /// The last silence past the deadline its connections met ([`silence`]), until an
    /// error reports it.
    silences: wire::Violations,
    /// Why a worker stopped, when the server stayed away ([`outage`]).
    gave_up: Arc<Mutex<Option<String>>>,
    /// The worker stopped because it was told to, while the server was away.
    interrupted: Arc<std::sync::atomic::AtomicBool>,
    /// A worker stopped with its connection lost ([`outage`]): nothing more is asked of
    /// the server on the way out ([`queue::Queue::hand_back`] is skipped).
    away: Arc<std::sync::atomic::AtomicBool>,
    /// The API root this process claimed the store for ([`PgStore::claim_root`]).
    claimed: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.shown).finish()
    }
}

impl PgStore {
    /// Connects to the database at `url` and makes it a store: the schema is created if
    /// it is missing and migrated if it is older. Refused (one line, nothing written): a
    /// malformed URL ([`ErrorKind::InvalidInput`]), a server that cannot be reached
    /// ([`ErrorKind::Connect`]), a refused login, a schema that is not asyncdex's
    /// ([`ErrorKind::Database`]).
    pub async fn connect(url: &str) -> Result<PgStore> {
        let store = PgStore::pool(url)?;
        let mut client = store.client().await?;
        schema::migrate(&mut client, &store.shown)
            .await
            .map_err(|e| store.explain(e))?;
        Ok(store)
    }

    /// Connects to a store that must already be there (`serve --from`, `export`): a
    /// database without asyncdex's schema is refused, never changed.
    pub async fn open_existing(url: &str) -> Result<PgStore> {
        let store = PgStore::pool(url)?;
        let client = store.client().await?;
        schema::check_existing(&client, &store.shown)
            .await
            .map_err(|e| store.explain(e))?;
        Ok(store)
    }

    fn pool(url: &str) -> Result<PgStore> {
        let config = parse(url)?;
        let shown = redact(&config);
        let connect_within = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        let violations = wire::Violations::default();
        let silences = wire::Violations::default();
        let connect = wire::GuardedConnect {
            seen: violations.clone(),
            silent: silences.clone(),
        };
        let manager = Manager::from_connect(
            config,
            connect,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(60)))
            // The whole connection (TCP, startup, login), not only its TCP part: a
            // listener that accepts and never answers is given up on in time too.
            .create_timeout(Some(connect_within))
            // A connection that died (an outage) is dropped quietly before the pool would
            // check it, which logs a warning a user would read as a second error line.
            .pre_recycle(deadpool_postgres::Hook::sync_fn(|client, _| {
                match client.is_closed() {
                    true => Err(deadpool_postgres::HookError::message("closed")),
                    false => Ok(()),
                }
            }))
            .build()
            .map_err(|e| invalid(url, &e.to_string()))?;
        Ok(PgStore {
            pool,
            shown,
            connect_within,
            violations,
            silences,
            gave_up: Arc::default(),
            interrupted: Arc::default(),
            away: Arc::default(),
            claimed: Arc::default(),
        })
    }

    /// The database, for people: `postgres://user@host:port/db`, never the password.
    pub fn describe(&self) -> &str {
        &self.shown
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => match self.violation() {
                Some(why) => self.violated(&why),
                None => connect_error(&self.shown, &e),
            },
            deadpool_postgres::PoolError::Timeout(_) => Error::new(
                ErrorKind::Connect,
                format!(
                    "cannot connect to {}: no connection within {} s (connect_timeout)",
                    self.shown,
                    self.connect_within.as_secs()
                ),
            ),
            other => Error::new(
                ErrorKind::Connect,
                format!("cannot connect to {}: {other}", self.shown),
            ),
        })
    }

    /// A database error as one line naming the store: a lost connection is
    /// [`ErrorKind::Network`] (an outage, ridden out by a worker), unless the server broke
    /// the protocol ([`wire`]), which no reconnecting cures ([`ErrorKind::Database`]).
    pub(crate) fn error(&self, what: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
        let what = what.to_owned();
        move |e| match self.violation() {
            // Only a connection that failed (closed, its socket) is blamed on a violation
            // seen before; any other error is what it is.
            Some(why) if e.as_db_error().is_none() && (e.is_closed() || is_io(&e)) => {
                self.violated(&why)
            }
            _ if e.is_closed() => match self.silences.lock().ok().and_then(|mut s| s.take()) {
                // Its connection closed because the server stopped answering: say so.
                Some(why) => Error::new(
                    ErrorKind::Network,
                    format!("{}: {what}: connection closed: {why}", self.shown),
                ),
                None => db_error(&self.shown, &what, &e),
            },
            _ => db_error(&self.shown, &what, &e),
        }
    }

    /// `e`, or, when the connection was lost because the server broke the protocol, why.
    fn explain(&self, e: Error) -> Error {
        match self.violation() {
            Some(why) if e.kind() == ErrorKind::Network => self.violated(&why),
            _ => e,
        }
    }

    fn violation(&self) -> Option<String> {
        self.violations.lock().ok().and_then(|v| v.clone())
    }

    fn violated(&self, why: &str) -> Error {
        Error::new(
            ErrorKind::Database,
            format!(
                "{} is not speaking PostgreSQL's protocol: {why}",
                self.shown
            ),
        )
    }

    /// Why a worker stopped on this store, when the server stayed away past the outage
    /// it rides out ([`outage::OUTAGE`]).
    pub fn gave_up(&self) -> Option<String> {
        self.gave_up.lock().ok().and_then(|g| g.clone())
    }

    /// True when the worker stopped waiting for the server because it was cancelled (a
    /// signal), rather than because the server stayed away: [`PgStore::gave_up`] says
    /// so, and the crawl is an interrupted one.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when a worker stopped on this store with its connection lost (the server
    /// stayed away, or a signal came during an outage), rather than merely slow.
    pub fn away(&self) -> bool {
        self.away.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Why a connection failed, in one line: unreachable ([`ErrorKind::Connect`]) or refused
/// by the server (a password, a missing database: [`ErrorKind::Database`]).
fn connect_error(shown: &str, e: &tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::new(
            ErrorKind::Database,
            format!("cannot connect to {shown}: {}", db.message()),
        ),
        None => {
            let mut why = one_line(e);
            if let Some(source) = std::error::Error::source(e) {
                why = format!(
                    "{why} ({})",
                    source.to_string().lines().next().unwrap_or("")
                );
            }
            Error::new(
                ErrorKind::Connect,
                format!("cannot connect to {shown}: {why}"),
            )
        }
    }
}

fn db_error(shown: &str, what: &str, e: &tokio_postgres::Error) -> Error {
    let (kind, why) = match e.as_db_error() {
        Some(db) if outage::is_lost_code(db.code().code()) => {
            (ErrorKind::Network, db.message().to_owned())
        }
        Some(db) => (ErrorKind::Database, db.message().to_owned()),
        None if e.is_closed() || is_io(e) => {
            let mut why = one_line(e);
            if let Some(source) = std::error::Error::source(e) {
                why = format!("{why} ({})", one_line(source));
            }
            (ErrorKind::Network, why)
        }
        None => (ErrorKind::Database, one_line(e)),
    };
    Error::new(kind, format!("{shown}: {what}: {why}"))
}

/// True when `e` came from the socket (the server went away mid-exchange).
fn is_io(e: &tokio_postgres::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// A number that differs between calls and between processes (names of workers and
/// scratch databases; not a secret).
fn unique() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9)
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_origin;
#[cfg(test)]
mod tests_stop;
