//! `asyncdex get <ID|NAME>...`: Pokémon fetched concurrently, shown as a table or JSON.

use super::report::{print_summary, Progress};
use super::{group_from, io_error, Io, Pictures, Summary};
use asyncdex::cache::{CacheMode, Cached};
use asyncdex::http::{HttpOptions, Native};
use asyncdex::pokeapi::{Client, Key, Pokemon};
use asyncdex::source::{Source, Target};
use asyncdex::Result;
use asyncdex_engine::gather::{gather, Policy};
use asyncdex_engine::watchdog::LabelExt;

/// A validated `get` job.
#[derive(Debug, Clone)]
pub struct GetJob {
    /// The ids or names to fetch (already validated).
    pub keys: Vec<Key>,
    /// Concurrency, timeouts, retries, rate, cancellation.
    pub policy: Policy,
    /// Client settings.
    pub http: HttpOptions,
    /// Where to fetch from.
    pub target: Target,
    /// One JSON object per line instead of the table.
    pub json: bool,
    /// Timeline and trace files to write.
    pub pictures: Pictures,
    /// Whether and where to keep answers on disk.
    pub cache: CacheMode,
}

/// Runs a `get` job: prints every Pokémon that arrived, then the summary and each failure.
pub async fn get(mut job: GetJob, io: Io<'_>) -> Result<Summary> {
    job.policy.check()?;
    let source = Source::open(job.target.clone()).await?;
    let cache = job.cache.open_for(&source)?;
    let transport = Cached::new(Native::new(&job.http)?, cache.clone());
    let client = Client::new(source.base_url(), transport);
    let progress = Progress::attach(&mut job.policy, "get");
    let log = job.pictures.log_for(&mut job.policy);
    let outcomes = gather(job.keys.clone(), &job.policy, move |key| {
        let client = client.clone();
        let label = format!("fetch pokemon/{key}");
        async move { client.pokemon(key).await }.label(label)
    })
    .await?;
    progress.finish();
    source.close().await;
    let found: Vec<&Pokemon> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .collect();
    if job.json {
        for p in &found {
            writeln!(io.out, "{}", serde_json::to_string(p).expect("serializes"))
                .map_err(io_error)?;
        }
    } else if !found.is_empty() {
        print_table(&found, io.out).map_err(io_error)?;
    }
    let keys = &job.keys;
    if let Some(log) = &log {
        let group = group_from("get".into(), log, |i| format!("pokemon {}", keys[i]));
        job.pictures.write("asyncdex get", &[group])?;
    }
    let mut summary = print_summary(io.err, "get: ", &outcomes, |i| {
        format!("pokemon {}", keys[i])
    })
    .map_err(io_error)?;
    super::report::print_cache(io.err, cache.as_ref()).map_err(io_error)?;
    summary.interrupted = job.policy.cancel.is_cancelled();
    Ok(summary)
}

fn print_table(found: &[&Pokemon], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:>6}  {:<26}{:<18}{:>8}{:>10}  {:>4}{:>5}{:>5}{:>5}{:>5}{:>5}",
        "id", "name", "types", "height", "weight", "hp", "atk", "def", "spa", "spd", "spe"
    )?;
    for p in found {
        let stat = |name| p.base_stat(name).map_or("-".into(), |v| v.to_string());
        writeln!(
            out,
            "{:>6}  {:<26}{:<18}{:>6.1} m{:>7.1} kg  {:>4}{:>5}{:>5}{:>5}{:>5}{:>5}",
            p.id,
            p.name,
            p.type_names().join("/"),
            f64::from(p.height) / 10.0,
            f64::from(p.weight) / 10.0,
            stat("hp"),
            stat("attack"),
            stat("defense"),
            stat("special-attack"),
            stat("special-defense"),
            stat("speed"),
        )?;
    }
    Ok(())
}
