//! A log-log chart of wall time against N, one line per mode, as SVG.
//!
//! On log-log axes a cost proportional to N is a straight line of slope 1, and a cost
//! that does not grow with N is flat: the three modes' growth curves are told apart at a
//! glance.

use std::fmt::Write;

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
    for d in (x0 as i32)..=(x1 as i32) {
        let x = px(10f64.powi(d));
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            h - bottom,
            h - bottom + 16.0,
            10f64.powi(d)
        );
    }
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
