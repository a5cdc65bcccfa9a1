//! One error type for the whole library.
//!
//! Following walkdir's model, [`Error`] is opaque: callers ask it questions
//! ([`Error::kind`], [`Error::status`], [`Error::url`], [`Error::retry_after`]) instead of
//! matching on its insides, so the library can add detail without breaking anyone.
//! Every error displays as one line that names the problem, which is what the CLI prints.
//!
//! The distinction that matters most for an API client is kept sharp: a 404 is
//! [`ErrorKind::NotFound`], never a decode failure, and a body that is not the JSON we
//! expected is [`ErrorKind::Decode`], never a "not found". What caused an error (an I/O
//! error, SQLite's, a JSON parser's) is kept, and [`std::error::Error::source`] returns
//! it. [`Classify`] tells the engine what is worth retrying: timeouts, connection
//! failures, 429 and 5xx; never another 4xx, a decode error, or a local I/O error such as
//! a full disk.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use asyncdex_engine::gather::{Classify, Failure, Retry};

/// What went wrong, broadly. Marked `non_exhaustive` so new kinds can be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server answered 404: the id or name does not exist.
    NotFound,
    /// The server answered with another non-success status (see [`Error::status`]).
    Status,
    /// The body could not be decoded as the expected JSON.
    Decode,
    /// The call did not finish in time.
    Timeout,
    /// No connection could be made (refused, unknown host).
    Connect,
    /// The connection broke during the exchange (reset, closed, a body cut short).
    Network,
    /// The input was rejected before any call was made (bad id, bad URL, zero limit...).
    InvalidInput,
    /// A blocking function run through [`asyncdex_engine::offload`] panicked.
    Panicked,
    /// The work was cancelled before it finished.
    Cancelled,
    /// Any other I/O failure (local: a file, a disk). Never retried.
    Io,
    /// The SQLite store failed (cannot open, corrupt, disk full...).
    Database,
}

impl ErrorKind {
    /// A short lowercase label, stable enough for JSON output (`"not_found"`, `"timeout"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Status => "status",
            ErrorKind::Decode => "decode",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Network => "network",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Panicked => "panicked",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Io => "io",
            ErrorKind::Database => "database",
        }
    }
}

impl ErrorKind {
    /// The kind of a call's failure: its own error's, or the engine's timeout, cancel or
    /// panic.
    pub fn of(failure: &Failure<Error>) -> ErrorKind {
        match failure {
            Failure::Failed(e) => e.kind(),
            Failure::TimedOut(_) => ErrorKind::Timeout,
            Failure::Cancelled => ErrorKind::Cancelled,
            Failure::Panicked(_) => ErrorKind::Panicked,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The library's error: a kind, a one-line message, and optional facts about the call.
///
/// ```
/// use asyncdex::{Error, ErrorKind};
///
/// let err = Error::invalid_input("id 0 is not a Pokémon id (ids start at 1)");
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert_eq!(err.to_string(), "id 0 is not a Pokémon id (ids start at 1)");
/// ```
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    url: Option<String>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// Builds an error of `kind` with a one-line `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            url: None,
            status: None,
            retry_after: None,
            source: None,
        }
    }

    /// Keeps `cause` as this error's [`source`](std::error::Error::source).
    pub fn with_source(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(cause));
        self
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// Attaches the URL the failing call was made to.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Attaches the HTTP status the server answered with.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Attaches how long the server asked us to wait (`Retry-After`).
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    /// Says how many attempts the call made: `… (4 attempts)`, as a failed call's line.
    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        let tries = if attempts == 1 { "attempt" } else { "attempts" };
        self.message = format!("{} ({attempts} {tries})", self.message);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The URL of the failing call, when there was one.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The HTTP status, for [`ErrorKind::NotFound`] and [`ErrorKind::Status`].
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The server's `Retry-After`, if it sent one (typically with a 429 or 503).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// True for failures worth trying again: timeouts, connection failures, 429 and 5xx.
    /// A 404 or any other 4xx is final: asking again gives the same answer; so is a local
    /// I/O error (a full disk stays full).
    pub fn is_transient(&self) -> bool {
        match self.kind {
            ErrorKind::Timeout | ErrorKind::Connect | ErrorKind::Network => true,
            ErrorKind::Status => matches!(self.status, Some(429) | Some(500..=599)),
            _ => false,
        }
    }
}

impl Classify for Error {
    fn retry(&self) -> Retry {
        match (self.is_transient(), self.retry_after) {
            (false, _) => Retry::No,
            (true, Some(wait)) => Retry::After(wait),
            (true, None) => Retry::Yes,
        }
    }

    fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// A server that answers 429 (too many requests) or 503 (no capacity) asks for less.
    fn is_overload(&self) -> bool {
        self.kind == ErrorKind::Status && matches!(self.status, Some(429 | 503))
    }
}

/// The engine's own failures (a policy that cannot work, a pool's panic or shutdown).
impl From<asyncdex_engine::Error> for Error {
    fn from(e: asyncdex_engine::Error) -> Self {
        use asyncdex_engine::ErrorKind as Engine;
        let kind = match e.kind() {
            Engine::InvalidInput => ErrorKind::InvalidInput,
            Engine::Panicked => ErrorKind::Panicked,
            Engine::Cancelled => ErrorKind::Cancelled,
            _ => ErrorKind::Io,
        };
        Error::new(kind, e.to_string()).with_source(e)
    }
}

/// How a call ended, as one error: its own, or the engine's timeout, cancel or panic.
impl From<Failure<Error>> for Error {
    fn from(failure: Failure<Error>) -> Self {
        failure.into_error(|other| Error::new(ErrorKind::of(&other), other.to_string()))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match e.kind() {
            Io::TimedOut => ErrorKind::Timeout,
            Io::ConnectionRefused | Io::AddrNotAvailable => ErrorKind::Connect,
            Io::ConnectionReset | Io::ConnectionAborted | Io::NotConnected | Io::BrokenPipe => {
                ErrorKind::Network
            }
            _ => ErrorKind::Io,
        };
        Error::new(kind, e.to_string()).with_source(e)
    }
}

/// The library's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_covers_429_and_5xx_but_not_other_4xx() {
        let status = |s| Error::new(ErrorKind::Status, "x").with_status(s);
        assert!(status(429).is_transient());
        assert!(status(503).is_transient());
        assert!(!status(400).is_transient());
        assert!(!Error::new(ErrorKind::NotFound, "x")
            .with_status(404)
            .is_transient());
        assert!(Error::new(ErrorKind::Timeout, "x").is_transient());
        assert!(!Error::new(ErrorKind::Decode, "x").is_transient());
    }

    #[test]
    fn only_429_and_503_say_the_server_is_overloaded() {
        let status = |s| Error::new(ErrorKind::Status, "x").with_status(s);
        assert!(status(429).is_overload() && status(503).is_overload());
        assert!(!status(500).is_overload() && !status(502).is_overload());
        assert!(!Error::new(ErrorKind::Connect, "x").is_overload());
    }

    #[test]
    fn accessors_return_what_was_attached() {
        let e = Error::new(ErrorKind::Status, "HTTP 503")
            .with_url("http://x/")
            .with_status(503)
            .with_retry_after(Some(Duration::from_secs(2)));
        assert_eq!(e.url(), Some("http://x/"));
        assert_eq!(e.status(), Some(503));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(e.kind().as_str(), "status");
    }
}
