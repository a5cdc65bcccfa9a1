//! A list page, as PokeAPI pages its lists: `limit` entries (20 by default, at most
//! [`MAX_PAGE_LIMIT`]) from `offset`, with `count` and relative `next` and `previous`
//! links (the routes make them absolute).
//!
//! A page is reckoned before it is made: [`Page::estimate`] is what the routes charge to
//! the answer budget before [`Page::render`] allocates it, as a body is charged before it
//! is loaded.

use serde::Deserialize;

use super::data::Listing;
use crate::store::API_PATH as API;

pub(super) const DEFAULT_LIMIT: usize = 20;

/// Most entries one list page holds: a larger `limit` is taken as this one (as Django
/// REST framework's `max_limit` does), and the page's `next` link says so. PokeAPI's
/// largest list (`machine`) has 2 372 entries; a page of this many renders in tens of
/// milliseconds, so no page holds up a server for seconds.
pub const MAX_PAGE_LIMIT: usize = 100_000;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<String>,
    offset: Option<String>,
}

/// One entry of a list page (PokeAPI's unnamed resources have only a `url`).
#[derive(serde::Serialize)]
struct Item<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    url: String,
}

/// A list page, fields in PokeAPI's order.
#[derive(serde::Serialize)]
struct ListPage<'a> {
    count: usize,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<Item<'a>>,
}

/// Which page of a list a request asks for: `limit` entries (at most
/// [`MAX_PAGE_LIMIT`]) from `offset`.
pub(super) struct Page {
    limit: usize,
    offset: usize,
}

impl Page {
    pub(super) fn asked(query: &ListQuery) -> Page {
        let parse = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<usize>().ok());
        let limit = parse(&query.limit)
            .filter(|&l| l > 0)
            .unwrap_or(DEFAULT_LIMIT)
            .min(MAX_PAGE_LIMIT);
        let offset = parse(&query.offset).unwrap_or(0);
        Page { limit, offset }
    }

    /// The page everyone asks for first: the only one kept compressed.
    pub(super) fn is_default(&self) -> bool {
        self.offset == 0 && self.limit == DEFAULT_LIMIT
    }

    /// The key its compressed copy is kept under.
    pub(super) fn key(&self, resource: &str) -> String {
        format!("{resource}?offset={}&limit={}", self.offset, self.limit)
    }

    fn entries<'a>(&self, listing: &'a Listing) -> &'a [(i64, Option<String>)] {
        let entries = &listing.entries[self.offset.min(listing.entries.len())..];
        &entries[..self.limit.min(entries.len())]
    }

    /// About the bytes [`Page::render`] makes, reckoned before they are made.
    pub(super) fn estimate(&self, resource: &str, listing: &Listing) -> usize {
        let link = API.len() + resource.len() + 48;
        let item =
            |(_, name): &(i64, Option<String>)| link + name.as_ref().map_or(0, |n| n.len() + 12);
        96 + 2 * link + self.entries(listing).iter().map(item).sum::<usize>()
    }

    /// The page of `resource`'s list, links relative.
    pub(super) fn render(&self, resource: &str, listing: &Listing) -> Vec<u8> {
        let (limit, offset) = (self.limit, self.offset);
        let count = listing.entries.len();
        let page_url = |o: usize| format!("{API}/{resource}/?offset={o}&limit={limit}");
        let page = ListPage {
            count,
            next: (offset.saturating_add(limit) < count).then(|| page_url(offset + limit)),
            previous: (offset > 0).then(|| page_url(offset.saturating_sub(limit))),
            results: self
                .entries(listing)
                .iter()
                .map(|(id, name)| Item {
                    name: name.as_deref(),
                    url: format!("{API}/{resource}/{id}/"),
                })
                .collect(),
        };
        serde_json::to_vec(&page).expect("page serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_past_the_cap_is_the_cap_and_the_page_estimate_covers_the_page() {
        let asked = |limit: &str, offset: &str| {
            Page::asked(&ListQuery {
                limit: Some(limit.into()),
                offset: Some(offset.into()),
            })
        };
        assert_eq!(asked("5000000", "0").limit, MAX_PAGE_LIMIT);
        assert_eq!(asked("0", "x").limit, DEFAULT_LIMIT);
        let listing = Listing::new((1..=50).map(|i| (i, Some(format!("n{i}")))).collect());
        for page in [asked("20", "0"), asked("7", "45"), asked("9", "99")] {
            let body = page.render("berry", &listing);
            assert!(page.estimate("berry", &listing) >= body.len());
        }
        assert!(asked("20", "0").is_default() && !asked("21", "0").is_default());
    }
}
