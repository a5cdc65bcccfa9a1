//! Where log lines (warnings from the libraries, `-v` notes) go: stderr, escaped the way
//! every other line is.
//!
//! A log event quotes outside text: a path (`serve --from` a folder named with a newline),
//! a server's error. tracing's own formatter escapes only some of it (an ESC as `\x1b`, a
//! C1 control), and not a newline nor a bidirectional override: one event could become
//! two lines, the second forged, and the escapes differed from the rest of the tool's. So
//! the event's fields are formatted here ([`fields`]): each value through
//! [`escape_display`], exactly as the report's lines (`\u{1b}`, `\n`, `\u{202e}`). And
//! each event, one write of its whole line, is checked once more on its way to stderr
//! ([`Stderr`]): a control or bidirectional character left in it is written as an escape,
//! all but the line's final newline and the ESC of tracing's own colours (on a terminal),
//! which is not outside text; and the line is cut as every other is ([`Lines`]: its
//! middle, past 1 000 characters, so a warning's reason survives a long path).

use std::borrow::Cow;
use std::fmt;
use std::io::Write;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{debug_fn, Writer};
use tracing_subscriber::fmt::FormatFields;

use crate::commands::report::{escape_display, Lines};

/// How an event's fields are written: its message, then ` name=value`, each value escaped
/// by [`escape_display`] (see the module docs). The layout is tracing's own; the fields
/// `log.*` (the `log` crate's metadata, shown by tracing already) are left out as it does.
pub fn fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    debug_fn(field).delimited(" ")
}

/// One field of an event (see [`fields`]).
fn field(w: &mut Writer<'_>, field: &tracing::field::Field, value: &dyn fmt::Debug) -> fmt::Result {
    let text = format!("{value:?}");
    let shown = escape_display(&text);
    match field.name() {
        "message" => write!(w, "{shown}"),
        name if name.starts_with("log.") => Ok(()),
        name => {
            let name = name.strip_prefix("r#").unwrap_or(name);
            match w.has_ansi_escapes() {
                true => write!(w, "\u{1b}[3m{name}\u{1b}[0m\u{1b}[2m=\u{1b}[0m{shown}"),
                false => write!(w, "{name}={shown}"),
            }
        }
    }
}

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
            // Cut as every line is (its middle, past 1 000 characters): one write.
            Ok(text) => Lines::new(stderr()).write_all(escaped(text).as_bytes()),
            Err(_) => stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        stderr().flush()
    }
}

/// Stderr, whose writes wait for a full pipe (the `full_pipe` module) as the report's do.
fn stderr() -> crate::full_pipe::Patient<std::io::Stderr> {
    crate::full_pipe::Patient::new(std::io::stderr(), 2)
}

/// Whether a log line shows `c` as an escape: what [`escape_display`] escapes, but the ESC
/// of tracing's colours (the fields' own ESC are escaped already, by [`fields`]).
fn hidden(c: char) -> bool {
    crate::json::hidden(c) && c != '\u{1b}'
}

/// `line` (one event, ending in its newline) with every control or bidirectional character
/// written as `\u{9b}`, `\n`, `\u{202e}`: all but its final newline and ESC.
fn escaped(line: &str) -> Cow<'_, str> {
    let (body, end) = match line.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (line, ""),
    };
    if !body.chars().any(hidden) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in body.chars() {
        match hidden(c) {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    out.push_str(end);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn controls_and_overrides_are_shown_the_final_newline_and_colours_kept() {
        let line = "\u{1b}[33m WARN\u{1b}[0m cache: g\u{202e}x\u{9b}31m/e.db is not a cache\n";
        assert_eq!(
            escaped(line),
            "\u{1b}[33m WARN\u{1b}[0m cache: g\\u{202e}x\\u{9b}31m/e.db is not a cache\n"
        );
        // One event is one line: a newline inside it would start a forged one.
        let forged = "ERROR cannot read /tmp/x\n2026-12-03T00:00:00Z  INFO served\r\u{7}\n";
        assert_eq!(
            escaped(forged),
            "ERROR cannot read /tmp/x\\n2026-12-03T00:00:00Z  INFO served\\r\\u{7}\n"
        );
        let plain = "WARN pool 'threads': cannot start thread 4 (ピカチュウ)\n";
        assert!(matches!(escaped(plain), Cow::Borrowed(_)));
    }

    /// What tracing writes for the events `log` sends, formatted with [`fields`].
    fn logged(ansi: bool, log: impl FnOnce()) -> String {
        #[derive(Clone)]
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = Shared(Arc::new(Mutex::new(Vec::new())));
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .fmt_fields(fields())
            .with_ansi(ansi)
            .without_time()
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn an_event_quoting_a_path_is_one_line_escaped_like_the_report() {
        let dir = "/tmp/e\u{1b}[31mRED\nNL\u{202e}";
        let shown = logged(false, || {
            tracing::error!("mirror: cannot serve pokemon/3: cannot read {dir}/data: a FIFO");
            tracing::warn!(path = %dir, n = 3, "cache: not used");
        });
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 2, "{shown}");
        assert!(
            lines[0].ends_with(
                "mirror: cannot serve pokemon/3: cannot read /tmp/e\\u{1b}[31mRED\\nNL\\u{202e}/data: a FIFO"
            ),
            "{shown}"
        );
        assert!(
            lines[1].ends_with("cache: not used path=/tmp/e\\u{1b}[31mRED\\nNL\\u{202e} n=3"),
            "{shown}"
        );
        // In colour, tracing's own ESC are kept; the text's are escaped all the same.
        let coloured = logged(true, || tracing::warn!(path = %dir, "x\u{1b}]0;t\u{7}"));
        assert_eq!(coloured.lines().count(), 1, "{coloured}");
        assert!(coloured.contains("\u{1b}[3mpath"), "{coloured:?}");
        assert!(
            coloured.contains("x\\u{1b}]0;t\\u{7} ")
                && coloured.contains("=\u{1b}[0m/tmp/e\\u{1b}[31mRED\\n"),
            "{coloured:?}"
        );
    }
}
