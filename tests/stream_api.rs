//! Every stream adapter type is nameable from `deadlines::stream`, `Debug`, `Send` (and `Sync`
//! where its source is), `FusedStream`, built by the extension trait for any `Stream`, and
//! built without a runtime.

mod common;

use std::fmt::Debug;
use std::pin::Pin;
use std::time::Duration;

use common::{Feed, fed, in_ms, ms, record};
use deadlines::stream::{
    Debounce, DebounceBatch, DebounceBatchByKey, DebounceByKey, DebounceWith, Elapsed, IdleTimeout,
    Keepalive, KeepaliveItem, Liveness, PeerDead, PingPong, Sample, StreamDeadlineExt,
    ThrottleWith,
};
use futures_core::stream::{BoxStream, FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::{Instant, sleep, sleep_until};

type Source = futures_util::stream::Iter<std::vec::IntoIter<u32>>;

fn is_send_sync<T: Send + Sync>() {}
fn is_send<T: Send>() {}
fn is_debug<T: Debug>() {}
fn is_fused<T: FusedStream>() {}

// Each type named in a signature, the way a user stores it in a struct or returns it.
fn debounced(source: Source) -> Debounce<Source> {
    source.debounce(Duration::from_millis(100)).leading(true)
}
fn batched(source: Source) -> DebounceBatch<Source> {
    source.debounce_batch(Duration::from_millis(100))
}
type KeyFn = fn(&u32) -> u32;
type WindowFn = fn(&u32) -> Duration;
fn parity(item: &u32) -> u32 {
    item % 2
}
fn keyed(source: Source) -> DebounceByKey<Source, u32, KeyFn> {
    source
        .debounce_by_key(Duration::from_millis(100), parity as KeyFn)
        .leading(true)
}
fn batched_by_key(source: Source) -> DebounceBatchByKey<Source, u32, KeyFn> {
    source
        .debounce_batch_by_key(Duration::from_millis(100), parity as KeyFn)
        .max_items(10)
}
fn debounced_with(source: Source) -> DebounceWith<Source, WindowFn> {
    fn window(_: &u32) -> Duration {
        Duration::from_millis(100)
    }
    source.debounce_with(window as WindowFn)
}
fn sampled(source: Source) -> Sample<Source> {
    source.sample(Duration::from_millis(100))
}
fn throttled(source: Source) -> ThrottleWith<Source> {
    source
        .throttle_with(Duration::from_millis(100))
        .trailing(true)
}
fn watched(source: Source) -> IdleTimeout<Source> {
    source.idle_timeout(Duration::from_secs(1))
}
fn kept_alive(source: Source) -> Keepalive<Source, fn() -> u32> {
    fn ping() -> u32 {
        0
    }
    source.keepalive(Duration::from_secs(1), ping as fn() -> u32)
}
fn pinged(source: Source) -> PingPong<Source> {
    source.ping_pong(Duration::from_secs(1), Duration::from_secs(1))
}
fn pinged_for_pongs(source: Source) -> PingPong<Source, fn(&u32) -> bool> {
    fn is_pong(item: &u32) -> bool {
        *item == 0
    }
    pinged(source).pong_when(is_pong as fn(&u32) -> bool)
}
fn takes_liveness(item: Result<Liveness<u32>, PeerDead>) -> Option<u32> {
    item.ok()?.into_item()
}
fn takes_peer_dead(dead: PeerDead) -> std::io::Error {
    dead.into()
}
fn boxed_debounce<'a>(source: BoxStream<'a, u32>) -> Pin<Box<Debounce<BoxStream<'a, u32>>>> {
    Box::pin(source.debounce(Duration::from_millis(100)))
}
fn takes_elapsed(elapsed: Elapsed) -> std::io::Error {
    elapsed.into()
}

/// A source that is `Send` but not `Sync` (a `Cell` inside), and not `Debug`.
struct NotSync(std::cell::Cell<u32>);

impl Stream for NotSync {
    type Item = u32;
    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<u32>> {
        std::task::Poll::Ready(Some(self.0.get()))
    }
}

#[test]
fn adapters_are_send_sync_debug_and_fused() {
    is_send_sync::<Debounce<Source>>();
    is_send_sync::<DebounceBatch<Source>>();
    is_send_sync::<IdleTimeout<Source>>();
    is_send_sync::<Keepalive<Source, fn() -> u32>>();
    is_send_sync::<PingPong<Source>>();
    is_send_sync::<DebounceByKey<Source, u32, KeyFn>>();
    is_send_sync::<DebounceBatchByKey<Source, u32, KeyFn>>();
    is_send_sync::<DebounceWith<Source, WindowFn>>();
    is_send_sync::<Sample<Source>>();
    is_send_sync::<ThrottleWith<Source>>();
    is_send_sync::<Elapsed>();
    is_send_sync::<PeerDead>();
    is_send_sync::<Liveness<u32>>();
    is_send_sync::<KeepaliveItem<u32>>();

    // A `Send` source that is not `Sync`: the adapters are `Send`.
    is_send::<Debounce<NotSync>>();
    is_send::<DebounceBatch<NotSync>>();
    is_send::<IdleTimeout<NotSync>>();
    is_send::<Keepalive<NotSync, fn() -> u32>>();
    is_send::<PingPong<NotSync>>();
    is_send::<DebounceByKey<NotSync, u32, KeyFn>>();
    is_send::<DebounceBatchByKey<NotSync, u32, KeyFn>>();
    is_send::<DebounceWith<NotSync, WindowFn>>();
    is_send::<Sample<NotSync>>();
    is_send::<ThrottleWith<NotSync>>();

    // `Debug` needs neither the source nor the closure to be `Debug`.
    is_debug::<Debounce<NotSync>>();
    is_debug::<DebounceBatch<NotSync>>();
    is_debug::<IdleTimeout<NotSync>>();
    is_debug::<Keepalive<NotSync, fn() -> u32>>();
    is_debug::<PingPong<NotSync>>();
    is_debug::<DebounceByKey<NotSync, u32, KeyFn>>();
    is_debug::<DebounceBatchByKey<NotSync, u32, KeyFn>>();
    is_debug::<DebounceWith<NotSync, WindowFn>>();
    is_debug::<Sample<NotSync>>();
    is_debug::<ThrottleWith<NotSync>>();
    // A key type that is not `Debug` either.
    #[derive(PartialEq, Eq, Hash)]
    struct OpaqueKey;
    is_debug::<DebounceByKey<NotSync, OpaqueKey, fn(&u32) -> OpaqueKey>>();
    is_debug::<DebounceBatchByKey<NotSync, OpaqueKey, fn(&u32) -> OpaqueKey>>();
    is_debug::<Elapsed>();
    is_debug::<PeerDead>();
    is_debug::<Liveness<u32>>();
    is_debug::<KeepaliveItem<u32>>();
    fn debug_value<T: Debug>(_: &T) {}
    let with_closure = NotSync(std::cell::Cell::new(0)).keepalive(Duration::from_secs(1), || 0);
    debug_value(&with_closure);
    let with_predicate = NotSync(std::cell::Cell::new(0))
        .ping_pong(Duration::from_secs(1), Duration::from_secs(1))
        .pong_when(|item| *item == 1);
    debug_value(&with_predicate);
    let by_key = NotSync(std::cell::Cell::new(0)).debounce_by_key(Duration::from_secs(1), |_| ());
    debug_value(&by_key);
    let batch_by_key =
        NotSync(std::cell::Cell::new(0)).debounce_batch_by_key(Duration::from_secs(1), |_| ());
    debug_value(&batch_by_key);
    let with_window = NotSync(std::cell::Cell::new(0)).debounce_with(|_| Duration::from_secs(1));
    debug_value(&with_window);

    is_fused::<Debounce<Source>>();
    is_fused::<DebounceBatch<Source>>();
    is_fused::<IdleTimeout<Source>>();
    is_fused::<Keepalive<Source, fn() -> u32>>();
    is_fused::<PingPong<Source>>();
    is_fused::<DebounceByKey<Source, u32, KeyFn>>();
    is_fused::<DebounceBatchByKey<Source, u32, KeyFn>>();
    is_fused::<DebounceWith<Source, WindowFn>>();
    is_fused::<Sample<Source>>();
    is_fused::<ThrottleWith<Source>>();

    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<Elapsed>();
    is_error::<PeerDead>();

    fn is_copy_eq_hash<T: Copy + Eq + std::hash::Hash>() {}
    is_copy_eq_hash::<Liveness<u32>>();
    is_copy_eq_hash::<KeepaliveItem<u32>>();
    is_copy_eq_hash::<PeerDead>();
}

#[test]
fn adapters_build_without_a_runtime() {
    // Building (and dropping) an adapter registers no timer, so it needs no runtime.
    let source = || futures_util::stream::iter(vec![1, 2, 3]);
    drop(debounced(source()));
    drop(batched(source()));
    drop(watched(source()));
    drop(kept_alive(source()));
    drop(pinged(source()));
    drop(pinged_for_pongs(source()));
    drop(keyed(source()));
    drop(batched_by_key(source()));
    drop(debounced_with(source()));
    drop(sampled(source()));
    drop(throttled(source()));
    // With closures, and every option set.
    drop(
        source()
            .debounce_by_key(ms(100), |n| *n)
            .leading(true)
            .trailing(false)
            .max_wait(ms(200)),
    );
    drop(
        source()
            .debounce_batch_by_key(ms(100), |n| *n)
            .leading(true)
            .max_wait(ms(200))
            .max_items(3),
    );
    drop(
        source()
            .debounce_with(|_| ms(100))
            .leading(true)
            .trailing(false)
            .max_wait(ms(200)),
    );
    drop(
        source()
            .throttle_with(ms(100))
            .leading(false)
            .trailing(true),
    );
    drop(source().debounce_batch(ms(100)).max_items(0));
}

/// Pushes each item at `start` + its offset in milliseconds, then ends the source at
/// `start + end_ms`.
async fn feed_at<T>(feed: Feed<T>, start: Instant, items: Vec<(u64, T)>, end_ms: u64) {
    for (offset, item) in items {
        sleep_until(start + ms(offset)).await;
        feed.push(item);
    }
    sleep_until(start + ms(end_ms)).await;
    feed.end();
}

#[test]
fn adapters_built_outside_a_runtime_keep_their_timelines_inside_one() {
    // Each adapter, with its options, is built before any runtime exists: building must
    // create no timer (that would panic here) and start no window (the paused clock of the
    // runtime below starts later than any instant read now).
    let (debounce_feed, source) = fed::<u64>();
    let debounced = source
        .debounce(ms(100))
        .leading(true)
        .trailing(true)
        .max_wait(ms(200));
    let (batch_feed, source) = fed::<char>();
    let batched = source
        .debounce_batch(ms(100))
        .leading(true)
        .max_wait(ms(150));
    let (idle_feed, source) = fed::<char>();
    let watched = source.idle_timeout(ms(100));
    let (keepalive_feed, source) = fed::<char>();
    let kept_alive = source.keepalive(ms(100), || '.');
    let (ping_feed, source) = fed::<char>();
    let pinged = source
        .ping_pong(ms(100), ms(40))
        .pong_when(|item: &char| *item == 'p');
    let (keyed_feed, source) = fed::<(char, u32)>();
    let keyed = source.debounce_by_key(ms(100), |&(key, _)| key);
    let (batch_key_feed, source) = fed::<(char, u32)>();
    let batched_by_key = source
        .debounce_batch_by_key(ms(100), |&(key, _)| key)
        .max_items(3);
    let (with_feed, source) = fed::<(char, u64)>();
    let debounced_with = source.debounce_with(|&(_, window): &(char, u64)| ms(window));
    let (sample_feed, source) = fed::<char>();
    let sampled = source.sample(ms(100));
    let (throttle_feed, source) = fed::<char>();
    let throttled = source.throttle_with(ms(100)).trailing(true);

    let runtime = common::paused_runtime();
    runtime.block_on(async move {
        let start = Instant::now();
        // The sources are fed from tasks of their own, at instants that never coincide
        // with an adapter's timer, so the task order within a millisecond cannot matter.
        // Each adapter runs in a task of its own too: a wakeup it fails to register shows as
        // a missing or late item, not hidden by another stream's wakeup.
        let every_30_ms = (0..=330).step_by(30).map(|t| (t, t)).collect();
        tokio::spawn(feed_at(debounce_feed, start, every_30_ms, 1_000));
        let burst = vec![(0, 'a'), (30, 'b'), (60, 'c'), (300, 'd')];
        tokio::spawn(feed_at(batch_feed, start, burst, 1_000));
        tokio::spawn(feed_at(
            idle_feed,
            start,
            vec![(200, 'a'), (230, 'b')],
            1_000,
        ));
        tokio::spawn(feed_at(keepalive_feed, start, vec![(220, 'a')], 450));
        let ping_items = vec![(100, 'd'), (170, 'p'), (290, 'd')];
        tokio::spawn(feed_at(ping_feed, start, ping_items, 1_000));
        // The docs' timelines of the new adapters.
        let keyed_items = vec![
            (0, ('a', 1)),
            (20, ('b', 1)),
            (40, ('a', 2)),
            (150, ('b', 2)),
        ];
        tokio::spawn(feed_at(keyed_feed, start, keyed_items.clone(), 1_000));
        tokio::spawn(feed_at(batch_key_feed, start, keyed_items, 1_000));
        let with_items = vec![(0, ('a', 100)), (30, ('b', 20)), (100, ('c', 50))];
        tokio::spawn(feed_at(with_feed, start, with_items, 1_000));
        let sample_items = vec![(70, 'a'), (120, 'b'), (260, 'c')];
        tokio::spawn(feed_at(sample_feed, start, sample_items, 1_000));
        let throttle_items = vec![
            (0, 'a'),
            (30, 'b'),
            (60, 'c'),
            (150, 'd'),
            (170, 'e'),
            (350, 'f'),
        ];
        tokio::spawn(feed_at(throttle_feed, start, throttle_items, 1_000));

        let debounced = tokio::spawn(record(start, debounced, ms(2_000)));
        let batched = tokio::spawn(record(start, batched, ms(2_000)));
        // First polled 50 ms in: the first window and period start there, not at the build.
        let watched = tokio::spawn(async move {
            sleep(ms(50)).await;
            record(start, watched, ms(2_000)).await
        });
        let kept_alive = tokio::spawn(async move {
            sleep(ms(50)).await;
            record(start, kept_alive, ms(2_000)).await
        });
        let pinged = tokio::spawn(async move {
            sleep(ms(50)).await;
            record(start, pinged, ms(2_000)).await
        });
        let keyed = tokio::spawn(record(start, keyed, ms(2_000)));
        let batched_by_key = tokio::spawn(record(start, batched_by_key, ms(2_000)));
        let debounced_with = tokio::spawn(record(start, debounced_with, ms(2_000)));
        // First polled 50 ms in: the grid of ticks is 150, 250, 350, ...
        let sampled = tokio::spawn(async move {
            sleep(ms(50)).await;
            record(start, sampled, ms(2_000)).await
        });
        let throttled = tokio::spawn(record(start, throttled, ms(2_000)));

        // The docs' `.leading(true).max_wait(200)` timeline: each item is the time it was sent.
        let debounced = debounced.await.unwrap();
        assert_eq!(in_ms(&debounced), [(0, 0), (200, 180), (400, 330)]);
        assert_eq!(debounced.ended, Some(ms(1_000)));

        // `max_wait` cuts the burst's batch at 150 ms, a window before it would settle.
        let batched = batched.await.unwrap();
        let batches = [(0, vec!['a']), (150, vec!['b', 'c']), (300, vec!['d'])];
        assert_eq!(in_ms(&batched), batches);
        assert_eq!(batched.ended, Some(ms(1_000)));

        let watched = watched.await.unwrap();
        assert_eq!(watched.ended, Some(ms(1_000)));
        let watched: Vec<_> = in_ms(&watched)
            .into_iter()
            .map(|(at, item)| (at, item.map_err(|Elapsed { .. }| "elapsed")))
            .collect();
        let expected = [
            (150, Err("elapsed")),
            (200, Ok('a')),
            (230, Ok('b')),
            (330, Err("elapsed")),
        ];
        assert_eq!(watched, expected);

        let kept_alive = kept_alive.await.unwrap();
        assert_eq!(
            in_ms(&kept_alive),
            [
                (150, KeepaliveItem::Injected('.')),
                (220, KeepaliveItem::Source('a')),
                (320, KeepaliveItem::Injected('.')),
                (420, KeepaliveItem::Injected('.')),
            ]
        );
        assert_eq!(kept_alive.ended, Some(ms(450)));

        // Only the pong counts: the ping 100 ms after the first poll, the pong at 170 starts
        // the next interval, its ping goes unanswered (d does not count) and the peer is dead
        // 40 ms later. The source is never polled after that, so its end at 1000 is not seen.
        let pinged = pinged.await.unwrap();
        assert_eq!(pinged.ended, Some(ms(310)), "None right after the death");
        let pinged: Vec<_> = in_ms(&pinged)
            .into_iter()
            .map(|(at, item)| (at, item.map_err(|PeerDead { .. }| "dead")))
            .collect();
        let expected = [
            (100, Ok(Liveness::Item('d'))),
            (150, Ok(Liveness::Ping)),
            (170, Ok(Liveness::Item('p'))),
            (270, Ok(Liveness::Ping)),
            (290, Ok(Liveness::Item('d'))),
            (310, Err("dead")),
        ];
        assert_eq!(pinged, expected);

        let keyed = keyed.await.unwrap();
        assert_eq!(
            in_ms(&keyed),
            [(120, ('b', 1)), (140, ('a', 2)), (250, ('b', 2))]
        );
        assert_eq!(keyed.ended, Some(ms(1_000)));
        let batched_by_key = batched_by_key.await.unwrap();
        assert_eq!(
            in_ms(&batched_by_key),
            [
                (120, vec![('b', 1)]),
                (140, vec![('a', 1), ('a', 2)]),
                (250, vec![('b', 2)]),
            ]
        );
        assert_eq!(batched_by_key.ended, Some(ms(1_000)));
        let debounced_with = debounced_with.await.unwrap();
        assert_eq!(in_ms(&debounced_with), [(50, ('b', 20)), (150, ('c', 50))]);
        assert_eq!(debounced_with.ended, Some(ms(1_000)));
        let sampled = sampled.await.unwrap();
        assert_eq!(in_ms(&sampled), [(150, 'b'), (350, 'c')]);
        assert_eq!(sampled.ended, Some(ms(1_000)));
        let throttled = throttled.await.unwrap();
        assert_eq!(
            in_ms(&throttled),
            [(0, 'a'), (100, 'c'), (200, 'e'), (350, 'f')]
        );
        assert_eq!(throttled.ended, Some(ms(1_000)));
    });
}

#[tokio::test(start_paused = true)]
async fn adapters_compose_and_can_be_spawned() {
    let source = || futures_util::stream::iter(vec![1, 2, 3]);
    let handle = tokio::spawn(async move {
        let d = debounced(source());
        let b = batched(source());
        let w = watched(source());
        let k = kept_alive(source());
        let p = pinged_for_pongs(source());
        let mut by_key = keyed(source()).collect::<Vec<_>>().await;
        by_key.sort_unstable();
        let mut batches_by_key = batched_by_key(source()).collect::<Vec<_>>().await;
        batches_by_key.sort_unstable();
        let family = (
            by_key,
            batches_by_key,
            debounced_with(source()).collect::<Vec<_>>().await,
            sampled(source()).collect::<Vec<_>>().await,
            throttled(source()).collect::<Vec<_>>().await,
        );
        (
            d.collect::<Vec<_>>().await,
            b.collect::<Vec<_>>().await,
            w.collect::<Vec<_>>().await,
            k.collect::<Vec<_>>().await,
            p.map(takes_liveness).collect::<Vec<_>>().await,
            family,
        )
    });
    let (d, b, w, k, p, family) = handle.await.unwrap();
    // Leading: 1 and 2 open the bursts of keys 1 and 0; 3 is key 1's trailing item.
    assert_eq!(family.0, [1, 2, 3]);
    assert_eq!(family.1, [vec![1, 3], vec![2]]);
    assert_eq!(family.2, [3]);
    assert_eq!(family.3, [3]);
    assert_eq!(family.4, [1, 3]);
    assert_eq!(d, [1, 3]);
    assert_eq!(b, [vec![1, 2, 3]]);
    assert_eq!(w, [Ok(1), Ok(2), Ok(3)]);
    assert_eq!(k, [1, 2, 3].map(KeepaliveItem::Source));
    assert_eq!(p, [Some(1), Some(2), Some(3)]);

    let mut boxed = boxed_debounce(futures_util::stream::iter(vec![7, 8]).boxed());
    assert_eq!(boxed.next().await, Some(8));
    assert!(boxed.is_terminated());
}

#[tokio::test(start_paused = true)]
async fn debug_output_names_each_type() {
    let source = || futures_util::stream::iter(vec![1, 2, 3]);
    assert!(format!("{:?}", debounced(source())).starts_with("Debounce { window: 100ms"));
    assert!(format!("{:?}", batched(source())).starts_with("DebounceBatch { window: 100ms"));
    assert!(format!("{:?}", watched(source())).starts_with("IdleTimeout { timeout: 1s"));
    assert!(format!("{:?}", kept_alive(source())).starts_with("Keepalive { period: 1s"));
    assert!(format!("{:?}", keyed(source())).starts_with("DebounceByKey { window: 100ms"));
    assert!(
        format!("{:?}", batched_by_key(source())).starts_with("DebounceBatchByKey { window: 100ms")
    );
    assert!(format!("{:?}", debounced_with(source())).starts_with("DebounceWith { window: "));
    assert!(format!("{:?}", sampled(source())).starts_with("Sample { period: 100ms"));
    assert!(format!("{:?}", throttled(source())).starts_with("ThrottleWith { period: 100ms"));
    assert_eq!(
        format!("{:?}", pinged_for_pongs(source())),
        "PingPong { interval: 1s, timeout: 1s, state: Unpolled, .. }"
    );
    assert_eq!(format!("{:?}", Liveness::Item(1)), "Item(1)");
    assert_eq!(format!("{:?}", Liveness::<u8>::Ping), "Ping");
    assert_eq!(format!("{:?}", KeepaliveItem::Source(1)), "Source(1)");
    assert_eq!(format!("{:?}", KeepaliveItem::Injected(0)), "Injected(0)");
    let silent = futures_util::stream::pending::<u8>().ping_pong(Duration::ZERO, Duration::ZERO);
    let mut silent = std::pin::pin!(silent);
    assert_eq!(silent.next().await, Some(Ok(Liveness::Ping)));
    let dead = silent.next().await.unwrap().unwrap_err();
    assert_eq!(format!("{dead:?}"), "PeerDead(())");
    assert_eq!(dead.to_string(), "peer did not answer a ping in time");
    assert_eq!(takes_peer_dead(dead).kind(), std::io::ErrorKind::TimedOut);
    let mut silent =
        std::pin::pin!(futures_util::stream::pending::<u8>().idle_timeout(Duration::ZERO));
    let elapsed = silent.next().await.unwrap().unwrap_err();
    assert_eq!(format!("{elapsed:?}"), "Elapsed(())");
    assert_eq!(takes_elapsed(elapsed).kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn the_trait_works_on_unsized_and_borrowed_streams() {
    fn debounce_dyn(
        source: &mut (dyn Stream<Item = u8> + Unpin),
    ) -> Debounce<&mut (dyn Stream<Item = u8> + Unpin)> {
        source.debounce(Duration::from_millis(1))
    }
    let mut source = futures_util::stream::iter(vec![1u8]);
    let _ = debounce_dyn(&mut source);
}
