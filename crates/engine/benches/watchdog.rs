//! What does the watchdog cost on a busy runtime? (issue #3)
//!
//! `cargo bench --bench watchdog`
//!
//! - `poll/plain` vs `poll/labelled/*`: one poll of a ready future, without and with a
//!   label; with no watchdog running a label costs one atomic load, with one running two
//!   uncontended lock/unlock pairs and a clock read;
//! - `busy/10k_tasks` without and with a running watchdog: spawning and awaiting 10 000
//!   small labelled tasks, the heartbeat and watchdog thread running or not.

use std::hint::black_box;

use asyncdex_engine::watchdog::{LabelExt, Watchdog, WatchdogConfig};
use criterion::{criterion_group, criterion_main, Criterion};

fn busy(runtime: &tokio::runtime::Runtime) -> u64 {
    runtime.block_on(async {
        let tasks: Vec<_> = (0..10_000u64)
            .map(|i| tokio::spawn(async move { black_box(i) * 2 }.label("bench task")))
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    })
}

fn watchdog(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("poll");
    group.bench_function("plain", |b| {
        b.iter(|| futures::executor::block_on(async { black_box(1) }))
    });
    group.bench_function("labelled/no_watchdog", |b| {
        b.iter(|| futures::executor::block_on(async { black_box(1) }.label("x")))
    });
    let watching =
        Watchdog::start(runtime.handle(), WatchdogConfig::default(), |_| {}).expect("a thread");
    group.bench_function("labelled/watchdog_running", |b| {
        b.iter(|| futures::executor::block_on(async { black_box(1) }.label("x")))
    });
    drop(watching);
    group.finish();

    let mut group = c.benchmark_group("busy");
    group.bench_function("10k_tasks/no_watchdog", |b| b.iter(|| busy(&runtime)));
    let dog = Watchdog::start(runtime.handle(), WatchdogConfig::default(), |e| {
        eprintln!("{e}")
    })
    .expect("a thread");
    group.bench_function("10k_tasks/watchdog", |b| b.iter(|| busy(&runtime)));
    drop(dog);
    group.finish();
}

criterion_group!(benches, watchdog);
criterion_main!(benches);
