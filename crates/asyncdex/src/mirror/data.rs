//! What a mirror serves: the whole PokeAPI embedded in the binary (the default), a crawled
//! store, or a folder in PokeAPI's static layout (`data/api/v2/<resource>/<id>/index.json`).
//!
//! All three are read the same way: a list per endpoint (its entries in order, and a way
//! to find an id by name), and a body per `(endpoint, id)` with its links relative
//! (`/api/v2/type/13/`), as PokeAPI's static data keeps them; the routes make them
//! absolute to the mirror's own address, as the live API makes them absolute to its own.
//!
//! The embedded data is [`asyncdex_pack`]: 15,514 files in 12.7 MB, each decoded when asked
//! for (microseconds), none kept decoded, so serving all of it costs no more memory than
//! serving one.
//!
//! Every body a request loads, from any of them, is charged to the server's answer
//! budget (the `budget` module) as it is loaded, and stays charged until the answer made
//! from it is gone: a folder's file before it is read (its size is known), a store's row
//! or a pack entry as soon as it is there (their sizes are not; a store reads one row at a
//! time per connection, the pack's are under 1 MB). A load that does not fit is
//! [`Stored::OverBudget`], answered `503`. A folder's own bounds are in the `folder`
//! module.

use super::bounded::kind_of;
use super::budget::{Budget, Charge};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use asyncdex_pack::Pack;
use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::store::{is_listed, AsyncStore, Store, ENCOUNTERS, META};

/// One list: its entries in order, and how to find an id by name.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub(super) entries: Vec<(i64, Option<String>)>,
    by_name: HashMap<String, i64>,
}

impl Listing {
    pub(super) fn new(entries: Vec<(i64, Option<String>)>) -> Listing {
        let mut by_name = HashMap::with_capacity(entries.len());
        for (id, name) in &entries {
            if let Some(name) = name {
                // A name listed twice (PokeAPI's item list has one) finds the first.
                by_name.entry(name.to_lowercase()).or_insert(*id);
            }
        }
        Listing { entries, by_name }
    }

    /// The id that `key` names: an id as it is (a resource may exist without being
    /// listed, as in PokeAPI's own static data), a name in any case through the list.
    pub(super) fn resolve(&self, key: &str) -> Option<i64> {
        match key.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => self.by_name.get(&key.to_lowercase()).copied(),
        }
    }
}

#[derive(Debug, Clone)]
enum Bodies {
    Pack(&'static Pack),
    Store(AsyncStore),
    #[cfg(feature = "postgres")]
    Postgres(crate::pg::PgStore),
    Dir(PathBuf),
}

/// The data a mirror serves. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Data {
    lists: Arc<BTreeMap<String, Listing>>,
    /// The endpoints in the order the root index names them.
    order: Arc<Vec<String>>,
    bodies: Bodies,
    description: String,
}

/// A body as stored (links relative), and its charge to the server's answer budget: the
/// two are dropped together.
pub(super) struct Loaded {
    pub(super) body: Bytes,
    pub(super) charge: Charge,
}

/// What reading a body found.
pub(super) enum Stored {
    /// Not there (a 404).
    Missing,
    /// The body, charged.
    Found(Loaded),
    /// It cannot be served as it should be (damaged, unreadable): a 5xx naming it.
    Failed(Error),
    /// Loading it would go over the server's answer budget: a 503, nothing loaded.
    OverBudget,
}

impl Stored {
    /// A body loaded by a backend that cannot tell its size before: admitted only while
    /// the budget has room (`charge`, reserved at 0 before loading), charged once it is
    /// there.
    fn charged(found: Option<Result<Bytes>>, mut charge: Charge) -> Stored {
        match found {
            None => Stored::Missing,
            Some(Err(e)) => Stored::Failed(e),
            Some(Ok(body)) => {
                charge.resize(body.len());
                Stored::Found(Loaded { body, charge })
            }
        }
    }
}

impl Data {
    /// The whole PokeAPI, embedded in the binary: 49 endpoints, 14,112 resources, 1,351
    /// encounter lists, the root index and `meta`.
    pub fn embedded() -> Data {
        Data::pack(Pack::embedded())
    }

    /// Serves what `pack` holds.
    pub fn pack(pack: &'static Pack) -> Data {
        let mut lists = BTreeMap::new();
        let mut order = Vec::new();
        for list in pack.lists() {
            let entries = list
                .entries()
                .iter()
                .map(|e| (i64::from(e.id), e.name.map(str::to_owned)))
                .collect();
            lists.insert(list.name().to_owned(), Listing::new(entries));
            order.push(list.name().to_owned());
        }
        let total: usize = lists.values().map(|l: &Listing| l.entries.len()).sum();
        Data {
            description: format!(
                "the whole PokeAPI, embedded ({} endpoints, {total} resources)",
                order.len()
            ),
            lists: Arc::new(lists),
            order: Arc::new(order),
            bodies: Bodies::Pack(pack),
        }
    }

    /// Opens what `serve --from` names: a store file written by `crawl`, or a folder in
    /// PokeAPI's static layout (written by `export`, or PokeAPI's own api-data).
    pub fn open(path: &Path) -> Result<Data> {
        let meta = std::fs::metadata(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot serve {}: {e}", path.display()),
            )
        })?;
        if meta.is_dir() {
            Data::dir(path)
        } else if meta.is_file() {
            Data::store(Store::open_existing(path)?)
        } else {
            Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "cannot serve {}: it is {}, not a store file or a folder",
                    path.display(),
                    kind_of(&meta)
                ),
            ))
        }
    }

    /// Serves what `store` holds, within a folder's bounds: at most
    /// [`MAX_LIST_ENTRIES`](super::MAX_LIST_ENTRIES) resources of one endpoint, at most
    /// [`MAX_FOLDER_ENTRIES`](super::MAX_FOLDER_ENTRIES) in all (a store past them is
    /// refused in one line, having read no more than one entry too many). Each listed
    /// name is checked against its body ([`Store::listed_at_most`]): a store whose names
    /// were changed behind its back is refused, naming the row.
    pub fn store(store: Store) -> Result<Data> {
        let name = store
            .path()
            .map_or("(memory)".into(), |p| p.display().to_string());
        let mut lists = Bounded::new(&name);
        for endpoint in store.endpoints()?.into_iter().filter(|e| is_listed(e)) {
            let entries = store.listed_at_most(&endpoint, Bounded::MOST)?;
            lists.insert(endpoint, entries)?;
        }
        let lists = lists.lists;
        Ok(Data::stored(
            lists,
            name,
            Bodies::Store(AsyncStore::new(store)),
        ))
    }

    /// Serves what the PostgreSQL `store` holds, as [`Data::store`] serves a file, its
    /// listed names checked against the bodies likewise ([`PgStore::listed_at_most`]).
    ///
    /// [`PgStore::listed_at_most`]: crate::pg::PgStore::listed_at_most
    #[cfg(feature = "postgres")]
    pub async fn postgres(store: crate::pg::PgStore) -> Result<Data> {
        let name = store.describe().to_owned();
        let mut lists = Bounded::new(&name);
        for endpoint in store
            .endpoints()
            .await?
            .into_iter()
            .filter(|e| is_listed(e))
        {
            let entries = store.listed_at_most(&endpoint, Bounded::MOST).await?;
            lists.insert(endpoint, entries)?;
        }
        Ok(Data::stored(lists.lists, name, Bodies::Postgres(store)))
    }

    /// A store's lists (`(id, name)` per endpoint) and bodies.
    fn stored(
        entries: BTreeMap<String, Vec<(i32, Option<String>)>>,
        name: String,
        bodies: Bodies,
    ) -> Data {
        let lists: BTreeMap<String, Listing> = entries
            .into_iter()
            .map(|(endpoint, entries)| {
                let entries = entries
                    .into_iter()
                    .map(|(id, name)| (i64::from(id), name))
                    .collect();
                (endpoint, Listing::new(entries))
            })
            .collect();
        let total: usize = lists.values().map(|l: &Listing| l.entries.len()).sum();
        Data {
            order: Arc::new(lists.keys().cloned().collect()),
            lists: Arc::new(lists),
            bodies,
            description: format!("store {name} ({total} resources)"),
        }
    }

    /// Serves a folder in PokeAPI's static layout: every `data/api/v2/<resource>/index.json`
    /// that holds a list is a list, every `data/api/v2/<resource>/<id>/index.json` a
    /// resource, `data/api/v2/pokemon/<id>/encounters/index.json` its encounters and
    /// `data/api/v2/meta/index.json` the deploy stamp.
    /// The folder's bounds are the `folder` module's: a list of at most
    /// [`MAX_LIST_ENTRIES`](super::MAX_LIST_ENTRIES) entries, the folder's lists at most
    /// [`MAX_FOLDER_ENTRIES`](super::MAX_FOLDER_ENTRIES) in all.
    pub fn dir(root: &Path) -> Result<Data> {
        let (root, lists) = super::folder::open(root)?;
        if lists.is_empty() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "cannot serve folder {}: no list found at data/api/v2/<resource>/index.json",
                    root.display()
                ),
            ));
        }
        let total: usize = lists.values().map(|l: &Listing| l.entries.len()).sum();
        Ok(Data {
            order: Arc::new(lists.keys().cloned().collect()),
            lists: Arc::new(lists),
            description: format!("folder {} ({total} resources)", root.display()),
            bodies: Bodies::Dir(root),
        })
    }

    /// One line for people: what is served.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Every list, by endpoint.
    pub(super) fn lists(&self) -> &BTreeMap<String, Listing> {
        &self.lists
    }

    /// The endpoints, in the root index's order.
    pub(super) fn endpoints(&self) -> &[String] {
        &self.order
    }

    /// The root index as the data has it (links relative), if it has one: the embedded
    /// data does; a store or folder's is made from its lists by the routes.
    pub(super) fn root(&self) -> Option<&'static [u8]> {
        match self.bodies {
            Bodies::Pack(pack) => Some(pack.root()),
            _ => None,
        }
    }

    /// The body of `endpoint`/`id`, links relative, charged to `budget`.
    pub(super) async fn read(&self, endpoint: &str, id: i64, budget: &Budget) -> Stored {
        self.load(endpoint, id, format!("{endpoint}/{id}"), budget)
            .await
    }

    /// The encounters of Pokémon `id`, links relative, charged to `budget`.
    pub(super) async fn encounters(&self, id: i64, budget: &Budget) -> Stored {
        self.load(ENCOUNTERS, id, format!("pokemon/{id}/encounters"), budget)
            .await
    }

    /// PokeAPI's deploy stamp (`{deploy_date, hash, tag}`), if the data has one.
    pub(super) async fn meta(&self, budget: &Budget) -> Stored {
        self.load(META, 0, META.to_owned(), budget).await
    }

    /// The body stored as `endpoint`/`id` (in a folder at `path`), charged to `budget`:
    /// every backend's load takes this one path.
    async fn load(&self, endpoint: &str, id: i64, path: String, budget: &Budget) -> Stored {
        if let Bodies::Dir(root) = &self.bodies {
            // Its size is known before it is read: charged first.
            return super::folder::read(root, (endpoint, id), path, budget).await;
        }
        let Some(charge) = budget.reserve(0) else {
            return Stored::OverBudget;
        };
        let found = match &self.bodies {
            Bodies::Pack(pack) => match endpoint {
                META => Some(Ok(Bytes::from_static(pack.meta()))),
                ENCOUNTERS => i32::try_from(id)
                    .ok()
                    .and_then(|id| pack.encounters(id))
                    .map(|b| b.map(Bytes::from).map_err(damaged)),
                _ => i32::try_from(id)
                    .ok()
                    .and_then(|id| pack.get(endpoint, id))
                    .map(|b| b.map(Bytes::from).map_err(damaged)),
            },
            // Its SHA-256 and its JSON checked: a damaged row is an error, not a body.
            Bodies::Store(store) => store
                .get_verified(endpoint, &id.to_string())
                .await
                .map(|r| r.map(|r| r.body))
                .transpose(),
            #[cfg(feature = "postgres")]
            Bodies::Postgres(store) => store
                .get_verified(endpoint, &id.to_string())
                .await
                .map(|r| r.map(|r| r.body))
                .transpose(),
            Bodies::Dir(_) => unreachable!("read above"),
        };
        Stored::charged(found, charge)
    }
}

/// The real bodies of the first `n` Pokémon (~100–500 KB each), as the mirror at
/// `http://127.0.0.1/api/v2` serves them: the honest input for parsing benchmarks and
/// CPU-bound demos.
pub fn pokemon_bodies(n: usize) -> Vec<Bytes> {
    let pack = Pack::embedded();
    let Some(list) = pack.list("pokemon") else {
        return Vec::new();
    };
    list.ids()
        .take(n)
        .filter_map(|id| pack.get("pokemon", id)?.ok())
        .map(|body| crate::store::rebase(&body, "http://127.0.0.1/api/v2"))
        .collect()
}

/// A pack that cannot decode what its index promises.
fn damaged(e: asyncdex_pack::PackError) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("the embedded data is damaged: {e}"),
    )
    .with_source(e)
}

/// A store's lists as they are read, held to a folder's bounds.
struct Bounded<'a> {
    /// The store, named in a refusal.
    name: &'a str,
    lists: BTreeMap<String, Vec<(i32, Option<String>)>>,
    total: usize,
}

impl<'a> Bounded<'a> {
    /// How many entries of one endpoint to read: one more than a list may have, to tell
    /// a list at the bound from one past it.
    const MOST: usize = super::MAX_LIST_ENTRIES + 1;

    fn new(name: &'a str) -> Self {
        Bounded {
            name,
            lists: BTreeMap::new(),
            total: 0,
        }
    }

    /// Adds `endpoint`'s entries (read with [`Bounded::MOST`]), or refuses the store.
    fn insert(&mut self, endpoint: String, entries: Vec<(i32, Option<String>)>) -> Result<()> {
        let refused = |why: String| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("cannot serve store {}: {why}", self.name),
            )
        };
        if entries.len() > super::MAX_LIST_ENTRIES {
            return Err(refused(format!(
                "it holds more than {} resources of {endpoint} (the most a list may have)",
                super::MAX_LIST_ENTRIES
            )));
        }
        self.total += entries.len();
        if self.total > super::MAX_FOLDER_ENTRIES {
            return Err(refused(format!(
                "it holds more than {} resources in all",
                super::MAX_FOLDER_ENTRIES
            )));
        }
        self.lists.insert(endpoint, entries);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_data_lists_every_endpoint_in_the_root_order() {
        let data = Data::embedded();
        assert_eq!(data.endpoints().len(), 49);
        assert_eq!(data.lists().len(), 49);
        let total: usize = data.lists().values().map(|l| l.entries.len()).sum();
        assert_eq!(total, 14_112);
        let pokemon = &data.lists()["pokemon"];
        assert_eq!(pokemon.resolve("PIKACHU"), Some(25));
        assert_eq!(pokemon.resolve("25"), Some(25));
        assert_eq!(pokemon.resolve("no-such-pokemon"), None);
        assert_eq!(data.lists()["move-ailment"].resolve("unknown"), Some(-1));
    }

    #[test]
    fn ids_are_read_from_list_urls_negative_ones_too() {
        use crate::crawl::id_of;
        assert_eq!(id_of("/api/v2/move-ailment/-1/"), Some(-1));
        assert_eq!(id_of("/api/v2/pokemon/25/"), Some(25));
        assert_eq!(id_of("/api/v2/pokemon/x/"), None);
    }
}
