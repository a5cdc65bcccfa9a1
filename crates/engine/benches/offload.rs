//! What does offloading one blocking call cost? (issue #3 target: ≤ 20 µs per call)
//!
//! `cargo bench --bench offload`
//!
//! - `inline`: the function called directly (the floor);
//! - `spawn_blocking`: tokio's blocking pool alone;
//! - `pool.run`: asyncdex's bounded pool (semaphore permit + spawn_blocking + gauges).

use std::hint::black_box;

use asyncdex_engine::offload::Pool;
use criterion::{criterion_group, criterion_main, Criterion};

fn work() -> u64 {
    black_box(21) * 2
}

fn offload(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pool = Pool::new("bench", Pool::default_size());
    let mut group = c.benchmark_group("offload");
    group.bench_function("inline", |b| b.iter(work));
    group.bench_function("spawn_blocking", |b| {
        b.to_async(&runtime)
            .iter(|| async { tokio::task::spawn_blocking(work).await.unwrap() })
    });
    group.bench_function("pool.run", |b| {
        b.to_async(&runtime)
            .iter(|| async { pool.run(work).await.unwrap() })
    });
    group.finish();
}

criterion_group!(benches, offload);
criterion_main!(benches);
