//! What the accept loop knows of each open connection, and the watch that ends it: idle
//! for too long, or not reading what it asked for (the `progress` module's send timeout).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::progress::{ms_since, AnswerClock, SendWatch};
use super::reserve::Reserve;
use super::share::{Account, Payer, Peers};
use super::slots::{victim, Close, Holder};
use super::ServeLimits;

/// What the accept loop knows of one open connection.
pub(super) struct Conn {
    /// Requests whose answer is not yet fully sent.
    pub(super) in_flight: AtomicUsize,
    /// Requests started so far: the idle watch sees a change.
    pub(super) started: AtomicU64,
    /// When it last went idle, on the registry's clock: smaller is idle longer.
    pub(super) idle_since: AtomicU64,
    /// Cancelled to make room: the connection closes gracefully.
    pub(super) close: CancellationToken,
    /// Cancelled to make room at once: the connection is dropped, in progress or not.
    pub(super) drop_now: CancellationToken,
    /// Its client's address.
    pub(super) peer: IpAddr,
    pub(super) clock: Arc<AtomicU64>,
    /// Bytes written to its socket so far.
    pub(super) written: Arc<AtomicU64>,
    /// Whom its answers are charged to: itself and its peer.
    pub(super) payer: Payer,
    /// Its answers not yet all taken (and some that are, until pruned).
    answers: Mutex<Answers>,
    /// When it opened: the answers' clocks count from here.
    pub(super) epoch: Instant,
}

impl Conn {
    /// A new answer's clock, watched until the answer is all taken.
    pub(super) fn answer(&self) -> Arc<AnswerClock> {
        let clock = Arc::new(AnswerClock::new(ms_since(self.epoch)));
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.list.len() >= answers.prune_at {
            // Pruned when the list has doubled: a busy connection's answers taken between
            // two watches cost a constant time each, not a list that grows until then.
            answers.list.retain(|a| !a.is_done());
            answers.prune_at = (answers.list.len() * 2).max(Answers::FIRST_PRUNE);
        }
        answers.list.push(clock.clone());
        clock
    }

    /// Whether it has answers not yet all taken, and whether one of them has not been
    /// asked for its next piece in `timeout`.
    fn answers(&self, timeout: Duration) -> (bool, bool) {
        let now = ms_since(self.epoch);
        let timeout = timeout.as_millis() as u64;
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers.list.retain(|a| !a.is_done());
        let stale = answers
            .list
            .iter()
            .any(|a| now.saturating_sub(a.last_asked()) >= timeout);
        (!answers.list.is_empty(), stale)
    }
}

/// A connection's answers being taken.
struct Answers {
    list: Vec<Arc<AnswerClock>>,
    /// The length at which the list is next pruned of answers all taken.
    prune_at: usize,
}

impl Answers {
    const FIRST_PRUNE: usize = 64;
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            list: Vec::new(),
            prune_at: Answers::FIRST_PRUNE,
        }
    }
}

/// How a connection's watch ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum End {
    /// Nothing in progress for the idle timeout.
    Idle,
    /// It did not read what it was sent (see the `progress` module).
    Stalled,
}

/// Resolves once `conn` has had no request in progress for `idle`, or has stopped reading
/// its answers.
pub(super) async fn watch(conn: &Conn, limits: &ServeLimits) -> End {
    let (idle, send) = (limits.idle_timeout, limits.send_timeout);
    let tick = (idle.min(send) / 4).max(Duration::from_millis(1));
    let mut seen = conn.started.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    let mut progress = SendWatch::new(send, limits.min_send_rate, quiet_since);
    loop {
        tokio::time::sleep(tick).await;
        let started = conn.started.load(Ordering::Relaxed);
        if started != seen || conn.in_flight.load(Ordering::Relaxed) > 0 {
            seen = started;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= idle {
            return End::Idle;
        }
        let (open, stale) = conn.answers(send);
        let owes = open || conn.payer.conn.charged() > 0;
        let written = conn.written.load(Ordering::Relaxed);
        if stale || !progress.keeps_up(Instant::now(), owes, written) {
            return End::Stalled;
        }
    }
}

/// The open connections, to find the one idle longest; and their peers' accounts.
#[derive(Default)]
pub(super) struct Conns {
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    next: AtomicU64,
    clock: Arc<AtomicU64>,
    peers: Peers,
}

/// A connection's place in [`Conns`], given up on drop.
pub(super) struct Registered {
    conns: Arc<Conns>,
    id: u64,
    peer: IpAddr,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut open = self.conns.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&self.id);
        drop(open);
        self.conns.peers.leave(self.peer);
    }
}

impl Conns {
    /// Registers a connection from `peer`, its answers charged to shares per `limits`.
    pub(super) fn add(
        self: &Arc<Self>,
        peer: IpAddr,
        limits: &ServeLimits,
    ) -> (Arc<Conn>, Registered) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let payer = Payer {
            conn: Arc::new(Account::new(limits.connection_share)),
            peer: self.peers.join(peer, limits.peer_share),
            patience: limits.send_timeout,
            reserve: Reserve::for_limits(limits),
        };
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            idle_since: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
            close: CancellationToken::new(),
            drop_now: CancellationToken::new(),
            peer,
            clock: self.clock.clone(),
            written: Arc::default(),
            payer,
            answers: Mutex::default(),
            epoch: Instant::now(),
        });
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.insert(id, conn.clone());
        let registered = Registered {
            conns: self.clone(),
            id,
            peer,
        };
        (conn, registered)
    }

    /// Asks one connection to close to make room for a newcomer from `newcomer` (`None`:
    /// for a descriptor), as the `slots` module chooses; `false` if none is to close.
    pub(super) fn make_room(&self, newcomer: Option<IpAddr>) -> bool {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let holders: Vec<Holder> = open
            .iter()
            .filter(|(_, c)| !c.close.is_cancelled() && !c.drop_now.is_cancelled())
            .map(|(&id, c)| Holder {
                id,
                peer: c.peer,
                busy: c.in_flight.load(Ordering::Relaxed) > 0,
                idle_since: c.idle_since.load(Ordering::Relaxed),
            })
            .collect();
        let Some((id, how)) = victim(&holders, newcomer) else {
            return false;
        };
        let conn = &open[&id];
        match how {
            Close::Gracefully => conn.close.cancel(),
            Close::AtOnce => conn.drop_now.cancel(),
        }
        true
    }

    /// How many connections are closing to make room and have not yet gone.
    pub(super) fn closing(&self) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.values()
            .filter(|c| c.close.is_cancelled() || c.drop_now.is_cancelled())
            .count()
    }

    /// How many connections `peer` has open.
    pub(super) fn held(&self, peer: IpAddr) -> usize {
        self.peers.held(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tracked::Busy;
    use super::*;

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_idlest_connection_is_the_one_asked_to_close() {
        let conns = Arc::new(Conns::default());
        let limits = ServeLimits::default();
        let (a, _ra) = conns.add(HERE, &limits);
        let (b, _rb) = conns.add(HERE, &limits);
        let busy = Busy::start(&a);
        drop(busy); // a was busy after b was opened: b has been idle longer
        let _still = Busy::start(&b);
        assert!(conns.make_room(Some(HERE)));
        assert!(
            a.close.is_cancelled() && !b.close.is_cancelled(),
            "b is busy"
        );
        assert_eq!(conns.closing(), 1);
        assert!(!conns.make_room(None), "none idle left");
        assert_eq!(conns.held(HERE), 2);
    }

    #[test]
    fn answers_all_taken_do_not_pile_up() {
        let conns = Arc::new(Conns::default());
        let (conn, _r) = conns.add(HERE, &ServeLimits::default());
        let open: Vec<_> = (0..100).map(|_| conn.answer()).collect();
        for _ in 0..10_000 {
            conn.answer().finish();
        }
        let len = conn.answers.lock().unwrap().list.len();
        assert!(len <= 2 * (open.len() + Answers::FIRST_PRUNE), "{len} kept");
        assert_eq!(conn.answers(Duration::from_secs(60)), (true, false));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_never_taken_ends_its_connection_one_send_timeout_later() {
        let conns = Arc::new(Conns::default());
        let limits = ServeLimits::default();
        let (conn, _r) = conns.add(HERE, &limits);
        let _busy = Busy::start(&conn); // never idle
        let _answer = conn.answer(); // never asked for its next piece
        let start = Instant::now();
        assert_eq!(watch(&conn, &limits).await, End::Stalled);
        let took = start.elapsed();
        assert!(
            took >= limits.send_timeout && took <= limits.send_timeout * 5 / 4,
            "dropped after {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_that_owes_nothing_is_not_dropped() {
        let conns = Arc::new(Conns::default());
        let limits = ServeLimits::default();
        let (conn, _r) = conns.add(HERE, &limits);
        let _busy = Busy::start(&conn); // a request waiting out a latency of an hour
        let watched = tokio::time::timeout(Duration::from_secs(3600), watch(&conn, &limits));
        assert!(watched.await.is_err(), "kept while nothing is owed");
        let answer = conn.answer();
        answer.finish();
        let watched = tokio::time::timeout(Duration::from_secs(3600), watch(&conn, &limits));
        assert!(
            watched.await.is_err(),
            "an answer all taken is owed no more"
        );
    }
}
