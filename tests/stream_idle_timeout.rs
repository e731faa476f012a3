//! `idle_timeout`: its timeline at the exact instants, one `Err` per silent gap, and the edges.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, flooded, in_ms, ms, record, us};
use deadlines::stream::{Elapsed, StreamDeadlineExt};
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// A yielded item as text: the item, or `E` for `Err(Elapsed)`.
fn shown(item: Result<char, Elapsed>) -> char {
    item.unwrap_or('E')
}

#[tokio::test(start_paused = true)]
async fn timeline_one_err_per_silent_gap() {
    let start = Instant::now();
    let source = at_ms(start, vec![(30, 'a'), (60, 'b'), (300, 'c')]);
    let out = record(start, source.idle_timeout(ms(100)).map(shown), ms(500)).await;
    assert_eq!(
        in_ms(&out),
        [(30, 'a'), (60, 'b'), (160, 'E'), (300, 'c'), (400, 'E')]
    );
}

#[tokio::test(start_paused = true)]
async fn the_first_window_starts_at_the_first_poll() {
    let start = Instant::now();
    let (_feed, source) = fed::<char>();
    let mut t = StreamProbe::new(source.idle_timeout(ms(100)));
    advance_to(start, ms(1_000)).await; // built long before it is polled
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(1_099)).await;
    assert_eq!(t.wakes(), 0);
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(1_100)).await;
    assert_eq!(t.wakes(), 1);
    assert!(matches!(t.poll(), Poll::Ready(Some(Err(Elapsed { .. })))));
}

#[tokio::test(start_paused = true)]
async fn a_long_silence_yields_one_err_and_the_next_item_starts_a_new_window() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.idle_timeout(ms(100)));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert!(matches!(t.poll(), Poll::Ready(Some(Err(_)))));
    for later in [200, 1_000, 60_000] {
        advance_to(start, ms(later)).await;
        assert_eq!(t.poll(), Poll::Pending, "one Err per gap");
    }
    assert_eq!(t.wakes(), 1, "nothing wakes the task after the Err");

    feed.push('x');
    assert_eq!(t.poll(), Poll::Ready(Some(Ok('x'))));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(60_099)).await;
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(60_100)).await;
    assert!(matches!(t.poll(), Poll::Ready(Some(Err(_)))));
}

#[tokio::test(start_paused = true)]
async fn an_item_ready_when_the_window_is_judged_wins() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.idle_timeout(ms(100)));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    feed.push('x'); // in the millisecond of the expiry, before the poll
    assert_eq!(t.poll(), Poll::Ready(Some(Ok('x'))));
    assert_eq!(t.poll(), Poll::Pending, "the window restarted at 100");
    advance_to(start, ms(199)).await;
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    assert!(matches!(t.poll(), Poll::Ready(Some(Err(_)))));
}

#[tokio::test(start_paused = true)]
async fn steady_items_push_the_window_with_at_most_one_timer_reset_a_window() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.idle_timeout(ms(100)));
    assert_eq!(t.poll(), Poll::Pending);
    for ms_ in (10..=1_000).step_by(10) {
        advance_to(start, ms(ms_)).await;
        feed.push(ms_);
        assert_eq!(t.poll(), Poll::Ready(Some(Ok(ms_))));
        assert_eq!(t.poll(), Poll::Pending);
    }
    advance_to(start, ms(1_099)).await;
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, ms(1_100)).await;
    assert!(matches!(t.poll(), Poll::Ready(Some(Err(_)))));
    let resets = t.get_ref().timer_resets();
    assert!(resets <= 11, "{resets} timer resets for 11 windows");
}

#[tokio::test(start_paused = true)]
async fn a_sub_millisecond_deadline_is_seen_by_a_poll_or_by_the_timer_a_millisecond_up() {
    let start = Instant::now();
    let (_feed, source) = fed::<u8>();
    advance_to(start, us(500)).await;
    let mut t = StreamProbe::new(source.idle_timeout(ms(1)));
    assert_eq!(t.poll(), Poll::Pending); // the window ends at 1.5 ms
    advance_to(start, us(1_999)).await;
    assert_eq!(t.wakes(), 0, "the timer rounds 1.5 ms up to 2 ms");
    advance_to(start, ms(2)).await;
    assert_eq!(t.wakes(), 1);
    assert!(matches!(t.poll(), Poll::Ready(Some(Err(_)))));
}

#[tokio::test(start_paused = true)]
async fn zero_timeout_yields_an_err_at_each_silent_poll_after_an_item() {
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.idle_timeout(Duration::ZERO));
    assert!(matches!(t.poll(), Poll::Ready(Some(Err(_)))));
    assert_eq!(t.poll(), Poll::Pending);
    feed.push(1);
    assert_eq!(t.poll(), Poll::Ready(Some(Ok(1))));
    assert!(matches!(t.poll(), Poll::Ready(Some(Err(_)))));
    assert_eq!(t.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn max_timeout_never_elapses() {
    let start = Instant::now();
    let (_feed, source) = fed::<u8>();
    let mut t = StreamProbe::new(source.idle_timeout(Duration::MAX));
    assert_eq!(t.poll(), Poll::Pending);
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert_eq!(t.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn a_source_that_uses_up_the_coop_budget_cannot_starve_the_timeout() {
    let start = Instant::now();
    let (_feed, items) = fed::<char>();
    let mut t = StreamProbe::new(flooded(items).idle_timeout(ms(100)));
    let mut errs = Vec::new();
    for at in 0..=250 {
        advance_to(start, ms(at)).await;
        if let Poll::Ready(item) = t.poll() {
            errs.push((
                at,
                item.map(|item| item.map(|_| ()).map_err(|e| e.to_string())),
            ));
        }
    }
    assert_eq!(
        errs,
        [(100, Some(Err("stream idle timeout elapsed".to_string())))]
    );
}

fn elapsed() -> Elapsed {
    // `Elapsed` has no public constructor: take one from a stream.
    let rt = common::paused_runtime();
    rt.block_on(async {
        let silent = futures_util::stream::pending::<char>().idle_timeout(Duration::ZERO);
        let mut silent = std::pin::pin!(silent);
        silent.next().await.unwrap().unwrap_err()
    })
}

#[tokio::test(start_paused = true)]
async fn polled_after_the_end_it_returns_none_and_never_polls_the_source_again() {
    let (feed, source) = fed();
    let mut t = StreamProbe::new(source.idle_timeout(ms(100)));
    feed.push(1);
    feed.end();
    assert_eq!(t.poll(), Poll::Ready(Some(Ok(1))));
    assert!(!t.get_ref().is_terminated());
    assert_eq!(t.poll(), Poll::Ready(None));
    assert!(t.get_ref().is_terminated());
    let polls = feed.polls();
    tokio::time::advance(ms(1_000)).await;
    for _ in 0..3 {
        assert_eq!(t.poll(), Poll::Ready(None), "no Err after the end");
    }
    assert_eq!(feed.polls(), polls);
}

#[test]
fn elapsed_is_a_small_lowercase_error_that_converts_to_io() {
    let e = elapsed();
    assert_eq!(e.to_string(), "stream idle timeout elapsed");
    assert_eq!(format!("{e:?}"), "Elapsed(())");
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(io.to_string(), "stream idle timeout elapsed");
    assert!(
        io.get_ref()
            .is_some_and(|inner| inner.downcast_ref::<Elapsed>().is_some())
    );
}

#[tokio::test(start_paused = true)]
async fn size_hint_counts_at_most_one_err_per_gap() {
    let t = futures_util::stream::iter([1, 2, 3]).idle_timeout(ms(100));
    assert_eq!(t.size_hint(), (3, Some(7)));
    let text = format!("{t:?}");
    assert!(
        text.starts_with("IdleTimeout { timeout: 100ms, deadline: None"),
        "{text}"
    );
    let mut t = std::pin::pin!(t);
    while t.next().await.is_some() {}
    assert_eq!(t.size_hint(), (0, Some(0)));
}
