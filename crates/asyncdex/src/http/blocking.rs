//! The blocking backend: ureq, Rust's `requests`.
//!
//! ureq's own redirect following is off: [`super::redirect::Hops`] follows them as the
//! async backend does, and the whole chain shares one deadline. Its own resolver is
//! replaced too: it starts a thread per connection, and panics when none can be started
//! ([`super::resolve`] explains).
//!
//! Its body is read as every backend's is, through [`super::body`]: a buffer at a time,
//! each counted against the body's limit and charged to the process's one body budget
//! before it is kept. A thread blocked on a slow 60 MB body holds a charge as an async
//! task does, so forty such threads cannot hold 2.4 GB where forty tasks are stopped at
//! the budget.

use std::io::{ErrorKind as IoKind, Read};
use std::time::Instant;

use hyper::header::AUTHORIZATION;

use super::body::{Budget, Collect, CLIENT_BODIES};
use super::credentials::Credentials;
use super::headers::Head;
use super::redirect::{self, Hops};
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
    /// The root redirects stay under, as [`redirect::under_root`] writes it.
    within: Option<String>,
    /// What every body it reads is charged to: [`CLIENT_BODIES`], shared with the async
    /// backends (a test gives a small one of its own).
    budget: &'static Budget,
}

impl Blocking {
    /// A client with `options`; clones share its connections.
    pub fn new(options: &HttpOptions) -> Self {
        Blocking::under(options, &CLIENT_BODIES)
    }

    /// [`Blocking::new`], its bodies charged to `budget`.
    pub(super) fn under(options: &HttpOptions, budget: &'static Budget) -> Self {
        let timeout = options.time_limit();
        let config = ureq::Agent::config_builder()
            // No proxy from the environment (ureq reads HTTPS_PROXY, ALL_PROXY... by
            // default): one behaviour in every backend, see the `http` module docs.
            .proxy(None)
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
            within: options
                .redirects_within
                .as_deref()
                .map(redirect::under_root),
            budget,
        }
    }

    /// One hop: the answer and where it redirects.
    fn hop(&self, hops: &Hops<'_>, started: Instant) -> Result<(Response, Head)> {
        let url = hops.shown();
        let line = self.agent.config().input_buffer_size();
        let fail = |e: ureq::Error| map_error(e, url, self.max_body, line);
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
        failure::check_head(url, resp.headers())?;
        let head = Head::new(resp.status().as_u16(), resp.headers());
        let mut body = Collect::of_status(
            self.budget,
            self.max_body,
            url,
            head.status,
            head.content_length,
        )?;
        // Read with a count in hand: a deadline passed mid-body says how much had come.
        let mut reader = resp.body_mut().with_config().limit(self.max_body).reader();
        let mut buf = vec![0; READ_BUFFER];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    body.extend(&buf[..n])?;
                    if body.full() {
                        break;
                    }
                }
                Err(e) if e.kind() == IoKind::Interrupted => {}
                Err(e) => {
                    return Err(match (ureq::Error::from(e), self.timeout) {
                        (ureq::Error::Timeout(_), Some(limit)) => {
                            failure::body_timed_out(url, limit, body.seen())
                        }
                        (e, _) => fail(e),
                    })
                }
            }
        }
        Ok((head.with_body(body.finish()), head))
    }
}

/// Bytes read from a body at a time: each read is charged before the next.
const READ_BUFFER: usize = 64 * 1024;

impl BlockingTransport for Blocking {
    fn get(&self, url: &str) -> Result<Response> {
        let started = Instant::now();
        let mut hops = Hops::new(url, self.credentials.as_ref())?.within(self.within.as_deref());
        loop {
            let (resp, head) = self.hop(&hops, started)?;
            if !hops.follow(resp.status, head.location.as_ref())? {
                return Ok(resp);
            }
        }
    }
}

/// `e` in the words of every backend; `line` is ureq's input buffer, the most it reads
/// of any one line of an answer.
fn map_error(e: ureq::Error, url: &str, max_body: u64, line: usize) -> Error {
    let kind = match &e {
        ureq::Error::BodyExceedsLimit(_) => return failure::too_large(url, max_body),
        ureq::Error::LargeResponseHeader(..) => return failure::headers_too_large(url),
        // More than ureq-proto's 128 header lines (a constant), so more than the 100 every
        // backend allows. ureq does not export ureq-proto's error type to match on, so its
        // wording is what tells.
        ureq::Error::Protocol(p) if p.to_string().contains("too many headers") => {
            return failure::too_many_headers(url)
        }
        // A first line that does not begin `HTTP/1.` (httparse's `Version`): an HTTP/2-only
        // server's SETTINGS frame, say. Told, as the too many headers above, by wording.
        ureq::Error::Protocol(p) if p.to_string().contains("invalid HTTP version") => {
            return failure::not_http1(url)
        }
        // Its input buffer filled with what its chunked decoder could not use: one line of
        // the framing (a chunk size with endless extensions, or a trailer) longer than the
        // buffer. Nothing stalled: the server kept sending.
        ureq::Error::BodyStalled => {
            return failure::framing_too_large(
                url,
                line,
                "chunked framing in one line (a chunk size with its extensions, or a trailer)",
            )
        }
        ureq::Error::Timeout(_) => ErrorKind::Timeout,
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => ErrorKind::Connect,
        ureq::Error::BadUri(_) => ErrorKind::InvalidInput,
        ureq::Error::Io(io) => failure::io_kind(io),
        _ => ErrorKind::Network,
    };
    failure::failed(kind, url, &e).with_source(e)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// A server on 127.0.0.1 answering `max` connections, each with a 60-byte body.
    fn sixty_bytes(max: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(max) {
                let Ok(mut stream) = stream else { continue };
                let mut head = [0; 4096];
                let _ = stream.read(&mut head);
                let answer = "HTTP/1.1 200 OK\r\nContent-Length: 60\r\nConnection: close\r\n\r\n";
                let _ = stream.write_all(format!("{answer}{}", "x".repeat(60)).as_bytes());
            }
        });
        format!("http://{addr}/big")
    }

    #[test]
    fn a_blocking_body_held_counts_in_the_process_budget() {
        static BUDGET: Budget = Budget::new(100);
        let client = Blocking::under(&HttpOptions::default(), &BUDGET);
        let url = sixty_bytes(3);
        let first = client.get(&url).unwrap();
        assert_eq!(first.body.len(), 60);
        assert_eq!(BUDGET.charged(), 60, "held by the caller, charged");
        // A second 60 bytes would pass 100: refused in the async backends' words.
        let e = client.get(&url).unwrap_err();
        assert!(
            e.to_string()
                .contains("the bodies this process holds reached"),
            "{e}"
        );
        assert!(!e.is_transient());
        assert_eq!(BUDGET.charged(), 60, "a refused body keeps nothing");
        drop(first);
        assert_eq!(BUDGET.charged(), 0);
        assert_eq!(client.get(&url).unwrap().body.len(), 60);
        assert_eq!(BUDGET.charged(), 0, "dropped at once");
    }
}
