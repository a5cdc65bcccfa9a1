//! The calls a crawl makes: the API root, each list (page by page), each resource.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{is_endpoint, quoted, ENDPOINT_RULE};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Transport};
use crate::pokeapi::status_error;
use crate::store::{relativize, Row, ENCOUNTERS, META};

/// Largest page asked of a list endpoint (PokeAPI answers all of a list in one page).
const PAGE: usize = 100_000;
/// Pages one list may take, at most: a server whose `next` never ends is stopped here.
pub const MAX_LIST_PAGES: usize = 10_000;
/// Ids one list may name, at most (PokeAPI's largest has under 11 000).
pub const MAX_LIST_IDS: usize = 1_000_000;
/// Endpoints one crawl may cover, at most (PokeAPI has under 100).
pub const MAX_ENDPOINTS: usize = 1_000;

/// A list entry: its `url` ends with the id (unnamed resources have no `name`). A url
/// that is null, missing or not a string is kept as `None`: that entry is counted as
/// unusable, and the rest of the list is still read.
#[derive(Deserialize)]
struct Entry {
    #[serde(default, deserialize_with = "string_or_none")]
    url: Option<String>,
}

/// A string, or `None` for anything else (null, a number, an object).
fn string_or_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

#[derive(Deserialize)]
struct ListPage {
    count: u64,
    next: Option<String>,
    results: Vec<Entry>,
}

/// What a list says: its count and every id in it.
#[derive(Debug, Clone, Default)]
pub(super) struct Listing {
    /// The entries the list named (usable or not): what a crawl of it can expect. A
    /// server's `count` is not taken on trust; see `claimed`.
    pub(super) count: u64,
    pub(super) ids: Vec<i32>,
    /// Entries that cannot be fetched: a url that ends in no usable id (`abc`,
    /// `4294967295`) or is under another endpoint (`ability/7/` in the pokemon list), or
    /// no url at all (counted in `no_url` too).
    pub(super) unusable: u64,
    /// Of `unusable`, the entries whose url was null, missing or not a string.
    pub(super) no_url: u64,
    /// The list's own `count`, when it differs from the entries it named (a list that
    /// claims 10^12 entries and names three).
    pub(super) claimed: Option<u64>,
    /// Why the list was not read to its end (a page that failed, a loop, a cap), when
    /// pages before it named entries: those are crawled, and the crawl is incomplete.
    pub(super) cut: Option<String>,
}

impl Listing {
    /// Entries seen so far, usable or not.
    fn seen(&self) -> u64 {
        self.ids.len() as u64 + self.unusable
    }

    /// The list, read to its end: `count` is what it named; a claim that differs is kept
    /// in `claimed`.
    fn finish(mut self, claimed: u64) -> Listing {
        self.count = self.seen();
        self.claimed = (claimed != self.count).then_some(claimed);
        self
    }

    /// The list as far as it was read before `why` stopped it (at most
    /// [`MAX_LIST_IDS`] of its ids).
    fn cut_short(mut self, why: Error) -> Listing {
        self.ids.truncate(MAX_LIST_IDS);
        self.count = self.seen();
        self.cut = Some(why.to_string());
        self
    }
}

/// The id at the end of a resource URL (`.../pokemon/25/` → 25).
pub(crate) fn id_of(url: &str) -> Option<i32> {
    url.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

async fn get_ok<T: Transport>(transport: &T, url: &str, what: &str) -> Result<bytes::Bytes> {
    let resp = transport.get(url).await?;
    if resp.status == 200 {
        Ok(resp.body)
    } else {
        Err(status_error(&resp, &what, url))
    }
}

fn decode_error(what: impl std::fmt::Display, url: &str, e: serde_json::Error) -> Error {
    // Errors (and the failures a manifest and a store keep) never show a password: a
    // library caller may give a root with credentials, and every URL is built from it.
    let url = &*redact_url(url);
    Error::new(
        ErrorKind::Decode,
        format!("could not decode {what} from {url}: {e}"),
    )
    .with_url(url)
}

pub(super) async fn read_list<T: Transport>(
    transport: &T,
    base: &str,
    endpoint: &str,
) -> Result<Listing> {
    // Not lists of their own: the deploy stamp is one resource, and every Pokémon the
    // list names has its encounters.
    let endpoint = match endpoint {
        META => {
            return Ok(Listing {
                count: 1,
                ids: vec![0],
                ..Listing::default()
            })
        }
        ENCOUNTERS => "pokemon",
        // A name the API's root gave that is no endpoint name (see `root_endpoints`).
        other if !is_endpoint(other) => {
            return Err(Error::new(
                ErrorKind::Decode,
                format!("the API root names {other}, which is not an endpoint name ({ENDPOINT_RULE}): not crawled"),
            ))
        }
        other => other,
    };
    let mut listing = Listing::default();
    match read_pages(transport, base, endpoint, &mut listing).await {
        Ok(claimed) => Ok(listing.finish(claimed)),
        Err(e) if listing.seen() == 0 => Err(e),
        // What the pages read so far named is crawled; the rest is said missing.
        Err(e) => Ok(listing.cut_short(e)),
    }
}

/// Reads `endpoint`'s list page by page into `listing`; its `count` once it ends.
async fn read_pages<T: Transport>(
    transport: &T,
    base: &str,
    endpoint: &str,
    listing: &mut Listing,
) -> Result<u64> {
    let mut url = format!("{base}/{endpoint}/?limit={PAGE}&offset=0");
    let mut seen = std::collections::HashSet::new();
    let refuse = |why: String, url: &str| {
        Error::new(
            ErrorKind::Decode,
            format!("the {endpoint} list cannot be read: {why}"),
        )
        .with_url(redact_url(url))
    };
    for _ in 0..MAX_LIST_PAGES {
        seen.insert(url.clone());
        let what = format!("the {endpoint} list");
        let body = get_ok(transport, &url, &what).await.map_err(|e| {
            if matches!(e.status(), Some(400 | 404)) {
                Error::new(
                    ErrorKind::NotFound,
                    format!("the API has no {endpoint:?} list ({e})"),
                )
                .with_url(redact_url(&url))
            } else {
                e
            }
        })?;
        let page: ListPage =
            serde_json::from_slice(&body).map_err(|e| decode_error(&what, &url, e))?;
        for entry in &page.results {
            // An entry under another endpoint (`ability/7/` in the pokemon list) is no
            // id of this one: fetching `pokemon/7/` for it would store what the list
            // never named.
            let id_in = |url| crate::pokeapi::listed_id(url, endpoint)?.parse().ok();
            match entry.url.as_deref().map(id_in) {
                Some(Some(id)) => listing.ids.push(id),
                Some(None) => listing.unusable += 1,
                None => {
                    listing.unusable += 1;
                    listing.no_url += 1;
                }
            }
        }
        if listing.seen() > MAX_LIST_IDS as u64 {
            return Err(refuse(
                format!("it names more than {MAX_LIST_IDS} entries"),
                &url,
            ));
        }
        let next = match page.next {
            Some(next) if listing.seen() < page.count => next,
            _ => return Ok(page.count),
        };
        if !under(&next, base) {
            return Err(refuse(
                format!("its next page {next} is not under {}/", redact_url(base)),
                &url,
            ));
        }
        if !same_list(&next, base, endpoint) {
            return Err(refuse(
                format!(
                    "its next page {next} is not the {endpoint} list (only {}/{endpoint}/ with another query is)",
                    redact_url(base)
                ),
                &url,
            ));
        }
        if seen.contains(&next) {
            return Err(refuse(
                format!("its next page {next} was already read (a loop)"),
                &url,
            ));
        }
        url = next;
    }
    Err(refuse(format!("it runs past {MAX_LIST_PAGES} pages"), &url))
}

/// Whether `url` is under the API `base` (same scheme, host, port and path prefix):
/// a list's `next` may not send the crawl to another site.
fn under(url: &str, base: &str) -> bool {
    // Text under the root, and no `.` or `..` segment that a server would resolve to a
    // path outside it.
    url.strip_prefix(base).is_some_and(|rest| {
        let path = rest.split(['?', '#']).next().unwrap_or("");
        rest.starts_with('/') && !path.split('/').any(|seg| seg == ".." || seg == ".")
    })
}

/// Whether `url` is the list of `endpoint` under `base`: its path is `{base}/{endpoint}/`
/// and only its query differs (a page of another endpoint's list, or a resource such as
/// `pokemon/1/encounters`, is not a next page of this list).
fn same_list(url: &str, base: &str, endpoint: &str) -> bool {
    url.strip_prefix(base).is_some_and(|rest| {
        let path = rest.split(['?', '#']).next().unwrap_or("");
        path.strip_prefix('/')
            .and_then(|p| p.strip_suffix('/'))
            .is_some_and(|p| p == endpoint)
    })
}

/// Every endpoint the API's root names (`GET {base}/`).
pub(super) async fn root_endpoints<T: Transport>(transport: &T, base: &str) -> Result<Vec<String>> {
    let url = format!("{base}/");
    let body = get_ok(transport, &url, "the API root").await?;
    let root: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&body).map_err(|e| decode_error("the API root", &url, e))?;
    // Every list; after the Pokémon, their encounters; the deploy stamp last. A name that
    // is no endpoint name (`Bad Name`, `../..`, 300 letters) is not dropped: it is kept
    // quoted (`"Bad Name"`, cut to 64 characters; the quotes keep it invalid), so that
    // reading its list fails with the reason and the manifest reports it like any list
    // that could not be read; the rest of the crawl goes on.
    let mut endpoints = Vec::new();
    for key in root.into_keys() {
        if !is_endpoint(&key) {
            endpoints.push(quoted(&key));
            continue;
        }
        if key == META {
            continue;
        }
        let pokemon = key == "pokemon";
        endpoints.push(key);
        if pokemon {
            endpoints.push(ENCOUNTERS.to_owned());
        }
    }
    endpoints.push(META.to_owned());
    if endpoints.len() > MAX_ENDPOINTS {
        let url = redact_url(&url);
        return Err(Error::new(
            ErrorKind::Decode,
            format!(
                "the API root at {url} names {} endpoints, more than the {MAX_ENDPOINTS} a crawl covers",
                endpoints.len()
            ),
        )
        .with_url(url));
    }
    Ok(endpoints)
}

/// Fetches one resource and makes it a row (links relative).
pub(super) async fn fetch_row<T: Transport>(
    transport: &T,
    base: &str,
    endpoint: &str,
    id: i32,
) -> Result<Row> {
    if endpoint == ENCOUNTERS || endpoint == META {
        return fetch_unlisted(transport, base, endpoint, id).await;
    }
    let url = format!("{base}/{endpoint}/{id}/");
    let what = format!("{endpoint} {id}");
    let body = get_ok(transport, &url, &what).await?;
    let row = Row::from_body(endpoint, &body, base).map_err(|e| decode_error(&what, &url, e))?;
    if row.id != id {
        let url = redact_url(&url);
        return Err(Error::new(
            ErrorKind::Decode,
            format!("asked {url} for id {id}, got id {}", row.id),
        )
        .with_url(url));
    }
    Ok(row)
}

/// Fetches what has no list and no `id` of its own: a Pokémon's encounters (a JSON array,
/// kept under the Pokémon's id) or the deploy stamp (id 0).
async fn fetch_unlisted<T: Transport>(
    transport: &T,
    base: &str,
    endpoint: &str,
    id: i32,
) -> Result<Row> {
    let (url, what) = match endpoint {
        META => (format!("{base}/meta/"), "the deploy stamp".to_owned()),
        _ => (
            format!("{base}/pokemon/{id}/encounters"),
            format!("the encounters of pokemon {id}"),
        ),
    };
    let body = get_ok(transport, &url, &what).await?;
    // Of its shape (encounters an array, the stamp an object), as every answer is.
    let shape = match endpoint {
        META => crate::pokeapi::Shape::Object,
        _ => crate::pokeapi::Shape::Array,
    };
    crate::pokeapi::check_resource(&body, shape).map_err(|e| decode_error(&what, &url, e))?;
    Ok(Row::new(endpoint, id, None, relativize(&body, base)))
}

#[cfg(test)]
mod under_tests {
    use super::{decode_error, redact_url, same_list, under};

    #[test]
    fn a_root_with_credentials_is_shown_redacted_in_errors() {
        let url = "http://ash:pikachu@h/api/v2/type/1/";
        let bad = serde_json::from_slice::<serde_json::Value>(b"<").unwrap_err();
        let err = decode_error("type 1", url, bad);
        assert!(!format!("{err} {err:?}").contains("pikachu"), "{err:?}");
        assert_eq!(err.url(), Some(&*redact_url(url)));
    }

    #[test]
    fn a_next_link_stays_under_the_root_as_a_server_would_resolve_it() {
        let base = "http://h/x/api/v2";
        assert!(under("http://h/x/api/v2/pokemon/?offset=20", base));
        assert!(under("http://h/x/api/v2/pokemon/?offset=../20", base));
        for outside in [
            "http://h/x/api/v2/pokemon/../../../y/api/v2/pokemon/",
            "http://h/x/api/v2/./pokemon/",
            "http://h/x/api/v2x/pokemon/",
            "http://other/x/api/v2/pokemon/",
        ] {
            assert!(!under(outside, base), "{outside}");
        }
    }

    #[test]
    fn a_next_link_is_the_same_endpoints_list_with_only_its_query_changed() {
        let base = "http://h/api/v2";
        assert!(same_list(
            "http://h/api/v2/pokemon/?offset=3&limit=3",
            base,
            "pokemon"
        ));
        assert!(same_list("http://h/api/v2/pokemon/", base, "pokemon"));
        for elsewhere in [
            "http://h/api/v2/ability/?offset=3&limit=3",
            "http://h/api/v2/pokemon/1/encounters?offset=3",
            "http://h/api/v2/pokemon/2/?offset=3",
            "http://h/api/v2/pokemon-species/?offset=3",
            "http://h/api/v2/pokemon?offset=3",
            "http://h/api/v2/?offset=3",
            "http://other/api/v2/pokemon/?offset=3",
        ] {
            assert!(!same_list(elsewhere, base, "pokemon"), "{elsewhere}");
        }
    }
}
