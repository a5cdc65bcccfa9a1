//! One GET-JSON interface, two backends: the I/O hidden behind a trait.
//!
//! The lesson's last design point is that the code which *uses* data should not care how
//! the bytes arrive. Everything above this module asks a [`Transport`] for a URL and gets a
//! [`Response`] back; which client does the work is a choice made once, at the edge:
//!
//! | backend | analogue in Python | how it waits |
//! |---|---|---|
//! | [`Blocking`] (ureq) | `requests` | blocks its thread; implements [`BlockingTransport`] |
//! | [`Offloaded`]`<Blocking>` | `asyncio.to_thread(requests.get, …)` | blocking calls on an [`offload`](asyncdex_engine::offload) pool, awaited |
//! | [`Native`] (reqwest) | `aiohttp` / `httpx.AsyncClient` | truly async: one pooled client, no thread per call |
//!
//! Every backend holds the same guards against a hostile server or URL, each in one place:
//! a body larger than [`HttpOptions::max_body`] is refused, and all the bodies held at
//! once, by any backend, share one budget for the process (`body`), headers past
//! [`MAX_RESPONSE_HEADERS`] bytes or [`MAX_RESPONSE_HEADER_LINES`] lines are refused too
//! (`failure`), a call has a deadline
//! ([`HttpOptions::timeout`], clamped to [`MAX_TIMEOUT`]), redirects are followed alike
//! (`redirect`), and credentials ([`HttpOptions::credentials`], or a URL's own) are sent
//! as `Authorization: Basic` to their origin and never shown ([`Credentials`]).
//!
//! No backend reads proxy variables (`HTTPS_PROXY`, `http_proxy`, `ALL_PROXY`...): ureq
//! and reqwest would by default, hyper's direct path does not, and the traffic is by
//! default the embedded mirror on loopback, which no proxy should carry. One behaviour
//! everywhere; a proxy for `--api` is not supported.
//!
//! This module knows nothing of Pokémon: it moves bytes and reports statuses. Turning a
//! 404 into "not found" and bytes into models is [`crate::pokeapi`]'s job.
//!
//! ```no_run
//! # async fn demo() -> asyncdex::Result<()> {
//! use asyncdex::http::{Blocking, HttpOptions, Native, Offloaded, Transport};
//! use asyncdex_engine::offload::Pool;
//!
//! async fn status_of(t: &impl Transport, url: &str) -> asyncdex::Result<u16> {
//!     Ok(t.get(url).await?.status)
//! }
//! let opts = HttpOptions::default();
//! let url = "http://127.0.0.1:8000/api/v2/pokemon/25/";
//! // The same function, two backends.
//! status_of(&Native::new(&opts)?, url).await?;
//! status_of(&Offloaded::new(Blocking::new(&opts), Pool::new("http", 8)), url).await?;
//! # Ok(()) }
//! ```

mod blocking;
mod body;
mod credentials;
mod direct;
mod failure;
mod headers;
mod host;
mod native;
mod progress;
mod redirect;
mod resolve;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

pub use blocking::Blocking;
pub use body::CLIENT_BODY_BUDGET;
pub use credentials::{redact_url, Credentials};
pub use headers::{parse_max_age, parse_retry_after};
pub use host::host_key;
pub use native::Native;
pub use redirect::MAX_REDIRECTS;

use crate::error::Result;
use asyncdex_engine::offload::Pool;

/// A response: status, the few headers the library needs, and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The server's `Retry-After`, parsed (seconds or an HTTP date).
    pub retry_after: Option<Duration>,
    /// How long the answer may be reused: `Cache-Control: max-age`, unless the server
    /// also said `no-store` or `no-cache`.
    pub max_age: Option<Duration>,
    /// The body, complete.
    pub body: Bytes,
}

/// The longest [`HttpOptions::timeout`] kept: a year. A longer one (or `1e19` seconds)
/// is shortened to this, so no deadline computed from it can overflow a clock.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The default [`HttpOptions::max_body`]: 64 MiB (a real PokeAPI body is ~250 KB).
pub const DEFAULT_MAX_BODY: u64 = 64 * 1024 * 1024;

/// The most bytes of response headers a call accepts: 64 KiB (a real PokeAPI answer's
/// are under 1 KB). Past it the call fails in one line instead of holding a server's
/// megabytes of headers: HTTP/2's header list (both async paths) and the direct path's
/// HTTP/1.1 head are cut here, ureq's HTTP/1.1 head has this as its own default, and
/// reqwest's HTTP/1.1 (`https://` only) keeps hyper's bound of about 400 KB for reading
/// but is held to this one once the head is in. Every backend counts a header line as its
/// name, its value and 4 bytes (`: ` and CRLF).
pub const MAX_RESPONSE_HEADERS: usize = 64 * 1024;

/// The most header lines an answer may carry: 100 (a real PokeAPI answer has about 20),
/// the same in every backend, so an answer one backend takes no other refuses. It is the
/// lowest bound any client here has built in: reqwest's HTTP/1.1 (hyper's default, which
/// reqwest does not let a caller change) stops at 100, ureq at 128 (a constant of
/// ureq-proto); the direct hyper path and HTTP/2 are held to it once the head is in.
pub const MAX_RESPONSE_HEADER_LINES: usize = 100;

/// Settings shared by every backend.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time limit for one whole call (connect, send, every redirect, the whole body).
    /// Default 30 s, so a server that sends its headers and then stalls cannot hang a
    /// call. `None`: no limit. Values above [`MAX_TIMEOUT`] count as [`MAX_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// Largest body accepted, in bytes (default [`DEFAULT_MAX_BODY`], 64 MiB). A body
    /// that grows past it (or declares a larger `Content-Length`) ends the call with an
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) error naming the limit and the
    /// URL, which is never retried: a server streaming an endless body cannot fill memory.
    pub max_body: u64,
    /// Idle connections kept per host for reuse.
    pub max_idle_per_host: usize,
    /// The async backend speaks HTTP/2 from the first byte (prior knowledge; over TLS it
    /// is negotiated): many requests share one connection. The blocking backend always
    /// speaks HTTP/1.1.
    pub http2: bool,
    /// Basic-authentication credentials, attached to every request to their origin
    /// (scheme, host and port) and to no other: how an API root's `user:pass@` is sent
    /// once it has been taken out of the root ([`Credentials::take`]). Default: none.
    pub credentials: Option<Credentials>,
    /// An API root redirects must stay under: a redirect to any URL outside it (another
    /// host, port or scheme, or a path outside the root) ends the call with a
    /// [`ErrorKind::Status`](crate::ErrorKind::Status) error naming both, and nothing is
    /// asked there. `https://pokeapi.co/api/v2` lets `…/pokemon/25` lead to
    /// `…/pokemon/25/`, not to another server. Default: none (any http(s) URL is
    /// followed).
    pub redirects_within: Option<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Some(Duration::from_secs(30)),
            max_body: DEFAULT_MAX_BODY,
            max_idle_per_host: 64,
            http2: false,
            credentials: None,
            redirects_within: None,
        }
    }
}

impl HttpOptions {
    /// The time limit the backends use: [`HttpOptions::timeout`], at most [`MAX_TIMEOUT`].
    /// The one place a timeout leaves these options, so no backend adds an unclamped
    /// duration to a clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use asyncdex::http::{HttpOptions, MAX_TIMEOUT};
    /// let huge = HttpOptions { timeout: Some(Duration::from_secs_f64(1e19)), ..HttpOptions::default() };
    /// assert_eq!(huge.time_limit(), Some(MAX_TIMEOUT));
    /// assert_eq!(HttpOptions::default().time_limit(), Some(Duration::from_secs(30)));
    /// ```
    pub fn time_limit(&self) -> Option<Duration> {
        self.timeout.map(|t| t.min(MAX_TIMEOUT))
    }
}

/// The user agent every backend sends, so server logs can tell asyncdex apart.
pub const USER_AGENT: &str = concat!("asyncdex/", env!("CARGO_PKG_VERSION"));

/// An async GET. Implemented by [`Native`] and [`Offloaded`].
pub trait Transport: Clone + Send + Sync + 'static {
    /// Fetches `url`, following redirects (see [`MAX_REDIRECTS`]). Any status is an
    /// `Ok(Response)`; only transport failures (and the guards above) are errors.
    fn get(&self, url: &str) -> impl Future<Output = Result<Response>> + Send;
}

/// A blocking GET. Implemented by [`Blocking`].
pub trait BlockingTransport: Clone + Send + Sync + 'static {
    /// Fetches `url`, blocking the calling thread until the whole body has arrived;
    /// redirects and errors as [`Transport::get`]'s.
    fn get(&self, url: &str) -> Result<Response>;
}

/// A [`BlockingTransport`] made async by running each call on an offload [`Pool`].
///
/// The blocking backend is not changed at all: this is the `asyncio.to_thread` pattern.
#[derive(Clone, Debug)]
pub struct Offloaded<B> {
    inner: B,
    pool: Pool,
}

impl<B: BlockingTransport> Offloaded<B> {
    /// Wraps `inner` so its calls run on `pool`.
    pub fn new(inner: B, pool: Pool) -> Self {
        Offloaded { inner, pool }
    }
}

impl<B: BlockingTransport> Transport for Offloaded<B> {
    async fn get(&self, url: &str) -> Result<Response> {
        let (inner, url) = (self.inner.clone(), url.to_owned());
        self.pool.run(move || inner.get(&url)).await?
    }
}
