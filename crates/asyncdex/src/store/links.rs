//! Links in stored bodies are relative (`"/api/v2/pokemon/25/"`), as in PokeAPI's own static
//! data: a copy of an API must not remember the address it was fetched from, and whoever
//! serves it puts its own address back.

use bytes::Bytes;
use memchr::memmem;

/// The path every stored link starts with, as in PokeAPI's static data.
pub const API_PATH: &str = "/api/v2";

/// The store's name for the encounters of each Pokémon (`/api/v2/pokemon/{id}/encounters`):
/// an endpoint of its own, keyed by the Pokémon's id, with no list of its own (its ids are
/// the Pokémon list's).
pub const ENCOUNTERS: &str = "pokemon-encounters";

/// The store's name for PokeAPI's deploy stamp (`/api/v2/meta`): one row, id 0.
pub const META: &str = "meta";

/// True for an endpoint the API lists (not [`ENCOUNTERS`] or [`META`]).
pub fn is_listed(endpoint: &str) -> bool {
    endpoint != ENCOUNTERS && endpoint != META
}

/// Makes every link to `base` in a JSON body relative: `"http://host/api/v2/x/1/"` becomes
/// `"/api/v2/x/1/"` (whatever the base's own path, stored links start with [`API_PATH`]). Only JSON strings that start with the base are touched.
///
/// ```
/// use asyncdex::store::{rebase, relativize};
/// let body = br#"{"url":"http://127.0.0.1:9/api/v2/type/13/"}"#;
/// let rel = relativize(body, "http://127.0.0.1:9/api/v2");
/// assert_eq!(&rel[..], br#"{"url":"/api/v2/type/13/"}"#);
/// let abs = rebase(&rel, "https://pokeapi.co/api/v2");
/// assert_eq!(&abs[..], br#"{"url":"https://pokeapi.co/api/v2/type/13/"}"#);
/// ```
pub fn relativize(body: &[u8], base: &str) -> Bytes {
    let base = base.trim_end_matches('/');
    let from = format!("\"{base}/");
    let to = format!("\"{API_PATH}/");
    replace(body, from.as_bytes(), to.as_bytes())
}

/// Points every relative link of a stored body at `base`: the inverse of [`relativize`].
pub fn rebase(body: &[u8], base: &str) -> Bytes {
    let base = base.trim_end_matches('/');
    let from = format!("\"{API_PATH}/");
    let to = format!("\"{base}/");
    replace(body, from.as_bytes(), to.as_bytes())
}

/// The length of `body` once [`rebase`]d to `base`, without making it: each relative
/// link grows by what the base adds to [`API_PATH`] (never counted as shrinking, so the
/// figure is never short). The mirror charges an answer's memory with it before the answer
/// is made.
pub fn rebased_len(body: &[u8], base: &str) -> usize {
    let from = format!("\"{API_PATH}/");
    let links = memmem::find_iter(body, from.as_bytes()).count();
    let grows = base
        .trim_end_matches('/')
        .len()
        .saturating_sub(API_PATH.len());
    body.len() + links * grows
}

fn replace(body: &[u8], from: &[u8], to: &[u8]) -> Bytes {
    if from == to {
        return Bytes::copy_from_slice(body);
    }
    let finder = memmem::Finder::new(from);
    let mut out = Vec::with_capacity(body.len() + body.len() / 8);
    let mut last = 0;
    for at in finder.find_iter(body) {
        out.extend_from_slice(&body[last..at]);
        out.extend_from_slice(to);
        last = at + from.len();
    }
    out.extend_from_slice(&body[last..]);
    Bytes::from(out)
}

/// Every `(endpoint, id)` a relative body links to, e.g. `("pokemon-species", 25)` for
/// `"/api/v2/pokemon-species/25/"`. Links without a numeric id are skipped.
pub fn linked_ids(body: &[u8]) -> Vec<(&str, i32)> {
    let prefix = format!("\"{API_PATH}/");
    let mut found = Vec::new();
    for at in memmem::find_iter(body, prefix.as_bytes()) {
        let rest = &body[at + prefix.len()..];
        let end = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
        let Ok(link) = std::str::from_utf8(&rest[..end]) else {
            continue;
        };
        let mut parts = link.trim_end_matches('/').split('/');
        if let (Some(endpoint), Some(id), None) = (parts.next(), parts.next(), parts.next()) {
            if let Ok(id) = id.parse::<i32>() {
                found.push((endpoint, id));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_to_the_base_change() {
        let body = br#"{"a":"http://h:1/api/v2/x/1/","b":"http://other/api/v2/x/1/","c":"see http://h:1/api/v2/"}"#;
        let rel = relativize(body, "http://h:1/api/v2/");
        assert_eq!(
            &rel[..],
            br#"{"a":"/api/v2/x/1/","b":"http://other/api/v2/x/1/","c":"see http://h:1/api/v2/"}"#
        );
        assert_eq!(&rebase(&rel, "http://h:1/api/v2")[..], &body[..]);
        for base in [
            "http://h:1/api/v2",
            "http://127.0.0.1:18093/api/v2/",
            "/api/v2",
        ] {
            assert_eq!(rebased_len(&rel, base), rebase(&rel, base).len(), "{base}");
        }
    }

    #[test]
    fn links_are_found_with_their_ids() {
        let body = br#"{"s":{"url":"/api/v2/pokemon-species/25/"},"t":[{"url":"/api/v2/type/13/"}],"m":"/api/v2/move/x/","e":"/api/v2/evolution-chain/10/extra/"}"#;
        assert_eq!(
            linked_ids(body),
            vec![("pokemon-species", 25), ("type", 13)]
        );
    }
}
