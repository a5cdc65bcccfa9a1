//! `asyncdex names [N]`: the lesson's comparison, printed.

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

use super::latency::{hedged, latency_json, print_hedged, print_latency};
use super::report::{escape_field, print_summary, summarize, Progress};
use super::{check_count, group_from, io_error, ms, Io, Pictures, Summary};
use asyncdex::cache::CacheMode;
use asyncdex::cache::Cached;
use asyncdex::draw::{draw, Ids};
use asyncdex::http::Native;
use asyncdex::names::{run_mode, Mode, ModeRun, Plan};
use asyncdex::source::{Source, Target};
use asyncdex::{ErrorKind, Result};
use asyncdex_engine::latency::Histogram;

/// A validated `names` job.
#[derive(Debug, Clone)]
pub struct NamesJob {
    /// How many names.
    pub n: usize,
    /// Seed of the random draw (same seed, same ids).
    pub seed: u64,
    /// Where the ids are drawn from: the API's own list, or a range.
    pub ids: Ids,
    /// Which modes to run, in order.
    pub modes: Vec<Mode>,
    /// Threads, concurrency and client settings (its `ids` are drawn from the seed).
    pub plan: Plan,
    /// Where to fetch from.
    pub target: Target,
    /// One JSON object per line and mode instead of the table.
    pub json: bool,
    /// Timeline and trace files to write.
    pub pictures: Pictures,
    /// Whether and where to keep answers on disk.
    pub cache: CacheMode,
}

/// Runs a `names` job and prints its report.
pub async fn names(mut job: NamesJob, io: Io<'_>) -> Result<Summary> {
    check_count(job.n)?;
    job.plan.validate()?;
    let source = Source::open(job.target.clone()).await?;
    // A comparison gives every mode the same cache state: none. Through one cache, the
    // first mode would be timed over the network and the others on the answers it kept.
    let comparing = job.modes.len() > 1;
    job.plan.cache = if comparing {
        None
    } else {
        job.cache
            .open_for(&source)?
            // Answered from disk within this run's body limit, as from the network.
            .inspect(|c| c.set_max_body(job.plan.http.max_body))
    };
    // Every mode asks for the same ids, drawn from what this API lists.
    let lister = Cached::new(Native::new(&job.plan.http)?, job.plan.cache.clone());
    let (base, policy) = (source.base_url(), &job.plan.policy);
    let pool = super::draw_pool(&job.ids, &lister, base, policy, io.err, "names: ").await?;
    job.plan.ids = draw(job.n, &pool, &mut StdRng::seed_from_u64(job.seed));
    let mut runs = Vec::new();
    let mut logs = Vec::new();
    let mut watches = Vec::new();
    for &mode in &job.modes {
        if job.plan.policy.cancel.is_cancelled() {
            break; // Ctrl-C: report what the finished modes got
        }
        let mut plan = job.plan.clone();
        let progress = Progress::attach(&mut plan.policy, mode.as_str());
        let log = job.pictures.log_for(&mut plan.policy);
        let run = run_mode(mode, source.base_url(), &plan).await;
        progress.finish();
        runs.push(run?);
        logs.push(log);
        watches.push(progress);
    }
    let from = source.description();
    let from = from.split(" at http").next().unwrap_or(from);
    let title = format!("asyncdex names {} (seed {}) from {from}", job.n, job.seed);
    let cache_left_out = comparing && cache_wanted(&job.cache, &source);
    let report = if job.json {
        print_json(&job, &source, &runs, io.out)
    } else {
        print_table(&job, &source, &runs, io.out)
    };
    source.close().await;
    report.map_err(io_error)?;
    let mut summary = Summary::default();
    for (run, progress) in runs.iter().zip(&watches) {
        let label = format!("{}: ", run.mode);
        let ids = &run.ids;
        let s = print_summary(io.err, &label, &run.outcomes, |i| format!("id {}", ids[i]))
            .map_err(io_error)?;
        let latency = Histogram::of_calls(&run.outcomes);
        print_latency(io.err, &label, &latency, job.pictures.histogram).map_err(io_error)?;
        print_hedged(io.err, &label, &run.outcomes).map_err(io_error)?;
        progress.print_shortened(io.err, &label).map_err(io_error)?;
        summary.add(s);
    }
    super::report::print_cache(io.err, job.plan.cache.as_ref()).map_err(io_error)?;
    if cache_left_out {
        writeln!(
            io.err,
            "cache: not used for a comparison of modes (each mode makes its own requests); one --mode uses it"
        )
        .map_err(io_error)?;
    }
    summary.interrupted = job.plan.policy.cancel.is_cancelled();
    // The pictures last: the names and the summary are out before a write can fail.
    let groups: Vec<_> = runs
        .iter()
        .zip(&logs)
        .filter_map(|(run, log)| {
            let name = format!("{} ({:.0} ms)", run.mode, ms(run.wall));
            Some(group_from(name, log.as_ref()?, |i| {
                format!("id {}", run.ids[i])
            }))
        })
        .collect();
    job.pictures.write(&title, &groups)?;
    Ok(summary)
}

/// Whether a run of one mode on `source` would use a cache (as [`CacheMode::open_for`]
/// decides): then a comparison says it did not.
fn cache_wanted(cache: &CacheMode, source: &Source) -> bool {
    match cache {
        CacheMode::Off => false,
        CacheMode::In(_) => true,
        CacheMode::Auto => !source.is_loopback(),
    }
}

fn speedup(runs: &[ModeRun], run: &ModeRun) -> Option<f64> {
    let base = runs.iter().find(|r| r.mode == Mode::Sequential)?;
    Some(base.wall.as_secs_f64() / run.wall.as_secs_f64().max(1e-9))
}

fn print_table(
    job: &NamesJob,
    source: &Source,
    runs: &[ModeRun],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} random Pokémon (seed {}) from {}",
        job.n,
        job.seed,
        source.description()
    )?;
    if let Some(best) = runs.iter().max_by_key(|r| summarize(&r.outcomes).ok) {
        writeln!(out)?;
        let names = best.names();
        for (row, chunk) in names.chunks(3).enumerate() {
            let cells: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, name)| format!("{:>4}. {:<24}", row * 3 + i + 1, escape_field(name)))
                .collect();
            writeln!(out, "{}", cells.concat().trim_end())?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<12}{:>9}{:>7}{:>8}{:>10}{:>10}{:>9}{:>12}{:>10}{:>12}",
        "mode",
        "requests",
        "ok",
        "failed",
        "timed out",
        "cancelled",
        "retried",
        "wall (ms)",
        "speedup",
        "requests/s"
    )?;
    for run in runs {
        let speed = speedup(runs, run).map_or("-".to_owned(), |s| format!("{s:.2}x"));
        let s = summarize(&run.outcomes);
        writeln!(
            out,
            "{:<12}{:>9}{:>7}{:>8}{:>10}{:>10}{:>9}{:>12.1}{:>10}{:>12.1}",
            run.mode.as_str(),
            s.calls(),
            s.ok,
            s.failed,
            s.timed_out,
            s.cancelled,
            s.retried,
            ms(run.wall),
            speed,
            s.rate(run.wall)
        )?;
    }
    // How the modes that ran were sized: only those (a flag for one that did not run is
    // refused before the run).
    let mut sized = Vec::new();
    if job.modes.contains(&Mode::Threads) {
        sized.push(format!("threads: a pool of {} threads", job.plan.threads));
    }
    if job.modes.contains(&Mode::Async) {
        let auto = match job.plan.policy.adaptive {
            Some(_) => " (-c auto: the limit is found as the run goes)",
            None => "",
        };
        sized.push(format!(
            "async: at most {} requests in flight{auto}",
            job.plan.concurrency
        ));
    }
    if !sized.is_empty() {
        writeln!(out, "\n{}", sized.join("; "))?;
    }
    Ok(())
}

fn print_json(
    job: &NamesJob,
    source: &Source,
    runs: &[ModeRun],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for run in runs {
        let errors: Vec<_> = run
            .outcomes
            .iter()
            .filter_map(|o| {
                let e = o.result.as_ref().err()?;
                Some(json!({
                    "id": run.ids[o.index],
                    "status": o.status().as_str(),
                    "kind": ErrorKind::of(e).as_str(),
                    "error": e.to_string(),
                    "attempts": o.attempts,
                }))
            })
            .collect();
        let s = summarize(&run.outcomes);
        let line = json!({
            "mode": run.mode.as_str(),
            "n": s.calls(),
            "ok": s.ok,
            "failed": s.failed,
            "retried": s.retried,
            "timed_out": s.timed_out,
            "cancelled": s.cancelled,
            "wall_ms": ms(run.wall),
            "requests_per_s": (s.rate(run.wall) * 10.0).round() / 10.0,
            "speedup": speedup(runs, run).map(|s| (s * 100.0).round() / 100.0),
            "latency_ms": latency_json(Histogram::of_calls(&run.outcomes).latencies()),
            "hedged": hedged(&run.outcomes).0,
            "hedges_won": hedged(&run.outcomes).1,
            "seed": job.seed,
            "source": source.base_url(),
            "ids": run.ids,
            "names": run.names(),
            "errors": errors,
        });
        crate::json::write_line(out, &line)?;
    }
    Ok(())
}
