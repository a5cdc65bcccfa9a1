//! What a stopping worker does with its leases: it hands them back.
//!
//! A worker's lanes release what they leased and never finished as they stop
//! ([`Settled::Released`](super::queue::Settled::Released)). That covers the
//! orderly stop, not every stop: a lane whose settle was abandoned after a signal's grace
//! ([`super::outage::GRACE`]), or that failed, ends the others where they stand, and
//! their batches stay leased to a worker that no longer renews them. The next worker
//! then waits a whole lease (`--lease`, 30 s by default) for rows nobody is fetching.
//!
//! So the last thing a worker does is one statement: every row still leased to its
//! name goes back to `todo` ([`Queue::hand_back`]). The name is this process's own
//! ([`Queue::owner`]), so the statement also covers the rows of a lease whose answer was
//! lost ([`super::outage`]), and it can never touch another worker's. It is bounded in
//! time ([`HAND_BACK_WITHIN`]), because a signal asked the process to stop, and skipped
//! when the connection is known to be gone ([`PgStore::away`](super::PgStore::away)):
//! whatever it could not hand back expires as before, so nothing is lost either way.

use std::time::Duration;

use super::queue::Queue;
use crate::error::{Error, ErrorKind, Result};

/// How long a stopping worker may spend handing its leases back.
pub const HAND_BACK_WITHIN: Duration = Duration::from_secs(3);

impl Queue {
    /// Puts every row still leased to this worker back in the queue (see the module):
    /// how many. Within [`HAND_BACK_WITHIN`]; nothing is asked of a server the worker
    /// lost ([`PgStore::away`](super::PgStore::away)).
    pub async fn hand_back(&self) -> Result<u64> {
        if self.store.away() {
            return Ok(0);
        }
        let work = async {
            let client = self.store.client().await?;
            client
                .execute(
                    "UPDATE asyncdex.queue SET state = 'todo', owner = NULL, lease_until = NULL
                     WHERE owner = $1 AND state = 'leased'",
                    &[&self.owner],
                )
                .await
                .map_err(self.store.error("cannot hand back leases"))
        };
        let handed = tokio::time::timeout(HAND_BACK_WITHIN, work)
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "{}: cannot hand back leases within {} s",
                        self.store.describe(),
                        HAND_BACK_WITHIN.as_secs()
                    ),
                ))
            })?;
        if let Ok(mut held) = self.held.lock() {
            held.clear();
        }
        Ok(handed)
    }
}
