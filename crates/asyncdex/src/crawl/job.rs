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

/// The longest endpoint name, in bytes: PokeAPI's longest (`pokemon-species`,
/// `version-group`, `move-battle-style`...) is under 30, and a name is a folder in an
/// export (`data/api/v2/<name>/`), which a file system bounds (255 bytes). A server that
/// names a longer one is refused at crawl time, not stored for an export to trip on.
pub const MAX_ENDPOINT_NAME: usize = 64;

/// Whether `name` is an endpoint name: 1 to [`MAX_ENDPOINT_NAME`] lowercase letters,
/// digits and dashes. The one test of every endpoint name asyncdex meets: one a user
/// gives, one an API's root names, one a store or a folder holds.
///
/// ```
/// use asyncdex::crawl::is_endpoint;
/// assert!(is_endpoint("pokemon-species"));
/// assert!(!is_endpoint("../.."));
/// assert!(!is_endpoint(&"e".repeat(300)));
/// ```
pub fn is_endpoint(name: &str) -> bool {
    (1..=MAX_ENDPOINT_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What an endpoint name is, for messages that refuse one.
pub const ENDPOINT_RULE: &str = "lowercase letters, digits and dashes, at most 64";

/// `name` quoted for a message, cut to 64 characters (a refused name may be of any length).
pub(crate) fn quoted(name: &str) -> String {
    let cut: String = name.chars().take(MAX_ENDPOINT_NAME).collect();
    let more = if cut.len() < name.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

/// Checks an endpoint name ([`is_endpoint`]): lowercase letters, digits and dashes
/// (`pokemon-species`), at most [`MAX_ENDPOINT_NAME`] of them.
pub fn check_endpoint(name: &str) -> Result<&str> {
    if is_endpoint(name) {
        Ok(name)
    } else {
        Err(Error::invalid_input(format!(
            "invalid resource {}: expected an endpoint name such as pokemon or pokemon-species ({ENDPOINT_RULE})",
            quoted(name)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_are_bounded_in_length_and_alphabet() {
        assert!(is_endpoint(&"e".repeat(MAX_ENDPOINT_NAME)));
        assert!(!is_endpoint(&"e".repeat(MAX_ENDPOINT_NAME + 1)));
        for bad in ["", "..", "../../..", "a/b", "Type", "a.b", "a\0b"] {
            assert!(!is_endpoint(bad), "{bad:?}");
        }
        let err = check_endpoint(&"e".repeat(300)).unwrap_err().to_string();
        assert!(err.contains("at most 64") && err.len() < 300, "{err}");
        assert!(ENDPOINT_RULE.ends_with(&MAX_ENDPOINT_NAME.to_string()));
    }
}
