//! Who decides what is worth retrying: the caller, through its own error type.
//!
//! The engine cannot know that an HTTP 503 is worth another try and a 404 is not, or that
//! a file that is not there will not appear by asking again. So a call's error type says
//! it: [`Classify::retry`] answers [`Retry::No`], [`Retry::Yes`] (after the policy's
//! backoff), or [`Retry::After`] a wait the failure itself asked for (an HTTP
//! `Retry-After`). What the engine adds, a timeout or a cancellation, it classifies
//! itself: a [`Failure`] keeps the caller's error untouched, beside the engine's own ways
//! for a call to end.

use std::fmt;
use std::time::Duration;

use super::Status;

/// Whether a failed attempt is worth another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Final: asking again gives the same answer.
    No,
    /// Transient: try again after the policy's backoff.
    Yes,
    /// Transient, and the failure says how long to wait (capped by
    /// [`Policy::max_retry_after`](super::Policy::max_retry_after)).
    After(Duration),
}

/// What a call's error says about itself (and, through `Display`, in one line for logs and
/// events). Implement it for your own error type;
/// `std::io::Error` has one (interrupted, timed out, would block: retried).
pub trait Classify: fmt::Display {
    /// Whether the attempt that failed with this error is worth another.
    fn retry(&self) -> Retry;

    /// True if this error is itself a timeout (a client's own deadline), so the call
    /// counts as timed out rather than failed. Default: false.
    fn is_timeout(&self) -> bool {
        false
    }

    /// True if this error is the other side saying it has too much to do (for HTTP, a
    /// `429 Too Many Requests` or `503 Service Unavailable`): an adaptive limit
    /// ([`Adaptive`](super::Adaptive)) falls when it hears it. Default: false.
    fn is_overload(&self) -> bool {
        false
    }
}

impl Classify for std::io::Error {
    fn retry(&self) -> Retry {
        use std::io::ErrorKind::*;
        match self.kind() {
            Interrupted | TimedOut | WouldBlock => Retry::Yes,
            _ => Retry::No,
        }
    }

    fn is_timeout(&self) -> bool {
        self.kind() == std::io::ErrorKind::TimedOut
    }
}

impl Classify for std::convert::Infallible {
    fn retry(&self) -> Retry {
        match *self {}
    }
}

/// How a call failed: with its own error, or in one of the engine's ways.
#[derive(Debug)]
pub enum Failure<E> {
    /// The call's own error, from its last attempt.
    Failed(E),
    /// The last attempt ran past the policy's timeout (given).
    TimedOut(Duration),
    /// Cancelled before it could finish: fail-fast, an outside cancel, the batch dropped.
    Cancelled,
    /// The call panicked (the panic's message).
    Panicked(String),
}

impl<E> Failure<E> {
    /// The call's own error, if that is how it failed.
    pub fn error(&self) -> Option<&E> {
        match self {
            Failure::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The call's own error, or `convert` of the engine's failure.
    pub fn into_error(self, convert: impl FnOnce(Failure<E>) -> E) -> E {
        match self {
            Failure::Failed(e) => e,
            other => convert(other),
        }
    }
}

impl<E: Classify> Failure<E> {
    /// How the call ended.
    pub fn status(&self) -> Status {
        match self {
            Failure::Failed(e) if e.is_timeout() => Status::TimedOut,
            Failure::Failed(_) => Status::Failed,
            Failure::TimedOut(_) => Status::TimedOut,
            Failure::Cancelled => Status::Cancelled,
            Failure::Panicked(_) => Status::Failed,
        }
    }

    /// Whether another attempt is worth it: the caller's error decides for its own
    /// failures; a timeout is always worth another; a panic or a cancellation never.
    pub fn retry(&self) -> Retry {
        match self {
            Failure::Failed(e) => e.retry(),
            Failure::TimedOut(_) => Retry::Yes,
            Failure::Cancelled | Failure::Panicked(_) => Retry::No,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Failed(e) => e.fmt(f),
            Failure::TimedOut(limit) => {
                write!(f, "timed out after {:.1} s", limit.as_secs_f64())
            }
            Failure::Cancelled => f.write_str("cancelled before it finished"),
            Failure::Panicked(message) => write!(f, "the call panicked: {message}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Failure<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Failed(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_classifies_its_own_failures() {
        let timed_out: Failure<std::io::Error> = Failure::TimedOut(Duration::from_secs(2));
        assert_eq!(timed_out.status(), Status::TimedOut);
        assert_eq!(timed_out.retry(), Retry::Yes);
        assert_eq!(timed_out.to_string(), "timed out after 2.0 s");
        let cancelled: Failure<std::io::Error> = Failure::Cancelled;
        assert_eq!(cancelled.status(), Status::Cancelled);
        assert_eq!(cancelled.retry(), Retry::No);
        let panicked: Failure<std::io::Error> = Failure::Panicked("boom".into());
        assert_eq!(panicked.status(), Status::Failed);
        assert!(panicked.to_string().contains("boom"));
    }

    #[test]
    fn the_callers_error_decides_for_itself_and_stays_the_source() {
        use std::error::Error as _;
        let missing = Failure::Failed(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(missing.retry(), Retry::No);
        assert_eq!(missing.status(), Status::Failed);
        assert!(missing.source().is_some());
        let slow = Failure::Failed(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert_eq!(slow.retry(), Retry::Yes);
        assert_eq!(slow.status(), Status::TimedOut);
    }
}
