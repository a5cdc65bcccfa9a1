//! `Accept-Encoding: gzip` answered compressed, as PokeAPI's CDN answers it.
//!
//! A body is compressed the first time a client asks for it compressed, and the result is
//! kept, so every later request for it costs a lookup and a copy of a few kilobytes,
//! never a compression: a static server that compresses on the fly (nginx's `gzip on`)
//! pays for every request. What is kept has a budget ([`BUDGET`]); past it, bodies are
//! still compressed, just not kept. The whole PokeAPI, compressed, is about a tenth of its
//! 279 MB.

use std::collections::HashMap;
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

/// Compressed bodies by key, kept within [`BUDGET`].
#[derive(Debug, Default)]
pub(super) struct GzipCache {
    kept: RwLock<HashMap<Box<str>, Bytes>>,
    used: AtomicUsize,
}

impl GzipCache {
    /// `body` compressed: kept from an earlier request for `key`, or compressed now (and
    /// kept, if the budget allows). `Kept::No` when it was not kept: then this answer's
    /// copy is its own, and costs memory while it is in flight.
    pub(super) fn get(&self, key: &str, body: &[u8]) -> (Bytes, Kept) {
        if let Some(hit) = self.read().get(key) {
            return (hit.clone(), Kept::Yes);
        }
        let packed = Bytes::from(compress(body));
        if self.used.load(Ordering::Relaxed) + packed.len() <= BUDGET {
            let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
            if !kept.contains_key(key) {
                self.used.fetch_add(packed.len(), Ordering::Relaxed);
                kept.insert(key.into(), packed.clone());
            }
            return (packed, Kept::Yes);
        }
        (packed, Kept::No)
    }

    /// Bytes of compressed bodies kept.
    pub(super) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Box<str>, Bytes>> {
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

    #[test]
    fn a_body_is_compressed_once_and_decompresses_to_itself() {
        let cache = GzipCache::default();
        let body = br#"{"name":"pikachu","url":"/api/v2/pokemon/25/"}"#.repeat(100);
        let (first, kept) = cache.get("pokemon/25", &body);
        assert_eq!(kept, Kept::Yes);
        assert_eq!(cache.used(), first.len());
        let (second, _) = cache.get("pokemon/25", b"not asked again");
        assert_eq!(first, second, "kept, not compressed again");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&first[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
    }
}
