//! A store written out as PokeAPI's static layout, so any static web server or CDN can
//! serve the copy: how asyncdex scales past one machine.
//!
//! ```text
//! DIR/data/api/v2/index.json                  {"pokemon": "/api/v2/pokemon/", ...}
//! DIR/data/api/v2/pokemon/index.json          {"count": 1351, "next": null, "results": [...]}
//! DIR/data/api/v2/pokemon/25/index.json       the body, byte for byte as stored
//! DIR/data/api/v2/pokemon/25/encounters/index.json   its encounters
//! DIR/data/api/v2/meta/index.json             the deploy stamp
//! ```
//!
//! Every folder it creates or enters is a real directory inside the folder it is given:
//! a symbolic link planted on the way (`data/api/v2`, `v2/type`) is refused, not followed.
//! An export is all or nothing (the `staging` module): every file is written into a temporary
//! folder first, and put in place only once every body has been checked and written, so
//! a damaged row halfway leaves no half-export behind (the target is as it was). A new
//! folder appears whole, in one rename; into an existing one, each file is renamed over
//! its old version, so a reader, or a server already serving the folder, sees the old
//! file or the new one, never half. An export replaces only files an export wrote: each
//! leaves a record of its files (the `record` module), a file the record does not name is
//! never replaced (the export is refused, naming it), and the earlier export's files this
//! one does not write again are removed, so the folder holds the last export alone.
//! Bodies are written exactly as stored (links relative), so crawl → export → serve →
//! crawl gives back the same bytes.
//!
//! ```
//! use asyncdex::export::export;
//! use asyncdex::store::{Row, Store};
//!
//! let store = Store::open_in_memory()?;
//! store.put(&[Row::new("type", 13, Some("electric".into()), br#"{"id":13}"#.to_vec())])?;
//! let dir = tempfile::tempdir().unwrap();
//! let report = export(&store, dir.path())?;
//! assert_eq!(report.resources, 1);
//! let body = std::fs::read(dir.path().join("data/api/v2/type/13/index.json")).unwrap();
//! assert_eq!(body, br#"{"id":13}"#);
//! # Ok::<(), asyncdex::Error>(())
//! ```

mod landing;
mod record;
mod staging;
mod stale;

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, ErrorKind, Result};
use crate::store::{is_listed, Store, Stored, API_PATH, ENCOUNTERS, META};

/// What an export reads of a store: its endpoints, and each one's rows, checked. The
/// SQLite [`Store`] is one; the PostgreSQL store (`pg::rows::BlockingPg`) another.
pub trait Exportable {
    /// Every endpoint with stored resources or a list count, sorted.
    fn endpoints(&self) -> Result<Vec<String>>;
    /// Calls `each` with every row of `endpoint` by id, checked; the first damaged row
    /// stops it with an error naming it.
    fn for_each_verified(
        &self,
        endpoint: &str,
        each: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<()>;
}

impl Exportable for Store {
    fn endpoints(&self) -> Result<Vec<String>> {
        Store::endpoints(self)
    }

    fn for_each_verified(
        &self,
        endpoint: &str,
        each: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        Store::for_each_verified(self, endpoint, each)
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Lists written (one per endpoint).
    pub lists: usize,
    /// Resource files written.
    pub resources: usize,
    /// Bytes of resource bodies written.
    pub bytes: u64,
    /// Temporary folders that killed exports to the same target had left (beside it or
    /// inside it), removed before this one began: each provably a dead export's (the
    /// `stale` module).
    pub stale_removed: Vec<PathBuf>,
    /// Files the export before this one into the same folder wrote and this one did not
    /// (a resource or an endpoint the store no longer has), removed once this one landed,
    /// so the folder holds this export alone (the `record` module).
    pub earlier_removed: usize,
}

fn io_error(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot create {}: {why}", path.display()),
    )
}

/// The folder `name` in `parent` (itself a real folder inside `root`), created if missing.
///
/// Every folder an export creates or enters must be a real directory inside the
/// canonical `root`: a symbolic link planted at `data/api/v2` or `v2/type` would send
/// every file written under it somewhere else, so it is refused, never followed.
fn enter(root: &Path, parent: &Path, name: &str) -> Result<PathBuf> {
    let path = parent.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(io_error(
                &path,
                "it is a symbolic link (an export writes only inside the folder it is given)",
            ));
        }
        Ok(meta) if !meta.is_dir() => return Err(io_error(&path, "it is not a directory")),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(&path).map_err(|e| io_error(&path, e))?;
        }
        Err(e) => return Err(io_error(&path, e)),
    }
    let real = path.canonicalize().map_err(|e| io_error(&path, e))?;
    if !real.starts_with(root) {
        return Err(io_error(
            &path,
            format!(
                "it resolves to {}, outside {}",
                real.display(),
                root.display()
            ),
        ));
    }
    Ok(path)
}

/// Writes everything `store` holds under `dir` in PokeAPI's static layout. Blocking: from
/// async code, run it on an offload pool.
///
/// Every body is checked before it is written ([`Store::for_each_verified`]): a damaged
/// row stops the export with an error naming it, rather than publishing it, and nothing
/// is exported at all (`dir` is as it was, or was not created; see the `staging` module).
pub fn export(store: &dyn Exportable, dir: &Path) -> Result<ExportReport> {
    export_until(store, dir, &|| false)
}

/// [`export`], stopped early when `stop` says so: a caller that may be asked to give up
/// halfway (a user's Ctrl-C, a deadline, a shutdown) passes what it watches as `stop`.
///
/// `stop` is asked before each file is written and once more before the export is put
/// in place. Once it answers `true`, nothing more is written, the temporary folder is
/// removed, and the error is of kind [`ErrorKind::Cancelled`], saying that nothing was
/// exported and `dir` is as it was (or was not created). Once the export is being put in
/// place it is no longer asked: a merge stopped halfway would leave a mix of old and new
/// files, the one thing an export never leaves.
///
/// ```
/// use asyncdex::export::export_until;
/// use asyncdex::store::{Row, Store};
/// use asyncdex::ErrorKind;
///
/// let store = Store::open_in_memory()?;
/// store.put(&[Row::new("type", 13, None, br#"{"id":13}"#.to_vec())])?;
/// let site = tempfile::tempdir().unwrap().path().join("site");
/// let err = export_until(&store, &site, &|| true).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Cancelled);
/// assert!(!site.exists());
/// # Ok::<(), asyncdex::Error>(())
/// ```
pub fn export_until(
    store: &dyn Exportable,
    dir: &Path,
    stop: &dyn Fn() -> bool,
) -> Result<ExportReport> {
    let mut staging = staging::Staging::new(dir, stop)?;
    let mut report = write_tree(store, &mut staging)
        .and_then(|report| staging.unstopped().map(|()| report))
        .map_err(|e| staging.nothing_written(e))?;
    report.stale_removed = std::mem::take(&mut staging.stale_removed);
    report.earlier_removed = staging.land()?;
    Ok(report)
}

/// The layout's folder of every resource, under the export's root.
const API: &str = "data/api/v2";

/// Refuses a file of the export that would land anywhere but under [`API`]: every path
/// is `data/api/v2/` and plain names (no `.`, `..` or empty step). The store's endpoint
/// names are checked where they are read (`Store::endpoints`); this holds whatever an
/// [`Exportable`] answers, so no name can carry a file out of the layout, over the
/// files beside it (a user's `index.json`).
fn confined(rel: &str) -> Result<()> {
    let plain = |step: &str| !matches!(step, "" | "." | "..") && !step.contains(['\\', '\0']);
    match rel.strip_prefix(API).and_then(|r| r.strip_prefix('/')) {
        Some(rest) if rest.split('/').all(plain) => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Io,
            format!(
                "cannot write {rel:?}: it is not a file under {API} (a store's endpoint name is not one)"
            ),
        )),
    }
}

/// Writes the whole layout through `staging`, in the order a reader should see it
/// appear: an endpoint's resources, then its list; the root index last.
fn write_tree(store: &dyn Exportable, staging: &mut staging::Staging<'_>) -> Result<ExportReport> {
    let mut report = ExportReport::default();
    let mut index = serde_json::Map::new();
    for endpoint in store.endpoints()? {
        if !is_listed(&endpoint) {
            report.resources += export_unlisted(store, staging, &endpoint, &mut report.bytes)?;
            if endpoint == META {
                index.insert(META.into(), format!("{API_PATH}/{META}/").into());
            }
            continue;
        }
        let mut results = Vec::new();
        store.for_each_verified(&endpoint, &mut |row| {
            staging.put(
                &format!("{API}/{endpoint}/{}/index.json", row.id),
                &row.body,
            )?;
            report.resources += 1;
            report.bytes += row.body.len() as u64;
            let url = format!("{API_PATH}/{endpoint}/{}/", row.id);
            results.push(match row.name {
                Some(name) => json!({"name": name, "url": url}),
                None => json!({"url": url}),
            });
            Ok(())
        })?;
        if results.len() > crate::crawl::MAX_LIST_ENTRIES {
            // A list `serve --from` would refuse: not written (hp10 B-F8).
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the store holds more than {} resources of {endpoint}, more than a list may have",
                    crate::crawl::MAX_LIST_ENTRIES
                ),
            ));
        }
        let list = json!({
            "count": results.len(),
            "next": null,
            "previous": null,
            "results": results,
        });
        staging.put(
            &format!("{API}/{endpoint}/index.json"),
            list.to_string().as_bytes(),
        )?;
        report.lists += 1;
        index.insert(endpoint.clone(), format!("{API_PATH}/{endpoint}/").into());
    }
    let index = serde_json::Value::Object(index).to_string();
    staging.put(&format!("{API}/index.json"), index.as_bytes())?;
    Ok(report)
}

/// Writes what has no list: the deploy stamp at `meta/index.json`, each Pokémon's
/// encounters at `pokemon/{id}/encounters/index.json`. Returns how many files.
fn export_unlisted(
    store: &dyn Exportable,
    staging: &mut staging::Staging<'_>,
    endpoint: &str,
    bytes: &mut u64,
) -> Result<usize> {
    let mut written = 0;
    store.for_each_verified(endpoint, &mut |row| {
        let rel = match endpoint {
            ENCOUNTERS => format!("{API}/pokemon/{}/encounters/index.json", row.id),
            _ => format!("{API}/{META}/index.json"),
        };
        staging.put(&rel, &row.body)?;
        *bytes += row.body.len() as u64;
        written += 1;
        Ok(())
    })?;
    Ok(written)
}
