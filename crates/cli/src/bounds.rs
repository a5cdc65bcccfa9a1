//! Every number a user gives, checked once, here: each flag's parser, its bounds and its
//! default. Nothing past this module sees a count of 0, a thread count that would exhaust
//! the system, a duration that overflows `Instant + Duration`, or a rate whose period is
//! longer than a computer's lifetime.
//!
//! | what | flags | bounds |
//! |---|---|---|
//! | calls in a run (N) | `names N`, `stream N`, `bench --sizes` | 1 – 1 000 000 |
//! | CPU jobs | `cpu --jobs` | 1 – 10 000 |
//! | threads of a pool | `--threads` | 1 – 1 024 |
//! | blocking calls at once | `blocking --calls` | 1 – 1 024 |
//! | rounds | `blocking --rounds` | 1 – 10 000 |
//! | requests in flight | `-c, --concurrency` | 1 – 100 000, or `auto` |
//! | most an adaptive limit may reach | `--max-concurrency` (with `-c auto`) | 1 – 100 000 (default 1 000) |
//! | cores (runtimes) | `--cores` | 1 – 256 |
//! | retries per call | `--retries` | 0 – 100 |
//! | retries per run | `--retry-budget` | 0 – 100 000 000 |
//! | time limit of an attempt | `--timeout SECS` | > 0, at most 86 400 (a day) |
//! | ideal time past which a sweep cell is skipped | `bench --budget SECS` | > 0, at most 86 400 |
//! | latency, jitter, heartbeat period | `--latency MS`, `--jitter MS`, `--period MS` | 0 – 3 600 000 (an hour; period at least 1) |
//! | a 429's Retry-After the mirror sends | `--retry-after SECS` | 0 – 86 400 |
//! | a rate | `--rate N[/s\|/m\|/h\|/d]` | at least 1 per day, at most 1 000 000 per second |
//! | a rate's burst | `--burst N` | 1 – 1 000 000 (and a burst of slow calls spanning over a century is refused) |
//! | a rate's calls | `--rate` with `names N`, `stream N`, `get KEYS` | calls that would take over a century at that rate are refused |
//! | fault probabilities | `--fail-rate P` … | 0 – 1, adding up to at most 1 |
//! | a slow tail | `--tail-rate P`, `--tail-ms MS` | 0 – 1, 0 – 3 600 000 |
//! | a hedge's percentile | `--hedge pN` | above p0, at most p99.9 |
//! | a server's capacity and queue | `--capacity N`, `--queue M` | 1 – 100 000, 0 – 1 000 000 |
//! | largest response body | `--max-body MIB` | 1 – 1 024 MiB (default 64; the budget of every body held at once) |
//! | longest wait a server may ask for | `--max-retry-after SECS` | 0 – 86 400 (default 60) |
//! | values of a list | `bench --sizes`, `--concurrencies`, `--modes` | at most 64, 64, 3; each value once |
//! | a seed | `--seed` | 0 – 18 446 744 073 709 551 615 (2^64 − 1) |
//!
//! Each parser is a clap `value_parser`, so a bad value is one line naming the flag
//! (`error: invalid value '0' for '--threads <N>': must be at least 1`) and exit 2,
//! before anything starts.

use std::time::Duration;

/// Most calls in one run: beyond this, it is a typo, not a workload.
pub const MAX_CALLS: usize = 1_000_000;
/// Most threads in a pool: a pool is for blocking calls, and a thousand blocked threads is
/// already more than a machine should carry.
pub const MAX_THREADS: usize = 1_024;
/// Most requests in flight.
pub const MAX_CONCURRENCY: usize = 100_000;
/// Most single-threaded runtimes.
pub const MAX_CORES: usize = 256;
/// Most retries of one call.
pub const MAX_RETRIES: u32 = 100;
/// Most retries in one run.
pub const MAX_RETRY_BUDGET: usize = 100_000_000;
/// Longest time limit or budget, in seconds.
pub const MAX_SECS: f64 = 86_400.0;
/// Longest simulated latency, jitter or heartbeat period, in milliseconds.
pub const MAX_MS: u64 = 3_600_000;
/// Most rounds of the blocking demo.
pub const MAX_ROUNDS: usize = 10_000;
/// The slowest rate: one per day.
pub const MIN_RATE_PER_SEC: f64 = 1.0 / 86_400.0;
/// The fastest rate.
pub const MAX_RATE_PER_SEC: f64 = 1_000_000.0;
/// The largest burst.
pub const MAX_BURST: u32 = 1_000_000;
/// Most sizes of one sweep (`bench --sizes`): as many as the concurrencies of a knee sweep
/// (`asyncdex::knee::MAX_POINTS`); a size given twice is refused by [`distinct`].
pub const MAX_SIZES: usize = 64;
/// Most modes of one sweep (`bench --modes`): each of the three once.
pub const MAX_MODES: usize = 3;

/// Retries per call by default (a crawl's own default is the library's
/// `asyncdex::crawl::DEFAULT_RETRIES`: it must get everything, so it retries more).
pub const DEFAULT_RETRIES: u32 = 2;

/// A whole number in `min..=max`.
fn whole<T>(s: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let digits = s.trim();
    let n: T = digits.parse().map_err(|_| {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            format!("{digits} is too large: at most {max}")
        } else {
            format!("{s:?} is not a whole number")
        }
    })?;
    if n < min {
        return Err(format!("must be at least {min}"));
    }
    if n > max {
        return Err(format!("{n} is too large: at most {max}"));
    }
    Ok(n)
}

/// A number of calls (N).
pub fn calls(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_CALLS)
}

/// CPU jobs of the `cpu` lesson: its inline way holds the runtime (and so the signal
/// handler) for all of them, so they stay a few seconds' worth.
pub fn jobs(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_JOBS)
}

/// Most CPU jobs (`cpu --jobs`).
pub const MAX_JOBS: usize = 10_000;

/// A server's capacity: requests served at once.
pub fn capacity(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_CONCURRENCY)
}

/// Requests that may wait for a place at a server with a capacity.
pub fn queue(s: &str) -> Result<usize, String> {
    whole(s, 0, MAX_CALLS)
}

/// A pool's threads.
pub fn threads(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_THREADS)
}

/// Requests in flight.
pub fn concurrency(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_CONCURRENCY)
}

/// What `-c` says: so many requests in flight, or `auto` (an adaptive limit, at most
/// `--max-concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Exactly this many in flight.
    Fixed(usize),
    /// Found as the run goes.
    Auto,
}

/// `-c N` (1 – 100 000) or `-c auto`.
pub fn concurrency_or_auto(s: &str) -> Result<Concurrency, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(Concurrency::Auto);
    }
    concurrency(s)
        .map(Concurrency::Fixed)
        .map_err(|e| format!("{e} (or auto)"))
}

/// `bench -c N`: a number only; `auto` belongs to `--concurrencies` (or `names -c`),
/// and the message says where.
pub fn bench_concurrency(s: &str) -> Result<usize, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Err(
            "bench -c takes a number; auto is for --concurrencies (as in \
             --concurrencies 1,16,auto --sizes 2000) or for names -c auto"
                .into(),
        );
    }
    concurrency(s)
}

/// The longest a rate's burst may take to refill (a hundred years, as the engine's
/// rate limit allows).
const LONGEST_BURST_SECS: f64 = 100.0 * 365.0 * 86_400.0;

/// Checks `--burst` against `--rate` (`per_second`): a burst of N refills in N - 1
/// intervals, and at a slow rate a large burst spans longer than the limiter can count.
pub fn check_burst(per_second: f64, burst: u32) -> asyncdex::Result<()> {
    let most = (LONGEST_BURST_SECS * per_second).floor() + 1.0;
    if f64::from(burst) <= most {
        return Ok(());
    }
    // Only a slow rate gets here (at most 1 000 000 calls, over a hundred years: an
    // interval of at least about an hour), so whole seconds say it.
    Err(asyncdex::Error::invalid_input(format!(
        "--burst {burst} is too large for this --rate (one call every {:.0} s): a burst \
         refills one call per interval, and {burst} would take over a hundred years; at most \
         {most} at this rate",
        1.0 / per_second
    )))
}

/// Checks that `calls` calls at `--rate` (`per_second`, after a burst of `burst`) end
/// within the same hundred years a burst may span: `names 1000000 --rate 1/d` would
/// take 2 700 years, a run nobody means to start. No rate: nothing to check.
pub fn check_rate_span(
    per_second: Option<f64>,
    burst: Option<u32>,
    calls: usize,
) -> asyncdex::Result<()> {
    let Some(per_second) = per_second else {
        return Ok(());
    };
    let burst = f64::from(burst.unwrap_or(1));
    let most = (LONGEST_BURST_SECS * per_second).floor() + burst;
    if calls as f64 <= most {
        return Ok(());
    }
    let years = (calls as f64 - burst) / per_second / (365.0 * 86_400.0);
    Err(asyncdex::Error::invalid_input(format!(
        "--rate is too slow for {calls} calls (one call every {:.0} s): they would take \
         over a hundred years (about {years:.0}); at most {most} calls at this rate",
        1.0 / per_second
    )))
}

/// The most an adaptive limit may reach unless `--max-concurrency` says otherwise.
pub const DEFAULT_MAX_CONCURRENCY: usize = 1000;

/// One concurrency of a knee sweep: requests in flight, or `auto` (the adaptive limit,
/// up to its default maximum).
pub fn knee_limit(s: &str) -> Result<asyncdex::knee::Limit, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(asyncdex::knee::Limit::Auto {
            max: asyncdex::knee::AUTO_MAX,
        });
    }
    concurrency(s).map(asyncdex::knee::Limit::Fixed)
}

/// Checks a list flag's values (`--sizes 10,100`): at most `most` of them, and none given
/// twice (a cell or point measured twice is a second run of the same one, not a second
/// measurement; refused, as any value that would do nothing). `noun` names one value in
/// the message (`--sizes names 10 twice: give each size once`).
pub fn distinct<T: PartialEq + std::fmt::Display>(
    flag: &str,
    noun: &str,
    values: &[T],
    most: usize,
) -> asyncdex::Result<()> {
    // Twice first: `--modes all,async` names async twice, whatever the count.
    if let Some(twice) = values
        .iter()
        .enumerate()
        .find_map(|(i, v)| values[..i].contains(v).then_some(v))
    {
        return Err(asyncdex::Error::invalid_input(format!(
            "{flag} names {twice} twice: give each {noun} once"
        )));
    }
    if values.len() > most {
        return Err(asyncdex::Error::invalid_input(format!(
            "{flag} takes at most {most} values"
        )));
    }
    Ok(())
}

/// Single-threaded runtimes.
pub fn cores(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_CORES)
}

/// Retries of one call.
pub fn retries(s: &str) -> Result<u32, String> {
    whole(s, 0, MAX_RETRIES)
}

/// Retries of a whole run.
pub fn retry_budget(s: &str) -> Result<usize, String> {
    whole(s, 0, MAX_RETRY_BUDGET)
}

/// Calls a rate limit lets start at once.
pub fn burst(s: &str) -> Result<u32, String> {
    whole(s, 1, MAX_BURST)
}

/// Rounds of the blocking demo.
pub fn rounds(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_ROUNDS)
}

/// Milliseconds from 0 to an hour (latency, jitter).
pub fn millis(s: &str) -> Result<u64, String> {
    whole(s, 0, MAX_MS)
}

/// Milliseconds from 1 to an hour (a period: 0 would spin).
pub fn period_millis(s: &str) -> Result<u64, String> {
    whole(s, 1, MAX_MS)
}

/// Whole seconds from 0 to a day (the Retry-After the mirror sends).
pub fn whole_secs(s: &str) -> Result<u64, String> {
    whole(s, 0, MAX_SECS as u64)
}

/// A seed: any 64-bit whole number, said in the words every other number's bound uses.
pub fn seed(s: &str) -> Result<u64, String> {
    whole(s, 0, u64::MAX)
}

/// Seconds a shared crawl's lease lasts: 1 to an hour.
pub fn lease_secs(s: &str) -> Result<u64, String> {
    whole(s, 1, 3_600)
}

/// The most `--max-body` can be, in MiB: the budget all the bodies a process holds at once
/// share ([`asyncdex::http::CLIENT_BODY_BUDGET`], 1 GiB). A larger limit could never take
/// effect: one body stops at the budget first.
pub const MAX_BODY_MIB: u64 = asyncdex::http::CLIENT_BODY_BUDGET >> 20;

/// Mebibytes, 1 to [`MAX_BODY_MIB`] (a body size limit).
pub fn mebibytes(s: &str) -> Result<u64, String> {
    whole(s, 1, MAX_BODY_MIB).map_err(|e| {
        if e.contains("too large") {
            format!(
                "{e}: the bodies a process holds at once share one budget of {MAX_BODY_MIB} MiB"
            )
        } else {
            e
        }
    })
}

/// Seconds, fractions allowed: more than 0, at most a day.
pub fn secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("must be a positive number of seconds, not {s}"));
    }
    if secs > MAX_SECS {
        return Err(format!("must be at most {MAX_SECS} seconds (a day)"));
    }
    if secs < 0.001 {
        return Err(format!("must be at least 0.001 seconds, not {s}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A hedge's percentile, `p95` (or `p99.9`, `95`): above 0, at most 99.9; as a quantile.
/// Written as percentiles are, digits with at most one decimal point (`P95`, `p95.`,
/// `p1e1` are refused: not a way anyone writes one, so likely not what was meant).
pub fn hedge(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let digits = t.strip_prefix('p').unwrap_or(t);
    let plain = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    // A sign is written as numbers are: past the bound, and said so below.
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    let written = match unsigned.split_once('.') {
        Some((whole, fraction)) => plain(whole) && plain(fraction),
        None => plain(unsigned),
    };
    let p: f64 = digits
        .parse()
        .ok()
        .filter(|p: &f64| written && p.is_finite())
        .ok_or_else(|| format!("{s:?} is not a percentile (p95, p99, p99.9)"))?;
    if !(p > 0.0 && p <= 99.9) {
        return Err(format!(
            "the percentile must be above p0 and at most p99.9 (past it, too few calls are slower to measure), not {s}"
        ));
    }
    // Within the engine's own bound (0.999) however the division rounds.
    Ok((p / 100.0).min(asyncdex_engine::gather::Hedge::MAX_QUANTILE))
}

/// A probability, 0 to 1.
pub fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("must be between 0 and 1, not {s}"));
    }
    Ok(p)
}

/// A rate: `N` per second, or `N/s`, `N/m`, `N/h`, `N/d` (N may have a fraction), as
/// requests per second.
pub fn rate(s: &str) -> Result<f64, String> {
    let (number, unit) = match s.trim().split_once('/') {
        Some((n, u)) => (n.trim(), u.trim()),
        None => (s.trim(), "s"),
    };
    let per = match unit {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3_600.0,
        "d" | "day" => 86_400.0,
        other => return Err(format!("unknown unit {other:?}: use N/s, N/m, N/h or N/d")),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{number:?} is not a number"))?;
    if !n.is_finite() || n <= 0.0 {
        return Err(format!("must be a positive rate, not {s}"));
    }
    let per_sec = n / per;
    if per_sec < MIN_RATE_PER_SEC {
        return Err("must be at least 1 per day".into());
    }
    if per_sec > MAX_RATE_PER_SEC {
        return Err(format!("must be at most {MAX_RATE_PER_SEC} per second"));
    }
    Ok(per_sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parser, at its bounds and past them: each case is checked and every failure
    /// reported.
    #[test]
    fn every_bound_holds_at_its_edges() {
        type Check = (&'static str, fn(&str) -> bool);
        let cases: Vec<(&str, Check, bool)> = vec![
            ("1", ("calls", |s| calls(s).is_ok()), true),
            ("0", ("calls", |s| calls(s).is_ok()), false),
            ("1000000", ("calls", |s| calls(s).is_ok()), true),
            ("1000001", ("calls", |s| calls(s).is_ok()), false),
            ("-1", ("calls", |s| calls(s).is_ok()), false),
            ("1024", ("threads", |s| threads(s).is_ok()), true),
            ("10000000", ("threads", |s| threads(s).is_ok()), false),
            ("0", ("threads", |s| threads(s).is_ok()), false),
            ("100000", ("concurrency", |s| concurrency(s).is_ok()), true),
            ("100001", ("concurrency", |s| concurrency(s).is_ok()), false),
            ("257", ("cores", |s| cores(s).is_ok()), false),
            ("18446744073709551615", ("seed", |s| seed(s).is_ok()), true),
            ("18446744073709551616", ("seed", |s| seed(s).is_ok()), false),
            ("100", ("retries", |s| retries(s).is_ok()), true),
            ("101", ("retries", |s| retries(s).is_ok()), false),
            ("3600000", ("millis", |s| millis(s).is_ok()), true),
            ("3600001", ("millis", |s| millis(s).is_ok()), false),
            ("0", ("period", |s| period_millis(s).is_ok()), false),
            ("0.001", ("secs", |s| secs(s).is_ok()), true),
            ("0.0000000001", ("secs", |s| secs(s).is_ok()), false),
            ("86400", ("secs", |s| secs(s).is_ok()), true),
            ("1e19", ("secs", |s| secs(s).is_ok()), false),
            ("0", ("secs", |s| secs(s).is_ok()), false),
            ("NaN", ("secs", |s| secs(s).is_ok()), false),
            ("inf", ("secs", |s| secs(s).is_ok()), false),
            ("1e-12", ("rate", |s| rate(s).is_ok()), false),
            ("1e-300", ("rate", |s| rate(s).is_ok()), false),
            ("0/s", ("rate", |s| rate(s).is_ok()), false),
            ("5/fortnight", ("rate", |s| rate(s).is_ok()), false),
            ("100/h", ("rate", |s| rate(s).is_ok()), true),
            ("1/d", ("rate", |s| rate(s).is_ok()), true),
            ("0.5/d", ("rate", |s| rate(s).is_ok()), false),
            ("2e6", ("rate", |s| rate(s).is_ok()), false),
            ("0", ("burst", |s| burst(s).is_ok()), false),
            ("5", ("burst", |s| burst(s).is_ok()), true),
            ("1000000", ("burst", |s| burst(s).is_ok()), true),
            ("1000001", ("burst", |s| burst(s).is_ok()), false),
            (
                "99999999999999999999",
                ("burst", |s| burst(s).is_ok()),
                false,
            ),
            ("1.5", ("probability", |s| probability(s).is_ok()), false),
            ("0.3", ("probability", |s| probability(s).is_ok()), true),
            ("0", ("mebibytes", |s| mebibytes(s).is_ok()), false),
            ("1", ("mebibytes", |s| mebibytes(s).is_ok()), true),
            ("1024", ("mebibytes", |s| mebibytes(s).is_ok()), true),
            ("1025", ("mebibytes", |s| mebibytes(s).is_ok()), false),
            ("4096", ("mebibytes", |s| mebibytes(s).is_ok()), false),
        ];
        let failures: Vec<String> = cases
            .iter()
            .filter(|(input, (_, check), want)| check(input) != *want)
            .map(|(input, (name, _), want)| format!("{name}({input:?}) should be ok: {want}"))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn rates_convert_to_per_second_and_errors_name_the_bound() {
        assert_eq!(rate("100/h").unwrap(), 100.0 / 3600.0);
        assert_eq!(rate("20").unwrap(), 20.0);
        assert_eq!(rate("30/m").unwrap(), 0.5);
        assert_eq!(
            threads("2000").unwrap_err(),
            "2000 is too large: at most 1024"
        );
        assert_eq!(calls("0").unwrap_err(), "must be at least 1");
        assert_eq!(
            concurrency("99999999999999999999").unwrap_err(),
            "99999999999999999999 is too large: at most 100000"
        );
        assert!(secs("1e19").unwrap_err().contains("at most"));
        assert_eq!(
            mebibytes("2048").unwrap_err(),
            "2048 is too large: at most 1024: the bodies a process holds at once share one budget of 1024 MiB"
        );
    }
}
