//! The SVG Gantt chart: one row per call, on one time axis, at most [`MAX_DRAWN`] rows.
//!
//! A browser draws a few thousand rectangles at once; a million (`names 1000000
//! --timeline`) would be a 150 MB file no viewer opens, three pixels a row, three million
//! pixels tall. So past [`MAX_DRAWN`] bars in a picture, 1 call in every `k` is drawn
//! (the same `k` for every group, so that groups compare), which keeps the shape of the
//! run (the staircase, the column), and each group's heading says so and counts how all
//! its calls ended: a failure that was not drawn is still counted. An adaptive limit's
//! line is thinned the same way, to at most [`MAX_DRAWN`] steps.

use std::fmt::Write;

use super::{colour_class, escape, Group};
use asyncdex_engine::gather::Status;

/// The most bars one picture draws.
pub const MAX_DRAWN: usize = 2000;

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 30.0;
const HEADER: f64 = 22.0;

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

/// 1 bar in how many is drawn for `rows` bars in all: 1 up to [`MAX_DRAWN`].
fn stride(rows: usize) -> usize {
    rows.div_ceil(MAX_DRAWN).max(1)
}

/// A group's heading: its name, and when not every call is drawn, how many were, and how
/// all of them ended.
fn heading(group: &Group, every: usize) -> String {
    if every == 1 {
        return escape(&group.name);
    }
    let n = group.bars.len();
    let counts: Vec<String> = [
        Status::Ok,
        Status::Failed,
        Status::TimedOut,
        Status::Cancelled,
    ]
    .into_iter()
    .filter_map(|status| {
        let count = group
            .bars
            .statuses()
            .iter()
            .filter(|s| **s == status)
            .count();
        (count > 0).then(|| format!("{count} {}", status.as_str().replace('_', " ")))
    })
    .collect();
    format!(
        "{}: {n} calls, 1 in {every} drawn ({}); {}",
        escape(&group.name),
        n.div_ceil(every),
        counts.join(", ")
    )
}

/// Renders `groups` stacked, on one time axis in ms, under `title`.
pub fn svg(title: &str, groups: &[Group]) -> String {
    let total = groups
        .iter()
        .map(|g| g.bars.last_end())
        .max()
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let total = total.max(1.0);
    let every = stride(groups.iter().map(|g| g.bars.len()).sum());
    let rows: usize = groups.iter().map(|g| g.bars.len().div_ceil(every)).sum();
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
            heading(group, every)
        );
        y += HEADER;
        let bottom = y + group.bars.len().div_ceil(every) as f64 * row;
        limit_line(&mut out, &group.limit, (y, bottom), total, &x);
        for bar in group.bars.iter().step_by(every) {
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
/// Past [`MAX_DRAWN`] changes, 1 in every `k` is drawn (and the last).
fn limit_line(
    out: &mut String,
    limit: &[(std::time::Duration, usize)],
    (top, bottom): (f64, f64),
    total_ms: f64,
    x: &impl Fn(f64) -> f64,
) {
    let Some(highest) = limit.iter().map(|l| l.1).max() else {
        return;
    };
    let every = stride(limit.len());
    let last = limit.len() - 1;
    let drawn: Vec<_> = (0..limit.len())
        .filter(|i| i % every == 0 || *i == last)
        .map(|i| limit[i])
        .collect();
    let y = |l: usize| bottom - (bottom - top) * l as f64 / highest.max(1) as f64;
    let mut points = String::new();
    for (i, &(at, l)) in drawn.iter().enumerate() {
        let at = x(at.as_secs_f64() * 1000.0);
        if i > 0 {
            let _ = write!(points, "{at:.1},{:.1} ", y(drawn[i - 1].1));
        }
        let _ = write!(points, "{at:.1},{:.1} ", y(l));
    }
    let last = limit[last].1;
    let _ = write!(points, "{:.1},{:.1}", x(total_ms), y(last));
    let _ = writeln!(
        out,
        r##"<polyline class="limit" points="{points}"><title>limit (-c auto): {} at the end, at most {highest}</title></polyline><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#2a9d4a">limit {highest}</text>"##,
        last,
        x(total_ms),
        top + 10.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Bars;
    use std::time::Duration;

    #[test]
    fn a_picture_of_many_calls_draws_at_most_max_drawn_and_says_so() {
        let ms = Duration::from_millis;
        let mut bars = Bars::default();
        for i in 0..10_001u64 {
            let status = if i == 3 { Status::Failed } else { Status::Ok };
            bars.push(&format!("id {i}"), ms(i), ms(i + 10), &[], status);
        }
        let limit = (0..5000).map(|i| (ms(i), 1 + i as usize % 7)).collect();
        let groups = [Group {
            name: "async".into(),
            bars,
            limit,
        }];
        let picture = svg("names", &groups);
        let doc = roxmltree::Document::parse(&picture).unwrap_or_else(|e| panic!("{e}"));
        let drawn = doc
            .descendants()
            .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("bar ")))
            .count();
        assert!(drawn <= MAX_DRAWN && drawn > MAX_DRAWN / 2, "{drawn} drawn");
        let heading = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("group"))
            .and_then(|n| n.text())
            .unwrap();
        assert_eq!(
            heading,
            format!("async: 10001 calls, 1 in 6 drawn ({drawn}); 10000 ok, 1 failed")
        );
        // The time axis is the whole run's, not the drawn bars'.
        assert!(picture.contains(">10000</text>"), "axis reaches 10 010 ms");
        let points = doc
            .descendants()
            .find(|n| n.has_tag_name("polyline"))
            .and_then(|n| n.attribute("points"))
            .unwrap();
        assert!(points.split(' ').count() <= 2 * MAX_DRAWN + 2);
    }
}
