//! Why a cache file could not be used, in a few words: what the run's closing `cache:`
//! line says, so that "not used" is never said without a reason.
//!
//! SQLite says little when it cannot open a file ("unable to open database file", for a
//! folder it may not write in as for `/proc`), so the reason is found the way a person
//! would look: what is at the path (a folder, a link, a crawl store, another program's
//! database), whether it may be read and written, and, when nothing is there, whether the
//! folder takes new files at all (a folder of a file system the kernel makes up, such as
//! `/proc` or `/sys`, never does; a folder the user may not write in does not).

use std::io::ErrorKind as Io;
use std::path::Path;

use super::files::{header, Header};
use crate::error::Error;
use crate::files::access::{io_words, writable};
use crate::store::{APPLICATION_ID, CACHE_APPLICATION_ID};

/// How the error for a cache folder that could not be made begins: it says it all.
pub(super) const NO_FOLDER: &str = "cannot create the cache folder";

/// Why the cache file at `path` could not be used, opening it having failed with `e`.
pub(super) fn reason(path: &Path, e: &Error) -> String {
    let message = e.to_string();
    if message.ends_with(super::open::OTHER_ROOT) {
        return "it is the cache of another API root".into();
    }
    if message.ends_with(super::open::NO_ROOT) {
        return "it has no record of its API root (damaged), so whose entries it holds cannot be told".into();
    }
    if message.starts_with(NO_FOLDER) {
        return message;
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => "it is a symbolic link (never followed)".into(),
        Ok(m) if !m.is_file() => format!("it is {}, not a file", crate::files::describe(&m)),
        Ok(_) => match header(path) {
            Header::Sqlite(id) if id == APPLICATION_ID.to_be_bytes() => {
                "it is a crawl store, not a cache".into()
            }
            Header::Sqlite(id) if id != CACHE_APPLICATION_ID.to_be_bytes() => {
                "it is an SQLite database that is not an asyncdex cache".into()
            }
            _ => match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
            {
                Err(e) => io_words(&e),
                Ok(_) => message,
            },
        },
        Err(e) if e.kind() == Io::NotFound => folder_reason(folder).unwrap_or(message),
        Err(e) => format!("cannot look in {}: {}", folder.display(), io_words(&e)),
    }
}

/// Why no file can be made in `folder`, if that can be told.
fn folder_reason(folder: &Path) -> Option<String> {
    if let Some(fs) = virtual_fs(folder) {
        return Some(format!(
            "{} is on the kernel's {fs} file system, which holds no files",
            folder.display()
        ));
    }
    writable(folder).err().map(|e| {
        format!(
            "cannot make a file in {}: {}",
            folder.display(),
            io_words(&e)
        )
    })
}

/// The name of the kernel's virtual file system `folder` is on (`proc`, `sysfs`), if it
/// is on one.
#[cfg(target_os = "linux")]
#[allow(clippy::unnecessary_cast)] // `f_type`'s type differs between architectures
fn virtual_fs(folder: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    const VIRTUAL: &[(u32, &str)] = &[
        (0x9fa0, "proc"),
        (0x6265_6572, "sysfs"),
        (0x0027_e0eb, "cgroup"),
        (0x6367_7270, "cgroup2"),
        (0x6462_6720, "debugfs"),
        (0x7472_6163, "tracefs"),
        (0x7363_6673, "securityfs"),
        (0x6265_6570, "configfs"),
        (0xcafe_4a11, "bpf"),
    ];
    let path = std::ffi::CString::new(folder.as_os_str().as_bytes()).ok()?;
    let mut fs = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `path` is NUL-terminated and `fs` is a `statfs` for the call to fill.
    if unsafe { libc::statfs(path.as_ptr(), fs.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: filled by the successful call above.
    let kind = unsafe { fs.assume_init() }.f_type as u32;
    VIRTUAL
        .iter()
        .find_map(|&(magic, name)| (magic == kind).then_some(name))
}

#[cfg(not(target_os = "linux"))]
fn virtual_fs(_folder: &Path) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_file_that_is_not_a_cache_is_named_for_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let e = Error::new(ErrorKind::Io, "cannot open it");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert_eq!(reason(&sub, &e), "it is a directory, not a file");
        #[cfg(target_os = "linux")]
        assert_eq!(
            reason(Path::new("/proc/x.db"), &e),
            "/proc is on the kernel's proc file system, which holds no files"
        );
        let other = Error::new(
            ErrorKind::Database,
            format!("x.db {}", super::super::open::OTHER_ROOT),
        );
        assert_eq!(reason(&sub, &other), "it is the cache of another API root");
        // Nothing to tell beyond the error itself: the error's own words.
        assert_eq!(reason(&dir.path().join("new.db"), &e), "cannot open it");
    }
}
