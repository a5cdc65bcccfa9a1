//! How much a cache keeps: a byte budget per file, and a cap on how long an answer counts
//! as fresh.
//!
//! The cache is on by default for a remote API, so whatever that API sends is written to
//! the user's disk: without a bound, a few hundred large answers fill it (400 answers of
//! 0.8 MB made a 321 MB file). Two bounds hold whatever a server says:
//!
//! - [`DEFAULT_BUDGET`] bytes per cache file (the pages SQLite uses, free pages not
//!   counted). A write that takes the file over its budget evicts first what has expired,
//!   then the oldest answers, until it is back under three quarters of it; an answer
//!   larger than half the budget is not kept at all. A file never grows much past its
//!   budget, and SQLite reuses the pages freed;
//! - [`MAX_AGE_CAP`]: an answer is fresh for at most a week, whatever its `max-age` says
//!   (`max-age=31536000000`, a thousand years, is a week).

use std::time::Duration;

use rusqlite::{params, Connection};

/// The byte budget of one cache file, unless set otherwise: 512 MiB.
pub const DEFAULT_BUDGET: u64 = 512 << 20;

/// The longest an answer is kept as fresh: 7 days.
pub const MAX_AGE_CAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// The bytes the database's pages hold now (free pages not counted).
pub(super) fn used(conn: &Connection) -> rusqlite::Result<u64> {
    let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
    let pages = pragma("page_count")? - pragma("freelist_count")?;
    Ok(pages.max(0) as u64 * pragma("page_size")?.max(0) as u64)
}

/// The indexes eviction walks, made in every cache file: by age and by expiry. Without
/// them, finding the oldest rows would read every body (both columns sit after the body
/// in a row, so SQLite reads a large body's overflow pages to reach them).
pub(super) const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS cache_by_age ON resources (fetched_at);
CREATE INDEX IF NOT EXISTS cache_by_expiry ON resources (expires_at);
";

/// Brings the file under its `budget` if it is over: what has expired goes first, then
/// the oldest answers, until three quarters of the budget are used. Returns how many
/// rows were evicted.
pub(super) fn evict(conn: &mut Connection, budget: u64, now: i64) -> rusqlite::Result<u64> {
    if used(conn)? <= budget {
        return Ok(0);
    }
    let target = budget / 4 * 3;
    let tx = conn.transaction()?;
    // Two statements, each by the expiry index (an `OR` would read every row).
    let mut evicted = tx.execute("DELETE FROM resources WHERE expires_at <= ?1", [now])? as u64;
    evicted += tx.execute("DELETE FROM resources WHERE expires_at IS NULL", [])? as u64;
    tx.execute("DELETE FROM misses WHERE expires_at <= ?1", [now])?;
    // The oldest first, by the age index, as many as should free what is over (a few
    // passes at most: a row takes a little more than its body).
    for _ in 0..4 {
        let over = used(&tx)?.saturating_sub(target);
        if over == 0 {
            break;
        }
        let mut oldest = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT endpoint, id, length(body) FROM resources ORDER BY fetched_at",
            )?;
            let mut rows = stmt.query([])?;
            let mut freed = 0u64;
            while let Some(r) = rows.next()? {
                if freed >= over {
                    break;
                }
                freed += r.get::<_, i64>(2)?.max(0) as u64 + ROW_OVERHEAD;
                oldest.push((r.get::<_, String>(0)?, r.get::<_, i64>(1)?));
            }
        }
        if oldest.is_empty() {
            break;
        }
        let mut delete =
            tx.prepare_cached("DELETE FROM resources WHERE endpoint = ?1 AND id = ?2")?;
        for (endpoint, id) in &oldest {
            evicted += delete.execute(params![endpoint, id])? as u64;
        }
    }
    tx.commit()?;
    Ok(evicted)
}

/// What a row takes besides its body, roughly (its key, name, digest, index entries).
const ROW_OVERHEAD: u64 = 160;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{now_ms, Row, Store};

    #[test]
    fn over_budget_expired_goes_first_then_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_cache(&dir.path().join("c.db")).unwrap();
        store.with_conn(|c| c.execute_batch(INDEXES)).unwrap();
        let now = now_ms();
        let row = |id: i32, fetched: i64, expires: i64| {
            let mut r = Row::new(
                "pokemon",
                id,
                None,
                format!(r#"{{"id":{id},"p":"{}"}}"#, "x".repeat(20_000)).into_bytes(),
            );
            r.fetched_at = fetched;
            r.expires_at = Some(expires);
            r
        };
        // 1: expired; 2..=40: fresh, fetched in order.
        let mut rows = vec![row(1, now - 10, now - 1)];
        rows.extend((2..=40).map(|id| row(id, now + i64::from(id), now + 60_000)));
        store.put(&rows).unwrap();
        let before = store.with_conn(|c| used(c)).unwrap();
        let budget = before / 2;
        let gone = store.with_conn(|c| evict(c, budget, now)).unwrap();
        assert!(gone > 1, "{gone}");
        assert!(store.with_conn(|c| used(c)).unwrap() <= budget / 4 * 3);
        assert!(
            store.get("pokemon", "1").unwrap().is_none(),
            "the expired row went first"
        );
        assert!(
            store.get("pokemon", "2").unwrap().is_none(),
            "then the oldest"
        );
        assert!(
            store.get("pokemon", "40").unwrap().is_some(),
            "the newest stays"
        );
        // Under budget: nothing goes.
        assert_eq!(store.with_conn(|c| evict(c, u64::MAX, now)).unwrap(), 0);
    }
}
