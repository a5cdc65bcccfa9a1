//! `asyncdex get <RESOURCE>...`: any resources of any endpoint (`pikachu`, `move/pound`,
//! `evolution-chain/10`, `pokemon/25/encounters`), fetched concurrently; Pokémon in their
//! table, the rest one line each, or every body whole with `--json`.

use super::latency::{print_hedged, print_latency};
use super::report::escape_field;
use super::report::{print_summary, Progress};
use super::{group_from, io_error, summary, Io, Pictures, Summary};
use asyncdex::cache::{CacheMode, Cached};
use asyncdex::http::{host_key, HttpOptions, Native};
use asyncdex::pokeapi::{Client, Pokemon, Ref};
use asyncdex::source::{Source, Target};
use asyncdex::Result;
use asyncdex_engine::gather::{gather, Policy};
use asyncdex_engine::latency::Histogram;
use asyncdex_engine::watchdog::LabelExt;

/// A validated `get` job.
#[derive(Debug, Clone)]
pub struct GetJob {
    /// The resources to fetch (already validated).
    pub keys: Vec<Ref>,
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
    let cache = job
        .cache
        .open_for(&source)?
        // Answered from disk within this run's body limit, as from the network.
        .inspect(|c| c.set_max_body(job.http.max_body));
    let transport = Cached::new(Native::new(&job.http)?, cache.clone());
    let client = Client::new(source.base_url(), transport);
    if let Some(rate) = &job.policy.rate {
        // The limit is each host's: every call is keyed by the host its URL names.
        let hosts: Vec<u64> = job
            .keys
            .iter()
            .map(|r| host_key(&format!("{}/{}", client.base_url(), r.path())))
            .collect();
        job.policy.rate = Some(rate.keyed(move |i| hosts[i]));
    }
    let progress = Progress::attach(&mut job.policy, "get");
    let log = job.pictures.log_for(&mut job.policy);
    let outcomes = gather(job.keys.clone(), &job.policy, move |what: Ref| {
        let client = client.clone();
        let label = format!("fetch {what}");
        async move { client.raw(&what).await }.label(label)
    })
    .await?;
    progress.finish();
    source.close().await;
    // Bodies are kept as the bytes that came: a tree of a 30 MB body is 2.2 GB.
    let found: Vec<(&Ref, &[u8])> = outcomes
        .iter()
        .filter_map(|o| Some((&job.keys[o.index], &o.result.as_ref().ok()?[..])))
        .collect();
    if job.json {
        for (_, body) in &found {
            crate::json::write_body_line(body, io.out).map_err(io_error)?;
        }
    } else {
        print_found(&found, io.out).map_err(io_error)?;
    }
    let keys = &job.keys;
    let mut summary =
        print_summary(io.err, "get: ", &outcomes, |i| keys[i].to_string()).map_err(io_error)?;
    let latency = Histogram::of_calls(&outcomes);
    print_latency(io.err, "get: ", &latency, job.pictures.histogram).map_err(io_error)?;
    print_hedged(io.err, "get: ", &outcomes).map_err(io_error)?;
    progress
        .print_shortened(io.err, "get: ")
        .map_err(io_error)?;
    super::report::print_cache(io.err, cache.as_ref()).map_err(io_error)?;
    summary.interrupted = job.policy.cancel.is_cancelled();
    // The pictures last: what was fetched and the summary are out before a write can fail.
    if let Some(log) = &log {
        let group = group_from("get".into(), log, |i| keys[i].to_string());
        job.pictures.write("asyncdex get", &[group])?;
    }
    Ok(summary)
}

/// Pokémon in their table (types, size, base stats), then every other resource in one line
/// each: what it is, its id and name, and its summary.
fn print_found(found: &[(&Ref, &[u8])], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    // Pokémon in their table; anything else, and a Pokémon body that does not fit the
    // model (a field missing, a height below zero), one line each: nothing that arrived
    // goes unprinted.
    let is_pokemon = |r: &Ref| r.endpoint() == "pokemon" && !r.is_encounters();
    let mut pokemon: Vec<Pokemon> = Vec::new();
    let mut others: Vec<&(&Ref, &[u8])> = Vec::new();
    for entry in found {
        let (r, body) = entry;
        match is_pokemon(r).then(|| serde_json::from_slice::<Pokemon>(body)) {
            Some(Ok(p)) => pokemon.push(p),
            _ => others.push(entry),
        }
    }
    if !pokemon.is_empty() {
        print_table(&pokemon.iter().collect::<Vec<_>>(), out)?;
    }
    if others.is_empty() {
        return Ok(());
    }
    if !pokemon.is_empty() {
        writeln!(out)?;
    }
    writeln!(out, "{:<28}{:>6}  {:<26}summary", "resource", "id", "name")?;
    for (r, body) in others {
        let line = if r.is_encounters() {
            summary::encounters(body)
        } else {
            summary::summary(r.endpoint(), body)
        };
        let (id, name) = summary::head(body);
        writeln!(
            out,
            "{:<28}{:>6}  {:<26}{}",
            escape_field(&r.to_string()),
            escape_field(&id),
            escape_field(&name),
            escape_field(&line)
        )?;
    }
    Ok(())
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
            escape_field(&p.name),
            escape_field(&p.type_names().join("/")),
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
