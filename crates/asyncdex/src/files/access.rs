//! What a file error means to a person, and whether a folder takes new files: asked by
//! every reader that must say *why* it cannot use a path (the cache naming why it went on
//! without itself, a store reader choosing how to open a file it may not write).

use std::io::ErrorKind;
use std::path::Path;

/// An I/O error in words, without its OS number where plain words say it.
pub(crate) fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        _ => e.to_string(),
    }
}

/// Whether this process may make files in `folder` (`access(2)`, with its own user's
/// rights; a read-only mount says so).
#[cfg(unix)]
pub(crate) fn writable(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(folder.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(ErrorKind::InvalidInput))?;
    // SAFETY: `path` is a NUL-terminated string that lives across the call.
    match unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Whether this process may make files in `folder`: where `access(2)` is not asked, the
/// write itself says.
#[cfg(not(unix))]
pub(crate) fn writable(_folder: &Path) -> std::io::Result<()> {
    Ok(())
}
