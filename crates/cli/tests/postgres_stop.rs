//! A worker stopped by a signal hands back the leases it holds, even when a lane could
//! not finish its last settle in time (another session held the rows it was settling,
//! past the grace a call gets after the signal): `crawl --status` right after shows
//! nothing leased, so the next worker starts at once instead of waiting out the lease.
//!
//! Skipped, saying how to start a server, when `ASYNCDEX_POSTGRES_URL` is not set.

use crate::common;
use crate::pg;

use std::time::{Duration, Instant};

use asyncdex::mirror::{Mirror, MirrorConfig};
use asyncdex::pg::queue::counts;
use asyncdex::pg::{PgStore, Scratch};
use common::binary::text;

/// The queue's (done, leased, left, queued), straight from the server.
fn progress(rt: &tokio::runtime::Runtime, url: &str) -> (u64, u64, u64, u64) {
    rt.block_on(async {
        let Ok(store) = PgStore::open_existing(url).await else {
            return (0, 0, 0, 0);
        };
        let all = counts(&store, None).await.unwrap_or_default();
        let sum = |f: fn(&asyncdex::pg::queue::Counts) -> u64| all.iter().map(f).sum();
        (
            sum(|c| c.done),
            sum(|c| c.leased),
            sum(|c| c.left),
            sum(|c| c.queued),
        )
    })
}

#[test]
fn postgres_a_signalled_worker_hands_back_its_leases_even_past_a_stuck_settle() {
    let test = "postgres_a_signalled_worker_hands_back_its_leases_even_past_a_stuck_settle";
    let Some(db) = Scratch::for_test(test) else {
        return;
    };
    let rt = pg::rt();
    let config = MirrorConfig {
        latency: Duration::from_millis(100),
        ..MirrorConfig::default()
    };
    let mirror = rt.block_on(Mirror::start(config)).unwrap();
    // Leases of 10 minutes: one left behind would still be leased when the test looks.
    let mut child = pg::worker(
        db.url(),
        mirror.base_url(),
        "pokemon",
        &["-c", "8", "--lease", "600"],
    );
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let (done, _, _, queued) = progress(&rt, db.url());
        if done >= 10 {
            assert!(
                done < queued,
                "the crawl ended before the test: {done}/{queued}"
            );
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("no progress in 60 s: {}", text(&out.stderr));
        }
    }
    // Another session locks every row leased now: the worker's settles of them wait.
    let held = db
        .hold("SELECT 1 FROM asyncdex.queue WHERE state = 'leased' FOR UPDATE")
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // Past the settle's grace (5 s), within the hand-back's bound (3 s more).
    std::thread::sleep(Duration::from_millis(6500));
    drop(held);
    let out = pg::wait(child, Duration::from_secs(30));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("interrupted while waiting for an answer"),
        "a settle was abandoned after its grace: {stderr}"
    );
    let manifest: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(manifest["complete"], false, "{manifest}");
    let (done, leased, left, queued) = progress(&rt, db.url());
    assert_eq!(
        leased, 0,
        "every lease handed back: {done} done, {left} left: {stderr}"
    );
    assert_eq!(done + left, queued);
    rt.block_on(mirror.stop());
}
