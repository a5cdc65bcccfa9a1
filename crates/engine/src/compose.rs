//! Designing with concurrency: a program is steps composed in sequence and in parallel.
//!
//! Once calls can run concurrently, the design question becomes *which steps depend on
//! which*. Steps that depend on each other go in a [`sequence`] (each waits for the one
//! before); steps that do not go in [`parallel`] (all wait at once). Blocks nest, so a
//! program is a tree, and its ideal duration follows from the tree alone: a sequence costs
//! the sum of its children, a parallel block its longest child. That is the
//! [critical path](Task::critical_path), and a good runtime gets close to it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use std::time::Duration;
//! use asyncdex_engine::compose::{action, parallel, sequence};
//!
//! let nap = |label: &str, ms: u64| action(label, Some(Duration::from_millis(ms)), async move {
//!     tokio::time::sleep(Duration::from_millis(ms)).await;
//!     Ok::<_, std::io::Error>(format!("slept {ms} ms"))
//! });
//! let program = sequence("morning", vec![
//!     nap("wake", 100),
//!     parallel("get ready", vec![nap("coffee", 300), nap("shower", 200)]),
//! ]);
//! assert_eq!(program.critical_path(), Some(Duration::from_millis(400)));
//! let report = program.run().await;
//! assert_eq!(report.duration(), Duration::from_millis(400)); // not 600: parallel
//! assert!(report.is_ok());
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

/// A step not yet run: an action (a labelled future) or a block of steps.
pub struct Task<E> {
    label: String,
    kind: Kind<E>,
}

enum Kind<E> {
    Action {
        expected: Option<Duration>,
        run: BoxFuture<'static, Result<String, E>>,
    },
    Sequence(Vec<Task<E>>),
    Parallel(Vec<Task<E>>),
}

/// A leaf step: `future` is what it does (its `Ok` text is reported), `expected` how long
/// it should take, if known (for the critical path). `E` is the action's own error type.
pub fn action<E>(
    label: impl Into<String>,
    expected: Option<Duration>,
    future: impl Future<Output = Result<String, E>> + Send + 'static,
) -> Task<E> {
    Task {
        label: label.into(),
        kind: Kind::Action {
            expected,
            run: Box::pin(future),
        },
    }
}

/// Steps one after another: each starts when the one before has finished.
pub fn sequence<E>(label: impl Into<String>, steps: Vec<Task<E>>) -> Task<E> {
    Task {
        label: label.into(),
        kind: Kind::Sequence(steps),
    }
}

/// Steps all at once: the block ends when the last one does.
pub fn parallel<E>(label: impl Into<String>, steps: Vec<Task<E>>) -> Task<E> {
    Task {
        label: label.into(),
        kind: Kind::Parallel(steps),
    }
}

/// What kind of step a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// A leaf.
    Action,
    /// Children one after another.
    Sequence,
    /// Children all at once.
    Parallel,
}

/// What a step did: its timing relative to the program's start, its result (actions), and
/// its children's reports (blocks).
#[derive(Debug)]
pub struct Report<E> {
    /// The step's label.
    pub label: String,
    /// Action, sequence or parallel.
    pub kind: StepKind,
    /// When it started, since the program started.
    pub started: Duration,
    /// When it ended.
    pub finished: Duration,
    /// An action's result (`Ok` for blocks).
    pub result: Result<String, E>,
    /// A block's children, in order.
    pub children: Vec<Report<E>>,
}

impl<E> Report<E> {
    /// How long the step took.
    pub fn duration(&self) -> Duration {
        self.finished - self.started
    }

    /// True if this step and every step inside it succeeded.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok() && self.children.iter().all(Report::is_ok)
    }

    /// Every step, depth first, with its depth (0 for this one).
    pub fn walk(&self) -> Vec<(usize, &Report<E>)> {
        let mut all = Vec::new();
        fn go<'a, E>(r: &'a Report<E>, depth: usize, all: &mut Vec<(usize, &'a Report<E>)>) {
            all.push((depth, r));
            for c in &r.children {
                go(c, depth + 1, all);
            }
        }
        go(self, 0, &mut all);
        all
    }
}

impl<E: Send + 'static> Task<E> {
    /// The step's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The ideal duration: a sequence costs the sum of its children, a parallel block its
    /// longest child. `None` if any action's duration is unknown.
    pub fn critical_path(&self) -> Option<Duration> {
        match &self.kind {
            Kind::Action { expected, .. } => *expected,
            Kind::Sequence(steps) => steps.iter().map(Task::critical_path).sum(),
            Kind::Parallel(steps) => steps
                .iter()
                .map(Task::critical_path)
                .try_fold(Duration::ZERO, |max, d| d.map(|d| max.max(d))),
        }
    }

    /// Runs the program. A failed step is reported, and the rest still run (a sequence
    /// goes on after a failure: every step's outcome is reported).
    pub async fn run(self) -> Report<E> {
        let epoch = Instant::now();
        self.run_from(epoch).await
    }

    fn run_from(self, epoch: Instant) -> BoxFuture<'static, Report<E>> {
        Box::pin(async move {
            let started = epoch.elapsed();
            let (kind, result, children) = match self.kind {
                Kind::Action { run, .. } => (StepKind::Action, run.await, Vec::new()),
                Kind::Sequence(steps) => {
                    let mut children = Vec::with_capacity(steps.len());
                    for step in steps {
                        children.push(step.run_from(epoch).await);
                    }
                    (StepKind::Sequence, Ok(String::new()), children)
                }
                Kind::Parallel(steps) => {
                    let runs = steps.into_iter().map(|s| s.run_from(epoch));
                    let children = futures::future::join_all(runs).await;
                    (StepKind::Parallel, Ok(String::new()), children)
                }
            };
            Report {
                label: self.label,
                kind,
                started,
                finished: epoch.elapsed(),
                result,
                children,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    type Error = std::io::Error;

    fn nap(label: &str, ms: u64) -> Task<Error> {
        let d = Duration::from_millis(ms);
        action(label, Some(d), async move {
            tokio::time::sleep(d).await;
            Ok(String::new())
        })
    }

    #[tokio::test(start_paused = true)]
    async fn parallel_costs_the_max_and_sequence_the_sum() {
        let report = parallel("p", vec![nap("a", 300), nap("b", 100), nap("c", 200)])
            .run()
            .await;
        assert_eq!(report.duration(), Duration::from_millis(300));
        let starts: Vec<Duration> = report.children.iter().map(|c| c.started).collect();
        assert!(starts.iter().all(|s| s.is_zero()), "all start together");

        let report = sequence("s", vec![nap("a", 300), nap("b", 100), nap("c", 200)])
            .run()
            .await;
        assert_eq!(report.duration(), Duration::from_millis(600));
        assert_eq!(report.children[2].started, Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn nested_blocks_meet_their_critical_path() {
        let program = sequence(
            "root",
            vec![
                parallel(
                    "register",
                    vec![nap("x", 500), nap("y", 500), nap("z", 500)],
                ),
                sequence("wake", vec![nap("a", 500), nap("b", 500), nap("c", 500)]),
                parallel(
                    "sleep",
                    vec![
                        nap("d", 500),
                        nap("e", 500),
                        sequence("f", vec![nap("g", 500), nap("h", 500)]),
                    ],
                ),
            ],
        );
        let ideal = program.critical_path().unwrap();
        assert_eq!(ideal, Duration::from_millis(3000));
        let report = program.run().await;
        assert_eq!(report.duration(), ideal);
        assert_eq!(report.walk().len(), 1 + 3 + 3 + 3 + 3 + 2);
    }

    #[tokio::test(start_paused = true)]
    async fn every_outcome_is_reported_even_after_a_failure() {
        let fail = action("fail", None, async { Err(Error::other("nope")) });
        let report = sequence("s", vec![nap("a", 10), fail, nap("b", 10)])
            .run()
            .await;
        assert!(!report.is_ok());
        let ok: Vec<bool> = report.children.iter().map(|c| c.result.is_ok()).collect();
        assert_eq!(ok, [true, false, true]);
        assert_eq!(
            sequence(
                "s",
                vec![nap("a", 1), action("?", None, async { Ok(String::new()) })]
            )
            .critical_path(),
            None
        );
    }
}
