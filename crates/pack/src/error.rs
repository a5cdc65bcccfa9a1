//! What can go wrong opening a pack or decoding one of its blobs.

use crate::format::VERSION;

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

pub(crate) fn corrupt(msg: impl Into<String>) -> PackError {
    PackError::Corrupt(msg.into())
}
