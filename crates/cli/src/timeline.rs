//! Pictures of a run: an SVG Gantt chart to open in a browser ([`svg`]), and a Chrome
//! trace to open in Perfetto (ui.perfetto.dev) or chrome://tracing ([`write_trace`]).
//!
//! Concurrency is easier to believe when you can see it: in `names 20 --timeline t.svg`
//! the sequential mode is a staircase, the threads mode a few short stairs, the async mode
//! a single column.
//!
//! A picture may be of a million calls, and must not cost more memory than the run: the
//! bars are kept compact ([`Bars`], a few dozen bytes each), the trace is written
//! streaming to its file ([`write_trace_file`]), and the SVG draws at most
//! [`svg::MAX_DRAWN`] bars, saying how many it left out.
//!
//! ```
//! use std::time::Duration;
//! use asyncdex_engine::gather::Status;
//! use crate::timeline::{Bar, Group, svg, trace};
//!
//! let bar = |label: &str, ms: u64| Bar {
//!     label: label.into(),
//!     start: Duration::ZERO,
//!     end: Duration::from_millis(ms),
//!     retries: vec![],
//!     status: Status::Ok,
//! };
//! let bars = [bar("id 25", 100), bar("id 4", 90)].into_iter().collect();
//! let groups = vec![Group { name: "async".into(), bars, limit: vec![] }];
//! let picture = svg("names", &groups);
//! assert_eq!(picture.matches("class=\"bar ok\"").count(), 2);
//! let json: serde_json::Value = serde_json::from_str(&trace(&groups)).unwrap();
//! assert_eq!(json["traceEvents"].as_array().unwrap().len(), 2 + 1); // + the group's name
//! ```

use std::io::Write;
use std::time::Duration;

use asyncdex_engine::gather::Status;

mod bars;
pub mod svg;
mod trace;

pub use bars::{Bar, Bars};
pub use svg::svg;
#[cfg(test)]
pub use trace::trace;
pub use trace::write_trace;

/// A named set of bars sharing a time origin: a mode, a program.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its name (`"sequential"`).
    pub name: String,
    /// Its bars, top to bottom.
    pub bars: Bars,
    /// An adaptive limit's value over time (`-c auto`): when each value began. Drawn as a
    /// step line over the bars, scaled to its highest value. Empty for a fixed limit.
    pub limit: Vec<(Duration, usize)>,
}

fn colour_class(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Failed => "failed",
        Status::TimedOut => "timed_out",
        Status::Cancelled => "cancelled",
    }
}

/// `s` as XML text or an attribute value: markup escaped, and every character XML 1.0
/// cannot hold at all (C0 controls other than tab, newline and carriage return, U+FFFE,
/// U+FFFF), not even as `&#1;`, shown as U+FFFD instead, so that the SVG stays
/// well-formed whatever a label holds (a browser refuses to draw a file that is not).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
    out
}

/// Writes the SVG picture `contents` to `path` atomically (a temporary file, then a
/// rename), after asyncdex's mark ([`asyncdex::files::mark::SVG`]), replacing only a
/// picture asyncdex wrote (see [`asyncdex::files`]).
///
/// A picture is drawn when the run is done, but it is not the run's result: a file that
/// cannot be written now (it appeared during the run and is a database; the disk is full)
/// must not cost the report still to be printed. So a failure is kept, not returned, and
/// said after the report ([`unwritten`]), as the run's one `error:` line, exit 1.
pub fn write_file(path: &std::path::Path, contents: &str) -> asyncdex::Result<()> {
    keep_failure(asyncdex::files::write_atomic_with(path, |file| {
        file.write_all(asyncdex::files::mark::SVG.as_bytes())?;
        file.write_all(contents.as_bytes())
    }));
    Ok(())
}

/// Writes the trace of `groups` to `path` as [`write_file`] writes a file, atomically,
/// but streaming: event by event through the file's bounded buffer, never the whole
/// document in memory.
pub fn write_trace_file(path: &std::path::Path, groups: &[Group]) -> asyncdex::Result<()> {
    keep_failure(asyncdex::files::write_atomic_with(path, |file| {
        write_trace(file, groups)
    }));
    Ok(())
}

/// Keeps a write's failure for [`unwritten`].
fn keep_failure(written: asyncdex::Result<()>) {
    if let Err(e) = written {
        UNWRITTEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(e.to_string());
    }
}

/// The files [`write_file`] could not write, in order.
static UNWRITTEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// The error for the files this run could not write (taken: asked once, at the end), or
/// `None` if every file was written.
pub fn unwritten() -> Option<asyncdex::Error> {
    let failed = std::mem::take(
        &mut *UNWRITTEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    (!failed.is_empty()).then(|| {
        asyncdex::Error::new(
            asyncdex::ErrorKind::Io,
            format!("{}; the run's results are above", failed.join("; ")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adaptive_limit_is_drawn_beside_the_calls_and_traced_as_a_counter() {
        let ms = Duration::from_millis;
        let bar = Bar {
            label: "id 1".into(),
            start: Duration::ZERO,
            end: ms(300),
            retries: vec![],
            status: Status::Ok,
        };
        let limit = vec![(Duration::ZERO, 4), (ms(100), 8), (ms(200), 6)];
        let groups = vec![Group {
            name: "async".into(),
            bars: [bar].into_iter().collect(),
            limit,
        }];
        let picture = svg("names", &groups);
        assert_eq!(picture.matches("<polyline class=\"limit\"").count(), 1);
        assert!(
            picture.contains("limit 8"),
            "labelled with its highest value"
        );
        let json: serde_json::Value = serde_json::from_str(&trace(&groups)).unwrap();
        let counters: Vec<u64> = json["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "C")
            .map(|e| e["args"]["limit"].as_u64().unwrap())
            .collect();
        assert_eq!(counters, [4, 8, 6]);
    }

    #[test]
    fn a_label_with_control_characters_still_makes_well_formed_xml() {
        let label = "</text><script>x</script>&amp;\u{1}\u{1b}[31m\u{0}\u{fffe}\u{ffff}\ttab";
        let bar = Bar {
            label: label.into(),
            start: Duration::ZERO,
            end: Duration::from_millis(5),
            retries: vec![],
            status: Status::Ok,
        };
        let groups = vec![Group {
            name: format!("group {label}"),
            bars: [bar].into_iter().collect(),
            limit: vec![],
        }];
        let picture = svg(&format!("title {label}"), &groups);
        let doc = roxmltree::Document::parse(&picture).unwrap_or_else(|e| panic!("{e}"));
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("</text><script>x</script>&amp;\u{fffd}\u{fffd}[31m")),
            "the label is shown, markup as text: {texts:?}"
        );
        assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
    }
}
