//! One rate for the whole crawl, however many workers share it: `--rate 50` with three
//! workers is 50 requests a second in all, not 150.
//!
//! The database keeps one timestamp, `next_at`: the moment the crawl's next request may
//! start (a GCRA, "generic cell rate algorithm", the token bucket written as a time). A
//! worker reserves a few slots at once by pushing it forward in one statement,
//!
//! ```sql
//! UPDATE rate SET next_at = greatest(next_at, clock_timestamp()) + n / rate
//! ```
//!
//! and the row lock makes two reservations follow each other, never overlap: every
//! worker's slots are its own stretch of the crawl's one timeline. The worker then starts
//! one request per slot, `1 / rate` apart. The delay is computed by the server against
//! its own clock, so workers on machines whose clocks disagree still share it exactly.
//!
//! A reservation covers about a fifth of a second (between 1 and 32 slots): few round
//! trips (five a second per worker at most), and a worker killed with `kill -9` wastes
//! at most that much of the crawl's budget, never exceeds it.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::PgStore;
use crate::error::{Error, Result};

/// Slots reserved per round trip, at most.
const MAX_CHUNK: u32 = 32;

#[derive(Debug)]
struct Slots {
    start: Instant,
    next: u32,
    len: u32,
}

/// A worker's share of the crawl's one rate.
#[derive(Debug)]
pub struct SharedRate {
    store: PgStore,
    per_second: f64,
    chunk: u32,
    slots: Mutex<Slots>,
}

impl SharedRate {
    /// At most `per_second` requests start per second across every worker sharing
    /// `store` (each worker passes the same rate).
    pub fn new(store: PgStore, per_second: f64) -> Result<SharedRate> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return Err(Error::invalid_input(format!(
                "the rate must be a positive number of requests per second, not {per_second}"
            )));
        }
        let chunk = ((per_second / 5.0).ceil() as u32).clamp(1, MAX_CHUNK);
        Ok(SharedRate {
            store,
            per_second,
            chunk,
            slots: Mutex::new(Slots {
                start: Instant::now(),
                next: 0,
                len: 0,
            }),
        })
    }

    /// Waits until this worker's next slot; reserves more from the database when its
    /// slots are spent.
    pub async fn acquire(&self) -> Result<()> {
        let at = {
            let mut slots = self.slots.lock().await;
            if slots.next >= slots.len {
                *slots = self.reserve().await?;
            }
            let at = slots.start + self.interval() * slots.next;
            slots.next += 1;
            at
        };
        tokio::time::sleep_until(at).await;
        Ok(())
    }

    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second)
    }

    async fn reserve(&self) -> Result<Slots> {
        let span = f64::from(self.chunk) / self.per_second;
        let client = self.store.client().await?;
        let row = client
            .query_one(
                "INSERT INTO asyncdex.rate (name, next_at)
                 VALUES ('crawl', clock_timestamp() + $1 * interval '1 second')
                 ON CONFLICT (name) DO UPDATE
                 SET next_at = greatest(asyncdex.rate.next_at, clock_timestamp())
                               + $1 * interval '1 second'
                 RETURNING extract(epoch FROM (next_at - clock_timestamp()))::float8",
                &[&span],
            )
            .await
            .map_err(self.store.error("cannot reserve from the shared rate"))?;
        let ends_in: f64 = row.get(0);
        let starts_in = (ends_in - span).max(0.0);
        Ok(Slots {
            start: Instant::now() + Duration::from_secs_f64(starts_in),
            next: 0,
            len: self.chunk,
        })
    }
}
