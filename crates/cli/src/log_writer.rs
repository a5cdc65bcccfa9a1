//! Where log lines (warnings from the libraries, `-v` notes) go: stderr, with what
//! tracing's own escaping leaves through made visible.
//!
//! tracing writes an ESC in a message as `\x1b`, but not a C1 control (U+009B is a CSI on
//! many terminals) nor Unicode's bidirectional overrides (U+202E reverses the text after
//! it): a warning quoting a path or a server's text could still restyle or reorder the
//! line. Each event comes as one write of its whole line, so it is escaped here, as
//! [`crate::commands::report::escape_display`] would, before it reaches stderr. The ESC
//! of tracing's own colours (on a terminal) is left alone: it is not outside text.

use std::borrow::Cow;
use std::io::Write;

use crate::commands::report::is_bidi_control;

/// The writer given to tracing: stderr, escaped (see the module docs).
pub struct Stderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = Escaping;

    fn make_writer(&'a self) -> Escaping {
        Escaping
    }
}

/// One event's writer (see [`Stderr`]).
pub struct Escaping;

impl Write for Escaping {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match std::str::from_utf8(buf) {
            Ok(text) => std::io::stderr().write_all(escaped(text).as_bytes()),
            Err(_) => std::io::stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Whether a log line shows `c` as an escape: a C1 control or a bidirectional control.
fn hidden(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c) || is_bidi_control(c)
}

/// `line` with its C1 and bidirectional controls written as `\u{9b}`, `\u{202e}`.
fn escaped(line: &str) -> Cow<'_, str> {
    if !line.chars().any(hidden) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        match hidden(c) {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_c1_are_shown_newlines_and_colours_kept() {
        let line = "\u{1b}[33m WARN\u{1b}[0m cache: g\u{202e}x\u{9b}31m/e.db is not a cache\n";
        assert_eq!(
            escaped(line),
            "\u{1b}[33m WARN\u{1b}[0m cache: g\\u{202e}x\\u{9b}31m/e.db is not a cache\n"
        );
        let plain = "WARN pool 'threads': cannot start thread 4 (ピカチュウ)\n";
        assert!(matches!(escaped(plain), Cow::Borrowed(_)));
    }
}
