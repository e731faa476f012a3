//! `keepalive`: its timeline at the exact instants, and the edges.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, flooded, in_ms, ms, record};
use deadlines::stream::KeepaliveItem::{self, Injected, Source};
use deadlines::stream::StreamDeadlineExt;
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn timeline_a_ping_after_each_silent_period() {
    let start = Instant::now();
    let source = at_ms(start, vec![(30, 'a'), (60, 'b'), (300, 'c')]);
    let out = record(start, source.keepalive(ms(100), || 'p'), ms(500)).await;
    assert_eq!(
        in_ms(&out),
        [
            (30, Source('a')),
            (60, Source('b')),
            (160, Injected('p')),
            (260, Injected('p')),
            (300, Source('c')),
            (400, Injected('p')),
            (500, Injected('p'))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_first_ping_comes_a_full_period_after_the_first_poll() {
    let start = Instant::now();
    let (_feed, source) = fed();
    let mut k = StreamProbe::new(source.keepalive(ms(100), || 'p'));
    advance_to(start, ms(1_000)).await; // built long before it is polled
    assert_eq!(k.poll(), Poll::Pending);
    advance_to(start, ms(1_099)).await;
    assert_eq!(k.wakes(), 0);
    assert_eq!(k.poll(), Poll::Pending);
    advance_to(start, ms(1_100)).await;
    assert_eq!(k.wakes(), 1);
    assert_eq!(k.poll(), Poll::Ready(Some(Injected('p'))));
    assert_eq!(k.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn a_late_poll_restarts_the_period_from_the_ping_it_yields() {
    let start = Instant::now();
    let (_feed, source) = fed();
    let mut k = StreamProbe::new(source.keepalive(ms(100), || 'p'));
    assert_eq!(k.poll(), Poll::Pending);
    advance_to(start, ms(250)).await; // the consumer was busy: one ping, not two
    assert_eq!(k.poll(), Poll::Ready(Some(Injected('p'))));
    assert_eq!(k.poll(), Poll::Pending);
    advance_to(start, ms(349)).await;
    assert_eq!(k.poll(), Poll::Pending);
    advance_to(start, ms(350)).await;
    assert_eq!(k.poll(), Poll::Ready(Some(Injected('p'))));
}

#[tokio::test(start_paused = true)]
async fn an_item_ready_when_the_period_ends_is_sent_instead_of_a_ping() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut k = StreamProbe::new(source.keepalive(ms(100), || 'p'));
    assert_eq!(k.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    feed.push('x');
    assert_eq!(k.poll(), Poll::Ready(Some(Source('x'))));
    assert_eq!(k.poll(), Poll::Pending);
    advance_to(start, ms(200)).await;
    assert_eq!(k.poll(), Poll::Ready(Some(Injected('p'))));
}

#[tokio::test(start_paused = true)]
async fn steady_traffic_injects_nothing_and_resets_the_timer_at_most_once_a_period() {
    let start = Instant::now();
    let source = at_ms(start, (1..=100).map(|n| (n * 10, 'x')).collect());
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let k = source.keepalive(ms(100), || {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        'p'
    });
    let mut k = std::pin::pin!(k);
    for _ in 0..100 {
        assert_eq!(k.next().await, Some(Source('x')));
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(k.next().await, Some(Injected('p')));
    assert_eq!(Instant::now(), start + ms(1_100));
    let resets = k.timer_resets();
    assert!(resets <= 11, "{resets} timer resets for 11 periods");
}

#[tokio::test(start_paused = true)]
async fn a_zero_period_is_raised_to_a_millisecond() {
    let start = Instant::now();
    let source = futures_util::stream::pending::<char>();
    let out = record(start, source.keepalive(Duration::ZERO, || 'p'), ms(5)).await;
    assert_eq!(in_ms(&out), [1, 2, 3, 4, 5].map(|at| (at, Injected('p'))));
}

#[tokio::test(start_paused = true)]
async fn max_period_never_injects() {
    let start = Instant::now();
    let (_feed, source) = fed::<char>();
    let mut k = StreamProbe::new(source.keepalive(Duration::MAX, || 'p'));
    assert_eq!(k.poll(), Poll::Pending);
    advance_to(start, Duration::from_secs(86_400 * 365)).await;
    assert_eq!(k.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn a_source_that_uses_up_the_coop_budget_cannot_starve_the_period() {
    let start = Instant::now();
    let (_feed, items) = fed::<char>();
    let mut k = StreamProbe::new(flooded(items).keepalive(ms(100), || 'p'));
    let mut pings = Vec::new();
    for at in 0..=250 {
        advance_to(start, ms(at)).await;
        if let Poll::Ready(item) = k.poll() {
            pings.push((at, item));
        }
    }
    assert_eq!(
        pings,
        [(100, Some(Injected('p'))), (200, Some(Injected('p')))]
    );
}

#[tokio::test(start_paused = true)]
async fn polled_after_the_end_it_returns_none_and_never_polls_the_source_again() {
    let (feed, source) = fed();
    let mut k = StreamProbe::new(source.keepalive(ms(100), || 'p'));
    feed.push('x');
    feed.end();
    assert_eq!(k.poll(), Poll::Ready(Some(Source('x'))));
    assert_eq!(k.poll(), Poll::Ready(None));
    assert!(k.get_ref().is_terminated());
    let polls = feed.polls();
    tokio::time::advance(ms(1_000)).await;
    for _ in 0..3 {
        assert_eq!(k.poll(), Poll::Ready(None), "no ping after the end");
    }
    assert_eq!(feed.polls(), polls);
}

#[tokio::test(start_paused = true)]
async fn size_hint_and_debug() {
    let k = futures_util::stream::iter([1, 2]).keepalive(ms(100), || 0);
    assert_eq!(k.size_hint(), (2, None));
    let text = format!("{k:?}");
    assert!(
        text.starts_with("Keepalive { period: 100ms, deadline: None"),
        "{text}"
    );
    let mut k = std::pin::pin!(k);
    assert_eq!(k.next().await, Some(Source(1)));
    assert_eq!(k.next().await, Some(Source(2)));
    assert_eq!(k.next().await, None);
    assert_eq!(k.size_hint(), (0, Some(0)));
}

#[tokio::test(start_paused = true)]
async fn injected_items_are_marked_injected_and_the_sources_are_marked_source() {
    // The source sends the very value the adapter injects: only the marker tells them apart.
    let start = Instant::now();
    let source = at_ms(start, vec![(30, ':'), (250, ':'), (260, 'x')]);
    let out = record(start, source.keepalive(ms(100), || ':'), ms(400)).await;
    assert_eq!(
        in_ms(&out),
        [
            (30, Source(':')),
            (130, Injected(':')),
            (230, Injected(':')),
            (250, Source(':')),
            (260, Source('x')),
            (360, Injected(':')),
        ]
    );
    let injected: Vec<u64> = in_ms(&out)
        .into_iter()
        .filter(|(_, item)| item.is_injected())
        .map(|(at, _)| at)
        .collect();
    assert_eq!(injected, [130, 230, 360]);
    let lines: Vec<char> = out
        .items
        .iter()
        .map(|(_, item)| *item.get())
        .chain(out.items.iter().map(|(_, item)| item.into_inner()))
        .collect();
    assert_eq!(lines, [':', ':', ':', ':', 'x', ':'].repeat(2));
    let copied: KeepaliveItem<char> = out.items[0].1;
    assert_eq!(format!("{copied:?}"), "Source(':')");
    assert_eq!(format!("{:?}", out.items[1].1), "Injected(':')");
}
