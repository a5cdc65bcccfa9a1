//! A log-log chart of wall time against N, one line per mode, as SVG.
//!
//! On log-log axes a cost proportional to N is a straight line of slope 1, and a cost
//! that does not grow with N is flat: the three modes' growth curves are told apart at a
//! glance.

use std::fmt::Write;

use crate::timeline::escape;

/// One series: a name and its (N, milliseconds) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its name (the mode).
    pub name: String,
    /// Measured points.
    pub points: Vec<(f64, f64)>,
    /// Ideal points, drawn dashed.
    pub ideal: Vec<(f64, f64)>,
}

const COLOURS: [&str; 4] = ["#e05252", "#e0a030", "#3a8ee6", "#50a050"];

fn decades(lo: f64, hi: f64) -> (f64, f64) {
    (
        lo.max(1e-9).log10().floor(),
        hi.max(1e-9)
            .log10()
            .ceil()
            .max(lo.max(1e-9).log10().floor() + 1.0),
    )
}

/// A vertical grid line and its label at each power of ten from `10^x0` to `10^x1`,
/// between heights `top` and `bottom`.
fn decade_lines(
    out: &mut String,
    (x0, x1): (f64, f64),
    px: impl Fn(f64) -> f64,
    (top, bottom): (f64, f64),
) {
    for d in (x0 as i32)..=(x1 as i32) {
        let x = px(10f64.powi(d));
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            bottom + 16.0,
            10f64.powi(d)
        );
    }
}

/// Renders `series` on log-log axes: x = N, y = wall time in ms.
pub fn loglog(title: &str, series: &[Series]) -> String {
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().chain(&s.ideal))
        .copied()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .collect();
    let (xs, ys): (Vec<f64>, Vec<f64>) = all.iter().copied().unzip();
    let fold = |v: &[f64], f: fn(f64, f64) -> f64, init: f64| v.iter().copied().fold(init, f);
    let (x0, x1) = decades(fold(&xs, f64::min, f64::MAX), fold(&xs, f64::max, 1.0));
    let (y0, y1) = decades(fold(&ys, f64::min, f64::MAX), fold(&ys, f64::max, 1.0));
    let (w, h, left, top, right, bottom) = (760.0, 480.0, 80.0, 50.0, 160.0, 60.0);
    let px = |x: f64| left + (x.log10() - x0) / (x1 - x0) * (w - left - right);
    let py = |y: f64| h - bottom - (y.log10() - y0) / (y1 - y0) * (h - top - bottom);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">
<title>{title}</title><rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="24" font-size="15" font-weight="bold">{title}</text>"#
    );
    decade_lines(&mut out, (x0, x1), px, (top, h - bottom));
    for d in (y0 as i32)..=(y1 as i32) {
        let y = py(10f64.powi(d));
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            w - right,
            left - 6.0,
            y + 4.0,
            10f64.powi(d)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">N (calls)</text>"#,
        (left + w - right) / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        out,
        r#"<text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">wall time (ms)</text>"#,
        (top + h - bottom) / 2.0,
        (top + h - bottom) / 2.0
    );
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let path = |pts: &[(f64, f64)]| {
            pts.iter()
                .filter(|(x, y)| *x > 0.0 && *y > 0.0)
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            out,
            r#"<polyline class="ideal" fill="none" stroke="{colour}" stroke-width="1" stroke-dasharray="4 3" points="{}"/>"#,
            path(&s.ideal)
        );
        let _ = writeln!(
            out,
            r#"<polyline class="series" data-mode="{}" fill="none" stroke="{colour}" stroke-width="2.5" points="{}"/>"#,
            s.name,
            path(&s.points)
        );
        for &(x, y) in &s.points {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>{}: N={x}, {y:.1} ms</title></circle>"#,
                px(x),
                py(y),
                s.name
            );
        }
        let ly = top + 20.0 + i as f64 * 20.0;
        let _ = writeln!(
            out,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2.5"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            w - right + 14.0,
            w - right + 40.0,
            w - right + 46.0,
            ly + 4.0,
            s.name
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" fill="#555">dashed: ideal</text>"##,
        w - right + 14.0,
        top + 20.0 + series.len() as f64 * 20.0 + 4.0
    );
    out.push_str("</svg>\n");
    out
}

/// The smallest of 1, 2, 4, 5 or 8 × 10^k at least `v`: an axis top whose quarters read
/// well.
fn nice(v: f64) -> f64 {
    let v = if v.is_finite() && v > 0.0 { v } else { 1.0 };
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 4.0, 5.0, 8.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&top| top >= v)
        .unwrap_or(10.0 * magnitude)
}

/// One point of a concurrency sweep, as [`knee`] draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KneePoint {
    /// Calls in flight allowed (for an adaptive limit: where it settled).
    pub concurrency: f64,
    /// Successful calls per second.
    pub throughput: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// An adaptive limit's point: drawn as a marker, not on the lines.
    pub auto: bool,
}

/// Renders a concurrency sweep: x = calls in flight (log), throughput on the left axis
/// and p99 latency on the right (both from 0), the fixed limits joined by lines and
/// where `auto` settled marked on both. The knee is where throughput stops growing and
/// p99 starts to. `subtitle` (what was measured against) goes under the title.
pub fn knee(title: &str, subtitle: &str, points: &[KneePoint]) -> String {
    let (title, subtitle) = (escape(title), escape(subtitle));
    let mut fixed: Vec<KneePoint> = points.iter().copied().filter(|p| !p.auto).collect();
    fixed.sort_by(|a, b| a.concurrency.total_cmp(&b.concurrency));
    let valid =
        |p: &&KneePoint| p.concurrency >= 1.0 && p.throughput.is_finite() && p.p99_ms.is_finite();
    let shown: Vec<&KneePoint> = points.iter().filter(valid).collect();
    let fold = |f: fn(&KneePoint) -> f64, g: fn(f64, f64) -> f64, init: f64| {
        shown.iter().map(|p| f(p)).fold(init, g)
    };
    let (x0, x1) = decades(
        fold(|p| p.concurrency, f64::min, f64::MAX),
        fold(|p| p.concurrency, f64::max, 1.0),
    );
    let t1 = nice(fold(|p| p.throughput, f64::max, 1.0) * 1.05);
    let l1 = nice(fold(|p| p.p99_ms, f64::max, 1.0) * 1.05);
    let (w, h, left, top, right, bottom) = (760.0, 480.0, 80.0, 60.0, 90.0, 60.0);
    let px = |x: f64| left + (x.max(1.0).log10() - x0) / (x1 - x0) * (w - left - right);
    let py = |y: f64, top_value: f64| h - bottom - y / top_value * (h - top - bottom);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">
<title>{title}</title><rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="22" font-size="15" font-weight="bold">{title}</text>
<text x="{left}" y="38" fill="#555">{subtitle}</text>"##
    );
    decade_lines(&mut out, (x0, x1), px, (top, h - bottom));
    for i in 0..=4 {
        let f = f64::from(i) / 4.0;
        let y = py(f * t1, t1);
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{}">{:.0}</text><text x="{:.1}" y="{:.1}" fill="{}">{:.0}</text>"##,
            w - right,
            left - 6.0,
            y + 4.0,
            COLOURS[2],
            f * t1,
            w - right + 6.0,
            y + 4.0,
            COLOURS[0],
            f * l1
        );
    }
    let mid = (top + h - bottom) / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">calls in flight (-c)</text>
<text x="16" y="{mid:.1}" transform="rotate(-90 16 {mid:.1})" text-anchor="middle" fill="{}">throughput (ok calls/s)</text>
<text x="{:.1}" y="{mid:.1}" transform="rotate(90 {:.1} {mid:.1})" text-anchor="middle" fill="{}">p99 latency (ms)</text>"#,
        (left + w - right) / 2.0,
        h - 18.0,
        COLOURS[2],
        w - 20.0,
        w - 20.0,
        COLOURS[0]
    );
    let line = |class: &str, colour: &str, y: fn(&KneePoint) -> f64, top_value: f64| {
        let pts: Vec<String> = fixed
            .iter()
            .filter(valid)
            .map(|p| format!("{:.1},{:.1}", px(p.concurrency), py(y(p), top_value)))
            .collect();
        format!(
            r#"<polyline class="{class}" fill="none" stroke="{colour}" stroke-width="2.5" points="{}"/>"#,
            pts.join(" ")
        )
    };
    let _ = writeln!(
        out,
        "{}",
        line("throughput", COLOURS[2], |p| p.throughput, t1)
    );
    let _ = writeln!(out, "{}", line("p99", COLOURS[0], |p| p.p99_ms, l1));
    for p in shown {
        let (x, yt, yl) = (px(p.concurrency), py(p.throughput, t1), py(p.p99_ms, l1));
        if p.auto {
            let _ = writeln!(
                out,
                r##"<g class="auto"><line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{:.1}" stroke="#50a050" stroke-dasharray="4 3"/><path d="M{x:.1},{:.1} l6,6 l-6,6 l-6,-6 z" fill="#50a050"/><path d="M{x:.1},{:.1} l6,6 l-6,6 l-6,-6 z" fill="#50a050"/><text x="{:.1}" y="{:.1}" fill="#50a050">auto settled at {:.0}: {:.0}/s, p99 {:.0} ms</text></g>"##,
                h - bottom,
                yt - 6.0,
                yl - 6.0,
                x + 8.0,
                top + 14.0,
                p.concurrency,
                p.throughput,
                p.p99_ms
            );
        } else {
            let _ = writeln!(
                out,
                r#"<circle cx="{x:.1}" cy="{yt:.1}" r="3.5" fill="{}"><title>-c {}: {:.0}/s</title></circle><circle cx="{x:.1}" cy="{yl:.1}" r="3.5" fill="{}"><title>-c {}: p99 {:.0} ms</title></circle>"#,
                COLOURS[2], p.concurrency, p.throughput, COLOURS[0], p.concurrency, p.p99_ms
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod knee_tests {
    use super::*;

    #[test]
    fn the_knee_chart_draws_every_fixed_point_and_marks_auto() {
        let p = |c: f64, t: f64, l: f64, auto: bool| KneePoint {
            concurrency: c,
            throughput: t,
            p99_ms: l,
            auto,
        };
        let svg = knee(
            "knee",
            "a server",
            &[
                p(1000.0, 500.0, 2000.0, false),
                p(4.0, 40.0, 100.0, false),
                p(50.0, 500.0, 110.0, false),
                p(48.0, 480.0, 105.0, true),
            ],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        // Three fixed points on each line, in order of concurrency; auto only as a marker.
        let throughput = svg
            .lines()
            .find(|l| l.contains(r#"class="throughput""#))
            .unwrap();
        assert_eq!(throughput.matches(',').count(), 3, "{throughput}");
        assert_eq!(svg.matches(r#"class="auto""#).count(), 1);
        assert!(svg.contains("auto settled at 48"));
        let named = knee("a<b", "x&y", &[p(1.0, 1.0, 1.0, false)]);
        assert!(
            named.contains("a&lt;b") && named.contains("x&amp;y"),
            "{named}"
        );
        assert_eq!(svg.matches("<circle").count(), 6);
        // No NaN or infinity in the geometry, even for a point with no latency.
        let odd = knee("odd", "", &[p(1.0, 0.0, 0.0, false)]);
        assert!(!odd.contains("NaN") && !odd.contains("inf"), "{odd}");
        assert_eq!(
            (nice(533.0), nice(2865.0), nice(0.0), nice(40.0)),
            (800.0, 4000.0, 1.0, 40.0)
        );
    }
}
