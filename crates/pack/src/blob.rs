//! A blob: one file of the source data as its own zstd frame, and how it is decoded.
//!
//! Each thread keeps one zstd decoding context and reuses it for every blob of every pack;
//! each endpoint's dictionary is prepared the first time one of its blobs is decoded. The
//! decoder writes into exactly the room the blob's record announces, so a corrupt frame
//! can neither grow the output past it nor leave half a body behind.

use std::cell::RefCell;
use std::io::Cursor;
use std::sync::OnceLock;

use zstd::zstd_safe::{self, DCtx, DDict};

use crate::error::corrupt;
use crate::format::*;
use crate::{Pack, PackError};

/// A stored file of the source data, ready to be decoded.
#[derive(Debug, Clone, Copy)]
pub struct Blob<'p> {
    pub(crate) pack: &'p Pack,
    pub(crate) index: u32,
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
pub(crate) struct BlobRec {
    pub(crate) off: u32,
    pub(crate) clen: u32,
    pub(crate) rawlen: u32,
    pub(crate) dict: u32,
}

pub(crate) struct Dict {
    pub(crate) bytes: &'static [u8],
    pub(crate) prepared: OnceLock<Result<DDict<'static>, PackError>>,
}

thread_local! {
    /// One zstd decoding context per thread, reused for every blob of every pack.
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

impl Pack {
    pub(crate) fn blob_rec(&self, i: u32) -> BlobRec {
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

    pub(crate) fn decode_into(&self, index: u32, out: &mut Vec<u8>) -> Result<(), PackError> {
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
