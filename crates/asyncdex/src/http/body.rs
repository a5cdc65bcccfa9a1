//! One body-size policy for every backend: a body is read with a running count, and the
//! call fails as soon as the count passes [`HttpOptions::max_body`](super::HttpOptions::max_body).
//!
//! A client that reads "the whole body" into memory trusts the server to end it. A server
//! that never ends a chunked body (or declares a terabyte) would otherwise grow the
//! client's memory until the machine gives out: the limit turns that into one line,
//! [`failure::too_large`](super::failure), of a kind that is never retried (asking again
//! gets the same endless body). The async backends read through [`Collect`]; the blocking
//! one uses ureq's own limit, reported in the same words.

use bytes::{Bytes, BytesMut};

use super::failure;
use crate::error::Result;

/// A body being read, chunk by chunk, under a size limit.
pub(super) struct Collect<'a> {
    max: u64,
    url: &'a str,
    seen: u64,
    /// The first chunk, kept as it is: a body that arrives in one piece is never copied.
    first: Option<Bytes>,
    rest: BytesMut,
}

impl<'a> Collect<'a> {
    /// Starts reading the body of `url`, at most `max` bytes; `declared` is its
    /// `Content-Length` if it sent one (a body declared too large fails before any of it
    /// is read).
    pub(super) fn new(max: u64, url: &'a str, declared: Option<u64>) -> Result<Collect<'a>> {
        if declared.is_some_and(|n| n > max) {
            return Err(failure::too_large(url, max));
        }
        Ok(Collect {
            max,
            url,
            seen: 0,
            first: None,
            rest: BytesMut::new(),
        })
    }

    /// Adds a chunk, or fails if the body has now grown past the limit.
    pub(super) fn push(&mut self, chunk: Bytes) -> Result<()> {
        self.seen = self.seen.saturating_add(chunk.len() as u64);
        if self.seen > self.max {
            return Err(failure::too_large(self.url, self.max));
        }
        if chunk.is_empty() {
            return Ok(());
        }
        match self.first.take() {
            None if self.rest.is_empty() => self.first = Some(chunk),
            first => {
                if let Some(first) = first {
                    self.rest.extend_from_slice(&first);
                }
                self.rest.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }

    /// The whole body.
    pub(super) fn finish(self) -> Bytes {
        self.first.unwrap_or_else(|| self.rest.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn chunks_are_joined_in_order_and_one_chunk_is_not_copied() {
        let mut c = Collect::new(10, "http://x/", None).unwrap();
        let one = Bytes::from_static(b"abc");
        c.push(one.clone()).unwrap();
        assert_eq!(c.finish().as_ptr(), one.as_ptr());
        let mut c = Collect::new(10, "http://x/", Some(6)).unwrap();
        for part in ["ab", "", "cd", "ef"] {
            c.push(Bytes::from_static(part.as_bytes())).unwrap();
        }
        assert_eq!(&c.finish()[..], b"abcdef");
    }

    #[test]
    fn past_the_limit_is_a_final_error_naming_it() {
        let mut c = Collect::new(4, "http://x/", None).unwrap();
        c.push(Bytes::from_static(b"abcd")).unwrap();
        let e = c.push(Bytes::from_static(b"e")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(!e.is_transient());
        assert!(e.to_string().contains("4 bytes"), "{e}");
        let declared = Collect::new(4, "http://x/", Some(5)).err().unwrap();
        assert_eq!(declared.to_string(), e.to_string());
    }
}
