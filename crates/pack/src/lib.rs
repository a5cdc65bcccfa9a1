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

use std::cell::RefCell;
use std::io::Cursor;
use std::sync::OnceLock;

use memchr::memmem;
use zstd::zstd_safe::{self, DCtx, DDict};

#[cfg(feature = "build")]
pub mod build;
mod format;

use format::*;

/// The pack committed to the repository (`crates/pack/data/pokeapi.pack`), built by
/// `examples/build-pack.rs` from `api-v2.jsonl.zst`.
pub static EMBEDDED: &[u8] = include_bytes!("../data/pokeapi.pack");

/// Largest decompressed size a blob may claim (guards allocations against a corrupt pack).
const MAX_RAW_LEN: u32 = 64 << 20;

/// Why a pack could not be opened or a blob could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// The bytes are shorter than the header or than the tables the header announces.
    #[error("pack truncated: {need} bytes needed, {have} present")]
    Truncated {
        /// Bytes the header and tables require.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// The bytes do not start with the pack magic.
    #[error("not a pack: bad magic")]
    BadMagic,
    /// The pack was written by an incompatible version of the format.
    #[error("unsupported pack version {0} (this reader knows version {VERSION})")]
    UnsupportedVersion(u32),
    /// A table entry points outside the pack or is inconsistent.
    #[error("corrupt pack: {0}")]
    Corrupt(String),
    /// zstd could not decode a blob.
    #[error("corrupt blob {blob}: {reason}")]
    Decode {
        /// Index of the blob.
        blob: u32,
        /// What zstd (or the length check) said.
        reason: String,
    },
}

fn corrupt(msg: impl Into<String>) -> PackError {
    PackError::Corrupt(msg.into())
}

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
    name: &'static str,
    count: u32,
    list_blob: u32,
    entries: Vec<Entry>,
    /// Indices into `entries` of the named entries, sorted by ASCII-lowercased name
    /// (stable: equal names keep list order).
    by_name: Vec<u32>,
    /// `(id, blob)` sorted by id, strictly ascending.
    resources: Vec<(i32, u32)>,
    /// `(id, blob)` of `{endpoint}/{id}/encounters`, sorted by id (only `pokemon`).
    encounters: Vec<(i32, u32)>,
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

    fn blob_of(&self, id: i32) -> Option<u32> {
        let i = self.resources.binary_search_by_key(&id, |r| r.0).ok()?;
        Some(self.resources[i].1)
    }

    fn encounters_of(&self, id: i32) -> Option<u32> {
        let i = self.encounters.binary_search_by_key(&id, |r| r.0).ok()?;
        Some(self.encounters[i].1)
    }
}

/// A decimal id: optional `-`, then 1 to 10 ASCII digits, fitting an `i32`.
fn parse_id(key: &str) -> Option<i32> {
    let digits = key.strip_prefix('-').unwrap_or(key);
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

fn cmp_ascii_ci(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.iter()
        .map(u8::to_ascii_lowercase)
        .cmp(b.iter().map(u8::to_ascii_lowercase))
}

/// A stored file of the source data, ready to be decoded.
#[derive(Debug, Clone, Copy)]
pub struct Blob<'p> {
    pack: &'p Pack,
    index: u32,
}

impl Blob<'_> {
    /// Its position among the pack's blobs (`0..blob_count()`): a key for a cache of
    /// what is made from it.
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// Size of the decoded JSON in bytes.
    pub fn raw_len(&self) -> usize {
        self.pack.blob_rec(self.index).rawlen as usize
    }

    /// Size of the blob inside the pack in bytes.
    pub fn compressed_len(&self) -> usize {
        self.pack.blob_rec(self.index).clen as usize
    }

    /// Decodes the blob into a new vector holding exactly the source JSON.
    pub fn decode(&self) -> Result<Vec<u8>, PackError> {
        let mut out = Vec::new();
        self.decode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the decoded JSON to `out` (reusing its allocation). On error `out` is left
    /// as it was.
    pub fn decode_into(&self, out: &mut Vec<u8>) -> Result<(), PackError> {
        self.pack.decode_into(self.index, out)
    }
}

#[derive(Debug, Clone, Copy)]
struct BlobRec {
    off: u32,
    clen: u32,
    rawlen: u32,
    dict: u32,
}

struct Dict {
    bytes: &'static [u8],
    prepared: OnceLock<Result<DDict<'static>, PackError>>,
}

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

thread_local! {
    /// One zstd decoding context per thread, reused for every blob of every pack.
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

impl Pack {
    /// Opens a pack: checks magic, version and every table bound, and reads the tables.
    /// A corrupt pack is an error, never a panic. Nothing is decompressed.
    pub fn open(bytes: &'static [u8]) -> Result<Pack, PackError> {
        open(bytes)
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

    fn blob_rec(&self, i: u32) -> BlobRec {
        let o = i as usize * BLOB_REC;
        let t = self.blob_table;
        BlobRec {
            off: u32_at(t, o),
            clen: u32_at(t, o + 4),
            rawlen: u32_at(t, o + 8),
            dict: u32_at(t, o + 12),
        }
    }

    fn ddict(&self, i: u32) -> Result<&DDict<'static>, PackError> {
        let d = &self.dicts[i as usize];
        d.prepared
            .get_or_init(|| {
                DDict::try_create(d.bytes).ok_or_else(|| corrupt(format!("dictionary {i}")))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn decode_into(&self, index: u32, out: &mut Vec<u8>) -> Result<(), PackError> {
        let r = self.blob_rec(index);
        let src = &self.data[r.off as usize..(r.off + r.clen) as usize];
        if r.dict == DICT_STORED {
            out.extend_from_slice(src);
            return Ok(());
        }
        let ddict = if r.dict == DICT_NONE {
            None
        } else {
            Some(self.ddict(r.dict)?)
        };
        let start = out.len();
        out.reserve_exact(r.rawlen as usize);
        // Cap the writable room at exactly `rawlen` bytes past `start`.
        let res = DCTX.with(|cell| {
            let mut dctx = cell.borrow_mut();
            let mut tail = Cursor::new(&mut *out);
            tail.set_position(start as u64);
            let mut room = Limited {
                inner: tail,
                limit: r.rawlen as usize,
            };
            match ddict {
                Some(d) => dctx.decompress_using_ddict(&mut room, src, d),
                None => dctx.decompress(&mut room, src),
            }
        });
        let err = match res {
            Ok(n) if n == r.rawlen as usize && out.len() == start + n => return Ok(()),
            Ok(n) => format!("decoded {n} bytes, index says {}", r.rawlen),
            Err(code) => zstd_safe::get_error_name(code).to_string(),
        };
        out.truncate(start);
        Err(PackError::Decode {
            blob: index,
            reason: err,
        })
    }
}

/// A write buffer that exposes at most `limit` bytes of its inner buffer's room.
struct Limited<W> {
    inner: W,
    limit: usize,
}

// SAFETY: forwards to the inner `WriteBuf`, only ever reporting less capacity.
unsafe impl<W: zstd_safe::WriteBuf> zstd_safe::WriteBuf for Limited<W> {
    fn as_slice(&self) -> &[u8] {
        self.inner.as_slice()
    }
    fn capacity(&self) -> usize {
        self.inner.capacity().min(self.limit)
    }
    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.inner.as_mut_ptr()
    }
    unsafe fn filled_until(&mut self, n: usize) {
        // SAFETY: the caller's contract is the inner buffer's contract.
        unsafe { self.inner.filled_until(n) }
    }
}

/// Reads table `i` of `rec` bytes per record, checking bounds.
fn section(
    bytes: &'static [u8],
    pos: &mut usize,
    count: u32,
    rec: usize,
) -> Result<&'static [u8], PackError> {
    let len = (count as usize)
        .checked_mul(rec)
        .ok_or_else(|| corrupt("table size overflows"))?;
    let end = pos
        .checked_add(len)
        .ok_or_else(|| corrupt("table size overflows"))?;
    let s = bytes.get(*pos..end).ok_or(PackError::Truncated {
        need: end,
        have: bytes.len(),
    })?;
    *pos = end;
    Ok(s)
}

fn range(
    first: u32,
    len: u32,
    total: u32,
    what: &str,
) -> Result<std::ops::Range<usize>, PackError> {
    match first.checked_add(len) {
        Some(end) if end <= total => Ok(first as usize..end as usize),
        _ => Err(corrupt(format!(
            "{what} range {first}+{len} beyond {total}"
        ))),
    }
}

fn open(bytes: &'static [u8]) -> Result<Pack, PackError> {
    if bytes.len() < HEADER_LEN {
        if bytes.len() >= 8 && bytes[..8] != MAGIC {
            return Err(PackError::BadMagic);
        }
        return Err(PackError::Truncated {
            need: HEADER_LEN,
            have: bytes.len(),
        });
    }
    if bytes[..8] != MAGIC {
        return Err(PackError::BadMagic);
    }
    let h = |off| u32_at(bytes, off);
    let version = h(hdr::VERSION);
    if version != VERSION {
        return Err(PackError::UnsupportedVersion(version));
    }
    if h(hdr::FLAGS) != 0 || bytes[56..HEADER_LEN].iter().any(|&b| b != 0) {
        return Err(corrupt("unknown flags"));
    }
    let total = h(hdr::TOTAL_LEN) as usize;
    if total != bytes.len() {
        return Err(if total > bytes.len() {
            PackError::Truncated {
                need: total,
                have: bytes.len(),
            }
        } else {
            corrupt(format!("{} bytes, header says {total}", bytes.len()))
        });
    }
    let (n_dicts, n_endpoints, n_blobs) = (h(hdr::N_DICTS), h(hdr::N_ENDPOINTS), h(hdr::N_BLOBS));
    let (n_entries, n_res) = (h(hdr::N_ENTRIES), h(hdr::N_RES));
    let mut pos = HEADER_LEN;
    let dict_t = section(bytes, &mut pos, n_dicts, DICT_REC)?;
    let blob_t = section(bytes, &mut pos, n_blobs, BLOB_REC)?;
    let ep_t = section(bytes, &mut pos, n_endpoints, ENDPOINT_REC)?;
    let entry_t = section(bytes, &mut pos, n_entries, ENTRY_REC)?;
    let order_t = section(bytes, &mut pos, n_entries, ORDER_REC)?;
    let res_t = section(bytes, &mut pos, n_res, RES_REC)?;
    let strings = section(bytes, &mut pos, h(hdr::STRINGS_LEN), 1)?;
    let data = section(bytes, &mut pos, h(hdr::DATA_LEN), 1)?;
    if pos != bytes.len() {
        return Err(corrupt("trailing bytes after the data area"));
    }
    let data_len = data.len() as u32;

    let mut dicts = Vec::with_capacity(n_dicts as usize);
    for i in 0..n_dicts as usize {
        let (off, len) = (
            u32_at(dict_t, i * DICT_REC),
            u32_at(dict_t, i * DICT_REC + 4),
        );
        let r = range(off, len, data_len, "dictionary")?;
        dicts.push(Dict {
            bytes: &data[r],
            prepared: OnceLock::new(),
        });
    }
    for i in 0..n_blobs as usize {
        let o = i * BLOB_REC;
        let (off, clen, rawlen, dict) = (
            u32_at(blob_t, o),
            u32_at(blob_t, o + 4),
            u32_at(blob_t, o + 8),
            u32_at(blob_t, o + 12),
        );
        range(off, clen, data_len, "blob")?;
        let ok = rawlen <= MAX_RAW_LEN
            && match dict {
                DICT_STORED => clen == rawlen,
                DICT_NONE => true,
                d => d < n_dicts,
            };
        if !ok {
            return Err(corrupt(format!("blob {i} record")));
        }
    }
    let stored = |field: usize, what: &str| -> Result<&'static [u8], PackError> {
        let b = h(field);
        if b >= n_blobs || u32_at(blob_t, b as usize * BLOB_REC + 12) != DICT_STORED {
            return Err(corrupt(format!("{what} blob")));
        }
        let o = b as usize * BLOB_REC;
        let (off, len) = (u32_at(blob_t, o) as usize, u32_at(blob_t, o + 4) as usize);
        Ok(&data[off..off + len])
    };
    let root = stored(hdr::ROOT_BLOB, "root")?;
    let meta = stored(hdr::META_BLOB, "meta")?;

    let name_at = |off: u32, len: u32| -> Result<&'static str, PackError> {
        let r = range(off, len, strings.len() as u32, "name")?;
        std::str::from_utf8(&strings[r]).map_err(|_| corrupt("name is not UTF-8"))
    };
    let blob_ok = |b: u32| -> Result<u32, PackError> {
        if b < n_blobs {
            Ok(b)
        } else {
            Err(corrupt(format!("blob {b} beyond {n_blobs}")))
        }
    };
    let read_res = |first: u32, len: u32| -> Result<Vec<(i32, u32)>, PackError> {
        let r = range(first, len, n_res, "resource")?;
        let mut v = Vec::with_capacity(r.len());
        for i in r {
            let o = i * RES_REC;
            let id = i32_at(res_t, o);
            if v.last().is_some_and(|&(prev, _)| prev >= id) {
                return Err(corrupt("resource ids not ascending"));
            }
            v.push((id, blob_ok(u32_at(res_t, o + 4))?));
        }
        Ok(v)
    };

    let mut lists = Vec::with_capacity(n_endpoints as usize);
    for e in 0..n_endpoints as usize {
        let f = |k: usize| u32_at(ep_t, e * ENDPOINT_REC + 4 * k);
        let name = name_at(f(0), f(1))?;
        let list_blob = blob_ok(f(2))?;
        let count = f(3);
        let er = range(f(4), f(5), n_entries, "entry")?;
        let mut entries = Vec::with_capacity(er.len());
        for i in er.clone() {
            let o = i * ENTRY_REC;
            let id = i32_at(entry_t, o);
            let (noff, nlen) = (u32_at(entry_t, o + 4), u32_at(entry_t, o + 8));
            let name = if noff == NO_NAME {
                None
            } else {
                Some(name_at(noff, nlen)?)
            };
            entries.push(Entry { id, name });
        }
        let named = entries.iter().filter(|e| e.name.is_some()).count();
        let mut by_name = Vec::with_capacity(named);
        for i in er.start..er.start + named {
            let k = u32_at(order_t, i * ORDER_REC);
            let entry = entries
                .get(k as usize)
                .ok_or_else(|| corrupt("name order index out of range"))?;
            let n = entry
                .name
                .ok_or_else(|| corrupt("name order points at a nameless entry"))?;
            if let Some(&prev) = by_name.last() {
                let p: &Entry = &entries[prev as usize];
                if cmp_ascii_ci(p.name.unwrap_or_default().as_bytes(), n.as_bytes()).is_gt() {
                    return Err(corrupt("name order not sorted"));
                }
            }
            by_name.push(k);
        }
        lists.push(List {
            name,
            count,
            list_blob,
            entries,
            by_name,
            resources: read_res(f(6), f(7))?,
            encounters: read_res(f(8), f(9))?,
        });
    }
    let mut by_endpoint: Vec<u32> = (0..n_endpoints).collect();
    by_endpoint.sort_by_key(|&i| lists[i as usize].name);
    if by_endpoint
        .windows(2)
        .any(|w| lists[w[0] as usize].name == lists[w[1] as usize].name)
    {
        return Err(corrupt("duplicate endpoint"));
    }
    Ok(Pack {
        data,
        blob_table: blob_t,
        n_blobs,
        dicts,
        lists,
        by_endpoint,
        root,
        meta,
        root_blob: h(hdr::ROOT_BLOB),
        meta_blob: h(hdr::META_BLOB),
        len: bytes.len(),
    })
}

/// Copies a JSON body into `out`, turning every string value that starts with
/// `/api/v2/` into `{origin}/api/v2/...` (`origin` without a trailing slash, e.g.
/// `http://127.0.0.1:8000`).
///
/// Only a `"/api/v2/` whose quote opens a string is rewritten: the byte before the quote
/// must be `:`, `[` or `,`. In minified JSON an escaped quote inside a string is always
/// preceded by `\`, so text that merely contains `/api/v2/` is left alone.
pub fn absolutize(body: &[u8], origin: &str, out: &mut Vec<u8>) {
    static FINDER: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    let finder = FINDER.get_or_init(|| memmem::Finder::new(b"\"/api/v2/"));
    out.reserve(body.len() + body.len() / 16);
    let mut last = 0;
    for at in finder.find_iter(body) {
        if at > 0 && matches!(body[at - 1], b':' | b'[' | b',') {
            out.extend_from_slice(&body[last..=at]);
            out.extend_from_slice(origin.as_bytes());
            last = at + 1;
        }
    }
    out.extend_from_slice(&body[last..]);
}
