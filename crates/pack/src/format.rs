//! The byte layout of a pack, shared by the reader and the builder.
//!
//! Every integer is little-endian. See `FORMAT.md` for the prose version.

/// The first 8 bytes of every pack.
pub(crate) const MAGIC: [u8; 8] = *b"ADXPACK\0";
/// The format version this crate reads and writes.
pub(crate) const VERSION: u32 = 1;
/// Size of the fixed header.
pub(crate) const HEADER_LEN: usize = 64;

/// Size of one dictionary record: `off u32, len u32` (offsets relative to the data area).
pub(crate) const DICT_REC: usize = 8;
/// Size of one blob record: `off u32, clen u32, rawlen u32, dict u32`.
pub(crate) const BLOB_REC: usize = 16;
/// Size of one endpoint record: ten `u32`.
pub(crate) const ENDPOINT_REC: usize = 40;
/// Size of one list entry record: `id i32, name_off u32, name_len u32`.
pub(crate) const ENTRY_REC: usize = 12;
/// Size of one name-order record: `u32` index into the endpoint's entries.
pub(crate) const ORDER_REC: usize = 4;
/// Size of one resource record: `id i32, blob u32`.
pub(crate) const RES_REC: usize = 8;

/// `dict` value of a blob compressed without a dictionary.
pub(crate) const DICT_NONE: u32 = u32::MAX;
/// `dict` value of a blob stored uncompressed (`clen == rawlen`).
pub(crate) const DICT_STORED: u32 = u32::MAX - 1;
/// `name_off` value of a list entry that has no name.
pub(crate) const NO_NAME: u32 = u32::MAX;

/// Header field offsets.
pub(crate) mod hdr {
    pub const VERSION: usize = 8;
    pub const FLAGS: usize = 12;
    pub const TOTAL_LEN: usize = 16;
    pub const N_DICTS: usize = 20;
    pub const N_ENDPOINTS: usize = 24;
    pub const N_BLOBS: usize = 28;
    pub const N_ENTRIES: usize = 32;
    pub const N_RES: usize = 36;
    pub const STRINGS_LEN: usize = 40;
    pub const DATA_LEN: usize = 44;
    pub const ROOT_BLOB: usize = 48;
    pub const META_BLOB: usize = 52;
    // 56..64 reserved, zero.
}

/// Reads a little-endian `u32` at `off`; the caller guarantees bounds.
#[inline]
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Reads a little-endian `i32` at `off`; the caller guarantees bounds.
#[inline]
pub(crate) fn i32_at(b: &[u8], off: usize) -> i32 {
    u32_at(b, off) as i32
}
