//! Which server a URL goes to, as a key for a per-server rate limit.
//!
//! A rate limit is a promise to a *server*: PokeAPI's "100 calls per hour" is per host,
//! and a run that talks to two hosts owes each its own budget. The engine's
//! [`RateLimit`](asyncdex_engine::gather::RateLimit) keeps one bucket per key and knows
//! nothing of hosts; this module turns a URL into that key, so the client is the one
//! place that says what "the same server" means: the same scheme, host (any case) and
//! port (the scheme's default when none is written). Credentials and paths do not count.

use std::hash::{DefaultHasher, Hash, Hasher};

/// The rate-limit key of the server `url` goes to (see the module docs). A URL that does
/// not parse is keyed by its whole text: it still gets a budget, of its own.
///
/// ```
/// use asyncdex::http::host_key;
/// let a = host_key("http://127.0.0.1:8000/api/v2/pokemon/1/");
/// assert_eq!(a, host_key("HTTP://user:pw@127.0.0.1:8000/api/v2/move/2/"));
/// assert_ne!(a, host_key("http://127.0.0.1:8001/api/v2/pokemon/1/"));
/// assert_eq!(host_key("https://pokeapi.co/x"), host_key("https://PokeAPI.co:443/y"));
/// ```
pub fn host_key(url: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    match url.parse::<hyper::Uri>() {
        Ok(uri) if uri.host().is_some() => {
            let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
            let port = uri.port_u16().or(match scheme.as_str() {
                "http" => Some(80),
                "https" => Some(443),
                _ => None,
            });
            (scheme, uri.host().map(str::to_ascii_lowercase), port).hash(&mut hasher);
        }
        _ => url.hash(&mut hasher),
    }
    hasher.finish()
}
