//! Where a command's calls go and how they are made: `--api` (another server instead of
//! the embedded mirror, whose `--latency` and `--jitter` are here too), each attempt's
//! `--timeout`, `--retries` and their budget, `--rate` and `--burst`, `--fail-fast`,
//! `--hedge`, `--http2`, `--cores`, `--max-body`, `--max-retry-after`. [`SourceArgs`]
//! turns them into the library's [`Target`], [`HttpOptions`] and [`Policy`] (or a whole
//! [`Plan`]), refusing combinations that would do nothing.

use std::time::Duration;

use super::FaultArgs;
use crate::bounds;
use crate::descriptors;
use asyncdex::http::HttpOptions;
use asyncdex::mirror::MirrorConfig;
use asyncdex::names::{Mode, Plan};
use asyncdex::source::Target;
use asyncdex_engine::gather::{Hedge, Policy, RateLimit};
use clap::Args;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct SourceArgs {
    /// A PokeAPI-compatible API root to use instead of the embedded mirror;
    /// 'pokeapi' means https://pokeapi.co/api/v2.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// The embedded mirror's latency per request.
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = bounds::millis)]
    pub latency: u64,
    /// The embedded mirror's jitter: each delay is latency ± jitter.
    #[arg(long, value_name = "MS", default_value_t = 20, value_parser = bounds::millis)]
    pub jitter: u64,
    /// Time limit of each attempt of a request.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = bounds::secs, allow_negative_numbers = true)]
    pub timeout: Duration,
    /// Retries of a failed request: timeouts, connection errors, 429 and 5xx only
    /// (exponential backoff with full jitter; a server's Retry-After is honoured).
    /// [default: 2; crawl: 5]
    #[arg(long, value_name = "N", value_parser = bounds::retries)]
    pub retries: Option<u32>,
    /// Most retries for the whole run (default: as many as there are requests, plus 10).
    #[arg(long, value_name = "N", value_parser = bounds::retry_budget)]
    pub retry_budget: Option<usize>,
    /// At most this many requests start per second to each host, shared by all its
    /// requests: N (per second, fractions allowed), or N/s, N/m, N/h, N/d (from 1/d to
    /// 1000000/s).
    #[arg(long, value_name = "N[/UNIT]", allow_negative_numbers = true, value_parser = bounds::rate)]
    pub rate: Option<f64>,
    /// With --rate: up to N requests may start at once after a quiet spell (a token
    /// bucket of N), then one per 1/rate. [default: 1, no bursts]
    #[arg(long, value_name = "N", requires = "rate", allow_negative_numbers = true, value_parser = bounds::burst)]
    pub burst: Option<u32>,
    /// Stop at the first failed request: the rest are cancelled (default: collect all).
    #[arg(long)]
    pub fail_fast: bool,
    /// Hedged requests: an attempt still waiting past this percentile of the run's
    /// latencies (after 20 have finished) gets a second copy; the first answer wins, the
    /// other is cancelled. At most 5 % more requests. E.g. p95 (above p0, at most p99.9).
    #[arg(long, value_name = "pN", value_parser = bounds::hedge)]
    pub hedge: Option<f64>,
    /// Async requests over HTTP/2: multiplexed on one connection (the embedded mirror and
    /// PokeAPI both speak it). Far less memory per request in flight.
    #[arg(long)]
    http2: bool,
    /// Spread async requests over N single-threaded runtimes, one thread each
    /// (thread-per-core, as oha does; default: one per core). 1: every request on one
    /// thread, the lesson's pure concurrency. [default: one per core]
    #[arg(long, value_name = "N", value_parser = bounds::cores)]
    pub cores: Option<usize>,
    /// Largest response body accepted, in MiB: a server that sends more (or an endless
    /// body) fails that call instead of filling memory. At most 1024: the budget all the
    /// bodies the process holds at once share.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = bounds::mebibytes)]
    pub max_body: u64,
    /// Longest wait a server's Retry-After may impose before a retry; a longer one is
    /// shortened to this (and the summary says so).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = bounds::whole_secs)]
    pub max_retry_after: u64,
    #[command(flatten)]
    pub faults: FaultArgs,
    /// The first flag typed that only fetching uses, at its default value or not
    /// (`--latency 100`): set from clap's matches by [`crate::given::note`], where a
    /// command needs it (`program`); `None` elsewhere.
    #[arg(skip)]
    pub typed_fetch_flag: Option<String>,
}

/// One runtime per core this process may use.
fn default_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl SourceArgs {
    /// The first flag given that only async requests use (`--hedge`, `--http2`,
    /// `--cores`), for a check that refuses it where no request is async.
    pub fn async_only(&self) -> Option<&'static str> {
        [
            (self.hedge.is_some(), "--hedge"),
            (self.http2, "--http2"),
            (self.cores.is_some(), "--cores"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The first flag given that only fetching uses (where to, how, how fast), if any:
    /// what a run that fetches nothing names when it refuses it. A typed one
    /// ([`SourceArgs::typed_fetch_flag`]) first; then one whose value says it was given.
    pub fn first_given(&self) -> Option<String> {
        let valued = [
            (self.api.is_some(), "--api"),
            (self.retries.is_some(), "--retries"),
            (self.retry_budget.is_some(), "--retry-budget"),
            (self.rate.is_some(), "--rate"),
            (self.fail_fast, "--fail-fast"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
        .or_else(|| self.async_only())
        .or_else(|| self.faults.first_given());
        self.typed_fetch_flag
            .clone()
            .or_else(|| valued.map(str::to_owned))
    }

    /// The embedded mirror's settings, or `--api`'s server; refuses a fault flag with
    /// `--api` (the faults are the embedded mirror's, which another server replaces).
    pub fn target(&self, seed: u64) -> asyncdex::Result<Target> {
        if let (Some(_), Some(flag)) = (&self.api, self.faults.first_given()) {
            return Err(asyncdex::Error::invalid_input(format!(
                "{flag} shapes the embedded mirror, and --api names another server: drop one \
                 (`asyncdex serve {flag} ...` is a mirror to point --api at)"
            )));
        }
        let mirror = MirrorConfig {
            latency: Duration::from_millis(self.latency),
            jitter: Duration::from_millis(self.jitter),
            seed,
            faults: self.faults.faults(seed)?,
            capacity: self.faults.capacity(),
            tail: self.faults.tail(),
        };
        api_target(self.api.as_deref(), mirror)
    }

    /// The connections a run of `modes` opens at once, at most `calls` (see
    /// [`descriptors::Connections::of`], the one place that decides it): the threads mode's
    /// pool (`threads`), one for the sequential mode, the async mode's `limit` in flight
    /// (one over HTTP/2), the largest of them. A command with no modes (a program, get,
    /// stream, crawl) gives `&[Mode::Async]`.
    pub fn connections(
        &self,
        modes: &[Mode],
        threads: usize,
        (flag, limit): (&'static str, usize),
        calls: usize,
    ) -> descriptors::Connections {
        let parts: Vec<_> = modes
            .iter()
            .map(|mode| match mode {
                Mode::Sequential => descriptors::Part::Sequential,
                Mode::Threads => descriptors::Part::Threads(threads),
                Mode::Async => descriptors::Part::Async(flag, limit, self.http2),
            })
            .collect();
        descriptors::Connections::of(&parts, calls)
    }

    /// Client settings; the `connections` a run opens ([`SourceArgs::connections`]) size
    /// the idle pool so that every connection of one wave is reused by the next instead of
    /// being closed and opened again.
    ///
    /// The connections must fit the process's descriptor limit: over HTTP/1.1 each request
    /// in flight holds a socket, and the embedded mirror, in the same process, holds the
    /// other end; a run that cannot open them fails before it starts, not call by call,
    /// naming a flag that would lower them.
    pub fn http(&self, connections: &descriptors::Connections) -> asyncdex::Result<HttpOptions> {
        descriptors::check_descriptors(connections, self.api.is_none())?;
        let target = api_target(self.api.as_deref(), MirrorConfig::default())?;
        Ok(HttpOptions {
            timeout: Some(self.timeout),
            max_body: self.max_body * 1024 * 1024,
            max_idle_per_host: connections.count.max(1),
            http2: self.http2,
            // `--api`'s user:pass@, split off its root where the root is parsed.
            credentials: target.credentials(),
            // A server at `--api` may not lead a call off its root.
            redirects_within: target.redirects_within(),
        })
    }

    /// The plan of a `names` run or a `bench` sweep of `modes` over at most `calls` calls:
    /// pool size, concurrency (`limit`, the flag that set it named in a message), client
    /// settings and policy from these flags.
    pub fn plan(
        &self,
        limit: (&'static str, usize),
        (modes, threads, calls): (&[Mode], usize, usize),
        seed: u64,
        cancel: &CancellationToken,
    ) -> asyncdex::Result<Plan> {
        if modes.contains(&Mode::Threads) {
            crate::address_space::check_threads("--threads", threads)?;
        }
        if let Some(cores) = self.cores {
            crate::address_space::check_threads("--cores", cores)?;
        }
        let mut plan = Plan::new(Vec::new());
        plan.threads = threads;
        plan.concurrency = limit.1;
        plan.http = self.http(&self.connections(modes, threads, limit, calls))?;
        plan.policy = self.policy(limit.1, seed, cancel)?;
        Ok(plan)
    }

    pub fn policy(
        &self,
        concurrency: usize,
        seed: u64,
        cancel: &CancellationToken,
    ) -> asyncdex::Result<Policy> {
        let mut policy = Policy::new(concurrency);
        policy.timeout = Some(self.timeout);
        policy.retries = self.retries.unwrap_or(bounds::DEFAULT_RETRIES);
        policy.retry_budget = self.retry_budget;
        policy.max_retry_after = Duration::from_secs(self.max_retry_after);
        if let (Some(rate), Some(burst)) = (self.rate, self.burst) {
            bounds::check_burst(rate, burst)?;
        }
        policy.rate = self
            .rate
            .map(|rate| RateLimit::new(rate, self.burst.unwrap_or(1)))
            .transpose()?;
        policy.fail_fast = self.fail_fast;
        policy.hedge = self.hedge.map(Hedge::at).transpose()?;
        policy.cancel = cancel.clone();
        policy.seed = seed;
        policy.cores = self.cores.unwrap_or_else(default_cores);
        Ok(policy)
    }
}

/// Where `--api` points (none: the embedded mirror), its error naming the flag.
pub fn api_target(api: Option<&str>, mirror: MirrorConfig) -> asyncdex::Result<Target> {
    if let Some(bad) = api.and_then(malformed_escape) {
        return Err(asyncdex::Error::invalid_input(format!(
            "--api: the user name or password holds {bad:?}, which is not a %-escape (two hex digits): write % as %25"
        )));
    }
    Target::parse(api, mirror).map_err(|e| asyncdex::Error::invalid_input(format!("--api: {e}")))
}

/// The first `%` in a URL's `user:password@` not followed by two hex digits, with what
/// follows it: such a name cannot be decoded, and each call would fail at run time.
fn malformed_escape(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let bytes = userinfo.as_bytes();
    let at = (0..bytes.len()).find(|&i| {
        bytes[i] == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })?;
    Some(userinfo[at..].chars().take(3).collect())
}
