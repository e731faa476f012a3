//! `debounce`: every timeline of the docs at its exact instants, and the edges of the contract.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, flooded, in_ms, ms, record, us};
use deadlines::stream::StreamDeadlineExt;
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// The docs' first schedule: a burst a, b, c, then d alone.
fn burst_then_single(start: Instant) -> impl Stream<Item = char> {
    at_ms(start, vec![(0, 'a'), (30, 'b'), (60, 'c'), (300, 'd')])
}

/// The docs' second schedule: an item every 30 ms from 0 to 330, each carrying its arrival
/// time in milliseconds.
fn every_30_ms(start: Instant) -> impl Stream<Item = u64> {
    at_ms(start, (0..=330).step_by(30).map(|t| (t, t)).collect())
}

// The first timeline: the four combinations of leading and trailing.

#[tokio::test(start_paused = true)]
async fn timeline_trailing_emits_the_latest_item_a_window_after_the_burst() {
    let start = Instant::now();
    let out = record(start, burst_then_single(start).debounce(ms(100)), ms(450)).await;
    assert_eq!(in_ms(&out), [(160, 'c'), (400, 'd')]);
}

#[tokio::test(start_paused = true)]
async fn timeline_leading_and_trailing_skip_the_trailing_item_of_a_burst_of_one() {
    let start = Instant::now();
    let debounced = burst_then_single(start).debounce(ms(100)).leading(true);
    let out = record(start, debounced, ms(450)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (160, 'c'), (300, 'd')]);
}

#[tokio::test(start_paused = true)]
async fn timeline_leading_only_emits_the_first_item_of_each_burst() {
    let start = Instant::now();
    let debounced = burst_then_single(start)
        .debounce(ms(100))
        .leading(true)
        .trailing(false);
    let out = record(start, debounced, ms(450)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (300, 'd')]);
}

#[tokio::test(start_paused = true)]
async fn timeline_both_edges_off_emit_nothing() {
    let start = Instant::now();
    let debounced = burst_then_single(start).debounce(ms(100)).trailing(false);
    let out = record(start, debounced, ms(450)).await;
    assert_eq!(in_ms(&out), []);
}

// The second timeline: continuous input, with and without max_wait.

#[tokio::test(start_paused = true)]
async fn timeline_continuous_input_without_max_wait_settles_after_the_last_item() {
    let start = Instant::now();
    let out = record(start, every_30_ms(start).debounce(ms(100)), ms(450)).await;
    assert_eq!(in_ms(&out), [(430, 330)]);
}

#[tokio::test(start_paused = true)]
async fn timeline_trailing_with_max_wait() {
    let start = Instant::now();
    let debounced = every_30_ms(start).debounce(ms(100)).max_wait(ms(200));
    let out = record(start, debounced, ms(450)).await;
    assert_eq!(in_ms(&out), [(200, 180), (400, 330)]);
}

#[tokio::test(start_paused = true)]
async fn timeline_leading_and_trailing_with_max_wait() {
    let start = Instant::now();
    let debounced = every_30_ms(start)
        .debounce(ms(100))
        .leading(true)
        .max_wait(ms(200));
    let out = record(start, debounced, ms(450)).await;
    assert_eq!(in_ms(&out), [(0, 0), (200, 180), (400, 330)]);
}

#[tokio::test(start_paused = true)]
async fn timeline_leading_only_with_max_wait() {
    let start = Instant::now();
    let debounced = every_30_ms(start)
        .debounce(ms(100))
        .leading(true)
        .trailing(false)
        .max_wait(ms(200));
    let out = record(start, debounced, ms(450)).await;
    assert_eq!(in_ms(&out), [(0, 0), (210, 210)]);
}

#[tokio::test(start_paused = true)]
async fn timeline_both_edges_off_with_max_wait_emit_nothing() {
    let start = Instant::now();
    let debounced = every_30_ms(start)
        .debounce(ms(100))
        .trailing(false)
        .max_wait(ms(200));
    let out = record(start, debounced, ms(450)).await;
    assert_eq!(in_ms(&out), []);
}

/// An item every 10 ms, forever, carrying its number (the item of 10n ms is n).
fn every_10_ms() -> impl Stream<Item = u64> {
    futures_util::stream::unfold(0u64, |n| async move {
        tokio::time::sleep(ms(10)).await;
        Some((n + 1, n + 1))
    })
}

#[tokio::test(start_paused = true)]
async fn both_edges_off_emit_nothing_even_when_max_wait_falls_on_an_item() {
    // lodash would invoke at 210 ms (a call with the timer running, `maxWait` after the first
    // call); the contract says nothing is emitted with both edges off.
    let start = Instant::now();
    let debounced = every_10_ms()
        .debounce(ms(50))
        .trailing(false)
        .max_wait(ms(200));
    let out = record(start, debounced, ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
}

#[tokio::test(start_paused = true)]
async fn timeline_lossy_throttle_emits_the_latest_item_every_period() {
    let start = Instant::now();
    let throttled = every_30_ms(start)
        .debounce(ms(100))
        .leading(true)
        .max_wait(ms(100));
    let out = record(start, throttled, ms(450)).await;
    assert_eq!(
        in_ms(&out),
        [(0, 0), (100, 90), (200, 180), (300, 300), (400, 330)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_max_wait_shorter_than_the_window_is_raised_to_the_window() {
    let start = Instant::now();
    let short = every_30_ms(start).debounce(ms(100)).max_wait(ms(10));
    let out = record(start, short, ms(450)).await;
    assert_eq!(in_ms(&out), [(100, 90), (200, 180), (300, 300), (400, 330)]);
    let start = Instant::now();
    let equal = every_30_ms(start).debounce(ms(100)).max_wait(ms(100));
    assert_eq!(in_ms(&record(start, equal, ms(450)).await), in_ms(&out));
}

// The zero window.

#[tokio::test(start_paused = true)]
async fn timeline_zero_window_emits_the_latest_of_each_poll() {
    // a, b, c are ready at the first poll; d comes at 50 ms.
    let source =
        |start| futures_util::stream::iter(['a', 'b', 'c']).chain(at_ms(start, vec![(50, 'd')]));
    let start = Instant::now();
    let out = record(start, source(start).debounce(Duration::ZERO), ms(100)).await;
    assert_eq!(in_ms(&out), [(0, 'c'), (50, 'd')]);

    let start = Instant::now();
    let debounced = source(start).debounce(Duration::ZERO).leading(true);
    let out = record(start, debounced, ms(100)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (0, 'c'), (50, 'd')]);
}

#[tokio::test(start_paused = true)]
async fn zero_window_with_max_wait_passes_every_item() {
    // lodash: with a zero wait every call is past the window, and `maxWait` invokes each one.
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(Duration::ZERO).max_wait(Duration::ZERO));
    for n in 0..5 {
        feed.push(n);
    }
    for n in 1..5 {
        assert_eq!(d.poll(), Poll::Ready(Some(n)));
    }
    assert_eq!(d.poll(), Poll::Pending, "the first item opened the burst");
}

// The end of the source.

#[tokio::test(start_paused = true)]
async fn timeline_the_source_ending_emits_the_held_item_at_once() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(ms(100)));
    feed.push('a');
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(30)).await;
    feed.push('b');
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(60)).await;
    feed.end();
    assert_eq!(d.poll(), Poll::Ready(Some('b')), "at 60 ms, not at 130 ms");
    assert!(d.get_ref().is_terminated());
    assert_eq!(d.poll(), Poll::Ready(None));
    assert_eq!(Instant::now(), start + ms(60));
}

#[tokio::test(start_paused = true)]
async fn polled_after_the_end_it_returns_none_and_never_polls_the_source_again() {
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(ms(100)));
    feed.push(1);
    feed.end();
    assert_eq!(d.poll(), Poll::Ready(Some(1)));
    assert_eq!(d.poll(), Poll::Ready(None)); // `fed` panics if polled after its `None`
    let polls = feed.polls();
    for _ in 0..3 {
        assert_eq!(d.poll(), Poll::Ready(None));
    }
    assert_eq!(feed.polls(), polls);
    tokio::time::advance(ms(1_000)).await;
    assert_eq!(d.poll(), Poll::Ready(None));
}

#[tokio::test(start_paused = true)]
async fn with_trailing_off_nothing_is_held_when_the_source_ends() {
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(ms(100)).leading(true).trailing(false));
    feed.push(1);
    feed.push(2);
    feed.end();
    assert_eq!(d.poll(), Poll::Ready(Some(1)));
    assert_eq!(d.poll(), Poll::Ready(None));
    assert_eq!(d.poll(), Poll::Ready(None));
}

// Buffered bursts: every ready item is taken before the window is judged.

#[tokio::test(start_paused = true)]
async fn a_buffered_burst_of_ten_thousand_items_settles_one_window_after_the_last() {
    let start = Instant::now();
    let (feed, source) = fed();
    for n in 0..10_000 {
        feed.push(n);
    }
    let mut d = StreamProbe::new(source.debounce(ms(100)));
    assert_eq!(d.poll(), Poll::Pending);
    assert_eq!(feed.queued(), 0, "one poll took the whole burst");

    advance_to(start, ms(99)).await;
    assert_eq!(d.wakes(), 0);
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(d.wakes(), 1);
    assert_eq!(d.poll(), Poll::Ready(Some(9_999)));
    assert_eq!(d.get_ref().timer_resets(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_buffered_burst_auto_advanced_settles_one_window_after_the_last() {
    let start = Instant::now();
    let burst = futures_util::stream::iter(0..10_000u32).chain(futures_util::stream::pending());
    let out = record(start, burst.debounce(ms(100)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(100, 9_999)]);
}

#[tokio::test(start_paused = true)]
async fn an_item_ready_when_the_window_is_judged_joins_the_burst() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(ms(100)));
    feed.push('a');
    assert_eq!(d.poll(), Poll::Pending);
    // The window ends at 100, but the task is not polled before b is ready, at 150.
    advance_to(start, ms(150)).await;
    feed.push('b');
    assert_eq!(
        d.poll(),
        Poll::Pending,
        "b joined the burst; a was replaced"
    );
    advance_to(start, ms(249)).await;
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(250)).await;
    assert_eq!(d.poll(), Poll::Ready(Some('b')));
}

// Exact instants and the millisecond edge.

#[tokio::test(start_paused = true)]
async fn settles_at_the_exact_millisecond_and_not_before() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(ms(100)));
    feed.push(1);
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(40)).await;
    feed.push(2);
    assert_eq!(d.wakes(), 1, "the push woke the task");
    assert_eq!(d.poll(), Poll::Pending);

    advance_to(start, ms(100)).await;
    assert_eq!(
        d.wakes(),
        2,
        "the timer fired early: the window moved to 140"
    );
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(139)).await;
    assert_eq!(d.wakes(), 2);
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, ms(140)).await;
    assert_eq!(d.wakes(), 3);
    assert_eq!(d.poll(), Poll::Ready(Some(2)));
    assert_eq!(d.get_ref().timer_resets(), 2, "created once, re-set once");
    advance_to(start, ms(10_000)).await;
    assert_eq!(d.wakes(), 3, "no timer left behind");
}

#[tokio::test(start_paused = true)]
async fn a_sub_millisecond_window_end_wakes_at_the_next_millisecond() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(ms(1)));
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, us(500)).await;
    feed.push(1);
    assert_eq!(d.poll(), Poll::Pending); // the window ends at 1.5 ms
    advance_to(start, us(1_999)).await;
    assert_eq!(
        d.wakes(),
        1,
        "only the push: the timer rounds 1.5 ms up to 2 ms"
    );
    advance_to(start, ms(2)).await;
    assert_eq!(d.wakes(), 2);
    assert_eq!(d.poll(), Poll::Ready(Some(1)));
}

#[tokio::test(start_paused = true)]
async fn a_poll_after_the_window_end_emits_even_before_the_timer_fires() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(ms(1)));
    advance_to(start, us(500)).await;
    feed.push(1);
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, us(1_499)).await;
    assert_eq!(d.poll(), Poll::Pending, "never before the instant");
    advance_to(start, us(1_500)).await;
    assert_eq!(
        d.poll(),
        Poll::Ready(Some(1)),
        "the clock decides, at 1.5 ms"
    );
}

// max_wait under a source that never ends.

#[tokio::test(start_paused = true)]
async fn a_never_ending_source_with_max_wait_emits_at_least_every_max_wait() {
    let start = Instant::now();
    let debounced = every_10_ms().debounce(ms(50)).max_wait(ms(200));
    let out = record(start, debounced, ms(2_000)).await;
    let expected: Vec<(u64, u64)> = (0..9).map(|k| (210 + 200 * k, 21 + 20 * k)).collect();
    assert_eq!(in_ms(&out), expected);
}

#[tokio::test(start_paused = true)]
async fn steady_input_costs_at_most_one_timer_reset_a_window() {
    let start = Instant::now();
    // A thousand items over 10 s, then the window settles.
    let debounced = every_10_ms()
        .take(1_000)
        .chain(futures_util::stream::pending());
    let debounced = debounced.debounce(ms(100));
    let mut debounced = std::pin::pin!(debounced);
    assert_eq!(debounced.next().await, Some(1_000));
    assert_eq!(Instant::now(), start + ms(10_100));
    let resets = debounced.timer_resets();
    assert!(resets <= 101, "{resets} resets for 100 windows of input");
}

// The coop budget cannot starve the window.

#[tokio::test(start_paused = true)]
async fn a_source_that_uses_up_the_coop_budget_cannot_starve_the_window() {
    let start = Instant::now();
    let (feed, items) = fed();
    let mut d = StreamProbe::new(flooded(items).debounce(ms(100)));
    feed.push('a');
    let mut emitted = Vec::new();
    for t in 0..=150 {
        advance_to(start, ms(t)).await;
        if let Poll::Ready(item) = d.poll() {
            emitted.push((t, item));
        }
    }
    assert_eq!(emitted, [(100, Some('a'))]);
}

// Inputs that must not panic.

#[tokio::test(start_paused = true)]
async fn duration_max_never_settles_and_the_end_still_flushes() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut d = StreamProbe::new(source.debounce(Duration::MAX).max_wait(Duration::MAX));
    feed.push(1);
    assert_eq!(d.poll(), Poll::Pending);
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert_eq!(d.poll(), Poll::Pending);
    feed.end();
    assert_eq!(d.poll(), Poll::Ready(Some(1)));
    assert_eq!(d.poll(), Poll::Ready(None));
}

// size_hint, Debug.

#[tokio::test(start_paused = true)]
async fn size_hint_bounds_the_items_left() {
    let d = futures_util::stream::iter(0..5).debounce(ms(100));
    assert_eq!(d.size_hint(), (0, Some(5)));
    let mut d = std::pin::pin!(d);
    assert_eq!(d.next().await, Some(4));
    assert_eq!(d.size_hint(), (0, Some(0)));
    assert_eq!(d.next().await, None);

    let (feed, source) = fed::<u8>();
    let mut d = StreamProbe::new(source.debounce(ms(100)));
    feed.push(1);
    assert_eq!(d.poll(), Poll::Pending);
    assert_eq!(d.get_ref().size_hint(), (0, None));
}

#[tokio::test(start_paused = true)]
async fn debug_shows_the_options_and_the_state() {
    let (feed, source) = fed::<u8>();
    let mut d = StreamProbe::new(source.debounce(ms(100)).leading(true).max_wait(ms(50)));
    let text = format!("{:?}", d.get_ref());
    assert!(
        text.starts_with(
            "Debounce { window: 100ms, max_wait: Some(100ms), leading: true, trailing: true, \
             holding: false, deadline: None"
        ),
        "{text}"
    );
    feed.push(1);
    feed.push(2);
    assert_eq!(d.poll(), Poll::Ready(Some(1)));
    assert_eq!(d.poll(), Poll::Pending);
    let text = format!("{:?}", d.get_ref());
    assert!(text.contains("holding: true, deadline: Some("), "{text}");
}

/// A source that yields its items one per poll, then stays pending, and says how many items
/// it may still yield: an exact upper bound for `size_hint` to add the held item to.
struct Bounded(std::collections::VecDeque<u8>, usize);

impl Stream for Bounded {
    type Item = u8;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<Option<u8>> {
        match self.0.pop_front() {
            Some(item) => Poll::Ready(Some(item)),
            None => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.1))
    }
}

#[tokio::test(start_paused = true)]
async fn size_hint_counts_the_held_item_only_when_the_trailing_edge_will_emit_it() {
    // Trailing (the default): the held item is one more the stream may yield.
    let source = Bounded([1].into(), 5);
    let mut d = StreamProbe::new(source.debounce(ms(100)));
    assert_eq!(d.poll(), Poll::Pending);
    assert_eq!(d.get_ref().size_hint(), (0, Some(6)));

    // Leading only: the item was emitted at once, and nothing is held for a trailing edge.
    let source = Bounded([1, 2].into(), 5);
    let mut d = StreamProbe::new(source.debounce(ms(100)).leading(true).trailing(false));
    assert_eq!(d.poll(), Poll::Ready(Some(1)));
    assert_eq!(d.poll(), Poll::Pending, "2 came within the window: dropped");
    assert_eq!(d.get_ref().size_hint(), (0, Some(5)));
    let text = format!("{:?}", d.get_ref());
    assert!(text.contains("leading: true, trailing: false"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn an_emission_before_the_timers_millisecond_leaves_no_wakeup_behind() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut debounced = StreamProbe::new(source.debounce(ms(100)));
    advance_to(start, us(500)).await;
    feed.push('a');
    assert_eq!(debounced.poll(), Poll::Pending);
    // Due at 100.5 ms; Tokio's timer is set for 101 ms. A poll at 100.5 ms emits.
    advance_to(start, us(100_500)).await;
    assert_eq!(debounced.poll(), Poll::Ready(Some('a')));
    assert_eq!(debounced.poll(), Poll::Pending);
    let wakes = debounced.wakes();
    advance_to(start, ms(1_000)).await;
    assert_eq!(debounced.wakes(), wakes, "the timer went with the burst");
}
