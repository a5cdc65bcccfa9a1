//! The accept loop, and what keeps clients that hold connections without using them from
//! taking the server down.
//!
//! A server that only accepts is at the mercy of its clients: two thousand sockets that
//! connect and say nothing hold two thousand descriptors forever, the process runs out,
//! and every new client waits in vain. Each guard sits at the one place its kind is seen:
//!
//! - **Header timeout** (hyper's HTTP/1 parser): a request whose header is not complete
//!   within [`ServeLimits::header_timeout`] closes its connection: the half-sent header,
//!   or the one dribbled a byte at a time. hyper restarts the same timer while a kept-alive
//!   HTTP/1 connection waits for its next request, so it also bounds HTTP/1 keep-alive.
//! - **Idle timeout** (here, per connection): a connection with no request in progress
//!   for [`ServeLimits::idle_timeout`] is closed, whatever it sends: the one that never
//!   sends a byte (the protocol is not even known yet), or an HTTP/2 one that opens no
//!   stream. Requests in progress keep it open, however slow (latency, stalls).
//! - **Send timeout** and **fair shares** (the `progress` and `share` modules): a
//!   connection that does not read the answers it asked for is dropped, and no connection
//!   or peer holds more than its share of the answer budget.
//! - **Connection cap** (a semaphore), **shared out by peer** (the `slots` module): at
//!   most [`ServeLimits::max_connections`] open. At the cap the loop keeps accepting into a
//!   short waiting room, and each newcomer asks one connection to make room: one of the
//!   peer holding the most, at once, when that is more than the newcomer's peer would
//!   hold; else the one idle longest, gracefully (idle clients reconnect). A freed slot
//!   goes to the waiting peer holding the fewest, and a peer that holds the most and fills
//!   the room too is turned away at once: however many connections one client queues, a
//!   newcomer from another address gets in.
//! - **Accept errors**: out of descriptors (`EMFILE`), the loop closes the idlest
//!   connection to free one, backs off (5 ms, doubling to half a second), and warns at most
//!   once every ten seconds, with how many it did not repeat.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use std::net::IpAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::conns::{watch, Conns, End};
use super::fds::connection_budget;
use super::progress::Progress;
use super::slots::{Admitted, WaitingRoom};
use super::tracked::Tracked;
use super::{app, MirrorState, MirrorStats};

/// How a server protects itself from clients: timeouts and a cap on open connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServeLimits {
    /// Longest a client may take to send a request's header (HTTP/1), and to start its
    /// next request on a kept-alive HTTP/1 connection. Default: 30 s.
    pub header_timeout: Duration,
    /// Longest a connection may stay open with no request in progress. Default: 60 s.
    pub idle_timeout: Duration,
    /// Most connections open at once. Default: [`ConnectionCap::FdShare`] of 100 %.
    pub max_connections: ConnectionCap,
    /// Once the server stops, how long a connection may take to finish what it has in
    /// progress before it is dropped: a client that reads a byte now and then cannot keep a
    /// stopping server up. Default: 10 s.
    pub shutdown_grace: Duration,
    /// Most bytes of answers in flight, all connections together: a rendered answer that
    /// would go over is answered `503` with `Retry-After: 1` instead (the `budget`
    /// module). Default: [`DEFAULT_ANSWER_BUDGET`](super::DEFAULT_ANSWER_BUDGET).
    pub answer_budget: usize,
    /// Longest a connection that owes answers may go without writing to its socket, and an
    /// answer (an HTTP/2 stream) without being taken further: then the connection is
    /// dropped and its answers' charges given back (the `progress` module; nginx's
    /// `send_timeout`). Also the longest a request waits for its share (below). Default:
    /// 60 s.
    pub send_timeout: Duration,
    /// Bytes per second a connection that owes answers must write to keep up: each byte
    /// written earns `1 / min_send_rate` s of the send timeout back, so a client reading a
    /// byte a second is dropped about a send timeout after it started. 0: any write
    /// restarts the timeout. Default: 1 024 (a 300 KB answer may take five minutes).
    pub min_send_rate: u64,
    /// Most bytes of answers in flight one connection may hold; past it, its next requests
    /// wait for its answers to be read (the `share` module). Default: 1/16 of the budget.
    pub connection_share: usize,
    /// Most bytes of answers in flight all the connections of one peer (IP address) may
    /// hold, likewise. Default: 1/8 of the budget.
    pub peer_share: usize,
}

/// How many connections a server keeps open at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionCap {
    /// Exactly this many (at least 1).
    Fixed(usize),
    /// This percentage of the process's descriptor limit when serving starts, after 64
    /// descriptors kept for everything else; at least 16; that percentage of 4 096 where
    /// the system has no limit. 100 for a server that has the process to itself, 50 for one that shares it
    /// with a client ([`ServeLimits::sharing_process`]).
    FdShare(u8),
}

impl Default for ServeLimits {
    /// Header timeout 30 s, idle timeout 60 s, up to all descriptors but 64 in connections,
    /// 10 s for connections to finish once the server stops, 256 MiB of answers in flight,
    /// a send timeout of 60 s at 1 KiB/s, 1/16 of the budget per connection, 1/8 per peer.
    fn default() -> Self {
        let budget = super::DEFAULT_ANSWER_BUDGET;
        ServeLimits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: ConnectionCap::FdShare(100),
            shutdown_grace: Duration::from_secs(10),
            answer_budget: budget,
            send_timeout: Duration::from_secs(60),
            min_send_rate: 1024,
            connection_share: budget / 16,
            peer_share: budget / 8,
        }
    }
}

impl ServeLimits {
    /// The defaults for a server in the same process as its client (the embedded mirror):
    /// at most half the descriptors, so the server cannot starve the client of them; its
    /// one peer is that client, so the peer's share is the whole budget (each connection
    /// still has its own share).
    pub fn sharing_process() -> ServeLimits {
        let limits = ServeLimits::default();
        ServeLimits {
            max_connections: ConnectionCap::FdShare(50),
            peer_share: limits.answer_budget,
            ..limits
        }
    }

    /// The connection cap now, from the process's descriptor limit if it is a share.
    pub fn connection_cap(&self) -> usize {
        let cap = match self.max_connections {
            ConnectionCap::Fixed(n) => n,
            ConnectionCap::FdShare(p) => {
                let share = f64::from(p) / 100.0;
                connection_budget(share, 64, (4096.0 * share) as usize)
            }
        };
        cap.clamp(1, MAX_CAP)
    }
}

/// The semaphore's permits are counted in `u32` when the loop waits for all of them.
const MAX_CAP: usize = 1 << 24;

/// Most HTTP/2 streams one client may have open on one connection. hyper's default (200)
/// makes a client with 10 000 calls in flight wait in line more than it needs; but each
/// open stream holds its answer (PokeAPI's are ~250 KB) until the client reads it, so a
/// client that never opens its receive window could make 100 000 streams hold 25 GB.
/// A thousand: plenty to multiplex (a client queues the rest and sends them as streams
/// finish), at most ~250 MB held per connection.
pub const MAX_H2_STREAMS: u32 = 1_000;

/// Most bytes of one stream's answer hyper hands to HTTP/2 ahead of the client's window:
/// an unread answer is not copied whole into the send buffer as well.
const H2_SEND_BUF: usize = 64 * 1024;

/// The accept loop: HTTP/1.1 and HTTP/2 (cleartext, prior knowledge) on the same port.
pub(super) async fn serve_state(
    listener: TcpListener,
    state: Arc<MirrorState>,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<MirrorStats> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    state.budget.set_limit(limits.answer_budget);
    let service = TowerToHyperService::new(app(state.clone()));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_send_buf_size(H2_SEND_BUF);
    let cap = limits.connection_cap();
    let slots = Arc::new(Semaphore::new(cap));
    let server = Server {
        builder,
        service,
        conns: Arc::new(Conns::default()),
        limits,
        state: state.clone(),
    };
    let conns = &server.conns;
    let mut room = WaitingRoom::for_cap(cap);
    let mut again = tokio::time::interval(ROOM_AGAIN);
    again.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff = Backoff::default();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff.reset();
                    let peer = peer.ip();
                    if room.is_empty() {
                        if let Ok(permit) = slots.clone().try_acquire_owned() {
                            server.start(stream, peer, permit);
                            continue;
                        }
                    }
                    match room.admit(stream, peer, |ip| conns.held(ip)) {
                        Admitted::Waits => {}
                        Admitted::WaitsInstead(out) | Admitted::TurnedAway(out) => {
                            drop(out);
                            state.crowded_out.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    server.make_room(&room, Some(peer));
                }
                Err(e) => {
                    if is_out_of_descriptors(&e) {
                        conns.make_room(None);
                    }
                    let pause = backoff.failed(&e);
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = &mut shutdown => break,
                    }
                }
            },
            permit = slots.clone().acquire_owned(), if !room.is_empty() => {
                let permit = permit.expect("never closed");
                if let Some((stream, peer)) = room.next(|ip| conns.held(ip)) {
                    server.start(stream, peer, permit);
                }
            }
            // Connections may have gone idle since room was asked for: ask again.
            _ = again.tick(), if !room.is_empty() => {
                let next = room.next_peer(|ip| conns.held(ip));
                server.make_room(&room, next);
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    state.shutdown.cancel(); // connections finish what is in progress; stalled requests give up
    let _ = slots.acquire_many(cap as u32).await; // every connection has ended
    Ok(state.stats())
}

/// How often the accept loop asks again for room while connections wait for a slot.
const ROOM_AGAIN: Duration = Duration::from_millis(50);

/// What the accept loop needs to start serving a connection.
struct Server {
    builder: hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    service: hyper_util::service::TowerToHyperService<axum::Router>,
    conns: Arc<Conns>,
    limits: ServeLimits,
    state: Arc<MirrorState>,
}

impl Server {
    /// Asks a connection to close for the one that waits, unless enough are closing for
    /// every waiting one already.
    fn make_room<T>(&self, room: &WaitingRoom<T>, newcomer: Option<IpAddr>) {
        if self.conns.closing() < room.len() {
            self.conns.make_room(newcomer);
        }
    }

    /// Serves `stream` from `peer` on the slot `permit` until it ends, goes idle, stalls,
    /// is asked to make room, or the server stops.
    fn start(&self, stream: TcpStream, peer: IpAddr, permit: OwnedSemaphorePermit) {
        let _ = stream.set_nodelay(true);
        let limits = self.limits;
        let (conn, registered) = self.conns.add(peer, &limits);
        let tracked = Tracked {
            inner: self.service.clone(),
            conn: conn.clone(),
        };
        let io = Progress {
            inner: hyper_util::rt::TokioIo::new(stream),
            written: conn.written.clone(),
        };
        let served = self
            .builder
            .serve_connection_with_upgrades(io, tracked)
            .into_owned();
        let (stop, grace, counts) = (
            self.state.shutdown.clone(),
            limits.shutdown_grace,
            self.state.clone(),
        );
        tokio::spawn(async move {
            let _slot = (permit, registered);
            let mut served = pin!(served);
            let evicted = tokio::select! {
                _ = served.as_mut() => return,
                // Nothing in progress: just close. Not reading: dropped with its answers.
                end = watch(&conn, &limits) => {
                    if end == End::Stalled {
                        counts.stalled.fetch_add(1, Ordering::Relaxed);
                    }
                    return;
                }
                // Its peer holds more than its share of the slots.
                _ = conn.drop_now.cancelled() => {
                    counts.crowded_out.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                _ = conn.close.cancelled() => true,
                _ = stop.cancelled() => false,
            };
            served.as_mut().graceful_shutdown();
            let limit = if evicted {
                Duration::from_secs(1)
            } else {
                grace
            };
            tokio::select! {
                _ = tokio::time::timeout(limit, served) => {}
                _ = conn.drop_now.cancelled() => {
                    counts.crowded_out.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}

fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Pauses after failed accepts, and says so at most once every ten seconds.
#[derive(Default)]
struct Backoff {
    pause: Duration,
    warned: Option<Instant>,
    unsaid: u64,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MOST: Duration = Duration::from_millis(500);
    const WARN_EVERY: Duration = Duration::from_secs(10);

    fn reset(&mut self) {
        self.pause = Duration::ZERO;
    }

    /// Records a failed accept; returns how long to wait before the next.
    fn failed(&mut self, e: &std::io::Error) -> Duration {
        if self.warned.is_none_or(|t| t.elapsed() >= Self::WARN_EVERY) {
            let again = match self.unsaid {
                0 => String::new(),
                n => format!(" (and {n} more times since the last warning)"),
            };
            tracing::warn!("mirror: cannot accept connections: {e}{again}");
            self.warned = Some(Instant::now());
            self.unsaid = 0;
        } else {
            self.unsaid += 1;
        }
        self.pause = (self.pause * 2).clamp(Self::FIRST, Self::MOST);
        self.pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_and_warn_once_in_a_while() {
        let mut backoff = Backoff::default();
        let e = std::io::Error::other("Too many open files");
        let pauses: Vec<Duration> = (0..100).map(|_| backoff.failed(&e)).collect();
        assert_eq!(pauses[0], Backoff::FIRST);
        assert_eq!(pauses[1], Backoff::FIRST * 2);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*pauses.last().unwrap(), Backoff::MOST);
        assert_eq!(backoff.unsaid, 99, "one warning for a hundred failures");
        backoff.reset();
        assert_eq!(backoff.failed(&e), Backoff::FIRST);
    }
}
