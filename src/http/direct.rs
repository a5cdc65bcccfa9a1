//! Plain-HTTP requests straight on hyper's pooled client: what [`super::Native`] uses for
//! `http://` URLs (the mirror, local servers), where reqwest's extra layers (its own URL
//! type with IDNA, redirects, a whole-request timer) cost more than the request itself.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderValue, CACHE_CONTROL, RETRY_AFTER, USER_AGENT as UA};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{parse_max_age, parse_retry_after, HttpOptions, Response, USER_AGENT};
use crate::error::{Error, ErrorKind, Result};

/// A pooled plain-HTTP client. Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub(super) struct Direct {
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Option<Duration>,
}

impl Direct {
    pub(super) fn new(options: &HttpOptions) -> Direct {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_max_idle_per_host(options.max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http2_only(options.http2)
            .http2_max_concurrent_reset_streams(usize::MAX);
        Direct {
            client: builder.build(connector),
            timeout: options.timeout,
        }
    }

    pub(super) async fn get(&self, url: &str) -> Result<Response> {
        let call = self.call(url);
        match self.timeout {
            None => call.await,
            Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                Err(
                    Error::new(ErrorKind::Timeout, format!("timed out waiting for {url}"))
                        .with_url(url),
                )
            }),
        }
    }

    async fn call(&self, url: &str) -> Result<Response> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| Error::invalid_input(format!("bad URL {url}: {e}")))?;
        let mut req = hyper::Request::new(Empty::new());
        *req.uri_mut() = uri;
        req.headers_mut()
            .insert(UA, HeaderValue::from_static(USER_AGENT));
        let resp = self.client.request(req).await.map_err(|e| {
            let kind = if e.is_connect() {
                ErrorKind::Connect
            } else {
                ErrorKind::Io
            };
            let what = if e.is_connect() {
                "could not connect to"
            } else {
                "request failed:"
            };
            Error::new(kind, format!("{what} {url}: {}", source_chain(&e))).with_url(url)
        })?;
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let retry_after = header(RETRY_AFTER).and_then(parse_retry_after);
        let max_age = header(CACHE_CONTROL).and_then(parse_max_age);
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("request failed: {url}: the body broke off: {e}"),
                )
                .with_url(url)
            })?
            .to_bytes();
        Ok(Response {
            status,
            retry_after,
            max_age,
            body,
        })
    }
}

/// An error and its causes, on one line.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
