//! A PostgreSQL outage mid-crawl, without restarting the real server: a loopback TCP
//! proxy between the worker and `ASYNCDEX_POSTGRES_URL`'s server cuts every connection
//! and refuses new ones for a while. A worker rides out a short outage and finishes the
//! crawl, every resource stored once; when the server stays away it stops after the
//! outage it rides out (30 s), reports what it did, says why in one line and exits 1,
//! and a later run finishes the crawl with nothing lost or stored twice. A server that
//! stops answering without closing (the proxy a black hole) is such an outage too, once
//! its silence passes the deadline (shortened here by the URL's `tcp_user_timeout`), and
//! so it is for `crawl --status`; a signal during an outage stops the worker as an
//! interrupted crawl (130), its manifest printed.
//!
//! Skipped, saying how to start a server, when `ASYNCDEX_POSTGRES_URL` is not set.

use crate::common;
use crate::pg;

use std::process::Child;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pg::queue::counts;
use asyncdex::pg::{PgStore, Scratch};
use common::binary::text;
use pg::proxy::{through, Proxy};
use pg::wait;

/// A worker through `url`, its leases short (a worker that gave up holds its batch no
/// longer than that).
fn worker(url: &str, api: &str) -> Child {
    pg::worker(url, api, "berry,type", &["-c", "2", "--lease", "5"])
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
    setting_with(test, "")
}

/// [`setting`], the worker's URL ending in `query` (`?name=value`).
fn setting_with(test: &str, query: &str) -> Option<(Setting, Child)> {
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
    let url = format!("{url}{query}");
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

#[test]
fn postgres_a_server_that_stops_answering_is_an_outage_the_worker_gives_up_on() {
    let test = "postgres_a_server_that_stops_answering_is_an_outage_the_worker_gives_up_on";
    // Two seconds of silence while an answer is owed end a connection (30 s by default).
    let Some((s, child)) = setting_with(test, "?tcp_user_timeout=2") else {
        return;
    };
    s.proxy.black_hole();
    let out = wait(child, Duration::from_secs(80));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: gave up on ") && last.contains(" after 30 s "),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(manifest["complete"], false, "{manifest}");

    // The readers through the black hole: one line each, within the pool's connect bound.
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("export");
    let to = to.to_str().unwrap();
    for args in [
        &["crawl", "--status", "--out", &s.url][..],
        &["export", "--from", &s.url, "--to", to],
        &["serve", "--from", &s.url, "--bind", "127.0.0.1:0"],
    ] {
        let started = Instant::now();
        let out = common::binary::asyncdex(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "{args:?} gave up"
        );
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: cannot connect to ") && stderr.contains("sent nothing"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains(&s.password));
    }
    assert!(!std::path::Path::new(to).exists(), "export wrote nothing");
    s.stop();
}

#[test]
fn postgres_a_signal_during_an_outage_stops_the_worker_as_an_interrupted_crawl() {
    let test = "postgres_a_signal_during_an_outage_stops_the_worker_as_an_interrupted_crawl";
    let Some((s, child)) = setting(test) else {
        return;
    };
    s.proxy.cut(true);
    std::thread::sleep(Duration::from_secs(1));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = wait(child, Duration::from_secs(25));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("queue not counted: interrupted while the connection to "),
        "{stderr}"
    );
    assert!(!stderr.contains("gave up on"), "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(manifest["complete"], false, "{manifest}");
    s.stop();
}
