//! `sample`: the grid of ticks at its exact instants, its wakeups and timer sets, and the
//! edges of the contract (the millisecond edge, late polls, the end, extreme periods).

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, in_ms, ms, record, us, without_hanging};
use deadlines::stream::StreamDeadlineExt;
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

// The docs' timeline.

#[tokio::test(start_paused = true)]
async fn timeline_the_latest_item_at_each_tick_with_one() {
    let start = Instant::now();
    let source = at_ms(
        start,
        vec![(20, 'a'), (60, 'b'), (90, 'c'), (250, 'd'), (310, 'e')],
    );
    let out = record(start, source.sample(ms(100)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(100, 'c'), (300, 'd'), (400, 'e')]);
}

#[tokio::test(start_paused = true)]
async fn the_doc_example_of_a_progress_bar() {
    let progress = futures_util::stream::unfold(0, |done| async move {
        tokio::time::sleep(ms(10)).await;
        (done < 100).then_some((done + 1, done + 1))
    });
    let start = Instant::now();
    let out = record(start, progress.sample(ms(250)), ms(10_000)).await;
    // 100 comes at 1000 ms, a tick: it belongs to it. The source ends at 1010 ms.
    assert_eq!(in_ms(&out), [(250, 25), (500, 50), (750, 75), (1_000, 100)]);
    assert_eq!(out.ended, Some(ms(1_010)));
}

// The grid.

#[tokio::test(start_paused = true)]
async fn the_grid_starts_at_the_first_poll_not_at_the_build() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    advance_to(start, ms(30)).await;
    assert_eq!(
        s.poll(),
        Poll::Pending,
        "the first poll: the grid is 30 + 100k"
    );
    advance_to(start, ms(50)).await;
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(129)).await;
    assert_eq!(s.wakes(), 1, "only the push");
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(130)).await;
    assert_eq!(s.wakes(), 2, "the timer, at the tick");
    assert_eq!(s.poll(), Poll::Ready(Some('a')));

    // The next item goes out at the next tick of the same grid, not a period after it came.
    advance_to(start, ms(140)).await;
    feed.push('b');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(229)).await;
    assert_eq!(s.poll(), Poll::Pending);
    assert_eq!(s.wakes(), 3);
    advance_to(start, ms(230)).await;
    assert_eq!(s.wakes(), 4);
    assert_eq!(s.poll(), Poll::Ready(Some('b')));
}

#[tokio::test(start_paused = true)]
async fn the_first_item_ready_at_the_first_poll_waits_for_the_first_tick() {
    let start = Instant::now();
    let (feed, source) = fed();
    feed.push(1);
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending, "the origin is no tick");
    advance_to(start, ms(99)).await;
    assert_eq!(s.wakes(), 0);
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(s.wakes(), 1);
    assert_eq!(s.poll(), Poll::Ready(Some(1)));
}

#[tokio::test(start_paused = true)]
async fn a_grid_off_the_millisecond_is_kept_and_its_ticks_wake_at_the_next_millisecond() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    advance_to(start, us(30_500)).await;
    assert_eq!(s.poll(), Poll::Pending); // ticks at 130.5, 230.5, ...
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, us(130_499)).await;
    assert_eq!(s.poll(), Poll::Pending, "never before the tick");
    advance_to(start, us(130_500)).await;
    assert_eq!(
        s.wakes(),
        1,
        "only the push: Tokio rounds 130.5 ms up to 131 ms"
    );
    assert_eq!(
        s.poll(),
        Poll::Ready(Some('a')),
        "the clock decides: a poll at the tick emits"
    );
    advance_to(start, ms(131)).await;
    assert_eq!(s.poll(), Poll::Pending);
    let wakes = s.wakes();
    advance_to(start, ms(300)).await;
    assert_eq!(s.wakes(), wakes, "no wakeup at the idle tick of 230.5");

    // The next tick is at 330.5, on the same grid.
    feed.push('b');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, us(330_499)).await;
    assert_eq!(s.poll(), Poll::Pending);
    let wakes = s.wakes();
    advance_to(start, us(330_999)).await;
    assert_eq!(s.wakes(), wakes, "the timer fires at 331");
    advance_to(start, ms(331)).await;
    assert_eq!(s.wakes(), wakes + 1);
    assert_eq!(s.poll(), Poll::Ready(Some('b')));
}

// An idle tick costs nothing.

#[tokio::test(start_paused = true)]
async fn a_tick_with_no_item_emits_nothing_and_wakes_nothing() {
    let start = Instant::now();
    let (feed, source) = fed::<u32>();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(1_050)).await;
    assert_eq!(s.wakes(), 0, "ten idle ticks, no wakeup");
    assert_eq!(s.poll(), Poll::Pending);
    assert_eq!(
        s.get_ref().timer_resets(),
        0,
        "no timer while nothing is held"
    );

    feed.push(1);
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(1_100)).await;
    assert_eq!(s.wakes(), 2);
    assert_eq!(s.poll(), Poll::Ready(Some(1)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(5_000)).await;
    assert_eq!(
        s.wakes(),
        2,
        "no wakeup at the idle ticks after an emission"
    );
    assert_eq!(s.poll(), Poll::Pending);
    assert_eq!(s.get_ref().timer_resets(), 1);
}

// The millisecond edge of a tick.

#[tokio::test(start_paused = true)]
async fn an_item_that_comes_exactly_at_a_tick_belongs_to_it() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    feed.push('a');
    assert_eq!(s.poll(), Poll::Ready(Some('a')), "at the tick of 200");
    assert_eq!(s.get_ref().timer_resets(), 0, "emitted without a timer");
}

#[tokio::test(start_paused = true)]
async fn an_item_a_microsecond_after_a_tick_goes_to_the_next() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, us(200_001)).await;
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, us(299_999)).await;
    assert_eq!(s.wakes(), 1, "only the push");
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(300)).await;
    assert_eq!(s.wakes(), 2);
    assert_eq!(s.poll(), Poll::Ready(Some('a')));
}

#[tokio::test(start_paused = true)]
async fn an_item_a_microsecond_before_a_tick_belongs_to_it() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, us(199_999)).await;
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    assert_eq!(s.wakes(), 2);
    assert_eq!(s.poll(), Poll::Ready(Some('a')));
}

#[tokio::test(start_paused = true)]
async fn an_item_ready_at_the_poll_of_a_tick_replaces_the_held_one() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(50)).await;
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    feed.push('b'); // ready when the tick's poll comes
    assert_eq!(
        s.poll(),
        Poll::Ready(Some('b')),
        "b belongs to the tick of 100"
    );
    assert_eq!(s.poll(), Poll::Pending, "a was replaced, not queued");

    // Emitted at 100; an item 1 µs later is for the tick of 200.
    advance_to(start, us(100_001)).await;
    feed.push('c');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, us(199_999)).await;
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    assert_eq!(s.poll(), Poll::Ready(Some('c')));
}

#[tokio::test(start_paused = true)]
async fn items_within_a_period_collapse_into_the_latest() {
    let start = Instant::now();
    let items = (0..100).map(|t| (t, t)).collect();
    let out = record(start, at_ms(start, items).sample(ms(30)), ms(1_000)).await;
    // Items at 0..=99 ms; ticks at 30, 60, 90 take the item of that instant, 120 the last.
    assert_eq!(in_ms(&out), [(30, 30), (60, 60), (90, 90), (120, 99)]);
}

// Late polls.

#[tokio::test(start_paused = true)]
async fn missed_ticks_give_one_emission_then_the_grid_goes_on() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(10)).await;
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    // The task is not polled at 100, 200 or 300.
    advance_to(start, ms(350)).await;
    assert_eq!(s.wakes(), 2, "one wakeup at 100, none for the ticks after");
    assert_eq!(
        s.poll(),
        Poll::Ready(Some('a')),
        "one emission for the late poll"
    );
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(360)).await;
    feed.push('b');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(399)).await;
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(400)).await;
    assert_eq!(
        s.poll(),
        Poll::Ready(Some('b')),
        "back on the grid: 400, not 460"
    );
    assert_eq!(s.wakes(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_late_poll_emits_the_latest_item_once() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(10)).await;
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(150)).await;
    feed.push('b');
    advance_to(start, ms(250)).await;
    feed.push('c');
    assert_eq!(
        s.poll(),
        Poll::Ready(Some('c')),
        "b and c came before the late poll"
    );
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(1_000)).await;
    assert_eq!(
        s.poll(),
        Poll::Pending,
        "nothing was queued for the missed ticks"
    );
}

// The end of the source.

#[tokio::test(start_paused = true)]
async fn the_source_ending_emits_the_held_item_at_once_then_none() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(10)).await;
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(40)).await;
    feed.end();
    assert_eq!(
        s.poll(),
        Poll::Ready(Some('a')),
        "at 40 ms, not at the tick"
    );
    assert!(s.get_ref().is_terminated());
    assert_eq!(s.poll(), Poll::Ready(None));
    assert_eq!(Instant::now(), start + ms(40));
}

#[tokio::test(start_paused = true)]
async fn the_source_ending_with_nothing_held_ends_the_stream_at_once() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    feed.push('a');
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(s.poll(), Poll::Ready(Some('a')));
    advance_to(start, ms(150)).await;
    feed.end();
    assert!(!s.get_ref().is_terminated(), "the end is not seen yet");
    assert_eq!(s.poll(), Poll::Ready(None));
    assert!(s.get_ref().is_terminated());

    // An empty source.
    let empty = futures_util::stream::iter(Vec::<u8>::new()).sample(ms(100));
    assert_eq!(empty.collect::<Vec<_>>().await, []);
    assert_eq!(Instant::now(), start + ms(150));
}

#[tokio::test(start_paused = true)]
async fn items_and_the_end_ready_at_one_poll_give_the_latest_then_none() {
    let start = Instant::now();
    let s = futures_util::stream::iter([1, 2, 3]).sample(ms(100));
    assert_eq!(s.collect::<Vec<_>>().await, [3]);
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn polled_after_the_end_it_returns_none_and_never_polls_the_source_again() {
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    feed.push(1);
    feed.end();
    assert_eq!(s.poll(), Poll::Ready(Some(1)));
    assert_eq!(s.poll(), Poll::Ready(None)); // `fed` panics if polled after its `None`
    let polls = feed.polls();
    for _ in 0..3 {
        assert_eq!(s.poll(), Poll::Ready(None));
    }
    tokio::time::advance(ms(1_000)).await;
    assert_eq!(s.poll(), Poll::Ready(None));
    assert_eq!(feed.polls(), polls);
    assert_eq!(s.wakes(), 0);
}

// Periods that must not panic.

#[tokio::test(start_paused = true)]
async fn a_zero_period_is_raised_to_a_millisecond() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(Duration::ZERO));
    feed.push(1);
    feed.push(2);
    assert_eq!(s.poll(), Poll::Pending, "not emitted at the origin");
    advance_to(start, us(999)).await;
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, ms(1)).await;
    assert_eq!(s.wakes(), 1);
    assert_eq!(s.poll(), Poll::Ready(Some(2)));
    assert!(format!("{:?}", s.get_ref()).contains("period: 1ms"));

    let start = Instant::now();
    let source = futures_util::stream::iter(0..5).chain(at_ms(start, vec![(3, 5), (7, 6)]));
    let out = record(start, source.sample(Duration::ZERO), ms(100)).await;
    assert_eq!(in_ms(&out), [(1, 4), (3, 5), (7, 6)]);
}

#[tokio::test(start_paused = true)]
async fn a_sub_millisecond_period_is_raised_to_a_millisecond() {
    for period in [Duration::from_nanos(1), us(1), us(999)] {
        let start = Instant::now();
        let (feed, source) = fed();
        let mut s = StreamProbe::new(source.sample(period));
        assert_eq!(s.poll(), Poll::Pending);
        advance_to(start, us(1_200)).await;
        feed.push('a');
        assert_eq!(
            s.poll(),
            Poll::Pending,
            "{period:?}: the next tick is at 2 ms"
        );
        advance_to(start, us(1_999)).await;
        assert_eq!(s.poll(), Poll::Pending, "{period:?}");
        advance_to(start, ms(2)).await;
        assert_eq!(s.wakes(), 2, "{period:?}");
        assert_eq!(s.poll(), Poll::Ready(Some('a')), "{period:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_period_off_the_millisecond_keeps_its_grid() {
    // 1.5 ms: ticks at 1.5, 3, 4.5, 6 ms, though the timer only counts whole milliseconds.
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(us(1_500)));
    assert_eq!(s.poll(), Poll::Pending);
    let mut emitted = Vec::new();
    for t in (0..=7_000).step_by(100) {
        advance_to(start, us(t)).await;
        if t % 500 == 100 {
            feed.push(t);
        }
        if let Poll::Ready(item) = s.poll() {
            emitted.push((t, item.unwrap()));
        }
    }
    // Pushed at 0.1, 0.6, 1.1, 1.6, ...: each tick takes the latest before it.
    assert_eq!(
        emitted,
        [
            (1_500, 1_100),
            (3_000, 2_600),
            (4_500, 4_100),
            (6_000, 5_600)
        ]
    );

    // Driven by wakeups only: each tick comes at the timer's next millisecond, and so does
    // each item (the source's sleeps round up too): 3, due at 1.6, is ready at 2 ms, the
    // poll of the tick of 1.5, and belongs to it.
    let start = Instant::now();
    let items = (0..8).map(|n| (us(100 + 500 * n), n)).collect();
    let source = common::scheduled(start, items);
    let out = record(start, source.sample(us(1_500)), ms(10)).await;
    let at: Vec<_> = out.items.iter().map(|(t, n)| (t.as_micros(), *n)).collect();
    assert_eq!(at, [(2_000, 3), (3_000, 5), (5_000, 7)]);
}

#[tokio::test(start_paused = true)]
async fn duration_max_never_emits_until_the_source_ends() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut s = StreamProbe::new(source.sample(Duration::MAX));
    feed.push(1);
    assert_eq!(s.poll(), Poll::Pending);
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert_eq!(s.wakes(), 0);
    feed.push(2);
    assert_eq!(s.poll(), Poll::Pending);
    feed.end();
    assert_eq!(s.poll(), Poll::Ready(Some(2)));
    assert_eq!(s.poll(), Poll::Ready(None));
}

#[tokio::test(start_paused = true)]
async fn duration_max_does_not_hang_a_source_that_ends() {
    let start = Instant::now();
    let source = at_ms(start, vec![(5, 'a')])
        .take(1)
        .chain(futures_util::stream::once(async {
            tokio::time::sleep(ms(10_000)).await;
            'b'
        }));
    let s = source.sample(Duration::MAX);
    let out = without_hanging(s.collect::<Vec<_>>()).await;
    assert_eq!(out, ['b']);
    assert_eq!(Instant::now(), start + ms(10_005));
}

// Buffered items and timer sets.

#[tokio::test(start_paused = true)]
async fn many_items_buffered_at_once_give_one_emission_and_one_timer_set() {
    let start = Instant::now();
    let (feed, source) = fed();
    for n in 0..10_000 {
        feed.push(n);
    }
    let mut s = StreamProbe::new(source.sample(ms(100)));
    assert_eq!(s.poll(), Poll::Pending);
    assert_eq!(feed.queued(), 0, "one poll took every item");
    advance_to(start, ms(100)).await;
    assert_eq!(s.wakes(), 1);
    assert_eq!(s.poll(), Poll::Ready(Some(9_999)));
    assert_eq!(s.poll(), Poll::Pending);
    assert_eq!(s.get_ref().timer_resets(), 1);
    advance_to(start, ms(1_000)).await;
    assert_eq!(s.wakes(), 1);
}

#[tokio::test(start_paused = true)]
async fn one_timer_set_per_emitting_tick() {
    let start = Instant::now();
    // 50 items in the first period, then one in the second, none for three, one in the sixth.
    let mut items: Vec<(u64, u64)> = (0..50).map(|t| (t * 2, t)).collect();
    items.push((150, 100));
    items.push((520, 200));
    let sampled = at_ms(start, items).sample(ms(100));
    let mut sampled = std::pin::pin!(sampled);
    assert_eq!(sampled.next().await, Some(49));
    assert_eq!(Instant::now(), start + ms(100));
    assert_eq!(sampled.timer_resets(), 1);
    assert_eq!(sampled.next().await, Some(100));
    assert_eq!(Instant::now(), start + ms(200));
    assert_eq!(sampled.timer_resets(), 2);
    assert_eq!(sampled.next().await, Some(200));
    assert_eq!(Instant::now(), start + ms(600));
    assert_eq!(sampled.timer_resets(), 3, "no set for the idle ticks");
}

// size_hint, Debug.

#[tokio::test(start_paused = true)]
async fn size_hint_and_debug() {
    let s = futures_util::stream::iter(0..5).sample(ms(100));
    assert_eq!(s.size_hint(), (0, Some(5)));
    assert_eq!(
        format!("{s:?}"),
        "Sample { period: 100ms, holding: false, tick: None, source_done: false, .. }"
    );
    let (feed, source) = fed::<u8>();
    let mut s = StreamProbe::new(source.sample(ms(100)));
    feed.push(1);
    assert_eq!(s.poll(), Poll::Pending);
    let text = format!("{:?}", s.get_ref());
    assert!(text.contains("holding: true, tick: Some("), "{text}");
    feed.end();
    assert_eq!(s.poll(), Poll::Ready(Some(1)));
    assert_eq!(s.get_ref().size_hint(), (0, Some(0)));
}

// A regression test: the tick was once capped at `start + 30 years`, so once the clock was
// 30 years past the first poll every tick lay in the past and each item was emitted at once
// (a 1-day sample stopped sampling). The cap is on the distance from now.
#[tokio::test(start_paused = true)]
async fn the_grid_holds_more_than_30_years_after_the_first_poll() {
    let start = Instant::now();
    let (feed, source) = fed();
    let day = Duration::from_secs(86_400);
    let mut s = StreamProbe::new(source.sample(day));
    assert_eq!(s.poll(), Poll::Pending);
    // 31 years (of 365 days) and an hour after the first poll; the next tick is a day on.
    advance_to(start, day * 365 * 31 + Duration::from_secs(3_600)).await;
    feed.push(1);
    assert_eq!(
        s.poll(),
        Poll::Pending,
        "the tick of day 11 316 is 23 hours away"
    );
    advance_to(start, day * (365 * 31 + 1)).await;
    assert_eq!(s.poll(), Poll::Ready(Some(1)));
}
