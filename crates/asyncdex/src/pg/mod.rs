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

pub mod queue;
pub mod rate;
pub mod rows;
pub mod schema;
mod scratch;

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::NoTls;

pub use schema::{SCHEMA, VERSION};
pub use scratch::Scratch;

use crate::error::{Error, ErrorKind, Result};

/// Connections one process opens, at most (a worker's lanes, its commits, its lease
/// renewals and rate reservations; a server's concurrent reads).
const POOL_SIZE: usize = 16;
/// How long a connection may take, when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// True when `location` names a PostgreSQL database (`postgres://…` or `postgresql://…`)
/// rather than a file.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The store in PostgreSQL: a pool of connections to one database. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    shown: String,
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
        schema::migrate(&mut client, &store.shown).await?;
        Ok(store)
    }

    /// Connects to a store that must already be there (`serve --from`, `export`): a
    /// database without asyncdex's schema is refused, never changed.
    pub async fn open_existing(url: &str) -> Result<PgStore> {
        let store = PgStore::pool(url)?;
        let client = store.client().await?;
        schema::check_existing(&client, &store.shown).await?;
        Ok(store)
    }

    fn pool(url: &str) -> Result<PgStore> {
        let config = parse(url)?;
        let shown = redact(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(60)))
            .create_timeout(Some(CONNECT_TIMEOUT * 2))
            .build()
            .map_err(|e| invalid(url, &e.to_string()))?;
        Ok(PgStore { pool, shown })
    }

    /// The database, for people: `postgres://user@host:port/db`, never the password.
    pub fn describe(&self) -> &str {
        &self.shown
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => connect_error(&self.shown, &e),
            other => Error::new(
                ErrorKind::Connect,
                format!("cannot connect to {}: {other}", self.shown),
            ),
        })
    }

    /// A database error as one line naming the store.
    pub(crate) fn error(&self, what: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
        let what = what.to_owned();
        move |e| db_error(&self.shown, &what, &e)
    }
}

/// Parses a `postgres://` URL; refuses what asyncdex cannot use.
fn parse(url: &str) -> Result<tokio_postgres::Config> {
    if !is_url(url) {
        return Err(invalid(url, "it does not start with postgres://"));
    }
    let mut config =
        tokio_postgres::Config::from_str(url).map_err(|e| invalid(url, &e.to_string()))?;
    if config.get_hosts().is_empty() {
        return Err(invalid(url, "it names no host"));
    }
    if config.get_dbname().is_none() {
        return Err(invalid(
            url,
            "it names no database (postgres://user@host/DATABASE)",
        ));
    }
    if config.get_ssl_mode() == SslMode::Require {
        return Err(invalid(
            url,
            "it requires TLS, and asyncdex connects without it (loopback or a private network)",
        ));
    }
    if config.get_user().is_none() {
        config.user(std::env::var("USER").unwrap_or_else(|_| "postgres".into()));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.application_name("asyncdex");
    Ok(config)
}

fn invalid(url: &str, why: &str) -> Error {
    // The URL is shown without its password (the text after `:` in the user part).
    let shown = match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..s + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    };
    let why = why.lines().next().unwrap_or(why);
    Error::invalid_input(format!("invalid PostgreSQL URL {shown:?}: {why}"))
}

/// `postgres://user@host:port/db`, without the password.
fn redact(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
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
    let why = match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => one_line(e),
    };
    Error::new(ErrorKind::Database, format!("{shown}: {what}: {why}"))
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
