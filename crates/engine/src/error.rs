//! The engine's own error: what can go wrong in the engine itself, never in a caller's call.
//!
//! A call's own failure stays the caller's type, untouched, inside
//! [`Failure::Failed`](crate::gather::Failure::Failed). What is left for this type is
//! small: a [`Policy`](crate::gather::Policy) that can never work, work that panicked or
//! was dropped in an [`offload`](crate::offload) pool, a pool that is shut down. As in
//! walkdir, the type is opaque: ask it [`Error::kind`] and read its one-line message.

use std::fmt;

/// What went wrong in the engine. `non_exhaustive`: kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A setting that can never work (a limit of 0, a zero timeout...).
    InvalidInput,
    /// Blocking work panicked (the message says where and why).
    Panicked,
    /// The work was dropped before it finished (its pool or runtime went away).
    Cancelled,
    /// A pool that is shut down, or has no threads, was asked to run work.
    Closed,
}

impl ErrorKind {
    /// A short lowercase label (`"invalid_input"`, `"panicked"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Panicked => "panicked",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Closed => "closed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The engine's error: a kind and a one-line message.
///
/// ```
/// use asyncdex_engine::{gather::Policy, ErrorKind};
///
/// let err = Policy::new(0).check().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert!(err.to_string().contains("at least 1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// The engine's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
