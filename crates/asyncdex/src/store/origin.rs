//! Which API a store holds: a store is a copy of *one* API, and says which.
//!
//! A crawl skips every id its store already holds intact: that is how it resumes. Into a
//! store of another API, the same rule would count that API's bodies as this one's
//! ("2 of 2 stored, 2 already there") and overwrite its list counts: a store that is a
//! mix of two APIs and claims to be a whole copy of each. So a store keeps the API root
//! it was crawled from (as the client's disk cache keeps its own, in `cache/name.rs`),
//! without credentials ([`identity`](crate::cache::identity)), and a crawl from another
//! root is refused before it fetches anything.
//!
//! The root is written by the first crawl into the store, in the same transaction that
//! finds none there: a new store takes the root of the crawl that creates it, and so does
//! one made before the stamp existed (it holds no root), whatever it holds: the first
//! root that writes it after is taken as its own.
//!
//! The stamp protects data, not the file: a store that holds nothing an API answered (no
//! resource, no list count, no remembered 404) takes the root of whichever crawl claims
//! it, re-stamped, and the failures the old root left are dropped with it. So a crawl of
//! a mistyped or unreachable root, which fetched nothing, does not bind its file to that
//! root. (Two crawls of two roots into one empty file at once: the second takes it before
//! the first has stored anything. One file is one crawl's copy.)
//!
//! The record is read for its shape, since a store may be a copied or edited file:
//! exactly one row, a root that is non-empty text. Anything else (two roots, an empty
//! one, bytes) is a damaged record ([`Database`](crate::ErrorKind::Database)), not a
//! root to compare with, in a store that holds data.
//!
//! ```
//! use asyncdex::store::Store;
//!
//! let store = Store::open_in_memory()?;
//! store.claim_root("http://127.0.0.1:8000/api/v2")?;
//! store.claim_root("http://127.0.0.1:8000/api/v2")?; // the same root: resumed
//! store.claim_root("embedded")?; // nothing stored yet: re-stamped
//! assert_eq!(store.api_root()?.as_deref(), Some("embedded"));
//! # Ok::<(), asyncdex::Error>(())
//! ```

use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior};

use super::Store;
use crate::error::{Error, ErrorKind, Result};

/// The table that keeps the root: one row, made by the first crawl into the store.
pub(super) const TABLE: &str = "api_root";

/// The longest stored root a refusal shows, in characters.
const SHOWN: usize = 200;

/// What a store's root record says (the PostgreSQL store reads its own the same way,
/// [`crate::pg`]'s `origin`).
pub(crate) enum Stamp {
    /// No record: a new store, or one made before the stamp existed.
    None,
    /// The root it holds.
    Root(String),
    /// A record of another shape, and what is wrong with it.
    Damaged(&'static str),
}

/// Reads the record and checks its shape: exactly one row of non-empty text.
fn stamp(conn: &Connection) -> rusqlite::Result<Stamp> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [TABLE],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Stamp::None);
    }
    let mut rows = conn.prepare(&format!("SELECT root FROM {TABLE} LIMIT 2"))?;
    let rows = rows
        .query_map([], |r| {
            Ok(match r.get::<_, Value>(0)? {
                Value::Text(root) => Some(root),
                _ => None,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(shape(rows))
}

/// The record's shape from its rows (at most two read; `None`: a root that is not text).
pub(crate) fn shape(rows: Vec<Option<String>>) -> Stamp {
    match <[_; 1]>::try_from(rows) {
        Ok([Some(root)]) if !root.is_empty() => Stamp::Root(root),
        Ok([Some(_)]) => Stamp::Damaged("its root is empty"),
        Ok([None]) => Stamp::Damaged("its root is not text"),
        Err(rows) if rows.is_empty() => Stamp::Damaged("it has no row"),
        Err(_) => Stamp::Damaged("it has more than one row"),
    }
}

/// Whether a claim of `root` takes the store: one with no record does, and so does one
/// that holds no data (re-stamped); otherwise the record stands.
pub(crate) fn takes(held: &Stamp, root: &str, holds_data: bool) -> bool {
    match held {
        Stamp::None => true,
        Stamp::Root(held) => held != root && !holds_data,
        Stamp::Damaged(_) => !holds_data,
    }
}

/// The answer to a claim of `root` by the store named `label` (`store s.db`) that found
/// `held` and did not take it: the same root is resumed, another refused
/// ([`InvalidInput`](ErrorKind::InvalidInput)), a damaged record an error.
pub(crate) fn verdict(label: &str, held: Stamp, root: &str) -> Result<()> {
    match held {
        Stamp::Root(held) if held != root => Err(refusal(label, &held, root)),
        Stamp::Damaged(why) => Err(damaged(label, why)),
        _ => Ok(()),
    }
}

/// `store s.db holds A, not B`. Whatever a copied store holds is shown on one line, cut,
/// and never with a password (a stamp is written without one; a planted one may not be).
pub(crate) fn refusal(label: &str, held: &str, root: &str) -> Error {
    let held = crate::http::redact_url(held);
    let mut shown: String = held.chars().take(SHOWN).collect();
    shown = shown.escape_debug().to_string();
    if held.chars().count() > SHOWN {
        shown.push('…');
    }
    Error::invalid_input(format!("{label} holds {shown}, not {root}"))
}

/// The error of a root record of another shape: the store is not what it says.
pub(crate) fn damaged(label: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Database,
        format!("{label}: its API root record is damaged ({why})"),
    )
}

impl Store {
    /// The API root this store holds ([`Store::claim_root`]), if one claimed it. A
    /// record of another shape is an error of kind [`Database`](ErrorKind::Database).
    pub fn api_root(&self) -> Result<Option<String>> {
        match self.with(|conn| stamp(conn))? {
            Stamp::None => Ok(None),
            Stamp::Root(root) => Ok(Some(root)),
            Stamp::Damaged(why) => Err(damaged(&self.label(), why)),
        }
    }

    /// Makes this the store of the API `root` (an [`identity`](crate::cache::identity):
    /// no credentials), or checks that it is: a store that holds no root yet takes this
    /// one, and so does one that holds no data (re-stamped); a store with data of another
    /// root is an error of kind [`InvalidInput`](ErrorKind::InvalidInput),
    /// `store s.db holds A, not B`, and one with data and a damaged record an error of
    /// kind [`Database`](ErrorKind::Database); in both, nothing in it changes. Call it
    /// before a crawl fetches anything.
    pub fn claim_root(&self, root: &str) -> Result<()> {
        let held = self.with(|conn| {
            // Taken for writing first: two crawls claiming one new store take turns.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let held = stamp(&tx)?;
            let holds_data: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM resources) OR EXISTS (SELECT 1 FROM lists)
                     OR EXISTS (SELECT 1 FROM misses)",
                [],
                |r| r.get(0),
            )?;
            let take = takes(&held, root, holds_data);
            if take {
                if !matches!(held, Stamp::None) {
                    // What the old root failed to answer is not this root's to retry.
                    tx.execute_batch(&format!("DELETE FROM {TABLE}; DELETE FROM failures;"))?;
                }
                tx.execute_batch(&format!(
                    "CREATE TABLE IF NOT EXISTS {TABLE} (root TEXT NOT NULL)"
                ))?;
                tx.execute(&format!("INSERT INTO {TABLE} (root) VALUES (?1)"), [root])?;
            }
            tx.commit()?;
            Ok((!take).then_some(held))
        })?;
        match held {
            Some(held) => verdict(&self.label(), held, root),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One list count, as a crawl stores it: data the stamp protects.
    fn store_a_list(store: &Store) {
        store
            .with(|c| c.execute("INSERT INTO lists VALUES ('type', 21, 0)", []))
            .unwrap();
    }

    /// Replaces the root record with `rows` (SQL values).
    fn plant(store: &Store, rows: &str) {
        store
            .with(|c| c.execute_batch(&format!("DELETE FROM {TABLE}; {rows}")))
            .unwrap();
    }

    #[test]
    fn the_first_root_is_kept_and_another_is_refused_leaving_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.api_root().unwrap(), None, "no root before a crawl");
        store.claim_root("http://a/api/v2").unwrap();
        store_a_list(&store);
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.api_root().unwrap().as_deref(),
            Some("http://a/api/v2")
        );
        store.claim_root("http://a/api/v2").unwrap();
        let err = store.claim_root("http://b/api/v2").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            format!(
                "store {} holds http://a/api/v2, not http://b/api/v2",
                path.display()
            )
        );
        assert_eq!(
            store.api_root().unwrap().as_deref(),
            Some("http://a/api/v2")
        );
        // A store with the root table still opens to be read, and is still a store.
        assert!(Store::open_existing(&path).is_ok());
    }

    #[test]
    fn a_store_with_no_data_takes_the_next_root_and_one_row_keeps_it() {
        let store = Store::open_in_memory().unwrap();
        store.claim_root("http://127.0.0.1:1/x/api/v2").unwrap();
        store
            .with(|c| {
                c.execute(
                    "INSERT INTO failures VALUES ('type', 1, 'refused', 1, 0)",
                    [],
                )
            })
            .unwrap();
        store.claim_root("embedded").unwrap();
        assert_eq!(store.api_root().unwrap().as_deref(), Some("embedded"));
        let failures: i64 = store
            .with(|c| c.query_row("SELECT count(*) FROM failures", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(failures, 0, "the old root's failures were kept");
        let rows: i64 = store
            .with(|c| c.query_row(&format!("SELECT count(*) FROM {TABLE}"), [], |r| r.get(0)))
            .unwrap();
        assert_eq!(rows, 1, "re-stamped, not stamped twice");

        // One stored resource is data: the stamp holds.
        store
            .with(|c| {
                c.execute(
                    "INSERT INTO resources (endpoint, id, url, status, body, sha256, fetched_at)
                     VALUES ('type', 1, 'u', 200, x'7b7d', 'h', 0)",
                    [],
                )
            })
            .unwrap();
        let err = store.claim_root("http://b/api/v2").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(store.api_root().unwrap().as_deref(), Some("embedded"));
    }

    #[test]
    fn a_damaged_record_is_an_error_with_data_and_replaced_without() {
        let shapes = [
            (
                "INSERT INTO api_root VALUES ('embedded'), ('http://o/api/v2');",
                "it has more than one row",
            ),
            ("INSERT INTO api_root VALUES ('');", "its root is empty"),
            (
                "INSERT INTO api_root VALUES (x'00ff');",
                "its root is not text",
            ),
            ("", "it has no row"),
        ];
        for (rows, why) in shapes {
            let store = Store::open_in_memory().unwrap();
            store.claim_root("embedded").unwrap();
            store_a_list(&store);
            plant(&store, rows);
            let want = format!("store (memory): its API root record is damaged ({why})");
            for err in [
                store.claim_root("embedded").unwrap_err(),
                store.api_root().unwrap_err(),
            ] {
                assert_eq!(err.kind(), ErrorKind::Database, "{err}");
                assert_eq!(err.to_string(), want);
            }

            // Without data there is nothing to protect: the record is made anew.
            let empty = Store::open_in_memory().unwrap();
            empty.claim_root("x").unwrap();
            plant(&empty, rows);
            empty.claim_root("embedded").unwrap();
            assert_eq!(
                empty.api_root().unwrap().as_deref(),
                Some("embedded"),
                "{why}"
            );
        }
    }

    #[test]
    fn a_hostile_stored_root_is_shown_on_one_line_and_cut() {
        let store = Store::open_in_memory().unwrap();
        store.claim_root("x").unwrap();
        store_a_list(&store);
        let planted = format!("evil\nroot{}", "r".repeat(500));
        store
            .with(|c| c.execute(&format!("UPDATE {TABLE} SET root = ?1"), [&planted]))
            .unwrap();
        let err = store.claim_root("embedded").unwrap_err().to_string();
        assert!(!err.contains('\n') && err.contains("evil\\nroot"), "{err}");
        assert!(err.len() < 300 && err.contains('…'), "{err}");
    }

    #[test]
    fn a_planted_password_in_the_stamp_is_never_shown() {
        let store = Store::open_in_memory().unwrap();
        store.claim_root("x").unwrap();
        store_a_list(&store);
        store
            .with(|c| {
                c.execute(
                    &format!("UPDATE {TABLE} SET root = ?1"),
                    ["http://ash:hunter2@127.0.0.1:9/api/v2"],
                )
            })
            .unwrap();
        let err = store.claim_root("embedded").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("http://ash:***@127.0.0.1:9/api/v2"), "{err}");
    }
}
