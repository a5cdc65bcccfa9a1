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
    /// A store or a static folder to serve instead of the embedded Pokédex.
    pub from: Option<PathBuf>,
}

/// Serves until Ctrl-C or SIGTERM, then stops gracefully.
pub async fn serve(job: ServeJob, io: Io<'_>) -> Result<Summary> {
    let data = match job.from.clone() {
        None => Data::embedded(),
        Some(path) => offload::once("opening the data", move || Data::open(&path)).await??,
    };
    let listener = mirror::listen(job.bind)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot listen on {}: {e}", job.bind)))?;
    let addr = listener.local_addr().map_err(io_error)?;
    writeln!(
        io.out,
        "asyncdex mirror serving {} as PokeAPI at {} ({}); Ctrl-C stops it",
        data.describe(),
        mirror::base_url_for(addr),
        job.config.describe()
    )
    .map_err(io_error)?;
    io.out.flush().map_err(io_error)?;
    let stats = mirror::serve_data(listener, job.config, data, shutdown_signal())
        .await
        .map_err(io_error)?;
    writeln!(
        io.out,
        "stopped after {} requests; faults injected: {}",
        stats.requests, stats.faults
    )
    .map_err(io_error)?;
    Ok(Summary::default())
}

/// Completes on Ctrl-C, or on SIGTERM where there is one.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
