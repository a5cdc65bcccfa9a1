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
//! - **Connection cap** (a semaphore): at most [`ServeLimits::max_connections`] open. A
//!   new connection at the cap makes room by closing the one idle longest (idle clients
//!   reconnect; waiting ones cannot be answered otherwise). If every one is busy, the loop
//!   stops accepting until one ends, and new clients wait in the listen queue.
//! - **Accept errors**: out of descriptors (`EMFILE`), the loop closes the idlest
//!   connection to free one, backs off (5 ms, doubling to half a second), and warns at most
//!   once every ten seconds, with how many it did not repeat.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::fds::connection_budget;
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
    /// 10 s for connections to finish once the server stops, 256 MiB of answers in flight.
    fn default() -> Self {
        ServeLimits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: ConnectionCap::FdShare(100),
            shutdown_grace: Duration::from_secs(10),
            answer_budget: super::DEFAULT_ANSWER_BUDGET,
        }
    }
}

impl ServeLimits {
    /// The defaults for a server in the same process as its client (the embedded mirror):
    /// at most half the descriptors, so the server cannot starve the client of them.
    pub fn sharing_process() -> ServeLimits {
        ServeLimits {
            max_connections: ConnectionCap::FdShare(50),
            ..ServeLimits::default()
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
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
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
    let conns = Arc::new(Conns::default());
    let mut backoff = Backoff::default();
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff.reset();
                    stream
                }
                Err(e) => {
                    if is_out_of_descriptors(&e) {
                        conns.evict_idlest();
                    }
                    let pause = backoff.failed(&e);
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => continue,
                        _ = &mut shutdown => break,
                    }
                }
            },
            _ = &mut shutdown => break,
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                conns.evict_idlest();
                tokio::select! {
                    permit = slots.clone().acquire_owned() => permit.expect("never closed"),
                    _ = &mut shutdown => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let (conn, registered) = conns.add();
        let tracked = Tracked {
            inner: service.clone(),
            conn: conn.clone(),
        };
        let served = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), tracked)
            .into_owned();
        let (stop, idle, grace) = (
            state.shutdown.clone(),
            limits.idle_timeout,
            limits.shutdown_grace,
        );
        tokio::spawn(async move {
            let _slot = (permit, registered);
            let mut served = pin!(served);
            let evicted = tokio::select! {
                _ = served.as_mut() => return,
                _ = quiet_for(&conn, idle) => return, // nothing in progress: just close
                _ = conn.close.cancelled() => true,
                _ = stop.cancelled() => false,
            };
            served.as_mut().graceful_shutdown();
            let limit = if evicted {
                Duration::from_secs(1)
            } else {
                grace
            };
            let _ = tokio::time::timeout(limit, served).await;
        });
    }
    drop(listener);
    state.shutdown.cancel(); // connections finish what is in progress; stalled requests give up
    let _ = slots.acquire_many(cap as u32).await; // every connection has ended
    Ok(state.stats())
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

/// Resolves once `conn` has had no request in progress for `idle`.
async fn quiet_for(conn: &Conn, idle: Duration) {
    let tick = (idle / 4).max(Duration::from_millis(1));
    let mut seen = conn.started.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let started = conn.started.load(Ordering::Relaxed);
        if started != seen || conn.in_flight.load(Ordering::Relaxed) > 0 {
            seen = started;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= idle {
            return;
        }
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

/// What the accept loop knows of one open connection.
pub(super) struct Conn {
    /// Requests whose answer is not yet fully sent.
    pub(super) in_flight: AtomicUsize,
    /// Requests started so far: the idle watch sees a change.
    pub(super) started: AtomicU64,
    /// When it last went idle, on the registry's clock: smaller is idle longer.
    pub(super) idle_since: AtomicU64,
    /// Cancelled to make room: the connection closes gracefully.
    close: CancellationToken,
    pub(super) clock: Arc<AtomicU64>,
}

/// The open connections, to find the one idle longest.
#[derive(Default)]
struct Conns {
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    next: AtomicU64,
    clock: Arc<AtomicU64>,
}

/// A connection's place in [`Conns`], given up on drop.
struct Registered {
    conns: Arc<Conns>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut open = self.conns.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&self.id);
    }
}

impl Conns {
    fn add(self: &Arc<Self>) -> (Arc<Conn>, Registered) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            idle_since: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
            close: CancellationToken::new(),
            clock: self.clock.clone(),
        });
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.insert(id, conn.clone());
        let registered = Registered {
            conns: self.clone(),
            id,
        };
        (conn, registered)
    }

    /// Asks the connection idle longest to close; `false` if every one is busy.
    fn evict_idlest(&self) -> bool {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let idlest = open
            .values()
            .filter(|c| c.in_flight.load(Ordering::Relaxed) == 0 && !c.close.is_cancelled())
            .min_by_key(|c| c.idle_since.load(Ordering::Relaxed));
        idlest.map(|c| c.close.cancel()).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tracked::Busy;
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

    #[test]
    fn the_idlest_connection_is_the_one_asked_to_close() {
        let conns = Arc::new(Conns::default());
        let (a, _ra) = conns.add();
        let (b, _rb) = conns.add();
        let busy = Busy::start(&a);
        drop(busy); // a was busy after b was opened: b has been idle longer
        let _still = Busy::start(&b);
        assert!(conns.evict_idlest());
        assert!(
            a.close.is_cancelled() && !b.close.is_cancelled(),
            "b is busy"
        );
        assert!(!conns.evict_idlest(), "none idle left");
    }
}
