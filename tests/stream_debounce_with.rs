//! `debounce_with`: per-item windows at exact instants (a shorter window after a longer one,
//! a longer after a shorter, zero and `MAX` windows), with `leading`, `trailing` and
//! `max_wait`, and the same timelines as `debounce` when every window is the same.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, in_ms, ms, record};
use deadlines::stream::StreamDeadlineExt;
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// An item that carries its own window, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct W(char, u64);

fn window(item: &W) -> Duration {
    ms(item.1)
}

// The docs' timeline.

#[tokio::test(start_paused = true)]
async fn timeline_each_item_sets_its_own_window() {
    let start = Instant::now();
    let source = at_ms(
        start,
        vec![(0, W('a', 100)), (30, W('b', 20)), (100, W('c', 50))],
    );
    let out = record(start, source.debounce_with(window), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(50, W('b', 20)), (150, W('c', 50))]);
}

#[tokio::test(start_paused = true)]
async fn the_doc_example_of_a_search_box() {
    let start = Instant::now();
    let typed = at_ms(
        start,
        vec![(0, "r"), (100, "ru"), (700, "rus"), (750, "rust")],
    );
    let queries = typed.debounce_with(
        |query: &&str| {
            if query.len() < 3 { ms(500) } else { ms(150) }
        },
    );
    let out = record(start, queries, ms(2_000)).await;
    assert_eq!(in_ms(&out), [(600, "ru"), (900, "rust")]);
}

// A shorter window after a longer one, a longer after a shorter.

#[tokio::test(start_paused = true)]
async fn a_shorter_window_after_a_longer_one_emits_at_its_own_end() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(window));
    feed.push(W('a', 100));
    assert_eq!(d.poll(), Poll::Pending);
    assert_eq!(d.get_ref().timer_resets(), 1);
    advance_to(start, ms(30)).await;
    feed.push(W('b', 20));
    assert_eq!(d.poll(), Poll::Pending);
    assert_eq!(
        d.get_ref().timer_resets(),
        2,
        "b pulled the timer in, to 50"
    );
    advance_to(start, ms(49)).await;
    assert_eq!(d.wakes(), 1, "only the push");
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(50)).await;
    assert_eq!(d.wakes(), 2);
    assert_eq!(d.poll(), Poll::Ready(Some(W('b', 20))));
    advance_to(start, ms(1_000)).await;
    assert_eq!(d.wakes(), 2, "no wakeup left at a's 100");
    assert_eq!(d.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn a_longer_window_after_a_shorter_one_extends_the_burst() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(window));
    feed.push(W('a', 20));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(10)).await;
    feed.push(W('b', 100));
    assert_eq!(d.poll(), Poll::Pending);
    assert_eq!(
        d.get_ref().timer_resets(),
        1,
        "pushing the window later is free"
    );
    advance_to(start, ms(20)).await;
    assert_eq!(d.wakes(), 2, "the timer fires early, at a's 20");
    assert_eq!(d.poll(), Poll::Pending, "b's window ends at 110");
    assert_eq!(d.get_ref().timer_resets(), 2);
    advance_to(start, ms(109)).await;
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(110)).await;
    assert_eq!(d.wakes(), 3);
    assert_eq!(d.poll(), Poll::Ready(Some(W('b', 100))));
}

#[tokio::test(start_paused = true)]
async fn a_shorter_window_already_over_emits_at_the_poll_that_takes_it() {
    // b's 10 ms from 30 end at 40; but the poll that takes b is at 60 (it was ready since
    // 30): its window is measured from its poll, so it goes out at 70.
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(window));
    feed.push(W('a', 100));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(60)).await;
    feed.push(W('b', 10));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(69)).await;
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(70)).await;
    assert_eq!(d.poll(), Poll::Ready(Some(W('b', 10))));
}

#[tokio::test(start_paused = true)]
async fn the_latest_window_decides_even_when_a_longer_one_came_before() {
    // c's 30 ms decide, though a's and b's windows from before would end later.
    let start = Instant::now();
    let source = at_ms(
        start,
        vec![(0, W('a', 300)), (10, W('b', 200)), (20, W('c', 30))],
    );
    let out = record(start, source.debounce_with(window), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(50, W('c', 30))]);
}

#[tokio::test(start_paused = true)]
async fn the_window_function_is_called_once_per_item() {
    let start = Instant::now();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let source = at_ms(start, (0..50).map(|t| (t * 7, t)).collect());
    let debounced = source.debounce_with(move |n: &u64| {
        counted.fetch_add(1, Ordering::SeqCst);
        ms(5 + n % 3)
    });
    let out = record(start, debounced, ms(1_000)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 50);
    // 7 ms apart and windows of at most 7 ms: each item settles on its own, but the windows
    // of 7 ms end as the next item comes, which joins the burst.
    let expected: Vec<(u64, u64)> = (0..50)
        .filter(|n| n % 3 != 2 || *n == 49)
        .map(|n| (n * 7 + 5 + n % 3, n))
        .collect();
    assert_eq!(in_ms(&out), expected);
}

// Zero windows.

#[tokio::test(start_paused = true)]
async fn a_zero_window_emits_the_latest_item_of_the_poll() {
    let start = Instant::now();
    let source = futures_util::stream::iter([W('a', 0), W('b', 0), W('c', 0)])
        .chain(at_ms(start, vec![(50, W('d', 0)), (70, W('e', 0))]));
    let mut debounced = std::pin::pin!(source.debounce_with(window));
    let out = record(start, debounced.as_mut(), ms(100)).await;
    assert_eq!(
        in_ms(&out),
        [(0, W('c', 0)), (50, W('d', 0)), (70, W('e', 0))]
    );
}

#[tokio::test(start_paused = true)]
async fn a_zero_window_after_a_longer_one_emits_at_once() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(window));
    feed.push(W('a', 100));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(30)).await;
    feed.push(W('b', 0));
    assert_eq!(
        d.poll(),
        Poll::Ready(Some(W('b', 0))),
        "at 30, the same poll"
    );
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(1_000)).await;
    assert_eq!(d.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn a_longer_window_after_a_zero_one_in_the_same_poll_holds() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(window));
    feed.push(W('a', 0));
    feed.push(W('b', 100));
    assert_eq!(
        d.poll(),
        Poll::Pending,
        "b, the latest of the poll, sets 100 ms"
    );
    advance_to(start, ms(99)).await;
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(d.poll(), Poll::Ready(Some(W('b', 100))));
}

#[tokio::test(start_paused = true)]
async fn zero_windows_with_leading_trailing_and_max_wait() {
    let burst = || {
        let start = Instant::now();
        let source = futures_util::stream::iter([W('a', 0), W('b', 0), W('c', 0)])
            .chain(at_ms(start, vec![(50, W('d', 0))]));
        (start, source)
    };
    // Leading and trailing: the first of a poll at once, the latest after it.
    let (start, source) = burst();
    let out = record(start, source.debounce_with(window).leading(true), ms(100)).await;
    assert_eq!(
        in_ms(&out),
        [(0, W('a', 0)), (0, W('c', 0)), (50, W('d', 0))]
    );
    // Leading only.
    let (start, source) = burst();
    let debounced = source.debounce_with(window).leading(true).trailing(false);
    let out = record(start, debounced, ms(100)).await;
    assert_eq!(in_ms(&out), [(0, W('a', 0)), (50, W('d', 0))]);
    // Neither edge: nothing.
    let (start, source) = burst();
    let out = record(start, source.debounce_with(window).trailing(false), ms(100)).await;
    assert_eq!(in_ms(&out), []);
    // A zero max_wait passes every item after the first of a burst (as `debounce` does).
    let (start, source) = burst();
    let debounced = source.debounce_with(window).max_wait(Duration::ZERO);
    let out = record(start, debounced, ms(100)).await;
    assert_eq!(
        in_ms(&out),
        [(0, W('b', 0)), (0, W('c', 0)), (50, W('d', 0))]
    );
}

// leading, trailing, max_wait with per-item windows.

#[tokio::test(start_paused = true)]
async fn leading_judges_the_gap_before_an_item_by_the_window_of_the_item_before_it() {
    let start = Instant::now();
    let source = at_ms(
        start,
        vec![
            (0, W('a', 100)),
            // 50 ms after a, within a's 100 ms: the burst goes on; b's own 20 ms end at 70.
            (50, W('b', 20)),
            // b settled at 70. c comes 30 ms after b, past b's 20 ms: a leading edge.
            (80, W('c', 20)),
            // d comes 30 ms after c, past c's 20 ms (c's burst closed at 100): a leading
            // edge too, whatever window d asks for after it.
            (110, W('d', 100)),
        ],
    );
    let out = record(start, source.debounce_with(window).leading(true), ms(1_000)).await;
    assert_eq!(
        in_ms(&out),
        [
            (0, W('a', 100)),
            (70, W('b', 20)),
            (80, W('c', 20)),
            (110, W('d', 100)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn trailing_off_drops_the_held_item_at_its_own_windows_end() {
    let start = Instant::now();
    let source = at_ms(
        start,
        vec![
            (0, W('a', 100)),
            (30, W('b', 20)),
            (60, W('c', 20)),
            (90, W('d', 100)),
        ],
    );
    let debounced = source.debounce_with(window).leading(true).trailing(false);
    let out = record(start, debounced, ms(1_000)).await;
    // b's window ends at 50 and closes the burst, dropping b: c, 30 ms after b, is a
    // leading edge; so is d, 30 ms after c, past c's 20 ms.
    assert_eq!(
        in_ms(&out),
        [(0, W('a', 100)), (60, W('c', 20)), (90, W('d', 100))]
    );
}

#[tokio::test(start_paused = true)]
async fn max_wait_is_raised_to_the_latest_items_window() {
    // Every 20 ms; windows of 80 ms until 200, then 40 ms; max_wait 50 ms. Raised to 80
    // while the windows are 80: emissions at 80 and 160 (an item is due then). Then 50:
    // 210 (the timer, 50 after 160), 260 (an item), 310 (the timer, 50 after 260).
    let start = Instant::now();
    let items = (0..=300)
        .step_by(20)
        .map(|t| (t, W('x', if t < 200 { 80 } else { 40 })))
        .collect();
    let debounced = at_ms(start, items)
        .debounce_with(|item: &W| ms(item.1))
        .max_wait(ms(50));
    let out = record(start, debounced, ms(1_000)).await;
    let at: Vec<u64> = in_ms(&out).into_iter().map(|(at, _)| at).collect();
    assert_eq!(at, [80, 160, 210, 260, 310]);
}

#[tokio::test(start_paused = true)]
async fn max_wait_counts_from_the_previous_emission_across_windows() {
    // An item every 10 ms, alternating windows of 20 and 150 ms; max_wait 100 ms. The odd
    // items (20 ms) keep max_wait at 100: every tenth item, 100 ms after the emission
    // before, goes out at once.
    let start = Instant::now();
    let every_10_ms = futures_util::stream::unfold(0u64, |n| async move {
        tokio::time::sleep(ms(10)).await;
        Some((n + 1, n + 1))
    });
    let debounced = every_10_ms
        .debounce_with(|n: &u64| if n % 2 == 1 { ms(20) } else { ms(150) })
        .max_wait(ms(100));
    let out = record(start, debounced, ms(560)).await;
    assert_eq!(
        in_ms(&out),
        [(110, 11), (210, 21), (310, 31), (410, 41), (510, 51)]
    );
}

// MAX windows.

#[tokio::test(start_paused = true)]
async fn a_max_window_never_settles_and_the_end_still_emits() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(window).max_wait(Duration::MAX));
    feed.push(W('a', 10));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(5)).await;
    feed.push(W('b', u64::MAX));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(10)).await;
    assert_eq!(d.poll(), Poll::Pending, "b's window is in force");
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert_eq!(d.poll(), Poll::Pending);
    feed.end();
    assert_eq!(d.poll(), Poll::Ready(Some(W('b', u64::MAX))));
    assert_eq!(d.poll(), Poll::Ready(None));
}

#[tokio::test(start_paused = true)]
async fn duration_max_from_the_window_function_does_not_panic() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(|_: &u8| Duration::MAX).leading(true));
    feed.push(1);
    feed.push(2);
    assert_eq!(d.poll(), Poll::Ready(Some(1)));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert_eq!(d.wakes(), 0);
    feed.push(3);
    assert_eq!(d.poll(), Poll::Pending, "still the first burst");
    feed.end();
    assert_eq!(d.poll(), Poll::Ready(Some(3)));
    assert_eq!(d.poll(), Poll::Ready(None));
}

#[tokio::test(start_paused = true)]
async fn a_short_window_after_a_max_one_emits_at_its_own_end() {
    let start = Instant::now();
    let source = at_ms(start, vec![(0, 'a'), (50, 'b')]);
    let debounced = source.debounce_with(|c: &char| if *c == 'a' { Duration::MAX } else { ms(10) });
    let out = record(start, debounced, ms(1_000)).await;
    assert_eq!(in_ms(&out), [(60, 'b')]);
}

// The same timelines as `debounce`, for every option, when every window is the same.

fn schedule(seed: u64, n: u64) -> Vec<(u64, u64)> {
    let mut state = seed;
    let mut at = 0;
    (0..n)
        .map(|item| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            at += [0, 1, 10, 29, 30, 31, 60, 99, 100, 250][(state >> 33) as usize % 10];
            (at, item)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_constant_window_gives_the_timelines_of_debounce() {
    for seed in 1..=3 {
        let items = schedule(seed, 300);
        let horizon = ms(items.last().unwrap().0 + 500);
        for (leading, trailing, max_wait) in [
            (false, true, None),
            (true, true, None),
            (true, false, None),
            (false, false, None),
            (false, true, Some(90)),
            (true, true, Some(90)),
            (true, false, Some(90)),
            (false, true, Some(10)),
        ] {
            let start = Instant::now();
            let mut fixed = at_ms(start, items.clone())
                .debounce(ms(30))
                .leading(leading)
                .trailing(trailing);
            let mut with = at_ms(start, items.clone())
                .debounce_with(|_: &u64| ms(30))
                .leading(leading)
                .trailing(trailing);
            if let Some(max_wait) = max_wait {
                fixed = fixed.max_wait(ms(max_wait));
                with = with.max_wait(ms(max_wait));
            }
            let fixed = tokio::spawn(record(start, fixed, horizon));
            let with = tokio::spawn(record(start, with, horizon));
            let (fixed, with) = (fixed.await.unwrap(), with.await.unwrap());
            let case = format!("seed {seed}, {leading} {trailing} {max_wait:?}");
            assert_eq!(in_ms(&with), in_ms(&fixed), "{case}");
            if leading || trailing {
                assert!(fixed.items.len() > 20, "{case}");
            }
        }
    }
}

// The end of the source, size_hint, Debug.

#[tokio::test(start_paused = true)]
async fn the_source_ending_emits_the_held_item_at_once_then_none_forever() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(window));
    feed.push(W('a', 100));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(30)).await;
    feed.end();
    assert_eq!(d.poll(), Poll::Ready(Some(W('a', 100))));
    assert!(d.get_ref().is_terminated());
    let polls = feed.polls();
    for _ in 0..3 {
        assert_eq!(d.poll(), Poll::Ready(None));
    }
    assert_eq!(feed.polls(), polls);
    assert_eq!(Instant::now(), start + ms(30));
}

#[tokio::test(start_paused = true)]
async fn size_hint_and_debug() {
    let d = futures_util::stream::iter([W('a', 5)]).debounce_with(window);
    assert_eq!(d.size_hint(), (0, Some(1)));
    let text = format!("{d:?}");
    assert!(
        text.starts_with(
            "DebounceWith { window: 0ns, max_wait: None, leading: false, trailing: true, \
             holding: false, deadline: None"
        ),
        "{text}"
    );
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce_with(window).max_wait(ms(10)));
    feed.push(W('a', 70));
    assert_eq!(d.poll(), Poll::Pending);
    let text = format!("{:?}", d.get_ref());
    assert!(
        text.starts_with("DebounceWith { window: 70ms, max_wait: Some(70ms), "),
        "the latest item's window, and max_wait raised to it: {text}"
    );
    assert!(text.contains("holding: true, deadline: Some("), "{text}");
}

// A regression test: the gap before b was once judged by b's own (shorter) window, so with
// any `max_wait` set b (20 ms, at 50, within a's 100 ms) was emitted at 50, as a `max_wait`
// emission, where without one it goes out at 70. The gap is judged by a's window now.
#[tokio::test(start_paused = true)]
async fn a_max_wait_not_reached_does_not_emit_a_shorter_window_early() {
    for leading in [false, true] {
        let start = Instant::now();
        let source = at_ms(start, vec![(0, W('a', 100)), (50, W('b', 20))]);
        let debounced = source
            .debounce_with(window)
            .leading(leading)
            .max_wait(Duration::from_secs(10));
        let out = record(start, debounced, ms(1_000)).await;
        let emitted: Vec<_> = in_ms(&out)
            .into_iter()
            .filter(|(_, item)| item.0 == 'b')
            .collect();
        assert_eq!(
            emitted,
            [(70, W('b', 20))],
            "leading {leading}: b's own 20 ms must pass, as without max_wait"
        );
    }
}
