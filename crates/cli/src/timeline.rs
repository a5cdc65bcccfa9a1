//! Pictures of a run: an SVG Gantt chart to open in a browser, and a Chrome trace to open
//! in Perfetto (ui.perfetto.dev) or chrome://tracing.
//!
//! Concurrency is easier to believe when you can see it: in `names 20 --timeline t.svg`
//! the sequential mode is a staircase, the threads mode a few short stairs, the async mode
//! a single column.
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
//! let bars = vec![bar("id 25", 100), bar("id 4", 90)];
//! let groups = vec![Group { name: "async".into(), bars, limit: vec![] }];
//! let picture = svg("names", &groups);
//! assert_eq!(picture.matches("class=\"bar ok\"").count(), 2);
//! let json: serde_json::Value = serde_json::from_str(&trace(&groups)).unwrap();
//! assert_eq!(json["traceEvents"].as_array().unwrap().len(), 2 + 1); // + the group's name
//! ```

use std::fmt::Write;
use std::time::Duration;

use serde_json::json;

use asyncdex_engine::gather::Status;

/// One bar: a call or a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What it was (`"id 25"`, `"light: connect"`).
    pub label: String,
    /// When it started, from its group's start.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
    /// When each retry started (drawn as ticks).
    pub retries: Vec<Duration>,
    /// How it ended (the colour).
    pub status: Status,
}

/// A named set of bars sharing a time origin: a mode, a program.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its name (`"sequential"`).
    pub name: String,
    /// Its bars, top to bottom.
    pub bars: Vec<Bar>,
    /// An adaptive limit's value over time (`-c auto`): when each value began. Drawn as a
    /// step line over the bars, scaled to its highest value. Empty for a fixed limit.
    pub limit: Vec<(Duration, usize)>,
}

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 30.0;
const HEADER: f64 = 22.0;

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

/// A "nice" tick step (1, 2 or 5 × 10^n ms) giving about 10 ticks over `total_ms`.
fn tick_step(total_ms: f64) -> f64 {
    let raw = (total_ms / 10.0).max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * mag)
}

/// Renders `groups` stacked, on one time axis in ms, under `title`.
pub fn svg(title: &str, groups: &[Group]) -> String {
    let total = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.end))
        .max()
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let total = total.max(1.0);
    let rows: usize = groups.iter().map(|g| g.bars.len()).sum();
    let row = if rows > 400 {
        3.0
    } else if rows > 120 {
        6.0
    } else {
        14.0
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |ms: f64| LEFT + ms / total * plot_w;
    let height = 60.0 + groups.len() as f64 * HEADER + rows as f64 * row + 40.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11">
<title>{t}</title>
<style>.bar{{stroke:none}}.ok{{fill:#3a8ee6}}.failed{{fill:#e05252}}.timed_out{{fill:#e0a030}}.cancelled{{fill:#aaaaaa}}.retry{{stroke:#222;stroke-width:1.5}}.grid{{stroke:#ddd}}.group{{font-weight:bold;font-size:13px}}.limit{{fill:none;stroke:#2a9d4a;stroke-width:1.5}}</style>
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="22" font-size="15" font-weight="bold">{t}</text>
"#,
        t = escape(title)
    );
    // Time axis: grid lines and labels.
    let step = tick_step(total);
    let axis_y = height - 30.0;
    let mut tick = 0.0;
    while tick <= total + 1e-9 {
        let _ = writeln!(
            out,
            r#"<line class="grid" x1="{0:.1}" y1="40" x2="{0:.1}" y2="{axis_y:.1}"/><text x="{0:.1}" y="{1:.1}" text-anchor="middle">{2}</text>"#,
            x(tick),
            axis_y + 14.0,
            tick
        );
        tick += step;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">time (ms)</text>"#,
        WIDTH - RIGHT,
        axis_y + 28.0
    );
    let mut y = 44.0;
    for group in groups {
        let _ = writeln!(
            out,
            r#"<text class="group" x="8" y="{:.1}">{}</text>"#,
            y + 14.0,
            escape(&group.name)
        );
        y += HEADER;
        let bottom = y + group.bars.len() as f64 * row;
        limit_line(&mut out, &group.limit, (y, bottom), total, &x);
        for bar in &group.bars {
            let (s, e) = (
                bar.start.as_secs_f64() * 1000.0,
                bar.end.as_secs_f64() * 1000.0,
            );
            if row >= 10.0 {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                    LEFT - 6.0,
                    y + row - 3.0,
                    escape(&bar.label)
                );
            }
            let _ = writeln!(
                out,
                r#"<rect class="bar {}" x="{:.2}" y="{:.1}" width="{:.2}" height="{:.1}"><title>{}: {:.1}–{:.1} ms, {}</title></rect>"#,
                colour_class(bar.status),
                x(s),
                y + 1.0,
                (x(e) - x(s)).max(1.0),
                (row - 2.0).max(1.0),
                escape(&bar.label),
                s,
                e,
                colour_class(bar.status)
            );
            for r in &bar.retries {
                let rx = x(r.as_secs_f64() * 1000.0);
                let _ = writeln!(
                    out,
                    r#"<line class="retry" x1="{rx:.2}" y1="{:.1}" x2="{rx:.2}" y2="{:.1}"/>"#,
                    y,
                    y + row
                );
            }
            y += row;
        }
    }
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="36" fill="#555">blue ok · red failed · orange timed out · grey cancelled · black tick: a retry · green line: the limit (-c auto)</text>"##
    );
    out.push_str("</svg>\n");
    out
}

/// An adaptive limit as a step line between `top` and `bottom` (its highest value at the
/// top), from its first value to the end of the axis, labelled with that highest value.
fn limit_line(
    out: &mut String,
    limit: &[(Duration, usize)],
    (top, bottom): (f64, f64),
    total_ms: f64,
    x: &impl Fn(f64) -> f64,
) {
    let Some(highest) = limit.iter().map(|l| l.1).max() else {
        return;
    };
    let y = |l: usize| bottom - (bottom - top) * l as f64 / highest.max(1) as f64;
    let mut points = Vec::with_capacity(limit.len() * 2 + 1);
    for (i, &(at, l)) in limit.iter().enumerate() {
        let at = x(at.as_secs_f64() * 1000.0);
        if i > 0 {
            points.push(format!("{at:.1},{:.1}", y(limit[i - 1].1)));
        }
        points.push(format!("{at:.1},{:.1}", y(l)));
    }
    let last = limit[limit.len() - 1].1;
    points.push(format!("{:.1},{:.1}", x(total_ms), y(last)));
    let _ = writeln!(
        out,
        r##"<polyline class="limit" points="{}"><title>limit (-c auto): {} at the end, at most {highest}</title></polyline><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#2a9d4a">limit {highest}</text>"##,
        points.join(" "),
        last,
        x(total_ms),
        top + 10.0
    );
}

/// The Chrome trace event format: one complete event (`ph: "X"`) per bar, one thread per
/// group (named by a metadata event), times in microseconds.
pub fn trace(groups: &[Group]) -> String {
    let mut events = Vec::new();
    for (tid, group) in groups.iter().enumerate() {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
            "args": {"name": group.name},
        }));
        for bar in &group.bars {
            events.push(json!({
                "name": bar.label,
                "cat": colour_class(bar.status),
                "ph": "X",
                "ts": bar.start.as_micros() as u64,
                "dur": (bar.end.saturating_sub(bar.start)).as_micros() as u64,
                "pid": 1,
                "tid": tid,
                "args": {"status": colour_class(bar.status), "retries": bar.retries.len()},
            }));
        }
        // A counter track (`ph: "C"`) of the adaptive limit, beside the group's calls.
        for &(at, limit) in &group.limit {
            events.push(json!({
                "name": format!("{} limit", group.name),
                "ph": "C",
                "ts": at.as_micros() as u64,
                "pid": 1,
                "tid": tid,
                "args": {"limit": limit},
            }));
        }
    }
    crate::json::to_string(&json!({"traceEvents": events, "displayTimeUnit": "ms"}))
}

/// Writes `contents` to `path` atomically (a temporary file, then a rename), replacing
/// only a file of its own kind (see [`asyncdex::files`]).
///
/// A picture is drawn when the run is done, but it is not the run's result: a file that
/// cannot be written now (it appeared during the run and is a database; the disk is full)
/// must not cost the report still to be printed. So a failure is kept, not returned, and
/// said after the report ([`unwritten`]), as the run's one `error:` line, exit 1.
pub fn write_file(path: &std::path::Path, contents: &str) -> asyncdex::Result<()> {
    if let Err(e) = asyncdex::files::write_atomic(path, contents.as_bytes()) {
        UNWRITTEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(e.to_string());
    }
    Ok(())
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
            bars: vec![bar],
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
            bars: vec![bar],
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
