//! A slow tail, on purpose: a fraction of requests wait much longer than the rest.
//!
//! Real servers are not uniformly slow. Most requests take the usual time, and a few (a
//! garbage collection, a cold cache, a busy disk, a lost packet and its retransmission)
//! take ten or a hundred times longer. Those few set the p99 a client reports, and they
//! are what hedged requests are for. [`Tail`] makes them: each request, with probability
//! `rate`, waits `extra` on top of the mirror's latency.
//!
//! Like the jitter, which requests are slow depends only on the seed and the request's
//! number (the n-th request the mirror received), never on timing: the same run meets the
//! same slow requests. A second request for the same resource is another number, and so
//! slow or not independently of the first, as on a real server.

use std::time::Duration;

use crate::error::{Error, Result};

/// A slow tail: a fraction `rate` of requests waits `extra` more. None by default.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tail {
    /// Probability (0–1) that a request is slow.
    pub rate: f64,
    /// How much longer a slow request waits.
    pub extra: Duration,
}

impl Tail {
    /// True when some requests will be slow.
    pub fn any(&self) -> bool {
        self.rate > 0.0 && !self.extra.is_zero()
    }

    /// Rejects a rate outside 0–1.
    pub fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(Error::invalid_input(format!(
                "the tail rate must be between 0 and 1, not {}",
                self.rate
            )));
        }
        Ok(())
    }

    /// The extra wait of the `n`th request (0-based) under `seed`: `extra` or nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use asyncdex::mirror::Tail;
    /// let tail = Tail { rate: 0.05, extra: Duration::from_secs(2) };
    /// let slow = (0..10_000).filter(|&n| !tail.extra_for(7, n).is_zero()).count();
    /// assert!((400..600).contains(&slow), "{slow}"); // about 5 %
    /// assert_eq!(tail.extra_for(7, 3), tail.extra_for(7, 3)); // reproducible
    /// ```
    pub fn extra_for(&self, seed: u64, n: u64) -> Duration {
        if !self.any() {
            return Duration::ZERO;
        }
        // Its own stream of the seed: the tail and the jitter of one request are unrelated.
        let r = super::splitmix64(seed ^ 0x7A11_5EED ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let roll = (r >> 11) as f64 / (1u64 << 53) as f64; // uniform in [0, 1)
        if roll < self.rate {
            self.extra
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_kept_and_depends_on_the_seed() {
        let tail = Tail {
            rate: 0.1,
            extra: Duration::from_millis(500),
        };
        let slow = |seed| -> Vec<u64> {
            (0..2_000)
                .filter(|&n| tail.extra_for(seed, n) == Duration::from_millis(500))
                .collect()
        };
        assert!((150..250).contains(&slow(1).len()), "{}", slow(1).len());
        assert_eq!(slow(1), slow(1));
        assert_ne!(slow(1), slow(2));
        let none = Tail::default();
        assert!((0..1000).all(|n| none.extra_for(1, n).is_zero()));
        let all = Tail { rate: 1.0, ..tail };
        assert!((0..1000).all(|n| !all.extra_for(1, n).is_zero()));
        assert!(Tail { rate: 1.5, ..tail }.check().is_err());
        assert!(tail.check().is_ok());
    }

    /// On tokio's paused clock: a slow request waits its latency plus its tail, and a
    /// stopping mirror answers it at once instead (a tail of an hour must not hold a
    /// graceful stop for an hour).
    #[tokio::test(start_paused = true)]
    async fn a_slow_request_waits_its_tail_and_gives_way_to_a_stop() {
        use axum::body::Body;
        use axum::http::{Request, StatusCode};
        use tower::ServiceExt;

        let config = super::super::MirrorConfig {
            latency: Duration::from_millis(20),
            tail: Tail {
                rate: 1.0,
                extra: Duration::from_millis(2000),
            },
            ..Default::default()
        };
        let state = super::super::MirrorState::new("http://127.0.0.1:1/api/v2", config);
        let router = super::super::app(state.clone());
        let req = || {
            Request::get("/api/v2/pokemon/25/")
                .body(Body::empty())
                .unwrap()
        };
        let t0 = tokio::time::Instant::now();
        let resp = router.clone().oneshot(req()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(t0.elapsed(), Duration::from_millis(2020));

        let t0 = tokio::time::Instant::now();
        let pending = tokio::spawn(router.oneshot(req()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        state.shutdown.cancel();
        let resp = pending.await.unwrap().unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(t0.elapsed(), Duration::from_millis(100));
    }
}
