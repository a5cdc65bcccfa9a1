//! What a crawl is asked to do ([`Crawl`]): which endpoints, whether to follow links, how
//! hard to push (the engine's [`Policy`]), and how far it may grow; and the checks that
//! refuse, before any call, a job that can never work.

use super::{MAX_ENDPOINTS, MAX_SCHEDULED};
use crate::error::{Error, Result};
use asyncdex_engine::gather::Policy;

/// What to crawl and how hard to push.
#[derive(Debug, Clone)]
pub struct Crawl {
    /// The endpoints (`pokemon`, `type`...); `None`: every list the API's root names.
    pub resources: Option<Vec<String>>,
    /// Also fetch resources that bodies link to, within the chosen endpoints.
    pub follow: bool,
    /// Concurrency, timeouts, retries, rate, cancellation.
    pub policy: Policy,
    /// Resources this crawl schedules, at most ([`MAX_SCHEDULED`] by default).
    pub max_scheduled: usize,
}

impl Crawl {
    /// A crawl of `resources` with `concurrency` calls in flight, 5 retries per call.
    pub fn new(resources: Option<Vec<String>>, concurrency: usize) -> Crawl {
        let mut policy = Policy::new(concurrency);
        policy.retries = DEFAULT_RETRIES;
        Crawl {
            resources,
            follow: false,
            policy,
            max_scheduled: MAX_SCHEDULED,
        }
    }

    /// Rejects what can never work: no resources, a name that is not an endpoint.
    pub fn validate(&self) -> Result<()> {
        self.policy.check()?;
        if let Some(list) = &self.resources {
            if list.is_empty() {
                return Err(Error::invalid_input("the list of resources is empty"));
            }
            if list.len() > MAX_ENDPOINTS {
                return Err(Error::invalid_input(format!(
                    "{} resources named, more than the {MAX_ENDPOINTS} a crawl covers",
                    list.len()
                )));
            }
            for r in list {
                check_endpoint(r)?;
            }
        }
        Ok(())
    }
}

/// Retries per resource by default: a crawl must get everything, so it retries more
/// than a one-off fetch.
pub const DEFAULT_RETRIES: u32 = 5;

/// Checks an endpoint name: lowercase letters, digits and dashes (`pokemon-species`).
pub fn check_endpoint(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(name)
    } else {
        Err(Error::invalid_input(format!(
            "invalid resource {name:?}: expected an endpoint name such as pokemon or pokemon-species"
        )))
    }
}
