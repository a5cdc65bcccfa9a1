//! A loopback TCP proxy in front of the test server: what an outage looks like from the
//! worker's side, without touching the real server (`postgres_outage.rs`).

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A TCP proxy on 127.0.0.1 to `upstream` that can cut every connection it carries and
/// refuse new ones (accepted, then closed at once: a server that is down), or become a
/// black hole: every connection, old and new, kept open and nothing forwarded (a frozen
/// server, a network path that drops everything).
pub struct Proxy {
    pub port: u16,
    open: Arc<Mutex<Vec<TcpStream>>>,
    refusing: Arc<AtomicBool>,
    hole: Arc<AtomicBool>,
    /// Connections forwarded so far.
    pub accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1, forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(Mutex::new(Vec::new()));
        let (refusing, accepted) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let hole = Arc::new(AtomicBool::new(false));
        let (o, r, a, s, h) = (
            open.clone(),
            Arc::clone(&refusing),
            accepted.clone(),
            stop.clone(),
            hole.clone(),
        );
        let thread = std::thread::spawn(move || {
            let mut pumps = Vec::new();
            while !s.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                if r.load(Ordering::Relaxed) {
                    continue; // dropped: closed at once
                }
                if h.load(Ordering::Relaxed) {
                    o.lock().unwrap().push(client); // held open, never answered
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                a.fetch_add(1, Ordering::Relaxed);
                client.set_nonblocking(false).unwrap();
                let mut open = o.lock().unwrap();
                open.push(client.try_clone().unwrap());
                open.push(server.try_clone().unwrap());
                pumps.push(pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    h.clone(),
                ));
                pumps.push(pump(server, client, h.clone()));
            }
            for p in pumps {
                let _ = p.join();
            }
        });
        Proxy {
            port,
            open,
            refusing,
            hole,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// Cuts every connection it carries; refuses new ones while `refuse`.
    pub fn cut(&self, refuse: bool) {
        self.refusing.store(refuse, Ordering::Relaxed);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Forwards new connections again.
    pub fn accept_again(&self) {
        self.refusing.store(false, Ordering::Relaxed);
    }

    /// From now on forwards nothing, and closes nothing (until dropped).
    pub fn black_hole(&self) {
        self.hole.store(true, Ordering::Relaxed);
    }
}

/// Copies `from` to `to` until either ends; while `hole`, what arrives is dropped.
fn pump(mut from: TcpStream, mut to: TcpStream, hole: Arc<AtomicBool>) -> JoinHandle<()> {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if !hole.load(Ordering::Relaxed) && to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    })
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.cut(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `url` (`postgres://user:pw@host:port/db`) through the proxy at `port`, and its server.
pub fn through(url: &str, port: u16) -> (String, SocketAddr) {
    let (head, tail) = url.split_once('@').unwrap();
    let (server, db) = tail.split_once('/').unwrap();
    (
        format!("{head}@127.0.0.1:{port}/{db}"),
        server.parse().unwrap(),
    )
}
