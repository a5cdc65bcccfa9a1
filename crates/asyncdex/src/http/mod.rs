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
mod direct;
mod failure;
mod native;

use std::future::Future;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

pub use blocking::Blocking;
pub use native::Native;

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

/// Settings shared by both backends.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time limit for one whole call (connect, send, receive). `None`: no limit.
    pub timeout: Option<Duration>,
    /// Idle connections kept per host for reuse.
    pub max_idle_per_host: usize,
    /// The async backend speaks HTTP/2 from the first byte (prior knowledge; over TLS it
    /// is negotiated): many requests share one connection. The blocking backend always
    /// speaks HTTP/1.1.
    pub http2: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Some(Duration::from_secs(30)),
            max_idle_per_host: 64,
            http2: false,
        }
    }
}

/// The user agent both backends send, so server logs can tell asyncdex apart.
pub const USER_AGENT: &str = concat!("asyncdex/", env!("CARGO_PKG_VERSION"));

/// An async GET. Implemented by [`Native`] and [`Offloaded`].
pub trait Transport: Clone + Send + Sync + 'static {
    /// Fetches `url`. Any status is a `Ok(Response)`; only transport failures are errors.
    fn get(&self, url: &str) -> impl Future<Output = Result<Response>> + Send;
}

/// A blocking GET. Implemented by [`Blocking`].
pub trait BlockingTransport: Clone + Send + Sync + 'static {
    /// Fetches `url`, blocking the calling thread until the whole body has arrived.
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

    /// The pool the calls run on.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

impl<B: BlockingTransport> Transport for Offloaded<B> {
    async fn get(&self, url: &str) -> Result<Response> {
        let (inner, url) = (self.inner.clone(), url.to_owned());
        self.pool.run(move || inner.get(&url)).await?
    }
}

/// Parses a `Cache-Control` value into how long a private cache may reuse the answer.
///
/// ```
/// use std::time::Duration;
/// use asyncdex::http::parse_max_age;
/// assert_eq!(parse_max_age("public, max-age=86400, s-maxage=86400"), Some(Duration::from_secs(86400)));
/// assert_eq!(parse_max_age("no-store, max-age=60"), None);
/// assert_eq!(parse_max_age("public"), None);
/// assert_eq!(parse_max_age("Max-Age=5"), Some(Duration::from_secs(5)));
/// assert_eq!(parse_max_age("max-age=5, No-Cache"), None);
/// ```
pub fn parse_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        if is("no-store") || is("no-cache") {
            return None;
        }
        if is("max-age") {
            max_age = arg.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    max_age
}

/// Parses a `Retry-After` value: a number of seconds, or an HTTP date.
///
/// ```
/// use std::time::Duration;
/// use asyncdex::http::parse_retry_after;
/// assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
/// assert_eq!(parse_retry_after("soon"), None);
/// ```
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}
