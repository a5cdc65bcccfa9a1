//! The engine on a job with no HTTP in it: checksum a folder of files, one by one and
//! then concurrently, with an error type of our own.
//!
//! Reading a file blocks, so each read runs on an [`offload`](asyncdex_engine::offload)
//! pool (`asyncio.to_thread`), unchanged; [`gather`](asyncdex_engine::gather::gather)
//! runs them all, at most 16 at a time, and hands back one outcome per file, in order. The
//! files here sit on a slow "disk" (each read sleeps 20 ms, as a network file system or a
//! cold disk would make it wait), so waiting one at a time costs N × 20 ms and waiting
//! together about ⌈N / 16⌉ × 20 ms. A file that is missing is a final failure (our
//! `Classify` says so); one that is busy is retried.
//!
//! ```sh
//! cargo run -p asyncdex-engine --example files
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use asyncdex_engine::gather::{gather, Classify, Policy, Retry};
use asyncdex_engine::offload::Pool;

/// What can go wrong reading one file: ours, not the engine's and not HTTP's.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the read could not run: {0}")]
    Engine(#[from] asyncdex_engine::Error),
}

impl Classify for ReadError {
    fn retry(&self) -> Retry {
        match self {
            // Busy or interrupted: worth another try. Missing or forbidden: final.
            ReadError::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock => Retry::Yes,
                _ => Retry::No,
            },
            ReadError::Engine(_) => Retry::No,
        }
    }
}

/// A blocking function, as a library would give it to us: read a file on a slow disk and
/// sum its bytes.
fn checksum(path: &PathBuf) -> std::io::Result<u64> {
    std::thread::sleep(Duration::from_millis(20));
    Ok(std::fs::read(path)?.iter().map(|&b| u64::from(b)).sum())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut paths: Vec<PathBuf> = (0..64)
        .map(|i| {
            let path = dir.path().join(format!("file-{i}.txt"));
            std::fs::write(&path, format!("file number {i}\n").repeat(i + 1)).map(|()| path)
        })
        .collect::<Result<_, _>>()?;
    paths.push(dir.path().join("missing.txt"));

    let started = Instant::now();
    let one_by_one: Vec<_> = paths.iter().map(checksum).collect();
    let sequential = started.elapsed();

    let pool = Pool::new("disk", 16);
    let mut policy = Policy::new(16);
    policy.retries = 2;
    let started = Instant::now();
    let outcomes = gather(paths.clone(), &policy, move |path: PathBuf| {
        let pool = pool.clone();
        async move {
            let shown = path.display().to_string();
            pool.run(move || checksum(&path))
                .await?
                .map_err(|source| ReadError::Io {
                    path: shown,
                    source,
                })
        }
    })
    .await?;
    let together = started.elapsed();

    let agree = outcomes
        .iter()
        .zip(&one_by_one)
        .all(|(o, s)| o.result.as_ref().ok() == s.as_ref().ok());
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            o.result
                .as_ref()
                .err()
                .map(|e| format!("{e} ({} attempt)", o.attempts))
        })
        .collect();
    println!(
        "{} files, one by one: {:>6.0} ms",
        paths.len(),
        sequential.as_secs_f64() * 1e3
    );
    println!(
        "{} files, together:   {:>6.0} ms (at most 16 at once)",
        paths.len(),
        together.as_secs_f64() * 1e3
    );
    println!("same checksums: {agree}; failed: {}", failed.join(", "));
    assert!(agree, "the two ways must agree");
    assert_eq!(failed.len(), 1, "only the missing file fails");
    Ok(())
}
