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
//! Every file is written atomically (a temporary file, then a rename): a reader, or a
//! server already serving the folder, sees the old file or the new one, never half.
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

use std::path::Path;

use serde_json::json;

use crate::error::{Error, ErrorKind, Result};
use crate::files::write_atomic;
use crate::store::{is_listed, Store, API_PATH, ENCOUNTERS, META};

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Lists written (one per endpoint).
    pub lists: usize,
    /// Resource files written.
    pub resources: usize,
    /// Bytes of resource bodies written.
    pub bytes: u64,
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot create {}: {e}", path.display()),
        )
    })
}

/// Writes everything `store` holds under `dir` in PokeAPI's static layout. Blocking: from
/// async code, run it on an offload pool.
///
/// Every body is checked before it is written ([`Store::for_each_verified`]): a damaged
/// row stops the export with an error naming it, rather than publishing it.
pub fn export(store: &Store, dir: &Path) -> Result<ExportReport> {
    let api = dir.join("data/api/v2");
    create_dir(&api)?;
    let mut report = ExportReport::default();
    let mut root = serde_json::Map::new();
    for endpoint in store.endpoints()? {
        if !is_listed(&endpoint) {
            report.resources += export_unlisted(store, &api, &endpoint, &mut report.bytes)?;
            if endpoint == META {
                root.insert(META.into(), format!("{API_PATH}/{META}/").into());
            }
            continue;
        }
        let folder = api.join(&endpoint);
        create_dir(&folder)?;
        let mut results = Vec::new();
        store.for_each_verified(&endpoint, |row| {
            let path = folder.join(row.id.to_string());
            create_dir(&path)?;
            write_atomic(&path.join("index.json"), &row.body)?;
            report.resources += 1;
            report.bytes += row.body.len() as u64;
            let url = format!("{API_PATH}/{endpoint}/{}/", row.id);
            results.push(match row.name {
                Some(name) => json!({"name": name, "url": url}),
                None => json!({"url": url}),
            });
            Ok(())
        })?;
        let list = json!({
            "count": results.len(),
            "next": null,
            "previous": null,
            "results": results,
        });
        write_atomic(&folder.join("index.json"), list.to_string().as_bytes())?;
        report.lists += 1;
        root.insert(endpoint.clone(), format!("{API_PATH}/{endpoint}/").into());
    }
    write_atomic(
        &api.join("index.json"),
        serde_json::Value::Object(root).to_string().as_bytes(),
    )?;
    Ok(report)
}

/// Writes what has no list: the deploy stamp at `meta/index.json`, each Pokémon's
/// encounters at `pokemon/{id}/encounters/index.json`. Returns how many files.
fn export_unlisted(store: &Store, api: &Path, endpoint: &str, bytes: &mut u64) -> Result<usize> {
    let mut written = 0;
    store.for_each_verified(endpoint, |row| {
        let folder = match endpoint {
            ENCOUNTERS => api.join(format!("pokemon/{}/encounters", row.id)),
            _ => api.join(META),
        };
        create_dir(&folder)?;
        write_atomic(&folder.join("index.json"), &row.body)?;
        *bytes += row.body.len() as u64;
        written += 1;
        Ok(())
    })?;
    Ok(written)
}
