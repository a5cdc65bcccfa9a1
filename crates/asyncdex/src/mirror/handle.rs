//! Mirrors running inside this process: [`Mirror`] on the caller's runtime, and
//! [`BackgroundMirror`] on a thread and runtime of its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{base_url_for, serve_state, Data, MirrorConfig, MirrorState, MirrorStats, ServeLimits};

/// A mirror running in this process, stopped by [`Mirror::stop`] or on drop.
pub struct Mirror {
    addr: SocketAddr,
    base_url: String,
    state: Arc<MirrorState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<MirrorStats>>>,
}

impl Mirror {
    /// Starts a mirror on `127.0.0.1` at a free port.
    pub async fn start(config: MirrorConfig) -> std::io::Result<Mirror> {
        Mirror::start_on("127.0.0.1:0".parse().expect("valid address"), config).await
    }

    /// Starts a mirror on `addr`.
    pub async fn start_on(addr: SocketAddr, config: MirrorConfig) -> std::io::Result<Mirror> {
        Mirror::serve_on(addr, config, Data::embedded(), ServeLimits::default()).await
    }

    /// Starts a mirror on `127.0.0.1` at a free port, holding clients to `limits`.
    pub async fn start_limited(
        config: MirrorConfig,
        limits: ServeLimits,
    ) -> std::io::Result<Mirror> {
        let addr = "127.0.0.1:0".parse().expect("valid address");
        Mirror::serve_on(addr, config, Data::embedded(), limits).await
    }

    /// Starts a mirror of `data` (a store or a static folder) on `127.0.0.1` at a free port.
    pub async fn start_from(data: Data, config: MirrorConfig) -> std::io::Result<Mirror> {
        let addr = "127.0.0.1:0".parse().expect("valid address");
        Mirror::serve_on(addr, config, data, ServeLimits::default()).await
    }

    async fn serve_on(
        addr: SocketAddr,
        config: MirrorConfig,
        data: Data,
        limits: ServeLimits,
    ) -> std::io::Result<Mirror> {
        let listener = super::listen(addr)?;
        let addr = listener.local_addr()?;
        let state = MirrorState::with_data(base_url_for(addr), config, data);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_state(listener, state.clone(), limits, async {
            let _ = rx.await;
        }));
        Ok(Mirror {
            addr,
            base_url: base_url_for(addr),
            state,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its API root, `http://127.0.0.1:PORT/api/v2`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What it has done so far.
    pub fn stats(&self) -> MirrorStats {
        self.state.stats()
    }

    /// Stops it and returns what it did. Requests in progress get up to half a second to
    /// finish (a client that was interrupted may have left some mid-latency); then the
    /// server is aborted.
    pub async fn stop(mut self) -> MirrorStats {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_millis(500), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        self.state.stats()
    }
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A mirror on its own thread with its own runtime, for programs whose runtime may block
/// (the lesson's "wrong" program blocks its only thread; a mirror on that runtime could not
/// answer). Stopped on drop.
pub struct BackgroundMirror {
    state: Arc<MirrorState>,
    base_url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundMirror {
    /// Starts a mirror on `127.0.0.1` at a free port, on a new thread. Callable from
    /// anywhere, async code included: the new thread builds and drives its own runtime.
    pub fn start(config: MirrorConfig) -> std::io::Result<BackgroundMirror> {
        BackgroundMirror::start_with(config, 2)
    }

    /// Like [`BackgroundMirror::start`], on a runtime of `workers` threads.
    ///
    /// Stopping gives requests in progress up to half a second, then drops them.
    pub fn start_with(config: MirrorConfig, workers: usize) -> std::io::Result<BackgroundMirror> {
        BackgroundMirror::start_limited(config, workers, ServeLimits::default())
    }

    /// Like [`BackgroundMirror::start_with`], holding clients to `limits`: for a mirror
    /// that shares the process with its client, [`ServeLimits::sharing_process`].
    pub fn start_limited(
        config: MirrorConfig,
        workers: usize,
        limits: ServeLimits,
    ) -> std::io::Result<BackgroundMirror> {
        type Ready = std::io::Result<(SocketAddr, Arc<MirrorState>)>;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Ready>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("asyncdex-mirror".into())
            .spawn(move || {
                // Fewer workers than asked, or this thread alone, where the system
                // refuses threads: never tokio's panic (see `runtime`).
                let started = super::runtime::build("asyncdex-mirror-worker", workers).and_then(
                    |super::runtime::Built { runtime: rt, .. }| {
                        let any = SocketAddr::from(([127, 0, 0, 1], 0));
                        let listener = rt.block_on(async { super::listen(any) })?;
                        Ok((rt, listener))
                    },
                );
                let (runtime, listener) = match started {
                    Ok(ok) => ok,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let addr = match listener.local_addr() {
                    Ok(addr) => addr,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let state = MirrorState::new(base_url_for(addr), config);
                let _ = ready_tx.send(Ok((addr, state.clone())));
                runtime.block_on(async move {
                    let (graceful_tx, graceful_rx) = oneshot::channel::<()>();
                    let server = serve_state(listener, state, limits, async {
                        let _ = graceful_rx.await;
                    });
                    tokio::pin!(server);
                    tokio::select! {
                        _ = &mut server => {}
                        _ = stop_rx => {
                            let _ = graceful_tx.send(());
                            let grace = Duration::from_millis(500);
                            let _ = tokio::time::timeout(grace, &mut server).await;
                        }
                    }
                });
                // Dropping the runtime here ends whatever is still in progress.
            })
            .map_err(refused)?;
        let (addr, state) = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("the mirror thread died while starting"))??;
        Ok(BackgroundMirror {
            state,
            base_url: base_url_for(addr),
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Its API root, `http://127.0.0.1:PORT/api/v2`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What it has done so far.
    pub fn stats(&self) -> MirrorStats {
        self.state.stats()
    }
}

/// The system's refusal to start the mirror's thread, said as what it most likely is.
fn refused(e: std::io::Error) -> std::io::Error {
    match e.kind() {
        std::io::ErrorKind::WouldBlock => {
            std::io::Error::new(e.kind(), "no thread could be started (ulimit -u?)")
        }
        _ => std::io::Error::new(e.kind(), format!("no thread could be started: {e}")),
    }
}

impl std::fmt::Debug for BackgroundMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundMirror")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for BackgroundMirror {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
