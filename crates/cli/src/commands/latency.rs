//! How long the calls took, as every fetching command reports it: the closing latency
//! line (p50, p90, p99, max), its histogram (`--histogram`), the same in JSON, and how
//! many calls were hedged (`--hedge`). The numbers come from the engine's
//! [`Histogram`]; this module only prints them.

use std::io::Write;
use std::time::Duration;

use asyncdex::Error;
use asyncdex_engine::gather::{Outcome, Winner};
use asyncdex_engine::latency::{Histogram, Latencies};

/// A duration for people: `0.42 ms`, `101.3 ms`, `2.05 s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    match ms {
        ms if ms < 10.0 => format!("{ms:.2} ms"),
        ms if ms < 1000.0 => format!("{ms:.1} ms"),
        ms => format!("{:.2} s", ms / 1000.0),
    }
}

/// A bin's edge: `500 µs`, `2 ms`, `5 s`.
fn edge(d: Duration) -> String {
    match d.as_nanos() {
        n if n < 1_000_000 => format!("{} µs", n / 1_000),
        n if n < 1_000_000_000 => format!("{} ms", n / 1_000_000),
        n => format!("{} s", n / 1_000_000_000),
    }
}

/// The closing latency line, `names: latency p50 101.2 ms, p90 …, p99 …, max … (20
/// calls)`, each call from its start to its end (retries included; cancelled calls left
/// out), and with `bars` a histogram on log-scale bins, one line each.
pub fn print_latency(
    err: &mut dyn Write,
    label: &str,
    latency: &Histogram,
    bars: bool,
) -> std::io::Result<()> {
    let Some(l) = latency.latencies() else {
        return Ok(());
    };
    writeln!(
        err,
        "{label}latency p50 {}, p90 {}, p99 {}, max {} ({} call{})",
        human(l.p50),
        human(l.p90),
        human(l.p99),
        human(l.max),
        l.count,
        if l.count == 1 { "" } else { "s" }
    )?;
    if !bars {
        return Ok(());
    }
    let bins = latency.bins();
    let most = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    for b in bins {
        // At least one mark for any bin with a call: one slow call in ten thousand shows.
        let width = (b.count * 40).div_ceil(most) as usize;
        writeln!(
            err,
            "  {:>7} – {:<7}{:<41}{}",
            edge(b.from),
            edge(b.to),
            "█".repeat(width),
            b.count
        )?;
    }
    Ok(())
}

/// How many calls were hedged and which copy won: `(hedged, won by the copy)`.
pub fn hedged<T>(outcomes: &[Outcome<T, Error>]) -> (usize, usize) {
    let hedged = outcomes.iter().filter(|o| o.hedged.is_some()).count();
    let copies = outcomes
        .iter()
        .filter(|o| o.hedged == Some(Winner::Hedge))
        .count();
    (hedged, copies)
}

/// `names: 98 calls hedged (98 more requests): 95 answered first by the copy, 3 by the
/// original`, when any call was.
pub fn print_hedged<T>(
    err: &mut dyn Write,
    label: &str,
    outcomes: &[Outcome<T, Error>],
) -> std::io::Result<()> {
    let (hedged, copies) = hedged(outcomes);
    if hedged == 0 {
        return Ok(());
    }
    writeln!(
        err,
        "{label}{hedged} call{} hedged ({hedged} more request{}): {copies} answered first by the copy, {} by the original",
        if hedged == 1 { "" } else { "s" },
        if hedged == 1 { "" } else { "s" },
        hedged - copies
    )
}

/// The latencies as JSON (milliseconds), `null` when no call completed.
pub fn latency_json(latency: Option<Latencies>) -> serde_json::Value {
    let ms = |d: Duration| (d.as_secs_f64() * 100_000.0).round() / 100.0;
    match latency {
        None => serde_json::Value::Null,
        Some(l) => serde_json::json!({
            "count": l.count, "p50": ms(l.p50), "p90": ms(l.p90), "p99": ms(l.p99),
            "max": ms(l.max), "mean": ms(l.mean),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asyncdex_engine::gather::Failure;

    #[test]
    fn the_latency_line_and_its_bars() {
        let h = Histogram::of(
            std::iter::repeat_n(Duration::from_millis(20), 99).chain([Duration::from_secs(2)]),
        );
        let mut err = Vec::new();
        print_latency(&mut err, "x: ", &h, true).unwrap();
        let text = String::from_utf8(err).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("x: latency p50 20.")
                && lines[0].ends_with("max 2.00 s (100 calls)"),
            "{text}"
        );
        // 20 ms to 2 s: bins 20-50 ms … 2-5 s, the empty ones shown too.
        assert!(
            lines[1].contains("20 ms – 50 ms") && lines[1].ends_with(" 99"),
            "{text}"
        );
        let last = lines.last().unwrap();
        assert!(
            last.contains("2 s – 5 s") && last.contains('█') && last.ends_with(" 1"),
            "one slow call in a hundred still shows: {text}"
        );
        assert_eq!(lines.len(), 1 + 7, "{text}");
        let json = latency_json(h.latencies());
        assert_eq!(json["count"], 100);
        assert_eq!(json["max"], 2000.0);
        assert_eq!(latency_json(None), serde_json::Value::Null);
        let mut none = Vec::new();
        print_latency(&mut none, "x: ", &Histogram::new(), true).unwrap();
        assert!(none.is_empty(), "no call, no line");
    }

    #[test]
    fn hedged_calls_are_counted_by_winner() {
        let outcome = |index, hedged| Outcome::<u32, Error> {
            index,
            started: Duration::ZERO,
            finished: Duration::ZERO,
            attempts: 1,
            hedged,
            result: Err(Failure::Cancelled),
        };
        let outcomes = [
            outcome(0, Some(Winner::Hedge)),
            outcome(1, None),
            outcome(2, Some(Winner::Original)),
            outcome(3, Some(Winner::Hedge)),
        ];
        assert_eq!(hedged(&outcomes), (3, 2));
        let mut err = Vec::new();
        print_hedged(&mut err, "x: ", &outcomes).unwrap();
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "x: 3 calls hedged (3 more requests): 2 answered first by the copy, 1 by the original\n"
        );
        let mut none = Vec::new();
        print_hedged(&mut none, "x: ", &outcomes[1..2]).unwrap();
        assert!(none.is_empty(), "no hedge, no line");
    }
}
