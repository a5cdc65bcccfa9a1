//! What a mirror serves: the embedded Pokédex, a crawled store, or a folder in PokeAPI's
//! static layout (`data/api/v2/<resource>/<id>/index.json`).
//!
//! Serving a folder must never expose anything outside it. The guarantee here does not
//! rest on cleaning up paths: no byte of a request ever reaches the file system. The
//! resource must be one of the lists found when the folder was opened, and the key must
//! be a number or resolve, through that list, to one; the file path is then built from
//! those two alone. Symbolic links are followed only when they stay inside the folder.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;

use crate::crawl::check_endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::pokeapi::Resource;
use crate::pokedex::Pokedex;
use crate::store::{rebase, AsyncStore, Store};

/// One list: its entries in order, and how to find an id by name.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub(super) entries: Vec<(u32, Option<String>)>,
    by_name: HashMap<String, u32>,
}

impl Listing {
    fn new(entries: Vec<(u32, Option<String>)>) -> Listing {
        let by_name = entries
            .iter()
            .filter_map(|(id, name)| Some((name.clone()?, *id)))
            .collect();
        Listing { entries, by_name }
    }

    /// The id that `key` names: an id as it is (a resource may exist without being
    /// listed, as in PokeAPI's own static data), a name in any case through the list.
    pub(super) fn resolve(&self, key: &str) -> Option<u32> {
        match key.parse::<u32>() {
            Ok(id) => Some(id),
            Err(_) => self.by_name.get(&key.to_lowercase()).copied(),
        }
    }
}

#[derive(Debug, Clone)]
enum Bodies {
    Embedded,
    Store(AsyncStore),
    Dir(PathBuf),
}

/// The data a mirror serves. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Data {
    lists: Arc<BTreeMap<String, Listing>>,
    bodies: Bodies,
    description: String,
}

impl Data {
    /// The embedded Pokédex: Pokémon, species and types.
    pub fn embedded() -> Data {
        let dex = Pokedex::get();
        let named = |rows: Vec<(u32, &str)>| {
            Listing::new(
                rows.into_iter()
                    .map(|(id, n)| (id, Some(n.to_owned())))
                    .collect(),
            )
        };
        let lists = Resource::ALL
            .iter()
            .map(|&r| {
                let rows: Vec<(u32, &str)> = match r {
                    Resource::Pokemon => dex.pokemon.iter().map(|p| (p.id, &*p.name)).collect(),
                    Resource::Species => dex.species.iter().map(|s| (s.id, &*s.name)).collect(),
                    Resource::Type => dex.types.iter().map(|t| (t.id, &*t.name)).collect(),
                };
                (r.as_str().to_owned(), named(rows))
            })
            .collect();
        Data {
            lists: Arc::new(lists),
            bodies: Bodies::Embedded,
            description: "the embedded Pokédex".into(),
        }
    }

    /// Opens what `serve --from` names: a store file written by `crawl`, or a folder in
    /// PokeAPI's static layout (written by `export`).
    pub fn open(path: &Path) -> Result<Data> {
        let meta = std::fs::metadata(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot serve {}: {e}", path.display()),
            )
        })?;
        if meta.is_dir() {
            Data::dir(path)
        } else {
            Data::store(Store::open_existing(path)?)
        }
    }

    /// Serves what `store` holds.
    pub fn store(store: Store) -> Result<Data> {
        let mut lists = BTreeMap::new();
        for endpoint in store.endpoints()? {
            let entries = store.entries(&endpoint)?;
            lists.insert(endpoint, Listing::new(entries));
        }
        let total: usize = lists.values().map(|l: &Listing| l.entries.len()).sum();
        let description = format!(
            "store {} ({total} resources)",
            store
                .path()
                .map_or("(memory)".into(), |p| p.display().to_string())
        );
        Ok(Data {
            lists: Arc::new(lists),
            bodies: Bodies::Store(AsyncStore::new(store)),
            description,
        })
    }

    /// Serves a folder in PokeAPI's static layout: every `data/api/v2/<resource>/index.json`
    /// is a list, every `data/api/v2/<resource>/<id>/index.json` a resource.
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
            if check_endpoint(&name).is_err() {
                continue;
            }
            let index = api.join(&name).join("index.json");
            let Some(index) = inside(&root, &index) else {
                continue;
            };
            let text = std::fs::read(&index).map_err(|e| io("list", &index, e))?;
            let list: StaticList = serde_json::from_slice(&text).map_err(|e| {
                Error::new(
                    ErrorKind::Decode,
                    format!("cannot serve list {}: {e}", index.display()),
                )
            })?;
            let entries = list
                .results
                .into_iter()
                .filter_map(|e| Some((crate::crawl::id_of(&e.url)?, e.name)))
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
            lists: Arc::new(lists),
            description: format!("folder {} ({total} resources)", root.display()),
            bodies: Bodies::Dir(root),
        })
    }

    /// One line for people: what is served.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Whether this is the embedded Pokédex (rendered, not read).
    pub(super) fn is_embedded(&self) -> bool {
        matches!(self.bodies, Bodies::Embedded)
    }

    /// Every list, by endpoint.
    pub(super) fn lists(&self) -> &BTreeMap<String, Listing> {
        &self.lists
    }

    /// The stored body of `endpoint`/`id`, links pointed at `base`. `None`: not there.
    pub(super) async fn read(&self, endpoint: &str, id: u32, base: &str) -> Option<Bytes> {
        let body = match &self.bodies {
            Bodies::Embedded => return None,
            Bodies::Store(store) => store.get(endpoint, &id.to_string()).await.ok()??.body,
            Bodies::Dir(root) => {
                let path = root.join(format!("data/api/v2/{endpoint}/{id}/index.json"));
                // Resolving links and reading both wait for the disk: one trip off the runtime.
                let root = root.clone();
                asyncdex_engine::offload::once("reading a stored file", move || {
                    std::fs::read(inside(&root, &path)?).ok()
                })
                .await
                .ok()??
                .into()
            }
        };
        Some(rebase(&body, base))
    }
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
