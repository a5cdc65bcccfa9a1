//! `Accept-Encoding: gzip` answered compressed, as PokeAPI's CDN answers it.
//!
//! A body is compressed the first time a client asks for it compressed, and the result is
//! kept, so every later request for it costs a lookup, a hash of the body and a copy of a
//! few kilobytes, never a compression: a static server that compresses on the fly
//! (nginx's `gzip on`) pays for every request. What is kept has a budget ([`BUDGET`]);
//! past it, bodies are still compressed, just not kept. The whole PokeAPI, compressed, is
//! about a tenth of its 279 MB.
//!
//! # A kept copy is kept for the bytes it was made from
//!
//! A kept derivative must not outlive its source. A store being written while it is
//! served (`crawl` into the file a mirror serves) can change a row under the server: if
//! the compressed copy were kept by URL alone, gzip clients would get the old body for
//! good while plain clients got the new one, two answers for one URL. So each kept copy
//! carries the identity of the exact bytes it compresses (their length and a keyed
//! SipHash), and a request whose body has another identity compresses it again and
//! replaces the copy. The compressed answer and the plain one are then made from the same
//! bytes by construction, whatever the source: the embedded pack, a store (whose rows'
//! SHA-256 is checked when they are read, but not handed on), a folder whose files can be
//! rewritten, list pages rendered at open.
//!
//! Why a hash of the body rather than a version from the source: one rule covers every
//! source, and it costs little. SipHash runs at about 3.7 GB/s here, gzip at 0.44 GB/s,
//! so a hit still saves nine tenths of the work; the key is drawn at random for each
//! server, so no one who does not know it can make two bodies collide.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

use axum::http::{header, HeaderMap};
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Most bytes of compressed bodies kept.
pub const BUDGET: usize = 96 * 1024 * 1024;

/// True if the request's `Accept-Encoding` takes gzip (`gzip`, `gzip;q=0.5`, `*`; not
/// `gzip;q=0`).
pub(super) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Whether a compressed body is shared with the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kept {
    /// Kept: every answer of it shares one copy.
    Yes,
    /// Not kept (the cache is full): this copy is the answer's own.
    No,
}

/// What a kept copy was made from: the length of the bytes and their hash under the
/// cache's key. Two bodies with the same identity are taken to be the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    len: usize,
    hash: u64,
}

/// A compressed body and the identity of the bytes it was made from.
#[derive(Debug)]
struct Packed {
    of: Identity,
    packed: Bytes,
}

/// Compressed bodies by key, each for the bytes it was made from, kept within [`BUDGET`].
#[derive(Debug, Default)]
pub(super) struct GzipCache {
    kept: RwLock<HashMap<Box<str>, Packed>>,
    used: AtomicUsize,
    /// The hash key, drawn at random for each cache.
    hasher: RandomState,
}

impl GzipCache {
    /// `body` compressed: kept from an earlier request for `key` if that one was for these
    /// same bytes, or compressed now (and kept in place of any copy of other bytes, if
    /// the budget allows). `Kept::No` when it was not kept: then this answer's copy is its
    /// own, and costs memory while it is in flight.
    pub(super) fn get(&self, key: &str, body: &[u8]) -> (Bytes, Kept) {
        let of = self.identity(body);
        if let Some(hit) = self.read().get(key).filter(|c| c.of == of) {
            return (hit.packed.clone(), Kept::Yes);
        }
        let packed = Bytes::from(compress(body));
        let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
        if let Some(copy) = kept.get(key).filter(|c| c.of == of) {
            // Another request for the same bytes kept its copy first.
            return (copy.packed.clone(), Kept::Yes);
        }
        // A copy of other bytes no longer answers this key, whether or not ours fits. (A
        // request still holding the older body may put its copy back; the next one for the
        // newer body replaces it again. Each answer agrees with the body it was made from.)
        if let Some(stale) = kept.remove(key) {
            self.used.fetch_sub(stale.packed.len(), Ordering::Relaxed);
        }
        if self.used.load(Ordering::Relaxed) + packed.len() <= BUDGET {
            self.used.fetch_add(packed.len(), Ordering::Relaxed);
            let copy = Packed {
                of,
                packed: packed.clone(),
            };
            kept.insert(key.into(), copy);
            return (packed, Kept::Yes);
        }
        (packed, Kept::No)
    }

    /// The identity of `body` under this cache's key.
    fn identity(&self, body: &[u8]) -> Identity {
        Identity {
            len: body.len(),
            hash: self.hasher.hash_one(body),
        }
    }

    /// Bytes of compressed bodies kept.
    pub(super) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Box<str>, Packed>> {
        self.kept.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// `body` compressed, kept by no one: for answers the cache should not hold.
pub(super) fn compress(body: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::with_capacity(body.len() / 8), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(body);
    gz.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, value.parse().unwrap());
        h
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(accepts_gzip(&headers("gzip")));
        assert!(accepts_gzip(&headers("br, gzip;q=0.8")));
        assert!(accepts_gzip(&headers("*")));
        assert!(!accepts_gzip(&headers("gzip;q=0")));
        assert!(!accepts_gzip(&headers("br, deflate")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    fn gunzip(packed: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(packed)
            .read_to_end(&mut back)
            .unwrap();
        back
    }

    #[test]
    fn a_body_is_compressed_once_and_decompresses_to_itself() {
        let cache = GzipCache::default();
        let body = br#"{"name":"pikachu","url":"/api/v2/pokemon/25/"}"#.repeat(100);
        let (first, kept) = cache.get("pokemon/25", &body);
        assert_eq!(kept, Kept::Yes);
        assert_eq!(cache.used(), first.len());
        let (second, _) = cache.get("pokemon/25", &body.clone());
        assert_eq!(
            first.as_ptr(),
            second.as_ptr(),
            "kept, not compressed again"
        );
        assert_eq!(gunzip(&first), body);
    }

    #[test]
    fn a_changed_body_replaces_its_kept_copy() {
        let cache = GzipCache::default();
        let old = br#"{"id":1,"name":"normal"}"#.repeat(50);
        let new = br#"{"id":1,"name":"CHANGED"}"#.repeat(50);
        let (first, _) = cache.get("type/1", &old);
        let (second, kept) = cache.get("type/1", &new);
        assert_eq!(kept, Kept::Yes);
        assert_eq!(
            gunzip(&second),
            new,
            "the new body, not the kept copy of the old"
        );
        assert_eq!(
            cache.used(),
            second.len(),
            "the old copy's bytes given back"
        );
        let (third, _) = cache.get("type/1", &new);
        assert_eq!(
            third.as_ptr(),
            second.as_ptr(),
            "the new copy is the kept one"
        );
        // The same length, other bytes: still another identity.
        let same_len = br#"{"id":1,"name":"CHANGEd"}"#.repeat(50);
        assert_eq!(gunzip(&cache.get("type/1", &same_len).0), same_len);
        assert_eq!(
            gunzip(&first),
            old,
            "an answer already made keeps its own bytes"
        );
    }
}
