//! Writing files so that a reader never sees half of one.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// Writes `contents` to `path` atomically: a temporary file beside it, then a rename. A
/// crash leaves the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp-asyncdex");
    std::fs::write(&tmp, contents)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::new(
                ErrorKind::Io,
                format!("cannot write {}: {e}", path.display()),
            )
        })
}
