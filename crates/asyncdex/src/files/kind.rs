//! What a file is, from its first bytes: so that a file asyncdex writes replaces only a
//! file of its own kind.
//!
//! Replacing a file is a rename over it, and a rename does not ask what it destroys: a
//! typo (`--timeline pokedex.db`), a path copied from the wrong line (the run's own cache
//! file), even the running program itself would all be replaced by a picture, and the run
//! would say nothing. A file's name says what the user *meant*; its first bytes say what
//! it *is*. So before replacing a file, the writer reads at most [`HEAD`] bytes of it and
//! sniffs them (as `file(1)` does, with a table of magic numbers), and the bytes it is
//! about to write too: an SVG picture replaces only an SVG picture, a JSON trace only a
//! JSON trace. Anything else (an SQLite database, an ELF executable, a text file) is
//! refused, and named, so that the user sees what they nearly lost. An empty file holds
//! nothing to lose, and is replaced.
//!
//! ```
//! use asyncdex::files::Kind;
//!
//! assert_eq!(Kind::of(b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"), Kind::Svg);
//! assert_eq!(Kind::of(b"{\"traceEvents\":[]}"), Kind::Trace);
//! assert_eq!(Kind::of(b"SQLite format 3\0..."), Kind::Sqlite);
//! assert_eq!(Kind::of(b"\x7fELF\x02\x01\x01"), Kind::Elf);
//! assert_eq!(Kind::Sqlite.to_string(), "a SQLite database");
//! ```

use std::fmt;
use std::io::Read;
use std::path::Path;

/// How many bytes of a file are read to tell what it is.
pub const HEAD: usize = 4096;

/// What a file is, as far as its first bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// An SVG picture (a timeline, a chart).
    Svg,
    /// A Chrome trace in JSON.
    Trace,
    /// Any other JSON document (an exported resource).
    Json,
    /// An HTML page.
    Html,
    /// Any other XML document.
    Xml,
    /// An SQLite database.
    Sqlite,
    /// An SQLite write-ahead log (a database's `-wal`).
    SqliteWal,
    /// An ELF executable or library (Linux, BSD).
    Elf,
    /// A Mach-O executable (macOS).
    MachO,
    /// A Windows executable.
    Exe,
    /// A script (`#!`).
    Script,
    /// A compressed or archived file (gzip, zstd, xz, bzip2, zip, tar).
    Archive(&'static str),
    /// An image or a document in a binary format (PNG, JPEG, GIF, PDF).
    Binary(&'static str),
    /// Any other text.
    Text,
    /// Bytes that are none of the above.
    Data,
}

/// Magic numbers at the start of a file, and what they mean.
const MAGIC: &[(&[u8], Kind)] = &[
    (b"SQLite format 3\0", Kind::Sqlite),
    (&[0x37, 0x7f, 0x06, 0x82], Kind::SqliteWal),
    (&[0x37, 0x7f, 0x06, 0x83], Kind::SqliteWal),
    (b"\x7fELF", Kind::Elf),
    (&[0xcf, 0xfa, 0xed, 0xfe], Kind::MachO),
    (&[0xce, 0xfa, 0xed, 0xfe], Kind::MachO),
    (&[0xca, 0xfe, 0xba, 0xbe], Kind::MachO),
    (b"MZ", Kind::Exe),
    (b"#!", Kind::Script),
    (&[0x1f, 0x8b], Kind::Archive("a gzip file")),
    (&[0x28, 0xb5, 0x2f, 0xfd], Kind::Archive("a zstd file")),
    (b"\xfd7zXZ\0", Kind::Archive("an xz file")),
    (b"BZh", Kind::Archive("a bzip2 file")),
    (b"PK\x03\x04", Kind::Archive("a ZIP archive")),
    (b"\x89PNG", Kind::Binary("a PNG image")),
    (&[0xff, 0xd8, 0xff], Kind::Binary("a JPEG image")),
    (b"GIF8", Kind::Binary("a GIF image")),
    (b"%PDF", Kind::Binary("a PDF document")),
];

impl Kind {
    /// What `head` (a file's first bytes, or bytes about to be written) is.
    pub fn of(head: &[u8]) -> Kind {
        if let Some(&(_, kind)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
            return kind;
        }
        if head.len() > 262 && &head[257..262] == b"ustar" {
            return Kind::Archive("a tar archive");
        }
        let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        let start = text.iter().position(|b| !b.is_ascii_whitespace());
        let text = &text[start.unwrap_or(text.len())..];
        let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
        let lower: Vec<u8> = text.to_ascii_lowercase();
        let lower_has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
        match text.first() {
            Some(b'<') if lower.starts_with(b"<!doctype html") || lower_has(b"<html") => Kind::Html,
            Some(b'<') if has(b"<svg") => Kind::Svg,
            Some(b'<') => Kind::Xml,
            Some(b'{') if has(b"\"traceEvents\"") && is_json(text) => Kind::Trace,
            Some(b'[') if has(b"\"ph\"") && text[1..].trim_ascii_start().starts_with(b"{") => {
                Kind::Trace
            }
            Some(b'{' | b'[') if is_json(text) => Kind::Json,
            _ if is_text(head) => Kind::Text,
            _ => Kind::Data,
        }
    }

    /// What is in the file at `path` now: `None` if nothing is there or it is empty
    /// (nothing to lose); its kind otherwise. Not a link followed: the path itself.
    pub fn of_file(path: &Path) -> std::io::Result<Option<Kind>> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if !meta.is_file() || meta.len() == 0 {
            return Ok(None);
        }
        let mut head = Vec::with_capacity(HEAD);
        std::fs::File::open(path)?
            .take(HEAD as u64)
            .read_to_end(&mut head)?;
        Ok((!head.is_empty()).then(|| Kind::of(&head)))
    }
}

/// Whether `text` (from its first `{` or `[`) begins as JSON does: what follows an
/// opening `{` is a key or the end, what follows an opening `[` a value or the end. A
/// TOML table (`[pokemon]`, `[[step]]`) does not.
fn is_json(text: &[u8]) -> bool {
    let mut text = text;
    loop {
        let (open, rest) = match text.split_first() {
            Some((&open, rest)) => (open, rest.trim_ascii_start()),
            None => return false,
        };
        match (open, rest.first()) {
            (b'{', Some(b'"' | b'}')) => return true,
            (b'{', _) => return false,
            (_, Some(b'{' | b'[')) => text = rest, // a nested opening: look past it
            (_, Some(b'"' | b']' | b'-' | b'0'..=b'9')) => return true,
            _ => {
                return [&b"true"[..], b"false", b"null"].iter().any(|w| {
                    rest.starts_with(w)
                        && !rest.get(w.len()).is_some_and(|b| b.is_ascii_alphanumeric())
                })
            }
        }
    }
}

/// Whether `head` reads as text: no NUL, and UTF-8 (a character cut where the head ends
/// is still text).
fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

impl fmt::Display for Kind {
    /// The kind in words, with its article: `a SQLite database`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Svg => "an SVG picture",
            Kind::Trace => "a JSON trace",
            Kind::Json => "a JSON document",
            Kind::Html => "an HTML page",
            Kind::Xml => "an XML document",
            Kind::Sqlite => "a SQLite database",
            Kind::SqliteWal => "a SQLite write-ahead log",
            Kind::Elf => "an ELF executable",
            Kind::MachO => "a Mach-O executable",
            Kind::Exe => "a Windows executable",
            Kind::Script => "a script",
            Kind::Archive(what) | Kind::Binary(what) => what,
            Kind::Text => "a text file",
            Kind::Data => "binary data",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_asyncdex_writes_is_told_from_what_it_must_not_replace() {
        let cases: &[(&[u8], Kind)] = &[
            (b"<svg xmlns=\"http://www.w3.org/2000/svg\">", Kind::Svg),
            (b"\xef\xbb\xbf\n <?xml version=\"1.0\"?>\n<svg>", Kind::Svg),
            (b"{\"traceEvents\":[{\"ph\":\"X\"}]}", Kind::Trace),
            (b"[ {\"name\":\"x\",\"ph\":\"X\"}]", Kind::Trace),
            (b"{\"name\":\"package\"}", Kind::Json),
            (b"<!DOCTYPE html><html><svg>", Kind::Html),
            (b"<?xml version=\"1.0\"?><feed/>", Kind::Xml),
            (b"SQLite format 3\0\x10\0", Kind::Sqlite),
            (b"\x7fELF\x02", Kind::Elf),
            (b"#!/bin/sh\necho hi\n", Kind::Script),
            (b"\x28\xb5\x2f\xfd\x00", Kind::Archive("a zstd file")),
            (b"[pokemon]\nname = \"pikachu\"\n", Kind::Text),
            (b"[trueish]\n", Kind::Text),
            (b"[[step]]\nname = \"a\"\n", Kind::Text),
            (b"[[1, 2], {\"a\": 3}]", Kind::Json),
            (b"[ true, null ]", Kind::Json),
            (b"caf\xc3", Kind::Text),
            (b"\0\x01\x02\xff", Kind::Data),
        ];
        for &(head, kind) in cases {
            assert_eq!(Kind::of(head), kind, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn an_empty_file_or_none_holds_nothing_to_lose() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        assert_eq!(Kind::of_file(&path).unwrap(), None);
        std::fs::write(&path, "").unwrap();
        assert_eq!(Kind::of_file(&path).unwrap(), None);
        std::fs::write(&path, b"SQLite format 3\0").unwrap();
        assert_eq!(Kind::of_file(&path).unwrap(), Some(Kind::Sqlite));
    }
}
