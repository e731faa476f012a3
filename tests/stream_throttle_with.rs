//! `throttle_with`: RxJS's `throttleTime` rules at exact instants, for each combination of
//! `leading` and `trailing`; the end of a throttle (an item ready at its poll belongs to it);
//! emissions a period apart, against a model and under a slow consumer; the end of the
//! source; extreme periods; wakeups and timer sets.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, in_ms, ms, record, scheduled, us};
use deadlines::stream::StreamDeadlineExt;
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// The docs' schedule.
fn docs_source(start: Instant) -> impl Stream<Item = char> {
    at_ms(
        start,
        vec![
            (0, 'a'),
            (30, 'b'),
            (60, 'c'),
            (150, 'd'),
            (170, 'e'),
            (350, 'f'),
        ],
    )
}

// The docs' timeline, for each combination.

#[tokio::test(start_paused = true)]
async fn timeline_leading_only_emits_the_first_item_of_each_period() {
    let start = Instant::now();
    let out = record(start, docs_source(start).throttle_with(ms(100)), ms(1_000)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (150, 'd'), (350, 'f')]);
}

#[tokio::test(start_paused = true)]
async fn timeline_leading_and_trailing() {
    let start = Instant::now();
    let throttled = docs_source(start).throttle_with(ms(100)).trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), [(0, 'a'), (100, 'c'), (200, 'e'), (350, 'f')]);
}

#[tokio::test(start_paused = true)]
async fn timeline_trailing_only() {
    let start = Instant::now();
    let throttled = docs_source(start)
        .throttle_with(ms(100))
        .leading(false)
        .trailing(true);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), [(100, 'c'), (200, 'e'), (450, 'f')]);
}

#[tokio::test(start_paused = true)]
async fn timeline_both_edges_off_emit_nothing() {
    let start = Instant::now();
    let throttled = docs_source(start).throttle_with(ms(100)).leading(false);
    let out = record(start, throttled, ms(1_000)).await;
    assert_eq!(in_ms(&out), []);
}

#[tokio::test(start_paused = true)]
async fn the_doc_example_of_scroll_events() {
    let start = Instant::now();
    let scrolls = futures_util::stream::unfold(0, |n| async move {
        (n < 10).then_some(())?;
        if n > 0 {
            tokio::time::sleep(ms(10)).await;
        }
        Some((n, n + 1))
    });
    let out = record(
        start,
        scrolls.throttle_with(ms(40)).trailing(true),
        ms(1_000),
    )
    .await;
    assert_eq!(in_ms(&out), [(0, 0), (40, 4), (80, 8), (90, 9)]);
    assert_eq!(
        out.ended,
        Some(ms(90)),
        "9 is emitted at the end, not at 120"
    );
}

// Each combination at exact instants, by hand.

#[tokio::test(start_paused = true)]
async fn leading_only_the_end_of_a_throttle_at_its_exact_instant() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)));
    feed.push('a');
    assert_eq!(t.poll(), Poll::Ready(Some('a')), "leading: at once");
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(50)).await;
    feed.push('b');
    assert_eq!(t.poll(), Poll::Pending, "throttled: dropped");
    advance_to(start, us(99_999)).await;
    feed.push('c');
    assert_eq!(t.poll(), Poll::Pending, "1 µs before the end: dropped");
    assert_eq!(t.wakes(), 2, "the pushes");
    advance_to(start, ms(100)).await;
    assert_eq!(t.wakes(), 3, "woken at the end, though nothing is held");
    assert_eq!(t.poll(), Poll::Pending, "b and c were not held");
    // The throttle ended at 100: the next item is a leading one, even at 100.
    feed.push('d');
    assert_eq!(t.poll(), Poll::Ready(Some('d')));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(199)).await;
    feed.push('e');
    assert_eq!(
        t.poll(),
        Poll::Pending,
        "within d's throttle, which ends at 200"
    );
    advance_to(start, ms(200)).await;
    assert_eq!(t.wakes(), 6);
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(201)).await;
    feed.push('f');
    assert_eq!(t.poll(), Poll::Ready(Some('f')), "1 ms after the end");
    assert_eq!(t.get_ref().timer_resets(), 2);
}

#[tokio::test(start_paused = true)]
async fn leading_only_an_item_ready_at_the_poll_of_the_end_belongs_to_the_throttle() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)));
    feed.push('a');
    assert_eq!(t.poll(), Poll::Ready(Some('a')));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    feed.push('b'); // ready when the poll that observes the end comes
    assert_eq!(
        t.poll(),
        Poll::Pending,
        "b belongs to the throttle: dropped"
    );
    feed.push('c');
    assert_eq!(t.poll(), Poll::Ready(Some('c')), "the throttle is over");
    advance_to(start, ms(200)).await;
    feed.push('d');
    assert_eq!(t.poll(), Poll::Pending, "c started a throttle at 100");
    advance_to(start, ms(300)).await;
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(301)).await;
    feed.push('e');
    assert_eq!(t.poll(), Poll::Ready(Some('e')));
}

#[tokio::test(start_paused = true)]
async fn leading_and_trailing_at_exact_instants() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)).trailing(true));
    feed.push('a');
    assert_eq!(t.poll(), Poll::Ready(Some('a')));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(30)).await;
    feed.push('b');
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(60)).await;
    feed.push('c');
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, us(99_999)).await;
    assert_eq!(t.poll(), Poll::Pending, "never before the end");
    advance_to(start, ms(100)).await;
    assert_eq!(t.poll(), Poll::Ready(Some('c')), "the latest, at the end");
    // c started a throttle at 100. An item at its exact end, ready at that poll, belongs to
    // it: it is its trailing item, emitted at 200, and starts a throttle to 300.
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    feed.push('d');
    assert_eq!(t.poll(), Poll::Ready(Some('d')));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(299)).await;
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(300)).await;
    assert_eq!(t.poll(), Poll::Pending, "nothing held: the throttle ends");
    // 1 ms after the end: a leading item.
    advance_to(start, ms(301)).await;
    feed.push('e');
    assert_eq!(t.poll(), Poll::Ready(Some('e')));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(401)).await;
    assert_eq!(t.poll(), Poll::Pending, "e alone: no trailing item");
    assert_eq!(t.get_ref().timer_resets(), 4);
}

#[tokio::test(start_paused = true)]
async fn trailing_only_at_exact_instants() {
    let start = Instant::now();
    let (feed, source) = fed();
    let throttled = source.throttle_with(ms(100)).leading(false).trailing(true);
    let mut t = StreamProbe::new(throttled);
    feed.push('a');
    assert_eq!(t.poll(), Poll::Pending, "held, not emitted");
    advance_to(start, ms(99)).await;
    assert_eq!(t.wakes(), 0);
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(t.wakes(), 1);
    assert_eq!(t.poll(), Poll::Ready(Some('a')));
    // a's emission started a throttle to 200; b, at its exact end, is its trailing item.
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    feed.push('b');
    assert_eq!(t.poll(), Poll::Ready(Some('b')));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(300)).await;
    assert_eq!(t.poll(), Poll::Pending, "the throttle from 200 ends empty");
    // 1 ms after the end: c starts a throttle of its own, and goes out at its end.
    advance_to(start, ms(301)).await;
    feed.push('c');
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(400)).await;
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(401)).await;
    assert_eq!(t.poll(), Poll::Ready(Some('c')));
}

#[tokio::test(start_paused = true)]
async fn trailing_only_the_item_that_starts_a_throttle_can_be_replaced() {
    let start = Instant::now();
    let (feed, source) = fed();
    let throttled = source.throttle_with(ms(100)).leading(false).trailing(true);
    let mut t = StreamProbe::new(throttled);
    feed.push(1);
    feed.push(2);
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(50)).await;
    feed.push(3);
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(t.poll(), Poll::Ready(Some(3)));
    assert_eq!(t.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn both_edges_off_still_throttle_and_never_emit() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)).leading(false));
    for at in [0, 50, 100, 150, 250] {
        advance_to(start, ms(at)).await;
        feed.push(at);
        assert_eq!(t.poll(), Poll::Pending, "{at}");
    }
    feed.end();
    assert_eq!(t.poll(), Poll::Ready(None), "nothing held at the end");
}

#[tokio::test(start_paused = true)]
async fn a_late_poll_restarts_the_throttle_from_the_poll() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)).trailing(true));
    feed.push('a');
    assert_eq!(t.poll(), Poll::Ready(Some('a')));
    feed.push('b');
    assert_eq!(t.poll(), Poll::Pending);
    // The throttle ends at 100, but the task is polled at 150 only.
    advance_to(start, ms(150)).await;
    assert_eq!(t.poll(), Poll::Ready(Some('b')), "the trailing edge, late");
    feed.push('c');
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    assert_eq!(t.poll(), Poll::Pending, "100 ms after b only at 250");
    advance_to(start, ms(249)).await;
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(250)).await;
    assert_eq!(t.poll(), Poll::Ready(Some('c')));
}

#[tokio::test(start_paused = true)]
async fn a_late_poll_counts_the_items_before_it_as_throttled() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)));
    feed.push('a');
    assert_eq!(t.poll(), Poll::Ready(Some('a')));
    assert_eq!(t.poll(), Poll::Pending);
    // The throttle ends at 100; the task is not polled until b is ready, at 120.
    advance_to(start, ms(120)).await;
    feed.push('b');
    assert_eq!(t.poll(), Poll::Pending, "b is judged inside a's throttle");
    feed.push('c');
    assert_eq!(t.poll(), Poll::Ready(Some('c')));
}

// Emissions a period apart.

/// A fixed pseudo-random schedule: `n` items at whole milliseconds, in order, several at
/// the same instant now and then, and gaps around the period.
fn schedule(seed: u64, n: u32, period: u64) -> Vec<(u64, u32)> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let gaps = [
        0,
        0,
        1,
        3,
        10,
        period - 1,
        period,
        period + 1,
        2 * period,
        7,
    ];
    let mut at = 0;
    (0..n)
        .map(|item| {
            at += gaps[(next() % gaps.len() as u64) as usize];
            (at, item)
        })
        .collect()
}

/// RxJS `throttleTime` at whole milliseconds: at each instant the items of that instant are
/// taken, then the end of the throttle is judged (again after a trailing emission: a zero
/// period ends at once).
fn model(items: &[(u64, u32)], period: u64, leading: bool, trailing: bool) -> Vec<(u64, u32)> {
    let horizon = items.last().map_or(0, |&(at, _)| at) + 3 * period + 1;
    let mut out = Vec::new();
    let (mut until, mut held) = (None::<u64>, None);
    let mut items = items.iter().peekable();
    for t in 0..=horizon {
        while let Some(&(_, item)) = items.next_if(|&&(at, _)| at == t) {
            if until.is_none() {
                until = Some(t + period);
                if leading {
                    out.push((t, item));
                    continue;
                }
            }
            if trailing {
                held = Some(item);
            }
        }
        while until.is_some_and(|end| end <= t) {
            match held.take() {
                Some(item) => {
                    out.push((t, item));
                    until = Some(t + period);
                }
                None => until = None,
            }
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_long_fixed_schedule_matches_the_model_for_every_combination() {
    for (seed, period) in [(1, 100), (2, 37), (3, 1), (4, 250)] {
        let items = schedule(seed, 400, period);
        let horizon = items.last().unwrap().0 + 3 * period + 1;
        for (leading, trailing) in [(true, false), (true, true), (false, true), (false, false)] {
            let start = Instant::now();
            let throttled = at_ms(start, items.clone())
                .throttle_with(ms(period))
                .leading(leading)
                .trailing(trailing);
            let out = in_ms(&record(start, throttled, ms(horizon)).await);
            let expected = model(&items, period, leading, trailing);
            assert_eq!(
                out, expected,
                "seed {seed}, period {period}, leading {leading}, trailing {trailing}"
            );
            for pair in out.windows(2) {
                assert!(pair[1].0 - pair[0].0 >= period, "{pair:?}");
            }
            if leading || trailing {
                assert!(out.len() > 10, "the schedule exercises the throttle");
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn emissions_are_a_period_apart_under_a_slow_consumer_and_sub_millisecond_items() {
    for (leading, trailing) in [(true, false), (true, true), (false, true)] {
        let mut state = 7u64;
        let mut next = move |m: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % m
        };
        let start = Instant::now();
        let mut at = 0;
        let items: Vec<(Duration, u64)> = (0..2_000)
            .map(|n| {
                at += next(20_000); // up to 20 ms, to the microsecond
                (us(at), n)
            })
            .collect();
        let delays: Vec<u64> = (0..2_000).map(|_| next(250_000)).collect();
        let throttled = scheduled(start, items)
            .throttle_with(ms(100))
            .leading(leading)
            .trailing(trailing);
        let mut throttled = std::pin::pin!(throttled);
        let mut emitted = Vec::new();
        for delay in delays {
            // The source's items span about 20 s, then it stays pending.
            let next = tokio::time::timeout(ms(1_000), throttled.next());
            let Ok(Some(item)) = next.await else {
                break;
            };
            emitted.push((Instant::now(), item));
            // The consumer is busy for up to 250 ms: the adapter is polled late.
            tokio::time::sleep(us(delay)).await;
        }
        let len = emitted.len();
        assert!(len > 50, "leading {leading}, trailing {trailing}: {len}");
        for pair in emitted.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!(
                gap >= ms(100),
                "leading {leading}, trailing {trailing}: {gap:?} between {:?} and {:?}",
                pair[0].1,
                pair[1].1
            );
        }
        assert!(emitted.windows(2).all(|pair| pair[0].1 < pair[1].1));
    }
}

// The end of the source.

#[tokio::test(start_paused = true)]
async fn with_trailing_the_source_ending_emits_the_held_item_at_once() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)).trailing(true));
    feed.push('a');
    assert_eq!(t.poll(), Poll::Ready(Some('a')));
    advance_to(start, ms(30)).await;
    feed.push('b');
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(40)).await;
    feed.end();
    assert_eq!(
        t.poll(),
        Poll::Ready(Some('b')),
        "at 40, not at the throttle's end"
    );
    assert!(t.get_ref().is_terminated());
    assert_eq!(t.poll(), Poll::Ready(None));
    assert_eq!(Instant::now(), start + ms(40));
}

#[tokio::test(start_paused = true)]
async fn the_source_ending_with_nothing_held_ends_the_stream_at_once() {
    // Leading only: the items during the throttle were dropped.
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)));
    feed.push(1);
    feed.push(2);
    feed.end();
    assert_eq!(t.poll(), Poll::Ready(Some(1)));
    assert_eq!(t.poll(), Poll::Ready(None));

    // Trailing, throttled, but nothing came after the leading item.
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)).trailing(true));
    feed.push(1);
    assert_eq!(t.poll(), Poll::Ready(Some(1)));
    assert_eq!(t.poll(), Poll::Pending);
    feed.end();
    assert_eq!(t.poll(), Poll::Ready(None));

    // Trailing only: the item that started the throttle is held.
    let all: Vec<_> = futures_util::stream::iter([1, 2, 3])
        .throttle_with(ms(100))
        .leading(false)
        .trailing(true)
        .collect()
        .await;
    assert_eq!(all, [3]);
    let empty = futures_util::stream::iter(Vec::<u8>::new()).throttle_with(ms(100));
    assert_eq!(empty.collect::<Vec<_>>().await, []);
}

#[tokio::test(start_paused = true)]
async fn polled_after_the_end_it_returns_none_and_never_polls_the_source_again() {
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)).trailing(true));
    feed.push(1);
    feed.push(2);
    feed.end();
    assert_eq!(t.poll(), Poll::Ready(Some(1)));
    assert_eq!(t.poll(), Poll::Ready(Some(2)));
    assert_eq!(t.poll(), Poll::Ready(None)); // `fed` panics if polled after its `None`
    let polls = feed.polls();
    for _ in 0..3 {
        assert_eq!(t.poll(), Poll::Ready(None));
    }
    tokio::time::advance(ms(1_000)).await;
    assert_eq!(t.poll(), Poll::Ready(None));
    assert_eq!(feed.polls(), polls);
}

// Extreme periods.

#[tokio::test(start_paused = true)]
async fn a_zero_period_throttles_within_one_poll_only() {
    let source = |start| {
        futures_util::stream::iter(['a', 'b', 'c']).chain(at_ms(start, vec![(5, 'd'), (5, 'e')]))
    };
    let cases = [
        (true, false, vec![(0, 'a'), (5, 'd')]),
        (true, true, vec![(0, 'a'), (0, 'c'), (5, 'd'), (5, 'e')]),
        (false, true, vec![(0, 'c'), (5, 'e')]),
        (false, false, vec![]),
    ];
    for (leading, trailing, expected) in cases {
        let start = Instant::now();
        let throttled = source(start)
            .throttle_with(Duration::ZERO)
            .leading(leading)
            .trailing(trailing);
        let mut throttled = std::pin::pin!(throttled);
        let out = record(start, throttled.as_mut(), ms(100)).await;
        assert_eq!(
            in_ms(&out),
            expected,
            "leading {leading}, trailing {trailing}"
        );
        assert_eq!(throttled.timer_resets(), 0, "a zero period needs no timer");
    }
}

#[tokio::test(start_paused = true)]
async fn duration_max_throttles_for_ever_and_the_end_still_emits() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(Duration::MAX).trailing(true));
    feed.push(1);
    assert_eq!(t.poll(), Poll::Ready(Some(1)));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    feed.push(2);
    assert_eq!(t.poll(), Poll::Pending);
    assert_eq!(t.wakes(), 1, "only the push");
    feed.push(3);
    feed.end();
    assert_eq!(t.poll(), Poll::Ready(Some(3)));
    assert_eq!(t.poll(), Poll::Ready(None));

    // Leading only: the rest is dropped, and the end comes at once.
    let start = Instant::now();
    let source = futures_util::stream::iter([1, 2]).chain(at_ms(start, vec![(10_000, 3)]));
    let out = record(
        start,
        source.take(3).throttle_with(Duration::MAX),
        ms(20_000),
    )
    .await;
    assert_eq!(in_ms(&out), [(0, 1)]);
    assert_eq!(out.ended, Some(ms(10_000)));
}

// Wakeups and timer sets.

#[tokio::test(start_paused = true)]
async fn one_timer_set_per_throttle_and_no_wakeup_once_idle() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)).trailing(true));
    // A buffered burst: one throttle, one timer set.
    for n in 0..10_000 {
        feed.push(n);
    }
    assert_eq!(t.poll(), Poll::Ready(Some(0)));
    assert_eq!(t.poll(), Poll::Pending);
    assert_eq!(feed.queued(), 0);
    advance_to(start, ms(100)).await;
    assert_eq!(t.wakes(), 1);
    assert_eq!(t.poll(), Poll::Ready(Some(9_999)));
    assert_eq!(t.get_ref().timer_resets(), 1);
    // 9 999 started a throttle to 200, which ends empty: one more set, one wakeup.
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    assert_eq!(t.wakes(), 2);
    assert_eq!(t.poll(), Poll::Pending);
    assert_eq!(t.get_ref().timer_resets(), 2);
    advance_to(start, ms(10_000)).await;
    assert_eq!(t.wakes(), 2, "idle: no wakeup");
    // Items within one throttle cost no set.
    for at in [10_000, 10_010, 10_050, 10_099] {
        advance_to(start, ms(at)).await;
        feed.push(at);
        let _ = t.poll();
    }
    assert_eq!(t.get_ref().timer_resets(), 3);
}

// size_hint, Debug.

#[tokio::test(start_paused = true)]
async fn size_hint_and_debug() {
    let t = futures_util::stream::iter(0..5).throttle_with(ms(100));
    assert_eq!(t.size_hint(), (0, Some(5)));
    assert_eq!(
        format!("{t:?}"),
        "ThrottleWith { period: 100ms, leading: true, trailing: false, until: None, \
         holding: false, source_done: false, .. }"
    );
    let (feed, source) = fed::<u8>();
    let mut t = StreamProbe::new(source.throttle_with(ms(100)).trailing(true));
    feed.push(1);
    feed.push(2);
    assert_eq!(t.poll(), Poll::Ready(Some(1)));
    assert_eq!(t.poll(), Poll::Pending);
    let text = format!("{:?}", t.get_ref());
    assert!(text.contains("until: Some("), "{text}");
    assert!(text.contains("holding: true"), "{text}");
}
