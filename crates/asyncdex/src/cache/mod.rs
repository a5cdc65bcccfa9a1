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
//! - a page of a list is kept by its query; anything else that is not
//!   `{api}/{resource}/{id or name}/` passes through (the `entries` module);
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
mod entries;
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

use crate::error::{Error, ErrorKind, Result};
use crate::store::{AsyncStore, Store};

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
}
