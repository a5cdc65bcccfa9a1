//! One wording for every backend's failures, so a user reads the same line whichever
//! client made the call, and the same kind decides whether it is retried.
//!
//! | what happened | kind | line |
//! |---|---|---|
//! | no connection could be made | [`ErrorKind::Connect`] | `could not connect to URL: …` |
//! | the connection broke during the exchange | [`ErrorKind::Network`] | `request failed: URL: …` |
//! | the body was cut short | [`ErrorKind::Network`] | `request failed: URL: the body broke off: …` |
//! | the client's own deadline passed, no answer yet | [`ErrorKind::Timeout`] | `timed out waiting for URL: no answer within N s` |
//! | the deadline passed while the body arrived | [`ErrorKind::Timeout`] | `timed out waiting for URL: the answer came, but its body did not finish within N s (B bytes read)` |
//! | the request could not be built | [`ErrorKind::InvalidInput`] | `bad request to URL: …` |
//! | the body passed [`HttpOptions::max_body`](super::HttpOptions::max_body) | [`ErrorKind::Decode`] (final) | `the answer from URL is larger than the limit of N bytes …` |
//! | the headers passed [`MAX_RESPONSE_HEADERS`](super::MAX_RESPONSE_HEADERS) | [`ErrorKind::Decode`] (final) | `the answer from URL has more than N bytes of headers …` |
//! | more header lines than [`MAX_RESPONSE_HEADER_LINES`](super::MAX_RESPONSE_HEADER_LINES) | [`ErrorKind::Decode`] (final) | `the answer from URL has more than N header lines …` |
//! | hyper refused the head, for either bound (it does not say which) | [`ErrorKind::Decode`] (final) | `the answer from URL has more than N header lines or more than M bytes of headers …` |
//! | HTTP/2 (prior knowledge) to a server that does not speak it | [`ErrorKind::Decode`] (final) | `the server at HOST:PORT does not speak HTTP/2 (prior knowledge) …` |
//! | HTTP/1.1 to a server that answers otherwise (HTTP/2 only) | [`ErrorKind::Decode`] (final) | `the server at HOST:PORT does not answer in HTTP/1.x …` |
//! | a chunked body's framing passed its client's bound | [`ErrorKind::Decode`] (final) | `the answer from URL has more than N bytes of chunk extensions …` |
//! | more than [`MAX_REDIRECTS`](super::redirect::MAX_REDIRECTS) redirects | [`ErrorKind::Status`] (final) | `too many redirects from URL …` |
//!
//! Every line and every [`Error::url`] shows the URL through [`redact_url`]: a password in
//! it never reaches a terminal or a log.

use super::credentials::redact_url;
use crate::error::{Error, ErrorKind};

/// A failure of `kind` on the call to `url`, worded as every backend words it; `detail`
/// is the client's own explanation (see [`chain`]).
pub(super) fn failed(kind: ErrorKind, url: &str, detail: impl std::fmt::Display) -> Error {
    let url = redact_url(url);
    let what = match kind {
        ErrorKind::Connect => "could not connect to",
        ErrorKind::Timeout => "timed out waiting for",
        ErrorKind::InvalidInput => "bad request to",
        _ => "request failed:",
    };
    Error::new(kind, format!("{what} {url}: {detail}")).with_url(url)
}

/// The client's own deadline passed, `limit` after the call began.
pub(super) fn timed_out(url: &str, limit: std::time::Duration) -> Error {
    failed(
        ErrorKind::Timeout,
        url,
        format_args!("no answer within {} s", seconds(limit)),
    )
}

/// `d` in seconds as a person would write it: one decimal at least, more only when the
/// value needs them (`5.0`, `0.3`, `0.05`, `0.001`), so a deadline under 0.1 s is not
/// misstated as `0.1` or `0.0`.
fn seconds(d: std::time::Duration) -> String {
    let mut text = format!("{:.3}", d.as_secs_f64());
    while text.ends_with('0') && !text.ends_with(".0") {
        text.pop();
    }
    text
}

/// The client's own deadline passed, `limit` after the call began, while the answer's
/// body was still arriving (`read` bytes of it had): the server did answer, so this is
/// not "no answer".
pub(super) fn body_timed_out(url: &str, limit: std::time::Duration, read: u64) -> Error {
    failed(
        ErrorKind::Timeout,
        url,
        format_args!(
            "the answer came, but its body did not finish within {} s ({read} byte{} read)",
            seconds(limit),
            if read == 1 { "" } else { "s" }
        ),
    )
}

/// A body not read because the bodies this process holds already fill its budget
/// (`body::CLIENT_BODIES`): one line, never retried at once.
pub(super) fn over_budget(url: &str, limit: u64) -> Error {
    let url = redact_url(url);
    Error::new(
        ErrorKind::Decode,
        format!(
            "the answer from {url} was not read: the bodies this process holds reached {} MiB",
            limit >> 20
        ),
    )
    .with_url(url)
}

/// The body is (or was declared) larger than `limit` bytes. Final: asking again brings
/// the same body.
pub(super) fn too_large(url: &str, limit: u64) -> Error {
    const MIB: u64 = 1024 * 1024;
    let url = redact_url(url);
    let mib = if limit >= MIB && limit % MIB == 0 {
        format!(" ({} MiB)", limit / MIB)
    } else {
        String::new()
    };
    Error::new(
        ErrorKind::Decode,
        format!("the answer from {url} is larger than the limit of {limit} bytes{mib}; stopped reading it"),
    )
    .with_url(url)
}

/// The answer's head passed [`MAX_RESPONSE_HEADERS`](super::MAX_RESPONSE_HEADERS).
/// Final: asking again brings the same headers.
pub(super) fn headers_too_large(url: &str) -> Error {
    head_refused(
        url,
        format_args!("{} bytes of headers", super::MAX_RESPONSE_HEADERS),
    )
}

/// The answer carried more than
/// [`MAX_RESPONSE_HEADER_LINES`](super::MAX_RESPONSE_HEADER_LINES) header lines. Final.
pub(super) fn too_many_headers(url: &str) -> Error {
    head_refused(
        url,
        format_args!("{} header lines", super::MAX_RESPONSE_HEADER_LINES),
    )
}

/// hyper's HTTP/1.1 parser refused the head ("message head is too large"), which it says
/// alike for too many lines and too many bytes. Final.
fn head_too_large(url: &str) -> Error {
    head_refused(
        url,
        format_args!(
            "{} header lines or more than {} bytes of headers",
            super::MAX_RESPONSE_HEADER_LINES,
            super::MAX_RESPONSE_HEADERS
        ),
    )
}

fn head_refused(url: &str, what: std::fmt::Arguments<'_>) -> Error {
    let url = redact_url(url);
    Error::new(
        ErrorKind::Decode,
        format!("the answer from {url} has more than {what}; stopped reading it"),
    )
    .with_url(url)
}

/// Holds an answer's head, once received, to both bounds: more than
/// [`MAX_RESPONSE_HEADER_LINES`](super::MAX_RESPONSE_HEADER_LINES) lines, or more than
/// [`MAX_RESPONSE_HEADERS`](super::MAX_RESPONSE_HEADERS) bytes (a line counted as its
/// name, its value and 4), fails the call, whichever client read it and however far its
/// own bounds let it.
pub(super) fn check_head(url: &str, headers: &hyper::HeaderMap) -> Result<(), Error> {
    if headers.len() > super::MAX_RESPONSE_HEADER_LINES {
        return Err(too_many_headers(url));
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if bytes > super::MAX_RESPONSE_HEADERS {
        return Err(headers_too_large(url));
    }
    Ok(())
}

/// HTTP/2 refused an answer's header block: h2 says no more than "protocol error" or
/// "too many continuations", for a block past the bound or a malformed one. Final.
pub(super) fn headers_refused(url: &str, detail: impl std::fmt::Display) -> Error {
    let url = redact_url(url);
    Error::new(
        ErrorKind::Decode,
        format!(
            "the answer from {url} has headers this client refused (more than {} bytes, or malformed): {detail}",
            super::MAX_RESPONSE_HEADERS
        ),
    )
    .with_url(url)
}

/// The error for a failure while waiting for an answer's head, if it was the head that
/// was refused: hyper's "message head is too large" (HTTP/1.1), or an error h2 raised
/// itself (not the server's reset) on the header block; `e` or any of its causes.
pub(super) fn refused_head(url: &str, e: &(dyn std::error::Error + 'static)) -> Option<Error> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(hyper) = c.downcast_ref::<hyper::Error>() {
            if hyper.is_parse_too_large() {
                return Some(head_too_large(url));
            }
            // hyper says no more than this of a first line that does not begin `HTTP/1.`
            // (its `Parse::Version`; the method that would tell is for servers only).
            if hyper.is_parse() && hyper.to_string() == "invalid HTTP version parsed" {
                return Some(not_http1(url));
            }
        }
        if let Some(h2) = c.downcast_ref::<h2::Error>() {
            if let Some(not) = not_http2(url, h2) {
                return Some(not);
            }
            if h2.is_library() {
                return Some(
                    broke_http2(url, h2).unwrap_or_else(|| headers_refused(url, chain(e))),
                );
            }
        }
        cause = c.source();
    }
    None
}

/// The error for an HTTP/2 connection h2 closed because the server broke the protocol
/// on the connection itself (a flood of SETTINGS, a window past 2^31 − 1), if `e` is one:
/// not a header block refused (see below) (hp11 A-F3: these were worded as headers
/// refused that nobody sent).
pub(super) fn broke_http2(url: &str, e: &h2::Error) -> Option<Error> {
    let reason = e.reason()?;
    // What h2 closes a connection with for a header block: COMPRESSION_ERROR (HPACK it
    // cannot decode), ENHANCE_YOUR_CALM (a block past the header bound).
    let headers = [h2::Reason::COMPRESSION_ERROR, h2::Reason::ENHANCE_YOUR_CALM];
    if !(e.is_library() && e.is_go_away()) || headers.contains(&reason) {
        return None;
    }
    let url = redact_url(url);
    let server = server_of(&url);
    Some(
        Error::new(
            ErrorKind::Network,
            format!(
                "the server at {server} broke the HTTP/2 protocol while answering {url}, and the connection was closed: {}",
                reason.description()
            ),
        )
        .with_url(url),
    )
}

/// The error for a connection over HTTP/2 (prior knowledge) to a server that does not
/// speak it, if `e` says so: h2 itself refused a frame larger than any it allows
/// (`FRAME_SIZE_ERROR`). An HTTP/1.x answer to the HTTP/2 preface always reads so: its
/// first bytes, `HTT`, are a frame length of 4.7 MB, where 16 KiB is the most until the
/// client allows more (and this one never does). Final: the server will not learn it.
pub(super) fn not_http2(url: &str, e: &h2::Error) -> Option<Error> {
    if !(e.is_library() && e.reason() == Some(h2::Reason::FRAME_SIZE_ERROR)) {
        return None;
    }
    let url = redact_url(url);
    let server = server_of(&url);
    Some(
        Error::new(
            ErrorKind::Decode,
            format!(
                "the server at {server} does not speak HTTP/2 (prior knowledge): it answered {url} with what is not an HTTP/2 frame (an HTTP/1.1 answer?); call it without HTTP/2"
            ),
        )
        .with_url(url),
    )
}

/// `HOST:PORT` of `url` (already redacted), or `url` itself if it has none.
fn server_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| url.to_string())
}

/// The error for an HTTP/1.1 call whose answer does not begin with an HTTP/1.x status
/// line: hyper's and ureq's parsers say only "invalid HTTP version". The likeliest cause
/// is a server that speaks only HTTP/2 (prior knowledge): its first bytes are a SETTINGS
/// frame (`00 00 xx 04`). No backend shows the bytes it read, so the line says what is
/// known and asks. Final: the server will not learn HTTP/1.1.
pub(super) fn not_http1(url: &str) -> Error {
    let url = redact_url(url);
    let server = server_of(&url);
    Error::new(
        ErrorKind::Decode,
        format!(
            "the server at {server} does not answer in HTTP/1.x: it answered {url} with what is not an HTTP/1.x status line (an HTTP/2-only server?); call it with HTTP/2 (prior knowledge)"
        ),
    )
    .with_url(url)
}

/// hyper's bound on a chunked body's framing: at most this many bytes of chunk extensions
/// in the whole body, and of trailers (its `CHUNKED_EXTENSIONS_LIMIT`, `TRAILER_LIMIT`;
/// not exported). Neither the direct path nor reqwest sets another.
pub(super) const HYPER_CHUNK_FRAMING: usize = 16 * 1024;

/// The error for a body that broke off because hyper refused its chunked framing ("chunk
/// extensions over limit", "chunk trailers bytes over limit": the io error it gives as the
/// cause), if `e` or any of its causes says so. Final: the server sends the same again.
pub(super) fn refused_framing(url: &str, e: &(dyn std::error::Error + 'static)) -> Option<Error> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                let text = io.to_string();
                if text == "chunk extensions over limit" {
                    return Some(framing_too_large(
                        url,
                        HYPER_CHUNK_FRAMING,
                        "chunk extensions",
                    ));
                }
                if text.starts_with("chunk trailers") {
                    return Some(framing_too_large(url, HYPER_CHUNK_FRAMING, "trailers"));
                }
            }
        }
        cause = c.source();
    }
    None
}

/// A chunked body whose framing (`what`: chunk extensions, trailers, one line of either)
/// passed `limit` bytes, in the words of the header bound. Final.
pub(super) fn framing_too_large(url: &str, limit: usize, what: &str) -> Error {
    let url = redact_url(url);
    Error::new(
        ErrorKind::Decode,
        format!("the answer from {url} has more than {limit} bytes of {what}; stopped reading it"),
    )
    .with_url(url)
}

/// A chain of redirects longer than the backends follow. Final: it is the server's loop.
pub(super) fn too_many_redirects(url: &str, hops: usize) -> Error {
    let url = redact_url(url);
    Error::new(
        ErrorKind::Status,
        format!("too many redirects from {url} (followed {hops})"),
    )
    .with_url(url)
}

/// A redirect from `url` to `to`, outside the API `root` the call must stay under
/// ([`Hops::within`](super::redirect::Hops::within)).
pub(super) fn redirected_off(url: &str, to: &str, root: &str) -> Error {
    let url = redact_url(url);
    Error::new(
        ErrorKind::Status,
        format!(
            "{url} redirects to {}, off the API root {root}: not followed",
            redact_url(to)
        ),
    )
    .with_url(url)
}

/// The body broke off after the headers arrived.
pub(super) fn body_broke_off(url: &str, detail: impl std::fmt::Display) -> Error {
    failed(
        ErrorKind::Network,
        url,
        format_args!("the body broke off: {detail}"),
    )
}

/// An error and its causes, in one line: clients' own messages are terse, and the cause
/// (reset, refused, closed) is what a user needs.
pub(super) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// The kind of an I/O error met during an exchange: a timeout, a connection that could
/// not be made, or one that broke.
pub(super) fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match e.kind() {
        Io::TimedOut => ErrorKind::Timeout,
        Io::ConnectionRefused | Io::AddrNotAvailable => ErrorKind::Connect,
        _ => ErrorKind::Network,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_wording_and_keeps_the_url() {
        let e = failed(ErrorKind::Connect, "http://x/", "refused");
        assert_eq!(e.to_string(), "could not connect to http://x/: refused");
        assert_eq!(e.url(), Some("http://x/"));
        let e = body_broke_off("http://x/", "reset");
        assert_eq!(e.kind(), ErrorKind::Network);
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "request failed: http://x/: the body broke off: reset"
        );
    }

    #[test]
    fn no_line_and_no_url_shows_a_password() {
        let url = "http://ash:pikachu@127.0.0.1:1/api/v2";
        for e in [
            failed(ErrorKind::Connect, url, "refused"),
            timed_out(url, std::time::Duration::from_secs(1)),
            too_large(url, 64 * 1024 * 1024),
            too_many_redirects(url, 10),
            not_http1(url),
            framing_too_large(url, HYPER_CHUNK_FRAMING, "trailers"),
        ] {
            assert!(!e.to_string().contains("pikachu"), "{e}");
            assert_eq!(e.url(), Some("http://ash:***@127.0.0.1:1/api/v2"));
        }
        let e = too_large(url, 64 * 1024 * 1024);
        assert!(e.to_string().contains("67108864 bytes (64 MiB)"), "{e}");
        assert!(!e.is_transient());
    }

    #[test]
    fn a_chain_names_each_cause_once() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let outer = std::io::Error::other(inner);
        assert_eq!(chain(&outer), "reset by peer");
    }

    #[test]
    fn a_deadline_is_written_as_given_even_under_a_tenth_of_a_second() {
        let s = |ms| seconds(std::time::Duration::from_millis(ms));
        assert_eq!(
            [s(5000), s(300), s(50), s(1), s(1250)],
            ["5.0", "0.3", "0.05", "0.001", "1.25"]
        );
        let e = timed_out("http://x/", std::time::Duration::from_millis(50));
        assert!(e.to_string().ends_with("no answer within 0.05 s"), "{e}");
    }
}
