//! `debounce_batch`: the timelines of the docs at their exact instants, and the edges.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, flooded, in_ms, ms, record};
use deadlines::stream::StreamDeadlineExt;
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

fn burst_then_single(start: Instant) -> impl Stream<Item = char> {
    at_ms(start, vec![(0, 'a'), (30, 'b'), (60, 'c'), (300, 'd')])
}

fn every_30_ms(start: Instant) -> impl Stream<Item = u64> {
    at_ms(start, (0..=330).step_by(30).map(|t| (t, t)).collect())
}

#[tokio::test(start_paused = true)]
async fn timeline_each_settled_burst_is_one_batch() {
    let start = Instant::now();
    let out = record(
        start,
        burst_then_single(start).debounce_batch(ms(100)),
        ms(450),
    )
    .await;
    assert_eq!(in_ms(&out), [(160, vec!['a', 'b', 'c']), (400, vec!['d'])]);
}

#[tokio::test(start_paused = true)]
async fn timeline_leading_yields_the_first_item_alone_then_the_rest() {
    let start = Instant::now();
    let batches = burst_then_single(start)
        .debounce_batch(ms(100))
        .leading(true);
    let out = record(start, batches, ms(450)).await;
    assert_eq!(
        in_ms(&out),
        [(0, vec!['a']), (160, vec!['b', 'c']), (300, vec!['d'])]
    );
}

#[tokio::test(start_paused = true)]
async fn timeline_max_wait_cuts_continuous_input_into_batches() {
    let start = Instant::now();
    let batches = every_30_ms(start).debounce_batch(ms(100)).max_wait(ms(200));
    let out = record(start, batches, ms(450)).await;
    assert_eq!(
        in_ms(&out),
        [
            (200, (0..=180).step_by(30).collect::<Vec<_>>()),
            (400, (210..=330).step_by(30).collect::<Vec<_>>()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_buffered_burst_of_ten_thousand_items_is_one_batch_one_window_after_the_last() {
    let start = Instant::now();
    let (feed, source) = fed();
    for n in 0..10_000 {
        feed.push(n);
    }
    let mut b = StreamProbe::new(source.debounce_batch(ms(100)));
    assert_eq!(b.poll(), Poll::Pending);
    assert_eq!(feed.queued(), 0);
    advance_to(start, ms(99)).await;
    assert_eq!(b.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(b.wakes(), 1);
    assert_eq!(b.poll(), Poll::Ready(Some((0..10_000).collect())));
    assert_eq!(b.get_ref().timer_resets(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_source_ending_yields_the_held_batch_at_once_and_then_none_forever() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut b = StreamProbe::new(source.debounce_batch(ms(100)));
    feed.push(1);
    assert_eq!(b.poll(), Poll::Pending);
    advance_to(start, ms(30)).await;
    feed.push(2);
    feed.end();
    assert_eq!(b.poll(), Poll::Ready(Some(vec![1, 2])));
    assert!(b.get_ref().is_terminated());
    let polls = feed.polls();
    for _ in 0..3 {
        assert_eq!(b.poll(), Poll::Ready(None));
    }
    assert_eq!(
        feed.polls(),
        polls,
        "the source is not polled after its end"
    );
    assert_eq!(Instant::now(), start + ms(30));
}

#[tokio::test(start_paused = true)]
async fn an_empty_source_yields_no_empty_batch() {
    let batches = futures_util::stream::iter(Vec::<u8>::new()).debounce_batch(ms(100));
    assert_eq!(batches.collect::<Vec<_>>().await, Vec::<Vec<u8>>::new());
}

#[tokio::test(start_paused = true)]
async fn zero_window_batches_what_each_poll_finds_ready() {
    let start = Instant::now();
    let source = futures_util::stream::iter([1, 2, 3]).chain(at_ms(start, vec![(50, 4)]));
    let out = record(start, source.debounce_batch(Duration::ZERO), ms(100)).await;
    assert_eq!(in_ms(&out), [(0, vec![1, 2, 3]), (50, vec![4])]);
}

#[tokio::test(start_paused = true)]
async fn a_source_that_uses_up_the_coop_budget_cannot_starve_the_window() {
    let start = Instant::now();
    let (feed, items) = fed();
    let mut b = StreamProbe::new(flooded(items).debounce_batch(ms(100)));
    feed.push('a');
    feed.push('b');
    let mut emitted = Vec::new();
    for t in 0..=150 {
        advance_to(start, ms(t)).await;
        if let Poll::Ready(batch) = b.poll() {
            emitted.push((t, batch));
        }
    }
    assert_eq!(emitted, [(100, Some(vec!['a', 'b']))]);
}

#[tokio::test(start_paused = true)]
async fn size_hint_and_debug() {
    let b = futures_util::stream::iter(0..5).debounce_batch(ms(100));
    assert_eq!(b.size_hint(), (0, Some(5)));
    let text = format!("{b:?}");
    assert!(
        text.starts_with(
            "DebounceBatch { window: 100ms, max_wait: None, leading: false, held: 0, deadline: None"
        ),
        "{text}"
    );
    let mut b = std::pin::pin!(b);
    assert_eq!(b.next().await, Some(vec![0, 1, 2, 3, 4]));
    assert_eq!(b.size_hint(), (0, Some(0)));
}
