//! `Heartbeat::beat` beside its floor and the baseline it replaces, in one criterion group,
//! `heartbeat`:
//!
//! - `beat`: `Heartbeat::beat()` on a watchdog (timeout 1 h) that was created and polled once on
//!   the bench thread, so its timer is registered; the beats come from another std thread.
//! - `floor`: what a beat cannot do without: `tokio::time::Instant::now()` and one Relaxed
//!   `AtomicU64::fetch_max` of the nanoseconds since an origin, from another std thread the
//!   same way.
//! - `mpsc`: a heartbeat without this crate: `blocking_send(())` on a bounded channel (1024) from
//!   a std thread to a task on a 2-worker runtime that resets a `Sleep` to now + 1 h for every
//!   message. Timed end to end: the sample ends when the task has processed every message.
//!
//! Each sample is timed inside the thread that beats (or sends), with `iter_custom`, so the
//! thread's start and join are not counted. Before the benches, one million beats from another
//! thread are checked to wake the watchdog's task zero times (a counting waker, printed).
//!
//! A second group, `rearm`, prices the two kinds of `Watchdog::rearm` (rule 8) on the bench
//! thread, beside `Sleep` operations of the same run:
//!
//! - `restart`: `rearm` during a life: a clock read and one `fetch_max`, like a beat.
//! - `new_life`: a heartbeat's `stop` (ending the life), then `rearm`, which finds the life over
//!   and allocates the next life's shared state. The stop is counted: a new life needs an
//!   outcome first.
//! - `sleep_reset`: `Sleep::reset(now + 1 h)` on a registered `Sleep`.
//! - `sleep_recreate`: `Box::pin(sleep(1 h))`, polled once and dropped.
//!
//! Run: `cargo bench --bench watchdog`, then
//! `python3 scripts/bench_ratios.py heartbeat floor mpsc` and
//! `python3 scripts/bench_ratios.py rearm sleep_reset sleep_recreate`.

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use deadlines::Watchdog;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

const TIMEOUT: Duration = Duration::from_secs(3600);
const WAKE_CHECK_BEATS: u64 = 1_000_000;

/// Counts the wakes of the task it stands for.
#[derive(Default)]
struct WakeCounter(AtomicUsize);

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `body` on a fresh std thread and returns what it measured.
fn on_other_thread(body: impl FnOnce() -> Duration + Send) -> Duration {
    thread::scope(|s| s.spawn(body).join().unwrap())
}

/// "0 wakeups a beat": a watchdog polled with a counting waker, beaten from another thread.
fn check_beats_wake_nobody() {
    let counter = Arc::new(WakeCounter::default());
    let waker = Waker::from(counter.clone());
    let mut watchdog = Box::pin(Watchdog::new(TIMEOUT));
    let hb = watchdog.heartbeat();
    let polled = watchdog.as_mut().poll(&mut Context::from_waker(&waker));
    assert!(polled.is_pending(), "a 1 h watchdog resolved at once");

    let counted = thread::scope(|s| {
        s.spawn(|| (0..WAKE_CHECK_BEATS).filter(|_| hb.beat()).count())
            .join()
            .unwrap()
    });
    assert_eq!(counted as u64, WAKE_CHECK_BEATS, "every beat counts");

    let wakes = counter.0.load(Ordering::Relaxed);
    eprintln!(
        "heartbeat: {WAKE_CHECK_BEATS} beats from another thread woke the watchdog {wakes} times"
    );
    assert_eq!(wakes, 0, "a beat woke the watchdog's task");
    drop(watchdog);
}

fn heartbeat(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();

    check_beats_wake_nobody();

    let mut group = c.benchmark_group("heartbeat");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    // Owned and polled once here, so its timer is in the wheel, as in a select loop.
    let mut watchdog = Box::pin(Watchdog::new(TIMEOUT));
    let hb = watchdog.heartbeat();
    assert!(
        watchdog
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
    group.bench_function("beat", |b| {
        b.iter_custom(|iters| {
            on_other_thread(|| {
                hb.beat(); // the thread's first clock read, untimed
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    black_box(hb.beat());
                }
                start.elapsed()
            })
        })
    });
    assert!(hb.beat(), "the watchdog stayed armed throughout");

    let origin = Instant::now();
    let word = Arc::new(AtomicU64::new(0));
    let floor = || {
        let nanos = Instant::now().saturating_duration_since(origin).as_nanos();
        word.fetch_max(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed)
    };
    group.bench_function("floor", |b| {
        b.iter_custom(|iters| {
            on_other_thread(|| {
                floor();
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    black_box(floor());
                }
                start.elapsed()
            })
        })
    });

    // Two workers, so the receiving task runs while the sender sends.
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (tx, mut rx) = mpsc::channel::<()>(1024);
    let processed = Arc::new(AtomicU64::new(0));
    let receiver = mt.spawn({
        let processed = processed.clone();
        async move {
            let idle = sleep(TIMEOUT);
            tokio::pin!(idle);
            loop {
                tokio::select! {
                    message = rx.recv() => match message {
                        Some(()) => {
                            idle.as_mut().reset(Instant::now() + TIMEOUT);
                            processed.fetch_add(1, Ordering::Release);
                        }
                        None => break,
                    },
                    () = &mut idle => unreachable!("no 1 h gap between heartbeats"),
                }
            }
        }
    });
    group.bench_function("mpsc", |b| {
        b.iter_custom(|iters| {
            on_other_thread(|| {
                // Every earlier sample waited for its messages: nothing is in flight.
                let target = processed.load(Ordering::Acquire) + iters;
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    tx.blocking_send(()).unwrap();
                }
                while processed.load(Ordering::Acquire) < target {
                    thread::yield_now();
                }
                start.elapsed()
            })
        })
    });
    group.finish();

    drop(tx);
    mt.block_on(receiver).unwrap();
    drop(watchdog);
}

fn rearm(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let mut cx = Context::from_waker(Waker::noop());

    let mut group = c.benchmark_group("rearm");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    let mut watchdog = Box::pin(Watchdog::new(TIMEOUT));
    assert!(watchdog.as_mut().poll(&mut cx).is_pending());
    let hb = watchdog.heartbeat();
    group.bench_function("restart", |b| b.iter(|| watchdog.as_mut().rearm()));
    assert!(hb.beat(), "every rearm was a restart of the first life");

    group.bench_function("new_life", |b| {
        b.iter(|| {
            black_box(watchdog.heartbeat().stop());
            watchdog.as_mut().rearm();
        })
    });
    assert!(!hb.beat(), "the first life ended");

    let mut registered = Box::pin(sleep(TIMEOUT));
    assert!(registered.as_mut().poll(&mut cx).is_pending());
    group.bench_function("sleep_reset", |b| {
        b.iter(|| registered.as_mut().reset(Instant::now() + TIMEOUT))
    });
    group.bench_function("sleep_recreate", |b| {
        b.iter(|| {
            let mut fresh = Box::pin(sleep(TIMEOUT));
            black_box(fresh.as_mut().poll(&mut cx).is_pending())
        })
    });
    group.finish();
}

criterion_group!(benches, heartbeat, rearm);
criterion_main!(benches);
