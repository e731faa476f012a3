//! `debounce` beside the debounces it replaces.
//!
//! - `debounce_burst`: a burst of 10^6 items already buffered in the source, through
//!   `debounce` and through a naive debounce (written below) that resets its `Sleep` on every
//!   item. Both take every ready item in one poll; what differs is the work per item. The
//!   timed part is that poll (the whole burst taken, the stream back to `Pending`); the window
//!   then settles untimed, since waiting is not work, and the bench checks the settled item and
//!   counts `debounce`'s timer resets (at most 3 a burst, asserted). Real clock, current-thread
//!   runtime, so both sides pay the real clock read and timer-wheel update they would in use.
//! - `debounce_settle`: 10^3 items already buffered, a 1 ms window: the wall time from the
//!   start until the debounced stream yields its item, `debounce` beside
//!   `futures_time::stream::StreamExt::debounce` (which takes one item per window, on
//!   async-io's real-clock timer). Real clock on both sides; few samples, as one futures-time
//!   run takes about a second.
//!
//! Run: `cargo bench --bench stream`, then
//! `python3 scripts/bench_ratios.py debounce_burst naive_reset_per_item` and
//! `python3 scripts/bench_ratios.py debounce_settle futures_time`.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use deadlines::stream::StreamDeadlineExt;
use futures_core::Stream;
use futures_util::StreamExt as _;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep};

const BURST: u64 = 1_000_000;
const SETTLE_ITEMS: u64 = 1_000;
const WINDOW: Duration = Duration::from_millis(1);

/// `BURST` items ready at once, then a source that stays open.
fn burst(len: u64) -> impl Stream<Item = u64> {
    futures_util::stream::iter(0..len).chain(futures_util::stream::pending())
}

pin_project! {
    /// The debounce this crate replaces: it takes every ready item, and resets its `Sleep` to
    /// a window from now on each one.
    struct NaiveDebounce<S: Stream> {
        #[pin]
        source: S,
        #[pin]
        sleep: Sleep,
        window: Duration,
        held: Option<S::Item>,
        resets: u64,
    }
}

impl<S: Stream> NaiveDebounce<S> {
    fn new(source: S, window: Duration) -> Self {
        Self {
            source,
            sleep: sleep(window),
            window,
            held: None,
            resets: 0,
        }
    }
}

impl<S: Stream> Stream for NaiveDebounce<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        loop {
            match this.source.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    *this.held = Some(item);
                    this.sleep.as_mut().reset(Instant::now() + *this.window);
                    *this.resets += 1;
                }
                Poll::Ready(None) => return Poll::Ready(this.held.take()),
                Poll::Pending => break,
            }
        }
        if this.held.is_some() {
            ready!(this.sleep.poll(cx));
            return Poll::Ready(this.held.take());
        }
        Poll::Pending
    }
}

/// Polls once with a no-op waker: the whole burst is taken and the stream returns `Pending`.
fn take_burst<S: Stream>(stream: Pin<&mut S>) {
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        stream.poll_next(&mut cx).is_pending(),
        "the burst settles later"
    );
}

/// One burst through `debounce`: the time of the poll that takes it, and the timer resets.
fn debounce_once(rt: &tokio::runtime::Runtime) -> (Duration, u64) {
    let mut debounced = Box::pin(burst(BURST).debounce(WINDOW));
    let start = std::time::Instant::now();
    take_burst(debounced.as_mut());
    let taken = start.elapsed();
    assert_eq!(rt.block_on(debounced.next()), Some(BURST - 1));
    let resets = debounced.timer_resets();
    assert!(resets <= 3, "{resets} timer resets for one burst");
    (taken, resets)
}

/// One burst through the naive debounce: the time of the poll that takes it, and its resets.
fn naive_once(rt: &tokio::runtime::Runtime) -> (Duration, u64) {
    let mut naive = Box::pin(NaiveDebounce::new(burst(BURST), WINDOW));
    let start = std::time::Instant::now();
    take_burst(naive.as_mut());
    let taken = start.elapsed();
    assert_eq!(rt.block_on(naive.next()), Some(BURST - 1));
    (taken, naive.resets)
}

fn debounce_burst(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();

    let (_, ours) = debounce_once(&rt);
    let (_, naive) = naive_once(&rt);
    println!(
        "debounce_burst: timer resets per {BURST}-item burst: debounce {ours}, naive_reset_per_item {naive}"
    );

    let mut group = c.benchmark_group("debounce_burst");
    group.throughput(Throughput::Elements(BURST));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("debounce", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| debounce_once(&rt).0).sum())
    });
    group.bench_function("naive_reset_per_item", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| naive_once(&rt).0).sum())
    });
    group.finish();
}

/// Wall time from the start until the debounced stream yields the burst's last item.
///
/// Ours yields it alone. futures-time's debounce takes one item per poll and restarts its
/// timer each time, so on a busy machine its 1 ms window can close mid-burst and it yields
/// earlier items first: those are skipped, and the time runs to the last one.
fn settle<S: Stream<Item = u64>>(rt: &tokio::runtime::Runtime, debounced: S) -> Duration {
    rt.block_on(async {
        let start = std::time::Instant::now();
        let mut debounced = pin!(debounced);
        while let Some(item) = debounced.next().await {
            if item == SETTLE_ITEMS - 1 {
                return start.elapsed();
            }
        }
        panic!("the burst's last item never came out");
    })
}

fn debounce_settle(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("debounce_settle");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("debounce", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| settle(&rt, burst(SETTLE_ITEMS).debounce(WINDOW)))
                .sum()
        })
    });
    group.bench_function("futures_time", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let window = futures_time::time::Duration::from_millis(1);
                    let debounced =
                        futures_time::stream::StreamExt::debounce(burst(SETTLE_ITEMS), window);
                    settle(&rt, debounced)
                })
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, debounce_burst, debounce_settle);
criterion_main!(benches);
