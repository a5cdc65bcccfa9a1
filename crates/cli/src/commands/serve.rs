//! `asyncdex serve`: the mirror as a standalone PokeAPI server.

use asyncdex_engine::offload;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::{io_error, Io, Summary};
use asyncdex::mirror::{self, Data, MirrorConfig};
use asyncdex::{Error, ErrorKind, Result};

/// A validated `serve` job.
#[derive(Debug, Clone)]
pub struct ServeJob {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Latency, jitter, seed, padding.
    pub config: MirrorConfig,
    /// A store or a static folder to serve instead of the embedded PokeAPI.
    pub from: Option<PathBuf>,
}

/// Serves until Ctrl-C or SIGTERM (the run's cancellation), then stops gracefully.
pub async fn serve(job: ServeJob, io: Io<'_>) -> Result<Summary> {
    let data = match job.from.clone() {
        None => Data::embedded(),
        Some(path) => match super::postgres::url_of(&path) {
            Some(url) => Data::postgres(asyncdex::pg::PgStore::open_existing(url).await?).await?,
            None => offload::once("opening the data", move || Data::open(&path)).await??,
        },
    };
    let listener = mirror::listen(job.bind)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot listen on {}: {e}", job.bind)))?;
    let addr = listener.local_addr().map_err(io_error)?;
    writeln!(
        io.out,
        "asyncdex mirror serving {} as PokeAPI at {} ({}); Ctrl-C stops it",
        super::report::escape_display(data.describe()),
        mirror::base_url_for(addr),
        job.config.describe()
    )
    .map_err(io_error)?;
    io.out.flush().map_err(io_error)?;
    // The binary's signal handling (SIGINT and SIGTERM alike) cancels `io.cancel`: the
    // mirror stops accepting, finishes what is in flight, and the stop is a normal one.
    let stop = io.cancel.clone();
    let stats = mirror::serve(
        listener,
        job.config,
        data,
        async move { stop.cancelled().await },
    )
    .await
    .map_err(io_error)?;
    writeln!(
        io.out,
        "stopped after {} requests; faults injected: {}",
        stats.requests, stats.faults
    )
    .map_err(io_error)?;
    if let Some(c) = stats.capacity {
        writeln!(
            io.out,
            "capacity: {} requests waited for a place (mean {:.1} ms, longest {:.1} ms), {} turned away with 503",
            c.queued,
            c.mean_wait().as_secs_f64() * 1e3,
            c.max_wait_us as f64 / 1e3,
            c.rejected
        )
        .map_err(io_error)?;
    }
    if stats.over_budget > 0 {
        writeln!(
            io.out,
            "memory: {} answers turned away with 503, the bytes of answers in flight being at the server's budget ({} MiB)",
            stats.over_budget,
            mirror::DEFAULT_ANSWER_BUDGET >> 20
        )
        .map_err(io_error)?;
    }
    if stats.stalled > 0 {
        let limits = mirror::ServeLimits::default();
        writeln!(
            io.out,
            "slow clients: {} connections dropped for not reading their answers (slower than {} B/s, or nothing for {} s)",
            stats.stalled,
            limits.min_send_rate,
            limits.send_timeout.as_secs()
        )
        .map_err(io_error)?;
    }
    if stats.crowded_out > 0 {
        writeln!(
            io.out,
            "crowded: {} connections closed at the connection cap, their address holding more than its share of the slots",
            stats.crowded_out
        )
        .map_err(io_error)?;
    }
    // Stopped by a signal (the only way it stops): the exit code names it (130, 143...).
    Ok(Summary {
        interrupted: io.cancel.is_cancelled(),
        ..Summary::default()
    })
}
