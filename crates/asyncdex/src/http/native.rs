//! The native async backend (Rust's `aiohttp`): one shared, pooled client.
//!
//! `https://` goes through reqwest (rustls). Plain `http://` (the embedded mirror, local
//! servers) goes straight to hyper's connections ([`super::direct`]): reqwest's own URL
//! type (parsed again, with IDNA), redirect policy and per-request bookkeeping cost more
//! than a loopback request itself. Measured: +35 % requests/s and −25 % memory with
//! 10 000 requests in flight (BENCHMARKS.md).
//!
//! Both paths share everything that is policy rather than protocol: one deadline for the
//! whole call ([`HttpOptions::time_limit`]), one redirect loop ([`Hops`]; reqwest's own is
//! off), credentials attached by it ([`Credentials`]), and one body limit ([`Collect`]).

use std::time::Duration;

use hyper::header::{HeaderValue, AUTHORIZATION};

use super::body::{Collect, CLIENT_BODIES};
use super::credentials::Credentials;
use super::headers::Head;
use super::progress::Progress;
use super::redirect::{self, Hops};
use super::{failure, HttpOptions, Response, Transport, MAX_RESPONSE_HEADERS, USER_AGENT};
use crate::error::{Error, ErrorKind, Result};

/// An async HTTP client (reqwest). Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct Native {
    client: reqwest::Client,
    direct: super::direct::Direct,
    timeout: Option<Duration>,
    max_body: u64,
    /// Plain http through reqwest too (see [`Native::through_reqwest`]).
    all_reqwest: bool,
    credentials: Option<Credentials>,
    /// The root redirects stay under, as [`redirect::under_root`] writes it.
    within: Option<String>,
}

impl Native {
    /// A client with `options`.
    pub fn new(options: &HttpOptions) -> Result<Self> {
        Native::build(options, false)
    }

    /// A client that sends every URL through reqwest, plain `http://` included: the
    /// general-purpose path that `https://` always takes, for comparing the two paths
    /// and for testing reqwest's side against a local plain-http server.
    pub fn through_reqwest(options: &HttpOptions) -> Result<Self> {
        Native::build(options, true)
    }

    fn build(options: &HttpOptions, all_reqwest: bool) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .pool_max_idle_per_host(options.max_idle_per_host)
            .redirect(reqwest::redirect::Policy::none())
            // No proxy from the environment (reqwest reads it by default): one behaviour
            // in every backend, see the `http` module docs.
            .no_proxy()
            .http2_max_header_list_size(MAX_RESPONSE_HEADERS as u32)
            .tcp_nodelay(true);
        if options.http2 {
            builder = builder.http2_prior_knowledge();
        }
        let client = builder
            .build()
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot build HTTP client: {e}")))?;
        Ok(Native {
            client,
            direct: super::direct::Direct::new(options),
            timeout: options.time_limit(),
            max_body: options.max_body,
            all_reqwest,
            credentials: options.credentials.clone(),
            within: options
                .redirects_within
                .as_deref()
                .map(redirect::under_root),
        })
    }
}

impl Transport for Native {
    async fn get(&self, url: &str) -> Result<Response> {
        let Some(limit) = self.timeout else {
            return self
                .follow(Hops::new(url, self.credentials.as_ref())?.within(self.within.as_deref()))
                .await;
        };
        // Outside the timer, so that when it fires the error can say how far the call got.
        let progress = Progress::default();
        let hops = Hops::watched(url, self.credentials.as_ref(), &progress)?
            .within(self.within.as_deref());
        tokio::time::timeout(limit, self.follow(hops))
            .await
            .unwrap_or_else(|_| Err(progress.timed_out(url, limit)))
    }
}

impl Native {
    /// The call, hop by hop, each on the path its URL takes.
    async fn follow(&self, mut hops: Hops<'_>) -> Result<Response> {
        loop {
            let (resp, location) = if !self.all_reqwest && hops.url().starts_with("http://") {
                // Small: the plain-http client boxes each protocol's state itself.
                self.direct.get(&hops).await?
            } else {
                // Boxed: a TLS call's state would otherwise make every call's future (and
                // so every call in flight) as large as its own.
                Box::pin(self.get_tls(&hops)).await?
            };
            if !hops.follow(resp.status, location.as_ref())? {
                return Ok(resp);
            }
        }
    }

    async fn get_tls(&self, hops: &Hops<'_>) -> Result<(Response, Option<HeaderValue>)> {
        let url = hops.shown();
        let fail = |e: reqwest::Error| map_error(e, url);
        let mut req = self.client.get(hops.url());
        if let Some(auth) = hops.auth() {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| failure::refused_head(url, &e).unwrap_or_else(|| fail(e)))?;
        failure::check_head(url, resp.headers())?;
        let head = Head::new(resp.status().as_u16(), resp.headers());
        // Streamed with a running count: `bytes()` would take whatever the server sends.
        let mut body = Collect::of_status(
            &CLIENT_BODIES,
            self.max_body,
            url,
            head.status,
            head.content_length,
        )?
        .watched(hops.progress());
        while let Some(chunk) = body
            .within(async { resp.chunk().await.transpose() })
            .await
            .transpose()
            .map_err(|e| {
                let e = e.without_url();
                if let Some(refused) = failure::refused_framing(url, &e) {
                    return refused.with_source(e);
                }
                failure::body_broke_off(url, failure::chain(&e)).with_source(e)
            })?
        {
            body.push(chunk)?;
            if body.full() {
                break;
            }
        }
        Ok((head.with_body(body.finish()), head.location))
    }
}

fn map_error(e: reqwest::Error, url: &str) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_builder() {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Network
    };
    // reqwest's own Display is terse and repeats the URL; the chain holds the cause.
    let e = e.without_url();
    let detail = match std::error::Error::source(&e) {
        Some(cause) => failure::chain(cause),
        None => e.to_string(),
    };
    failure::failed(kind, url, detail).with_source(e)
}
