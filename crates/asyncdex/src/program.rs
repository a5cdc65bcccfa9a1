//! Program files: composed programs written down, validated, and run.
//!
//! A small TOML format (see `programs/smart-home.toml`, which documents it) describes
//! nested `sequence` and `parallel` blocks whose steps are device messages, PokeAPI//! fetches, or waits. This module is the model and the runner: a [`Program`] is a tree of
//! validated steps, and [`Program::task`] builds from it the engine's composed [`Task`]
//! (each block a sequence or a parallel, each step an action with the time it is expected
//! to take), whose critical path a run is compared with. A program is a tree with no
//! references between steps, so it cannot contain a cycle.
//!
//! Reading one is the `parse` module's: [`Program::parse`] checks everything before
//! anything runs, each error naming the line and the field, and bounds all that a file
//! from anyone could cost: its size ([`MAX_FILE_BYTES`]), its steps ([`MAX_STEPS`]), their
//! nesting ([`MAX_DEPTH`]), every wait ([`MAX_WAIT_MS`]), and the stack it is parsed on.
//!
//!
//! A fetch step is a call like any fetching command's, under a policy (time limit,
//! retries, a rate limit its starts share with every other fetch step): see the `fetch`
//! module and [`Context`].
//!
//! ```
//! use asyncdex::program::{Program, SMART_HOME};
//!
//! let program = Program::parse(SMART_HOME, "smart-home.toml").unwrap();
//! assert_eq!(program.name(), "smart-home");
//! let err = Program::parse("[[steps]]\nparallel = []\n", "p.toml").unwrap_err();
//! assert_eq!(err.to_string(), "p.toml:2: `parallel` is empty: a block needs at least one step");
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::devices::{DeviceKind, Devices, Simulated};
use crate::error::{Error, ErrorKind, Result};
use crate::pokeapi::{Key, Resource};
use asyncdex_engine::compose::{action, parallel, sequence, Task};

mod fetch;
mod parse;
#[cfg(test)]
mod tests;

pub use fetch::{Context, MAX_FETCHES};
pub use parse::{MAX_DEPTH, MAX_FILE_BYTES, MAX_STEPS, MAX_WAIT_MS};

/// The lesson's smart-home program (`programs/smart-home.toml`).
pub const SMART_HOME: &str = include_str!("../programs/smart-home.toml");

/// A validated step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Sequence(String, Vec<Step>),
    Parallel(String, Vec<Step>),
    Send {
        label: String,
        device: String,
        message: String,
        body: Option<String>,
    },
    Fetch {
        label: String,
        resource: Resource,
        key: Key,
    },
    Wait(String, Duration),
}

/// A validated program, ready to run.
#[derive(Debug, Clone)]
pub struct Program {
    name: String,
    devices: BTreeMap<String, DeviceKind>,
    root: Step,
}

impl Program {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its devices, simulated (the file names simulated kinds).
    pub fn devices(&self) -> Devices {
        let mut devices = Devices::default();
        for (id, kind) in &self.devices {
            devices.add(Arc::new(Simulated::new(id, *kind)));
        }
        devices
    }

    /// True if any step fetches from PokeAPI.
    pub fn fetches(&self) -> bool {
        fn any(step: &Step) -> bool {
            match step {
                Step::Sequence(_, s) | Step::Parallel(_, s) => s.iter().any(any),
                Step::Fetch { .. } => true,
                _ => false,
            }
        }
        any(&self.root)
    }

    /// The most fetch steps that can be in flight at once: a parallel block's are added,
    /// a sequence's widest step counts. What the connections of a run can be sized by
    /// (with its limit on fetches at once, the smaller of the two).
    pub fn fetches_at_once(&self) -> usize {
        fn width(step: &Step) -> usize {
            match step {
                Step::Sequence(_, s) => s.iter().map(width).max().unwrap_or(0),
                Step::Parallel(_, s) => s.iter().map(width).sum(),
                Step::Fetch { .. } => 1,
                _ => 0,
            }
        }
        width(&self.root)
    }

    /// The program as a runnable [`Task`] over `devices`; fetch steps need `context`.
    pub fn task(&self, devices: &Devices, context: Option<&Context>) -> Result<Task<Error>> {
        self.task_until(devices, context, &CancellationToken::new())
    }

    /// Like [`Program::task`], stopped by `cancel`: once it is cancelled, the step running
    /// ends at once and every step not yet started ends without starting, each with an
    /// [`ErrorKind::Cancelled`] error, so the report still holds every step: those that
    /// finished with their results, the rest marked cancelled. With the context's
    /// fail-fast ([`Context::policy`]), the first fetch that fails stops them the same way.
    pub fn task_until(
        &self,
        devices: &Devices,
        context: Option<&Context>,
        cancel: &CancellationToken,
    ) -> Result<Task<Error>> {
        build(
            &self.root,
            devices,
            context,
            &Context::stop_token(context, cancel),
        )
    }
}

/// `future`, unless `cancel` comes first.
fn until(
    cancel: &CancellationToken,
    future: impl std::future::Future<Output = Result<String>> + Send + 'static,
) -> impl std::future::Future<Output = Result<String>> + Send + 'static {
    let cancel = cancel.clone();
    async move {
        let cancelled = || Error::new(ErrorKind::Cancelled, "cancelled before it finished");
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(cancelled()),
            result = future => result,
        }
    }
}

fn build(
    step: &Step,
    devices: &Devices,
    context: Option<&Context>,
    cancel: &CancellationToken,
) -> Result<Task<Error>> {
    let block = |steps: &[Step]| -> Result<Vec<Task<Error>>> {
        steps
            .iter()
            .map(|s| build(s, devices, context, cancel))
            .collect()
    };
    Ok(match step {
        Step::Sequence(label, steps) => sequence(label.clone(), block(steps)?),
        Step::Parallel(label, steps) => parallel(label.clone(), block(steps)?),
        Step::Send {
            label,
            device,
            message,
            body,
        } => {
            let dev = devices
                .get(device)
                .ok_or_else(|| Error::invalid_input(format!("no device `{device}`")))?;
            let (message, body) = (message.clone(), body.clone());
            let expected = dev.expected();
            let run = async move {
                match message.as_str() {
                    "connect" => dev.connect().await,
                    "disconnect" => dev.disconnect().await,
                    m => dev.send(m, body.as_deref()).await,
                }
            };
            action(label.clone(), expected, until(cancel, run))
        }
        Step::Fetch {
            label,
            resource,
            key,
        } => {
            let ctx = context.ok_or_else(|| Error::invalid_input("fetch steps need an API"))?;
            let run = ctx.fetch(*resource, key.clone(), cancel);
            action(label.clone(), ctx.fetch_latency, until(cancel, run))
        }
        Step::Wait(label, d) => {
            let d = *d;
            let run = async move {
                tokio::time::sleep(d).await;
                Ok(format!("waited {} ms", d.as_millis()))
            };
            action(label.clone(), Some(d), until(cancel, run))
        }
    })
}
