//! Outside text made fit for a terminal: escaped, and bounded twice.
//!
//! A name, an error or a path from outside (a server, a program file, the environment)
//! may hold anything: an escape sequence that recolours the screen, a newline that fakes
//! a line of the report, a bidirectional override that reorders it, or five megabytes.
//! [`escape_display`] and [`escape_field`] escape one value and cut it (at [`LINE_CHARS`]
//! and [`FIELD_CHARS`] characters). Cutting each value is not enough: a line quoting two
//! values of 1 000 is 2 000 long. So every human-readable line also passes through
//! [`Lines`], a writer that cuts each line, once assembled and escaped, past [`LINE_CHARS`]
//! characters, in its middle (its end, where an error says why, is kept): stderr is wrapped in one for the whole run, and so is stdout's report by a
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
//! assert!(line.trim_end().ends_with(&"x".repeat(400))); // the end is kept
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
/// It is also bounded: past [`LINE_CHARS`] characters (escapes counted as written) its
/// middle is cut and `…` shown (its first [`HEAD_CHARS`] and its end are kept: a path's
/// file name), so a server's 5 MB name or error text is one readable line,
/// not five megabytes of terminal. A value in a column of a table or a summary line is
/// bounded tighter, by [`escape_field`]; and the whole line, however many values it
/// quotes, by [`Lines`].
pub fn escape_display(text: &str) -> std::borrow::Cow<'_, str> {
    shown(text, LINE_CHARS, HEAD_CHARS)
}

/// The most characters of outside text one line shows ([`escape_display`]): room for an
/// error message with its URL, not for a whole body.
pub const LINE_CHARS: usize = 1000;

/// Of a line cut at [`LINE_CHARS`], the characters kept before the `…`; the last
/// `LINE_CHARS - HEAD_CHARS` are kept after it. A line's end is what says what went
/// wrong (`…/s.db: File name too long`): a long path is cut in its middle, not its end.
pub const HEAD_CHARS: usize = 600;

/// The most characters of outside text one value of a table or summary line shows
/// ([`escape_field`]): a real name or summary is far shorter.
pub const FIELD_CHARS: usize = 100;

/// [`escape_display`] for one value among others on a line (a name, an id, a summary in
/// `get`'s table): at most [`FIELD_CHARS`] characters, then `…`.
pub fn escape_field(text: &str) -> std::borrow::Cow<'_, str> {
    shown(text, FIELD_CHARS, FIELD_CHARS)
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

/// `text` with its control characters escaped, at most `max` characters of it: past that,
/// its first `head` characters, `…`, and its last `max - head` (escapes counted as
/// written). An escape is never cut in two.
fn shown(text: &str, max: usize, head: usize) -> std::borrow::Cow<'_, str> {
    let plain = !text.chars().any(escaped);
    // Bytes are at least as many as characters: a short plain text is shown as it is.
    if plain && text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let width = |c: char| match escaped(c) {
        true => c.escape_default().count(),
        false => 1,
    };
    let push = |out: &mut String, part: &str| {
        for c in part.chars() {
            match escaped(c) {
                true => out.extend(c.escape_default()),
                false => out.push(c),
            }
        }
    };
    // Where the first `head` characters end, and whether the whole fits in `max`.
    let (mut count, mut head_end, mut fits) = (0, text.len(), true);
    for (at, c) in text.char_indices() {
        if count + width(c) > head && head_end == text.len() {
            head_end = at;
        }
        count += width(c);
        if count > max {
            fits = false;
            break;
        }
    }
    if fits {
        if plain {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 16);
        push(&mut out, text);
        return std::borrow::Cow::Owned(out);
    }
    let (mut count, mut tail_start) = (0, text.len());
    for (at, c) in text.char_indices().rev() {
        if count + width(c) > max - head || at < head_end {
            break;
        }
        count += width(c);
        tail_start = at;
    }
    let mut out = String::with_capacity(4 * max + 8);
    push(&mut out, &text[..head_end]);
    out.push('…');
    push(&mut out, &text[tail_start..]);
    std::borrow::Cow::Owned(out)
}

/// A writer that cuts every line written through it longer than [`LINE_CHARS`]
/// characters in its middle: its first [`HEAD_CHARS`], `…`, and its last
/// `LINE_CHARS - HEAD_CHARS`, so the end of an error line (its reason) survives a long
/// path before it. What comes in is text already escaped ([`escape_display`]), so a cut can
/// only split plain characters; an escape such as `\u{1b}` at either side of the cut goes
/// whole (the head's side, if it arrived in the same write).
///
/// The first [`HEAD_CHARS`] characters of a line pass on as they come; the rest is held
/// (at most the last `LINE_CHARS - HEAD_CHARS` characters) until the line's `\n` or a
/// flush. Each write is passed on as one write of what is kept, so a line that came in
/// one write (as a `LineWriter` sends it) leaves in one.
pub struct Lines<W: Write> {
    inner: W,
    /// Characters of the current line passed on (at most [`HEAD_CHARS`]).
    chars: usize,
    /// The line's head is passed on: what follows is held in `tail`.
    full: bool,
    /// The held end of the line.
    tail: std::collections::VecDeque<u8>,
    /// Characters in `tail`.
    tail_chars: usize,
    /// Characters were dropped from the front of `tail`: the line is cut.
    dropped: bool,
    /// The last bytes dropped, to tell whether `tail` starts inside an escape.
    gone: Vec<u8>,
}

impl<W: Write> Lines<W> {
    /// Cuts the lines written to `inner`.
    pub fn new(inner: W) -> Self {
        Lines {
            inner,
            chars: 0,
            full: false,
            tail: std::collections::VecDeque::new(),
            tail_chars: 0,
            dropped: false,
            gone: Vec::new(),
        }
    }

    /// Holds `b`, one byte of the line's end, dropping its oldest character past the bound.
    fn hold(&mut self, b: u8) {
        self.tail.push_back(b);
        if !first_byte(b) {
            return;
        }
        self.tail_chars += 1;
        if self.tail_chars <= LINE_CHARS - HEAD_CHARS {
            return;
        }
        // The oldest character, its first byte and those that follow it.
        while let Some(front) = self.tail.pop_front() {
            self.gone.push(front);
            if self.tail.front().is_none_or(|&next| first_byte(next)) {
                break;
            }
        }
        let extra = self.gone.len().saturating_sub(10);
        self.gone.drain(..extra);
        self.tail_chars -= 1;
        self.dropped = true;
    }

    /// Moves what is held of the line into `kept`: `…` and the end, if it was cut.
    fn release(&mut self, kept: &mut Vec<u8>) {
        if self.dropped {
            kept.extend_from_slice("…".as_bytes());
            let skip = broken_escape_front(&self.gone, &self.tail);
            self.tail.drain(..skip);
        }
        kept.extend(self.tail.drain(..));
        (self.tail_chars, self.dropped) = (0, false);
        self.gone.clear();
    }
}

impl<W: Write> Write for Lines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Counted by bytes: a character is its first byte (not 0b10xx_xxxx), and the bytes
        // that follow go with it, so a character split across two writes is not split.
        if !self.full && self.chars + buf.len() <= HEAD_CHARS {
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
                self.release(&mut kept);
                (self.chars, self.full) = (0, false);
                kept.push(b);
                continue;
            }
            if self.full {
                self.hold(b);
                continue;
            }
            if first_byte(b) && self.chars == HEAD_CHARS {
                // The head ends here, never inside an escape: the start of one it would
                // split is held with the rest.
                let at = broken_escape_back(&kept);
                let moved = kept.split_off(at);
                self.full = true;
                for m in moved {
                    self.hold(m);
                }
                self.hold(b);
                continue;
            }
            self.chars += usize::from(first_byte(b));
            kept.push(b);
        }
        self.inner.write_all(&kept)?;
        Ok(buf.len())
    }

    /// Passes on what is held of the current line too: a line flushed before its end shows
    /// its head and, for each flush, at most its last `LINE_CHARS - HEAD_CHARS` since.
    fn flush(&mut self) -> io::Result<()> {
        if !self.tail.is_empty() || self.dropped {
            let mut kept = Vec::new();
            self.release(&mut kept);
            self.inner.write_all(&kept)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Lines<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Whether `b` starts a character of UTF-8 (is not a `0b10xx_xxxx` byte that continues one).
fn first_byte(b: u8) -> bool {
    b & 0b1100_0000 != 0b1000_0000
}

/// Characters in `bytes` of UTF-8 (the bytes that start one).
fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| first_byte(b)).count()
}

/// Where an escape the cut would split starts at the end of `kept` (or `kept.len()`): a
/// `\u{…` without its `}` (at most 8 characters: `\u{10ffff`), or a lone `\` of a `\n`.
fn broken_escape_back(kept: &[u8]) -> usize {
    let start = kept.len().saturating_sub(9);
    let tail = &kept[start..];
    if let Some(at) = tail.windows(3).rposition(|w| w == b"\\u{") {
        if !tail[at..].contains(&b'}') {
            return start + at;
        }
    }
    let slashes = kept.iter().rev().take_while(|&&b| b == b'\\').count();
    match slashes % 2 {
        1 => kept.len() - 1,
        _ => kept.len(),
    }
}

/// How many bytes at the front of `tail` are the rest of an escape whose start was dropped
/// (`gone` holds the last bytes dropped): through its `}`, or the one character after a
/// lone `\`.
fn broken_escape_front(gone: &[u8], tail: &std::collections::VecDeque<u8>) -> usize {
    let front: Vec<u8> = tail.iter().take(10).copied().collect();
    let joined = [gone, &front].concat();
    for at in 0..gone.len() {
        if !joined[at..].starts_with(b"\\u") {
            continue;
        }
        let close = joined[at..].iter().position(|&b| b == b'}').map(|i| at + i);
        if let Some(close) = close.filter(|&c| c >= gone.len()) {
            if !joined[at + 1..close].contains(&b'\\') {
                return close + 1 - gone.len();
            }
        }
    }
    let slashes = gone.iter().rev().take_while(|&&b| b == b'\\').count();
    if slashes % 2 == 1 {
        return front.first().map_or(0, |_| 1);
    }
    0
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
        drop(lines);
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

    /// Of a line cut, what is kept after the `…`.
    const TAIL: usize = LINE_CHARS - HEAD_CHARS;

    #[test]
    fn every_line_is_cut_in_its_middle_once_assembled() {
        let long = format!("{}{}", "é".repeat(3 * LINE_CHARS), "z".repeat(TAIL));
        let text = format!("short\n{long}\n{}\nlast", "a".repeat(LINE_CHARS));
        for chunk in [1, 2, 3, 7, 1000, usize::MAX] {
            let shown = cut(&text, chunk.min(text.len()));
            let lines: Vec<&str> = shown.split('\n').collect();
            assert_eq!(lines.len(), 4, "{chunk}: {shown}");
            assert_eq!(lines[0], "short");
            // The head, `…`, and the line's end: what a line ends with survives.
            let expected = format!("{}…{}", "é".repeat(HEAD_CHARS), "z".repeat(TAIL));
            assert_eq!(lines[1], expected, "{chunk}");
            // Exactly LINE_CHARS is whole; the line after a cut starts afresh.
            assert_eq!(lines[2], "a".repeat(LINE_CHARS), "{chunk}");
            assert_eq!(lines[3], "last");
        }
    }

    #[test]
    fn a_long_error_line_keeps_its_reason() {
        let path = format!("/tmp/{}/s.db", "d".repeat(4000));
        let line = format!(
            "error: cannot create {}: File name too long (os error 36)\n",
            path
        );
        let shown = cut(&line, line.len());
        assert_eq!(shown.trim_end().chars().count(), LINE_CHARS + 1, "{shown}");
        assert!(
            shown.starts_with("error: cannot create /tmp/ddd"),
            "{shown}"
        );
        assert!(
            shown.ends_with("ddd/s.db: File name too long (os error 36)\n"),
            "{shown}"
        );
        // A value is cut in its middle too, then the line around it.
        let value = escape_display(&path);
        assert_eq!(value.chars().count(), LINE_CHARS + 1);
        assert!(
            value.starts_with("/tmp/ddd") && value.ends_with("ddd/s.db"),
            "{value}"
        );
        let both = format!("error: {value}: File name too long\n");
        let shown = cut(&both, 5);
        assert!(shown.ends_with("d/s.db: File name too long\n"), "{shown}");
        assert!(shown.trim_end().chars().count() <= LINE_CHARS + 1);
    }

    #[test]
    fn a_cut_never_splits_an_escape() {
        // At the head's end: an escape the head would split is held with the tail.
        for (tail, kept) in [("\\u{1b}", ""), ("x\\n", "x"), ("xy", "x")] {
            let text = format!(
                "{}{tail}{}",
                "a".repeat(HEAD_CHARS - 1),
                "b".repeat(LINE_CHARS)
            );
            let shown = cut(&text, text.len());
            assert_eq!(
                shown,
                format!("{}{kept}…{}", "a".repeat(HEAD_CHARS - 1), "b".repeat(TAIL)),
                "{tail}"
            );
        }
        // An escaped backslash (`\\`) before the cut is text, not half an escape.
        let text = format!(
            "{}\\\\x{}",
            "a".repeat(HEAD_CHARS - 2),
            "b".repeat(LINE_CHARS)
        );
        assert_eq!(
            cut(&text, text.len()),
            format!("{}\\\\…{}", "a".repeat(HEAD_CHARS - 2), "b".repeat(TAIL))
        );
        // At the tail's start: the rest of an escape whose start was dropped goes too.
        for (escape, rest) in [("\\u{1b}", 3), ("\\u{1b}", 1), ("\\n", 1)] {
            let end = format!(
                "{}{}",
                &escape[escape.len() - rest..],
                "b".repeat(TAIL - rest)
            );
            let text = format!(
                "{}{escape}{}",
                "a".repeat(LINE_CHARS),
                "b".repeat(TAIL - rest)
            );
            assert!(text.ends_with(&end));
            let shown = cut(&text, text.len());
            assert_eq!(
                shown,
                format!("{}…{}", "a".repeat(HEAD_CHARS), "b".repeat(TAIL - rest)),
                "{escape} {rest}"
            );
        }
        // Whole at the tail's start, an escape is kept.
        let text = format!(
            "{}\\u{{1b}}{}",
            "a".repeat(LINE_CHARS),
            "b".repeat(TAIL - 6)
        );
        assert_eq!(
            cut(&text, text.len()),
            format!(
                "{}…\\u{{1b}}{}",
                "a".repeat(HEAD_CHARS),
                "b".repeat(TAIL - 6)
            )
        );
    }
}
