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

use asyncdex_engine::gather::{gather, Policy};
use rand::Rng;

use crate::error::{Error, ErrorKind, Result};
use crate::http::Transport;
use crate::pokeapi::Page;

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
    /// under `policy` like any other (its timeout, retries, rate and cancellation).
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
        let mut one = policy.clone();
        one.events = None; // not one of the run's calls: no bar, no span
        let outcome = gather(vec![()], &one, move |()| {
            let (transport, base) = (transport.clone(), base.clone());
            async move { listed(&transport, &base).await }
        })
        .await?
        .pop()
        .expect("one outcome per input");
        Ok(outcome.result?)
    }
}

/// Every Pokémon id the API at `base` lists, in its order.
pub async fn listed<T: Transport>(transport: &T, base: &str) -> Result<Vec<u32>> {
    let url = format!("{}/pokemon/?limit=100000", base.trim_end_matches('/'));
    let resp = transport.get(&url).await?;
    if resp.status != 200 {
        return Err(Error::new(
            ErrorKind::Status,
            format!(
                "HTTP {} from {url}: cannot list the Pokémon to draw from",
                resp.status
            ),
        )
        .with_status(resp.status)
        .with_url(&url));
    }
    let page: Page = serde_json::from_slice(&resp.body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!("the Pokémon list at {url} is not a PokeAPI list: {e}"),
        )
        .with_url(&url)
    })?;
    let ids: Vec<u32> = page
        .results
        .iter()
        .filter_map(|r| r.url.trim_end_matches('/').rsplit('/').next()?.parse().ok())
        .collect();
    if ids.is_empty() {
        return Err(Error::new(
            ErrorKind::Decode,
            format!("the Pokémon list at {url} lists no Pokémon"),
        ));
    }
    Ok(ids)
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
