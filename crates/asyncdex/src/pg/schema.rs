//! What makes a PostgreSQL schema asyncdex's, and how it is created and migrated.
//!
//! Everything asyncdex keeps is in the schema [`SCHEMA`], marked as its own by a comment
//! on the schema ([`MARKER`]) and versioned by the table `schema_version` (one row per
//! migration applied). When a store is opened for writing, under an advisory lock (so
//! workers starting together migrate once, the others wait and find it done):
//!
//! - no schema `asyncdex`: it is created, marked, and every migration applied;
//! - marked: the migrations it lacks are applied, in order; one written by a newer
//!   asyncdex (a version above [`VERSION`]) is refused;
//! - present but not marked: refused, naming the tables it holds (an empty one is
//!   adopted). The rest of the database is never looked at, never touched.
//!
//! Only what the database says about itself makes a claim about the store: no row for the
//! schema (missing), a comment that is not [`MARKER`] (not ours), SQLSTATE `42P01`
//! (undefined table) for `schema_version` (marked but damaged). Any other error, such as
//! a statement the server cancelled (`statement_timeout`, `57014`), is reported as that
//! error, never as a verdict on the data.
//!
//! Each migration and its version row commit in the same transaction as the lock, so a
//! process killed mid-migration leaves the previous version whole.

use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;

use crate::error::{Error, ErrorKind, Result};

/// The schema that holds asyncdex's tables.
pub const SCHEMA: &str = "asyncdex";
/// The comment on [`SCHEMA`] that says asyncdex made it.
pub const MARKER: &str = "asyncdex store";
/// The advisory lock taken while migrating (`"adex"` in ASCII).
const LOCK: i64 = 0x6164_6578;

/// The migrations, in order: the schema's version is how many have been applied.
const MIGRATIONS: [&str; 2] = [V1, V2];

/// The schema version this asyncdex writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Version 1: resources as SQLite keeps them (plus how often each row was written, to
/// prove a shared crawl wrote each once), each list's count, the queue, the rate.
const V1: &str = "
CREATE TABLE asyncdex.resources (
    endpoint   text    NOT NULL,
    id         integer NOT NULL,
    name       text,
    url        text    NOT NULL,
    status     integer NOT NULL,
    body       bytea   NOT NULL,
    sha256     text    NOT NULL,
    fetched_at bigint  NOT NULL,
    expires_at bigint,
    writes     integer NOT NULL DEFAULT 1,
    PRIMARY KEY (endpoint, id)
);
CREATE INDEX resources_by_name ON asyncdex.resources (endpoint, name);
CREATE TABLE asyncdex.lists (
    endpoint text   PRIMARY KEY,
    count    bigint NOT NULL,
    unusable bigint NOT NULL,
    seen_at  bigint NOT NULL
);
CREATE TABLE asyncdex.queue (
    endpoint    text    NOT NULL,
    id          integer NOT NULL,
    state       text    NOT NULL DEFAULT 'todo'
                CHECK (state IN ('todo', 'leased', 'done', 'failed')),
    owner       text,
    lease_until timestamptz,
    leases      integer NOT NULL DEFAULT 0,
    attempts    integer NOT NULL DEFAULT 0,
    error       text,
    PRIMARY KEY (endpoint, id)
);
CREATE INDEX queue_open ON asyncdex.queue (state) WHERE state IN ('todo', 'leased');
CREATE TABLE asyncdex.rate (
    name    text        PRIMARY KEY,
    next_at timestamptz NOT NULL
);
";

/// Version 2: the API root the store was crawled from, one row written by the first
/// crawl (`pg::origin`); empty in a store migrated from version 1 until a crawl claims it.
const V2: &str = "
CREATE TABLE asyncdex.api_root (
    root text NOT NULL
);
";

/// What the schema turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// No schema `asyncdex` (or an empty one, not marked).
    Missing { exists: bool },
    /// asyncdex's own, at this version.
    Ours(i32),
}

async fn inspect(client: &impl GenericClient, shown: &str) -> Result<Found> {
    let row = client
        .query_opt(
            "SELECT obj_description(n.oid, 'pg_namespace'),
                    coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname)
                              FROM pg_class c
                              WHERE c.relnamespace = n.oid
                                AND c.relkind IN ('r', 'v', 'm', 'p', 'f')), '{}')
             FROM pg_namespace n WHERE n.nspname = $1",
            &[&SCHEMA],
        )
        .await
        .map_err(|e| super::db_error(shown, "cannot read the database's schemas", &e))?;
    let Some(row) = row else {
        return Ok(Found::Missing { exists: false });
    };
    let comment: Option<String> = row.get(0);
    let tables: Vec<String> = row.get(1);
    if comment.as_deref() != Some(MARKER) {
        if tables.is_empty() {
            return Ok(Found::Missing { exists: true });
        }
        let mut shown_tables: Vec<&str> = tables.iter().map(String::as_str).take(8).collect();
        if tables.len() > shown_tables.len() {
            shown_tables.push("…");
        }
        return Err(refused(
            shown,
            &format!(
                "its schema {SCHEMA} holds {} {} and was not made by asyncdex",
                if tables.len() == 1 { "table" } else { "tables" },
                shown_tables.join(", ")
            ),
        ));
    }
    let version = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM asyncdex.schema_version",
            &[],
        )
        .await
        .map_err(|e| match e.code() {
            // Only a missing table is a claim about the store; anything else (a statement
            // cancelled by `statement_timeout`, a permission, a lost connection) is
            // reported as what it is.
            Some(&SqlState::UNDEFINED_TABLE) => refused(
                shown,
                &format!("its schema {SCHEMA} is marked as asyncdex's but has no version table"),
            ),
            _ => super::db_error(shown, "cannot read the schema's version", &e),
        })?
        .get(0);
    Ok(Found::Ours(version))
}

/// Creates or migrates the schema (see the module docs); the caller's connection.
pub(super) async fn migrate(client: &mut deadpool_postgres::Client, shown: &str) -> Result<()> {
    let failed = |what: &'static str| move |e| super::db_error(shown, what, &e);
    let tx = client
        .transaction()
        .await
        .map_err(failed("cannot start a transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(failed("cannot take the migration lock"))?;
    let from = match inspect(&tx, shown).await? {
        Found::Ours(v) if v > VERSION => {
            return Err(refused(
                shown,
                &format!(
                "its schema is version {v}, written by a newer asyncdex (this one knows {VERSION})"
            ),
            ))
        }
        Found::Ours(v) => v,
        Found::Missing { exists } => {
            let create = if exists {
                String::new()
            } else {
                format!("CREATE SCHEMA {SCHEMA};")
            };
            tx.batch_execute(&format!(
                "{create}
                 COMMENT ON SCHEMA {SCHEMA} IS '{MARKER}';
                 CREATE TABLE {SCHEMA}.schema_version (
                     version    integer     PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 );"
            ))
            .await
            .map_err(failed("cannot create the schema asyncdex"))?;
            0
        }
    };
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.batch_execute(sql)
            .await
            .map_err(failed("cannot migrate the schema"))?;
        tx.execute(
            "INSERT INTO asyncdex.schema_version (version) VALUES ($1)",
            &[&(i as i32 + 1)],
        )
        .await
        .map_err(failed("cannot record the schema's version"))?;
    }
    tx.commit()
        .await
        .map_err(failed("cannot commit the schema"))
}

/// The oldest schema version a reader ([`check_existing`]: `serve --from`, `export`) reads
/// as it is, never migrating it: they read the resources and the lists, unchanged since
/// version 1 (version 2 added only the API root, which a crawl checks).
pub(super) const READABLE_FROM: i32 = 1;

/// Checks that the database holds asyncdex's schema at a version this asyncdex reads
/// ([`READABLE_FROM`] to [`VERSION`]).
pub(super) async fn check_existing(client: &impl GenericClient, shown: &str) -> Result<()> {
    match inspect(client, shown).await? {
        Found::Missing { .. } => Err(Error::new(
            ErrorKind::Database,
            format!("{shown} holds no asyncdex store (no schema {SCHEMA}): crawl into it first"),
        )),
        Found::Ours(v) if v > VERSION => Err(refused(
            shown,
            &format!("its schema is version {v}, written by a newer asyncdex"),
        )),
        Found::Ours(v) if v < READABLE_FROM => Err(refused(
            shown,
            &format!(
                "its schema is version {v}, older than {READABLE_FROM}: a crawl into it migrates it"
            ),
        )),
        Found::Ours(_) => Ok(()),
    }
}

fn refused(shown: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Database,
        format!("{shown} is not an asyncdex store: {why}"),
    )
}
