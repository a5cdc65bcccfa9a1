//! A disk cache for the client: PokeAPI's fair-use policy asks every client to cache.
//!
//! The cache is a [`Store`] (the same SQLite file format `crawl` writes), one file per API,
//! and [`Cached`] puts it in front of any transport, blocking or async, without the client
//! above knowing:
//!
//! - an answer is kept as long as its `Cache-Control: max-age` says (PokeAPI: a day);
//!   `no-store`, `no-cache` or no `max-age` at all: not kept;
//! - a 404 is kept for [`NOT_FOUND_TTL`] (or its `max-age`, if shorter), so a typo is
//!   not asked again at once; one that says `no-store` or `no-cache` is not kept;
//! - a resource is one row, found by id or by name: `pokemon/25` and `pokemon/pikachu`
//!   share one entry, whichever was asked first;
//! - lists and anything else that is not `{api}/{resource}/{id or name}/` pass through;
//! - the cache never fails a call, nor a run: a file it cannot use (another program's, a
//!   crawl store, another API root's) or a disk that fails later is warned about once, and
//!   from then on every call goes to the network as if there were no cache;
//! - each API root has a file of its own, named so that no two roots share one, and the
//!   file knows its root ([`name`]); a file that is garbage is set aside once, and a file
//!   removed during a run is noticed (the `open` module);
//! - an entry is checked when it is read, before it is served: its body against its
//!   SHA-256 and as the resource asked for (JSON, an object, not too deep, its own id and
//!   name), its status (200), its freshness by its age from when it was fetched (at most
//!   [`MAX_AGE_CAP`], never fetched in the future) and its size (within the run's body
//!   limit, [`Cache::set_max_body`]). A damaged one is dropped with one warning naming
//!   the file and the entry, fetched again and counted ([`Counts::damaged`]); a stale or
//!   too-large one is fetched again (the `checked` module). Every command that caches
//!   reads through this one lookup;
//! - a file holds at most [`DEFAULT_BUDGET`] bytes, and an answer is fresh for at most
//!   [`MAX_AGE_CAP`] ([`budget`]).
//!
//! Why not an HTTP-cache middleware crate (http-cache-reqwest)? It would serve one backend
//! only, key entries by URL (so 25 and pikachu would be two entries) and need a second
//! storage format beside the store's.
//!
//! ```no_run
//! # async fn demo() -> asyncdex::Result<()> {
//! use asyncdex::cache::{Cache, Cached};
//! use asyncdex::http::{HttpOptions, Native};
//! use asyncdex::pokeapi::Client;
//!
//! let api = "https://pokeapi.co/api/v2";
//! let cache = Cache::open(&Cache::default_dir()?, api)?;
//! let client = Client::new(api, Cached::new(Native::new(&HttpOptions::default())?, Some(cache.clone())));
//! client.pokemon(25).await?; // from the network, then kept
//! client.pokemon("pikachu".parse::<asyncdex::pokeapi::Key>()?).await?; // from the disk
//! assert_eq!(cache.counts().hits, 1);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub mod budget;
mod cached;
mod checked;
mod files;
mod mode;
pub mod name;
mod open;
mod unusable;

pub use cached::Cached;
pub use mode::CacheMode;

pub use budget::{DEFAULT_BUDGET, MAX_AGE_CAP};
pub use files::{clear, clear_dir, is_cache_file, stats, Cleared, FileStats, Folder};
pub use name::identity;

use crate::crawl::check_endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::http::Response;
use crate::store::{now_ms, rebase, AsyncStore, Row, Store};

/// How long a 404 is remembered.
pub const NOT_FOUND_TTL: Duration = Duration::from_secs(300);

/// Hits and misses so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Answered from the disk.
    pub hits: u64,
    /// Sent to the network.
    pub misses: u64,
    /// Found damaged on disk (not the body written, not a 200, not the resource asked
    /// for), dropped and sent to the network: counted among the misses too.
    pub damaged: u64,
}

/// What became of a cache's file, for the line that closes a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The file was used throughout.
    Used,
    /// A damaged file was found at its name and set aside (renamed to this path); a new
    /// file was used.
    Replaced(PathBuf),
    /// The file was not used (it could not be opened, belongs to another API root, or a
    /// read or write failed).
    NotUsed,
    /// The file was removed or replaced during the run: answers after that were not kept.
    Removed,
}

#[derive(Debug)]
struct Inner {
    /// `None`: the file could not be opened; every call goes to the network.
    store: Option<AsyncStore>,
    path: PathBuf,
    /// The device and inode of the file opened.
    file: Option<(u64, u64)>,
    /// Where a damaged file found at `path` was set aside, if one was.
    set_aside: Option<PathBuf>,
    /// Set at the first failure: warned about once, then the cache is out of the way.
    disabled: AtomicBool,
    /// Why, in a few words (set with `disabled`).
    reason: std::sync::OnceLock<String>,
    /// Set when the file was found removed or replaced.
    removed: AtomicBool,
    /// The file's byte budget.
    budget: AtomicU64,
    /// The largest body answered from the file: the run's body limit.
    max_body: AtomicU64,
    base: String,
    hits: AtomicU64,
    misses: AtomicU64,
    damaged: AtomicU64,
}

impl Inner {
    /// The store, unless the cache has given up on it.
    fn store(&self) -> Option<&AsyncStore> {
        self.store
            .as_ref()
            .filter(|_| !self.disabled.load(Ordering::Relaxed))
    }

    /// Gives up on the file after `e`: says so once, for the whole run.
    fn give_up(&self, e: &Error) {
        self.give_up_because(e.to_string());
    }

    /// Gives up on the file for `reason`: says so once, for the whole run.
    fn give_up_because(&self, reason: String) {
        if !self.disabled.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "cache: not using {} for the rest of this run: {reason}",
                self.path.display()
            );
            let _ = self.reason.set(reason);
        }
    }
}

/// A disk cache for one API. Cheap to clone; clones share the file and the counts.
#[derive(Debug, Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

/// What the cache knows of a URL, before asking the network.
enum Lookup {
    /// Not a resource URL: never cached.
    Bypass,
    /// A resource the cache does not have (fresh).
    Miss { endpoint: String, key: String },
    /// The answer, from the disk.
    Hit(Response),
}

impl Cache {
    /// The platform's cache folder for asyncdex (`~/.cache/asyncdex` on Linux).
    ///
    /// # Errors
    ///
    /// The system names no cache folder, or names one under a home folder that does not
    /// exist (`HOME=/nonexistent`, a service user's): a home is never made to hold a
    /// cache.
    pub fn default_dir() -> Result<PathBuf> {
        let dir = dirs::cache_dir()
            .ok_or_else(|| Error::invalid_input("this system has no cache folder: name one"))?;
        if let Some(home) = dirs::home_dir().filter(|home| dir.starts_with(home)) {
            if !home.is_dir() {
                return Err(Error::invalid_input(format!(
                    "the home folder {} does not exist, so neither does its cache folder: name one",
                    home.display()
                )));
            }
        }
        Ok(dir.join("asyncdex"))
    }

    /// The file in `dir` that caches the API named `api` (its root URL, or any stable
    /// name such as `embedded`): a readable part and a hash of the whole root, see
    /// [`name`].
    pub fn file_for(dir: &Path, api: &str) -> PathBuf {
        name::file_for(dir, api)
    }

    /// Opens (or creates) the cache of the API at `base` in `dir`.
    ///
    /// A file that is garbage is set aside and a new one started; one that cannot be used
    /// as this API's cache (another program's database, a crawl store, a symbolic link,
    /// another API root's cache, a file it may not read, a folder that cannot be made) is
    /// warned about once and left as it is: the cache is then disabled
    /// ([`Cache::is_disabled`]) and calls go to the network.
    ///
    /// # Errors
    ///
    /// None today: a cache that cannot be used is a disabled cache, never a failed run.
    pub fn open(dir: &Path, base: &str) -> Result<Cache> {
        Cache::open_named(dir, base, base)
    }

    /// Like [`Cache::open`], with the file named after `name` instead of the URL: the
    /// embedded mirror's port changes every run, its data does not.
    pub fn open_named(dir: &Path, name: &str, base: &str) -> Result<Cache> {
        let path = Cache::file_for(dir, name);
        // A folder that cannot be made is a cache that cannot be written: the run goes on
        // without it, said once, as for a file it may not write.
        let opened = match std::fs::create_dir_all(dir) {
            Ok(()) => open::open(&path, &identity(name)),
            Err(e) => Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} {}: {}",
                    unusable::NO_FOLDER,
                    dir.display(),
                    crate::files::access::io_words(&e)
                ),
            )),
        };
        let inner = Inner {
            store: opened
                .as_ref()
                .ok()
                .map(|o| AsyncStore::new(o.store.clone())),
            file: opened.as_ref().ok().and_then(|o| o.file),
            set_aside: opened.as_ref().ok().and_then(|o| o.set_aside.clone()),
            path,
            disabled: AtomicBool::new(false),
            reason: std::sync::OnceLock::new(),
            removed: AtomicBool::new(false),
            budget: AtomicU64::new(DEFAULT_BUDGET),
            max_body: AtomicU64::new(crate::http::DEFAULT_MAX_BODY),
            base: base.trim_end_matches('/').to_owned(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            damaged: AtomicU64::new(0),
        };
        if let Err(e) = &opened {
            inner.give_up_because(unusable::reason(&inner.path, e));
        }
        Ok(Cache {
            inner: Arc::new(inner),
        })
    }

    /// Whether the cache has given up on its file (it could not be opened, or a read or
    /// write failed): calls then go to the network.
    pub fn is_disabled(&self) -> bool {
        self.inner.store().is_none()
    }

    /// Why the cache gave up on its file ([`Cache::is_disabled`]), in a few words (`it
    /// is a crawl store, not a cache`; `cannot make a file in /c: permission denied`), or
    /// `None` while it is in use.
    pub fn not_used_because(&self) -> Option<&str> {
        self.inner.reason.get().map(String::as_str)
    }

    /// Hits and misses so far. A call sent to the network after the cache set its file
    /// aside ([`Cache::is_disabled`]) is a miss too.
    pub fn counts(&self) -> Counts {
        Counts {
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
            damaged: self.inner.damaged.load(Ordering::Relaxed),
        }
    }

    /// The file it keeps (or would, if it could be opened).
    pub fn path(&self) -> Option<&Path> {
        Some(&self.inner.path)
    }

    /// The store behind the cache, while it is in use: to look at it or to seed it (the
    /// tests). Rows written here bypass the budget.
    pub fn store(&self) -> Option<Store> {
        self.inner.store().map(|s| s.blocking().clone())
    }

    /// Sets the file's byte budget (default [`DEFAULT_BUDGET`]): writes past it evict
    /// (see [`budget`]).
    pub fn set_budget(&self, bytes: u64) {
        self.inner.budget.store(bytes, Ordering::Relaxed);
    }

    /// Sets the largest body answered from the file (default
    /// [`DEFAULT_MAX_BODY`](crate::http::DEFAULT_MAX_BODY)): the run's
    /// [`HttpOptions::max_body`](crate::http::HttpOptions::max_body), so that a body a
    /// run with a larger limit kept is never answered past this run's. A larger entry is
    /// not answered from the disk: the call goes to the network, whose reader enforces
    /// the limit.
    pub fn set_max_body(&self, bytes: u64) {
        self.inner.max_body.store(bytes, Ordering::Relaxed);
    }

    /// What became of the file so far (looked at now: a file removed since the last
    /// write is seen too).
    pub fn standing(&self) -> Standing {
        let inner = &self.inner;
        let gone = inner.file.is_some() && open::file_id(&inner.path) != inner.file;
        if inner.removed.load(Ordering::Relaxed) || (inner.store.is_some() && gone) {
            Standing::Removed
        } else if self.is_disabled() {
            Standing::NotUsed
        } else {
            inner
                .set_aside
                .clone()
                .map_or(Standing::Used, Standing::Replaced)
        }
    }

    /// Whether the path still names the file opened; if not, the cache gives up on it
    /// (said once): nothing is written into a file that was removed.
    fn still_there(&self) -> bool {
        let inner = &self.inner;
        if inner.file.is_none() || open::file_id(&inner.path) == inner.file {
            return true;
        }
        if !inner.removed.swap(true, Ordering::Relaxed) {
            inner.give_up(&Error::new(
                ErrorKind::Io,
                format!(
                    "{} was removed or replaced during the run; answers from now on are not kept",
                    inner.path.display()
                ),
            ));
        }
        false
    }

    /// `(endpoint, key)` of a resource URL of this API, or `None`.
    fn parse(&self, url: &str) -> Option<(String, String)> {
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

    fn lookup(&self, store: &Store, url: &str) -> Lookup {
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
    fn count_set_aside(&self, url: &str) {
        if self.parse(url).is_some() {
            self.inner.misses.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Keeps `resp` if it may be kept, within the budget. Failures are logged, never
    /// returned.
    fn remember(&self, store: &Store, endpoint: &str, key: &str, resp: &Response) {
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
const LIST: &str = "#list";

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
