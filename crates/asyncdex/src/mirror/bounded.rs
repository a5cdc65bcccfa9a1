//! Reading what `serve --from` names without trusting its size or its kind: a file is read
//! only if it is a regular file no larger than [`MAX_FILE`], checked before reading and
//! bounded while reading. A list of 3 GB, a resource of 500 MB, a FIFO or `/dev/zero` is
//! an error naming the path, never gigabytes held or a read that never ends.

use std::path::Path;

/// Largest file read from a folder, list or resource: PokeAPI's largest is under 1 MB, its
/// largest list under 2 MB. Anything bigger is refused unread: four requests for 500 MB
/// files must not hold 2 GB.
pub const MAX_FILE: u64 = 64 << 20;

/// Reads `path` whole if it is a regular file of at most `limit` bytes. The size is checked
/// before reading and again while reading (`take`), so a file growing meanwhile cannot
/// pass; anything not a regular file (a FIFO that would block, a device without end) is
/// refused unopened.
pub(super) fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error as IoError, ErrorKind as IoKind, Read};
    let too_big = |len: u64| {
        IoError::new(
            IoKind::InvalidData,
            format!(
                "it is larger than the {} MiB a file may be ({len} bytes)",
                limit >> 20
            ),
        )
    };
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(IoError::new(
            IoKind::InvalidInput,
            format!("it is {}, not a file", kind_of(&meta)),
        ));
    }
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// What a path that is not a regular file or a folder is, for an error message.
pub(super) fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else if meta.is_file() {
        "a file"
    } else {
        "neither a file nor a folder"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_unread_and_one_within_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        // Sparse: 3 GB to a reader, no disk used.
        std::fs::File::create(&big)
            .unwrap()
            .set_len(3 << 30)
            .unwrap();
        let e = read_bounded(&big, MAX_FILE).unwrap_err().to_string();
        assert!(e.contains("larger than the 64 MiB"), "{e}");
        let small = dir.path().join("small.json");
        std::fs::write(&small, b"{}").unwrap();
        assert_eq!(read_bounded(&small, MAX_FILE).unwrap(), b"{}");
        assert!(
            read_bounded(&small, 1).is_err(),
            "the limit is the caller's"
        );
        let e = read_bounded(dir.path(), MAX_FILE).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
    }
}
