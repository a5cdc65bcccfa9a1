//! The blocking backend: ureq, Rust's `requests`.
//!
//! ureq's own redirect following is off: [`super::redirect::Hops`] follows them as the
//! async backend does, and the whole chain shares one deadline. Its own resolver is
//! replaced too: it starts a thread per connection, and panics when none can be started
//! ([`super::resolve`] explains).

use std::time::Instant;

use hyper::header::AUTHORIZATION;

use super::credentials::Credentials;
use super::headers::Head;
use super::redirect::Hops;
use super::resolve::Resolve;
use super::{failure, BlockingTransport, HttpOptions, Response, MAX_RESPONSE_HEADERS, USER_AGENT};
use crate::error::{Error, ErrorKind, Result};

/// A blocking HTTP client (ureq) with a shared connection pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Blocking {
    agent: ureq::Agent,
    timeout: Option<std::time::Duration>,
    max_body: u64,
    credentials: Option<Credentials>,
}

impl Blocking {
    /// A client with `options`; clones share its connections.
    pub fn new(options: &HttpOptions) -> Self {
        let timeout = options.time_limit();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(timeout)
            .max_idle_connections(options.max_idle_per_host.max(1))
            .max_idle_connections_per_host(options.max_idle_per_host.max(1))
            .user_agent(USER_AGENT)
            .max_response_header_size(MAX_RESPONSE_HEADERS)
            .build();
        let connector = ureq::unversioned::transport::DefaultConnector::default();
        let agent = ureq::Agent::with_parts(config, connector, Resolve);
        Blocking {
            agent,
            timeout,
            max_body: options.max_body,
            credentials: options.credentials.clone(),
        }
    }

    /// One hop: the answer and where it redirects.
    fn hop(&self, hops: &Hops<'_>, started: Instant) -> Result<(Response, Head)> {
        let url = hops.shown();
        let fail = |e: ureq::Error| map_error(e, url, self.max_body);
        let mut req = self.agent.get(hops.url());
        if let Some(auth) = hops.auth() {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        if let Some(limit) = self.timeout {
            // What is left of the call's deadline, for this hop.
            let left = limit.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(failure::timed_out(url, limit));
            }
            req = req.config().timeout_global(Some(left)).build();
        }
        let mut resp = req.call().map_err(|e| match (e, self.timeout) {
            // In the words of every backend: no headers came in time.
            (ureq::Error::Timeout(_), Some(limit)) => failure::timed_out(url, limit),
            (e, _) => fail(e),
        })?;
        let head = Head::new(resp.status().as_u16(), resp.headers());
        if head.content_length.is_some_and(|n| n > self.max_body) {
            return Err(failure::too_large(url, self.max_body));
        }
        // Read with a count in hand: a deadline passed mid-body says how much had come.
        let mut body = Vec::new();
        let reader = resp.body_mut().with_config().limit(self.max_body).reader();
        if let Err(e) = std::io::Read::read_to_end(&mut { reader }, &mut body) {
            return Err(match (ureq::Error::from(e), self.timeout) {
                (ureq::Error::Timeout(_), Some(limit)) => {
                    failure::body_timed_out(url, limit, body.len() as u64)
                }
                (e, _) => fail(e),
            });
        }
        Ok((head.with_body(body.into()), head))
    }
}

impl BlockingTransport for Blocking {
    fn get(&self, url: &str) -> Result<Response> {
        let started = Instant::now();
        let mut hops = Hops::new(url, self.credentials.as_ref())?;
        loop {
            let (resp, head) = self.hop(&hops, started)?;
            if !hops.follow(resp.status, head.location.as_ref())? {
                return Ok(resp);
            }
        }
    }
}

fn map_error(e: ureq::Error, url: &str, max_body: u64) -> Error {
    let kind = match &e {
        ureq::Error::BodyExceedsLimit(_) => return failure::too_large(url, max_body),
        ureq::Error::LargeResponseHeader(..) => return failure::headers_too_large(url),
        // The same oversized head, seen as a count: which limit ureq meets first depends on
        // how the head arrives (its parser counts headers per read). ureq does not export
        // ureq-proto's error type to match on, so its wording is what tells.
        ureq::Error::Protocol(p) if p.to_string().contains("too many headers") => {
            return failure::headers_too_large(url)
        }
        ureq::Error::Timeout(_) => ErrorKind::Timeout,
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => ErrorKind::Connect,
        ureq::Error::BadUri(_) => ErrorKind::InvalidInput,
        ureq::Error::Io(io) => failure::io_kind(io),
        _ => ErrorKind::Network,
    };
    failure::failed(kind, url, &e).with_source(e)
}
