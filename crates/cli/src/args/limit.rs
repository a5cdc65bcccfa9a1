//! How many requests a fetching command keeps in flight: a fixed `-c N`, or `-c auto`,
//! the adaptive limit found as the run goes (at most `--max-concurrency`). Whichever it
//! is, [`LimitArgs::most`] is what the connection pool and the descriptor check are sized
//! for, and [`LimitArgs::named`] names the flag that set it in a message.

use crate::bounds;
use asyncdex_engine::gather::Policy;
use clap::Args;

/// `-c N|auto` and `--max-concurrency N`: how many requests a fetching command (names,
/// get, stream, crawl) keeps in flight.
#[derive(Args, Clone, Copy)]
pub struct LimitArgs {
    /// Most requests in flight (the async mode's concurrency), or `auto`: found as the run
    /// goes, starting at 4, rising while latency stays at its floor, falling when it grows
    /// or the server answers 429/503 or times out (at most --max-concurrency).
    #[arg(short = 'c', long, value_name = "N|auto", default_value = "64", value_parser = bounds::concurrency_or_auto)]
    pub concurrency: bounds::Concurrency,
    /// With -c auto: the most requests in flight the limit may reach. [default: 1000]
    #[arg(long, value_name = "N", value_parser = bounds::concurrency)]
    pub max_concurrency: Option<usize>,
}

impl LimitArgs {
    /// Most requests in flight: N, or the adaptive limit's maximum (what the connection
    /// pool and the descriptor check are sized for).
    pub fn most(&self) -> usize {
        self.named().1
    }

    /// [`LimitArgs::most`] and the flag that set it, for a message that names it.
    pub fn named(&self) -> (&'static str, usize) {
        match self.concurrency {
            bounds::Concurrency::Fixed(n) => ("-c", n),
            bounds::Concurrency::Auto => (
                "--max-concurrency",
                (self.max_concurrency).unwrap_or(bounds::DEFAULT_MAX_CONCURRENCY),
            ),
        }
    }

    /// Refuses `--max-concurrency` without `-c auto` (a fixed `-c N` is its own limit),
    /// and `-c auto` where no request is async (`async_mode` false: the sequential or
    /// threads mode only; `mode` names that choice in the message).
    pub fn check(&self, async_mode: bool, mode: &str) -> asyncdex::Result<()> {
        let auto = self.concurrency == bounds::Concurrency::Auto;
        if let (Some(n), false) = (self.max_concurrency, auto) {
            return Err(asyncdex::Error::invalid_input(format!(
                "--max-concurrency {n} is the ceiling of -c auto: give -c auto with it, or \
                 drop it (-c N is its own limit)"
            )));
        }
        if auto && !async_mode {
            return Err(asyncdex::Error::invalid_input(format!(
                "-c auto is for the async mode, and {mode} has none: give --mode async or all"
            )));
        }
        Ok(())
    }

    /// `policy` (built for [`LimitArgs::most`] in flight), adaptive if `-c auto`.
    pub fn apply(&self, mut policy: Policy) -> Policy {
        if self.concurrency == bounds::Concurrency::Auto {
            policy.adaptive = Some(asyncdex_engine::gather::Adaptive::default());
        }
        policy
    }
}
