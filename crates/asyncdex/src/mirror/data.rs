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
//! Serving a folder must never expose anything outside it. The guarantee here does not
//! rest on cleaning up paths: no byte of a request ever reaches the file system. The
//! resource must be one of the lists found when the folder was opened, and the key must
//! be a number or resolve, through that list, to one; the file path is then built from
//! those two alone. Symbolic links are followed only when they stay inside the folder.

use super::bounded::{kind_of, read_bounded, MAX_FILE};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use asyncdex_pack::Pack;
use bytes::Bytes;
use serde::Deserialize;

use crate::crawl::check_endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{is_listed, AsyncStore, Store, ENCOUNTERS, META};

/// One list: its entries in order, and how to find an id by name.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub(super) entries: Vec<(i64, Option<String>)>,
    by_name: HashMap<String, i64>,
}

impl Listing {
    fn new(entries: Vec<(i64, Option<String>)>) -> Listing {
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

/// A body as stored: links relative. `None`: not there.
pub(super) type Stored = Option<Result<Bytes>>;

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

    /// Serves what `store` holds.
    pub fn store(store: Store) -> Result<Data> {
        let mut lists = BTreeMap::new();
        for endpoint in store.endpoints()?.into_iter().filter(|e| is_listed(e)) {
            let entries = store.entries(&endpoint)?;
            lists.insert(endpoint, entries);
        }
        let name = store
            .path()
            .map_or("(memory)".into(), |p| p.display().to_string());
        Ok(Data::stored(
            lists,
            name,
            Bodies::Store(AsyncStore::new(store)),
        ))
    }

    /// Serves what the PostgreSQL `store` holds, as [`Data::store`] serves a file.
    #[cfg(feature = "postgres")]
    pub async fn postgres(store: crate::pg::PgStore) -> Result<Data> {
        let mut lists = BTreeMap::new();
        for endpoint in store
            .endpoints()
            .await?
            .into_iter()
            .filter(|e| is_listed(e))
        {
            let entries = store.entries(&endpoint).await?;
            lists.insert(endpoint, entries);
        }
        let name = store.describe().to_owned();
        Ok(Data::stored(lists, name, Bodies::Postgres(store)))
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
    pub fn dir(root: &Path) -> Result<Data> {
        let io = |what: &str, p: &Path, e: std::io::Error| {
            Error::new(
                ErrorKind::Io,
                format!("cannot serve {what} {}: {e}", p.display()),
            )
        };
        let root = root.canonicalize().map_err(|e| io("folder", root, e))?;
        let api = root.join("data/api/v2");
        let dir = std::fs::read_dir(&api).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot serve folder {}: {e} (expected PokeAPI's static layout: data/api/v2/<resource>/index.json)",
                    root.display()
                ),
            )
        })?;
        let mut lists = BTreeMap::new();
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // `meta` is the deploy stamp, not a list.
            if name == "meta" || check_endpoint(&name).is_err() {
                continue;
            }
            let index = api.join(&name).join("index.json");
            let Some(index) = inside(&root, &index) else {
                continue;
            };
            let text = read_bounded(&index, MAX_FILE).map_err(|e| io("list", &index, e))?;
            let list: StaticList = serde_json::from_slice(&text).map_err(|e| {
                Error::new(
                    ErrorKind::Decode,
                    format!("cannot serve list {}: {e}", index.display()),
                )
            })?;
            let entries = list
                .results
                .into_iter()
                .filter_map(|e| Some((i64::from(crate::crawl::id_of(&e.url)?), e.name)))
                .collect();
            lists.insert(name, Listing::new(entries));
        }
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

    /// The body of `endpoint`/`id`, links relative.
    pub(super) async fn read(&self, endpoint: &str, id: i64) -> Stored {
        match &self.bodies {
            Bodies::Pack(pack) => {
                let id = i32::try_from(id).ok()?;
                Some(pack.get(endpoint, id)?.map(Bytes::from).map_err(damaged))
            }
            // Its SHA-256 and its JSON checked: a damaged row is an error, not a body.
            Bodies::Store(_) => self.stored_body(endpoint, id).await,
            #[cfg(feature = "postgres")]
            Bodies::Postgres(_) => self.stored_body(endpoint, id).await,
            Bodies::Dir(root) => {
                let path = format!("{endpoint}/{id}");
                checked(&path, self.file(root, &path).await)
            }
        }
    }

    /// The encounters of Pokémon `id`, links relative.
    pub(super) async fn encounters(&self, id: i64) -> Stored {
        match &self.bodies {
            Bodies::Pack(pack) => {
                let id = i32::try_from(id).ok()?;
                Some(pack.encounters(id)?.map(Bytes::from).map_err(damaged))
            }
            Bodies::Store(_) => self.stored_body(ENCOUNTERS, id).await,
            #[cfg(feature = "postgres")]
            Bodies::Postgres(_) => self.stored_body(ENCOUNTERS, id).await,
            Bodies::Dir(root) => {
                let path = format!("pokemon/{id}/encounters");
                checked(&path, self.file(root, &path).await)
            }
        }
    }

    /// PokeAPI's deploy stamp (`{deploy_date, hash, tag}`), if the data has one.
    pub(super) async fn meta(&self) -> Stored {
        match &self.bodies {
            Bodies::Pack(pack) => Some(Ok(Bytes::from_static(pack.meta()))),
            Bodies::Store(_) => self.stored_body(META, 0).await,
            #[cfg(feature = "postgres")]
            Bodies::Postgres(_) => self.stored_body(META, 0).await,
            Bodies::Dir(root) => checked(META, self.file(root, META).await),
        }
    }

    /// The checked body of `endpoint`/`id` from a store (SQLite or PostgreSQL).
    async fn stored_body(&self, endpoint: &str, id: i64) -> Stored {
        let key = id.to_string();
        let row = match &self.bodies {
            Bodies::Store(store) => store.get_verified(endpoint, &key).await,
            #[cfg(feature = "postgres")]
            Bodies::Postgres(store) => store.get_verified(endpoint, &key).await,
            _ => return None,
        };
        row.map(|r| r.map(|r| r.body)).transpose()
    }

    /// `data/api/v2/{path}/index.json` under `root`, if it is there and inside it. `path`
    /// is built from a known endpoint and a number only, never from a request's bytes.
    async fn file(&self, root: &Path, path: &str) -> Result<Option<Bytes>> {
        let (root, path) = (
            root.to_path_buf(),
            root.join(format!("data/api/v2/{path}/index.json")),
        );
        // Resolving links and reading both wait for the disk: one trip off the runtime.
        let read = asyncdex_engine::offload::once("reading a stored file", move || {
            let real = inside(&root, &path)?;
            Some(read_bounded(&real, MAX_FILE).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot read {}: {e}", real.display()),
                )
            }))
        });
        read.await?.transpose().map(|b| b.map(Bytes::from))
    }
}

/// A body read from a folder, served only if it is JSON: a damaged one is an
/// error naming it (a 5xx), never a `200 application/json` of garbage. (The embedded
/// pack is checked byte for byte against its source when it is built and in CI.)
fn checked(path: &str, found: Result<Option<Bytes>>) -> Stored {
    let body = match found {
        Ok(body) => body?,
        Err(e) => return Some(Err(e)),
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        return Some(Err(Error::new(
            ErrorKind::Decode,
            format!("the stored body of {path} is not JSON: {e}"),
        )));
    }
    Some(Ok(body))
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

#[derive(Deserialize)]
struct StaticEntry {
    name: Option<String>,
    url: String,
}

#[derive(Deserialize)]
struct StaticList {
    results: Vec<StaticEntry>,
}

/// `path` with every symbolic link resolved, if it exists and is inside `root` (itself
/// canonical).
fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let real = path.canonicalize().ok()?;
    real.starts_with(root).then_some(real)
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
