//! Fair shares of the answer budget: no one connection, and no one peer, may hold more
//! than its share of the bytes of answers in flight.
//!
//! The server-wide budget (the `budget` module) bounds memory, but not who holds it: a
//! client that opens a thousand HTTP/2 streams and never reads could hold all of it, and
//! every other client would be answered 503 for as long as it likes. So every answer is
//! also charged to two *accounts*: its connection's and its peer's (the client's IP
//! address, all of its connections together), each with a limit, a share of the budget.
//!
//! A request whose connection or peer is at its share *waits* before its answer is made,
//! until that account's own answers have been read: the wait holds a request, not a
//! rendered body, and an honest client that asks for more than it reads at once (an
//! HTTP/2 client with a thousand streams open and a 5 MB window) is slowed to the pace it
//! reads at instead of being turned away. A request that waits a whole send timeout is
//! answered `503` with `Retry-After: 1` (its account's readers are not reading). The share
//! is checked just before the answer is made (after the simulated latency), and a request
//! admitted after a wait lets the next one in only once its own answer is charged, so an
//! account goes over its share by at most the answers being read from storage at that
//! moment.
//!
//! The accounts are named to [`Budget::charge`](super::budget) by a task-local
//! ([`Payer`]), set around the handler by the [`gate`] middleware, so the routes that
//! render answers need not know which connection they answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Notify;

use super::reserve::Reserve;

/// Bytes charged to one connection or one peer, and its limit.
#[derive(Debug)]
pub(super) struct Account {
    charged: AtomicUsize,
    limit: usize,
    /// Woken, one waiter at a time, when the account goes back under its limit.
    room: Notify,
}

impl Account {
    pub(super) fn new(limit: usize) -> Account {
        Account {
            charged: AtomicUsize::new(0),
            limit,
            room: Notify::new(),
        }
    }

    /// Bytes charged now.
    pub(super) fn charged(&self) -> usize {
        self.charged.load(Ordering::Acquire)
    }

    fn full(&self) -> bool {
        self.charged() >= self.limit
    }

    fn add(&self, n: usize) {
        self.charged.fetch_add(n, Ordering::AcqRel);
    }

    fn sub(&self, n: usize) {
        let before = self.charged.fetch_sub(n, Ordering::AcqRel);
        if before >= self.limit && before - n < self.limit {
            self.room.notify_one();
        }
    }

    /// Waits until the account is under its limit.
    async fn room(&self) {
        loop {
            let mut woken = pin!(self.room.notified());
            woken.as_mut().enable(); // registered before the check: no wake-up is lost
            if !self.full() {
                return;
            }
            woken.await;
        }
    }
}

/// Whom an answer is charged to: its connection and its peer. Carried in the request's
/// extensions from the accept loop to the [`gate`].
#[derive(Debug, Clone)]
pub(super) struct Payer {
    pub(super) conn: Arc<Account>,
    pub(super) peer: Arc<Account>,
    /// Longest a request waits for room before it is answered 503.
    pub(super) patience: Duration,
    /// The part of the server's budget only a peer that holds little may take.
    pub(super) reserve: Reserve,
}

impl Payer {
    /// Charges `n` bytes to both accounts.
    pub(super) fn add(&self, n: usize) {
        self.conn.add(n);
        self.peer.add(n);
    }

    /// Whether a charge that brings the server to `total` bytes of its `limit` fits, with
    /// `more` bytes more charged to this payer (the `reserve` module).
    pub(super) fn fits(&self, limit: usize, total: usize, more: usize) -> bool {
        let peer = self.peer.charged().saturating_add(more);
        self.reserve.fits(limit, total, peer)
    }

    /// Gives `n` bytes back to both accounts.
    pub(super) fn sub(&self, n: usize) {
        self.conn.sub(n);
        self.peer.sub(n);
    }

    async fn room(&self) {
        // Both, in turn: once the peer has room the connection may still be full, and the
        // other way round.
        while self.conn.full() || self.peer.full() {
            self.conn.room().await;
            self.peer.room().await;
        }
    }

    /// Lets the next waiter of each account in if there is room for it.
    fn pass_on(&self) {
        for account in [&self.conn, &self.peer] {
            if !account.full() {
                account.room.notify_one();
            }
        }
    }
}

tokio::task_local! {
    /// The payer of the answer being made on this task, if it came through a connection.
    static PAYER: Payer;
}

/// The payer of the answer being made now (none for a request that came without one, as
/// the routes' tests send).
pub(super) fn current() -> Option<Payer> {
    PAYER.try_with(Payer::clone).ok()
}

/// Runs `f` with `payer` named as the payer of what it charges (as the [`gate`] does for
/// a request).
#[cfg(test)]
pub(super) fn paid_by<T>(payer: &Payer, f: impl FnOnce() -> T) -> T {
    PAYER.sync_scope(payer.clone(), f)
}

/// The middleware: waits while the request's connection or peer is at its share (`503`
/// after its patience), then makes the answer with them named as its payer. The mirror's
/// own counters (`/asyncdex/meta`) never wait.
pub(super) async fn gate(req: Request, next: Next) -> Response {
    // The mirror's own counters are never held up (nor charged).
    let counters = !req.uri().path().starts_with("/api/v2");
    let Some(payer) = req
        .extensions()
        .get::<Payer>()
        .cloned()
        .filter(|_| !counters)
    else {
        return next.run(req).await;
    };
    let waited = payer.conn.full() || payer.peer.full();
    if waited
        && tokio::time::timeout(payer.patience, payer.room())
            .await
            .is_err()
    {
        return super::routes::unavailable();
    }
    let response = PAYER.scope(payer.clone(), next.run(req)).await;
    if waited {
        payer.pass_on();
    }
    response
}

/// One account per peer address, kept while the peer has a connection open.
#[derive(Debug, Default)]
pub(super) struct Peers {
    open: Mutex<HashMap<IpAddr, (Arc<Account>, usize)>>,
}

impl Peers {
    /// The account of `ip` (made with `limit` if it has no connection open), counting one
    /// more connection of it.
    pub(super) fn join(&self, ip: IpAddr, limit: usize) -> Arc<Account> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (account, conns) = open
            .entry(ip)
            .or_insert_with(|| (Arc::new(Account::new(limit)), 0));
        *conns += 1;
        account.clone()
    }

    /// How many connections `ip` has open.
    pub(super) fn held(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&ip).map_or(0, |(_, conns)| *conns)
    }

    /// One connection of `ip` fewer; its account goes with the last.
    pub(super) fn leave(&self, ip: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, conns)) = open.get_mut(&ip) {
            *conns -= 1;
            if *conns == 0 {
                open.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payer(conn: usize, peer: &Arc<Account>) -> Payer {
        Payer {
            conn: Arc::new(Account::new(conn)),
            peer: peer.clone(),
            patience: Duration::from_secs(60),
            reserve: Reserve::NONE,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_payer_at_its_share_waits_until_its_own_answers_are_read() {
        let peer = Arc::new(Account::new(1000));
        let a = payer(100, &peer);
        a.add(100);
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.room().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiting.is_finished(), "the connection is at its share");
        let b = payer(100, &peer);
        assert!(
            !b.conn.full() && !b.peer.full(),
            "another connection has room"
        );
        a.sub(60);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("woken once its answers are read")
            .unwrap();
        assert_eq!(peer.charged(), 40);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_at_its_share_holds_all_of_its_connections() {
        let peer = Arc::new(Account::new(100));
        let a = payer(1000, &peer);
        let b = payer(1000, &peer);
        a.add(100);
        let waiting = tokio::spawn({
            let b = b.clone();
            async move { b.room().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiting.is_finished(), "b's peer is at its share");
        a.sub(100);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("woken when the peer has room")
            .unwrap();
    }

    #[test]
    fn a_peers_account_lasts_while_it_has_a_connection() {
        let peers = Peers::default();
        let ip: IpAddr = [127, 0, 0, 2].into();
        let a = peers.join(ip, 10);
        let b = peers.join(ip, 10);
        assert!(
            Arc::ptr_eq(&a, &b),
            "one account for all of a peer's connections"
        );
        peers.leave(ip);
        peers.leave(ip);
        let c = peers.join(ip, 10);
        assert!(!Arc::ptr_eq(&a, &c), "a new account once the peer had gone");
    }
}
