//! One entry of the cache: which answers are kept, under what key, for how long, and how
//! one is found again.
//!
//! A URL of the cache's API is an entry when it names one resource
//! (`{api}/{endpoint}/{id or name}/`, kept by the lowercase key) or one page of a list
//! (`{api}/{endpoint}/?limit=20&offset=0`, kept by its query under `{endpoint}#list`);
//! anything else passes by ([`Lookup::Bypass`]). A 200 is kept for its `max-age` (capped
//! at [`MAX_AGE_CAP`](super::MAX_AGE_CAP)); a 404 for [`NOT_FOUND_TTL`](super::NOT_FOUND_TTL)
//! or less, never when it says `no-store`/`no-cache`; an answer over half the budget is
//! not kept; each write is followed by an eviction to the budget. What is read back is
//! checked first (the `checked` module).

use std::sync::atomic::Ordering;

use super::{budget, checked, Cache, MAX_AGE_CAP, NOT_FOUND_TTL};
use crate::crawl::check_endpoint;
use crate::http::Response;
use crate::store::{now_ms, rebase, Row, Store};

/// What the cache knows of a URL, before asking the network.
pub(super) enum Lookup {
    /// Not a resource URL: never cached.
    Bypass,
    /// A resource the cache does not have (fresh).
    Miss { endpoint: String, key: String },
    /// The answer, from the disk.
    Hit(Response),
}

impl Cache {
    /// `(endpoint, key)` of a resource URL of this API, or `None`.
    pub(super) fn parse(&self, url: &str) -> Option<(String, String)> {
        let rest = url
            .strip_prefix(self.inner.base.as_str())?
            .strip_prefix('/')?;
        // A page of a list (`pokemon/?limit=100000&offset=0`): kept under `pokemon#list`,
        // by its query.
        if let Some((endpoint, query)) = rest.split_once("/?") {
            let valid = check_endpoint(endpoint).is_ok()
                && !query.is_empty()
                && query
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'&'));
            return valid.then(|| (format!("{endpoint}{LIST}"), query.to_owned()));
        }
        let mut parts = rest.trim_end_matches('/').split('/');
        let (endpoint, key) = (parts.next()?, parts.next()?);
        let valid_key = !key.is_empty() && !key.contains(['?', '#', '%']);
        (parts.next().is_none() && check_endpoint(endpoint).is_ok() && valid_key)
            .then(|| (endpoint.to_owned(), key.to_ascii_lowercase()))
    }

    pub(super) fn lookup(&self, store: &Store, url: &str) -> Lookup {
        let Some((endpoint, key)) = self.parse(url) else {
            return Lookup::Bypass;
        };
        let now = now_ms();
        let bounds = checked::Bounds {
            now,
            max_body: self.inner.max_body.load(Ordering::Relaxed),
        };
        let hit = match checked::read(store, &endpoint, &key, &bounds) {
            Ok(checked::Read::Fresh(body)) => Some(Response {
                status: 200,
                retry_after: None,
                max_age: None,
                body: rebase(&body, &self.inner.base),
            }),
            Ok(checked::Read::Damaged(why)) => {
                self.inner.damaged.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "cache: dropped the entry {} from {}: {why}; it is fetched again",
                    entry(&endpoint, &key),
                    self.inner.path.display()
                );
                None
            }
            Ok(checked::Read::Absent) => match checked::missing(store, &endpoint, &key, now) {
                Ok(true) => Some(Response {
                    status: 404,
                    retry_after: None,
                    max_age: None,
                    body: bytes::Bytes::from_static(b"Not Found"),
                }),
                Ok(false) => None,
                Err(e) => {
                    self.inner.give_up(&e);
                    None
                }
            },
            Err(e) => {
                self.inner.give_up(&e);
                None
            }
        };
        let counter = if hit.is_some() {
            &self.inner.hits
        } else {
            &self.inner.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        hit.map_or(Lookup::Miss { endpoint, key }, Lookup::Hit)
    }

    /// Counts a call the cache would have looked up but, set aside, sent straight to the
    /// network: a miss all the same, so "from the network" stays true.
    pub(super) fn count_set_aside(&self, url: &str) {
        if self.parse(url).is_some() {
            self.inner.misses.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Keeps `resp` if it may be kept, within the budget. Failures are logged, never
    /// returned.
    pub(super) fn remember(&self, store: &Store, endpoint: &str, key: &str, resp: &Response) {
        let budget = self.inner.budget.load(Ordering::Relaxed);
        if resp.body.len() as u64 > budget / 2 || !self.still_there() {
            return;
        }
        let now = now_ms();
        let result = match resp.status {
            200 => match resp
                .max_age
                .filter(|a| !a.is_zero())
                .map(|a| a.min(MAX_AGE_CAP))
            {
                // A list page is kept by its query; a resource by its id and name; a body
                // without a numeric id is not a resource: not kept.
                Some(age) if endpoint.ends_with(LIST) => {
                    let body = crate::store::relativize(&resp.body, &self.inner.base);
                    let mut row = Row::new(endpoint, 0, Some(key.to_owned()), body);
                    row.expires_at = Some(now + age.as_millis() as i64);
                    store.put(&[row])
                }
                Some(age) => match Row::from_body(endpoint, &resp.body, &self.inner.base) {
                    Ok(mut row) => {
                        row.expires_at = Some(now + age.as_millis() as i64);
                        store.put(&[row])
                    }
                    Err(_) => Ok(()),
                },
                None => Ok(()),
            },
            404 => match resp.max_age {
                // `no-store`, `no-cache`, `max-age=0`: the server forbids keeping it
                // (RFC 9111: a cache MUST NOT store it).
                Some(age) if age.is_zero() => Ok(()),
                // Said nothing: remembered a while; said less than that: as long as it said.
                age => {
                    let ttl = age.map_or(NOT_FOUND_TTL, |a| a.min(NOT_FOUND_TTL));
                    store.put_miss(endpoint, key, now + ttl.as_millis() as i64)
                }
            },
            _ => Ok(()),
        }
        .and_then(|()| {
            store
                .with_conn(|conn| budget::evict(conn, budget, now))
                .map(drop)
        });
        if let Err(e) = result {
            self.inner.give_up(&e);
        }
    }
}

/// How an entry is named to people: `pokemon/pikachu`, a list page `pokemon/?limit=20`.
fn entry(endpoint: &str, key: &str) -> String {
    match endpoint.strip_suffix(LIST) {
        Some(list) => format!("{list}/?{key}"),
        None => format!("{endpoint}/{key}"),
    }
}

/// What marks a kept list page's endpoint (`pokemon#list`): no endpoint has a `#`.
pub(super) const LIST: &str = "#list";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_resource_urls_of_this_api_are_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), "http://h/api/v2").unwrap();
        let parse = |u: &str| cache.parse(u);
        assert_eq!(
            parse("http://h/api/v2/pokemon/Pikachu/"),
            Some(("pokemon".into(), "pikachu".into()))
        );
        assert_eq!(
            parse("http://h/api/v2/pokemon/25"),
            Some(("pokemon".into(), "25".into()))
        );
        // A list page is kept by its query, under its endpoint's list.
        assert_eq!(
            parse("http://h/api/v2/pokemon/?limit=20&offset=0"),
            Some(("pokemon#list".into(), "limit=20&offset=0".into()))
        );
        for bypass in [
            "http://h/api/v2/pokemon/?limit=20&offset=0#x",
            "http://h/api/v2/pokemon/?",
            "http://h/api/v2/",
            "http://other/api/v2/pokemon/25/",
            "http://h/api/v2/pokemon/25/extra/",
            "http://h/api/v2/Pokemon/25/",
        ] {
            assert_eq!(parse(bypass), None, "{bypass}");
        }
    }
}
