//! The whole of PokeAPI's static data (49 endpoints, 14,112 resources, 1,351 encounter
//! lists, the root index and `meta`: 279 MB of JSON) as one compact, random-access file
//! that the offline mirror embeds with `include_bytes!`.
//!
//! # What a pack is
//!
//! A pack is a single byte string: a fixed header, a few fixed-size tables, a string area
//! and a data area. Every file of the source data (one `PATH<TAB>JSON` line of
//! `api-v2.jsonl.zst`) is one *blob* in the data area: its own zstd frame, compressed
//! with a dictionary trained for its endpoint (or stored as-is for the tiny root index and
//! `meta`). The tables say, per endpoint, which blob holds its list, which blob holds each
//! resource (sorted by id, for binary search), and the list's `(id, name)` entries with a
//! name-sorted permutation so that a name resolves by binary search too.
//!
//! # Why it is shaped that way
//!
//! * **One frame per resource** means serving a resource decompresses exactly that
//!   resource and nothing else: tens of microseconds for an average one, no block cache,
//!   nothing decompressed is kept. Resources of one endpoint share most of their keys and
//!   link prefixes, so a per-endpoint dictionary wins back most of what compressing them
//!   one by one loses against compressing them together (see `FORMAT.md` for the
//!   measurements of the alternatives).
//! * **Binary tables, no JSON at open time**: [`Pack::open`] checks the header and
//!   every table bound, reads the records into small vectors and is done in well under a
//!   millisecond; dictionaries are prepared lazily, the first time one is needed.
//! * **Byte-identical bodies**: a body comes back exactly as the source line had it
//!   (minified, keys in their original order, links relative). [`absolutize`] makes the
//!   links absolute for a given origin while copying, for the HTTP layer.
//! * **Deterministic**: the `build` module (cargo feature `build`) turns the same input into the same
//!   bytes, so CI can rebuild the committed pack and compare.
//!
//! Decompression reuses one zstd decoding context per thread and one prepared
//! dictionary per endpoint per pack, so any number of threads can call [`Pack::get`].
//!
//! # Example
//!
//! ```
//! use asyncdex_pack::{absolutize, Pack};
//!
//! # fn main() -> Result<(), asyncdex_pack::PackError> {
//! let pack: &Pack = Pack::try_embedded()?;
//! let pokemon = pack.list("pokemon").expect("pokemon is an endpoint");
//! let id = pokemon.resolve("Pikachu").expect("pikachu is listed");
//! assert_eq!(id, 25);
//! let body = pack.get("pokemon", id).expect("pokemon/25 exists")?;
//! assert!(body.starts_with(b"{"));
//!
//! let mut out = Vec::new();
//! absolutize(&body, "http://127.0.0.1:8000", &mut out);
//! assert!(memchr::memmem::find(&out, b"\"http://127.0.0.1:8000/api/v2/").is_some());
//! # Ok(())
//! # }
//! ```
//!
//! The data is PokeAPI's, under the BSD-3-Clause licence of the PokéAPI contributors
//! (`LICENSE-PokeAPI-api-data.txt` beside this crate's `data/pokeapi.pack`); whatever
//! ships the pack must carry that notice.

#![warn(missing_docs)]

use std::sync::OnceLock;

mod absolutize;
mod blob;
#[cfg(feature = "build")]
pub mod build;
mod error;
mod format;
mod list;
mod open;

pub use absolutize::absolutize;
pub use blob::Blob;
pub use error::PackError;
pub use list::{Entry, List};

use blob::Dict;
use list::parse_id;

/// The pack committed to the repository (`crates/pack/data/pokeapi.pack`), built by
/// `examples/build-pack.rs` from `api-v2.jsonl.zst`.
pub static EMBEDDED: &[u8] = include_bytes!("../data/pokeapi.pack");

/// Largest decompressed size a blob may claim (guards allocations against a corrupt pack).
pub(crate) const MAX_RAW_LEN: u32 = 64 << 20;

/// An opened pack. Cheap to query from many threads at once (`Pack` is `Sync`).
pub struct Pack {
    data: &'static [u8],
    blob_table: &'static [u8],
    n_blobs: u32,
    dicts: Vec<Dict>,
    lists: Vec<List>,
    /// Indices into `lists`, sorted by endpoint name.
    by_endpoint: Vec<u32>,
    root: &'static [u8],
    meta: &'static [u8],
    root_blob: u32,
    meta_blob: u32,
    len: usize,
}

impl std::fmt::Debug for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pack")
            .field("endpoints", &self.lists.len())
            .field("blobs", &self.n_blobs)
            .field("dicts", &self.dicts.len())
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl Pack {
    /// Opens a pack: checks magic, version and every table bound, and reads the tables.
    /// A corrupt pack is an error, never a panic. Nothing is decompressed.
    pub fn open(bytes: &'static [u8]) -> Result<Pack, PackError> {
        open::open(bytes)
    }

    /// The embedded pack ([`EMBEDDED`]), opened once per process.
    pub fn try_embedded() -> Result<&'static Pack, PackError> {
        static PACK: OnceLock<Result<Pack, PackError>> = OnceLock::new();
        PACK.get_or_init(|| Pack::open(EMBEDDED))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The embedded pack, opened once per process.
    ///
    /// # Panics
    ///
    /// If the embedded pack is corrupt, which the crate's tests rule out; use
    /// [`Pack::try_embedded`] to handle that case.
    pub fn embedded() -> &'static Pack {
        match Pack::try_embedded() {
            Ok(pack) => pack,
            Err(e) => panic!("embedded PokeAPI pack: {e}"),
        }
    }

    /// The root index (`/api/v2/`), as stored: a JSON object mapping each endpoint
    /// (and `meta`) to its relative url.
    pub fn root(&self) -> &'static [u8] {
        self.root
    }

    /// The `meta` file (deploy date and commit of the source data), as stored.
    pub fn meta(&self) -> &'static [u8] {
        self.meta
    }

    /// The endpoints' names (49 for PokeAPI), in the root index's order.
    pub fn endpoints(&self) -> impl ExactSizeIterator<Item = &'static str> + '_ {
        self.lists.iter().map(|l| l.name)
    }

    /// Every endpoint's list, in the root index's order.
    pub fn lists(&self) -> &[List] {
        &self.lists
    }

    /// The list of one endpoint, or `None` if there is no such endpoint.
    pub fn list(&self, endpoint: &str) -> Option<&List> {
        let i = self
            .by_endpoint
            .binary_search_by(|&i| self.lists[i as usize].name.cmp(endpoint))
            .ok()?;
        Some(&self.lists[self.by_endpoint[i] as usize])
    }

    /// The blob of resource `{endpoint}/{id}`, without decoding it.
    pub fn find(&self, endpoint: &str, id: i32) -> Option<Blob<'_>> {
        let index = self.list(endpoint)?.blob_of(id)?;
        Some(Blob { pack: self, index })
    }

    /// The JSON of resource `{endpoint}/{id}`, or `None` if it does not exist.
    pub fn get(&self, endpoint: &str, id: i32) -> Option<Result<Vec<u8>, PackError>> {
        self.find(endpoint, id).map(|b| b.decode())
    }

    /// The blob of the whole list of an endpoint (`{"count":..,"next":null,...}`).
    pub fn find_list(&self, endpoint: &str) -> Option<Blob<'_>> {
        let index = self.list(endpoint)?.list_blob;
        Some(Blob { pack: self, index })
    }

    /// The blob of `pokemon/{id}/encounters`.
    pub fn find_encounters(&self, id: i32) -> Option<Blob<'_>> {
        let index = self.list("pokemon")?.encounters_of(id)?;
        Some(Blob { pack: self, index })
    }

    /// The JSON of `pokemon/{id}/encounters`, or `None` if it does not exist.
    pub fn encounters(&self, id: i32) -> Option<Result<Vec<u8>, PackError>> {
        self.find_encounters(id).map(|b| b.decode())
    }

    /// The blob of a source PATH: `.` (root index), `meta`, `{endpoint}` (its whole
    /// list), `{endpoint}/{id}` or `{endpoint}/{id}/encounters`. Ids must be decimal as in
    /// the source; names are not resolved here (see [`List::resolve`]).
    pub fn find_path(&self, path: &str) -> Option<Blob<'_>> {
        let mut parts = path.split('/');
        let first = parts.next()?;
        let (second, third) = (parts.next(), parts.next());
        if parts.next().is_some() {
            return None;
        }
        let index = match (first, second, third) {
            (".", None, None) => self.root_blob,
            ("meta", None, None) => self.meta_blob,
            (ep, None, None) => self.list(ep)?.list_blob,
            (ep, Some(id), None) => self.list(ep)?.blob_of(parse_id(id)?)?,
            (ep, Some(id), Some("encounters")) => self.list(ep)?.encounters_of(parse_id(id)?)?,
            _ => return None,
        };
        Some(Blob { pack: self, index })
    }

    /// The JSON of a source PATH (see [`Pack::find_path`]), or `None` if it does not exist.
    pub fn get_path(&self, path: &str) -> Option<Result<Vec<u8>, PackError>> {
        self.find_path(path).map(|b| b.decode())
    }

    /// Number of blobs (files of the source data) in the pack.
    pub fn blob_count(&self) -> usize {
        self.n_blobs as usize
    }

    /// Size of the pack in bytes.
    pub fn size(&self) -> usize {
        self.len
    }

    /// Number of zstd dictionaries in the pack.
    pub fn dict_count(&self) -> usize {
        self.dicts.len()
    }
}
