//! The blocking backend: ureq, Rust's `requests`.

use super::{
    failure, parse_max_age, parse_retry_after, BlockingTransport, HttpOptions, Response, USER_AGENT,
};
use crate::error::{Error, ErrorKind, Result};

/// Largest body accepted (a real Pokémon body is ~250 KB).
const BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// A blocking HTTP client (ureq) with a shared connection pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Blocking {
    agent: ureq::Agent,
}

impl Blocking {
    /// A client with `options`; clones share its connections.
    pub fn new(options: &HttpOptions) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(options.timeout)
            .max_idle_connections(options.max_idle_per_host.max(1))
            .max_idle_connections_per_host(options.max_idle_per_host.max(1))
            .user_agent(USER_AGENT)
            .build()
            .into();
        Blocking { agent }
    }
}

impl BlockingTransport for Blocking {
    fn get(&self, url: &str) -> Result<Response> {
        let fail = |e: ureq::Error| map_error(e, url);
        let mut resp = self.agent.get(url).call().map_err(fail)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let max_age = resp
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        let body = resp
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(fail)?;
        Ok(Response {
            status,
            retry_after,
            max_age,
            body: body.into(),
        })
    }
}

fn map_error(e: ureq::Error, url: &str) -> Error {
    let kind = match &e {
        ureq::Error::Timeout(_) => ErrorKind::Timeout,
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => ErrorKind::Connect,
        ureq::Error::BadUri(_) => ErrorKind::InvalidInput,
        ureq::Error::Io(io) => failure::io_kind(io),
        _ => ErrorKind::Network,
    };
    failure::failed(kind, url, &e).with_source(e)
}
