//! A program's fetch steps: each one a call made the way every fetching command makes its
//! calls, through the same [`Policy`].
//!
//! A fetch step is a batch of one under [`gather`]: the policy's time limit per attempt,
//! its retries with backoff and jitter, a server's `Retry-After` (up to the policy's
//! longest wait), and its **rate limit**, waited for before each attempt. The rate limit
//! is one bucket shared by every clone of it, so the steps of a program, however they are
//! nested, share one budget: three fetches in a sequence at one per second take two
//! seconds of waiting, as three calls of one batch would. (A program talks to one API, so
//! one bucket is one host's.)
//!
//! What belongs to a batch of many calls has no meaning for a batch of one, so it is
//! set aside here: the concurrency (the [`Context::in_flight`] places bound the fetches
//! instead), hedging (it needs a batch's own latencies), extra runtimes, the adaptive
//! limit, and the retry budget (each fetch may retry as often as the policy's
//! `retries`). Fail-fast keeps its meaning at the program's level: the first fetch that
//! fails cancels every step not yet finished.
//!
//! ```
//! use asyncdex::program::Context;
//! # use asyncdex::{http::{HttpOptions, Native}, pokeapi::Client};
//! # fn client() -> Client<Native> {
//! #     Client::new("http://127.0.0.1:9/api/v2", Native::new(&HttpOptions::default()).unwrap())
//! # }
//! let mut context = Context::new(client(), None);
//! context.policy.retries = 3;
//! context.policy.rate = Some(asyncdex_engine::gather::RateLimit::per_second(2.0).unwrap());
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind, Result};
use crate::http::Native;
use crate::pokeapi::{Client, Key, Resource};
use asyncdex_engine::gather::{gather, Policy};

/// Most fetch steps of one program in flight at once.
pub const MAX_FETCHES: usize = 64;

/// What a program's fetch steps need: a client, the latency they should expect, places,
/// and the policy each fetch is made under.
#[derive(Clone)]
pub struct Context {
    /// The PokeAPI client fetch steps use.
    pub client: Client<Native>,
    /// The expected time of one fetch, if known.
    pub fetch_latency: Option<Duration>,
    /// Places for fetches in flight: a parallel block of ten thousand fetches takes its
    /// turns through [`MAX_FETCHES`] places instead of opening ten thousand connections.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// How each fetch is made: time limit, retries, their waits, the rate limit all the
    /// fetches share, and fail-fast (see the module's docs for what a batch of one sets
    /// aside). [`Context::new`] makes one attempt, with no limit of time or rate.
    pub policy: Policy,
}

impl Context {
    /// Fetch steps through `client`, each expected to take `fetch_latency`, at most
    /// [`MAX_FETCHES`] at once, each one attempt.
    pub fn new(client: Client<Native>, fetch_latency: Option<Duration>) -> Context {
        Context {
            client,
            fetch_latency,
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_FETCHES)),
            policy: Policy::new(1),
        }
    }

    /// The token the program's steps stop on: `cancel` itself, or, with fail-fast, a
    /// child of it that the first failed fetch cancels (so a signal still reaches every
    /// step, and a failure stops only this program).
    pub(super) fn stop_token(
        context: Option<&Context>,
        cancel: &CancellationToken,
    ) -> CancellationToken {
        match context {
            Some(c) if c.policy.fail_fast => cancel.child_token(),
            _ => cancel.clone(),
        }
    }

    /// One fetch step: a place, then one call of `resource`/`key` under the policy; its
    /// result is the name fetched. `stop` cancels it (and, with fail-fast, is cancelled
    /// by its failure).
    pub(super) fn fetch(
        &self,
        resource: Resource,
        key: Key,
        stop: &CancellationToken,
    ) -> impl Future<Output = Result<String>> + Send + 'static {
        let (client, in_flight) = (self.client.clone(), self.in_flight.clone());
        let mut policy = self.policy.clone();
        policy.concurrency = 1;
        policy.adaptive = None;
        policy.hedge = None;
        policy.cores = 1;
        policy.retry_budget = Some(policy.retries as usize);
        let fail_fast = std::mem::take(&mut policy.fail_fast);
        policy.cancel = stop.clone();
        let stop = stop.clone();
        async move {
            let _place = in_flight
                .acquire_owned()
                .await
                .map_err(|_| Error::new(ErrorKind::Cancelled, "the program stopped"))?;
            let call = move |()| {
                let (client, key) = (client.clone(), key.clone());
                async move {
                    Ok::<_, Error>(match resource {
                        Resource::Pokemon => client.pokemon(key).await?.name,
                        Resource::Species => client.species(key).await?.name,
                        Resource::Type => client.kind(key).await?.name,
                    })
                }
            };
            let outcome = gather(vec![()], &policy, call).await?.pop();
            let result = match outcome {
                Some(o) => o.result.map_err(Error::from),
                None => Err(Error::new(ErrorKind::Cancelled, "the program stopped")),
            };
            if fail_fast
                && result
                    .as_ref()
                    .is_err_and(|e| e.kind() != ErrorKind::Cancelled)
            {
                stop.cancel();
            }
            result
        }
    }
}
