//! Which Pokémon a run asks for: random ids drawn from the Pokémon the API itself lists.
//!
//! The lesson fetches random Pokémon. Drawing ids from a table of our own would ask a
//! smaller PokeAPI-compatible server for Pokémon it does not have (a quarter of the calls
//! 404s against one that stops at 898), so the ids come from the server: one list request
//! (`/pokemon/?limit=100000`) before the run, every id it lists, drawn uniformly with
//! replacement from a seed. [`Ids::Range`] draws from a range instead, with no list
//! request, as the original lesson did (`1..=898`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex::Result<()> {
//! use asyncdex::draw::{draw, Ids};
//! use asyncdex::http::{HttpOptions, Native};
//! use asyncdex::mirror::{Mirror, MirrorConfig};
//! use asyncdex_engine::gather::Policy;
//! use rand::SeedableRng;
//!
//! let mirror = Mirror::start(MirrorConfig::default()).await?;
//! let (http, policy) = (Native::new(&HttpOptions::default())?, Policy::new(1));
//! let pool = Ids::FromApi.resolve(&http, mirror.base_url(), &policy).await?;
//! assert_eq!(pool.len(), 1351); // every Pokémon the mirror lists, forms included
//! let ids = draw(20, &pool, &mut rand::rngs::StdRng::seed_from_u64(1));
//! assert!(ids.iter().all(|id| pool.contains(id)));
//! assert_eq!(Ids::Range(1, 898).resolve(&http, "unused", &policy).await?.len(), 898);
//! # Ok(()) }
//! ```

use std::borrow::Cow;

use asyncdex_engine::gather::{gather, Policy};
use rand::Rng;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::http::Transport;

/// Most ids a range may hold: a range is drawn from as a list, and a million ids is
/// already far more Pokémon than exist.
pub const MAX_RANGE: u32 = 1_000_000;

/// Where a run's ids are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ids {
    /// Every Pokémon the API lists (one list request).
    #[default]
    FromApi,
    /// Every id from the first to the last, inclusive (no request).
    Range(u32, u32),
}

impl Ids {
    /// Parses `A-B` (`1-898`): a range of ids, A at least 1, B at least A, at most
    /// [`MAX_RANGE`] ids and none past PokeAPI's largest possible id (`i32::MAX`).
    pub fn parse_range(text: &str) -> Result<Ids> {
        let bad = || {
            Error::invalid_input(format!(
                "{text:?} is not a range of ids: use A-B, e.g. 1-898"
            ))
        };
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let (a, b): (u32, u32) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if a == 0 || b < a {
            return Err(bad());
        }
        if b > i32::MAX as u32 || b - a >= MAX_RANGE {
            return Err(Error::invalid_input(format!(
                "{text:?} is too large a range of ids: at most {MAX_RANGE} ids, none past {}",
                i32::MAX
            )));
        }
        Ok(Ids::Range(a, b))
    }

    /// The ids to draw from, asking the API at `base` for its list if need be: one call,
    /// under `policy` like any other (its timeout, retries, a server's `Retry-After`
    /// capped at `max_retry_after`, rate and cancellation). The policy's events see the
    /// call (a watch on shortened waits says it); a failure says its attempts,
    /// `… (4 attempts)`.
    pub async fn resolve<T: Transport>(
        &self,
        transport: &T,
        base: &str,
        policy: &Policy,
    ) -> Result<Vec<u32>> {
        if let Ids::Range(a, b) = *self {
            return Ok((a..=b).collect());
        }
        let (transport, base) = (transport.clone(), base.to_owned());
        let outcome = gather(vec![()], policy, move |()| {
            let (transport, base) = (transport.clone(), base.clone());
            async move { listed(&transport, &base).await }
        })
        .await?
        .pop()
        .expect("one outcome per input");
        let attempts = outcome.attempts;
        outcome.result.map_err(|failure| {
            let e = Error::from(failure);
            match e.kind() {
                ErrorKind::Cancelled => e,
                _ => e.with_attempts(attempts),
            }
        })
    }
}

/// Every Pokémon id the API at `base` lists, in its order.
pub async fn listed<T: Transport>(transport: &T, base: &str) -> Result<Vec<u32>> {
    let url = format!("{}/pokemon/?limit=100000", base.trim_end_matches('/'));
    let resp = transport.get(&url).await?;
    if resp.status != 200 {
        // Built as every other answer that is not a success: its `Retry-After` goes with
        // it to the retry policy (a 429 asking for a second is retried after a second).
        let e = Error::new(
            ErrorKind::Status,
            format!(
                "HTTP {} from {}: cannot list the Pokémon to draw from",
                resp.status,
                crate::http::redact_url(&url)
            ),
        );
        return Err(e
            .with_status(resp.status)
            .with_url(&*crate::http::redact_url(&url))
            .with_retry_after(resp.retry_after));
    }
    let listed: Listed<{ MAX_RANGE as usize }> =
        serde_json::from_slice(&resp.body).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                format!("the Pokémon list at {url} is not a PokeAPI list: {e}"),
            )
            .with_url(&url)
        })?;
    if listed.results.more {
        return Err(Error::new(
            ErrorKind::Decode,
            format!(
                "the Pokémon list at {url} names more than {MAX_RANGE} Pokémon, the most a run draws from (draw from a range of ids instead)"
            ),
        )
        .with_url(&url));
    }
    let ids = listed.results.ids;
    if ids.is_empty() {
        return Err(Error::new(
            ErrorKind::Decode,
            format!("the Pokémon list at {url} lists no Pokémon"),
        ));
    }
    Ok(ids)
}

/// A list page as a draw reads it: only the ids in its `results`, at most `MAX`.
///
/// A list is read entry by entry, and each entry's name and url are looked at in the
/// body (borrowed) and dropped: what is kept is four bytes per id, never the page as
/// strings (3 million entries as [`Page`](crate::pokeapi::Page) took 623 MB). Past `MAX`
/// ids the rest is skipped unread and `more` says so.
#[derive(Deserialize)]
struct Listed<const MAX: usize> {
    results: CappedIds<MAX>,
}

/// The ids of a list's entries (an entry with no url, or none ending in `pokemon/` and an
/// id, adds none), at most `MAX`; `more`: there were more.
struct CappedIds<const MAX: usize> {
    ids: Vec<u32>,
    more: bool,
}

/// One entry: its url, borrowed from the body when it has no escapes.
#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
}

impl<'de, const MAX: usize> Deserialize<'de> for CappedIds<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Entries<const MAX: usize>;
        impl<'de, const MAX: usize> Visitor<'de> for Entries<MAX> {
            type Value = CappedIds<MAX>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = CappedIds {
                    ids: Vec::new(),
                    more: false,
                };
                while !out.more {
                    let Some(entry) = seq.next_element::<Entry>()? else {
                        return Ok(out);
                    };
                    let id = entry
                        .url
                        .as_deref()
                        // An entry under another endpoint (`ability/7/`) is no Pokémon.
                        .and_then(|u| crate::pokeapi::listed_id(u, "pokemon")?.parse().ok())
                        // An id no user could give (0, past PokeAPI's `i32`) is not one.
                        .filter(|&id: &u32| (1..=i32::MAX as u32).contains(&id));
                    match id {
                        Some(_) if out.ids.len() == MAX => out.more = true,
                        Some(id) => out.ids.push(id),
                        None => {}
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(out)
            }
        }
        d.deserialize_seq(Entries::<MAX>)
    }
}

/// Every Pokémon id the embedded data lists (the mirror's; 1,351 of them, forms included),
/// for examples and tests that draw without asking a server.
#[cfg(feature = "mirror")]
pub fn embedded() -> Vec<u32> {
    asyncdex_pack::Pack::embedded()
        .list("pokemon")
        .map(|l| l.ids().filter_map(|id| u32::try_from(id).ok()).collect())
        .unwrap_or_default()
}

/// `n` ids drawn uniformly, with replacement, from every Pokémon the embedded data lists.
///
/// ```
/// use rand::SeedableRng;
/// let ids = asyncdex::draw::random_ids(20, &mut rand::rngs::StdRng::seed_from_u64(1));
/// assert_eq!(ids.len(), 20);
/// assert!(ids.iter().all(|&id| (1..=1025).contains(&id) || (10001..=10325).contains(&id)));
/// ```
#[cfg(feature = "mirror")]
pub fn random_ids(n: usize, rng: &mut impl Rng) -> Vec<u32> {
    draw(n, &embedded(), rng)
}

/// The name the embedded data gives Pokémon `id`, if it lists it.
#[cfg(feature = "mirror")]
pub fn embedded_name(id: u32) -> Option<&'static str> {
    let list = asyncdex_pack::Pack::embedded().list("pokemon")?;
    let id = i32::try_from(id).ok()?;
    list.entries().iter().find(|e| e.id == id)?.name
}

/// `n` ids drawn uniformly, with replacement, from `pool` (empty if `pool` is).
pub fn draw(n: usize, pool: &[u32], rng: &mut impl Rng) -> Vec<u32> {
    if pool.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|_| pool[rng.random_range(0..pool.len())])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ranges_parse_and_nonsense_is_refused() {
        assert_eq!(Ids::parse_range("1-898").unwrap(), Ids::Range(1, 898));
        for bad in [
            "0-10",
            "10-1",
            "abc",
            "1-",
            "-5",
            "1-2-3",
            "1-4294967295",
            "1-1000001",
        ] {
            assert!(Ids::parse_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_list_is_read_for_its_ids_only_and_at_most_max() {
        let body = br#"{"count":9,"results":[{"name":"a","url":"http://h/pokemon/1/"},
            {"url":null},{"name":"c"},{"url":"http://h/pokemon/x/"},{"url":"http://h/pokemon/4/"},
            {"url":"http://h/ability/7/"},{"url":"http://h/pokemon/5/"}]}"#;
        let all: Listed<3> = serde_json::from_slice(body).unwrap();
        assert_eq!((all.results.ids, all.results.more), (vec![1, 4, 5], false));
        let capped: Listed<2> = serde_json::from_slice(body).unwrap();
        assert_eq!(
            (capped.results.ids, capped.results.more),
            (vec![1, 4], true)
        );
        // Ids that no `--ids` could name are no ids.
        let odd = br#"{"results":[{"url":"/pokemon/0/"},{"url":"/pokemon/2147483648/"},
            {"url":"/pokemon/2147483647/"},{"url":"/pokemon/-3/"}]}"#;
        let odd: Listed<9> = serde_json::from_slice(odd).unwrap();
        assert_eq!(odd.results.ids, vec![2147483647]);
        // What is skipped past the cap must still be JSON.
        let cut = br#"{"results":[{"url":"/pokemon/1/"},{"url":"/pokemon/2/"},{"#;
        assert!(serde_json::from_slice::<Listed<1>>(cut).is_err());
    }

    #[test]
    fn draws_come_from_the_pool_and_repeat_with_the_seed() {
        let pool = [3, 5, 7];
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let ids = draw(100, &pool, &mut rng);
        assert!(ids.iter().all(|id| pool.contains(id)));
        assert!(
            pool.iter().all(|p| ids.contains(p)),
            "uniform over the pool"
        );
        let again = draw(100, &pool, &mut rand::rngs::StdRng::seed_from_u64(9));
        assert_eq!(ids, again);
        assert!(draw(5, &[], &mut rng).is_empty());
    }
}
