//! Riding out an outage: a server restarted mid-crawl is a pause, not the end.
//!
//! A worker's database calls ([`ride_out`]) that fail because the connection was lost
//! (reset, closed, refused, the server shutting down: [`is_lost`]) are made again, on a
//! new connection from the pool, after a wait that doubles from 100 ms to 2 s, for at most
//! [`OUTAGE`] (30 s) from the first failure: much longer than a restart (a fast shutdown
//! and a start take seconds), and as long as a default lease: past it, the worker's
//! leases have expired and other workers may be doing its work, so waiting longer buys
//! little, while a server that is gone is reported within half a minute.
//!
//! Retrying is safe because every call is one transaction, or one statement:
//!
//! - a call that failed before its commit changed nothing;
//! - a settle whose commit went through but whose answer was lost finds, when it is made
//!   again, its rows no longer leased by this worker, and writes nothing twice;
//! - a lease whose answer was lost leaves rows leased to this worker that it never
//!   heard of. Renewals only extend the leases the worker knows it holds
//!   ([`super::queue::Queue::renew`]), so those expire and are leased again.
//!
//! Leases are kept when the outage is shorter than a lease (renewals resume); after a
//! longer one the rows a worker still holds but another took over are settled by that
//! other worker, never twice. When the server stays away past [`OUTAGE`] the worker stops
//! like an interrupted crawl: the store records why ([`PgStore::gave_up`]), the worker
//! reports what it did, and says why in one line.
//!
//! A stop signal during an outage ends the wait at once, and so does it a call made
//! again meanwhile (abandoning a retry is as safe as its failing, for the reasons
//! above). A first call gets [`GRACE`] to finish after the signal: it is usually the
//! settle that saves what was fetched, but a server that stopped answering mid-call
//! must not keep a Ctrl-C waiting for the whole silence deadline. The
//! store then says it was interrupted ([`PgStore::interrupted`]): the worker stops as
//! an interrupted crawl does, not as one whose server went away.
//!
//! A server that stops answering without closing is an outage too: its connection fails
//! after [`super::silence::ANSWER_DEADLINE`] of silence, and the call is made again.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use super::PgStore;
use crate::error::{Error, ErrorKind, Result};

/// How long a worker waits for the server to come back, at most.
pub const OUTAGE: Duration = Duration::from_secs(30);
/// The first wait before a call is made again; it doubles up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(100);
/// The longest wait between two tries.
const LONGEST_WAIT: Duration = Duration::from_secs(2);
/// How long a call under way when the stop signal comes may still take (see the module);
/// an abandoned call is as safe as a failed one.
pub const GRACE: Duration = Duration::from_secs(5);

/// True when `e` says the connection was lost or could not be made (worth a new one),
/// rather than that the server refused the work.
pub fn is_lost(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Connect | ErrorKind::Network)
}

/// True for the SQLSTATEs of a server going away: class 08 (connection exception) and
/// 57P01-57P03 (shutting down, crashed, not accepting connections yet).
pub(super) fn is_lost_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// Makes `call` until it succeeds, fails otherwise than [`is_lost`], or the connection
/// has been lost for [`OUTAGE`] (then `store` records why, and that is the error); a
/// cancelled `cancel` ends the wait at once.
pub async fn ride_out<T, F, Fut>(store: &PgStore, cancel: &CancellationToken, call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    ride_out_for(store, cancel, OUTAGE, call).await
}

/// [`ride_out`] with an outage of `limit`.
pub(crate) async fn ride_out_for<T, F, Fut>(
    store: &PgStore,
    cancel: &CancellationToken,
    limit: Duration,
    mut call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut wait = FIRST_WAIT;
    let mut since: Option<Instant> = None;
    let mut last = String::new();
    let shown = store.describe();
    loop {
        // A call made again is abandoned at a stop signal; a first one gets [`GRACE`].
        let grace = if since.is_none() {
            GRACE
        } else {
            Duration::ZERO
        };
        let got = tokio::select! {
            got = call() => Some(got),
            () = async {
                cancel.cancelled().await;
                tokio::time::sleep(grace).await;
            } => None,
        };
        if let Some(got) = got {
            let e = match got {
                Ok(v) => return Ok(v),
                Err(e) if !is_lost(&e) => return Err(e),
                Err(e) => e,
            };
            if let Some(why) = store.gave_up() {
                // Another call already gave up: no point waiting again.
                return Err(Error::new(ErrorKind::Network, why));
            }
            // The last error without the store's name (the line starts with it).
            last = e
                .to_string()
                .replace(&format!(" to {shown}"), "")
                .replace(&format!("{shown}: "), "");
        }
        let lost = since.get_or_insert_with(Instant::now).elapsed();
        if lost < limit && !cancel.is_cancelled() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => {}
            }
        }
        let why = if cancel.is_cancelled() {
            store.interrupted.store(true, Ordering::Relaxed);
            match last.as_str() {
                // A first call abandoned after its grace: no error was seen.
                "" => format!("interrupted while waiting for an answer from {shown}"),
                _ => format!("interrupted while the connection to {shown} was lost (last: {last})"),
            }
        } else if lost >= limit {
            format!(
                "gave up on {shown} after {} s without a working connection (last: {last})",
                limit.as_secs()
            )
        } else {
            wait = (wait * 2).min(LONGEST_WAIT);
            continue;
        };
        if !last.is_empty() {
            store.away.store(true, Ordering::Relaxed);
        }
        if let Ok(mut gave_up) = store.gave_up.lock() {
            gave_up.get_or_insert(why.clone());
        }
        return Err(Error::new(ErrorKind::Network, why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn store() -> PgStore {
        PgStore::pool("postgres://u:hunter2@127.0.0.1:1/db").unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_made_again_while_the_connection_is_lost_then_the_store_gives_up() {
        let store = store();
        let cancel = CancellationToken::new();
        let tries = Cell::new(0);
        let got = ride_out_for(&store, &cancel, Duration::from_secs(10), || async {
            tries.set(tries.get() + 1);
            if tries.get() < 4 {
                Err(Error::new(ErrorKind::Network, "connection closed"))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!((got.unwrap(), tries.get()), (7, 4));
        assert_eq!(store.gave_up(), None);

        let started = tokio::time::Instant::now();
        let e = ride_out_for(&store, &cancel, Duration::from_secs(10), || async {
            Err::<(), _>(Error::new(ErrorKind::Connect, "cannot connect: refused"))
        })
        .await
        .unwrap_err();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(10) && waited < Duration::from_secs(13),
            "{waited:?}"
        );
        assert!(
            e.to_string()
                .starts_with("gave up on postgres://u@127.0.0.1:1/db after 10 s"),
            "{e}"
        );
        assert!(
            e.to_string().ends_with("(last: cannot connect: refused)"),
            "{e}"
        );
        assert!(!e.to_string().contains("hunter2"));
        assert_eq!(store.gave_up().as_deref(), Some(e.to_string().as_str()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_signal_ends_an_outage_even_mid_call_and_says_interrupted() {
        let store = store();
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            stop.cancel();
        });
        let tries = Cell::new(0);
        let started = tokio::time::Instant::now();
        let e = ride_out(&store, &cancel, || {
            tries.set(tries.get() + 1);
            let first = tries.get() == 1;
            async move {
                if first {
                    return Err::<(), _>(Error::new(ErrorKind::Network, "connection closed"));
                }
                // A server that never answers: only the signal ends this call.
                std::future::pending().await
            }
        })
        .await
        .unwrap_err();
        assert!(started.elapsed() < OUTAGE, "{:?}", started.elapsed());
        assert_eq!(tries.get(), 2);
        assert!(store.interrupted());
        assert!(
            e.to_string()
                .starts_with("interrupted while the connection")
                && e.to_string().ends_with("(last: connection closed)"),
            "{e}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_call_gets_its_grace_after_a_stop_signal_then_is_abandoned() {
        let store = store();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let quick = ride_out(&store, &cancel, || async {
            tokio::time::sleep(GRACE / 2).await;
            Ok(1)
        });
        assert_eq!(quick.await.unwrap(), 1, "within its grace");
        let started = tokio::time::Instant::now();
        let e = ride_out(&store, &cancel, std::future::pending::<Result<()>>)
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), GRACE);
        assert!(
            e.to_string()
                .starts_with("interrupted while waiting for an answer from postgres://u@"),
            "{e}"
        );
        assert!(store.interrupted());
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_not_an_outage() {
        let store = store();
        let tries = Cell::new(0);
        let e = ride_out(&store, &CancellationToken::new(), || async {
            tries.set(tries.get() + 1);
            Err::<(), _>(Error::new(ErrorKind::Database, "permission denied"))
        })
        .await
        .unwrap_err();
        assert_eq!((e.kind(), tries.get()), (ErrorKind::Database, 1));
        assert_eq!(store.gave_up(), None);
    }
}
