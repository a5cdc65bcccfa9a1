//! Checked reads: an entry the cache would answer from is first checked as the network's
//! answer would be, and against what the cache wrote.
//!
//! A cached answer is served as a 200 "from disk", so an entry changed behind the cache's
//! back (a disk error, an edit, a file copied from elsewhere) would otherwise reach the
//! caller as if the server had sent it: a flipped bit becomes a decode error blamed on
//! the server's URL, on every run for as long as the entry says it is fresh. So the one
//! read the cache answers from ([`read`]) takes nothing on the row's word:
//!
//! - fresh: its `expires_at` is ahead, *and* its age from `fetched_at` is under
//!   [`MAX_AGE_CAP`](super::MAX_AGE_CAP), *and* `fetched_at` is not in the future (past
//!   [`CLOCK_SLACK`]); otherwise it is stale: fetched again, and the answer replaces it;
//! - within this run's `--max-body` ([`HttpOptions::max_body`](crate::http::HttpOptions::max_body)):
//!   a larger body is not read from the file at all, and the call goes to the network,
//!   whose reader enforces the limit (a cache written with a larger limit never
//!   bypasses a smaller one);
//! - intact: its status is 200 (the only one kept as a row), its body the one written
//!   (its SHA-256), and the resource asked for: a JSON object nested at most
//!   [`MAX_JSON_DEPTH`](crate::pokeapi::MAX_JSON_DEPTH) levels whose own `id` and `name`
//!   are the row's ([`check_resource_of`], as the client checks the network's answer).
//!
//! The cache, unlike a store, holds nothing the network cannot give again: an entry that
//! is not intact is dropped (best effort), said once, and the call goes to the network as
//! a miss, counted ([`Counts::damaged`](super::Counts)) so the run can say so. A stale or
//! too-large one is simply not answered from.

use std::time::Duration;

use bytes::Bytes;
use rusqlite::types::ValueRef;
use rusqlite::{params, OptionalExtension};

use super::MAX_AGE_CAP;
use crate::error::Result;
use crate::pokeapi::{check_resource_of, Claim, Shape};
use crate::store::{sha256_hex, Store};

/// How far in the future an entry's `fetched_at` may be (the clock set back a little
/// since it was written) before it is taken as damage, and the entry as stale.
pub(super) const CLOCK_SLACK: Duration = Duration::from_secs(60);

/// What the file holds for an entry.
pub(super) enum Read {
    /// A fresh body, checked.
    Fresh(Bytes),
    /// A fresh entry that is not what the cache writes (not the body written, not a 200,
    /// not the resource asked for): dropped. Why, in a few words.
    Damaged(String),
    /// No entry, or not one to answer from: expired, stale by its age, or larger than
    /// the run's body limit.
    Absent,
}

/// What an entry is read against, besides itself.
pub(super) struct Bounds {
    /// Now, in ms since the epoch.
    pub(super) now: i64,
    /// The largest body the run accepts ([`HttpOptions::max_body`](crate::http::HttpOptions::max_body)).
    pub(super) max_body: u64,
}

impl Bounds {
    /// Whether an entry fetched at `fetched_at` that expires at `expires_at` is fresh now.
    fn fresh(&self, fetched_at: i64, expires_at: Option<i64>) -> bool {
        let (cap, slack) = (millis(MAX_AGE_CAP), millis(CLOCK_SLACK));
        expires_at.is_some_and(|t| t > self.now)
            && fetched_at <= self.now.saturating_add(slack)
            && self.now.saturating_sub(fetched_at) < cap
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One row, as read.
struct Found {
    id: i64,
    name: Option<String>,
    status: i64,
    fetched_at: i64,
    expires_at: Option<i64>,
    /// `None`: larger than the bound (not read).
    body: Option<Vec<u8>>,
    sha256: String,
}

/// The entry `endpoint`/`key` (an id, a name or a list page's query), checked (see the
/// module docs) against `bounds`. A damaged one is deleted; if the delete fails, the
/// fresh answer written next replaces it all the same.
pub(super) fn read(store: &Store, endpoint: &str, key: &str, bounds: &Bounds) -> Result<Read> {
    let by_id = key.parse::<i32>().ok();
    let max_body = i64::try_from(bounds.max_body).unwrap_or(i64::MAX);
    let found = store.with_conn(|conn| {
        // The body only if within the bound: a larger one is never loaded.
        let columns = "SELECT id, name, status, fetched_at, expires_at, \
             CASE WHEN length(body) <= ?3 THEN body END, sha256 FROM resources";
        let sql = if by_id.is_some() {
            format!("{columns} WHERE endpoint = ?1 AND id = ?2")
        } else {
            format!("{columns} WHERE endpoint = ?1 AND name = ?2")
        };
        let mut stmt = conn.prepare_cached(&sql)?;
        let key: &dyn rusqlite::ToSql = match &by_id {
            Some(id) => id,
            None => &key,
        };
        stmt.query_row(params![endpoint, key, max_body], |r| {
            // A body edited in as text is bytes all the same (then checked).
            let body = match r.get_ref(5)? {
                ValueRef::Blob(b) | ValueRef::Text(b) => Some(b.to_vec()),
                _ => None,
            };
            Ok(Found {
                id: r.get(0)?,
                name: r.get(1)?,
                status: r.get(2)?,
                fetched_at: r.get(3)?,
                expires_at: r.get(4)?,
                body,
                sha256: r.get(6)?,
            })
        })
        .optional()
    })?;
    let Some(found) = found else {
        return Ok(Read::Absent);
    };
    if !bounds.fresh(found.fetched_at, found.expires_at) {
        return Ok(Read::Absent);
    }
    let Some(body) = found.body.as_deref() else {
        return Ok(Read::Absent);
    };
    if let Err(why) = intact(endpoint, &found, body) {
        let _ = store.with_conn(|conn| {
            conn.execute(
                "DELETE FROM resources WHERE endpoint = ?1 AND id = ?2",
                params![endpoint, found.id],
            )
        });
        return Ok(Read::Damaged(why));
    }
    Ok(Read::Fresh(Bytes::from(found.body.unwrap_or_default())))
}

/// Whether `found` (`body` its body) is an entry the cache would have written for
/// `endpoint`: why not, otherwise.
fn intact(endpoint: &str, found: &Found, body: &[u8]) -> std::result::Result<(), String> {
    if found.status != 200 {
        return Err(format!("its status is {}, not 200", found.status));
    }
    if sha256_hex(body) != found.sha256 {
        return Err("its body is not the one written (its SHA-256 differs)".into());
    }
    // A list page is kept by its query (its row's name), and says no id or name of its own.
    let claim = if endpoint.ends_with(super::entries::LIST) {
        Claim::default()
    } else {
        Claim {
            id: Some(found.id),
            name: found.name.as_deref(),
        }
    };
    check_resource_of(body, Shape::Object, &claim).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!("its body is not the resource ({e})"),
        _ => format!("its body is not JSON ({e})"),
    })
}

/// Whether `endpoint`/`key` is remembered as not found as of `now`: a miss is kept at
/// most [`NOT_FOUND_TTL`](super::NOT_FOUND_TTL), so one said to last longer is damage
/// and not believed.
pub(super) fn missing(store: &Store, endpoint: &str, key: &str, now: i64) -> Result<bool> {
    let longest = now
        .saturating_add(millis(super::NOT_FOUND_TTL))
        .saturating_add(millis(CLOCK_SLACK));
    Ok(store
        .get_miss(endpoint, key)?
        .is_some_and(|until| until > now && until <= longest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Row;

    fn bounds(now: i64) -> Bounds {
        Bounds {
            now,
            max_body: u64::MAX,
        }
    }

    fn seeded() -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let cache = super::super::Cache::open(dir.path(), "http://h/api/v2").unwrap();
        let store = cache.store().unwrap();
        let now = crate::store::now_ms();
        let body = br#"{"id":1,"name":"bulbasaur"}"#;
        let mut row = Row::new("pokemon", 1, Some("bulbasaur".into()), body.to_vec());
        row.expires_at = Some(now + 60_000);
        store.put(&[row]).unwrap();
        (dir, store, now)
    }

    fn set(store: &Store, sql: &str) {
        store.with_conn(|c| c.execute(sql, [])).unwrap();
    }

    #[test]
    fn a_damaged_body_is_dropped_and_an_intact_one_served() {
        let (_dir, store, now) = seeded();
        let body = br#"{"id":1,"name":"bulbasaur"}"#;
        assert!(
            matches!(read(&store, "pokemon", "bulbasaur", &bounds(now)).unwrap(),
            Read::Fresh(b) if b.as_ref() == body)
        );
        set(&store, "UPDATE resources SET body = x'7b7d' WHERE id = 1");
        assert!(matches!(
            read(&store, "pokemon", "1", &bounds(now)).unwrap(),
            Read::Damaged(why) if why.contains("SHA-256")
        ));
        // Dropped: the next read finds nothing.
        assert!(matches!(
            read(&store, "pokemon", "1", &bounds(now)).unwrap(),
            Read::Absent
        ));
    }

    #[test]
    fn a_body_with_its_digest_that_is_not_the_resource_is_dropped() {
        for (body, said) in [
            ("not json", "is not JSON"),
            ("[1,2]", "expected a JSON object, got an array"),
            (r#"{"id":7,"name":"squirtle"}"#, "its id is 7, not 1"),
        ] {
            let (_dir, store, now) = seeded();
            let sha = sha256_hex(body.as_bytes());
            store
                .with_conn(|c| {
                    c.execute(
                        "UPDATE resources SET body = ?1, sha256 = ?2 WHERE id = 1",
                        params![body.as_bytes(), sha],
                    )
                })
                .unwrap();
            match read(&store, "pokemon", "1", &bounds(now)).unwrap() {
                Read::Damaged(why) => assert!(why.contains(said), "{body}: {why}"),
                _ => panic!("{body}: answered or absent"),
            }
            assert!(matches!(
                read(&store, "pokemon", "1", &bounds(now)).unwrap(),
                Read::Absent
            ));
        }
    }

    #[test]
    fn freshness_is_the_row_age_capped_and_a_status_not_200_is_damage() {
        let week = millis(MAX_AGE_CAP);
        for (sql, damaged) in [
            // Fetched in 1970, "fresh" for ever: stale by its age.
            (
                format!(
                    "UPDATE resources SET fetched_at = 0, expires_at = {}",
                    i64::MAX
                ),
                false,
            ),
            (
                format!("UPDATE resources SET fetched_at = {}", i64::MAX),
                false,
            ),
            (
                "UPDATE resources SET fetched_at = fetched_at - ".to_owned() + &week.to_string(),
                false,
            ),
            ("UPDATE resources SET status = 500".to_owned(), true),
            ("UPDATE resources SET status = -1".to_owned(), true),
        ] {
            let (_dir, store, now) = seeded();
            set(&store, &sql);
            let read = read(&store, "pokemon", "1", &bounds(now)).unwrap();
            match (read, damaged) {
                (Read::Absent, false) | (Read::Damaged(_), true) => {}
                (Read::Fresh(_), _) => panic!("{sql}: answered from disk"),
                _ => panic!("{sql}: not as expected"),
            }
        }
    }

    #[test]
    fn a_body_over_the_limit_is_not_read() {
        let (_dir, store, now) = seeded();
        let over = Bounds { now, max_body: 10 };
        assert!(matches!(
            read(&store, "pokemon", "1", &over).unwrap(),
            Read::Absent
        ));
        // Not dropped: within a larger limit, it answers.
        assert!(matches!(
            read(&store, "pokemon", "1", &bounds(now)).unwrap(),
            Read::Fresh(_)
        ));
    }

    #[test]
    fn a_miss_said_to_last_longer_than_a_miss_is_kept_is_not_believed() {
        let (_dir, store, now) = seeded();
        store.put_miss("pokemon", "nope", now + 60_000).unwrap();
        assert!(missing(&store, "pokemon", "nope", now).unwrap());
        store.put_miss("pokemon", "nope", i64::MAX).unwrap();
        assert!(!missing(&store, "pokemon", "nope", now).unwrap());
    }
}
