//! What an adaptive limit costs per call: 1 000 000 calls that only yield once, gathered under a
//! fixed limit and under an adaptive one of the same maximum, each way timed five times.
//! The difference is the limit's own work (an atomic count in flight, a clock read and a
//! lock at each attempt's end).
//!
//! ```sh
//! cargo run --release -p asyncdex-engine --example adaptive_cost
//! ```

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use asyncdex_engine::gather::{gather, Adaptive, Event, Policy};

const CALLS: usize = 1_000_000;

async fn per_call(policy: &Policy) -> f64 {
    let t0 = Instant::now();
    let outcomes = gather((0..CALLS).collect(), policy, |i: usize| async move {
        tokio::task::yield_now().await; // in flight for one turn, as a call that waits is
        Ok::<_, std::io::Error>(i)
    })
    .await
    .expect("a valid policy");
    assert_eq!(outcomes.len(), CALLS);
    t0.elapsed().as_nanos() as f64 / CALLS as f64
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let fixed = Policy::new(64);
    let mut adaptive = Policy::new(64);
    adaptive.adaptive = Some(Adaptive::default());
    let (changes, last) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (c, l) = (changes.clone(), last.clone());
    adaptive.events = Some(Arc::new(move |event: &Event| {
        if let Event::Limit { limit } = event {
            c.fetch_add(1, Relaxed);
            l.store(*limit, Relaxed);
        }
    }));
    for round in 1..=5 {
        let f = per_call(&fixed).await;
        let a = per_call(&adaptive).await;
        println!(
            "round {round}: fixed {f:.0} ns/call, adaptive {a:.0} ns/call, difference {:.0} ns \
             (the limit changed {} times, ended at {})",
            a - f,
            changes.swap(0, Relaxed),
            last.load(Relaxed)
        );
    }
}
