//! `Deadline` reset to a later instant (a heartbeat), beside the two ways it is done without
//! this crate: `Sleep::reset(now + d)`, and re-creating a `Box::pin(sleep(d))` and polling it.
//!
//! Run: `cargo bench --bench deadline`, then `python3 scripts/bench_ratios.py deadline_reset_later`.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use deadlines::Deadline;
use tokio::time::{Instant, Sleep, sleep};

const WINDOW: Duration = Duration::from_secs(60);

fn poll_once<F: Future>(future: Pin<&mut F>) {
    let mut cx = Context::from_waker(Waker::noop());
    let _ = black_box(future.poll(&mut cx));
}

fn reset_later(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let mut group = c.benchmark_group("deadline_reset_later");

    // Each is polled once first, so its timer is registered in the wheel, as in a select loop.
    let mut deadline = Box::pin(Deadline::after(WINDOW));
    poll_once(deadline.as_mut());
    group.bench_function("deadline_reset", |b| {
        b.iter(|| deadline.as_mut().reset(black_box(WINDOW)))
    });

    let mut slept: Pin<Box<Sleep>> = Box::pin(sleep(WINDOW));
    poll_once(slept.as_mut());
    group.bench_function("sleep_reset", |b| {
        b.iter(|| slept.as_mut().reset(Instant::now() + black_box(WINDOW)))
    });

    group.bench_function("sleep_recreate", |b| {
        b.iter(|| {
            let mut fresh = Box::pin(sleep(black_box(WINDOW)));
            poll_once(fresh.as_mut());
            fresh
        })
    });
    group.finish();
}

criterion_group!(benches, reset_later);
criterion_main!(benches);
