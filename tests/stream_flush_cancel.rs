//! lodash's `flush` and `cancel` on `debounce`, `debounce_batch` and `debounce_with`, at each
//! point of a burst, with what the stream yields afterwards; and `debounce_batch`'s
//! `max_items`.
//!
//! Each scenario runs on the three adapters, with a window of 100 ms (`debounce_with` gives
//! every item 100 ms). Items are their arrival time in milliseconds. A scenario states what
//! a burst holds as the list of its items: `debounce_batch` yields the list, the others its
//! last item.

mod common;

use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use common::{Fed, StreamProbe, advance_to, fed, ms};
use deadlines::stream::{Debounce, DebounceBatch, DebounceWith, StreamDeadlineExt};
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// The three adapters, seen alike: what they yield, flush and cancel, as lists.
trait Flushable: Stream<Item: std::fmt::Debug> + FusedStream {
    const NAME: &'static str;
    const BATCH: bool;
    fn flush_now(self: Pin<&mut Self>) -> Option<Vec<u64>>;
    fn cancel_now(self: Pin<&mut Self>) -> bool;
    fn list(item: Self::Item) -> Vec<u64>;
}

impl<S: Stream<Item = u64>> Flushable for Debounce<S> {
    const NAME: &'static str = "debounce";
    const BATCH: bool = false;
    fn flush_now(self: Pin<&mut Self>) -> Option<Vec<u64>> {
        self.flush().map(|item| vec![item])
    }
    fn cancel_now(self: Pin<&mut Self>) -> bool {
        self.cancel()
    }
    fn list(item: u64) -> Vec<u64> {
        vec![item]
    }
}

impl<S: Stream<Item = u64>> Flushable for DebounceBatch<S> {
    const NAME: &'static str = "debounce_batch";
    const BATCH: bool = true;
    fn flush_now(self: Pin<&mut Self>) -> Option<Vec<u64>> {
        self.flush()
    }
    fn cancel_now(self: Pin<&mut Self>) -> bool {
        self.cancel()
    }
    fn list(batch: Vec<u64>) -> Vec<u64> {
        batch
    }
}

impl<S: Stream<Item = u64>, F: FnMut(&u64) -> Duration> Flushable for DebounceWith<S, F> {
    const NAME: &'static str = "debounce_with";
    const BATCH: bool = false;
    fn flush_now(self: Pin<&mut Self>) -> Option<Vec<u64>> {
        self.flush().map(|item| vec![item])
    }
    fn cancel_now(self: Pin<&mut Self>) -> bool {
        self.cancel()
    }
    fn list(item: u64) -> Vec<u64> {
        vec![item]
    }
}

/// What an adapter yields (or flushes) for a burst that holds `items`.
fn out<A: Flushable>(items: &[u64]) -> Vec<u64> {
    if A::BATCH {
        items.to_vec()
    } else {
        vec![*items.last().unwrap()]
    }
}

/// An adapter over a hand-fed source, polled by hand.
struct Probe<A: Flushable> {
    feed: common::Feed<u64>,
    adapter: StreamProbe<A>,
    start: Instant,
}

impl<A: Flushable> Probe<A> {
    fn new(make: &impl Fn(Fed<u64>) -> A) -> Self {
        let (feed, source) = fed();
        Self {
            feed,
            adapter: StreamProbe::new(make(source)),
            start: Instant::now(),
        }
    }

    fn poll(&mut self) -> Poll<Option<Vec<u64>>> {
        self.adapter.poll().map(|item| item.map(A::list))
    }

    fn flush(&mut self) -> Option<Vec<u64>> {
        self.adapter.get().flush_now()
    }

    fn cancel(&mut self) -> bool {
        self.adapter.get().cancel_now()
    }

    fn wakes(&self) -> usize {
        self.adapter.wakes()
    }

    async fn at(&self, t: u64) {
        advance_to(self.start, ms(t)).await;
    }

    /// At `t`, the item `t`; then a poll, which must be `expected`.
    async fn push_at(&mut self, t: u64, expected: Poll<Option<Vec<u64>>>) {
        self.at(t).await;
        self.feed.push(t);
        assert_eq!(self.poll(), expected, "{}: the poll at {t}", A::NAME);
    }

    /// Advances to `t`, asserting no wakeup on the way and a pending poll just before.
    async fn quiet_until(&mut self, t: u64) {
        let wakes = self.wakes();
        self.at(t - 1).await;
        assert_eq!(self.wakes(), wakes, "{}: a wakeup before {t}", A::NAME);
        assert_eq!(self.poll(), Poll::Pending, "{}: at {}", A::NAME, t - 1);
        self.at(t).await;
    }
}

fn pending() -> Poll<Option<Vec<u64>>> {
    Poll::Pending
}

fn ready(items: Vec<u64>) -> Poll<Option<Vec<u64>>> {
    Poll::Ready(Some(items))
}

fn debounce(leading: bool, max_wait: Option<u64>) -> impl Fn(Fed<u64>) -> Debounce<Fed<u64>> {
    move |source| {
        let d = source.debounce(ms(100)).leading(leading);
        match max_wait {
            Some(max_wait) => d.max_wait(ms(max_wait)),
            None => d,
        }
    }
}

fn batch(leading: bool, max_wait: Option<u64>) -> impl Fn(Fed<u64>) -> DebounceBatch<Fed<u64>> {
    move |source| {
        let d = source.debounce_batch(ms(100)).leading(leading);
        match max_wait {
            Some(max_wait) => d.max_wait(ms(max_wait)),
            None => d,
        }
    }
}

type WithFn = fn(&u64) -> Duration;

fn with(
    leading: bool,
    max_wait: Option<u64>,
) -> impl Fn(Fed<u64>) -> DebounceWith<Fed<u64>, WithFn> {
    move |source| {
        let d = source
            .debounce_with((|_| ms(100)) as WithFn)
            .leading(leading);
        match max_wait {
            Some(max_wait) => d.max_wait(ms(max_wait)),
            None => d,
        }
    }
}

/// Runs a scenario on each adapter, built with `leading` and `max_wait`.
macro_rules! each_adapter {
    ($scenario:ident($leading:expr, $max_wait:expr $(, $arg:expr)*)) => {
        $scenario(debounce($leading, $max_wait), $leading $(, $arg)*).await;
        $scenario(batch($leading, $max_wait), $leading $(, $arg)*).await;
        $scenario(with($leading, $max_wait), $leading $(, $arg)*).await;
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Flush,
    Cancel,
}

// Before any item.

async fn before_any_item<A: Flushable>(make: impl Fn(Fed<u64>) -> A, leading: bool, op: Op) {
    let mut p = Probe::new(&make);
    match op {
        Op::Flush => assert_eq!(p.flush(), None, "{}", A::NAME),
        Op::Cancel => assert!(!p.cancel(), "{}", A::NAME),
    }
    assert_eq!(p.poll(), pending());
    // Nothing changed: the first item starts a burst as usual.
    if leading {
        p.push_at(10, ready(vec![10])).await;
        p.quiet_until(110).await;
        assert_eq!(p.poll(), pending(), "{}: a burst of one", A::NAME);
    } else {
        p.push_at(10, pending()).await;
        p.quiet_until(110).await;
        assert_eq!(p.poll(), ready(vec![10]));
    }
}

#[tokio::test(start_paused = true)]
async fn before_any_item_flush_and_cancel_do_nothing() {
    for op in [Op::Flush, Op::Cancel] {
        each_adapter!(before_any_item(false, None, op));
        each_adapter!(before_any_item(true, None, op));
    }
}

// Right after the leading edge.

async fn right_after_the_leading_edge<A: Flushable>(
    make: impl Fn(Fed<u64>) -> A,
    _leading: bool,
    op: Op,
) {
    let mut p = Probe::new(&make);
    p.push_at(0, ready(vec![0])).await;
    assert_eq!(p.poll(), pending());
    match op {
        // A burst is open, but nothing is held: nothing to return; the burst is closed.
        Op::Flush => assert_eq!(p.flush(), None, "{}", A::NAME),
        Op::Cancel => assert!(!p.cancel(), "{}: nothing was held", A::NAME),
    }
    assert_eq!(p.poll(), pending());
    let wakes = p.wakes();
    p.at(49).await;
    assert_eq!(p.wakes(), wakes, "{}: no timer left", A::NAME);
    match op {
        // 50 ms after the last item: within its window, no leading edge (lodash).
        Op::Flush => {
            p.push_at(50, pending()).await;
            p.quiet_until(150).await;
            assert_eq!(p.poll(), ready(vec![50]), "{}", A::NAME);
        }
        // The burst is forgotten: a new one, with its leading edge.
        Op::Cancel => {
            p.push_at(50, ready(vec![50])).await;
            p.quiet_until(150).await;
            assert_eq!(p.poll(), pending(), "{}", A::NAME);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn right_after_the_leading_edge_flush_closes_the_burst_and_cancel_forgets_it() {
    for op in [Op::Flush, Op::Cancel] {
        each_adapter!(right_after_the_leading_edge(true, None, op));
    }
}

#[tokio::test(start_paused = true)]
async fn right_after_the_first_item_without_leading() {
    async fn first_item<A: Flushable>(make: impl Fn(Fed<u64>) -> A, _: bool) {
        let mut p = Probe::new(&make);
        p.push_at(0, pending()).await;
        assert_eq!(p.flush(), Some(out::<A>(&[0])), "{}", A::NAME);
        assert_eq!(p.flush(), None, "{}: flushed once", A::NAME);
        assert_eq!(p.poll(), pending());

        let mut p = Probe::new(&make);
        p.push_at(0, pending()).await;
        assert!(p.cancel(), "{}", A::NAME);
        assert!(!p.cancel(), "{}: cancelled once", A::NAME);
        p.at(1_000).await;
        assert_eq!(p.poll(), pending(), "{}: nothing left", A::NAME);
    }
    each_adapter!(first_item(false, None));
}

// Mid-burst.

async fn mid_burst<A: Flushable>(
    make: impl Fn(Fed<u64>) -> A,
    leading: bool,
    op: Op,
    next_at: u64,
) {
    let mut p = Probe::new(&make);
    p.push_at(0, if leading { ready(vec![0]) } else { pending() })
        .await;
    p.push_at(30, pending()).await;
    p.push_at(40, pending()).await;
    p.at(50).await;
    let held: &[u64] = if leading { &[30, 40] } else { &[0, 30, 40] };
    match op {
        Op::Flush => assert_eq!(p.flush(), Some(out::<A>(held)), "{}", A::NAME),
        Op::Cancel => assert!(p.cancel(), "{}", A::NAME),
    }
    assert_eq!(
        p.poll(),
        pending(),
        "{}: the stream yields nothing for it",
        A::NAME
    );
    // Nothing is left to wait for: no wakeup at the window's end (140).
    let wakes = p.wakes();
    p.at(next_at - 1).await;
    assert_eq!(p.wakes(), wakes, "{}: no wakeup after {op:?}", A::NAME);
    assert_eq!(p.poll(), pending());

    // The next item: within the window of the last one (40) at 80, past it at 141.
    let within = next_at - 40 < 100;
    let leading_edge = leading && (op == Op::Cancel || !within);
    if leading_edge {
        p.push_at(next_at, ready(vec![next_at])).await;
        p.quiet_until(next_at + 100).await;
        assert_eq!(p.poll(), pending(), "{}: a burst of one", A::NAME);
    } else {
        p.push_at(next_at, pending()).await;
        p.quiet_until(next_at + 100).await;
        assert_eq!(p.poll(), ready(vec![next_at]), "{}", A::NAME);
    }
}

#[tokio::test(start_paused = true)]
async fn mid_burst_flush_returns_the_burst_and_an_item_within_the_window_is_no_leading_edge() {
    each_adapter!(mid_burst(true, None, Op::Flush, 80));
    each_adapter!(mid_burst(false, None, Op::Flush, 80));
}

#[tokio::test(start_paused = true)]
async fn mid_burst_flush_then_an_item_past_the_window_is_a_leading_edge() {
    each_adapter!(mid_burst(true, None, Op::Flush, 141));
    each_adapter!(mid_burst(false, None, Op::Flush, 141));
}

#[tokio::test(start_paused = true)]
async fn mid_burst_cancel_drops_the_burst_and_the_next_item_is_a_leading_edge() {
    each_adapter!(mid_burst(true, None, Op::Cancel, 80));
    each_adapter!(mid_burst(false, None, Op::Cancel, 80));
    each_adapter!(mid_burst(true, None, Op::Cancel, 141));
}

/// Items at 0 and 30, the burst flushed or cancelled at 50, then an item every 20 ms from 60
/// to 300; max_wait 150. Returns the emissions after 50, each at its instant.
async fn max_wait_after<A: Flushable>(
    make: impl Fn(Fed<u64>) -> A,
    _: bool,
    op: Op,
) -> Vec<(u64, Vec<u64>)> {
    let mut p = Probe::new(&make);
    p.push_at(0, pending()).await;
    p.push_at(30, pending()).await;
    p.at(50).await;
    match op {
        Op::Flush => assert_eq!(p.flush(), Some(out::<A>(&[0, 30])), "{}", A::NAME),
        Op::Cancel => assert!(p.cancel(), "{}", A::NAME),
    }
    let mut emitted = Vec::new();
    for t in 51..=300 {
        p.at(t).await;
        if t % 20 == 0 {
            p.feed.push(t);
        }
        while let Poll::Ready(Some(items)) = p.poll() {
            emitted.push((t, items));
        }
    }
    emitted
}

#[tokio::test(start_paused = true)]
async fn flush_is_an_emission_max_wait_counts_from_it_and_cancel_is_not() {
    async fn scenario<A: Flushable>(make: impl Fn(Fed<u64>) -> A, leading: bool) {
        // Flushed at 50: the items from 60 are one burst whose max_wait counts from 50.
        let flushed = max_wait_after(&make, leading, Op::Flush).await;
        let first: Vec<u64> = (60..=200).step_by(20).collect();
        assert_eq!(flushed[0], (200, out::<A>(&first)), "{}", A::NAME);
        // Cancelled at 50: a new burst at 60, whose max_wait counts from 60: the timer
        // emits at 210.
        let cancelled = max_wait_after(&make, leading, Op::Cancel).await;
        assert_eq!(cancelled[0], (210, out::<A>(&first)), "{}", A::NAME);
    }
    each_adapter!(scenario(false, Some(150)));
}

// At the instant the window ends, before the poll.

async fn at_the_window_end_before_the_poll<A: Flushable>(
    make: impl Fn(Fed<u64>) -> A,
    _: bool,
    op: Op,
) {
    let mut p = Probe::new(&make);
    p.push_at(0, pending()).await;
    p.push_at(30, pending()).await;
    p.at(100).await;
    assert_eq!(p.poll(), pending(), "{}: the window moved to 130", A::NAME);
    let wakes = p.wakes();
    p.at(130).await;
    assert_eq!(
        p.wakes(),
        wakes + 1,
        "{}: woken at the window's end",
        A::NAME
    );
    match op {
        Op::Flush => assert_eq!(p.flush(), Some(out::<A>(&[0, 30])), "{}", A::NAME),
        Op::Cancel => assert!(p.cancel(), "{}", A::NAME),
    }
    assert_eq!(p.poll(), pending(), "{}: not yielded again", A::NAME);
    p.at(1_000).await;
    assert_eq!(p.wakes(), wakes + 1, "{}", A::NAME);
    assert_eq!(p.poll(), pending());
}

#[tokio::test(start_paused = true)]
async fn at_the_window_end_before_the_poll_flush_takes_the_emission_and_cancel_drops_it() {
    for op in [Op::Flush, Op::Cancel] {
        each_adapter!(at_the_window_end_before_the_poll(false, None, op));
    }
}

// After the trailing emission.

async fn after_the_trailing_emission<A: Flushable>(
    make: impl Fn(Fed<u64>) -> A,
    leading: bool,
    op: Op,
) {
    let mut p = Probe::new(&make);
    p.push_at(0, if leading { ready(vec![0]) } else { pending() })
        .await;
    p.push_at(30, pending()).await;
    p.at(130).await;
    let burst: &[u64] = if leading { &[30] } else { &[0, 30] };
    assert_eq!(p.poll(), ready(out::<A>(burst)), "{}", A::NAME);
    match op {
        Op::Flush => assert_eq!(p.flush(), None, "{}: no burst open", A::NAME),
        Op::Cancel => assert!(!p.cancel(), "{}: nothing held", A::NAME),
    }
    assert_eq!(p.poll(), pending());
    // The window of the last item is over: the next item is a leading edge either way.
    if leading {
        p.push_at(140, ready(vec![140])).await;
    } else {
        p.push_at(140, pending()).await;
        p.quiet_until(240).await;
        assert_eq!(p.poll(), ready(vec![140]), "{}", A::NAME);
    }
}

#[tokio::test(start_paused = true)]
async fn after_the_trailing_emission_flush_and_cancel_find_nothing() {
    for op in [Op::Flush, Op::Cancel] {
        each_adapter!(after_the_trailing_emission(false, None, op));
        each_adapter!(after_the_trailing_emission(true, None, op));
    }
}

// After a max_wait emission.

async fn after_a_max_wait_emission_on_an_item<A: Flushable>(
    make: impl Fn(Fed<u64>) -> A,
    leading: bool,
    op: Op,
) {
    // max_wait 150: the item at 150 is emitted at once, and the burst goes on.
    let mut p = Probe::new(&make);
    p.push_at(0, if leading { ready(vec![0]) } else { pending() })
        .await;
    p.push_at(50, pending()).await;
    p.push_at(100, pending()).await;
    let burst: &[u64] = if leading {
        &[50, 100, 150]
    } else {
        &[0, 50, 100, 150]
    };
    p.push_at(150, ready(out::<A>(burst))).await;
    assert_eq!(p.poll(), pending());
    match op {
        // The burst is open (its window runs to 250), with nothing held: closed, None.
        Op::Flush => assert_eq!(p.flush(), None, "{}", A::NAME),
        Op::Cancel => assert!(!p.cancel(), "{}", A::NAME),
    }
    let wakes = p.wakes();
    p.at(199).await;
    assert_eq!(p.wakes(), wakes, "{}: no wakeup left", A::NAME);
    // 200: within the window of the last item (150).
    if leading && op == Op::Cancel {
        p.push_at(200, ready(vec![200])).await;
        p.quiet_until(300).await;
        assert_eq!(p.poll(), pending(), "{}", A::NAME);
    } else {
        p.push_at(200, pending()).await;
        p.quiet_until(300).await;
        assert_eq!(p.poll(), ready(vec![200]), "{}", A::NAME);
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_max_wait_emission_on_an_item_flush_closes_the_open_burst() {
    for op in [Op::Flush, Op::Cancel] {
        each_adapter!(after_a_max_wait_emission_on_an_item(false, Some(150), op));
        each_adapter!(after_a_max_wait_emission_on_an_item(true, Some(150), op));
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_max_wait_emission_the_items_since_are_flushed() {
    async fn scenario<A: Flushable>(make: impl Fn(Fed<u64>) -> A, _: bool) {
        let mut p = Probe::new(&make);
        p.push_at(0, pending()).await;
        p.push_at(50, pending()).await;
        p.push_at(100, pending()).await;
        p.push_at(150, ready(out::<A>(&[0, 50, 100, 150]))).await;
        p.push_at(160, pending()).await;
        p.push_at(170, pending()).await;
        assert_eq!(p.flush(), Some(out::<A>(&[160, 170])), "{}", A::NAME);
        assert_eq!(p.poll(), pending());
        let mut p = Probe::new(&make);
        p.push_at(0, pending()).await;
        p.push_at(50, pending()).await;
        p.push_at(100, pending()).await;
        p.push_at(150, ready(out::<A>(&[0, 50, 100, 150]))).await;
        p.push_at(160, pending()).await;
        assert!(p.cancel(), "{}", A::NAME);
        p.at(1_000).await;
        assert_eq!(p.poll(), pending(), "{}", A::NAME);
    }
    each_adapter!(scenario(false, Some(150)));
}

async fn after_a_max_wait_emission_by_the_timer<A: Flushable>(
    make: impl Fn(Fed<u64>) -> A,
    _: bool,
    op: Op,
) {
    // max_wait 120, items at 0, 50, 100: the timer emits at 120, and the burst is over.
    let mut p = Probe::new(&make);
    p.push_at(0, ready(vec![0])).await;
    p.push_at(50, pending()).await;
    p.push_at(100, pending()).await;
    p.quiet_until(120).await;
    assert_eq!(p.poll(), ready(out::<A>(&[50, 100])), "{}", A::NAME);
    match op {
        Op::Flush => assert_eq!(p.flush(), None, "{}: no burst open", A::NAME),
        Op::Cancel => assert!(!p.cancel(), "{}", A::NAME),
    }
    // 130: within the window of the last item (100). lodash: no leading edge; after cancel,
    // which forgets the last item, a leading edge.
    if op == Op::Cancel {
        p.push_at(130, ready(vec![130])).await;
    } else {
        p.push_at(130, pending()).await;
        p.quiet_until(230).await;
        assert_eq!(p.poll(), ready(vec![130]), "{}", A::NAME);
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_max_wait_emission_by_the_timer_cancel_forgets_the_last_item() {
    for op in [Op::Flush, Op::Cancel] {
        each_adapter!(after_a_max_wait_emission_by_the_timer(true, Some(120), op));
    }
}

// After the source ended.

async fn after_the_source_ended<A: Flushable>(make: impl Fn(Fed<u64>) -> A, leading: bool) {
    let mut p = Probe::new(&make);
    p.push_at(0, if leading { ready(vec![0]) } else { pending() })
        .await;
    p.at(30).await;
    p.feed.push(30);
    p.feed.end();
    let burst: &[u64] = if leading { &[30] } else { &[0, 30] };
    assert_eq!(p.poll(), ready(out::<A>(burst)), "{}: at once", A::NAME);
    assert_eq!(p.flush(), None, "{}", A::NAME);
    assert!(!p.cancel(), "{}", A::NAME);
    assert_eq!(p.poll(), Poll::Ready(None));
    assert_eq!(p.flush(), None, "{}", A::NAME);
    assert!(!p.cancel(), "{}", A::NAME);
    assert_eq!(p.poll(), Poll::Ready(None));
    assert!(p.adapter.get_ref().is_terminated());
    p.at(1_000).await;
    assert_eq!(p.poll(), Poll::Ready(None));

    // Flushed after its last item was taken, before the end is seen: the end yields nothing.
    let mut p = Probe::new(&make);
    p.push_at(0, if leading { ready(vec![0]) } else { pending() })
        .await;
    p.push_at(10, pending()).await;
    p.feed.end();
    let burst: &[u64] = if leading { &[10] } else { &[0, 10] };
    assert_eq!(p.flush(), Some(out::<A>(burst)), "{}", A::NAME);
    assert_eq!(p.poll(), Poll::Ready(None), "{}", A::NAME);

    // Cancelled likewise.
    let mut p = Probe::new(&make);
    p.push_at(0, if leading { ready(vec![0]) } else { pending() })
        .await;
    p.push_at(10, pending()).await;
    p.feed.end();
    assert!(p.cancel(), "{}", A::NAME);
    assert_eq!(p.poll(), Poll::Ready(None), "{}", A::NAME);
}

#[tokio::test(start_paused = true)]
async fn after_the_source_ended_flush_and_cancel_find_nothing() {
    each_adapter!(after_the_source_ended(false, None));
    each_adapter!(after_the_source_ended(true, None));
}

// With trailing off (debounce and debounce_with): flush drops the held item.

#[tokio::test(start_paused = true)]
async fn with_trailing_off_flush_drops_the_held_item_and_closes_the_burst() {
    async fn scenario<A: Flushable>(make: impl Fn(Fed<u64>) -> A) {
        let mut p = Probe::new(&make);
        p.push_at(0, ready(vec![0])).await;
        p.push_at(30, pending()).await;
        assert_eq!(p.flush(), None, "{}: dropped", A::NAME);
        assert_eq!(p.flush(), None, "{}: the burst is closed", A::NAME);
        // 60: within the window of 30, and the flush was an edge: no leading edge.
        p.push_at(60, pending()).await;
        assert!(p.cancel(), "{}: 60 is held (for no trailing edge)", A::NAME);
        // Forgotten: 70 is a leading edge.
        p.push_at(70, ready(vec![70])).await;
        p.at(1_000).await;
        assert_eq!(p.poll(), pending(), "{}", A::NAME);
    }
    scenario(|s: Fed<u64>| s.debounce(ms(100)).leading(true).trailing(false)).await;
    scenario(|s: Fed<u64>| {
        s.debounce_with((|_| ms(100)) as WithFn)
            .leading(true)
            .trailing(false)
    })
    .await;
}

// Timer sets around flush.

#[tokio::test(start_paused = true)]
async fn a_burst_after_a_flush_sets_a_new_timer() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(ms(100)));
    feed.push(1);
    assert_eq!(d.poll(), Poll::Pending);
    assert_eq!(d.get_ref().timer_resets(), 1);
    assert_eq!(d.get().flush(), Some(1));
    advance_to(start, ms(200)).await;
    assert_eq!(d.wakes(), 0, "the flushed burst's timer is gone");
    feed.push(2);
    assert_eq!(d.poll(), Poll::Pending);
    assert_eq!(d.get_ref().timer_resets(), 2);
    advance_to(start, ms(300)).await;
    assert_eq!(d.wakes(), 2);
    assert_eq!(d.poll(), Poll::Ready(Some(2)));
}

// debounce_batch(..).max_items(n).

#[tokio::test(start_paused = true)]
async fn max_items_zero_and_one_make_batches_of_one_at_once() {
    for n in [0, 1] {
        let start = Instant::now();
        let (feed, source) = fed();
        for item in 1..=10 {
            feed.push(item);
        }
        let mut b = StreamProbe::new(source.debounce_batch(ms(100)).max_items(n));
        for item in 1..=10 {
            assert_eq!(b.poll(), Poll::Ready(Some(vec![item])), "max_items({n})");
        }
        assert_eq!(b.poll(), Poll::Pending);
        advance_to(start, ms(1_000)).await;
        assert_eq!(b.poll(), Poll::Pending, "max_items({n}): nothing left");
        assert!(format!("{:?}", b.get_ref()).contains("max_items: 1"));
    }
}

#[tokio::test(start_paused = true)]
async fn max_items_two_cuts_a_buffered_burst_and_the_rest_settles() {
    let start = Instant::now();
    let (feed, source) = fed();
    for item in 1..=11 {
        feed.push(item);
    }
    let mut b = StreamProbe::new(source.debounce_batch(ms(100)).max_items(2));
    for pair in [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]] {
        assert_eq!(b.poll(), Poll::Ready(Some(pair.to_vec())));
    }
    assert_eq!(b.poll(), Poll::Pending);
    assert_eq!(feed.queued(), 0);
    advance_to(start, ms(99)).await;
    assert_eq!(b.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(
        b.poll(),
        Poll::Ready(Some(vec![11])),
        "the rest, when it settles"
    );
    assert_eq!(b.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn max_items_on_a_burst_of_ten_buffered_at_once() {
    for (n, expected_at_once, rest) in [
        (
            3,
            vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]],
            Some(vec![10]),
        ),
        (5, vec![vec![1, 2, 3, 4, 5], vec![6, 7, 8, 9, 10]], None),
        (10, vec![(1..=10).collect()], None),
        (11, vec![], Some((1..=10).collect())),
    ] {
        let start = Instant::now();
        let (feed, source) = fed();
        for item in 1..=10 {
            feed.push(item);
        }
        let mut b = StreamProbe::new(source.debounce_batch(ms(100)).max_items(n));
        for batch in expected_at_once {
            assert_eq!(b.poll(), Poll::Ready(Some(batch)), "max_items({n})");
        }
        assert_eq!(b.poll(), Poll::Pending, "max_items({n})");
        advance_to(start, ms(100)).await;
        match rest {
            Some(rest) => assert_eq!(b.poll(), Poll::Ready(Some(rest)), "max_items({n})"),
            None => assert_eq!(b.poll(), Poll::Pending, "max_items({n})"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn max_items_with_leading_the_first_item_goes_alone_then_full_batches() {
    let start = Instant::now();
    let (feed, source) = fed();
    for item in 1..=10 {
        feed.push(item);
    }
    let mut b = StreamProbe::new(source.debounce_batch(ms(100)).leading(true).max_items(2));
    for batch in [vec![1], vec![2, 3], vec![4, 5], vec![6, 7], vec![8, 9]] {
        assert_eq!(b.poll(), Poll::Ready(Some(batch)));
    }
    assert_eq!(b.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(b.poll(), Poll::Ready(Some(vec![10])));

    // max_items(1) with leading: every item alone, the first as the leading edge.
    let (feed, source) = fed();
    for item in 1..=3 {
        feed.push(item);
    }
    let mut b = StreamProbe::new(source.debounce_batch(ms(100)).leading(true).max_items(1));
    for item in 1..=3 {
        assert_eq!(b.poll(), Poll::Ready(Some(vec![item])));
    }
    assert_eq!(b.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn max_items_over_time_the_doc_timeline() {
    // a, b, c at 0, 10 and 20 ms, max_items(2): [a, b] at 10, [c] at 120.
    let start = Instant::now();
    let source = common::at_ms(start, vec![(0, 'a'), (10, 'b'), (20, 'c')]);
    let out = common::record(start, source.debounce_batch(ms(100)).max_items(2), ms(500)).await;
    assert_eq!(
        common::in_ms(&out),
        [(10, vec!['a', 'b']), (120, vec!['c'])]
    );
}

#[tokio::test(start_paused = true)]
async fn max_items_over_time_items_every_10_ms() {
    // 0, 10, ..., 70, max_items(3): full batches at 20 and 50; the rest settles at 170.
    let start = Instant::now();
    let source = common::at_ms(start, (0..8).map(|n| (n * 10, n * 10)).collect());
    let out = common::record(start, source.debounce_batch(ms(100)).max_items(3), ms(500)).await;
    assert_eq!(
        common::in_ms(&out),
        [
            (20, vec![0, 10, 20]),
            (50, vec![30, 40, 50]),
            (170, vec![60, 70])
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn max_items_is_an_emission_max_wait_counts_from_it() {
    // Full at 60 (max_items 4); then 100, 150, 200: max_wait 150 from 60 cuts them at 210.
    // (Counted from the burst's first item, 0, it would cut [100, 150] at 150.)
    let start = Instant::now();
    let items = [0, 20, 40, 60, 100, 150, 200].map(|t| (t, t)).to_vec();
    let source = common::at_ms(start, items);
    let batches = source
        .debounce_batch(ms(100))
        .max_wait(ms(150))
        .max_items(4);
    let out = common::record(start, batches, ms(1_000)).await;
    assert_eq!(
        common::in_ms(&out),
        [(60, vec![0, 20, 40, 60]), (210, vec![100, 150, 200])]
    );
}

#[tokio::test(start_paused = true)]
async fn max_items_and_max_wait_whichever_comes_first() {
    // Every 20 ms from 0 to 400, max_wait 150: max_items(5) fills every 100 ms, sooner than
    // max_wait; max_items(10) never fills: max_wait cuts the batches, by the timer at 150
    // (150 after the first item), on the item at 300, by the timer at 450.
    let every_20 = |start| common::at_ms(start, (0..=20).map(|n| (n * 20, n * 20)).collect());
    let start = Instant::now();
    let batches = every_20(start)
        .debounce_batch(ms(100))
        .max_wait(ms(150))
        .max_items(5);
    let out = common::record(start, batches, ms(1_000)).await;
    let at: Vec<(u64, usize)> = common::in_ms(&out)
        .into_iter()
        .map(|(at, batch)| (at, batch.len()))
        .collect();
    assert_eq!(at, [(80, 5), (180, 5), (280, 5), (380, 5), (500, 1)]);

    let start = Instant::now();
    let batches = every_20(start)
        .debounce_batch(ms(100))
        .max_wait(ms(150))
        .max_items(10);
    let out = common::record(start, batches, ms(1_000)).await;
    let at: Vec<(u64, usize)> = common::in_ms(&out)
        .into_iter()
        .map(|(at, batch)| (at, batch.len()))
        .collect();
    assert_eq!(at, [(150, 8), (300, 8), (450, 5)]);
}

#[tokio::test(start_paused = true)]
async fn max_items_flush_returns_the_partial_batch_after_a_full_one() {
    let (feed, source) = fed();
    for item in 1..=5 {
        feed.push(item);
    }
    let mut b = StreamProbe::new(source.debounce_batch(ms(100)).max_items(2));
    assert_eq!(b.poll(), Poll::Ready(Some(vec![1, 2])));
    assert_eq!(b.poll(), Poll::Ready(Some(vec![3, 4])));
    assert_eq!(b.poll(), Poll::Pending);
    assert_eq!(b.get().flush(), Some(vec![5]));
    assert_eq!(b.get().flush(), None);
    let all: Vec<_> = futures_util::stream::iter(1..=5)
        .debounce_batch(ms(100))
        .max_items(2)
        .collect()
        .await;
    assert_eq!(all, [vec![1, 2], vec![3, 4], vec![5]]);
}

#[tokio::test(start_paused = true)]
async fn max_items_the_burst_goes_on_after_a_full_batch() {
    // window 100, max_wait 100, max_items 2: 0 and 10 fill a batch at 10, which is an
    // emission but no end of the burst. 110, at its window's end, joins the burst and is due
    // for max_wait (100 after the full batch): at once. Had the full batch ended the burst,
    // 110 would start a new one, emitted at 210.
    let start = Instant::now();
    let source = common::at_ms(start, vec![(0, 0), (10, 10), (110, 110)]);
    let batches = source
        .debounce_batch(ms(100))
        .max_wait(ms(100))
        .max_items(2);
    let out = common::record(start, batches, ms(1_000)).await;
    assert_eq!(common::in_ms(&out), [(10, vec![0, 10]), (110, vec![110])]);
}
