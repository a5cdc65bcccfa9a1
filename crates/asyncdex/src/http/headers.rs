//! What the library reads from an answer's headers, parsed in one place for every backend
//! (ureq, reqwest and hyper all hand over the same `http::HeaderMap`).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, LOCATION, RETRY_AFTER};
use hyper::HeaderMap;

use super::Response;

/// An answer's status and the headers that matter, before its body is read.
pub(super) struct Head {
    pub(super) status: u16,
    retry_after: Option<Duration>,
    max_age: Option<Duration>,
    /// Where a redirect points (see [`super::redirect`]).
    pub(super) location: Option<HeaderValue>,
    /// The declared body size, checked against the limit before reading.
    pub(super) content_length: Option<u64>,
}

impl Head {
    /// Reads `status` and `headers`.
    pub(super) fn new(status: u16, headers: &HeaderMap) -> Head {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        Head {
            status,
            retry_after: text(RETRY_AFTER).and_then(parse_retry_after),
            max_age: text(CACHE_CONTROL).and_then(parse_max_age),
            location: if (300..400).contains(&status) {
                headers.get(LOCATION).cloned()
            } else {
                None
            },
            content_length: text(CONTENT_LENGTH).and_then(|v| v.trim().parse().ok()),
        }
    }

    /// The response, now that its body has arrived.
    pub(super) fn with_body(&self, body: Bytes) -> Response {
        Response {
            status: self.status,
            retry_after: self.retry_after,
            max_age: self.max_age,
            body,
        }
    }
}

/// Parses a `Cache-Control` value into how long a private cache may reuse the answer:
/// `None` when it does not say (no `max-age`), zero when it forbids keeping the answer
/// (`no-store`, `no-cache`, whatever `max-age` says). A cache tells the two apart: a 404
/// that says nothing may be remembered a while, one that says `no-store` must not be.
///
/// ```
/// use std::time::Duration;
/// use asyncdex::http::parse_max_age;
/// assert_eq!(parse_max_age("public, max-age=86400, s-maxage=86400"), Some(Duration::from_secs(86400)));
/// assert_eq!(parse_max_age("no-store, max-age=60"), Some(Duration::ZERO));
/// assert_eq!(parse_max_age("public"), None);
/// assert_eq!(parse_max_age("Max-Age=5"), Some(Duration::from_secs(5)));
/// assert_eq!(parse_max_age("max-age=5, No-Cache"), Some(Duration::ZERO));
/// ```
pub fn parse_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        if is("no-store") || is("no-cache") {
            return Some(Duration::ZERO);
        }
        if is("max-age") {
            max_age = arg.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    max_age
}

/// Parses a `Retry-After` value: a number of seconds, or an HTTP date.
///
/// Hostile values saturate instead of failing: more seconds than a `u64` holds is
/// `u64::MAX` seconds, a date in year 9999 is that far away. How long is actually waited
/// is the caller's cap (the engine's `Policy::max_retry_after`), never this value alone.
///
/// ```
/// use std::time::Duration;
/// use asyncdex::http::parse_retry_after;
/// assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
/// assert_eq!(parse_retry_after("99999999999999999999999"), Some(Duration::from_secs(u64::MAX)));
/// assert!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT").unwrap() > Duration::from_secs(200 * 365 * 86400));
/// assert_eq!(parse_retry_after("soon"), None);
/// assert_eq!(parse_retry_after("-1"), None);
/// ```
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}
