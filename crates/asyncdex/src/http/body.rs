//! One body-size policy for every backend: a body is read with a running count, and the
//! call fails as soon as the count passes [`HttpOptions::max_body`](super::HttpOptions::max_body).
//!
//! A client that reads "the whole body" into memory trusts the server to end it. A server
//! that never ends a chunked body (or declares a terabyte) would otherwise grow the
//! client's memory until the machine gives out: the limit turns that into one line,
//! [`failure::too_large`](super::failure), of a kind that is never retried (asking again
//! gets the same endless body). Every backend reads through [`Collect`]: the async ones
//! [`push`](Collect::push) each chunk as it arrives, the blocking one (ureq, on a thread
//! of its own) [`extend`](Collect::extend)s it with each buffer it reads.
//!
//! One body's limit does not bound them all: 64 calls in flight against a server whose
//! bodies never end hold 64 × the limit (4 GiB), 64 threads each blocked on such a body
//! the same, and `get` of a hundred 60 MB resources holds them all until it prints. So
//! every body any backend reads is also charged to one budget for the whole process,
//! [`CLIENT_BODIES`] (1 GiB), at the memory that holds it (a body of many chunks grows
//! by doubling: it may hold up to twice its length, and is charged so, before the room is
//! taken), from its first bytes until the last copy of them is dropped
//! (the bytes and the charge are one value, [`Bytes::from_owner`], so whoever keeps the
//! body keeps the charge). A body that would go over is not read: its call fails with
//! one line saying so, and the bodies already held are untouched.
//!
//! The budget is an atomic counter, and a charge is given back by a `Drop`: nothing in
//! it waits or needs a runtime, so a blocking thread and an async task charge the same
//! counter: a pool of threads cannot hold more bodies than as many async tasks.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};

use super::failure;
use super::progress::Progress;
use crate::error::Result;

/// Bytes of bodies one process holds at most, all clients together: every body any
/// backend reads is charged to one budget of this size, at the memory that holds it, from
/// its first bytes until its last copy is dropped; a body that would go over fails its
/// call.
pub const CLIENT_BODY_BUDGET: u64 = 1 << 30;

/// The bodies a process holds, all clients together.
pub(super) static CLIENT_BODIES: Budget = Budget::new(CLIENT_BODY_BUDGET);

/// A byte budget shared by every body read under it.
#[derive(Debug)]
pub(super) struct Budget {
    limit: u64,
    charged: AtomicU64,
}

impl Budget {
    pub(super) const fn new(limit: u64) -> Budget {
        Budget {
            limit,
            charged: AtomicU64::new(0),
        }
    }

    /// Charges `n` bytes, unless that would pass the limit.
    fn charge(&self, n: u64) -> bool {
        self.charged
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                c.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, n: u64) {
        self.charged.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes charged now.
    #[cfg(test)]
    pub(super) fn charged(&self) -> u64 {
        self.charged.load(Ordering::Acquire)
    }
}

/// A body's bytes and their charge: the charge is given back when the bytes go.
struct Charged {
    bytes: Bytes,
    budget: &'static Budget,
    /// What was charged for them: the memory that holds them, not only their length.
    charge: u64,
}

impl AsRef<[u8]> for Charged {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Charged {
    fn drop(&mut self) {
        self.budget.release(self.charge);
    }
}

/// A body being read, chunk by chunk, under a size limit.
pub(super) struct Collect<'a> {
    max: u64,
    url: &'a str,
    seen: u64,
    /// The budget its bytes are charged to, and how many it has charged so far.
    budget: &'static Budget,
    charged: u64,
    /// The first chunk, kept as it is: a body that arrives in one piece is never copied.
    first: Option<Bytes>,
    rest: BytesMut,
    /// Told of every chunk, if the call is timed ([`Collect::watched`]).
    progress: Option<&'a Progress>,
    /// An answer that is not a success: only its first [`EXCERPT`] bytes are kept, and
    /// reading stops there ([`Collect::full`]), never an error.
    excerpt: bool,
    full: bool,
    /// When reading began: an excerpt is read for at most [`EXCERPT_PATIENCE`].
    began: tokio::time::Instant,
}

/// Bytes kept of an answer that is not a success (a 404, a 429, a 503, a redirect's own
/// body). Nothing asyncdex does reads more of one: the status, and its `Retry-After`, are
/// the outcome. A server sending an endless or huge error body has its call end as that
/// status (a 503 retried after its Retry-After), not as "larger than --max-body"
/// (hp11 A-F2).
pub(super) const EXCERPT: u64 = 64 * 1024;

/// Longest an excerpt is read: an error body dripped a byte at a time, or one that stops
/// after its headers, is that status two seconds on (what has come is its excerpt), not a
/// call that waits out `--timeout` for words nothing acts on.
pub(super) const EXCERPT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

impl<'a> Collect<'a> {
    /// Starts reading the body of `url`, at most `max` bytes; `declared` is its
    /// `Content-Length` if it sent one (a body declared too large fails before any of it
    /// is read).
    #[cfg(test)]
    fn new(max: u64, url: &'a str, declared: Option<u64>) -> Result<Collect<'a>> {
        Collect::under(&CLIENT_BODIES, max, url, declared)
    }

    /// Starts reading a body under `max` (a declared one past it fails at once),
    /// charging `budget`.
    pub(super) fn under(
        budget: &'static Budget,
        max: u64,
        url: &'a str,
        declared: Option<u64>,
    ) -> Result<Collect<'a>> {
        if declared.is_some_and(|n| n > max) {
            return Err(failure::too_large(url, max));
        }
        Ok(Collect {
            max,
            url,
            seen: 0,
            budget,
            charged: 0,
            first: None,
            rest: BytesMut::new(),
            progress: None,
            excerpt: false,
            full: false,
            began: tokio::time::Instant::now(),
        })
    }

    /// The body of an answer with `status`: a success's under `max` ([`Collect::under`]),
    /// any other's an excerpt of at most [`EXCERPT`] bytes, whatever it declares.
    pub(super) fn of_status(
        budget: &'static Budget,
        max: u64,
        url: &'a str,
        status: u16,
        declared: Option<u64>,
    ) -> Result<Collect<'a>> {
        if (200..300).contains(&status) {
            return Collect::under(budget, max, url, declared);
        }
        let mut excerpt = Collect::under(budget, max.min(EXCERPT), url, None)?;
        excerpt.excerpt = true;
        Ok(excerpt)
    }

    /// Whether an excerpt has all it keeps, or has been read for [`EXCERPT_PATIENCE`]:
    /// the caller stops reading.
    pub(super) fn full(&self) -> bool {
        self.full || (self.excerpt && self.began.elapsed() >= EXCERPT_PATIENCE)
    }

    /// `next` (the next piece of the body, `None` at its end), or `None` once an excerpt
    /// has been read for [`EXCERPT_PATIENCE`]: then it is [`full`](Collect::full). A
    /// success's body waits as long as `next` does (the call's deadline bounds it).
    pub(super) async fn within<T>(
        &mut self,
        next: impl std::future::Future<Output = Option<T>>,
    ) -> Option<T> {
        if !self.excerpt {
            return next.await;
        }
        let left = EXCERPT_PATIENCE.saturating_sub(self.began.elapsed());
        match tokio::time::timeout(left, next).await {
            Ok(next) => next,
            Err(_) => {
                self.full = true;
                None
            }
        }
    }

    /// How many of `n` more bytes are kept: all of them, but for an excerpt only what
    /// fits (and then it is [`full`](Collect::full)).
    fn fits(&mut self, n: usize) -> usize {
        if !self.excerpt {
            return n;
        }
        let room = usize::try_from(self.max.saturating_sub(self.seen)).unwrap_or(usize::MAX);
        if n >= room {
            self.full = true;
        }
        n.min(room)
    }

    /// This reader tells `progress` (if any) that the headers came, then every chunk:
    /// what a deadline's error says ([`Progress`]).
    pub(super) fn watched(mut self, progress: Option<&'a Progress>) -> Collect<'a> {
        if let Some(progress) = progress {
            progress.answered();
        }
        self.progress = progress;
        self
    }

    /// Counts `n` more bytes against the body's limit, or fails if it is passed; what
    /// every way of adding bytes does first.
    fn admit(&mut self, n: usize) -> Result<()> {
        let n = n as u64;
        if let Some(progress) = self.progress {
            progress.read(n);
        }
        self.seen = self.seen.saturating_add(n);
        if self.seen > self.max {
            return Err(failure::too_large(self.url, self.max));
        }
        Ok(())
    }

    /// Charges the budget up to `total` bytes held by this body, or fails (charging
    /// nothing) if that would pass it.
    fn charge_to(&mut self, total: u64) -> Result<()> {
        if total > self.charged {
            if !self.budget.charge(total - self.charged) {
                return Err(failure::over_budget(self.url, self.budget.limit));
            }
            self.charged = total;
        }
        Ok(())
    }

    /// Makes room in `rest` for `more` bytes besides what the body holds (the first chunk
    /// included, moved in), charging the memory the room takes *before* it is taken: the
    /// budget bounds what is allocated, not only what is read. Room grows by doubling
    /// (few copies for a body of many chunks), never past the body's own limit; the old
    /// buffer, freed once copied, is the one thing not charged, for that instant.
    fn room_for(&mut self, more: usize) -> Result<()> {
        let held = self.rest.len() + self.first.as_ref().map_or(0, Bytes::len);
        let need = held + more;
        if need > self.rest.capacity() {
            let most = usize::try_from(self.max).unwrap_or(usize::MAX).max(need);
            let cap = need.max(self.rest.capacity().saturating_mul(2)).min(most);
            self.charge_to(cap as u64)?;
            let mut grown = BytesMut::with_capacity(cap);
            grown.extend_from_slice(&self.rest);
            self.rest = grown;
        }
        if let Some(first) = self.first.take() {
            self.rest.extend_from_slice(&first);
        }
        Ok(())
    }

    /// Adds a chunk, or fails if the body has now grown past the limit.
    pub(super) fn push(&mut self, mut chunk: Bytes) -> Result<()> {
        chunk.truncate(self.fits(chunk.len()));
        self.admit(chunk.len())?;
        if chunk.is_empty() {
            return Ok(());
        }
        if self.first.is_none() && self.rest.is_empty() {
            // Kept as it is, charged at its length.
            self.charge_to(chunk.len() as u64)?;
            self.first = Some(chunk);
            return Ok(());
        }
        self.room_for(chunk.len())?;
        self.rest.extend_from_slice(&chunk);
        Ok(())
    }

    /// Adds bytes the caller read into a buffer of its own (how a blocking reader gives
    /// them: [`std::io::Read`] fills a slice), copied once, into the body; fails as
    /// [`Collect::push`] does. Charged as they come, so a blocking thread holding a body
    /// counts in the same budget as an async task holding one.
    pub(super) fn extend(&mut self, part: &[u8]) -> Result<()> {
        let part = &part[..self.fits(part.len())];
        self.admit(part.len())?;
        if part.is_empty() {
            return Ok(());
        }
        self.room_for(part.len())?;
        self.rest.extend_from_slice(part);
        Ok(())
    }

    /// Bytes of the body read so far (what a deadline's error says had come).
    pub(super) fn seen(&self) -> u64 {
        self.seen
    }

    /// The whole body, charged to the budget until its last copy is dropped.
    pub(super) fn finish(mut self) -> Bytes {
        let bytes = match self.first.take() {
            Some(first) => first,
            None => std::mem::take(&mut self.rest).freeze(),
        };
        // The charge moves to the bytes: this collector no longer gives it back. It is
        // the memory that holds them (at most twice their length, never past the body's
        // limit), what `Charged` gives back when the bytes go.
        let charge = std::mem::take(&mut self.charged);
        if charge == 0 {
            return bytes;
        }
        debug_assert!(charge >= bytes.len() as u64);
        Bytes::from_owner(Charged {
            bytes,
            budget: self.budget,
            charge,
        })
    }
}

impl Drop for Collect<'_> {
    /// A body given up on (too large, a broken connection) gives its charge back.
    fn drop(&mut self) {
        self.budget.release(self.charged);
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
    fn every_body_held_is_charged_to_one_budget_until_its_bytes_go() {
        static BUDGET: Budget = Budget::new(10);
        let read = |parts: &[&'static [u8]]| -> Result<Bytes> {
            let mut c = Collect::under(&BUDGET, 100, "http://x/", None)?;
            for part in parts {
                c.push(Bytes::from_static(part))?;
            }
            Ok(c.finish())
        };
        let a = read(&[b"abc", b"def"]).unwrap();
        let b = read(&[b"ghij"]).unwrap();
        assert_eq!((&a[..], &b[..]), (&b"abcdef"[..], &b"ghij"[..]));
        assert_eq!(BUDGET.charged(), 10);
        // Full: the next body is not read, in one line that says why.
        let e = read(&[b"k"]).unwrap_err();
        assert!(e.to_string().contains("bodies this process holds"), "{e}");
        assert!(!e.is_transient());
        assert_eq!(BUDGET.charged(), 10, "a refused body charges nothing");
        // A slice keeps its body's charge; dropping the last copy gives it back.
        let part = a.slice(0..2);
        drop(a);
        assert_eq!(BUDGET.charged(), 10);
        drop((part, b));
        assert_eq!(BUDGET.charged(), 0);
        // A body given up on part-way gives back what it had charged.
        let mut c = Collect::under(&BUDGET, 5, "http://x/", None).unwrap();
        c.push(Bytes::from_static(b"abcd")).unwrap();
        assert!(
            c.push(Bytes::from_static(b"ef")).is_err(),
            "past its own limit"
        );
        drop(c);
        assert_eq!(BUDGET.charged(), 0);
    }

    #[test]
    fn blocking_threads_charge_the_same_budget_and_never_pass_it() {
        static BUDGET: Budget = Budget::new(100);
        const THREADS: usize = 8;
        let all_read = std::sync::Barrier::new(THREADS);
        // Eight threads, no runtime, each reading a 30-byte body 10 bytes at a time, and
        // holding what it read until every one has finished: 240 bytes wanted, 100 allowed.
        let results: Vec<Result<Bytes>> = std::thread::scope(|s| {
            let read = || {
                let body = (|| {
                    let mut c = Collect::under(&BUDGET, 1000, "http://x/", None)?;
                    for _ in 0..3 {
                        c.extend(&[7; 10])?;
                        assert!(BUDGET.charged() <= 100, "{} charged", BUDGET.charged());
                    }
                    Ok(c.finish())
                })();
                all_read.wait();
                body
            };
            let threads: Vec<_> = (0..THREADS).map(|_| s.spawn(read)).collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let (held, refused): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        let held: Vec<Bytes> = held.into_iter().map(Result::unwrap).collect();
        assert!(
            held.len() <= 3,
            "{} bodies of 30 held under 100",
            held.len()
        );
        assert!(held.iter().all(|b| b[..] == [7; 30]));
        for e in refused.into_iter().map(Result::unwrap_err) {
            assert!(e.to_string().contains("bodies this process holds"), "{e}");
        }
        // The charge is the memory held (room for 10, 20, then 40 bytes: doubling), and
        // travels with it: bodies read on other threads are given back when this one
        // drops them.
        assert_eq!(BUDGET.charged(), 40 * held.len() as u64);
        drop(held);
        assert_eq!(BUDGET.charged(), 0);
        let mut c = Collect::under(&BUDGET, 1000, "http://x/", None).unwrap();
        c.extend(&[1; 100]).unwrap();
        assert_eq!(c.seen(), 100);
        assert_eq!(c.finish().len(), 100, "the whole budget is free again");
        assert_eq!(BUDGET.charged(), 0);
    }

    /// The budget bounds the memory bodies take, not only their length (hp9 A-F3: 64
    /// bodies charged at 1 GiB of length held 1.6 GB): room is charged before it is
    /// taken, at most twice the length, never past the body's own limit.
    #[test]
    fn a_growing_body_is_charged_for_its_room_before_it_takes_it() {
        static BUDGET: Budget = Budget::new(1000);
        let mut c = Collect::under(&BUDGET, 300, "http://x/", None).unwrap();
        for _ in 0..25 {
            c.extend(&[1; 10]).unwrap();
            let (len, room) = (c.rest.len() as u64, c.rest.capacity() as u64);
            assert!(
                BUDGET.charged() >= room,
                "{} charged for {room}",
                BUDGET.charged()
            );
            assert!(room <= 2 * len, "room {room} for {len}");
        }
        // 250 bytes in room for 300 (doubling stopped at the body's limit of 300).
        assert_eq!(BUDGET.charged(), 300);
        let body = c.finish();
        assert_eq!(body.len(), 250);
        drop(body);
        assert_eq!(BUDGET.charged(), 0);
        // Under a budget of 1 000, 640 bytes fit by length but not the room for them.
        let mut c = Collect::under(&BUDGET, 10_000, "http://x/", None).unwrap();
        let mut read = 0;
        let refused = loop {
            if let Err(e) = c.extend(&[2; 10]) {
                break e;
            }
            read += 10;
        };
        assert!(refused.to_string().contains("bodies this process holds"));
        assert!(read < 1000, "{read} bytes read under a budget of 1000");
        assert!(BUDGET.charged() <= 1000);
        drop(c);
        assert_eq!(BUDGET.charged(), 0);
    }

    #[test]
    fn an_answer_that_is_no_success_keeps_an_excerpt_and_stops() {
        // Declared past any limit, sent past the excerpt: kept up to it, never an error.
        let mut c =
            Collect::of_status(&CLIENT_BODIES, 1 << 20, "http://x/", 503, Some(1 << 40)).unwrap();
        let chunk = Bytes::from(vec![b'e'; 40 * 1024]);
        c.push(chunk.clone()).unwrap();
        assert!(!c.full());
        c.push(chunk.clone()).unwrap();
        assert!(c.full(), "the caller stops reading");
        assert_eq!(c.finish().len() as u64, EXCERPT);
        let mut blocking =
            Collect::of_status(&CLIENT_BODIES, 1 << 20, "http://x/", 404, None).unwrap();
        blocking.extend(&[b'e'; 70 * 1024]).unwrap();
        assert!(blocking.full());
        assert_eq!(blocking.finish().len() as u64, EXCERPT);
        // A success is read whole, under its own limit, and refused past it as before.
        assert!(Collect::of_status(&CLIENT_BODIES, 10, "http://x/", 200, Some(11)).is_err());
        let mut ok = Collect::of_status(&CLIENT_BODIES, 1 << 20, "http://x/", 200, None).unwrap();
        ok.push(Bytes::from(vec![b'j'; 100 * 1024])).unwrap();
        assert!(!ok.full());
        assert_eq!(ok.finish().len(), 100 * 1024);
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
