//! A byte budget for answers in flight, shared by the whole server.
//!
//! A server that renders a body and hands it to a slow client holds that body until the
//! client has read it. One slow client costs one body; a client that opens many
//! connections, or many HTTP/2 streams and never opens its flow-control window, costs as
//! many bodies as it asks for. Per-connection caps do not bound that: 100 connections of
//! 1 000 streams each held 3.3 GB of answers, and 2 000 slow HTTP/1.1 readers 712 MB,
//! before this budget existed.
//!
//! So every body the mirror renders is *charged* to one budget before it is sent, and
//! the charge is given back when the last copy of the bytes is dropped: when the
//! connection has written them out, or when it is closed. The bytes and the charge are
//! one value ([`Bytes::from_owner`]), so the charge cannot outlive the body or be given
//! back early, whoever ends up holding it (hyper's HTTP/1 write queue, an HTTP/2 stream's
//! send buffer). An answer that does not fit is not waited for (waiting would hold the
//! rendered body, the very memory the budget bounds): the mirror answers
//! `503 Service Unavailable` with `Retry-After: 1`, as a server out of capacity does, and
//! counts it.
//!
//! What an answer is made from is charged too, and *before* it is allocated wherever its
//! size is known ([`Budget::reserve`], then [`Charge::grow`] for the answer made from it):
//! a file a request reads from a folder, a list page it renders. Sixty-four requests for
//! one 60 MB file each read it whole before any answer was charged, and held 3.8 GB.
//!
//! Bodies that are already kept (the gzip cache) cost nothing more per request: every
//! copy in flight shares one allocation.
//!
//! A charge is also made to the answer's connection and peer, when it has them (the
//! `share` module): the budget bounds the sum, the shares who holds it, and the last
//! quarter of the budget is kept for peers that hold little (the `reserve` module), so
//! many stalled peers together cannot shut a newcomer out.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;

/// Bytes of answers in flight a server allows by default: 256 MiB.
pub const DEFAULT_ANSWER_BUDGET: usize = 256 << 20;

/// The budget: a limit, what is charged now, and how many answers did not fit.
#[derive(Debug, Clone)]
pub(super) struct Budget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: AtomicUsize,
    charged: AtomicUsize,
    refused: AtomicU64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_ANSWER_BUDGET)
    }
}

impl Budget {
    /// A budget of `limit` bytes.
    pub(super) fn new(limit: usize) -> Budget {
        Budget {
            inner: Arc::new(Inner {
                limit: AtomicUsize::new(limit),
                charged: AtomicUsize::new(0),
                refused: AtomicU64::new(0),
            }),
        }
    }

    /// Sets the limit (a server sets its own when it starts).
    pub(super) fn set_limit(&self, limit: usize) {
        self.inner.limit.store(limit, Ordering::Relaxed);
    }

    /// `body`, charged to the budget until its last copy is dropped; `None` (and counted)
    /// if it does not fit. A body larger than the whole budget still goes out when nothing
    /// else is in flight: the budget bounds the sum, it never makes one answer impossible.
    /// (The routes [`reserve`](Budget::reserve) before they allocate; this is the same
    /// for bytes already there.)
    #[cfg(test)]
    pub(super) fn charge(&self, body: Vec<u8>) -> Option<Bytes> {
        Some(self.reserve(body.len())?.hold(body))
    }

    /// A charge of `len` bytes made *before* they are allocated (a file about to be read,
    /// a page about to be rendered): `None` (and counted) if it does not fit, by the same
    /// rule as any charge: it fits if nothing else is in flight. Given back when the [`Charge`] is dropped.
    pub(super) fn reserve(&self, len: usize) -> Option<Charge> {
        let payer = super::share::current();
        let before = self.inner.charged.fetch_add(len, Ordering::AcqRel);
        if before != 0 && !self.inner.fits(before, len, payer.as_ref()) {
            self.inner.charged.fetch_sub(len, Ordering::AcqRel);
            self.inner.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if let Some(payer) = &payer {
            payer.add(len);
        }
        Some(Charge {
            len,
            budget: Arc::clone(&self.inner),
            payer,
        })
    }

    /// Bytes charged now.
    pub(super) fn charged(&self) -> usize {
        self.inner.charged.load(Ordering::Acquire)
    }

    /// Answers refused so far because they did not fit.
    pub(super) fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }
}

impl Inner {
    /// Whether `len` bytes more, on top of `before` charged, fit: within the limit, and
    /// within what the payer may take of it (the `reserve` module), if there is one.
    fn fits(&self, before: usize, len: usize, payer: Option<&super::share::Payer>) -> bool {
        let limit = self.limit.load(Ordering::Relaxed);
        let total = before.saturating_add(len);
        match payer {
            Some(payer) => payer.fits(limit, total, len),
            None => total <= limit,
        }
    }
}

/// Bytes charged to the budget (and to the answer's payer), given back when dropped.
#[derive(Debug)]
pub(super) struct Charge {
    len: usize,
    budget: Arc<Inner>,
    payer: Option<super::share::Payer>,
}

impl Charge {
    /// Grows the charge by `more` bytes, if they fit: this charge counts as nothing else
    /// in flight, so one answer larger than the budget still goes out alone. `false` (and
    /// counted) if they do not; the charge is then unchanged.
    pub(super) fn grow(&mut self, more: usize) -> bool {
        let before = self.budget.charged.fetch_add(more, Ordering::AcqRel);
        if before != self.len && !self.budget.fits(before, more, self.payer.as_ref()) {
            self.budget.charged.fetch_sub(more, Ordering::AcqRel);
            self.budget.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.add(more);
        true
    }

    /// `body`, held with this charge set to its exact length (an estimate made before it
    /// was allocated is corrected, never refused), until its last copy is dropped.
    pub(super) fn hold(mut self, body: Vec<u8>) -> Bytes {
        self.resize(body.len());
        Bytes::from_owner(Charged {
            body,
            _charge: self,
        })
    }

    /// Sets the charge to `len` bytes, unchecked: for bytes already allocated.
    pub(super) fn resize(&mut self, len: usize) {
        if len > self.len {
            self.budget
                .charged
                .fetch_add(len - self.len, Ordering::AcqRel);
            self.add(len - self.len);
        } else {
            self.sub(self.len - len);
        }
    }

    /// Counts `n` more bytes (already added to the budget) to this charge and its payer.
    fn add(&mut self, n: usize) {
        self.len += n;
        if let Some(payer) = &self.payer {
            payer.add(n);
        }
    }

    fn sub(&mut self, n: usize) {
        self.budget.charged.fetch_sub(n, Ordering::AcqRel);
        self.len -= n;
        if let Some(payer) = &self.payer {
            payer.sub(n);
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.sub(self.len);
    }
}

/// A body and its charge: dropped together.
struct Charged {
    body: Vec<u8>,
    _charge: Charge,
}

impl AsRef<[u8]> for Charged {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charge_lasts_as_long_as_the_last_copy_of_the_bytes() {
        let budget = Budget::new(100);
        let a = budget.charge(vec![1; 60]).expect("fits");
        let copy = a.slice(10..20);
        drop(a);
        assert_eq!(budget.charged(), 60, "a slice still holds the body");
        assert!(budget.charge(vec![2; 50]).is_none(), "60 + 50 > 100");
        assert_eq!(budget.refused(), 1);
        drop(copy);
        assert_eq!(budget.charged(), 0);
        let b = budget
            .charge(vec![2; 50])
            .expect("fits once the first is gone");
        assert_eq!(&b[..], &[2; 50][..]);
    }

    #[test]
    fn one_body_larger_than_the_budget_goes_out_alone() {
        let budget = Budget::new(10);
        let big = budget
            .charge(vec![0; 1000])
            .expect("nothing else in flight");
        assert!(budget.charge(vec![0; 1]).is_none(), "the budget is spent");
        drop(big);
        assert!(budget.charge(vec![0; 1]).is_some());
    }

    #[test]
    fn a_refused_charge_is_given_back() {
        let budget = Budget::new(100);
        let _held = budget.charge(vec![0; 90]).unwrap();
        for _ in 0..5 {
            assert!(budget.charge(vec![0; 20]).is_none());
        }
        assert_eq!(budget.charged(), 90);
        assert_eq!(budget.refused(), 5);
    }

    #[test]
    fn a_reserve_is_charged_before_the_bytes_and_corrected_by_them() {
        let budget = Budget::new(100);
        let mut load = budget.reserve(60).expect("fits");
        assert!(budget.reserve(50).is_none(), "60 reserved + 50 > 100");
        assert!(
            load.grow(100),
            "alone in flight, a charge may grow past the budget"
        );
        assert_eq!(budget.charged(), 160);
        assert!(budget.reserve(1).is_none(), "spent");
        let body = load.hold(vec![7; 30]);
        assert_eq!(budget.charged(), 30, "set to the bytes it holds");
        let mut other = budget.reserve(50).expect("30 + 50 fit");
        assert!(!other.grow(30), "30 held by another: 110 > 100");
        drop(body);
        assert!(other.grow(30), "alone again");
        drop(other);
        assert_eq!(budget.charged(), 0);
        assert_eq!(budget.refused(), 3);
    }
}
