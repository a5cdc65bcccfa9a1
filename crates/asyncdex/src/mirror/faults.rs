//! Fault injection: the mirror misbehaves the way real servers do, reproducibly.
//!
//! Each rate is the probability that one request gets that fault: `fail` (500, 502 or
//! 503), `throttle` (429 with `Retry-After` and PokeAPI's throttle body), `stall` (the
//! request is accepted and never answered, until the mirror stops), `truncate` (a
//! `Content-Length` is promised and the body cut in half), `reset` (the connection is
//! dropped without an answer).
//!
//! Whether a request is faulted depends only on the seed, its path, and how many times
//! that path was asked before ([`Faults::decide`]), never on timing or on the order in
//! which concurrent requests arrive. So a run is reproducible, and a test can predict
//! exactly which calls will fail.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// The kinds of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A 5xx answer (the status is one of 500, 502, 503).
    Fail(u16),
    /// 429 Too Many Requests, with `Retry-After`.
    Throttle,
    /// Accept the request, never answer.
    Stall,
    /// Promise a `Content-Length`, send half of it.
    Truncate,
    /// Drop the connection without answering.
    Reset,
}

impl Fault {
    /// Names, in the order of [`FaultCounts`].
    pub const NAMES: [&'static str; 5] = ["fail", "throttle", "stall", "truncate", "reset"];

    fn slot(self) -> usize {
        match self {
            Fault::Fail(_) => 0,
            Fault::Throttle => 1,
            Fault::Stall => 2,
            Fault::Truncate => 3,
            Fault::Reset => 4,
        }
    }
}

/// Fault rates (each 0–1, together at most 1) and their seed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Faults {
    /// Probability of a 5xx.
    pub fail: f64,
    /// Probability of a 429.
    pub throttle: f64,
    /// Probability of a stall.
    pub stall: f64,
    /// Probability of a truncated body.
    pub truncate: f64,
    /// Probability of a dropped connection.
    pub reset: f64,
    /// `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// Seed of the decisions.
    pub seed: u64,
}

impl Faults {
    /// True when any rate is above zero.
    pub fn any(&self) -> bool {
        self.rates().iter().any(|&r| r > 0.0)
    }

    fn rates(&self) -> [f64; 5] {
        [
            self.fail,
            self.throttle,
            self.stall,
            self.truncate,
            self.reset,
        ]
    }

    /// Rejects rates outside 0–1, or adding up to more than 1.
    pub fn check(&self) -> Result<()> {
        for (name, rate) in Fault::NAMES.iter().zip(self.rates()) {
            if !(0.0..=1.0).contains(&rate) {
                return Err(Error::invalid_input(format!(
                    "the {name} rate must be between 0 and 1, not {rate}"
                )));
            }
        }
        let total: f64 = self.rates().iter().sum();
        if total > 1.0 + 1e-9 {
            return Err(Error::invalid_input(format!(
                "the fault rates add up to {total}, more than 1"
            )));
        }
        Ok(())
    }

    /// The fault (if any) for the `nth` request (0-based) of `path`.
    ///
    /// ```
    /// use asyncdex::mirror::{Fault, Faults};
    /// let faults = Faults { fail: 1.0, ..Faults::default() };
    /// assert!(matches!(faults.decide("/api/v2/pokemon/1/", 0), Some(Fault::Fail(500..=503))));
    /// assert_eq!(Faults::default().decide("/api/v2/pokemon/1/", 0), None);
    /// ```
    pub fn decide(&self, path: &str, nth: u32) -> Option<Fault> {
        if !self.any() {
            return None;
        }
        let r = super::splitmix64(
            self.seed ^ fnv1a(path) ^ u64::from(nth).wrapping_mul(0xA24B_AED4_963E_E407),
        );
        let roll = (r >> 11) as f64 / (1u64 << 53) as f64; // uniform in [0, 1)
        let mut edge = 0.0;
        for (slot, rate) in self.rates().into_iter().enumerate() {
            edge += rate;
            if roll < edge {
                return Some(match slot {
                    0 => Fault::Fail([500, 502, 503][(r % 3) as usize]),
                    1 => Fault::Throttle,
                    2 => Fault::Stall,
                    3 => Fault::Truncate,
                    _ => Fault::Reset,
                });
            }
        }
        None
    }
}

/// FNV-1a: a stable hash of a path (std's hasher may change between Rust versions).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How many faults of each kind were injected: fail, throttle, stall, truncate, reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts(pub [u64; 5]);

impl FaultCounts {
    /// The total.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl std::fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = Fault::NAMES
            .iter()
            .zip(self.0)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Per-path request counts and per-kind fault counters.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    seen: Mutex<HashMap<String, u32>>,
    injected: [AtomicU64; 5],
}

impl FaultState {
    /// Decides the fault for this request of `path`, and counts it.
    pub(crate) fn next(&self, faults: &Faults, path: &str) -> Option<Fault> {
        if !faults.any() {
            return None;
        }
        let nth = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let n = seen.entry(path.to_owned()).or_insert(0);
            *n += 1;
            *n - 1
        };
        let fault = faults.decide(path, nth)?;
        self.injected[fault.slot()].fetch_add(1, Ordering::Relaxed);
        Some(fault)
    }

    pub(crate) fn counts(&self) -> FaultCounts {
        FaultCounts(std::array::from_fn(|i| {
            self.injected[i].load(Ordering::Relaxed)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_come_out_about_right_and_reproducibly() {
        let faults = Faults {
            fail: 0.2,
            throttle: 0.1,
            truncate: 0.05,
            seed: 9,
            ..Faults::default()
        };
        let decide = |n: u32| faults.decide(&format!("/api/v2/pokemon/{n}/"), 0);
        let all: Vec<Option<Fault>> = (0..10_000).map(decide).collect();
        let share =
            |f: fn(&Option<Fault>) -> bool| all.iter().filter(|x| f(x)).count() as f64 / 10_000.0;
        assert!((share(|x| matches!(x, Some(Fault::Fail(_)))) - 0.2).abs() < 0.02);
        assert!((share(|x| matches!(x, Some(Fault::Throttle))) - 0.1).abs() < 0.02);
        assert!((share(|x| matches!(x, Some(Fault::Truncate))) - 0.05).abs() < 0.01);
        assert_eq!(
            share(|x| matches!(x, Some(Fault::Stall | Fault::Reset))),
            0.0
        );
        assert_eq!(all, (0..10_000).map(decide).collect::<Vec<_>>());
    }

    #[test]
    fn bad_rates_are_rejected() {
        assert!(Faults {
            fail: 1.5,
            ..Faults::default()
        }
        .check()
        .is_err());
        assert!(Faults {
            fail: -0.1,
            ..Faults::default()
        }
        .check()
        .is_err());
        assert!(Faults {
            fail: 0.6,
            throttle: 0.6,
            ..Faults::default()
        }
        .check()
        .is_err());
        assert!(Faults {
            fail: 0.5,
            throttle: 0.5,
            ..Faults::default()
        }
        .check()
        .is_ok());
    }

    #[test]
    fn repeats_of_a_path_get_fresh_decisions() {
        let faults = Faults {
            fail: 0.5,
            seed: 1,
            ..Faults::default()
        };
        let state = FaultState::default();
        let first: Vec<_> = (0..40).map(|_| state.next(&faults, "/x")).collect();
        assert!(first.iter().any(Option::is_some) && first.iter().any(Option::is_none));
        assert_eq!(
            state.counts().total() as usize,
            first.iter().filter(|f| f.is_some()).count()
        );
    }
}
