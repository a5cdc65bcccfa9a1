//! An endpoint's list and how a name or an id finds its resource: ids by binary search
//! over `(id, blob)`, names by binary search over a case-insensitively sorted
//! permutation of the list's entries.

/// One entry of an endpoint's list, in the list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The id parsed from the entry's url (`/api/v2/{endpoint}/{id}/`). Can be negative:
    /// `move-ailment` lists `unknown` as id `-1`.
    pub id: i32,
    /// The entry's `name`, or `None` for the endpoints whose lists have only urls
    /// (`characteristic`, `contest-effect`, `evolution-chain`, `machine`,
    /// `super-contest-effect`).
    pub name: Option<&'static str>,
}

/// One endpoint: its list (as in `/api/v2/{endpoint}/`) and its resources.
#[derive(Debug)]
pub struct List {
    pub(crate) name: &'static str,
    pub(crate) count: u32,
    pub(crate) list_blob: u32,
    pub(crate) entries: Vec<Entry>,
    /// Indices into `entries` of the named entries, sorted by ASCII-lowercased name
    /// (stable: equal names keep list order).
    pub(crate) by_name: Vec<u32>,
    /// `(id, blob)` sorted by id, strictly ascending.
    pub(crate) resources: Vec<(i32, u32)>,
    /// `(id, blob)` of `{endpoint}/{id}/encounters`, sorted by id (only `pokemon`).
    pub(crate) encounters: Vec<(i32, u32)>,
}

impl List {
    /// The endpoint's name, e.g. `"pokemon"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The list's `count` field (equal to [`List::len`] in PokeAPI's data).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Number of entries in the list.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in the list's order (which is not always id order: `pokemon-form`).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Ids of every stored resource of the endpoint, ascending. This includes resources
    /// that exist but are not listed (none in the current data).
    pub fn ids(&self) -> impl ExactSizeIterator<Item = i32> + '_ {
        self.resources.iter().map(|&(id, _)| id)
    }

    /// Whether a resource with this id is stored.
    pub fn contains(&self, id: i32) -> bool {
        self.blob_of(id).is_some()
    }

    /// Resolves a path key to an id: a decimal id is returned as-is if such a resource
    /// exists; anything else is looked up as a name, ASCII case-insensitively. When two
    /// entries share a name (`item` lists `roseli-berry` twice) the first in list order
    /// wins.
    pub fn resolve(&self, key: &str) -> Option<i32> {
        if let Some(id) = parse_id(key) {
            return self.contains(id).then_some(id);
        }
        let key = key.as_bytes();
        let name_of = |&i: &u32| {
            self.entries[i as usize]
                .name
                .map(str::as_bytes)
                .unwrap_or_default()
        };
        let pos = self
            .by_name
            .partition_point(|i| cmp_ascii_ci(name_of(i), key).is_lt());
        let &i = self.by_name.get(pos)?;
        name_of(&i)
            .eq_ignore_ascii_case(key)
            .then(|| self.entries[i as usize].id)
    }

    pub(crate) fn blob_of(&self, id: i32) -> Option<u32> {
        let i = self.resources.binary_search_by_key(&id, |r| r.0).ok()?;
        Some(self.resources[i].1)
    }

    pub(crate) fn encounters_of(&self, id: i32) -> Option<u32> {
        let i = self.encounters.binary_search_by_key(&id, |r| r.0).ok()?;
        Some(self.encounters[i].1)
    }
}

/// A decimal id: optional `-`, then 1 to 10 ASCII digits, fitting an `i32`.
pub(crate) fn parse_id(key: &str) -> Option<i32> {
    let digits = key.strip_prefix('-').unwrap_or(key);
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

pub(crate) fn cmp_ascii_ci(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.iter()
        .map(u8::to_ascii_lowercase)
        .cmp(b.iter().map(u8::to_ascii_lowercase))
}
