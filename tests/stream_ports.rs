//! Upstream tests ported to `sample`, `throttle_with`, `debounce_with` and `debounce`, each
//! under its upstream name: RxJS 7.8.2's `spec/operators/sampleTime-spec.ts`,
//! `throttleTime-spec.ts` and `debounce-spec.ts` (the `debounce(selector)` operator, whose
//! selector here is a window per item), and the `lodash.throttle` module of lodash 4.17.21's
//! `test/test.js` (with the throttle half of its `lodash.debounce and lodash.throttle` module).
//! Where the crate's semantics differ from upstream's, the comment says how, and the test
//! asserts the crate's, at exact instants.
//!
//! Time. RxJS's specs run in `TestScheduler.run` mode, where one marble frame is one unit of
//! virtual time and `time('----|')` is 4 frames; a frame is 10 ms here (1 ms would sit on
//! Tokio's millisecond rounding), so `throttleTime(5)` is `throttle_with(50 ms)` and an event
//! at frame 7 comes at 70 ms. A hot source's `^` is the first poll, at 0 ms; events before it
//! are never seen. `|` is the end of the source; `(x|)` an item and the end at one instant.
//! At one frame, a source's event comes before the operator's timer in RxJS's scheduler, as
//! an item ready at a poll is taken before the crate judges its window. lodash's tests use
//! real milliseconds; they are kept as they are (32 ms is 32 ms), and a call is an item, an
//! invocation an emission.
//!
//! lodash's `throttle(f, p)` is `debounce(f, p, { leading: true, trailing, maxWait: p })`,
//! and so this crate's `debounce(p).leading(true).max_wait(p)` (with `.trailing` as lodash's
//! option): that is what its cases test, and where they port. The crate's `throttle_with` is
//! RxJS's `throttleTime` (defaults leading on, trailing off); where a lodash case has a
//! meaning for it too, the test also runs it, and says whether the two agree.
//!
//! Not ported (each for one reason):
//! - sampleTime "should raise error if source raises error", "should raise error if source
//!   throws immediately"; throttleTime "should raise error when source does not emit and
//!   raises error", "should handle a throw source", "should throttle values until source
//!   raises error"; debounce "should raise error when source does not emit and raises error",
//!   "should raise error when source throws", "should delay all element until source raises
//!   error", "should debounce all element while source emits by selector observable until
//!   raises error", "should raise error when source raises error with selector observable":
//!   a `Stream` has no error channel (an `Err` item would be an item like any other).
//! - sampleTime, throttleTime and debounce "should not break unsubscription chains when
//!   result is unsubscribed explicitly" (debounce: "... when unsubscribed explicitly"):
//!   `mergeMap` chains and their subscriptions are Observable machinery (dropping a stream is
//!   the whole of unsubscribing; the plain early-unsubscribe cases are ported as a drop).
//! - debounce "should raise error when selector observable raises error", "should raise
//!   error when selector function throws", "should raises error when promise rejects": the
//!   window is a `Duration`; it cannot fail.
//! - debounce "should ignore all values except last, when given an empty selector
//!   Observable", "should not delay by selector observable completes when it does not
//!   emits", "should not debounce by selector observable completes when it does not emits":
//!   a notifier that completes without emitting has no `Duration` (the never-notifier case is
//!   ported, as `Duration::MAX`).
//! - debounce "should debounce correctly when synchronously reentered", "should stop
//!   listening to a synchronous observable when unsubscribed": synchronous re-entrancy and
//!   unsubscription from inside a subscriber; a stream is pulled, nothing re-enters it.
//! - lodash throttle "should clear timeout when `func` is called", "should work with a
//!   system time of `0`"; "`_.throttle` should work if the system time is set backwards":
//!   they replace `Date.now`; Tokio's clock is monotonic and cannot be mocked per call (a
//!   system time of 0 guards a falsy timestamp in JS; its timing is "should throttle a
//!   function"'s).
//! - "`_.throttle` should not error for non-object `options` values", "should invoke `func`
//!   with the correct `this` binding": JavaScript typing and `this`.
//! - "`_.throttle` supports recursive calls": calling the throttled function from inside
//!   `func` is re-entrancy; a stream's consumer cannot push into its source from `next()`.

mod common;

use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, in_ms, ms, record};
use deadlines::stream::StreamDeadlineExt;
use futures_core::Stream;
use futures_util::StreamExt as _;
use tokio::time::{Instant, sleep_until};

/// A source that yields each item at `start + t` ms (in order), then ends at `start + end`
/// ms: a marble with its `|`. An item at the end's instant comes before the end.
fn ending_at<T>(start: Instant, items: Vec<(u64, T)>, end: u64) -> impl Stream<Item = T> {
    let items = futures_util::stream::iter(items).then(move |(t, item)| async move {
        sleep_until(start + ms(t)).await;
        item
    });
    let end = futures_util::stream::once(sleep_until(start + ms(end)))
        .filter_map(|()| std::future::ready(None::<T>));
    items.chain(end)
}

/// Polls the stream once, with the task's waker.
async fn poll_once<S: Stream>(mut stream: Pin<&mut S>) -> Poll<Option<S::Item>> {
    std::future::poll_fn(|cx| Poll::Ready(stream.as_mut().poll_next(cx))).await
}

// ---- RxJS sampleTime-spec.ts ------------------------------------------------------------
//
// `sampleTime(period)` ticks at subscription + k * period; `sample(period)` at the first poll
// + k * period. At the end of the source RxJS drops the item that waits for a tick; the crate
// emits it at once (its documented difference): cases 2 and 3 show it.

// RxJS sampleTime-spec.ts: "should get samples on a delay"
#[tokio::test(start_paused = true)]
async fn sample_time_should_get_samples_on_a_delay() {
    // e1        a---b-c---------d--e---f-g-h--|
    // expected  -------c-------------e------h-|
    // period    -------|  (7 frames: ticks at 70, 140, 210, 280 ms)
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![
            (0, 'a'),
            (40, 'b'),
            (60, 'c'),
            (160, 'd'),
            (190, 'e'),
            (230, 'f'),
            (250, 'g'),
            (270, 'h'),
        ],
        300,
    );
    let out = record(start, source.sample(ms(70)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(70, 'c'), (210, 'e'), (280, 'h')]);
    assert_eq!(out.ended, Some(ms(300)));
}

// RxJS sampleTime-spec.ts: "should sample nothing if new value has not arrived"
#[tokio::test(start_paused = true)]
async fn sample_time_should_sample_nothing_if_new_value_has_not_arrived() {
    // e1        ----a-^--b----c--------------f----|
    // expected        -----------c----------------|
    // period          -----------|  (11 frames: ticks at 110, 220 ms)
    // f (230 ms) waits for the tick of 330 ms when the source ends at 280: RxJS drops it, the
    // crate emits it at the end.
    let start = Instant::now();
    let source = ending_at(start, vec![(30, 'b'), (80, 'c'), (230, 'f')], 280);
    let out = record(start, source.sample(ms(110)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(110, 'c'), (280, 'f')]);
    assert_eq!(out.ended, Some(ms(280)));
}

// RxJS sampleTime-spec.ts: "should sample if new value has arrived, even if it is the same
// value"
#[tokio::test(start_paused = true)]
async fn sample_time_should_sample_if_new_value_has_arrived_even_if_it_is_the_same_value() {
    // e1        ----a-^--b----c----------c---f----|
    // expected        -----------c----------c-----|
    // period          -----------|  (ticks at 110, 220 ms)
    // As above, the crate emits f at the end (RxJS drops it).
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![(30, 'b'), (80, 'c'), (190, 'c'), (230, 'f')],
        280,
    );
    let out = record(start, source.sample(ms(110)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(110, 'c'), (220, 'c'), (280, 'f')]);
    assert_eq!(out.ended, Some(ms(280)));
}

// RxJS sampleTime-spec.ts: "should sample nothing if source has not nexted by time of sample"
#[tokio::test(start_paused = true)]
async fn sample_time_should_sample_nothing_if_source_has_not_nexted_by_time_of_sample() {
    // e1        ----a-^-------------b-------------|
    // expected        ----------------------b-----|
    // period          -----------|  (ticks at 110, 220 ms)
    let start = Instant::now();
    let source = ending_at(start, vec![(140, 'b')], 280);
    let out = record(start, source.sample(ms(110)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(220, 'b')]);
    assert_eq!(out.ended, Some(ms(280)));
}

// RxJS sampleTime-spec.ts: "should allow unsubscribing explicitly and early"
#[tokio::test(start_paused = true)]
async fn sample_time_should_allow_unsubscribing_explicitly_and_early() {
    // e1        ----a-^--b----c----d----e----f----|
    // unsub           ----------------!
    // expected        -----------c-----
    // period          -----------|
    // Unsubscribing is dropping the stream, at 160 ms.
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![(30, 'b'), (80, 'c'), (130, 'd'), (180, 'e'), (230, 'f')],
        280,
    );
    let out = record(start, source.sample(ms(110)), ms(160)).await;
    assert_eq!(in_ms(&out), [(110, 'c')]);
    assert_eq!(out.ended, None);
}

// RxJS sampleTime-spec.ts: "should completes if source does not emits"
#[tokio::test(start_paused = true)]
async fn sample_time_should_complete_if_source_does_not_emit() {
    // e1 (cold) |      expected |      period -----|
    let start = Instant::now();
    let source = futures_util::stream::empty::<char>();
    let out = record(start, source.sample(ms(50)), ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(out.ended, Some(ms(0)));
}

// RxJS sampleTime-spec.ts: "should not complete if source does not complete"
#[tokio::test(start_paused = true)]
async fn sample_time_should_not_complete_if_source_does_not_complete() {
    // e1 (cold) --------   unsub -------!   expected --------   period -----|
    let start = Instant::now();
    let source = futures_util::stream::pending::<char>();
    let out = record(start, source.sample(ms(50)), ms(70)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(out.ended, None);

    // The crate's addition: with nothing held, the ticks wake nobody.
    let mut probe = StreamProbe::new(futures_util::stream::pending::<char>().sample(ms(50)));
    let start = Instant::now();
    assert!(probe.poll().is_pending());
    advance_to(start, ms(70)).await;
    assert!(probe.poll().is_pending());
    advance_to(start, ms(1_000)).await;
    assert_eq!(probe.wakes(), 0);
}

// ---- RxJS throttleTime-spec.ts ----------------------------------------------------------
//
// `throttleTime(period, scheduler, { leading, trailing })` is `throttle_with(period)` with
// `.leading` and `.trailing`. At the end of the source, RxJS emits a held trailing item when
// the running period ends; the crate emits it at once. In every upstream case here the end
// falls where the period ends, so the instants agree.

// RxJS throttleTime-spec.ts: "should immediately emit the first value in each time window"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_immediately_emit_the_first_value_in_each_time_window() {
    // e1        -a-x-y----b---x-cx---|
    //            ----|    ----| ----|
    // expected  -a--------b-----c----|
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![
            (10, "a"),
            (30, "x1"),
            (50, "y"),
            (100, "b"),
            (140, "x2"),
            (160, "c"),
            (170, "x3"),
        ],
        210,
    );
    let out = record(start, source.throttle_with(ms(50)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(10, "a"), (100, "b"), (160, "c")]);
    assert_eq!(out.ended, Some(ms(210)));
}

// RxJS throttleTime-spec.ts: "should throttle events by 5 time units"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_throttle_events_by_5_time_units() {
    // of(1, 2, 3), all at once: only 1.
    let start = Instant::now();
    let source = futures_util::stream::iter([1, 2, 3]);
    let out = record(start, source.throttle_with(ms(50)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(0, 1)]);
    assert_eq!(out.ended, Some(ms(0)));
}

// RxJS throttleTime-spec.ts: "should throttle events multiple times"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_throttle_events_multiple_times() {
    // concat(timer(0, 1).take(3) as 1-x, timer(8, 1).take(5) as 2-x), throttleTime(5): 1-0
    // at 0, 1-1 at 1, 1-2 at 2 (completing the first), then 2-0 at 10 ... 2-4 at 14; expected
    // 1-0 and 2-0. (Upstream's timers run on the async scheduler; the timing is meant in
    // units, a unit is 10 ms here.)
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![
            (0, "1-0"),
            (10, "1-1"),
            (20, "1-2"),
            (100, "2-0"),
            (110, "2-1"),
            (120, "2-2"),
            (130, "2-3"),
            (140, "2-4"),
        ],
        140,
    );
    let out = record(start, source.throttle_with(ms(50)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(0, "1-0"), (100, "2-0")]);
    assert_eq!(out.ended, Some(ms(140)));
}

// RxJS throttleTime-spec.ts: "should simply mirror the source if values are not emitted often
// enough"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_simply_mirror_the_source_if_values_are_not_emitted_often_enough() {
    // e1        -a--------b-----c----|
    // expected  -a--------b-----c----|
    let start = Instant::now();
    let source = ending_at(start, vec![(10, 'a'), (100, 'b'), (160, 'c')], 210);
    let out = record(start, source.throttle_with(ms(50)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(10, 'a'), (100, 'b'), (160, 'c')]);
    assert_eq!(out.ended, Some(ms(210)));
}

// RxJS throttleTime-spec.ts: "should handle a busy producer emitting a regular repeating
// sequence"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_handle_a_busy_producer_emitting_a_regular_repeating_sequence() {
    // e1        abcdefabcdefabcdefabcdefa|
    // expected  a-----a-----a-----a-----a|
    // Each item is its frame number (frame n is "abcdef"[n % 6]). The f of frame 5 comes at
    // the instant the period of frame 0 ends, and is taken while it runs: dropped.
    let start = Instant::now();
    let source = ending_at(start, (0..25).map(|n| (n * 10, n)).collect(), 250);
    let out = record(start, source.throttle_with(ms(50)), ms(1_000)).await;
    assert_eq!(
        in_ms(&out),
        [(0, 0), (60, 6), (120, 12), (180, 18), (240, 24)]
    );
    assert_eq!(out.ended, Some(ms(250)));
}

// RxJS throttleTime-spec.ts: "should complete when source does not emit"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_complete_when_source_does_not_emit() {
    // e1 -----|   expected -----|
    let start = Instant::now();
    let source = ending_at::<char>(start, vec![], 50);
    let out = record(start, source.throttle_with(ms(50)), ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(out.ended, Some(ms(50)));
}

// RxJS throttleTime-spec.ts: "should handle an empty source"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_handle_an_empty_source() {
    // e1 (cold) |   expected |
    let start = Instant::now();
    let source = futures_util::stream::empty::<char>();
    let out = record(start, source.throttle_with(ms(300)), ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(out.ended, Some(ms(0)));
}

// RxJS throttleTime-spec.ts: "should handle a never source"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_handle_a_never_source() {
    // e1 (cold) -   expected -
    let start = Instant::now();
    let source = futures_util::stream::pending::<char>();
    let out = record(start, source.throttle_with(ms(300)), ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(out.ended, None);
}

// RxJS throttleTime-spec.ts: "should throttle and does not complete when source does not
// completes"
#[tokio::test(start_paused = true)]
async fn throttle_time_should_throttle_and_not_complete_when_source_does_not_complete() {
    // e1        -a--(bc)-------d----------------
    // unsub     -------------------------------!
    // expected  -a-------------d----------------
    let start = Instant::now();
    let source = at_ms(start, vec![(10, 'a'), (40, 'b'), (40, 'c'), (150, 'd')]);
    let out = record(start, source.throttle_with(ms(50)), ms(310)).await;
    assert_eq!(in_ms(&out), [(10, 'a'), (150, 'd')]);
    assert_eq!(out.ended, None);
}

// RxJS throttleTime-spec.ts: throttleTime(fn, { leading: true, trailing: true }) "should
// immediately emit the first and last values in each time window"
#[tokio::test(start_paused = true)]
async fn throttle_time_leading_trailing_should_emit_the_first_and_last_values_in_each_window() {
    // e1        -a-xy-----b--x--cxxx--|
    // t          ----|
    //                ----|----|---|---|
    // expected  -a---y----b---x---x---(x|)
    // The x of 180 ms comes at the instant the period of 140 ms ends: it is taken first, so
    // it (not the x of 170) is the one emitted then. The x of 190 is emitted at the end, at
    // 220 ms, where the period of 180 ms ends too (RxJS waits for that period, the crate
    // would not: here they agree).
    let start = Instant::now();
    let source = ending_at(start, leading_trailing_source(), 220);
    let throttled = source.throttle_with(ms(40)).trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(
        in_ms(&out),
        [
            (10, "a"),
            (50, "y"),
            (100, "b"),
            (140, "x2"),
            (180, "x4"),
            (220, "x5")
        ]
    );
    assert_eq!(out.ended, Some(ms(220)));
}

/// RxJS throttleTime-spec.ts's `-a-xy-----b--x--cxxx--`, its x's numbered.
fn leading_trailing_source() -> Vec<(u64, &'static str)> {
    vec![
        (10, "a"),
        (30, "x1"),
        (40, "y"),
        (100, "b"),
        (130, "x2"),
        (160, "c"),
        (170, "x3"),
        (180, "x4"),
        (190, "x5"),
    ]
}

// RxJS throttleTime-spec.ts: throttleTime(fn, { leading: true, trailing: true }) "should emit
// the value if only a single one is given"
#[tokio::test(start_paused = true)]
async fn throttle_time_leading_trailing_should_emit_the_value_if_only_a_single_one_is_given() {
    // e1        -a--------------------|
    // t          ----|
    // expected  -a--------------------|
    let start = Instant::now();
    let source = ending_at(start, vec![(10, 'a')], 220);
    let throttled = source.throttle_with(ms(40)).trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), [(10, 'a')]);
    assert_eq!(out.ended, Some(ms(220)));
}

// RxJS throttleTime-spec.ts: throttleTime(fn, { leading: false, trailing: true }) "should
// immediately emit the last value in each time window"
#[tokio::test(start_paused = true)]
async fn throttle_time_trailing_only_should_emit_the_last_value_in_each_time_window() {
    // e1        -a-xy-----b--x--cxxx--|
    // t          ----|
    //            ----|---|----|---|---|
    // expected  -----y--------x---x---(x|)
    let start = Instant::now();
    let source = ending_at(start, leading_trailing_source(), 220);
    let throttled = source.throttle_with(ms(40)).leading(false).trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(
        in_ms(&out),
        [(50, "y"), (140, "x2"), (180, "x4"), (220, "x5")]
    );
    assert_eq!(out.ended, Some(ms(220)));
}

// RxJS throttleTime-spec.ts: throttleTime(fn, { leading: false, trailing: true }) "should
// emit the last throttled value when complete"
#[tokio::test(start_paused = true)]
async fn throttle_time_trailing_only_should_emit_the_last_throttled_value_when_complete() {
    // e1        -a-xy-----b--x--cxx-|
    // t          ----|
    //            ----|---|----|---|---|
    // expected  -----y--------x---x-|
    let start = Instant::now();
    let mut items = leading_trailing_source();
    items.pop(); // no x at 190 ms
    let source = ending_at(start, items, 200);
    let throttled = source.throttle_with(ms(40)).leading(false).trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), [(50, "y"), (140, "x2"), (180, "x4")]);
    assert_eq!(out.ended, Some(ms(200)));
}

// RxJS throttleTime-spec.ts: throttleTime(fn, { leading: false, trailing: true }) "should
// emit the value if only a single one is given"
#[tokio::test(start_paused = true)]
async fn throttle_time_trailing_only_should_emit_the_value_if_only_a_single_one_is_given() {
    // e1        -a--------------------|
    // t          ----|
    // expected  -----a----------------|
    let start = Instant::now();
    let source = ending_at(start, vec![(10, 'a')], 220);
    let throttled = source.throttle_with(ms(40)).leading(false).trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), [(50, 'a')]);
    assert_eq!(out.ended, Some(ms(220)));
}

// ---- RxJS debounce-spec.ts --------------------------------------------------------------
//
// `debounce(x => notifier)` emits the latest item when the notifier of that item first
// emits; here the notifier is a window: `timer(n)` and a cold `---x` are n (3) frames, a
// notifier that emits at once (`of(0)`, a resolved promise) is `Duration::ZERO`, `NEVER` is
// `Duration::MAX`. At the end of the source both emit the held item at once.

/// The window of a notifier that first emits after `frames` frames.
fn frames(frames: u64) -> Duration {
    ms(frames * 10)
}

// RxJS debounce-spec.ts: "should debounce values by a specified cold Observable"
#[tokio::test(start_paused = true)]
async fn debounce_should_debounce_values_by_a_specified_cold_observable() {
    // e1        -a----bc----d-ef----|
    // e2         ---x  (3 frames)
    // expected  ----a-----c-------f-|
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![
            (10, 'a'),
            (60, 'b'),
            (70, 'c'),
            (120, 'd'),
            (140, 'e'),
            (150, 'f'),
        ],
        200,
    );
    let out = record(start, source.debounce_with(|_| frames(3)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(40, 'a'), (100, 'c'), (180, 'f')]);
    assert_eq!(out.ended, Some(ms(200)));
}

// RxJS debounce-spec.ts: "should delay all element by selector observable"
#[tokio::test(start_paused = true)]
async fn debounce_should_delay_all_element_by_selector_observable() {
    // e1        --a--b--c--d---------|
    // selector  timer(2)
    // expected  ----a--b--c--d-------|
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![(20, 'a'), (50, 'b'), (80, 'c'), (110, 'd')],
        210,
    );
    let out = record(start, source.debounce_with(|_| frames(2)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(40, 'a'), (70, 'b'), (100, 'c'), (130, 'd')]);
    assert_eq!(out.ended, Some(ms(210)));
}

/// RxJS debounce-spec.ts's `--a--bc--d----|` (without its end).
fn a_bc_d() -> Vec<(u64, char)> {
    vec![(20, 'a'), (50, 'b'), (60, 'c'), (90, 'd')]
}

// RxJS debounce-spec.ts: "should debounce by selector observable"
#[tokio::test(start_paused = true)]
async fn debounce_should_debounce_by_selector_observable() {
    // e1        --a--bc--d----|
    // selector  timer(2)
    // expected  ----a---c--d--|
    let start = Instant::now();
    let source = ending_at(start, a_bc_d(), 140);
    let out = record(start, source.debounce_with(|_| frames(2)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(40, 'a'), (80, 'c'), (110, 'd')]);
    assert_eq!(out.ended, Some(ms(140)));
}

// RxJS debounce-spec.ts: "should support a scalar selector observable"
#[tokio::test(start_paused = true)]
async fn debounce_should_support_a_scalar_selector_observable() {
    // e1        --a--bc--d----|
    // selector  of(0)  (emits at once: a window of ZERO)
    // expected  --a--bc--d----|
    // RxJS emits every item synchronously; a ZERO window emits the latest of a poll's ready
    // items, so items ready at one poll would be coalesced. Here each comes at its own poll.
    let start = Instant::now();
    let source = ending_at(start, a_bc_d(), 140);
    let out = record(start, source.debounce_with(|_| Duration::ZERO), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(20, 'a'), (50, 'b'), (60, 'c'), (90, 'd')]);
    assert_eq!(out.ended, Some(ms(140)));
}

// RxJS debounce-spec.ts: "should complete when source does not emit"
#[tokio::test(start_paused = true)]
async fn debounce_should_complete_when_source_does_not_emit() {
    // e1 -----|   expected -----|
    let start = Instant::now();
    let source = ending_at::<char>(start, vec![], 50);
    let out = record(start, source.debounce_with(|_| frames(2)), ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(out.ended, Some(ms(50)));
}

// RxJS debounce-spec.ts: "should complete when source is empty"
#[tokio::test(start_paused = true)]
async fn debounce_should_complete_when_source_is_empty() {
    // e1 (cold) |   expected |
    let start = Instant::now();
    let source = futures_util::stream::empty::<char>();
    let out = record(start, source.debounce_with(|_| frames(2)), ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(out.ended, Some(ms(0)));
}

// RxJS debounce-spec.ts: "should allow unsubscribing early and explicitly"
#[tokio::test(start_paused = true)]
async fn debounce_should_allow_unsubscribing_early_and_explicitly() {
    // e1        --a--bc--d----|
    // unsub     -------!
    // expected  ----a---
    // Unsubscribing is dropping the stream, at 70 ms (c is held then, and lost).
    let start = Instant::now();
    let source = ending_at(start, a_bc_d(), 140);
    let out = record(start, source.debounce_with(|_| frames(2)), ms(70)).await;
    assert_eq!(in_ms(&out), [(40, 'a')]);
    assert_eq!(out.ended, None);
}

// RxJS debounce-spec.ts: "should debounce and does not complete when source does not
// completes"
#[tokio::test(start_paused = true)]
async fn debounce_should_debounce_and_not_complete_when_source_does_not_complete() {
    // e1        --a--bc--d---
    // expected  ----a---c--d-
    let start = Instant::now();
    let source = at_ms(start, a_bc_d());
    let out = record(start, source.debounce_with(|_| frames(2)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(40, 'a'), (80, 'c'), (110, 'd')]);
    assert_eq!(out.ended, None);
}

// RxJS debounce-spec.ts: "should not complete when source does not complete" (a hot `-`) and
// "should not completes when source never completes" (a cold `-`): one source here.
#[tokio::test(start_paused = true)]
async fn debounce_should_not_complete_when_source_does_not_complete() {
    let start = Instant::now();
    let source = futures_util::stream::pending::<char>();
    let out = record(start, source.debounce_with(|_| frames(2)), ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(out.ended, None);
}

// RxJS debounce-spec.ts: "should debounce all elements while source emits by selector
// observable"
#[tokio::test(start_paused = true)]
async fn debounce_should_debounce_all_elements_while_source_emits_by_selector_observable() {
    // e1        ---a---b---c---d---e|
    // selector  timer(4)
    // expected  --------------------(e|)
    // Each item comes at the instant the window of the one before ends: it is taken first, so
    // it replaces it. e is emitted at the end.
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![(30, 'a'), (70, 'b'), (110, 'c'), (150, 'd'), (190, 'e')],
        200,
    );
    let out = record(start, source.debounce_with(|_| frames(4)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(200, 'e')]);
    assert_eq!(out.ended, Some(ms(200)));
}

/// RxJS debounce-spec.ts's `----a--b--c----d-----e-------` (without its end).
fn a_b_c_d_e() -> Vec<(u64, char)> {
    vec![(40, 'a'), (70, 'b'), (100, 'c'), (150, 'd'), (210, 'e')]
}

// RxJS debounce-spec.ts: "should delay element by same selector observable emits multiple"
#[tokio::test(start_paused = true)]
async fn debounce_should_delay_element_by_same_selector_observable_emits_multiple() {
    // e1        ----a--b--c----d-----e-------|
    // selector  --x-y-  (its first x, at 2 frames, ends the window)
    // expected  ------a--b--c----d-----e-----|
    let start = Instant::now();
    let source = ending_at(start, a_b_c_d_e(), 290);
    let out = record(start, source.debounce_with(|_| frames(2)), ms(1_000)).await;
    assert_eq!(
        in_ms(&out),
        [(60, 'a'), (90, 'b'), (120, 'c'), (170, 'd'), (230, 'e')]
    );
    assert_eq!(out.ended, Some(ms(290)));
}

/// The windows of the per-value selectors of the next two cases: a `--x-y-`, b `----x-y-`, c
/// `--x-y-`, d `------x-y-`, e `--x-y-`.
fn per_value_window(item: &char) -> Duration {
    match item {
        'b' => frames(4),
        'd' => frames(6),
        _ => frames(2),
    }
}

// RxJS debounce-spec.ts: "should debounce by selector observable emits multiple"
#[tokio::test(start_paused = true)]
async fn debounce_should_debounce_by_selector_observable_emits_multiple() {
    // e1        ----a--b--c----d-----e-------|
    // selectors     --x-y-  (a: 2 frames)
    //                  ----x-y-  (b: 4)
    //                     --x-y-  (c: 2)
    //                          ------x-y-  (d: 6)
    //                                --x-y-  (e: 2)
    // expected  ------a-----c----------e-----|
    // c's window (2) is shorter than b's (4) and counts: c at 120 ms. e comes at the instant
    // d's window ends and replaces d.
    let start = Instant::now();
    let source = ending_at(start, a_b_c_d_e(), 290);
    let out = record(start, source.debounce_with(per_value_window), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(60, 'a'), (120, 'c'), (230, 'e')]);
    assert_eq!(out.ended, Some(ms(290)));
}

// RxJS debounce-spec.ts: "should debounce by selector observable until source completes"
#[tokio::test(start_paused = true)]
async fn debounce_should_debounce_by_selector_observable_until_source_completes() {
    // e1        ----a--b--c----d----e|
    // selectors as above (a 2, b 4, c 2, d 6, e 2 frames)
    // expected  ------a-----c--------(e|)
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![(40, 'a'), (70, 'b'), (100, 'c'), (150, 'd'), (200, 'e')],
        210,
    );
    let out = record(start, source.debounce_with(per_value_window), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(60, 'a'), (120, 'c'), (210, 'e')]);
    assert_eq!(out.ended, Some(ms(210)));
}

// RxJS debounce-spec.ts: "should ignore all values except last, when given a never selector
// Observable"
#[tokio::test(start_paused = true)]
async fn debounce_should_ignore_all_values_except_last_when_given_a_never_selector() {
    // e1        --------a-x-yz---bxy---z--c--x--y--z|
    // selector  NEVER  (Duration::MAX)
    // expected  ------------------------------------(z|)
    let start = Instant::now();
    let source = ending_at(
        start,
        vec![
            (80, "a"),
            (100, "x1"),
            (120, "y1"),
            (130, "z1"),
            (170, "b"),
            (180, "x2"),
            (190, "y2"),
            (230, "z2"),
            (260, "c"),
            (290, "x3"),
            (320, "y3"),
            (350, "z3"),
        ],
        360,
    );
    let out = record(start, source.debounce_with(|_| Duration::MAX), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(360, "z3")]);
    assert_eq!(out.ended, Some(ms(360)));
}

// RxJS debounce-spec.ts: "should delay by promise resolves"
#[tokio::test(start_paused = true)]
async fn debounce_should_delay_by_promise_resolves() {
    // concat(of(1), timer(10) as 2, timer(10) as 3, timer(100) as 4), each debounced by a
    // resolved promise (a microtask: a window of ZERO). Real milliseconds upstream: 1 at 0,
    // 2 at 10, 3 at 20, 4 at 120 with the end; expected 1, 2, 3, 4.
    let start = Instant::now();
    let source = ending_at(start, vec![(0, 1), (10, 2), (20, 3), (120, 4)], 120);
    let out = record(start, source.debounce_with(|_| Duration::ZERO), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(0, 1), (10, 2), (20, 3), (120, 4)]);
    assert_eq!(out.ended, Some(ms(120)));
}

// ---- lodash 4.17.21 test/test.js: lodash.throttle ---------------------------------------
//
// `_.throttle(f, p, options)` is `debounce(p).leading(options.leading).max_wait(p)` with
// `.trailing(options.trailing)` (both default true). A call is an item, an invocation an
// emission; what a call returns (the result of the last invocation) is read off the
// emissions before it.

/// lodash's `throttle(f, period)`, on a stream.
fn lodash_throttle<S: Stream>(source: S, period: Duration) -> deadlines::stream::Debounce<S> {
    source.debounce(period).leading(true).max_wait(period)
}

// lodash throttle: "should throttle a function"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_throttle_a_function() {
    // Three calls at 0, wait 32: a call at once, another by 64 ms: the leading one and the
    // trailing one.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b'), (0, 'c')]);
    let out = record(start, lodash_throttle(calls, ms(32)), ms(64)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (32, 'c')]);

    // throttle_with with trailing agrees.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b'), (0, 'c')]);
    let out = record(start, calls.throttle_with(ms(32)).trailing(true), ms(64)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (32, 'c')]);
}

// lodash throttle: "subsequent calls should return the result of the first call"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_subsequent_calls_should_return_the_result_of_the_first_call() {
    // throttled('a'), throttled('b') at 0 return a, a; at 64 ms throttled('c'),
    // throttled('d') return neither a nor undefined, and d's is not d: b went out at 32 (the
    // trailing edge), c at 64 (a leading edge: a quiet window since b's call), d at 96.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b'), (64, 'c'), (64, 'd')]);
    let out = record(start, lodash_throttle(calls, ms(32)), ms(200)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (32, 'b'), (64, 'c'), (96, 'd')]);

    // throttle_with differs: its period runs again from b's trailing emission at 32, to 64,
    // and c and d, taken at 64 before that period is judged over, are its trailing items: d
    // goes out at 64 and c never.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b'), (64, 'c'), (64, 'd')]);
    let out = record(start, calls.throttle_with(ms(32)).trailing(true), ms(200)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (32, 'b'), (64, 'd')]);
}

// lodash throttle: "should not trigger a trailing call when invoked once"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_not_trigger_a_trailing_call_when_invoked_once() {
    let start = Instant::now();
    let out = record(
        start,
        lodash_throttle(at_ms(start, vec![(0, 'a')]), ms(32)),
        ms(64),
    )
    .await;
    assert_eq!(in_ms(&out), [(0, 'a')]);

    // throttle_with with trailing agrees (RxJS's "should emit the value if only a single one
    // is given").
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a')]);
    let out = record(start, calls.throttle_with(ms(32)).trailing(true), ms(64)).await;
    assert_eq!(in_ms(&out), [(0, 'a')]);
}

/// A call every millisecond for 320 ms (lodash's busy loop), each carrying its time.
fn every_ms_for_320(start: Instant) -> impl Stream<Item = u64> {
    at_ms(start, (0..320).map(|t| (t, t)).collect())
}

/// Every 32 ms the call of that instant (`max_wait` under continuous calls), then the last
/// call, 319, at 320.
fn every_32_then_319(from: u64) -> Vec<(u64, u64)> {
    (from..=9)
        .map(|k| (32 * k, 32 * k))
        .chain([(320, 319)])
        .collect()
}

// lodash throttle: "should trigger a call when invoked repeatedly"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_trigger_a_call_when_invoked_repeatedly() {
    // Calls for 320 ms, wait 32: more than one invocation. Exactly: one every 32 ms.
    let start = Instant::now();
    let throttled = lodash_throttle(every_ms_for_320(start), ms(32));
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), every_32_then_319(0));

    // throttle_with with trailing agrees.
    let start = Instant::now();
    let throttled = every_ms_for_320(start).throttle_with(ms(32)).trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), every_32_then_319(0));
}

// lodash throttle: "should trigger a call when invoked repeatedly and `leading` is `false`"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_trigger_a_call_when_invoked_repeatedly_and_leading_is_false() {
    let start = Instant::now();
    let throttled = lodash_throttle(every_ms_for_320(start), ms(32)).leading(false);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), every_32_then_319(1));

    // throttle_with without leading, with trailing, agrees.
    let start = Instant::now();
    let throttled = every_ms_for_320(start)
        .throttle_with(ms(32))
        .leading(false)
        .trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), every_32_then_319(1));
}

// lodash throttle: "should trigger a second throttled call as soon as possible"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_trigger_a_second_throttled_call_as_soon_as_possible() {
    // wait 128, leading false: a call at 0, another at 192; one invocation at 192 and at
    // 254, two at 384. lodash: a at 128 (trailing); b's call at 192 starts a new burst (a
    // quiet window since a's call), trailing at 320.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (192, 'b')]);
    let throttled = lodash_throttle(calls, ms(128)).leading(false);
    let out = record(start, throttled, ms(384)).await;
    assert_eq!(in_ms(&out), [(128, 'a'), (320, 'b')]);

    // throttle_with (leading off, trailing on) differs in the instant, not in the counts
    // upstream checks: its period runs again from a's emission at 128 to 256, and b, held,
    // goes out at 256.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (192, 'b')]);
    let throttled = calls.throttle_with(ms(128)).leading(false).trailing(true);
    let out = record(start, throttled, ms(384)).await;
    assert_eq!(in_ms(&out), [(128, 'a'), (256, 'b')]);
}

// lodash throttle: "should apply default options"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_apply_default_options() {
    // Two calls at 0 with `{}`: one invocation at once, two by 128.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b')]);
    let out = record(start, lodash_throttle(calls, ms(32)), ms(128)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (32, 'b')]);

    // throttle_with's defaults are RxJS's, trailing off: b is dropped.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b')]);
    let out = record(start, calls.throttle_with(ms(32)), ms(128)).await;
    assert_eq!(in_ms(&out), [(0, 'a')]);
}

// lodash throttle: "should support a `leading` option"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_support_a_leading_option() {
    // With leading, the call is invoked at once; without, not (lodash then invokes it at the
    // trailing edge, 32 ms later).
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a')]);
    let out = record(start, lodash_throttle(calls, ms(32)), ms(100)).await;
    assert_eq!(in_ms(&out), [(0, 'a')]);

    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a')]);
    let throttled = lodash_throttle(calls, ms(32)).leading(false);
    let out = record(start, throttled, ms(100)).await;
    assert_eq!(in_ms(&out), [(32, 'a')]);

    // throttle_with agrees with trailing on; with RxJS's default trailing off, no leading
    // means nothing at all.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a')]);
    let throttled = calls.throttle_with(ms(32)).leading(false).trailing(true);
    let out = record(start, throttled, ms(100)).await;
    assert_eq!(in_ms(&out), [(32, 'a')]);

    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a')]);
    let out = record(start, calls.throttle_with(ms(32)).leading(false), ms(100)).await;
    assert_eq!(in_ms(&out), []);
}

// lodash throttle: "should support a `trailing` option"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_support_a_trailing_option() {
    // wait 64; calls a, b at 0: with trailing two invocations by 256, without one.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b')]);
    let throttled = lodash_throttle(calls, ms(64)).trailing(true);
    let out = record(start, throttled, ms(256)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (64, 'b')]);

    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b')]);
    let throttled = lodash_throttle(calls, ms(64)).trailing(false);
    let out = record(start, throttled, ms(256)).await;
    assert_eq!(in_ms(&out), [(0, 'a')]);

    // throttle_with agrees.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b')]);
    let out = record(start, calls.throttle_with(ms(64)).trailing(true), ms(256)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (64, 'b')]);

    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b')]);
    let out = record(start, calls.throttle_with(ms(64)).trailing(false), ms(256)).await;
    assert_eq!(in_ms(&out), [(0, 'a')]);
}

// lodash throttle: "should not update `lastCalled`, at the end of the timeout, when
// `trailing` is `false`"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_not_update_last_called_at_the_end_when_trailing_is_false() {
    // wait 64, trailing false: calls a, b at 0, c, d at 96; more than one invocation by 192:
    // c's call, a quiet window after b's, is a leading edge.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b'), (96, 'c'), (96, 'd')]);
    let throttled = lodash_throttle(calls, ms(64)).trailing(false);
    let out = record(start, throttled, ms(192)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (96, 'c')]);

    // throttle_with (trailing off by default) agrees.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (0, 'b'), (96, 'c'), (96, 'd')]);
    let out = record(start, calls.throttle_with(ms(64)), ms(192)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (96, 'c')]);
}

// lodash.debounce and lodash.throttle: "`_.throttle` should use a default `wait` of `0`"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_use_a_default_wait_of_0() {
    // A call at 0, another at 32: two invocations.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (32, 'b')]);
    let out = record(start, lodash_throttle(calls, Duration::ZERO), ms(100)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (32, 'b')]);

    // throttle_with(ZERO) agrees.
    let start = Instant::now();
    let calls = at_ms(start, vec![(0, 'a'), (32, 'b')]);
    let out = record(start, calls.throttle_with(Duration::ZERO), ms(100)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (32, 'b')]);
}

// lodash.debounce and lodash.throttle: "`_.throttle` should support cancelling delayed calls"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_support_cancelling_delayed_calls() {
    // leading false: a call, then cancel(): no invocation by 64.
    let start = Instant::now();
    let (feed, calls) = fed();
    let mut throttled = std::pin::pin!(lodash_throttle(calls, ms(32)).leading(false));
    feed.push('a');
    assert!(poll_once(throttled.as_mut()).await.is_pending());
    assert!(throttled.as_mut().cancel());
    let out = record(start, throttled.as_mut(), ms(64)).await;
    assert_eq!(in_ms(&out), []);
}

// lodash.debounce and lodash.throttle: "`_.throttle` should reset `lastCalled` after
// cancelling"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_reset_last_called_after_cancelling() {
    // leading true: the first call is invoked (1); cancel(); the next call is a leading edge
    // again (2), and one more is its trailing edge: three invocations by 64.
    let start = Instant::now();
    let (feed, calls) = fed();
    let mut throttled = std::pin::pin!(lodash_throttle(calls, ms(32)));
    feed.push(1);
    assert_eq!(poll_once(throttled.as_mut()).await, Poll::Ready(Some(1)));
    // Nothing is held after a leading emission (lodash's cancel returns nothing to tell).
    assert!(!throttled.as_mut().cancel());
    feed.push(2);
    feed.push(3);
    assert_eq!(poll_once(throttled.as_mut()).await, Poll::Ready(Some(2)));
    let out = record(start, throttled.as_mut(), ms(64)).await;
    assert_eq!(in_ms(&out), [(32, 3)]);
}

// lodash.debounce and lodash.throttle: "`_.throttle` should support flushing delayed calls"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_support_flushing_delayed_calls() {
    // leading false: a call, then flush() invokes it (returns 1); no more by 64.
    let start = Instant::now();
    let (feed, calls) = fed();
    let mut throttled = std::pin::pin!(lodash_throttle(calls, ms(32)).leading(false));
    feed.push(1);
    assert!(poll_once(throttled.as_mut()).await.is_pending());
    assert_eq!(throttled.as_mut().flush(), Some(1));
    let out = record(start, throttled.as_mut(), ms(64)).await;
    assert_eq!(in_ms(&out), []);
}

// lodash.debounce and lodash.throttle: "`_.throttle` should noop `cancel` and `flush` when
// nothing is queued"
#[tokio::test(start_paused = true)]
async fn lodash_throttle_should_noop_cancel_and_flush_when_nothing_is_queued() {
    let start = Instant::now();
    let (_feed, calls) = fed::<char>();
    let mut throttled = std::pin::pin!(lodash_throttle(calls, ms(32)));
    assert!(!throttled.as_mut().cancel());
    assert_eq!(throttled.as_mut().flush(), None);
    let out = record(start, throttled.as_mut(), ms(64)).await;
    assert_eq!(in_ms(&out), []);
}
