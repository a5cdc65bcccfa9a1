//! The embedded mirror's faults, for seeing what retries, timeouts and hedging buy: each
//! a probability (`--fail-rate`, `--throttle-rate`, `--stall-rate`, `--truncate-rate`,
//! `--reset-rate`, `--tail-rate`) drawn from the run's seed, so the same seed gives the
//! same faults; and a capacity (`--capacity`, `--queue`) past which the mirror queues and
//! then refuses. They shape the embedded mirror only: with `--api` they are refused.

use std::time::Duration;

use crate::bounds;
use asyncdex::mirror::Faults;
use clap::Args;

/// Faults the mirror injects, each a probability (0–1), reproducible from the seed.
#[derive(Args)]
pub struct FaultArgs {
    /// Embedded mirror: probability of answering 500, 502 or 503.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub fail_rate: f64,
    /// Embedded mirror: probability of answering 429 with Retry-After and PokeAPI's throttle body.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub throttle_rate: f64,
    /// Embedded mirror: probability of accepting a request and never answering.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub stall_rate: f64,
    /// Embedded mirror: probability of promising a Content-Length and cutting the body in half.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub truncate_rate: f64,
    /// Embedded mirror: probability of dropping the connection without answering.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability
    )]
    pub reset_rate: f64,
    /// Embedded mirror: the Retry-After sent with a 429.
    #[arg(long, value_name = "SECS", default_value_t = 1, value_parser = bounds::whole_secs)]
    pub retry_after: u64,
    /// Embedded mirror: serve at most N requests at once; more wait in a queue (latency
    /// grows as Little's law says), and past the queue are answered 503 (default: no limit).
    #[arg(long, value_name = "N", value_parser = bounds::capacity)]
    pub capacity: Option<usize>,
    /// Embedded mirror, with --capacity: how many requests may wait for a place.
    #[arg(long, value_name = "M", default_value_t = 1000, value_parser = bounds::queue, requires = "capacity")]
    pub queue: usize,
    /// Embedded mirror: probability that a request is slow, waiting --tail-ms more (a slow
    /// tail, reproducible from the seed).
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = bounds::probability,
        requires = "tail_ms"
    )]
    pub tail_rate: f64,
    /// Embedded mirror: how much longer a slow request (--tail-rate) waits.
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = bounds::millis, requires = "tail_rate")]
    pub tail_ms: u64,
}

impl FaultArgs {
    /// The mirror's slow tail (none unless both flags are given).
    pub fn tail(&self) -> asyncdex::mirror::Tail {
        asyncdex::mirror::Tail {
            rate: self.tail_rate,
            extra: Duration::from_millis(self.tail_ms),
        }
    }

    /// The mirror's capacity, if one was asked for.
    pub fn capacity(&self) -> Option<asyncdex::mirror::Capacity> {
        self.capacity.map(|servers| asyncdex::mirror::Capacity {
            servers,
            queue: self.queue,
        })
    }

    /// The first of these flags given (a probability above 0, or `--capacity`), if any:
    /// what a check names when the embedded mirror they shape is not used.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.fail_rate > 0.0, "--fail-rate"),
            (self.throttle_rate > 0.0, "--throttle-rate"),
            (self.stall_rate > 0.0, "--stall-rate"),
            (self.truncate_rate > 0.0, "--truncate-rate"),
            (self.reset_rate > 0.0, "--reset-rate"),
            (self.capacity.is_some(), "--capacity"),
            (self.tail_rate > 0.0, "--tail-rate"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    pub fn faults(&self, seed: u64) -> asyncdex::Result<Faults> {
        if self.tail_rate > 0.0 && self.tail_ms == 0 {
            return Err(asyncdex::Error::invalid_input(
                "--tail-ms 0 makes a slow request no slower: give --tail-ms MS above 0, or drop --tail-rate",
            ));
        }
        let faults = Faults {
            fail: self.fail_rate,
            throttle: self.throttle_rate,
            stall: self.stall_rate,
            truncate: self.truncate_rate,
            reset: self.reset_rate,
            retry_after_secs: self.retry_after,
            seed,
        };
        faults.check()?;
        Ok(faults)
    }
}
