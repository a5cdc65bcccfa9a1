//! Who wrote a file: the mark asyncdex puts first in every picture it writes, so that a
//! picture replaces only a picture asyncdex wrote.
//!
//! A file's first bytes say what it *is* ([`Kind`](super::Kind)), but not whose it is:
//! an SVG a user drew by hand, or a logo, is as much an SVG picture as a timeline, and
//! `--timeline logo.svg` would replace it without a word if its kind were all that was
//! asked. So every SVG and every trace asyncdex writes begins with a mark, and an
//! existing picture is replaced only if it bears one: the previous run's timeline is
//! replaced, the logo is named and left as it was.
//!
//! The marks are part of each format, so the files stay what they were to every reader:
//! an XML comment before `<svg` ([`SVG`]), and a `otherData` member, which the Chrome
//! trace format keeps for exactly this (Perfetto shows it as the trace's metadata),
//! before `traceEvents` ([`TRACE`]).
//!
//! ```
//! use asyncdex::files::mark;
//!
//! assert!(mark::is_marked(format!("{}<svg/>", mark::SVG).as_bytes()));
//! assert!(mark::is_marked(format!("{}]}}", mark::TRACE).as_bytes()));
//! assert!(!mark::is_marked(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"));
//! assert!(!mark::is_marked(b"{\"traceEvents\":[]}"));
//! ```

/// The first line of every SVG picture asyncdex writes (a timeline, a chart).
pub const SVG: &str = "<!-- Written by asyncdex: its next run may replace this file. -->\n";

/// How every trace asyncdex writes begins: its events follow, then `]}`.
pub const TRACE: &str = "{\"otherData\":{\"writtenBy\":\"asyncdex\"},\"traceEvents\":[";

/// Whether `head` (a file's first bytes) begins with one of asyncdex's marks. Only at the
/// very start: a file that merely quotes a mark somewhere is not asyncdex's.
pub fn is_marked(head: &[u8]) -> bool {
    [SVG, TRACE].iter().any(|m| head.starts_with(m.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::Kind;

    #[test]
    fn a_marked_file_is_still_of_its_kind() {
        assert_eq!(Kind::of(format!("{SVG}<svg>").as_bytes()), Kind::Svg);
        let trace = format!("{TRACE}{{\"ph\":\"X\"}}]}}");
        assert_eq!(Kind::of(trace.as_bytes()), Kind::Trace);
        let value: serde_json::Value = serde_json::from_str(&trace).unwrap();
        assert_eq!(value["otherData"]["writtenBy"], "asyncdex");
    }

    #[test]
    fn a_mark_counts_only_at_the_start() {
        assert!(!is_marked(format!(" {SVG}<svg>").as_bytes()));
        assert!(!is_marked(format!("<svg>{SVG}").as_bytes()));
        assert!(!is_marked(&SVG.as_bytes()[..SVG.len() - 1]), "cut short");
    }
}
