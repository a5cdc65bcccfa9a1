//! One writer for every JSON line asyncdex prints, so a name from a server cannot drive
//! the terminal or the next program in a pipe.
//!
//! JSON itself only insists that C0 controls (U+0000–U+001F) are escaped inside strings,
//! and `serde_json` does that. Everything else may be written raw, and some of it is
//! trouble on a screen or downstream:
//!
//! - DEL (U+007F) and the C1 controls (U+0080–U+009F): U+009B is CSI, the one-character
//!   form of `ESC [`, which some terminals obey as a colour or cursor command;
//! - Unicode's bidirectional controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069):
//!   invisible, they reorder what is shown after them ("Trojan Source");
//! - U+2028 and U+2029, line and paragraph separators: a JavaScript parser older than
//!   ES2019 rejects them raw in a string, and some viewers break the line there;
//! - characters that show as nothing (U+00AD, U+200B, U+2060–U+2064, U+FEFF): a label
//!   or a name could hide text in them.
//!
//! [`Escaping`] is a `serde_json` [`Formatter`] that writes each of those as `\uXXXX`.
//! That is still JSON, and it parses back to the very same string: only the spelling
//! changes, never the value. [`write_line`] and [`to_string`] serialize through it;
//! [`write_body_line`] does the same to a body kept as the bytes that came (`get --json`),
//! without parsing it. No command writes a JSON value to stdout or stderr any other way
//! (a `Display` of a `serde_json::Value` writes such characters raw).
//!
//! ```
//! use crate::json;
//!
//! let name = "pika\u{9b}31m\u{202e}chu";
//! let line = json::to_string(&serde_json::json!({ "name": name }));
//! assert_eq!(line, r#"{"name":"pika\u009b31m\u202echu"}"#);
//! let back: serde_json::Value = serde_json::from_str(&line).unwrap();
//! assert_eq!(back["name"], name);
//! ```

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

use crate::commands::report::is_bidi_control;

/// Whether JSON output writes `c` as `\uXXXX` (see the module docs): a C0 or C1 control,
/// DEL, a bidirectional control, or U+2028/U+2029. Every one of them is in the Basic
/// Multilingual Plane, so four hex digits always spell it.
pub fn hidden(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}') || is_invisible(c)
}

/// Whether `c` is a character that shows as nothing at all, and so can hide in a label
/// or a name: a soft hyphen (U+00AD), a zero-width space (U+200B), the word joiner and
/// invisible operators (U+2060–U+2064), a byte-order mark (U+FEFF). Zero-width joiners
/// (U+200C, U+200D) shape scripts and emoji, and are left as they are.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}' | '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
    )
}

/// A compact `serde_json` [`Formatter`] (no spaces, as `serde_json::to_string` writes)
/// that also escapes every [`hidden`] character inside strings, keys included.
#[derive(Clone, Copy, Debug, Default)]
pub struct Escaping;

impl Formatter for Escaping {
    /// A run of a string that `serde_json` writes as it is: it has escaped the C0
    /// controls, `"` and `\` already (through `write_char_escape`), so what is left to
    /// escape here is the rest of [`hidden`].
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        write_escaped(writer, fragment)
    }
}

/// `text` to `w`, each [`hidden`] character as `\uXXXX`; CR, LF and tab dropped. In a
/// string fragment they never occur (`serde_json` escaped them); in a JSON text, raw,
/// they can only be whitespace between tokens, which may go.
fn write_escaped<W: ?Sized + Write>(w: &mut W, text: &str) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in text.char_indices().filter(|&(_, c)| hidden(c)) {
        w.write_all(&text.as_bytes()[start..i])?;
        if !matches!(c, '\n' | '\r' | '\t') {
            write!(w, "\\u{:04x}", u32::from(c))?;
        }
        start = i + c.len_utf8();
    }
    w.write_all(&text.as_bytes()[start..])
}

/// `value` as one line of JSON through [`Escaping`], `\n` included, in one write: a
/// forced exit (the second signal) falls between two lines, never inside one.
pub fn write_line<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let mut line = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut line, Escaping);
    value.serialize(&mut serializer).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// `value` as JSON through [`Escaping`], without a line break. A `serde_json::Value` or
/// a string always serializes (writing to memory cannot fail); a type whose `Serialize`
/// refuses (a map with non-string keys) gives `null`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = Vec::with_capacity(64);
    let mut serializer = serde_json::Serializer::with_formatter(&mut text, Escaping);
    match value.serialize(&mut serializer) {
        // Only `&str`s went in, and escapes are ASCII.
        Ok(()) => String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(_) => "null".to_owned(),
    }
}

/// A JSON body kept as the bytes that came, on one line of `out`, spelled as [`Escaping`]
/// would: never parsed again, so a 30 MB body costs no tree. In a JSON text every
/// character beyond ASCII, and DEL, can only be inside a string, where `\uXXXX` is the
/// same character; raw CR, LF and tab can only be whitespace between tokens, and are
/// dropped. Bytes that are not UTF-8 (no JSON text holds them, but a check that only
/// skims a body lets them by) are written `\ufffd`, as a lossy decode shows them.
pub fn write_body_line(body: &[u8], out: &mut dyn Write) -> io::Result<()> {
    for chunk in body.utf8_chunks() {
        write_escaped(out, chunk.valid())?;
        if !chunk.invalid().is_empty() {
            out.write_all(b"\\ufffd")?;
        }
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each kind [`hidden`] names, among ordinary text (and a quote, a backslash,
    /// a newline that `serde_json` escapes itself).
    const HOSTILE: &str = "pika\u{9b}31m\u{202e}RED\u{2066}x\u{85}y\u{2028}z\u{2029}\u{7f}\
                           \u{1b}[0m\u{61c}\u{200e}\u{200f}\u{202a}\u{2069}\"\\\n\u{80}\u{9f}é😀\
                           \u{200b}\u{ad}\u{feff}\u{2060}";

    fn raw_hidden(text: &str) -> Vec<char> {
        text.chars().filter(|&c| hidden(c)).collect()
    }

    #[test]
    fn hostile_strings_round_trip_and_nothing_hidden_is_raw() {
        let value = serde_json::json!({ HOSTILE: [HOSTILE, 1, null], "n": HOSTILE });
        let line = to_string(&value);
        assert_eq!(raw_hidden(&line), Vec::<char>::new(), "{line}");
        assert!(line.contains(r"pika\u009b31m\u202eRED\u2066x\u0085y\u2028z\u2029\u007f"));
        assert!(line.contains("é😀"), "ordinary text stays as it is: {line}");
        assert!(
            line.contains(r"\u200b\u00ad\ufeff\u2060"),
            "invisibles: {line}"
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, value);
        let text: String = serde_json::from_str(&to_string(HOSTILE)).unwrap();
        assert_eq!(text, HOSTILE);
        // Without hostile characters it is exactly what serde_json writes.
        let plain = serde_json::json!({"a": [1, 2.5, "b\n"], "c": {"d": true}});
        assert_eq!(to_string(&plain), plain.to_string());
    }

    #[test]
    fn a_line_is_the_same_json_and_ends_once() {
        let mut out = Vec::new();
        write_line(&mut out, &serde_json::json!({"name": HOSTILE})).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with('\n') && raw_hidden(text.trim_end()).is_empty());
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], HOSTILE);
    }

    #[test]
    fn a_body_keeps_its_value_on_one_line() {
        // As a server may send it: pretty-printed, hostile characters raw, one not UTF-8.
        let sent = serde_json::to_string_pretty(&serde_json::json!({"name": HOSTILE})).unwrap();
        let mut out = Vec::new();
        write_body_line(sent.as_bytes(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(raw_hidden(text.trim_end()).is_empty(), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], HOSTILE);

        let mut out = Vec::new();
        write_body_line(b"{\"a\":\"x\x9by\xff\"}\r\n", &mut out).unwrap();
        assert_eq!(
            out,
            br#"{"a":"x\ufffdy\ufffd"}"#.iter().chain(b"\n").copied().collect::<Vec<_>>()
        );
    }
}
