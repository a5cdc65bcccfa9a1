//! An offline PokeAPI: the whole of PokeAPI's data, embedded in the binary, served over
//! HTTP with simulated latency.
//!
//! Every asyncdex command starts one in-process on `127.0.0.1:0` unless `--api` is given,
//! so the lesson runs offline and its timings are reproducible; `asyncdex serve` runs it as
//! a standalone server for any PokeAPI client.
//!
//! It behaves like PokeAPI: all 49 endpoints, the root index, `pokemon/{id}/encounters`
//! and `meta`; lists with `limit`/`offset` and absolute `next`/`previous` links, details
//! by id or (case-insensitive) name with or without the trailing slash, `404 Not Found`
//! for unknown ids, `400` for unknown endpoints, PokeAPI's `Cache-Control` header, gzip
//! when asked. Bodies are PokeAPI's own (see [`data`](Data)), links pointing back at the
//! mirror. Latency is a tokio timer per request, never a blocked thread, so ten thousand
//! slow requests cost ten thousand timers, not ten thousand threads.
//!
//! The shape follows mini-redis: [`serve`] takes a bound listener and a shutdown future;
//! [`app`] builds the router, which tests drive without a socket.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use asyncdex::mirror::{Mirror, MirrorConfig};
//!
//! let mirror = Mirror::start(MirrorConfig::default()).await?;
//! println!("PokeAPI mirror at {}", mirror.base_url()); // http://127.0.0.1:PORT/api/v2
//! mirror.stop().await;
//! # Ok(()) }
//! ```

mod bounded;
mod budget;
mod capacity;
mod conns;
mod data;
mod faults;
mod fds;
mod folder;
mod gzip;
mod handle;
mod page;
mod progress;
mod reserve;
mod routes;
pub mod runtime;
mod serve;
mod share;
mod slots;
mod tail;
mod tracked;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use tokio_util::sync::CancellationToken;

pub use bounded::MAX_FILE;
pub use budget::DEFAULT_ANSWER_BUDGET;
pub use data::{pokemon_bodies, Data};
use faults::FaultState;
pub use faults::{Fault, FaultCounts, Faults};

pub use capacity::{Capacity, CapacityStats};
pub use fds::{fd_limit, raise_fd_limit, FdLimit};
pub use folder::{MAX_FOLDER_ENTRIES, MAX_LIST_ENTRIES};
pub use handle::{BackgroundMirror, Mirror};
pub use page::MAX_PAGE_LIMIT;
pub use routes::app;
use serve::serve_state;
pub use serve::{ConnectionCap, ServeLimits, MAX_H2_STREAMS};
pub use tail::Tail;

/// How the mirror behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorConfig {
    /// Mean delay before each answer.
    pub latency: Duration,
    /// Each delay is `latency ± jitter`, uniformly (never below zero).
    pub jitter: Duration,
    /// Seed for the jitter sequence: same seed, same delays in request order.
    pub seed: u64,
    /// Injected faults (none by default).
    pub faults: Faults,
    /// How many requests it serves at once and lets wait (`None`, the default: no limit).
    pub capacity: Option<Capacity>,
    /// A fraction of requests that wait much longer (none by default).
    pub tail: Tail,
}

impl Default for MirrorConfig {
    /// No latency: an offline PokeAPI as fast as the machine allows.
    fn default() -> Self {
        MirrorConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            seed: 0,
            faults: Faults::default(),
            capacity: None,
            tail: Tail::default(),
        }
    }
}

impl MirrorConfig {
    /// One line for people: `latency 100 ms ± 20 ms, real-size bodies`.
    pub fn describe(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let f = &self.faults;
        let faults = if f.any() {
            format!(
                ", faults: fail {}, throttle {}, stall {}, truncate {}, reset {}",
                f.fail, f.throttle, f.stall, f.truncate, f.reset
            )
        } else {
            String::new()
        };
        let capacity = self.capacity.map_or(String::new(), |c| {
            format!(", capacity {} (queue {})", c.servers, c.queue)
        });
        let tail = if self.tail.any() {
            format!(
                ", {} % of requests {} ms slower",
                self.tail.rate * 100.0,
                ms(self.tail.extra)
            )
        } else {
            String::new()
        };
        format!(
            "latency {} ms ± {} ms{tail}{capacity}{faults}",
            ms(self.latency),
            ms(self.jitter),
        )
    }

    /// The delay for the `n`th request (0-based), its slow tail included: reproducible
    /// from the seed.
    pub fn delay_for(&self, n: u64) -> Duration {
        self.jittered(n) + self.tail.extra_for(self.seed, n)
    }

    /// The latency ± jitter of the `n`th request.
    fn jittered(&self, n: u64) -> Duration {
        let jitter = self.jitter.as_micros() as i128;
        if jitter == 0 {
            return self.latency;
        }
        let r = splitmix64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let offset = (r % (2 * jitter as u64 + 1)) as i128 - jitter;
        let micros = (self.latency.as_micros() as i128 + offset).max(0);
        Duration::from_micros(micros as u64)
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// What the routes share: settings, the request counter and the rendered bodies.
pub struct MirrorState {
    base: String,
    config: MirrorConfig,
    requests: AtomicU64,
    faults: FaultState,
    /// Cancelled when the mirror stops: stalled requests give up then.
    shutdown: CancellationToken,
    /// What is served.
    data: Data,
    /// Bodies compressed for clients that ask for gzip, kept.
    gzip: gzip::GzipCache,
    /// Requests waiting out their latency (see the routes' `latency`).
    early: std::sync::atomic::AtomicUsize,
    /// The places and the queue, when the mirror has a capacity.
    gate: Option<capacity::Gate>,
    /// Bytes of answers in flight, bounded for the whole server.
    budget: budget::Budget,
    /// Connections dropped for not reading their answers (the send timeout).
    stalled: AtomicU64,
    /// Connections closed to share the slots out (the `slots` module).
    crowded_out: AtomicU64,
}

impl MirrorState {
    /// State for a mirror of the whole embedded PokeAPI whose public address is `base`
    /// (`http://127.0.0.1:8000/api/v2`).
    pub fn new(base: impl Into<String>, config: MirrorConfig) -> Arc<Self> {
        MirrorState::with_data(base, config, Data::embedded())
    }

    /// State for a mirror of `data` whose public address is `base`.
    pub fn with_data(base: impl Into<String>, config: MirrorConfig, data: Data) -> Arc<Self> {
        let base = base.into().trim_end_matches('/').to_owned();
        Arc::new(MirrorState {
            base,
            requests: AtomicU64::new(0),
            faults: FaultState::default(),
            shutdown: CancellationToken::new(),
            data,
            gzip: gzip::GzipCache::default(),
            early: std::sync::atomic::AtomicUsize::new(0),
            gate: config.capacity.map(capacity::Gate::new),
            budget: budget::Budget::default(),
            stalled: AtomicU64::new(0),
            crowded_out: AtomicU64::new(0),
            config,
        })
    }

    /// Requests answered or in progress so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What the mirror has done so far.
    pub fn stats(&self) -> MirrorStats {
        MirrorStats {
            requests: self.requests(),
            faults: self.faults.counts(),
            capacity: self.gate.as_ref().map(capacity::Gate::stats),
            over_budget: self.budget.refused(),
            stalled: self.stalled.load(std::sync::atomic::Ordering::Relaxed),
            crowded_out: self.crowded_out.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// Listens on `addr` with a deep accept queue: thousands of clients that connect at
/// once are queued, not turned away. (With tokio's default of 1 024, a burst of 1 000
/// connections from two client threads overflowed the queue: the dropped handshakes
/// were retried by the clients' kernels a whole second later.) The system may cap the
/// depth lower (`net.core.somaxconn`). Must be called inside a tokio runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = asyncdex::mirror::listen("127.0.0.1:0".parse().unwrap())?;
/// assert!(listener.local_addr()?.port() > 0);
/// # Ok(()) }
/// ```
pub fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As tokio's own `bind`: a restarted server may take its port back at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_QUEUE)
}

/// How many connections may wait to be accepted.
const ACCEPT_QUEUE: u32 = 4096;

/// The public base URL for a mirror listening on `addr`.
///
/// An unspecified bind address (`0.0.0.0`) is reached through loopback.
pub fn base_url_for(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), addr.port())
    } else {
        addr
    };
    format!("http://{host}/api/v2")
}

/// What a mirror did: requests seen and faults injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MirrorStats {
    /// Requests received.
    pub requests: u64,
    /// Faults injected, by kind.
    pub faults: FaultCounts,
    /// What its capacity did, if it has one.
    pub capacity: Option<CapacityStats>,
    /// Answers refused (503) because the bytes of answers in flight were at the server's
    /// budget ([`ServeLimits::answer_budget`]).
    pub over_budget: u64,
    /// Connections dropped because they did not read their answers
    /// ([`ServeLimits::send_timeout`]).
    pub stalled: u64,
    /// Connections closed at the connection cap because their peer (client address) held
    /// more than its share of the slots: turned away on arrival, or dropped to make room
    /// for a peer holding fewer (the `slots` module).
    pub crowded_out: u64,
}

/// Serves `data` (the embedded PokeAPI, [`Data::embedded`], a crawled store, or a folder
/// in PokeAPI's static layout) on `listener` until `shutdown` completes, then stops
/// gracefully: no new connections, requests in progress finish (stalled ones give up).
/// Returns what it did. Clients are held to [`ServeLimits::default`].
pub async fn serve(
    listener: TcpListener,
    config: MirrorConfig,
    data: Data,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<MirrorStats> {
    serve_limited(listener, config, data, ServeLimits::default(), shutdown).await
}

/// [`serve`] with clients held to `limits` (timeouts, most connections open).
pub async fn serve_limited(
    listener: TcpListener,
    config: MirrorConfig,
    data: Data,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<MirrorStats> {
    let state = MirrorState::with_data(base_url_for(listener.local_addr()?), config, data);
    serve_state(listener, state, limits, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_bounded_and_reproducible() {
        let config = MirrorConfig {
            latency: Duration::from_millis(100),
            jitter: Duration::from_millis(20),
            seed: 7,
            ..MirrorConfig::default()
        };
        let delays: Vec<Duration> = (0..200).map(|n| config.delay_for(n)).collect();
        assert!(delays
            .iter()
            .all(|d| *d >= Duration::from_millis(80) && *d <= Duration::from_millis(120)));
        assert_eq!(
            delays,
            (0..200).map(|n| config.delay_for(n)).collect::<Vec<_>>()
        );
        assert!(delays.windows(2).any(|w| w[0] != w[1]), "jitter must vary");
        let other = MirrorConfig { seed: 8, ..config };
        assert_ne!(
            delays,
            (0..200).map(|n| other.delay_for(n)).collect::<Vec<_>>()
        );
    }
}
