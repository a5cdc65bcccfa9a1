//! How cost grows with the work: the same job at sizes 1 to 10 000, three ways.
//!
//! The lesson's claim is that the more you call APIs, the more waiting costs, and that
//! concurrency fixes it. A sweep shows the shape: one by one, time grows with N (a line
//! of slope 1 on a log-log chart); on T threads it grows with ⌈N / T⌉; async with
//! ⌈N / C⌉, flat until N passes the concurrency C. Each cell is compared with that ideal.
//! Cells whose ideal exceeds the time budget are skipped and shown as skipped, never
//! guessed. A cell with calls that did not succeed has no ratio: the wall time of failed
//! calls (a refusal comes back faster than any answer) is no measurement of the work.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::draw::{draw, Ids};
use crate::error::Result;
use crate::http::Native;
use crate::names::{run_mode, Mode, ModeRun, Plan};
use asyncdex_engine::latency::{Histogram, Latencies};

/// What to sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The sizes N.
    pub sizes: Vec<usize>,
    /// The modes.
    pub modes: Vec<Mode>,
    /// The latency every call waits (the mirror's), for the ideal.
    pub latency: Duration,
    /// A cell whose ideal is longer than this is skipped. Not a limit on a cell that
    /// runs: its calls are bounded by their own timeouts, the cell is not.
    pub budget: Duration,
    /// Threads, concurrency, client settings, policy.
    pub plan: Plan,
    /// Where the ids are drawn from.
    pub ids: Ids,
    /// Seed of the draws.
    pub seed: u64,
}

/// One cell of the sweep.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The mode.
    pub mode: Mode,
    /// The size.
    pub n: usize,
    /// The ideal time: N × L, ⌈N / T⌉ × L or ⌈N / C⌉ × L.
    pub ideal: Duration,
    /// The measured wall time and successes; `None` when skipped.
    pub measured: Option<(Duration, usize)>,
    /// The calls' latencies (p50, p90, p99, max); `None` when skipped, or when no call
    /// completed.
    pub latency: Option<Latencies>,
}

impl Cell {
    /// Measured / ideal; `None` when skipped, when a call did not succeed (the wall time
    /// of failures measures nothing), or when the ideal is zero (no latency: no ideal to
    /// compare with).
    pub fn ratio(&self) -> Option<f64> {
        let (wall, _) = self.measured.filter(|_| self.all_ok())?;
        (!self.ideal.is_zero()).then(|| wall.as_secs_f64() / self.ideal.as_secs_f64())
    }

    /// Whether it ran and every one of its calls succeeded: only then is its wall time a
    /// measurement of N calls.
    pub fn all_ok(&self) -> bool {
        self.measured.is_some_and(|(_, ok)| ok == self.n)
    }

    /// Successful calls per second of wall time; `None` when skipped. Failed calls are no
    /// throughput: a cell whose every call failed is at 0.
    pub fn throughput(&self) -> Option<f64> {
        let (wall, ok) = self.measured?;
        Some(ok as f64 / wall.as_secs_f64().max(1e-9))
    }
}

/// The ideal time of `n` calls in `mode` under `plan`, each waiting `latency`.
pub fn ideal(mode: Mode, n: usize, latency: Duration, plan: &Plan) -> Duration {
    let width = match mode {
        Mode::Sequential => 1,
        Mode::Threads => plan.threads.max(1),
        Mode::Async => plan.concurrency.max(1),
    };
    latency * n.div_ceil(width) as u32
}

/// The ids a run under `plan` draws from, after checking the plan: `ids` resolved against
/// the API at `base_url` (its Pokémon list, or a range).
pub(crate) async fn id_pool(ids: &Ids, plan: &Plan, base_url: &str) -> Result<Vec<u32>> {
    plan.validate()?;
    ids.resolve(&Native::new(&plan.http)?, base_url, &plan.policy)
        .await
}

/// Runs the sweep against the API at `base_url`, calling `done` after each cell with the
/// cell and, if it ran, its calls (each call's outcome, to count and report them: the
/// cell keeps only its figures, so a long sweep holds no call past its cell).
pub async fn run(
    sweep: &Sweep,
    base_url: &str,
    mut done: impl FnMut(&Cell, Option<&ModeRun>),
) -> Result<Vec<Cell>> {
    let pool = id_pool(&sweep.ids, &sweep.plan, base_url).await?;
    let mut cells = Vec::new();
    for &mode in &sweep.modes {
        for &n in &sweep.sizes {
            let ideal = ideal(mode, n, sweep.latency, &sweep.plan);
            let run = if ideal > sweep.budget || sweep.plan.policy.cancel.is_cancelled() {
                None
            } else {
                let mut plan = sweep.plan.clone();
                plan.ids = draw(n, &pool, &mut StdRng::seed_from_u64(sweep.seed ^ n as u64));
                Some(run_mode(mode, base_url, &plan).await?)
            };
            let cell = Cell {
                mode,
                n,
                ideal,
                measured: run.as_ref().map(|run| (run.wall, run.ok())),
                latency: run
                    .as_ref()
                    .and_then(|run| Histogram::of_calls(&run.outcomes).latencies()),
            };
            done(&cell, run.as_ref());
            cells.push(cell);
        }
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_latency_means_no_ratio_rather_than_a_division_by_zero() {
        let cell = |ideal| Cell {
            mode: Mode::Async,
            n: 10,
            ideal,
            measured: Some((Duration::from_millis(16), 10)),
            latency: None,
        };
        assert_eq!(cell(Duration::ZERO).ratio(), None);
        assert_eq!(cell(Duration::from_millis(8)).ratio(), Some(2.0));
    }

    #[test]
    fn failed_calls_give_no_ratio_and_no_throughput() {
        let cell = |ok| Cell {
            mode: Mode::Async,
            n: 10,
            ideal: Duration::from_millis(100),
            measured: Some((Duration::from_millis(2), ok)),
            latency: None,
        };
        // Ten refusals in 2 ms are not "50 times faster than ideal".
        assert_eq!(cell(0).ratio(), None);
        assert_eq!(cell(9).ratio(), None);
        assert!(!cell(9).all_ok() && cell(10).all_ok());
        assert_eq!(cell(0).throughput(), Some(0.0));
        assert_eq!(cell(5).throughput(), Some(2500.0));
        assert_eq!(cell(10).ratio(), Some(0.02));
    }

    #[test]
    fn ideals_follow_the_width_of_each_mode() {
        let mut plan = Plan::new(vec![]);
        plan.threads = 6;
        plan.concurrency = 64;
        let l = Duration::from_millis(100);
        assert_eq!(
            ideal(Mode::Sequential, 20, l, &plan),
            Duration::from_secs(2)
        );
        assert_eq!(
            ideal(Mode::Threads, 20, l, &plan),
            Duration::from_millis(400)
        );
        assert_eq!(ideal(Mode::Async, 20, l, &plan), l);
        assert_eq!(
            ideal(Mode::Async, 10_000, l, &plan),
            Duration::from_millis(15_700)
        );
    }
}
