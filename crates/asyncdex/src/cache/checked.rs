//! Checked reads: a body the cache would serve is first checked against the SHA-256 it
//! was written with, as a store's reads are (`store::checked`).
//!
//! A cached answer is served as a 200 "from disk", so a body changed behind the cache's
//! back (a disk error, an edit) would otherwise reach the caller as if the server had
//! sent it: a flipped bit becomes a decode error blamed on the server's URL, with no
//! refetch for as long as the entry is fresh. The cache, unlike a store, holds nothing
//! the network cannot give again: a damaged entry is dropped (best effort) and the call
//! goes to the network, as a miss, and counted ([`Counts::damaged`](super::Counts)) so
//! the run can say so.

use bytes::Bytes;
use rusqlite::{params, OptionalExtension};

use crate::error::Result;
use crate::store::{sha256_hex, Store};

/// What the file holds for an entry.
pub(super) enum Read {
    /// A fresh body, intact.
    Fresh(Bytes),
    /// A fresh entry whose body is not the one written: dropped.
    Damaged,
    /// No entry, or an expired one.
    Absent,
}

/// The entry `endpoint`/`key` (an id, a name or a list page's query), checked, as of
/// `now` (ms since the epoch). A damaged one is deleted; if the delete fails, the
/// fresh answer written next replaces it all the same.
pub(super) fn read(store: &Store, endpoint: &str, key: &str, now: i64) -> Result<Read> {
    let by_id = key.parse::<i32>().ok();
    let found = store.with_conn(|conn| {
        let sql = if by_id.is_some() {
            "SELECT id, body, sha256, expires_at FROM resources WHERE endpoint = ?1 AND id = ?2"
        } else {
            "SELECT id, body, sha256, expires_at FROM resources WHERE endpoint = ?1 AND name = ?2"
        };
        let mut stmt = conn.prepare_cached(sql)?;
        let key: &dyn rusqlite::ToSql = match &by_id {
            Some(id) => id,
            None => &key,
        };
        stmt.query_row(params![endpoint, key], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()
    })?;
    let Some((id, body, sha, expires_at)) = found else {
        return Ok(Read::Absent);
    };
    if expires_at.is_none_or(|t| t <= now) {
        return Ok(Read::Absent);
    }
    if sha256_hex(&body) != sha {
        let _ = store.with_conn(|conn| {
            conn.execute(
                "DELETE FROM resources WHERE endpoint = ?1 AND id = ?2",
                params![endpoint, id],
            )
        });
        return Ok(Read::Damaged);
    }
    Ok(Read::Fresh(Bytes::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Row;

    #[test]
    fn a_damaged_body_is_dropped_and_an_intact_one_served() {
        let dir = tempfile::tempdir().unwrap();
        let cache = super::super::Cache::open(dir.path(), "http://h/api/v2").unwrap();
        let store = cache.store().unwrap();
        let now = crate::store::now_ms();
        let body = br#"{"id":1,"name":"bulbasaur"}"#;
        let mut row = Row::new("pokemon", 1, Some("bulbasaur".into()), body.to_vec());
        row.expires_at = Some(now + 60_000);
        store.put(&[row]).unwrap();
        assert!(matches!(read(&store, "pokemon", "bulbasaur", now).unwrap(),
            Read::Fresh(b) if b.as_ref() == body));
        store
            .with_conn(|c| c.execute("UPDATE resources SET body = x'7b7d' WHERE id = 1", []))
            .unwrap();
        assert!(matches!(
            read(&store, "pokemon", "1", now).unwrap(),
            Read::Damaged
        ));
        // Dropped: the next read finds nothing.
        assert!(matches!(
            read(&store, "pokemon", "1", now).unwrap(),
            Read::Absent
        ));
    }
}
