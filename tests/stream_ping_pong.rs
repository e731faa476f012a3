//! `ping_pong`: its timelines at the exact instants, the edges of each instant, the wakeups,
//! and the durations at the ends of the range.

mod common;

use std::task::Poll;
use std::time::Duration;

use common::{StreamProbe, advance_to, at_ms, fed, flooded, in_ms, ms, record, us};
use deadlines::stream::{Liveness, PeerDead, StreamDeadlineExt};
use futures_core::stream::{FusedStream, Stream};
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// What the adapter yields, written short: an item, a ping, the death.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out<T> {
    I(T),
    Ping,
    Dead,
}
use Out::{Dead, I, Ping};

fn out<T>(item: Result<Liveness<T>, PeerDead>) -> Out<T> {
    match item {
        Ok(Liveness::Item(item)) => I(item),
        Ok(Liveness::Ping) => Ping,
        Err(PeerDead { .. }) => Dead,
    }
}

/// A poll of a probe, in the short form.
fn polled<S, T>(probe: &mut StreamProbe<S>) -> Poll<Option<Out<T>>>
where
    S: Stream<Item = Result<Liveness<T>, PeerDead>>,
{
    probe.poll().map(|item| item.map(out))
}

#[tokio::test(start_paused = true)]
async fn timeline_ping_pong_ping_dead() {
    // The docs' timeline: ping_pong(100, 50), a at 30, the pong b at 160.
    let start = Instant::now();
    let source = at_ms(start, vec![(30, 'a'), (160, 'b')]);
    let recorded = record(start, source.ping_pong(ms(100), ms(50)), ms(1_000)).await;
    let got: Vec<_> = in_ms(&recorded)
        .into_iter()
        .map(|(at, item)| (at, out(item)))
        .collect();
    assert_eq!(
        got,
        [
            (30, I('a')),
            (130, Ping),
            (160, I('b')),
            (260, Ping),
            (310, Dead)
        ]
    );
    assert_eq!(recorded.ended, Some(ms(310)), "None right after the death");
}

#[tokio::test(start_paused = true)]
async fn timeline_pong_when_counts_only_the_pongs() {
    // The docs' `pong_when` timeline: data d does not count, the pong p does.
    let start = Instant::now();
    let schedule = vec![(30, 'd'), (60, 'd'), (120, 'p'), (200, 'd'), (250, 'd')];
    let every = record(
        start,
        at_ms(start, schedule.clone()).ping_pong(ms(100), ms(50)),
        ms(1_000),
    )
    .await;
    let every: Vec<_> = in_ms(&every)
        .into_iter()
        .map(|(t, i)| (t, out(i)))
        .collect();
    let data = [(30, I('d')), (60, I('d')), (120, I('p')), (200, I('d'))];
    assert_eq!(every[..4], data);
    assert_eq!(every[4..], [(250, I('d')), (350, Ping), (400, Dead)]);

    let start = Instant::now();
    let pongs_only = at_ms(start, schedule)
        .ping_pong(ms(100), ms(50))
        .pong_when(|item: &char| *item == 'p');
    let pongs_only = record(start, pongs_only, ms(1_000)).await;
    let pongs_only: Vec<_> = in_ms(&pongs_only)
        .into_iter()
        .map(|(t, i)| (t, out(i)))
        .collect();
    assert_eq!(
        pongs_only,
        [
            (30, I('d')),
            (60, I('d')),
            (100, Ping),
            (120, I('p')),
            (200, I('d')),
            (220, Ping),
            (250, I('d')),
            (270, Dead),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_ping_comes_exactly_an_interval_after_the_first_poll_and_the_task_is_woken_then() {
    let start = Instant::now();
    let (_feed, source) = fed::<char>();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    advance_to(start, ms(1_000)).await; // built long before it is polled
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(1_099)).await;
    assert_eq!(p.wakes(), 0);
    assert_eq!(polled(&mut p), Poll::Pending, "1 ms before the ping");
    advance_to(start, ms(1_099) + us(999)).await;
    assert_eq!(polled(&mut p), Poll::Pending, "1 us before the ping");
    assert_eq!(p.wakes(), 0);
    advance_to(start, ms(1_100)).await;
    assert_eq!(p.wakes(), 1);
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    assert_eq!(polled(&mut p), Poll::Pending, "one ping, not two");
    assert_eq!(p.wakes(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_peer_is_dead_exactly_a_timeout_after_the_ping_and_the_task_is_woken_then() {
    let start = Instant::now();
    let (_feed, source) = fed::<char>();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(149)).await;
    assert_eq!(p.wakes(), 1, "woken at the ping only");
    assert_eq!(polled(&mut p), Poll::Pending, "1 ms before the death");
    advance_to(start, ms(149) + us(999)).await;
    assert_eq!(polled(&mut p), Poll::Pending, "1 us before the death");
    advance_to(start, ms(150)).await;
    assert_eq!(p.wakes(), 2);
    assert_eq!(polled(&mut p), Poll::Ready(Some(Dead)));
    assert_eq!(polled(&mut p), Poll::Ready(None));
}

#[tokio::test(start_paused = true)]
async fn the_task_is_woken_exactly_at_the_ping_and_at_the_death_and_at_no_other_millisecond() {
    let start = Instant::now();
    let (_feed, source) = fed::<char>();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    let mut seen = Vec::new();
    for at in 1..=400 {
        advance_to(start, ms(at)).await;
        let woken = p.wakes();
        if woken > seen.len() {
            assert_eq!(woken, seen.len() + 1, "one wakeup at {at} ms");
            // Polled only when woken: a missing wakeup shows as a missing output.
            loop {
                match polled(&mut p) {
                    Poll::Ready(Some(item)) => seen.push((at, item)),
                    Poll::Ready(None) => break,
                    Poll::Pending => break,
                }
            }
        }
    }
    assert_eq!(seen, [(100, Ping), (150, Dead)]);
    assert_eq!(p.wakes(), 2);
}

#[tokio::test(start_paused = true)]
async fn any_item_restarts_the_interval() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(60)).await;
    feed.push('x');
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('x'))));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(159)).await;
    assert_eq!(
        polled(&mut p),
        Poll::Pending,
        "the interval runs from the item at 60"
    );
    advance_to(start, ms(160)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
}

#[tokio::test(start_paused = true)]
async fn an_item_after_the_ping_cancels_the_death_and_starts_an_interval_from_it() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(120)).await;
    feed.push('p');
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('p'))));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(150)).await;
    assert_eq!(polled(&mut p), Poll::Pending, "the death was cancelled");
    advance_to(start, ms(219)).await;
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(220)).await;
    assert_eq!(
        polled(&mut p),
        Poll::Ready(Some(Ping)),
        "an interval after the pong"
    );
    advance_to(start, ms(269)).await;
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(270)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Dead)));
}

#[tokio::test(start_paused = true)]
async fn an_item_ready_when_the_death_is_judged_counts() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(150)).await; // the death's instant, and the pong with it
    feed.push('p');
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('p'))));
    assert_eq!(polled(&mut p), Poll::Pending, "alive");
    advance_to(start, ms(249)).await;
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(250)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
}

#[tokio::test(start_paused = true)]
async fn an_item_ready_when_the_ping_is_judged_is_passed_instead_of_the_ping() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    feed.push('x');
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('x'))));
    assert_eq!(
        polled(&mut p),
        Poll::Pending,
        "no ping: the item restarted the interval"
    );
    advance_to(start, ms(200)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
}

#[tokio::test(start_paused = true)]
async fn pong_when_passes_other_items_through_without_restarting_anything() {
    let start = Instant::now();
    let (feed, source) = fed();
    let watched = source
        .ping_pong(ms(100), ms(50))
        .pong_when(|item: &char| *item == 'p');
    let mut p = StreamProbe::new(watched);
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(60)).await;
    feed.push('d');
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('d'))), "passed through");
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(
        polled(&mut p),
        Poll::Ready(Some(Ping)),
        "d did not restart the interval"
    );
    advance_to(start, ms(140)).await;
    feed.push('d');
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('d'))));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(150)).await;
    feed.push('d'); // ready at the death's instant, but not a pong
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('d'))));
    assert_eq!(
        polled(&mut p),
        Poll::Ready(Some(Dead)),
        "d did not answer the ping"
    );
    assert_eq!(polled(&mut p), Poll::Ready(None));
}

#[tokio::test(start_paused = true)]
async fn pong_when_a_pong_answers_the_ping() {
    let start = Instant::now();
    let (feed, source) = fed();
    let watched = source
        .ping_pong(ms(100), ms(50))
        .pong_when(|item: &char| *item == 'p');
    let mut p = StreamProbe::new(watched);
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    advance_to(start, ms(130)).await;
    feed.push('p');
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('p'))));
    advance_to(start, ms(229)).await;
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(230)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
}

#[tokio::test(start_paused = true)]
async fn after_the_death_it_yields_none_and_never_polls_the_source_again() {
    let start = Instant::now();
    let (feed, source) = fed::<char>();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    advance_to(start, ms(150)).await;
    assert!(!p.get_ref().is_terminated());
    assert_eq!(polled(&mut p), Poll::Ready(Some(Dead)));
    assert!(p.get_ref().is_terminated());
    assert_eq!(p.get_ref().size_hint(), (0, Some(0)));
    let polls = feed.polls();
    feed.push('p'); // too late
    advance_to(start, ms(10_000)).await;
    for _ in 0..3 {
        assert_eq!(polled(&mut p), Poll::Ready(None));
    }
    assert_eq!(feed.polls(), polls, "the source was polled after the death");
    assert_eq!(feed.queued(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_source_ending_ends_the_stream_with_no_death() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    advance_to(start, ms(150)).await; // the death is due, but the source ended first
    feed.push('x');
    feed.end();
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('x'))));
    assert_eq!(polled(&mut p), Poll::Ready(None));
    assert!(p.get_ref().is_terminated());
    advance_to(start, ms(1_000)).await;
    assert_eq!(polled(&mut p), Poll::Ready(None), "no death after the end");

    // A source that ends before the first ping.
    let start = Instant::now();
    let ended = record(
        start,
        futures_util::stream::iter([1, 2]).ping_pong(ms(100), ms(50)),
        ms(1_000),
    )
    .await;
    let got: Vec<_> = in_ms(&ended)
        .into_iter()
        .map(|(t, i)| (t, out(i)))
        .collect();
    assert_eq!(got, [(0, I(1)), (0, I(2))]);
    assert_eq!(ended.ended, Some(ms(0)));
}

#[tokio::test(start_paused = true)]
async fn a_late_poll_yields_the_ping_and_the_timeout_runs_from_that_poll() {
    let start = Instant::now();
    let (_feed, source) = fed::<char>();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    assert_eq!(polled(&mut p), Poll::Pending);
    // The consumer was busy past the ping and past ping + timeout: the ping was never sent,
    // so the peer is not dead yet.
    advance_to(start, ms(250)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(299)).await;
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(300)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Dead)));
}

#[tokio::test(start_paused = true)]
async fn a_zero_interval_is_raised_to_a_millisecond() {
    let start = Instant::now();
    let source = futures_util::stream::pending::<char>();
    let recorded = record(start, source.ping_pong(Duration::ZERO, ms(5)), ms(100)).await;
    let got: Vec<_> = in_ms(&recorded)
        .into_iter()
        .map(|(t, i)| (t, out(i)))
        .collect();
    assert_eq!(got, [(1, Ping), (6, Dead)]);
    assert_eq!(recorded.ended, Some(ms(6)));

    // Under steady traffic every item restarts a 1 ms interval.
    let start = Instant::now();
    let (feed, source) = fed();
    let mut p = StreamProbe::new(source.ping_pong(Duration::ZERO, Duration::ZERO));
    assert_eq!(polled(&mut p), Poll::Pending, "no ping at the first poll");
    advance_to(start, us(999)).await;
    feed.push('x');
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('x'))));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(1) + us(998)).await;
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(1) + us(999)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
}

#[tokio::test(start_paused = true)]
async fn a_zero_timeout_is_dead_at_the_next_poll_unless_an_item_is_ready_there() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), Duration::ZERO));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    feed.push('p'); // the answer is there at the next poll, in the same instant
    assert_eq!(polled(&mut p), Poll::Ready(Some(I('p'))));
    assert_eq!(
        polled(&mut p),
        Poll::Pending,
        "alive: a new interval from the pong"
    );
    advance_to(start, ms(200)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    assert_eq!(
        polled(&mut p),
        Poll::Ready(Some(Dead)),
        "nothing ready: dead at once"
    );
    assert_eq!(polled(&mut p), Poll::Ready(None));
}

#[tokio::test(start_paused = true)]
async fn max_durations_saturate_never_panic_and_never_spin() {
    const YEAR: Duration = Duration::from_secs(86_400 * 365);
    let start = Instant::now();
    let (_feed, source) = fed::<char>();
    let mut p = StreamProbe::new(source.ping_pong(Duration::MAX, Duration::MAX));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, 29 * YEAR).await;
    assert_eq!(p.wakes(), 0);
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, 31 * YEAR).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)), "after 30 years");
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, 60 * YEAR).await;
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, 62 * YEAR).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Dead)));

    // A huge timeout beside an ordinary interval.
    let start = Instant::now();
    let (_feed, source) = fed::<char>();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), Duration::MAX));
    assert_eq!(polled(&mut p), Poll::Pending);
    advance_to(start, ms(100)).await;
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
    advance_to(start, YEAR).await;
    assert_eq!(
        polled(&mut p),
        Poll::Pending,
        "waits for the pong, without spinning"
    );
    assert_eq!(p.wakes(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_ten_thousand_items_costs_one_timer_set() {
    let start = Instant::now();
    let (feed, source) = fed();
    let mut p = StreamProbe::new(source.ping_pong(ms(100), ms(50)));
    for n in 0..10_000 {
        feed.push(n);
    }
    for n in 0..10_000 {
        assert_eq!(polled(&mut p), Poll::Ready(Some(I(n))));
    }
    assert_eq!(polled(&mut p), Poll::Pending);
    assert_eq!(p.get_ref().timer_resets(), 1);
    advance_to(start, ms(100)).await;
    assert_eq!(p.wakes(), 1, "woken once: at the ping");
    assert_eq!(polled(&mut p), Poll::Ready(Some(Ping)));
}

#[tokio::test(start_paused = true)]
async fn steady_traffic_pings_never_and_resets_the_timer_at_most_once_an_interval() {
    let start = Instant::now();
    // 10^4 items, one every 0.1 ms: a second of traffic, ten intervals of 100 ms.
    let schedule = (1..=10_000u64).map(|n| (us(n * 100), n)).collect();
    let watched = common::scheduled(start, schedule).ping_pong(ms(100), ms(50));
    let mut watched = std::pin::pin!(watched);
    for n in 1..=10_000 {
        assert_eq!(watched.next().await.map(out), Some(I(n)));
    }
    let resets = watched.timer_resets();
    assert!(resets <= 11, "{resets} timer resets for 10 intervals");
    assert_eq!(watched.next().await.map(out), Some(Ping));
    assert_eq!(Instant::now(), start + ms(1_100));
}

#[tokio::test(start_paused = true)]
async fn a_source_that_uses_up_the_coop_budget_cannot_starve_the_ping_or_the_death() {
    let start = Instant::now();
    let (_feed, items) = fed::<char>();
    let mut p = StreamProbe::new(flooded(items).ping_pong(ms(100), ms(50)));
    let mut seen = Vec::new();
    for at in 0..=250 {
        advance_to(start, ms(at)).await;
        if let Poll::Ready(item) = polled(&mut p) {
            seen.push((at, item));
            if item.is_none() {
                break;
            }
        }
    }
    assert_eq!(seen, [(100, Some(Ping)), (150, Some(Dead)), (151, None)]);
}

#[tokio::test(start_paused = true)]
async fn size_hint_and_debug() {
    let p = futures_util::stream::iter([1, 2]).ping_pong(ms(100), Duration::ZERO);
    // Two items, a ping after each and before the first, and a death; none if the peer dies.
    assert_eq!(p.size_hint(), (0, Some(6)));
    assert_eq!(
        format!("{p:?}"),
        "PingPong { interval: 100ms, timeout: 0ns, state: Unpolled, .. }"
    );
    // The durations as the adapter uses them: raised to a millisecond, saturated at 30 years.
    let extremes = futures_util::stream::iter([1]).ping_pong(Duration::ZERO, Duration::MAX);
    assert_eq!(
        format!("{extremes:?}"),
        "PingPong { interval: 1ms, timeout: 946080000s, state: Unpolled, .. }"
    );
    let p = p.pong_when(|_: &i32| false);
    assert!(format!("{p:?}").starts_with("PingPong { interval: 100ms"));
    let mut p = std::pin::pin!(p);
    assert_eq!(p.next().await.map(out), Some(I(1)));
    assert!(format!("{p:?}").contains("state: PingAt(Instant"), "{p:?}");
    assert_eq!(p.next().await.map(out), Some(I(2)));
    assert_eq!(p.next().await, None);
    assert_eq!(p.size_hint(), (0, Some(0)));
    assert!(format!("{p:?}").contains("state: Ended"), "{p:?}");
}
