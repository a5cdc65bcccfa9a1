//! A PostgreSQL outage mid-crawl, without restarting the real server: a loopback TCP
//! proxy between the worker and `ASYNCDEX_POSTGRES_URL`'s server cuts every connection
//! and refuses new ones for a while. A worker rides out a short outage and finishes the
//! crawl, every resource stored once; when the server stays away it stops after the
//! outage it rides out (30 s), reports what it did, says why in one line and exits 1,
//! and a later run finishes the crawl with nothing lost or stored twice.
//!
//! Skipped, saying how to start a server, when `ASYNCDEX_POSTGRES_URL` is not set.

mod common;
mod pg;

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pg::queue::counts;
use asyncdex::pg::{PgStore, Scratch};
use common::binary::text;

/// A TCP proxy on 127.0.0.1 to `upstream` that can cut every connection it carries and
/// refuse new ones (accepted, then closed at once: a server that is down).
struct Proxy {
    port: u16,
    open: Arc<Mutex<Vec<TcpStream>>>,
    refusing: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(Mutex::new(Vec::new()));
        let (refusing, accepted) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let (o, r, a, s) = (
            open.clone(),
            Arc::clone(&refusing),
            accepted.clone(),
            stop.clone(),
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
                ));
                pumps.push(pump(server, client));
            }
            for p in pumps {
                let _ = p.join();
            }
        });
        Proxy {
            port,
            open,
            refusing,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// Cuts every connection it carries; refuses new ones while `refuse`.
    fn cut(&self, refuse: bool) {
        self.refusing.store(refuse, Ordering::Relaxed);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn accept_again(&self) {
        self.refusing.store(false, Ordering::Relaxed);
    }
}

/// Copies `from` to `to` until either ends.
fn pump(mut from: TcpStream, mut to: TcpStream) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
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
fn through(url: &str, port: u16) -> (String, SocketAddr) {
    let (head, tail) = url.split_once('@').unwrap();
    let (server, db) = tail.split_once('/').unwrap();
    (
        format!("{head}@127.0.0.1:{port}/{db}"),
        server.parse().unwrap(),
    )
}

/// A worker through `url`, its leases short (a worker that gave up holds its batch no
/// longer than that).
fn worker(url: &str, api: &str) -> Child {
    pg::worker(url, api, "berry,type", &["-c", "2", "--lease", "5"])
}

/// Waits for `child` at most `limit` (killing it, and failing, past that).
fn wait(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}: {}", text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// The setting of both tests: a scratch database, a slow mirror (the crawl takes a few
/// seconds), the proxy, and a worker through it that has stored some resources.
struct Setting {
    rt: tokio::runtime::Runtime,
    mirror: Mirror,
    db: Scratch,
    proxy: Proxy,
    url: String,
    password: String,
}

fn setting(test: &str) -> Option<(Setting, Child)> {
    let db = Scratch::for_test(test)?;
    let rt = pg::rt();
    let config = MirrorConfig {
        latency: Duration::from_millis(100),
        ..MirrorConfig::default()
    };
    let mirror = rt.block_on(Mirror::start(config)).unwrap();
    let (_, upstream) = through(db.url(), 0);
    let proxy = Proxy::start(upstream);
    let (url, _) = through(db.url(), proxy.port);
    let password = db
        .url()
        .split_once('@')
        .unwrap()
        .0
        .rsplit_once(':')
        .unwrap()
        .1;
    let password = password.to_owned();
    let mut child = worker(&url, mirror.base_url());
    let setting = Setting {
        rt,
        mirror,
        db,
        proxy,
        url,
        password,
    };
    // Mid-crawl: some stored, most not.
    let started = Instant::now();
    let why = loop {
        std::thread::sleep(Duration::from_millis(100));
        let (done, queued) = setting.progress();
        if done >= 10 && done < queued {
            return Some((setting, child));
        }
        if done >= 10 {
            break format!("the crawl ended before the cut: {done}/{queued}");
        }
        if started.elapsed() > Duration::from_secs(60) {
            break "no progress in 60 s".to_owned();
        }
    };
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!("{why}: {}", text(&out.stderr));
}

impl Setting {
    /// (done, queued) as the queue has it, straight from the server (0, 0 before seeding).
    fn progress(&self) -> (u64, u64) {
        self.rt.block_on(async {
            let Ok(store) = PgStore::open_existing(self.db.url()).await else {
                return (0, 0);
            };
            let all = counts(&store, None).await.unwrap_or_default();
            (
                all.iter().map(|c| c.done).sum(),
                all.iter().map(|c| c.queued).sum(),
            )
        })
    }

    /// Every resource of the queue done, stored, and written once.
    fn assert_each_stored_once(&self) {
        let (rows, writes) = self.rt.block_on(async {
            let store = PgStore::open_existing(self.db.url()).await.unwrap();
            store.writes().await.unwrap()
        });
        let (done, queued) = self.progress();
        assert_eq!(
            (done, rows, writes),
            (queued, queued, queued),
            "each stored once"
        );
    }

    fn stop(self) {
        self.rt.block_on(self.mirror.stop());
    }
}

#[test]
fn postgres_a_worker_rides_out_a_short_outage_and_finishes_storing_each_once() {
    let test = "postgres_a_worker_rides_out_a_short_outage_and_finishes_storing_each_once";
    let Some((s, child)) = setting(test) else {
        return;
    };
    let before = s.proxy.accepted.load(Ordering::Relaxed);
    s.proxy.cut(true);
    std::thread::sleep(Duration::from_secs(3));
    s.proxy.accept_again();
    let out = wait(child, Duration::from_secs(120));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(manifest["complete"], true, "{manifest}");
    assert!(stderr.contains(" 0 leased, 0 failed, 0 left"), "{stderr}");
    assert!(!stderr.contains("WARN"), "a log line: {stderr}");
    assert!(!stderr.contains(&s.password) && !stdout.contains(&s.password));
    assert!(
        s.proxy.accepted.load(Ordering::Relaxed) > before,
        "the worker connected again"
    );
    s.assert_each_stored_once();
    s.stop();
}

#[test]
fn postgres_a_worker_whose_server_stays_away_reports_what_it_did_and_exits_1() {
    let test = "postgres_a_worker_whose_server_stays_away_reports_what_it_did_and_exits_1";
    let Some((s, child)) = setting(test) else {
        return;
    };
    let cut = Instant::now();
    s.proxy.cut(true);
    let out = wait(child, Duration::from_secs(90));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        cut.elapsed() >= Duration::from_secs(30),
        "it waited for the server"
    );
    let last = stderr.lines().last().unwrap_or("");
    let shown = s.url.replace(&format!(":{}@", s.password), "@");
    assert!(
        last.starts_with(&format!("error: gave up on {shown} after 30 s")),
        "{stderr}"
    );
    assert!(
        last.ends_with("run the crawl again to fetch what is missing"),
        "{last}"
    );
    assert!(!stderr.contains(&s.password) && !stdout.contains(&s.password));
    assert!(
        !stderr.contains("panicked") && !stderr.contains("WARN"),
        "{stderr}"
    );
    let manifest: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(manifest["complete"], false, "{manifest}");
    let fetched: u64 = manifest["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fetched"].as_u64().unwrap())
        .sum();
    assert!(fetched >= 10, "what it did is reported: {manifest}");

    // Nothing lost, nothing twice: a run straight to the server finishes the crawl.
    let again = wait(
        worker(s.db.url(), s.mirror.base_url()),
        Duration::from_secs(120),
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    s.assert_each_stored_once();
    s.stop();
}
