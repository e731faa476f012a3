//! `debounce_by_key` and `debounce_batch_by_key`: every option per key at exact instants,
//! interleaved keys, 10^5 keys settling in one millisecond, the end-of-source flush of every
//! key, memory returned when keys settle, and the keyed `flush`/`cancel`.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, in_ms, ms, record, us};
use deadlines::stream::StreamDeadlineExt;
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// Items `(key, n)`, keyed by `key`.
type Item = (char, u32);

fn key(item: &Item) -> char {
    item.0
}

/// Two interleaved bursts: key a at 0, 40, 80; key b at 20, 60; then b alone at 300.
fn interleaved(start: Instant) -> impl Stream<Item = Item> {
    at_ms(
        start,
        vec![
            (0, ('a', 1)),
            (20, ('b', 1)),
            (40, ('a', 2)),
            (60, ('b', 2)),
            (80, ('a', 3)),
            (300, ('b', 3)),
        ],
    )
}

// Each option, per key: the timelines of `debounce`, for two keys at once.

#[tokio::test(start_paused = true)]
async fn trailing_emits_each_keys_latest_item_a_window_after_that_keys_last_item() {
    let start = Instant::now();
    let settled = interleaved(start).debounce_by_key(ms(100), key);
    let out = record(start, settled, ms(500)).await;
    assert_eq!(
        in_ms(&out),
        [(160, ('b', 2)), (180, ('a', 3)), (400, ('b', 3))]
    );
}

#[tokio::test(start_paused = true)]
async fn leading_and_trailing_per_key() {
    let start = Instant::now();
    let settled = interleaved(start)
        .debounce_by_key(ms(100), key)
        .leading(true);
    let out = record(start, settled, ms(500)).await;
    assert_eq!(
        in_ms(&out),
        [
            (0, ('a', 1)),
            (20, ('b', 1)),
            (160, ('b', 2)),
            (180, ('a', 3)),
            // A burst of one: its leading item only.
            (300, ('b', 3)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn leading_only_per_key() {
    let start = Instant::now();
    let settled = interleaved(start)
        .debounce_by_key(ms(100), key)
        .leading(true)
        .trailing(false);
    let out = record(start, settled, ms(500)).await;
    assert_eq!(
        in_ms(&out),
        [(0, ('a', 1)), (20, ('b', 1)), (300, ('b', 3))]
    );
}

#[tokio::test(start_paused = true)]
async fn both_edges_off_emit_nothing_and_forget_every_key() {
    let start = Instant::now();
    let settled = interleaved(start)
        .debounce_by_key(ms(100), key)
        .trailing(false);
    let mut settled = std::pin::pin!(settled);
    let out = record(start, settled.as_mut(), ms(500)).await;
    assert_eq!(in_ms(&out), []);
    assert_eq!(settled.tracked(), 0);
}

#[tokio::test(start_paused = true)]
async fn max_wait_per_key_emits_a_continuously_written_key_while_another_settles() {
    let start = Instant::now();
    // Key a every 30 ms from 0 to 330; key b once at 50.
    let mut items: Vec<(u64, Item)> = (0..=330)
        .step_by(30)
        .map(|t| (t, ('a', t as u32)))
        .collect();
    items.push((50, ('b', 50)));
    items.sort_by_key(|&(t, _)| t);
    let settled = at_ms(start, items)
        .debounce_by_key(ms(100), key)
        .max_wait(ms(200));
    let out = record(start, settled, ms(500)).await;
    assert_eq!(
        in_ms(&out),
        [
            // b settles on its own, in the middle of a's burst.
            (150, ('b', 50)),
            // a's max_wait, from its first item, then from that emission.
            (200, ('a', 180)),
            (400, ('a', 330)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn leading_with_max_wait_per_key() {
    let start = Instant::now();
    let items: Vec<(u64, Item)> = (0..=330)
        .step_by(30)
        .map(|t| (t, ('a', t as u32)))
        .collect();
    let settled = at_ms(start, items)
        .debounce_by_key(ms(100), key)
        .leading(true)
        .max_wait(ms(200));
    let out = record(start, settled, ms(500)).await;
    // The timeline of `debounce(100).leading(true).max_wait(200)`.
    assert_eq!(
        in_ms(&out),
        [(0, ('a', 0)), (200, ('a', 180)), (400, ('a', 330))]
    );
}

#[tokio::test(start_paused = true)]
async fn a_key_emits_on_time_while_other_keys_keep_bursting() {
    let start = Instant::now();
    // Keys b..=z write every 10 ms for a second; key a writes once, at 5 ms.
    let mut items: Vec<(u64, Item)> = Vec::new();
    for t in (0..1_000).step_by(10) {
        for k in 'b'..='z' {
            items.push((t, (k, t as u32)));
        }
    }
    items.push((5, ('a', 5)));
    items.sort_by_key(|&(t, _)| t);
    let settled = at_ms(start, items).debounce_by_key(ms(50), key);
    let out = record(start, settled, ms(1_000)).await;
    assert_eq!(in_ms(&out), [(55, ('a', 5))]);
}

#[tokio::test(start_paused = true)]
async fn keys_that_settle_at_one_instant_come_out_in_the_order_their_windows_started() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key));
    for item in [('c', 1), ('a', 1), ('b', 1), ('a', 2)] {
        feed.push(item);
    }
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(settled.wakes(), 1);
    let out: Vec<_> = std::iter::from_fn(|| match settled.poll() {
        Poll::Ready(item) => item,
        Poll::Pending => None,
    })
    .collect();
    assert_eq!(out, [('c', 1), ('a', 2), ('b', 1)]);
}

#[tokio::test(start_paused = true)]
async fn keys_due_together_keep_the_order_they_were_first_seen_when_slots_are_reused() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key));
    feed.push(('a', 1));
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(50)).await;
    feed.push(('b', 1));
    assert_eq!(settled.poll(), Poll::Pending);
    // a settles and is forgotten: its room goes to the next new key.
    advance_to(start, ms(100)).await;
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 1))));
    assert_eq!(settled.poll(), Poll::Pending);
    // c takes a's room; b, seen before c, is due with it at 201.
    advance_to(start, ms(101)).await;
    feed.push(('c', 1));
    feed.push(('b', 2));
    assert_eq!(settled.poll(), Poll::Pending);
    // b's first check comes at 150 and queues it again, behind c in the heap's slot order.
    advance_to(start, ms(150)).await;
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(201)).await;
    assert_eq!(settled.poll(), Poll::Ready(Some(('b', 2))));
    assert_eq!(settled.poll(), Poll::Ready(Some(('c', 1))));
}

#[tokio::test(start_paused = true)]
async fn an_item_at_the_instant_a_keys_window_ends_joins_its_burst() {
    let start = Instant::now();
    let items = vec![(0, ('a', 1)), (100, ('a', 2)), (100, ('b', 1))];
    let settled = at_ms(start, items).debounce_by_key(ms(100), key);
    let out = record(start, settled, ms(400)).await;
    assert_eq!(in_ms(&out), [(200, ('a', 2)), (200, ('b', 1))]);
}

#[tokio::test(start_paused = true)]
async fn a_window_ends_at_its_millisecond_not_before() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(10), key));
    advance_to(start, us(500)).await;
    feed.push(('a', 1));
    assert_eq!(settled.poll(), Poll::Pending);
    // Due at 10.5 ms; Tokio's timer wakes at 11 ms, and a poll at 10.5 ms already emits.
    advance_to(start, us(10_499)).await;
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, us(10_500)).await;
    assert_eq!(settled.wakes(), 0, "the timer fires at 11 ms");
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 1))));
}

// 10^5 keys.

#[tokio::test(start_paused = true)]
async fn a_hundred_thousand_keys_settling_in_one_millisecond_cost_one_wake() {
    const KEYS: u32 = 100_000;
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), |&(_, n): &Item| n));
    // Every key written within one millisecond, in ten polls 100 µs apart.
    for poll in 0..10 {
        advance_to(start, us(poll * 100)).await;
        for n in (0..KEYS).filter(|n| u64::from(n % 10) == poll) {
            feed.push(('x', n));
        }
        assert_eq!(settled.poll(), Poll::Pending);
    }
    assert_eq!(settled.get_ref().tracked(), KEYS as usize);
    let wakes = settled.wakes();
    advance_to(start, ms(101)).await;
    assert_eq!(settled.wakes(), wakes + 1, "one wake for every key");
    // All of them in consecutive polls, in the order their windows started.
    let mut expected = (0..KEYS).collect::<Vec<_>>();
    expected.sort_by_key(|n| n % 10);
    for n in expected {
        assert_eq!(settled.poll(), Poll::Ready(Some(('x', n))));
    }
    assert_eq!(settled.poll(), Poll::Pending);
    assert_eq!(settled.wakes(), wakes + 1);
    assert_eq!(settled.get_ref().tracked(), 0, "every key forgotten");
    assert_eq!(settled.get_ref().timer_resets(), 1);
}

// The end of the source.

#[tokio::test(start_paused = true)]
async fn the_end_of_the_source_emits_every_pending_key_at_once_in_due_order() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key));
    feed.push(('a', 1));
    feed.push(('b', 1));
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(50)).await;
    feed.push(('c', 1));
    feed.push(('a', 2));
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(60)).await;
    feed.end();
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 2))));
    assert_eq!(settled.poll(), Poll::Ready(Some(('b', 1))));
    assert!(!settled.get_ref().is_terminated());
    assert_eq!(settled.poll(), Poll::Ready(Some(('c', 1))));
    assert!(settled.get_ref().is_terminated(), "nothing held any more");
    assert_eq!(settled.poll(), Poll::Ready(None));
    // Fused: the source (which panics if polled after its end) is never polled again.
    assert_eq!(settled.poll(), Poll::Ready(None));
    assert_eq!(Instant::now() - start, ms(60), "nothing waited");
}

#[tokio::test(start_paused = true)]
async fn the_end_of_the_source_with_trailing_off_emits_nothing_more() {
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(
        source
            .debounce_by_key(ms(100), key)
            .leading(true)
            .trailing(false),
    );
    feed.push(('a', 1));
    feed.push(('a', 2));
    feed.end();
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 1))));
    assert_eq!(settled.poll(), Poll::Ready(None));
}

#[tokio::test(start_paused = true)]
async fn the_end_of_the_source_flushes_every_keys_batch() {
    let events = futures_util::stream::iter([('a', 1), ('b', 1), ('a', 2), ('c', 1), ('b', 2)]);
    let batches: Vec<Vec<Item>> = events.debounce_batch_by_key(ms(100), key).collect().await;
    assert_eq!(
        batches,
        [
            vec![('a', 1), ('a', 2)],
            vec![('b', 1), ('b', 2)],
            vec![('c', 1)]
        ]
    );
}

// Memory and wakeups.

#[tokio::test(start_paused = true)]
async fn a_settled_key_is_forgotten_but_not_before_its_quiet_window() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key).max_wait(ms(100)));
    // Key a every 40 ms: max_wait emits it at 120 while it is still bursting.
    for t in [0, 40, 80, 120] {
        advance_to(start, ms(t)).await;
        feed.push(('a', t as u32));
        if t == 120 {
            assert_eq!(settled.poll(), Poll::Ready(Some(('a', 120))));
        }
        assert_eq!(settled.poll(), Poll::Pending);
    }
    assert_eq!(
        settled.get_ref().tracked(),
        1,
        "within a window of its last item"
    );
    advance_to(start, ms(219)).await;
    assert_eq!(settled.poll(), Poll::Pending);
    assert_eq!(settled.get_ref().tracked(), 1);
    advance_to(start, ms(220)).await;
    assert_eq!(settled.poll(), Poll::Pending);
    assert_eq!(settled.get_ref().tracked(), 0);
}

#[tokio::test(start_paused = true)]
async fn after_a_max_wait_trailing_edge_the_key_is_remembered_so_the_next_item_is_not_leading() {
    let start = Instant::now();
    // window 100, max_wait 150: a at 0, 90; the timer fires for max_wait at 150 with the
    // burst not yet quiet (the last item was at 90); c at 160 is within a window of it.
    let items = vec![(0, ('a', 0)), (90, ('a', 90)), (160, ('a', 160))];
    let settled = at_ms(start, items)
        .debounce_by_key(ms(100), key)
        .leading(true)
        .max_wait(ms(150));
    let out = record(start, settled, ms(600)).await;
    // As `debounce` with the same options: 160 is no leading edge (the burst is not quiet:
    // its last item was at 90), and its timer is a window after it.
    assert_eq!(
        in_ms(&out),
        [(0, ('a', 0)), (150, ('a', 90)), (260, ('a', 160))]
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_adapter_drops_its_timer_and_is_never_woken() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key));
    feed.push(('a', 1));
    let wakes = settled.wakes();
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 1))));
    assert_eq!(settled.poll(), Poll::Pending);
    let wakes_after = settled.wakes();
    assert_eq!(
        wakes_after,
        wakes + 1,
        "the timer (the push came before the first poll)"
    );
    advance_to(start, Duration::from_secs(3_600)).await;
    assert_eq!(settled.wakes(), wakes_after, "an hour idle, no wakeup");
}

// Windows of zero and of forever.

#[tokio::test(start_paused = true)]
async fn a_zero_window_makes_each_polls_items_of_a_key_one_burst() {
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(Duration::ZERO, key));
    for item in [('a', 1), ('b', 1), ('a', 2)] {
        feed.push(item);
    }
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 2))));
    assert_eq!(settled.poll(), Poll::Ready(Some(('b', 1))));
    assert_eq!(settled.poll(), Poll::Pending);
    assert_eq!(settled.get_ref().tracked(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_window_of_duration_max_never_settles_and_nothing_panics() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(
        source
            .debounce_by_key(Duration::MAX, key)
            .max_wait(Duration::MAX),
    );
    feed.push(('a', 1));
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, Duration::from_secs(86_400 * 365 * 29)).await;
    assert_eq!(settled.poll(), Poll::Pending);
    feed.end();
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 1))));
    assert_eq!(settled.poll(), Poll::Ready(None));
}

// The batches.

#[tokio::test(start_paused = true)]
async fn batches_per_key_with_leading_and_max_wait() {
    let start = Instant::now();
    let mut items: Vec<(u64, Item)> = (0..=330)
        .step_by(30)
        .map(|t| (t, ('a', t as u32)))
        .collect();
    items.push((50, ('b', 50)));
    items.push((70, ('b', 70)));
    items.sort_by_key(|&(t, _)| t);
    let batches = at_ms(start, items)
        .debounce_batch_by_key(ms(100), key)
        .leading(true)
        .max_wait(ms(200));
    let out = record(start, batches, ms(500)).await;
    let a = |ts: &[u32]| ts.iter().map(|&t| ('a', t)).collect::<Vec<_>>();
    assert_eq!(
        in_ms(&out),
        [
            (0, a(&[0])),
            (50, vec![('b', 50)]),
            (170, vec![('b', 70)]),
            (200, a(&[30, 60, 90, 120, 150, 180])),
            (400, a(&[210, 240, 270, 300, 330])),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn max_items_per_key_emits_a_full_batch_at_once_and_the_burst_goes_on() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut batches = StreamProbe::new(source.debounce_batch_by_key(ms(100), key).max_items(2));
    for item in [('a', 1), ('b', 1), ('a', 2), ('a', 3)] {
        feed.push(item);
    }
    assert_eq!(batches.poll(), Poll::Ready(Some(vec![('a', 1), ('a', 2)])));
    assert_eq!(batches.poll(), Poll::Pending);
    advance_to(start, ms(100)).await;
    // a was queued first: it comes first.
    assert_eq!(batches.poll(), Poll::Ready(Some(vec![('a', 3)])));
    assert_eq!(batches.poll(), Poll::Ready(Some(vec![('b', 1)])));
    assert_eq!(batches.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn max_items_zero_counts_as_one() {
    let batches = futures_util::stream::iter([('a', 1), ('a', 2)])
        .debounce_batch_by_key(ms(100), key)
        .max_items(0);
    let out: Vec<Vec<Item>> = batches.collect().await;
    assert_eq!(out, [vec![('a', 1)], vec![('a', 2)]]);
}

// flush and cancel, per key and for every key.

#[tokio::test(start_paused = true)]
async fn flush_key_emits_one_keys_item_and_closes_its_burst() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key).leading(true));
    feed.push(('a', 1));
    feed.push(('a', 2));
    feed.push(('b', 1));
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 1))));
    assert_eq!(settled.poll(), Poll::Ready(Some(('b', 1))));
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(10)).await;
    assert_eq!(settled.get().flush_key(&'a'), Some(('a', 2)));
    assert_eq!(settled.get().flush_key(&'a'), None, "its burst is closed");
    assert_eq!(
        settled.get().flush_key(&'b'),
        None,
        "b's leading item was its only one"
    );
    assert_eq!(settled.get().flush_key(&'z'), None, "an unknown key");
    // An item of a within the window of its last one: no leading edge (lodash).
    advance_to(start, ms(50)).await;
    feed.push(('a', 3));
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(150)).await;
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 3))));
    assert_eq!(settled.poll(), Poll::Pending);
    assert_eq!(settled.get_ref().tracked(), 0);
}

#[tokio::test(start_paused = true)]
async fn flush_key_after_the_window_passed_unobserved_forgets_the_key_at_once() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key));
    feed.push(('a', 1));
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(150)).await;
    assert_eq!(settled.get().flush_key(&'a'), Some(('a', 1)));
    assert_eq!(settled.get_ref().tracked(), 0, "its burst has settled");
    assert_eq!(settled.poll(), Poll::Pending, "and it is not emitted again");
}

#[tokio::test(start_paused = true)]
async fn flush_emits_every_keys_item_in_due_order() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key));
    feed.push(('b', 1));
    assert_eq!(settled.poll(), Poll::Pending);
    advance_to(start, ms(10)).await;
    feed.push(('a', 1));
    feed.push(('b', 2));
    assert_eq!(settled.poll(), Poll::Pending);
    assert_eq!(settled.get().flush(), [('b', 2), ('a', 1)]);
    assert!(settled.get().flush().is_empty());
    // Both keys wait for their quiet windows (lodash: a flushed burst is closed, not
    // forgotten), so the timer stays: it wakes the task once for them.
    assert_eq!(settled.get_ref().tracked(), 2);
    advance_to(start, ms(200)).await;
    assert_eq!(settled.poll(), Poll::Pending, "nothing left to emit");
    assert_eq!(settled.get_ref().tracked(), 0);
}

#[tokio::test(start_paused = true)]
async fn cancel_key_drops_one_key_and_its_next_item_starts_a_new_burst() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key).leading(true));
    feed.push(('a', 1));
    feed.push(('a', 2));
    feed.push(('b', 1));
    feed.push(('b', 2));
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 1))));
    assert_eq!(settled.poll(), Poll::Ready(Some(('b', 1))));
    assert_eq!(settled.poll(), Poll::Pending);
    assert!(settled.get().cancel_key(&'a'));
    assert_eq!(settled.get_ref().tracked(), 1, "a is forgotten at once");
    assert!(!settled.get().cancel_key(&'a'), "nothing held any more");
    assert!(!settled.get().cancel_key(&'z'), "an unknown key");
    // Within a's old window, but a leading edge: its burst was forgotten.
    advance_to(start, ms(20)).await;
    feed.push(('a', 3));
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 3))));
    advance_to(start, ms(100)).await;
    assert_eq!(settled.poll(), Poll::Ready(Some(('b', 2))));
    assert_eq!(settled.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn cancel_drops_every_key_and_returns_all_memory() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut batches = StreamProbe::new(source.debounce_batch_by_key(ms(100), key));
    for n in 0..1_000 {
        feed.push((char::from(b'a' + (n % 26) as u8), n));
    }
    assert_eq!(batches.poll(), Poll::Pending);
    assert_eq!(batches.get_ref().tracked(), 26);
    assert_eq!(batches.get().cancel(), 26);
    assert_eq!(batches.get().cancel(), 0);
    assert_eq!(batches.get_ref().tracked(), 0);
    let wakes = batches.wakes();
    advance_to(start, ms(500)).await;
    assert_eq!(batches.wakes(), wakes, "the timer went with the keys");
    assert_eq!(batches.poll(), Poll::Pending);
}

#[tokio::test(start_paused = true)]
async fn keys_are_looked_up_by_borrowed_forms() {
    let (feed, source) = fed::<String>();
    let mut settled =
        StreamProbe::new(source.debounce_by_key(ms(100), |path: &String| path.clone()));
    feed.push("src/lib.rs".to_owned());
    assert_eq!(settled.poll(), Poll::Pending);
    assert_eq!(
        settled.get().flush_key("src/lib.rs"),
        Some("src/lib.rs".to_owned())
    );
}

#[tokio::test(start_paused = true)]
async fn debug_shows_the_options_and_the_tracked_keys() {
    let (feed, source) = fed::<Item>();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key).max_wait(ms(50)));
    feed.push(('a', 1));
    assert_eq!(settled.poll(), Poll::Pending);
    let debug = format!("{:?}", settled.get_ref());
    assert!(debug.starts_with("DebounceByKey {"), "{debug}");
    assert!(
        debug.contains("max_wait: Some(100ms)"),
        "raised to the window: {debug}"
    );
    assert!(debug.contains("tracked: 1"), "{debug}");
    let batches = futures_util::stream::iter([1]).debounce_batch_by_key(ms(1), |&n| n);
    let debug = format!("{batches:?}");
    assert!(debug.starts_with("DebounceBatchByKey {"), "{debug}");
}

#[tokio::test(start_paused = true)]
async fn size_hint_bounds_the_emissions_by_the_items_to_come_and_the_keys_held() {
    let items = futures_util::stream::iter([('a', 1), ('b', 1), ('a', 2)]);
    let settled = items.debounce_by_key(ms(100), key);
    assert_eq!(settled.size_hint(), (0, Some(3)));
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key));
    assert_eq!(settled.get_ref().size_hint(), (0, None));
    feed.push(('a', 1));
    feed.push(('b', 1));
    feed.end();
    assert_eq!(settled.poll(), Poll::Ready(Some(('a', 1))));
    assert_eq!(
        settled.get_ref().size_hint(),
        (0, Some(1)),
        "b is still held"
    );
    assert_eq!(settled.poll(), Poll::Ready(Some(('b', 1))));
    assert_eq!(settled.get_ref().size_hint(), (0, Some(0)));
}

#[tokio::test(start_paused = true)]
async fn the_timer_is_set_once_a_burst_and_made_again_after_an_idle_spell() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut settled = StreamProbe::new(source.debounce_by_key(ms(100), key));
    for burst in 0..3 {
        advance_to(start, ms(1_000 * burst)).await;
        feed.push(('a', burst as u32));
        feed.push(('b', burst as u32));
        assert_eq!(settled.poll(), Poll::Pending);
        advance_to(start, ms(1_000 * burst + 100)).await;
        assert_eq!(settled.poll(), Poll::Ready(Some(('a', burst as u32))));
        assert_eq!(settled.poll(), Poll::Ready(Some(('b', burst as u32))));
        assert_eq!(settled.poll(), Poll::Pending);
    }
    assert_eq!(
        settled.get_ref().timer_resets(),
        3,
        "one a burst, for both keys"
    );
}

#[tokio::test(start_paused = true)]
async fn debug_shows_trailing_for_the_latest_and_max_items_for_batches() {
    let settled = futures_util::stream::iter([1]).debounce_by_key(ms(1), |&n| n);
    let debug = format!("{settled:?}");
    assert!(debug.contains("trailing: true"), "{debug}");
    assert!(!debug.contains("max_items"), "{debug}");
    let batches = futures_util::stream::iter([1])
        .debounce_batch_by_key(ms(1), |&n| n)
        .max_items(2);
    let debug = format!("{batches:?}");
    assert!(debug.contains("max_items: 2"), "{debug}");
    assert!(
        !debug.contains("trailing"),
        "a batch drops nothing: {debug}"
    );
}

#[test]
fn debug_of_batches_never_shows_a_trailing_switch() {
    let batches = futures_util::stream::iter([1]).debounce_batch_by_key(ms(1), |&n| n);
    let debug = format!("{batches:?}");
    assert!(!debug.contains("trailing"), "{debug}");
}
