//! Outside text made fit for a terminal: escaped, and bounded twice.
//!
//! A name, an error or a path from outside (a server, a program file, the environment)
//! may hold anything: an escape sequence that recolours the screen, a newline that fakes
//! a line of the report, a bidirectional override that reorders it, or five megabytes.
//! [`escape_display`] and [`escape_field`] escape one value and cut it (at [`LINE_CHARS`]
//! and [`FIELD_CHARS`] characters). Cutting each value is not enough: a line quoting two
//! values of 1 000 is 2 000 long. So every human-readable line also passes through
//! [`Lines`], a writer that cuts each line, once assembled and escaped, at [`LINE_CHARS`]
//! characters: stderr is wrapped in one for the whole run, and so is stdout's report by a
//! printer that writes a table (`--json` lines are never cut: they keep everything whole).
//!
//! ```
//! use std::io::Write;
//! use crate::commands::report::{escape_field, Lines};
//!
//! let name = "x".repeat(5_000);
//! let mut shown = Vec::new();
//! writeln!(Lines::new(&mut shown), "{}: {}", escape_field(&name), name).unwrap();
//! let line = String::from_utf8(shown).unwrap();
//! assert_eq!(line.trim_end().chars().count(), 1_000 + 1); // `…` marks the cut
//! ```

use std::io::{self, Write};

/// `text` made safe for a terminal: control characters (escape sequences, newlines,
/// carriage returns, backspaces) are written as `\u{1b}`, `\n`… so a label in a program
/// file or a name or error text from a server can neither recolour nor rewrite the
/// screen, nor fake extra lines of the report. So are Unicode's bidirectional controls
/// ([`is_bidi_control`]): they would reorder what the terminal shows around them, and so
/// are U+2028/U+2029, the line and paragraph separators some terminals and viewers break
/// the line at: the very characters [`crate::json::hidden`] names, which JSON lines
/// escape their own way (`\u2028`, in [`crate::json`]). Every human-readable line that
/// quotes outside text (paths included: [`path`]) goes through here.
///
/// It is also bounded: past [`LINE_CHARS`] characters (escapes counted as written) the
/// rest is cut and `…` shown, so a server's 5 MB name or error text is one readable line,
/// not five megabytes of terminal. A value in a column of a table or a summary line is
/// bounded tighter, by [`escape_field`]; and the whole line, however many values it
/// quotes, by [`Lines`].
pub fn escape_display(text: &str) -> std::borrow::Cow<'_, str> {
    shown(text, LINE_CHARS)
}

/// The most characters of outside text one line shows ([`escape_display`]): room for an
/// error message with its URL, not for a whole body.
pub const LINE_CHARS: usize = 1000;

/// The most characters of outside text one value of a table or summary line shows
/// ([`escape_field`]): a real name or summary is far shorter.
pub const FIELD_CHARS: usize = 100;

/// [`escape_display`] for one value among others on a line (a name, an id, a summary in
/// `get`'s table): at most [`FIELD_CHARS`] characters, then `…`.
pub fn escape_field(text: &str) -> std::borrow::Cow<'_, str> {
    shown(text, FIELD_CHARS)
}

/// A path as a terminal line may show it: [`escape_display`] of its (lossy) text. Every
/// path the user or the environment gave (`--out`, `--to`, `--dir`, `$HOME`…) is printed
/// through here, never with a bare `Path::display()`: a file may be named with an escape
/// sequence as easily as a server's text may hold one.
pub fn path(p: &std::path::Path) -> String {
    escape_display(&p.to_string_lossy()).into_owned()
}

/// Whether `c` is one of Unicode's bidirectional formatting characters: the marks
/// (U+200E, U+200F, U+061C), embeddings and overrides (U+202A–U+202E) and isolates
/// (U+2066–U+2069). Invisible themselves, they reorder the text after them, so a name
/// from a server could make a line read differently from what it holds ("Trojan
/// Source"). [`escape_display`] writes them as `\u{202e}`, like a control character.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether [`escape_display`] writes `c` as an escape rather than as itself: the same
/// characters JSON lines escape.
fn escaped(c: char) -> bool {
    crate::json::hidden(c)
}

/// `text` with its control characters escaped, at most `max` characters of it (then `…`).
/// An escape is never cut in two.
fn shown(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let plain = !text.chars().any(escaped);
    // Bytes are at least as many as characters: a short plain text is shown as it is.
    if plain && text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(4 * max) + 8);
    let mut count = 0;
    for c in text.chars() {
        let width = if escaped(c) {
            c.escape_default().count()
        } else {
            1
        };
        if count + width > max {
            out.push('…');
            return std::borrow::Cow::Owned(out);
        }
        count += width;
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if plain {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(out)
}

/// A writer that cuts every line written through it at [`LINE_CHARS`] characters and
/// shows the cut as `…`; the rest of that line is dropped up to its `\n`. What comes in is
/// text already escaped ([`escape_display`]), so a cut can only split plain characters;
/// an escape such as `\u{1b}` at the cut, if it arrived in the same write, goes whole.
///
/// Each write is passed on as one write of what is kept, so a line that came in one write
/// (as a `LineWriter` sends it) leaves in one.
pub struct Lines<W: Write> {
    inner: W,
    /// Characters of the current line written so far.
    chars: usize,
    /// The current line was cut: drop until its end.
    cut: bool,
}

impl<W: Write> Lines<W> {
    /// Cuts the lines written to `inner`.
    pub fn new(inner: W) -> Self {
        Lines {
            inner,
            chars: 0,
            cut: false,
        }
    }
}

impl<W: Write> Write for Lines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Counted by bytes: a character is its first byte (not 0b10xx_xxxx), and the bytes
        // that follow go with it, so a character split across two writes is not split.
        if !self.cut && self.chars + buf.len() <= LINE_CHARS {
            if let Some(nl) = buf.iter().rposition(|&b| b == b'\n') {
                self.chars = chars(&buf[nl + 1..]);
            } else {
                self.chars += chars(buf);
            }
            self.inner.write_all(buf)?;
            return Ok(buf.len());
        }
        let mut kept = Vec::with_capacity(buf.len().min(LINE_CHARS * 4 + 8));
        for &b in buf {
            if b == b'\n' {
                (self.chars, self.cut) = (0, false);
                kept.push(b);
                continue;
            }
            let first = b & 0b1100_0000 != 0b1000_0000;
            if self.cut {
                continue;
            }
            if first && self.chars == LINE_CHARS {
                drop_broken_escape(&mut kept);
                kept.extend_from_slice("…".as_bytes());
                self.cut = true;
                continue;
            }
            self.chars += usize::from(first);
            kept.push(b);
        }
        self.inner.write_all(&kept)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Characters in `bytes` of UTF-8 (the bytes that start one).
fn chars(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .filter(|&&b| b & 0b1100_0000 != 0b1000_0000)
        .count()
}

/// Drops from the end of `kept` an escape the cut would split: a `\u{…` without its `}`
/// (at most 8 characters: `\u{10ffff`), or a lone `\` of a `\n`.
fn drop_broken_escape(kept: &mut Vec<u8>) {
    let tail = &kept[kept.len().saturating_sub(9)..];
    if let Some(at) = tail.windows(3).rposition(|w| w == b"\\u{") {
        if !tail[at..].contains(&b'}') {
            kept.truncate(kept.len() - tail.len() + at);
            return;
        }
    }
    if kept.last() == Some(&b'\\')
        && kept.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
    {
        kept.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` written through [`Lines`] in writes of `chunk` bytes.
    fn cut(text: &str, chunk: usize) -> String {
        let mut out = Vec::new();
        let mut lines = Lines::new(&mut out);
        for part in text.as_bytes().chunks(chunk) {
            lines.write_all(part).unwrap();
        }
        String::from_utf8(out).expect("no character is split")
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape_display("pikachu"), "pikachu");
        let shown = escape_display("a\u{1b}[31mred\n\nnew\rline");
        assert_eq!(shown, "a\\u{1b}[31mred\\n\\nnew\\rline");
        assert!(!shown.chars().any(char::is_control));
    }

    #[test]
    fn bidi_controls_are_shown_not_obeyed() {
        // "Trojan Source": an override and an isolate would reorder the line on screen.
        let shown = escape_display("pika\u{202e}RED\u{2066}x\u{2069}\u{200f}\u{61c}");
        assert_eq!(
            shown,
            "pika\\u{202e}RED\\u{2066}x\\u{2069}\\u{200f}\\u{61c}"
        );
        for c in [
            '\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202c}', '\u{202e}',
        ]
        .into_iter()
        .chain('\u{2066}'..='\u{2069}')
        {
            let text = c.to_string();
            let shown = escape_field(&text);
            assert!(!shown.contains(c), "{c:?} passed as {shown}");
            assert_eq!(shown, format!("\\u{{{:x}}}", c as u32));
        }
        // Their neighbours are ordinary text: shown as they are.
        for plain in ["\u{200d}", "\u{2065}", "\u{206a}", "é", "ピカチュウ"] {
            assert_eq!(escape_display(plain), plain);
        }
        // An escape counts as written (`\u{202e}` is 8): cut before it, not inside it.
        let text = format!("{}\u{202e}", "a".repeat(95));
        assert_eq!(escape_field(&text), format!("{}…", "a".repeat(95)));
    }

    #[test]
    fn paths_are_escaped_like_outside_text() {
        let p = std::path::Path::new("x\u{1b}]0;pwn\u{7}\u{202e}.db");
        assert_eq!(path(p), "x\\u{1b}]0;pwn\\u{7}\\u{202e}.db");
        assert_eq!(path(std::path::Path::new("out/crawl.db")), "out/crawl.db");
    }

    #[test]
    fn outside_text_is_bounded_and_no_escape_is_cut() {
        let huge = "é".repeat(5_000_000);
        let field = escape_field(&huge);
        assert_eq!(field.chars().count(), FIELD_CHARS + 1);
        assert!(field.ends_with("é…"), "{field}");
        let line = escape_display(&huge);
        assert_eq!(line.chars().count(), LINE_CHARS + 1);
        // 100 characters exactly is shown whole; one more is cut.
        let exact = "a".repeat(FIELD_CHARS);
        assert_eq!(escape_field(&exact), exact);
        let over = format!("{exact}b");
        assert_eq!(escape_field(&over), format!("{exact}…"));
        // 95 letters then an escape of 6 (`\u{1b}`) would pass 100: cut before it.
        let text = format!("{}\u{1b}[31m", "a".repeat(95));
        assert_eq!(escape_field(&text), format!("{}…", "a".repeat(95)));
        let text = format!("{}\n!", "a".repeat(98));
        assert_eq!(escape_field(&text), format!("{}\\n…", "a".repeat(98)));
    }

    #[test]
    fn line_and_paragraph_separators_are_shown_not_obeyed() {
        assert_eq!(escape_field("a\u{2028}b\u{2029}c"), "a\\u{2028}b\\u{2029}c");
        assert_eq!(escape_display("\u{2029}"), "\\u{2029}");
    }

    #[test]
    fn every_line_is_cut_once_assembled() {
        let long = "é".repeat(3 * LINE_CHARS);
        let text = format!("short\n{long}\n{}\nlast", "a".repeat(LINE_CHARS));
        for chunk in [1, 2, 3, 7, 1000, usize::MAX] {
            let shown = cut(&text, chunk.min(text.len()));
            let lines: Vec<&str> = shown.split('\n').collect();
            assert_eq!(lines.len(), 4, "{chunk}: {shown}");
            assert_eq!(lines[0], "short");
            assert_eq!(lines[1], format!("{}…", "é".repeat(LINE_CHARS)), "{chunk}");
            // Exactly LINE_CHARS is whole; the line after a cut starts afresh.
            assert_eq!(lines[2], "a".repeat(LINE_CHARS), "{chunk}");
            assert_eq!(lines[3], "last");
        }
    }

    #[test]
    fn a_cut_never_splits_an_escape() {
        for (tail, kept) in [("\\u{1b}", ""), ("x\\n", "x"), ("xy", "x")] {
            let text = format!("{}{tail}", "a".repeat(LINE_CHARS - 1));
            let shown = cut(&text, text.len());
            assert_eq!(
                shown,
                format!("{}{kept}…", "a".repeat(LINE_CHARS - 1)),
                "{tail}"
            );
        }
        // An escaped backslash (`\\`) before the cut is text, not half an escape.
        let text = format!("{}\\\\x", "a".repeat(LINE_CHARS - 2));
        assert_eq!(
            cut(&text, text.len()),
            format!("{}\\\\…", "a".repeat(LINE_CHARS - 2))
        );
    }
}
