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
//! ```
//! use asyncdex::store::Store;
//!
//! let store = Store::open_in_memory()?;
//! store.claim_root("http://127.0.0.1:8000/api/v2")?;
//! store.claim_root("http://127.0.0.1:8000/api/v2")?; // the same root: resumed
//! let err = store.claim_root("embedded").unwrap_err();
//! assert_eq!(err.to_string(), "store (memory) holds http://127.0.0.1:8000/api/v2, not embedded");
//! # Ok::<(), asyncdex::Error>(())
//! ```

use rusqlite::{OptionalExtension, TransactionBehavior};

use super::Store;
use crate::error::{Error, Result};

/// The table that keeps the root: one row, made by the first crawl into the store.
pub(super) const TABLE: &str = "api_root";

/// The longest stored root a refusal shows, in characters.
const SHOWN: usize = 200;

impl Store {
    /// The API root this store holds ([`Store::claim_root`]), if one claimed it.
    pub fn api_root(&self) -> Result<Option<String>> {
        self.with(|conn| {
            let exists: bool = conn.query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [TABLE],
                |r| r.get(0),
            )?;
            if !exists {
                return Ok(None);
            }
            conn.query_row(&format!("SELECT root FROM {TABLE} LIMIT 1"), [], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// Makes this the store of the API `root` (an [`identity`](crate::cache::identity):
    /// no credentials), or checks that it is: a store that holds no root yet takes this
    /// one; a store of another root is an error of kind
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput), `store s.db holds A, not B`,
    /// and nothing in it changes. Call it before a crawl fetches anything.
    pub fn claim_root(&self, root: &str) -> Result<()> {
        let held = self.with(|conn| {
            // Taken for writing first: two crawls claiming one new store take turns.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {TABLE} (root TEXT NOT NULL)"
            ))?;
            let held: Option<String> = tx
                .query_row(&format!("SELECT root FROM {TABLE} LIMIT 1"), [], |r| {
                    r.get(0)
                })
                .optional()?;
            if held.is_none() {
                tx.execute(&format!("INSERT INTO {TABLE} (root) VALUES (?1)"), [root])?;
            }
            tx.commit()?;
            Ok(held)
        })?;
        match held {
            Some(held) if held != root => {
                // Whatever a copied file holds is shown on one line, cut.
                let mut shown: String = held.chars().take(SHOWN).collect();
                shown = shown.escape_debug().to_string();
                if held.chars().count() > SHOWN {
                    shown.push('…');
                }
                Err(Error::invalid_input(format!(
                    "{} holds {shown}, not {root}",
                    self.label()
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_root_is_kept_and_another_is_refused_leaving_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.api_root().unwrap(), None, "no root before a crawl");
        store.claim_root("http://a/api/v2").unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.api_root().unwrap().as_deref(),
            Some("http://a/api/v2")
        );
        store.claim_root("http://a/api/v2").unwrap();
        let err = store.claim_root("http://b/api/v2").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
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
    fn a_hostile_stored_root_is_shown_on_one_line_and_cut() {
        let store = Store::open_in_memory().unwrap();
        store.claim_root("x").unwrap();
        let planted = format!("evil\nroot{}", "r".repeat(500));
        store
            .with(|c| c.execute(&format!("UPDATE {TABLE} SET root = ?1"), [&planted]))
            .unwrap();
        let err = store.claim_root("embedded").unwrap_err().to_string();
        assert!(!err.contains('\n') && err.contains("evil\\nroot"), "{err}");
        assert!(err.len() < 300 && err.contains('…'), "{err}");
    }
}
