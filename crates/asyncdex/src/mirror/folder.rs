//! Serving a folder in PokeAPI's static layout (`data/api/v2/<resource>/<id>/index.json`)
//! within the server's bounds, whatever the folder holds.
//!
//! Serving a folder must never expose anything outside it. The guarantee here does not
//! rest on cleaning up paths: no byte of a request ever reaches the file system. The
//! resource must be one of the lists found when the folder was opened, and the key must
//! be a number or resolve, through that list, to one; the file path is then built from
//! those two alone. Symbolic links are followed only when they stay inside the folder.
//!
//! A folder is input like any other, so what it costs is bounded where it is read:
//!
//! - **One file** is at most [`MAX_FILE`] (the `bounded` module).
//! - **One list** has at most [`MAX_LIST_ENTRIES`] entries, and **the folder** at most
//!   [`MAX_FOLDER_ENTRIES`] in all: a list past them refuses the folder when it is opened,
//!   in one line naming the file, counted while it is parsed (a 62 MB list of 1.3 million
//!   entries is refused before it becomes 400 MB of entries).
//! - **Files read at once**: every file a request reads is charged to the server's answer
//!   budget (the `budget` module) at the size the file system gives, *before* it is read,
//!   and stays charged until the answer made from it is gone. Sixty-four requests for a
//!   60 MB file held 3.8 GB when each was read whole, unaccounted; now those that do not
//!   fit are answered `503` with `Retry-After: 1`, as an answer that does not fit is, and
//!   the server holds about its budget. The read and the JSON check run off the runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::Deserialize;

use super::bounded::{read_bounded, MAX_FILE};
use super::budget::Budget;
use super::data::{Listing, Loaded, Stored};
use crate::crawl::check_endpoint;
use crate::error::{Error, ErrorKind, Result};

pub use crate::crawl::MAX_LIST_ENTRIES;

/// Most entries all the lists of a folder may have together: the most ids one crawl
/// schedules ([`MAX_SCHEDULED`](crate::crawl::MAX_SCHEDULED)), about 150 MB of lists in
/// memory at worst; the whole PokeAPI has 14 112.
pub const MAX_FOLDER_ENTRIES: usize = crate::crawl::MAX_SCHEDULED;

/// Opens the folder at `root`: its canonical path and its lists, by endpoint.
pub(super) fn open(root: &Path) -> Result<(PathBuf, BTreeMap<String, Listing>)> {
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
    let mut total = 0usize;
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // `meta` is the deploy stamp, not a list.
        if name == "meta" || check_endpoint(&name).is_err() {
            continue;
        }
        let index = api.join(&name).join("index.json");
        let index = match inside(&root, &index) {
            Ok(Place::Inside(index)) => index,
            // A list outside the folder is no list of it.
            Ok(Place::Missing | Place::Outside(_)) => continue,
            // There, but not to be looked into (permission denied): not a folder to serve
            // as if that list were not in it.
            Err(e) => return Err(io("list", &index, e)),
        };
        let text = read_bounded(&index, MAX_FILE).map_err(|e| io("list", &index, e))?;
        let refused = |why: String| {
            Error::new(
                ErrorKind::Decode,
                format!("cannot serve list {}: {why}", index.display()),
            )
        };
        let list: StaticList = serde_json::from_slice(&text).map_err(|e| refused(e.to_string()))?;
        total += list.results.len();
        if total > MAX_FOLDER_ENTRIES {
            return Err(refused(format!(
                "the folder's lists have more than {MAX_FOLDER_ENTRIES} entries in all"
            )));
        }
        let entries = list
            .results
            .into_iter()
            .filter_map(|e| Some((i64::from(crate::crawl::id_of(&e.url)?), e.name)))
            .collect();
        lists.insert(name, Listing::new(entries));
    }
    Ok((root, lists))
}

/// `data/api/v2/{path}/index.json` under `root`, if it is there and inside it, charged to
/// `budget` before it is read and checked to be the resource `endpoint`/`id` (the check a
/// store's rows pass: JSON of its shape, its own id). `path` is built from a known
/// endpoint and a number only, never from a request's bytes.
pub(super) async fn read(
    root: &Path,
    (endpoint, id): (&str, i64),
    path: String,
    budget: &Budget,
) -> Stored {
    let endpoint = endpoint.to_owned();
    let (root, budget) = (root.to_path_buf(), budget.clone());
    // Resolving links, reading and checking all wait for the disk or the CPU: one trip
    // off the runtime.
    let read = asyncdex_engine::offload::once("reading a stored file", move || {
        let file = root.join(format!("data/api/v2/{path}/index.json"));
        let failed = |at: &Path, e: std::io::Error| {
            Stored::Failed(Error::new(
                ErrorKind::Io,
                format!("cannot read {}: {e}", at.display()),
            ))
        };
        // A file its list names that cannot be looked at (a folder on the way closed to
        // this user) is an error (a 5xx), not a resource that is not there (a 404).
        let real = match inside(&root, &file) {
            Ok(Place::Inside(real)) => real,
            Ok(Place::Missing) => return Stored::Missing,
            // Listed, but a link out of the folder (hp10 B-F6): the folder is damaged, and
            // the answer an error naming it, not a resource that is not there.
            Ok(Place::Outside(to)) => {
                let why = format!("it is a link out of the folder, to {}", to.display());
                return failed(&file, std::io::Error::other(why));
            }
            Err(e) => return failed(&file, e),
        };
        let failed = |e| failed(&real, e);
        let len = match std::fs::metadata(&real) {
            Ok(meta) => meta.len().min(MAX_FILE) as usize,
            Err(e) => return failed(e),
        };
        let Some(mut charge) = budget.reserve(len) else {
            return Stored::OverBudget;
        };
        let body = match read_bounded(&real, MAX_FILE) {
            Ok(body) => body,
            Err(e) => return failed(e),
        };
        // The file may have changed size since: the charge is what is held.
        charge.resize(body.len());
        if let Err(why) = crate::store::filed(&endpoint, id, None, &body) {
            // A damaged body is an error naming it (a 5xx), never a `200` of garbage.
            return Stored::Failed(Error::new(
                ErrorKind::Decode,
                format!("the stored body of {path} is damaged: {why}"),
            ));
        }
        Stored::Found(Loaded {
            body: Bytes::from(body),
            charge,
        })
    });
    read.await.unwrap_or_else(|e| Stored::Failed(e.into()))
}

#[derive(Deserialize)]
struct StaticEntry {
    name: Option<String>,
    url: String,
}

#[derive(Deserialize)]
struct StaticList {
    #[serde(deserialize_with = "at_most_max_entries")]
    results: Vec<StaticEntry>,
}

/// A list's `results`, refused at the entry past [`MAX_LIST_ENTRIES`]: counted as they
/// are parsed, so an oversized list is never held whole.
fn at_most_max_entries<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<StaticEntry>, D::Error> {
    struct Bounded;
    impl<'de> Visitor<'de> for Bounded {
        type Value = Vec<StaticEntry>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_LIST_ENTRIES} entries")
        }

        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = seq.next_element()? {
                if entries.len() == MAX_LIST_ENTRIES {
                    // serde_json adds where: "... is at line 1 column 4577894".
                    return Err(A::Error::custom(format!(
                        "it lists more than {MAX_LIST_ENTRIES} entries (the most a list may have); the first one too many is"
                    )));
                }
                entries.push(entry);
            }
            Ok(entries)
        }
    }
    d.deserialize_seq(Bounded)
}

/// Where a path of the folder leads, every symbolic link resolved.
enum Place {
    /// Inside the folder (`root`, itself canonical): there.
    Inside(PathBuf),
    /// Not there.
    Missing,
    /// A link that leads out of the folder, to this: never followed.
    Outside(PathBuf),
}

/// Where `path` leads (see [`Place`]). An error only for a path that may be there but
/// cannot be resolved (permission denied, a link loop, an I/O error).
fn inside(root: &Path, path: &Path) -> std::io::Result<Place> {
    let real = match path.canonicalize() {
        Ok(real) => real,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Place::Missing)
        }
        Err(e) => return Err(e),
    };
    Ok(match real.starts_with(root) {
        true => Place::Inside(real),
        false => Place::Outside(real),
    })
}
