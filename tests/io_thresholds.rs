//! `IdleIo` over `tokio::io::duplex` on a paused clock: each threshold at its exact
//! millisecond (pending 1 ms before, with no wake; the event or the error at the instant,
//! with one wake), the `first` flag, threshold changes, time-outs, and the edges.
#![cfg(feature = "io")]

mod common;

use std::io::IoSlice;
use std::time::Duration;

use common::idle::{Op, Watch, both_at, event_at, idle_error, moved, read_fails_at};
use common::{advance_to, ms};
use deadlines::io::IdleKind::{All, Read, Write};
use deadlines::io::{IdleIo, IdleKind};
use futures_core::stream::FusedStream;
use futures_util::StreamExt as _;
use tokio::io::{AsyncBufRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;

const YEAR: Duration = Duration::from_secs(86_400 * 365);

fn pair() -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(1 << 16)
}

/// The peer sends a byte and `io` reads it at once: read activity now.
async fn read_a_byte(io: &mut IdleIo<DuplexStream>, peer: &mut DuplexStream) {
    peer.write_all(b"r").await.unwrap();
    assert_eq!(moved(Op::default().read(io, 8)), 1);
}

/// `io` writes a byte, which the peer drains: write activity now.
async fn write_a_byte(io: &mut IdleIo<DuplexStream>, peer: &mut DuplexStream) {
    assert_eq!(moved(Op::default().write(io, b"w")), 1);
    peer.read_exact(&mut [0]).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn read_idle_comes_at_its_instant_while_writes_flow() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100));
    let mut events = Watch::new(io.events());
    assert_eq!(events.poll(), None);
    for at in [30, 60, 90] {
        advance_to(start, ms(at)).await;
        write_a_byte(&mut io, &mut peer).await;
    }
    event_at(start, &mut events, 100, (Read, true)).await;
    assert_eq!(events.poll(), None, "one event per threshold");
    for at in [130, 160, 190] {
        advance_to(start, ms(at)).await;
        write_a_byte(&mut io, &mut peer).await;
    }
    event_at(start, &mut events, 200, (Read, false)).await;
    assert_eq!(io.handle().last_read(), start);
    assert_eq!(io.handle().last_write(), start + ms(190));
}

#[tokio::test(start_paused = true)]
async fn read_idle_times_out_a_pending_read_while_writes_flow() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100)).time_out_on(Read);
    let mut read = Op::default();
    assert!(read.read(&mut io, 8).is_pending());
    for at in [30, 60, 90] {
        advance_to(start, ms(at)).await;
        write_a_byte(&mut io, &mut peer).await;
    }
    let idle = read_fails_at(start, &mut io, &mut read, 100).await;
    assert_eq!((idle.kind(), idle.threshold()), (Read, ms(100)));
    assert_eq!(io.timed_out(), Some(idle));
}

#[tokio::test(start_paused = true)]
async fn write_idle_comes_at_its_instant_while_reads_flow() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).write_idle(ms(100));
    let mut events = Watch::new(io.events());
    assert_eq!(events.poll(), None);
    for at in [30, 60, 90] {
        advance_to(start, ms(at)).await;
        read_a_byte(&mut io, &mut peer).await;
    }
    event_at(start, &mut events, 100, (Write, true)).await;
    event_at(start, &mut events, 200, (Write, false)).await;
    assert_eq!(io.handle().last_read(), start + ms(90));
}

/// A write-idle time-out fails whatever is pending, here a read whose bytes flow: the
/// connection wrote nothing for the threshold.
#[tokio::test(start_paused = true)]
async fn write_idle_times_out_a_pending_read_while_reads_flow() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).write_idle(ms(100)).time_out_on(Write);
    let mut read = Op::default();
    assert!(read.read(&mut io, 8).is_pending());
    for at in [30, 60, 90] {
        advance_to(start, ms(at)).await;
        peer.write_all(b"r").await.unwrap();
        assert_eq!(read.woken(), 1, "woken by the duplex");
        assert_eq!(moved(read.read(&mut io, 8)), 1);
        assert!(read.read(&mut io, 8).is_pending());
    }
    let idle = read_fails_at(start, &mut io, &mut read, 100).await;
    assert_eq!((idle.kind(), idle.threshold()), (Write, ms(100)));
}

#[tokio::test(start_paused = true)]
async fn all_idle_counts_from_the_later_of_the_last_read_and_the_last_write() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).all_idle(ms(100)).time_out_on(All);
    let mut events = Watch::new(io.events());
    let mut read = Op::default();
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    advance_to(start, ms(40)).await;
    peer.write_all(b"r").await.unwrap();
    assert_eq!(moved(read.read(&mut io, 8)), 1);
    assert!(read.read(&mut io, 8).is_pending());
    advance_to(start, ms(70)).await;
    write_a_byte(&mut io, &mut peer).await;
    // Both timers were set for 100 ms and fire there, early: nothing is due.
    advance_to(start, ms(100)).await;
    assert_eq!((events.woken(), read.woken()), (1, 1));
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    let idle = both_at(start, &mut events, &mut io, &mut read, 170, (All, true)).await;
    assert_eq!((idle.kind(), idle.threshold()), (All, ms(100)));
    assert_eq!(events.poll(), None);
    event_at(start, &mut events, 270, (All, false)).await;
}

#[tokio::test(start_paused = true)]
async fn all_idle_times_out_nothing_while_either_way_flows() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).all_idle(ms(100)).time_out_on(All);
    let mut read = Op::default();
    assert!(read.read(&mut io, 8).is_pending());
    for at in (50..=1_000).step_by(50) {
        advance_to(start, ms(at)).await;
        write_a_byte(&mut io, &mut peer).await;
        assert!(read.read(&mut io, 8).is_pending(), "at {at} ms");
    }
    let idle = read_fails_at(start, &mut io, &mut read, 1_100).await;
    assert_eq!(idle.kind(), All);
}

/// Netty's `first`: the first event of a stretch, then one event (not first) each threshold
/// while the silence lasts, each measured from the poll that yielded the one before; activity
/// starts a new stretch.
#[tokio::test(start_paused = true)]
async fn first_then_one_event_a_threshold_then_a_new_first_after_activity() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100));
    let mut events = Watch::new(io.events());
    assert_eq!(events.poll(), None);
    event_at(start, &mut events, 100, (Read, true)).await;
    event_at(start, &mut events, 200, (Read, false)).await;
    event_at(start, &mut events, 300, (Read, false)).await;
    assert_eq!(events.poll(), None);
    advance_to(start, ms(350)).await;
    read_a_byte(&mut io, &mut peer).await;
    // The timer set for 400 ms fires there, early: the stretch starts at 350.
    advance_to(start, ms(400)).await;
    assert_eq!(events.woken(), 1);
    assert_eq!(events.poll(), None);
    event_at(start, &mut events, 450, (Read, true)).await;
    event_at(start, &mut events, 550, (Read, false)).await;
    assert_eq!(events.poll(), None);
    // A consumer busy until 800 ms gets one late event, not a burst, and the next comes a
    // threshold after the poll that yielded it.
    advance_to(start, ms(800)).await;
    assert_eq!(events.woken(), 1, "woken at 650 ms");
    assert_eq!(events.poll(), Some((Read, false)));
    assert_eq!(events.poll(), None);
    event_at(start, &mut events, 900, (Read, false)).await;
}

#[tokio::test(start_paused = true)]
async fn a_longer_threshold_mid_stretch_moves_the_instant_later() {
    let start = Instant::now();
    let (client, _peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100)).time_out_on(Read);
    let mut events = Watch::new(io.events());
    let mut read = Op::default();
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    advance_to(start, ms(50)).await;
    io.handle().set_threshold(Read, Some(ms(200)));
    assert_eq!(
        (events.woken(), read.woken()),
        (1, 1),
        "a change wakes both"
    );
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    // The timers set for 100 ms fire there, early.
    advance_to(start, ms(100)).await;
    assert_eq!(events.poll(), None, "no event at the old instant");
    assert!(
        read.read(&mut io, 8).is_pending(),
        "no time-out at the old instant"
    );
    let idle = both_at(start, &mut events, &mut io, &mut read, 200, (Read, true)).await;
    assert_eq!(idle.threshold(), ms(200));
}

/// A shorter threshold wakes the stream and the pending read at once, and each is woken
/// again at the new instant, not at the old one.
#[tokio::test(start_paused = true)]
async fn a_shorter_threshold_mid_stretch_wakes_at_the_new_instant() {
    let start = Instant::now();
    let (client, _peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(200)).time_out_on(Read);
    let mut events = Watch::new(io.events());
    let mut read = Op::default();
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    advance_to(start, ms(50)).await;
    io.handle().set_threshold(Read, Some(ms(100)));
    assert_eq!(
        (events.woken(), read.woken()),
        (1, 1),
        "a change wakes both"
    );
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    let idle = both_at(start, &mut events, &mut io, &mut read, 100, (Read, true)).await;
    assert_eq!(idle.threshold(), ms(100));
}

#[tokio::test(start_paused = true)]
async fn a_threshold_shortened_past_its_instant_is_acted_on_at_once() {
    let start = Instant::now();
    let (client, _peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(200)).time_out_on(Read);
    let mut events = Watch::new(io.events());
    let mut read = Op::default();
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    advance_to(start, ms(150)).await;
    assert_eq!((events.woken(), read.woken()), (0, 0));
    io.handle().set_threshold(Read, Some(ms(100)));
    assert_eq!((events.woken(), read.woken()), (1, 1));
    assert_eq!(events.poll(), Some((Read, true)));
    assert_eq!(idle_error(read.read(&mut io, 8)).threshold(), ms(100));
    // The stretch's next event is a threshold after the one yielded at 150 ms; the timer
    // still set for 200 ms fires there, early.
    assert_eq!(events.poll(), None);
    advance_to(start, ms(200)).await;
    assert_eq!(events.woken(), 1);
    assert_eq!(events.poll(), None);
    event_at(start, &mut events, 250, (Read, false)).await;
}

/// A threshold removed mid-stretch: nothing more comes, however long the silence. Set again,
/// it counts from the moment it is set, not from the last activity long past: the years it
/// was lifted are not silence it judges.
#[tokio::test(start_paused = true)]
async fn a_threshold_removed_mid_stretch_stops_events_and_time_outs() {
    let start = Instant::now();
    let (client, _peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100)).time_out_on(Read);
    let handle = io.handle();
    let mut events = Watch::new(io.events());
    let mut read = Op::default();
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    advance_to(start, ms(50)).await;
    handle.set_threshold(Read, None);
    assert_eq!(handle.threshold(Read), None);
    assert_eq!((events.woken(), read.woken()), (1, 1));
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    for years in 1..=3 {
        advance_to(start, ms(50) + years * YEAR).await;
        assert_eq!(
            (events.woken(), read.woken()),
            (0, 0),
            "woken with no threshold"
        );
        assert_eq!(events.poll(), None);
        assert!(read.read(&mut io, 8).is_pending());
    }
    assert_eq!(io.timer_resets(), 0, "no timer kept with no threshold");
    let set_again = ms(50) + 3 * YEAR;
    handle.set_threshold(Read, Some(ms(100)));
    assert_eq!((events.woken(), read.woken()), (1, 1));
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    advance_to(start, set_again + ms(99)).await;
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    advance_to(start, set_again + ms(100)).await;
    assert_eq!(events.poll(), Some((Read, true)));
    assert_eq!(idle_error(read.read(&mut io, 8)).kind(), Read);
}

/// Once reached, a time-out fails every later read, write and flush; shutdown still passes
/// through, so the connection can be closed cleanly.
#[tokio::test(start_paused = true)]
async fn a_time_out_on_a_pending_read_fails_later_writes_and_flushes_but_not_shutdown() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100)).time_out_on(Read);
    let mut op = Op::default();
    assert!(op.read(&mut io, 8).is_pending());
    let idle = read_fails_at(start, &mut io, &mut op, 100).await;
    assert_eq!(idle.to_string(), "connection idle: no bytes read for 100ms");
    advance_to(start, ms(150)).await;
    peer.write_all(b"late").await.unwrap();
    assert_eq!(
        idle_error(op.read(&mut io, 8)),
        idle,
        "a read with bytes waiting"
    );
    assert_eq!(idle_error(op.write(&mut io, b"w")), idle);
    assert_eq!(
        idle_error(op.write_vectored(&mut io, &[IoSlice::new(b"w")])),
        idle
    );
    assert_eq!(idle_error(op.flush(&mut io)), idle);
    assert!(matches!(
        op.shutdown(&mut io),
        std::task::Poll::Ready(Ok(()))
    ));
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "nothing was written after the time-out");
    assert_eq!(io.handle().last_write(), start);
    assert_eq!(io.timed_out(), Some(idle));
}

/// A peer that stops reading: the write stays pending once the duplex is full, and fails a
/// threshold after the last bytes it accepted.
#[tokio::test(start_paused = true)]
async fn a_write_pending_on_a_peer_that_stopped_reading_times_out() {
    let start = Instant::now();
    let (client, mut peer) = tokio::io::duplex(8);
    let mut io = IdleIo::new(client).write_idle(ms(100)).time_out_on(Write);
    let mut write = Op::default();
    let data = [7u8; 32];
    assert_eq!(moved(write.write(&mut io, &data)), 8);
    assert!(write.write(&mut io, &data[8..]).is_pending());
    advance_to(start, ms(50)).await;
    peer.read_exact(&mut [0; 4]).await.unwrap();
    assert_eq!(write.woken(), 1, "woken by the duplex");
    assert_eq!(
        moved(write.write(&mut io, &data[8..])),
        4,
        "write activity at 50 ms"
    );
    assert!(write.write(&mut io, &data[12..]).is_pending());
    // The timer set for 100 ms fires there, early.
    advance_to(start, ms(100)).await;
    assert_eq!(write.woken(), 1);
    assert!(write.write(&mut io, &data[12..]).is_pending());
    advance_to(start, ms(149)).await;
    assert_eq!(write.woken(), 0);
    assert!(write.write(&mut io, &data[12..]).is_pending());
    advance_to(start, ms(150)).await;
    assert_eq!(write.woken(), 1);
    let idle = idle_error(write.write(&mut io, &data[12..]));
    assert_eq!((idle.kind(), idle.threshold()), (Write, ms(100)));
    assert_eq!(io.handle().last_write(), start + ms(50));
}

/// A read into a buffer with no room and a write of no bytes move nothing: not activity.
#[tokio::test(start_paused = true)]
async fn zero_byte_reads_and_writes_are_not_activity() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100)).write_idle(ms(100));
    let mut events = Watch::new(io.events());
    let mut op = Op::default();
    assert_eq!(events.poll(), None);
    advance_to(start, ms(10)).await;
    peer.write_all(b"waiting").await.unwrap();
    advance_to(start, ms(50)).await;
    assert_eq!(moved(op.read(&mut io, 0)), 0, "bytes wait, but no room");
    assert_eq!(moved(op.write(&mut io, b"")), 0);
    assert_eq!(moved(op.write_vectored(&mut io, &[IoSlice::new(b"")])), 0);
    assert_eq!(io.handle().last_read(), start);
    assert_eq!(io.handle().last_write(), start);
    advance_to(start, ms(99)).await;
    assert_eq!(events.woken(), 0);
    assert_eq!(events.poll(), None);
    advance_to(start, ms(100)).await;
    assert_eq!(events.woken(), 1);
    assert_eq!(events.poll(), Some((Read, true)));
    assert_eq!(
        events.poll(),
        Some((Write, true)),
        "same instant: read, then write"
    );
    assert_eq!(events.poll(), None);
    // The bytes that waited are read: activity.
    advance_to(start, ms(120)).await;
    assert_eq!(moved(op.read(&mut io, 64)), 7);
    assert_eq!(moved(op.write_vectored(&mut io, &[IoSlice::new(b"v")])), 1);
    assert_eq!(io.handle().last_read(), start + ms(120));
    assert_eq!(io.handle().last_write(), start + ms(120));
    advance_to(start, ms(200)).await;
    assert_eq!(events.poll(), None);
    event_at(start, &mut events, 220, (Read, true)).await;
    assert_eq!(events.poll(), Some((Write, true)));
}

/// End of file moves no bytes: a peer that closed its side is read idle from its last byte,
/// and the events go on.
#[tokio::test(start_paused = true)]
async fn end_of_file_is_not_activity() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100));
    let mut events = Watch::new(io.events());
    let mut read = Op::default();
    assert_eq!(events.poll(), None);
    advance_to(start, ms(30)).await;
    read_a_byte(&mut io, &mut peer).await;
    advance_to(start, ms(40)).await;
    drop(peer);
    advance_to(start, ms(50)).await;
    assert_eq!(moved(read.read(&mut io, 8)), 0, "end of file");
    advance_to(start, ms(100)).await;
    assert_eq!(
        events.woken(),
        1,
        "the timer set for 100 ms fires there, early"
    );
    assert_eq!(events.poll(), None);
    event_at(start, &mut events, 130, (Read, true)).await;
    advance_to(start, ms(180)).await;
    assert_eq!(moved(read.read(&mut io, 8)), 0);
    event_at(start, &mut events, 230, (Read, false)).await;
    event_at(start, &mut events, 330, (Read, false)).await;
    assert_eq!(io.handle().last_read(), start + ms(30));
}

#[tokio::test(start_paused = true)]
async fn a_zero_threshold_is_raised_to_a_millisecond() {
    let start = Instant::now();
    let (client, _peer) = pair();
    let io = IdleIo::new(client).all_idle(Duration::ZERO);
    assert_eq!(io.threshold(All), Some(ms(1)));
    io.handle()
        .set_threshold(Read, Some(Duration::from_nanos(1)));
    assert_eq!(io.threshold(Read), Some(ms(1)));
    io.handle().set_threshold(Read, None);
    let mut events = Watch::new(io.events());
    assert_eq!(events.poll(), None, "not at once");
    event_at(start, &mut events, 1, (All, true)).await;
    event_at(start, &mut events, 2, (All, false)).await;
    event_at(start, &mut events, 3, (All, false)).await;

    let start = Instant::now();
    let (client, _peer) = pair();
    let mut io = IdleIo::new(client)
        .read_idle(Duration::ZERO)
        .time_out_on(Read);
    let mut read = Op::default();
    assert!(read.read(&mut io, 8).is_pending(), "not at once");
    let idle = read_fails_at(start, &mut io, &mut read, 1).await;
    assert_eq!(idle.threshold(), ms(1));
}

/// `Duration::MAX` is Tokio's "never" of 30 years: advanced year by year for 29 years,
/// nothing fires, nothing is woken, and no poll sets a timer again and again.
#[tokio::test(start_paused = true)]
async fn a_max_threshold_never_comes_in_decades_and_nothing_spins() {
    let start = Instant::now();
    let (client, _peer) = pair();
    let mut io = IdleIo::new(client)
        .read_idle(Duration::MAX)
        .write_idle(Duration::MAX)
        .all_idle(Duration::MAX)
        .time_out_on(All);
    assert_eq!(io.threshold(Read), Some(30 * YEAR));
    let mut events = Watch::new(io.events());
    let mut read = Op::default();
    assert_eq!(events.poll(), None);
    assert!(read.read(&mut io, 8).is_pending());
    for years in 1..30 {
        advance_to(start, years * YEAR).await;
        assert_eq!(
            (events.woken(), read.woken()),
            (0, 0),
            "woken at {years} years"
        );
        assert_eq!(events.poll(), None);
        assert!(read.read(&mut io, 8).is_pending());
    }
    assert_eq!(io.timer_resets(), 1);
    assert_eq!(events.get_ref().timer_resets(), 1);
    // At 30 years it is reached, as a `Deadline::after(Duration::MAX)` is
    // (clock_far_future.rs): "never" is Tokio's 30 years, once.
    advance_to(start, 30 * YEAR).await;
    assert_eq!((events.woken(), read.woken()), (1, 1));
    assert_eq!(events.poll(), Some((Read, true)));
    assert_eq!(idle_error(read.read(&mut io, 8)).threshold(), 30 * YEAR);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_io_ends_the_events_and_wakes_a_pending_next() {
    let (client, _peer) = pair();
    let io = IdleIo::new(client).read_idle(ms(100));
    let handle = io.handle();
    let mut events = Watch::new(io.events());
    assert_eq!(events.poll(), None);
    drop(io);
    assert!(handle.is_closed());
    assert_eq!(events.woken(), 1, "the drop wakes it");
    assert!(!events.get_ref().is_terminated());
    assert_eq!(events.poll_end(), std::task::Poll::Ready(None));
    assert!(events.get_ref().is_terminated());
    assert_eq!(events.poll_end(), std::task::Poll::Ready(None));

    // With no threshold the stream has no timer: only the drop can wake it.
    let (client, _peer) = pair();
    let io = IdleIo::new(client);
    let mut events = io.events();
    let waiting = tokio::spawn(async move { events.next().await });
    common::let_tasks_run().await;
    assert!(!waiting.is_finished());
    let _client = io.into_inner();
    assert_eq!(waiting.await.unwrap(), None);
}

/// Every stream sees every event, and each is woken by a threshold change and by the drop,
/// however they were made and polled.
#[tokio::test(start_paused = true)]
async fn two_event_streams_each_see_every_event() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).read_idle(ms(100));
    let mut a = Watch::new(io.events());
    let mut b = Watch::new(io.handle().events());
    assert_eq!((a.poll(), b.poll()), (None, None));
    event_at(start, &mut a, 100, (Read, true)).await;
    assert_eq!(b.woken(), 1);
    assert_eq!(b.poll(), Some((Read, true)));
    advance_to(start, ms(150)).await;
    read_a_byte(&mut io, &mut peer).await;
    io.handle().set_threshold(Read, Some(ms(50)));
    assert_eq!(
        (a.woken(), b.woken()),
        (1, 1),
        "a change wakes every stream"
    );
    assert_eq!((a.poll(), b.poll()), (None, None));
    event_at(start, &mut a, 200, (Read, true)).await;
    assert_eq!(b.woken(), 1);
    assert_eq!(b.poll(), Some((Read, true)));
    // A third stream, made after the others were woken, and dropped again.
    let mut c = Watch::new(io.events());
    assert_eq!(
        (a.poll(), b.poll(), c.poll()),
        (None, None, Some((Read, true)))
    );
    drop(c);
    io.handle().set_threshold(Read, None);
    assert_eq!(
        (a.woken(), b.woken()),
        (1, 1),
        "a change wakes every stream"
    );
    assert_eq!((a.poll(), b.poll()), (None, None));
    drop(io);
    assert_eq!(
        (a.woken(), b.woken()),
        (1, 1),
        "the drop wakes every stream"
    );
    assert_eq!(a.poll_end(), std::task::Poll::Ready(None));
    assert_eq!(b.poll_end(), std::task::Poll::Ready(None));
}

/// Regression: each stream parks its waker in a slot of its own. Two streams made before
/// either was polled (or one made while another's waker was taken by a wake) were given the
/// same slot, so one stream's waker replaced the other's: the other was woken neither by a
/// threshold change nor by the drop, and with no threshold (no timer) its `next()` hung.
#[tokio::test(start_paused = true)]
async fn streams_made_before_a_poll_each_get_their_own_waker_slot() {
    let (client, _peer) = pair();
    let io = IdleIo::new(client);
    let mut a = Watch::new(io.events());
    let mut b = Watch::new(io.events());
    assert_eq!((a.poll(), b.poll()), (None, None));
    io.handle().set_threshold(Read, Some(ms(100)));
    assert_eq!((a.woken(), b.woken()), (1, 1), "a threshold set wakes both");
    io.handle().set_threshold(Read, None);
    // Both wakers were taken by that wake: a stream made now must not take a's slot.
    let mut c = Watch::new(io.events());
    assert_eq!((a.poll(), c.poll(), b.poll()), (None, None, None));
    drop(io);
    assert_eq!(
        (a.woken(), b.woken(), c.woken()),
        (1, 1, 1),
        "the drop wakes all three"
    );

    let (client, _peer) = pair();
    let io = IdleIo::new(client);
    let waiting = [io.events(), io.events()]
        .map(|mut events| tokio::spawn(async move { events.next().await }));
    common::let_tasks_run().await;
    drop(io);
    common::let_tasks_run().await; // no time passes: only the drop's wakes run them
    for task in waiting {
        assert!(task.is_finished(), "a task waiting on next() was not woken");
        assert_eq!(task.await.unwrap(), None);
    }
}

/// A stream made mid-stretch judges the stretch from the last activity: made before the
/// threshold is reached it sees the same first event; made after, its first event comes at
/// its first poll, and its next a threshold later.
#[tokio::test(start_paused = true)]
async fn an_events_stream_made_mid_stretch() {
    let start = Instant::now();
    let (client, _peer) = pair();
    let io = IdleIo::new(client).read_idle(ms(100));
    let mut early = Watch::new(io.events());
    assert_eq!(early.poll(), None);
    advance_to(start, ms(50)).await;
    let mut mid = Watch::new(io.events());
    assert_eq!(mid.poll(), None);
    event_at(start, &mut early, 100, (Read, true)).await;
    assert_eq!(mid.woken(), 1);
    assert_eq!(mid.poll(), Some((Read, true)));
    advance_to(start, ms(150)).await;
    let mut late = Watch::new(io.events());
    assert_eq!(
        late.poll(),
        Some((Read, true)),
        "the threshold passed at 100 ms"
    );
    assert_eq!(late.poll(), None);
    event_at(start, &mut early, 200, (Read, false)).await;
    assert_eq!(late.woken(), 0);
    event_at(start, &mut late, 250, (Read, false)).await;
}

/// The time-out is decided when observed: past the instant, an operation that is ready moves
/// its bytes (nothing was pending), and starts a new stretch; the first one found pending
/// past the instant fails at once.
#[tokio::test(start_paused = true)]
async fn ready_operations_after_the_instant_still_move_bytes() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).all_idle(ms(100)).time_out_on(All);
    let mut op = Op::default();
    advance_to(start, ms(120)).await;
    peer.write_all(b"ready").await.unwrap();
    advance_to(start, ms(150)).await;
    assert_eq!(moved(op.read(&mut io, 64)), 5);
    assert_eq!(moved(op.write(&mut io, b"w")), 1);
    assert_eq!(io.timed_out(), None);
    assert!(op.read(&mut io, 8).is_pending());
    let idle = read_fails_at(start, &mut io, &mut op, 250).await;
    assert_eq!(idle.kind(), All);

    let start = Instant::now();
    let (client, _peer) = pair();
    let mut io = IdleIo::new(client).all_idle(ms(100)).time_out_on(All);
    advance_to(start, ms(150)).await;
    assert_eq!(
        idle_error(op.read(&mut io, 8)).kind(),
        All,
        "pending past the instant"
    );
}

/// Bytes that move cost no timer operation: no op waited, so no timer exists.
#[tokio::test(start_paused = true)]
async fn ten_thousand_reads_and_writes_set_no_timer() {
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client)
        .read_idle(ms(100))
        .write_idle(ms(100))
        .all_idle(ms(100))
        .time_out_on(Read)
        .time_out_on(Write)
        .time_out_on(All);
    // Unconstrained: Tokio's cooperative budget would make one op in 128 wait, once.
    tokio::task::unconstrained(async {
        for n in 0..10_000u32 {
            if n % 100 == 0 {
                tokio::time::advance(ms(1)).await;
            }
            io.write_all(b"ping").await.unwrap();
            peer.read_exact(&mut [0; 4]).await.unwrap();
            peer.write_all(b"pong").await.unwrap();
            io.read_exact(&mut [0; 4]).await.unwrap();
        }
    })
    .await;
    assert_eq!(io.timer_resets(), 0);
    assert_eq!(io.timed_out(), None);
}

/// A read pending through steady writes: its timer fires early once a threshold and is set
/// again once, and the read is woken at most once a threshold.
#[tokio::test(start_paused = true)]
async fn a_pending_read_under_steady_writes_sets_its_timer_at_most_once_a_threshold() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(client).all_idle(ms(100)).time_out_on(All);
    let mut read = Op::default();
    assert!(read.read(&mut io, 8).is_pending());
    for at in (10..=1_000).step_by(10) {
        advance_to(start, ms(at)).await;
        write_a_byte(&mut io, &mut peer).await;
        if read.woken() > 0 {
            assert!(read.read(&mut io, 8).is_pending(), "at {at} ms");
        }
    }
    let (resets, wakes) = (io.timer_resets(), read.wakes());
    assert!(resets <= 11, "{resets} timer sets for 10 thresholds");
    assert!(wakes <= 10, "{wakes} wakes for 10 thresholds");
    let idle = read_fails_at(start, &mut io, &mut read, 1_100).await;
    assert_eq!(idle.kind(), All);
    assert!(io.timer_resets() <= 12);
}

/// Over an `AsyncBufRead`: `poll_fill_buf` waits and times out as a read does; bytes offered
/// by it are not activity until consumed.
#[tokio::test(start_paused = true)]
async fn buf_read_fill_buf_times_out_and_consume_is_activity() {
    let start = Instant::now();
    let (client, mut peer) = pair();
    let mut io = IdleIo::new(tokio::io::BufReader::new(client))
        .read_idle(ms(100))
        .time_out_on(Read);
    let mut fill = Op::default();
    advance_to(start, ms(30)).await;
    peer.write_all(b"hello").await.unwrap();
    assert!(matches!(fill.fill_buf(&mut io), std::task::Poll::Ready(Ok(ref b)) if b == b"hello"));
    assert_eq!(io.handle().last_read(), start, "offered, not consumed");
    advance_to(start, ms(40)).await;
    std::pin::Pin::new(&mut io).consume(0);
    assert_eq!(io.handle().last_read(), start, "nothing consumed");
    std::pin::Pin::new(&mut io).consume(2);
    assert_eq!(io.handle().last_read(), start + ms(40));
    advance_to(start, ms(60)).await;
    std::pin::Pin::new(&mut io).consume(3);
    assert_eq!(io.handle().last_read(), start + ms(60));
    assert!(fill.fill_buf(&mut io).is_pending());
    advance_to(start, ms(159)).await;
    assert_eq!(fill.woken(), 0);
    assert!(fill.fill_buf(&mut io).is_pending());
    advance_to(start, ms(160)).await;
    assert_eq!(fill.woken(), 1);
    let idle = idle_error(fill.fill_buf(&mut io));
    assert_eq!((idle.kind(), idle.threshold()), (Read, ms(100)));
    assert_eq!(idle_error(fill.fill_buf(&mut io)), idle, "and after");
}

/// Split, the read half pending in one task and the write half in another: one timer serves
/// both, and the time-out wakes both.
#[tokio::test(start_paused = true)]
async fn split_halves_pending_in_two_tasks_both_time_out() {
    let start = Instant::now();
    let (client, _peer) = tokio::io::duplex(4);
    let io = IdleIo::new(client).all_idle(ms(100)).time_out_on(All);
    let (mut reader, mut writer) = tokio::io::split(io);
    let (mut read, mut write) = (Op::default(), Op::default());
    assert_eq!(moved(write.write(&mut writer, b"12345678")), 4);
    assert!(write.write(&mut writer, b"5678").is_pending());
    assert!(read.read(&mut reader, 8).is_pending());
    advance_to(start, ms(99)).await;
    assert_eq!((read.woken(), write.woken()), (0, 0));
    assert!(read.read(&mut reader, 8).is_pending());
    assert!(write.write(&mut writer, b"5678").is_pending());
    advance_to(start, ms(100)).await;
    assert_eq!((read.woken(), write.woken()), (1, 1));
    assert_eq!(idle_error(read.read(&mut reader, 8)).kind(), All);
    assert_eq!(idle_error(write.write(&mut writer, b"5678")).kind(), All);

    // The same with two spawned tasks, on the runtime's own wakeups.
    let start = Instant::now();
    let (client, _peer) = tokio::io::duplex(4);
    let io = IdleIo::new(client).all_idle(ms(100)).time_out_on(All);
    let (mut reader, mut writer) = tokio::io::split(io);
    let reading = tokio::spawn(async move {
        let error = reader.read(&mut [0; 8]).await.unwrap_err();
        (error.kind(), Instant::now())
    });
    let writing = tokio::spawn(async move {
        let error = writer.write_all(&[0; 64]).await.unwrap_err();
        (error.kind(), Instant::now())
    });
    let timed_out = (std::io::ErrorKind::TimedOut, start + ms(100));
    assert_eq!(reading.await.unwrap(), timed_out);
    assert_eq!(writing.await.unwrap(), timed_out);
}

/// `IdleKind`s order: read, write, all (the order of events due at the same instant).
#[tokio::test(start_paused = true)]
async fn events_due_at_the_same_instant_come_read_write_all() {
    let start = Instant::now();
    let (client, _peer) = pair();
    let io = IdleIo::new(client)
        .all_idle(ms(100))
        .write_idle(ms(100))
        .read_idle(ms(100));
    let mut events = Watch::new(io.events());
    assert_eq!(events.poll(), None);
    event_at(start, &mut events, 100, (Read, true)).await;
    assert_eq!(events.poll(), Some((Write, true)));
    assert_eq!(events.poll(), Some((All, true)));
    assert_eq!(events.poll(), None);
    let mut kinds = [All, Write, Read];
    kinds.sort();
    assert_eq!(kinds, [Read, Write, All]);
    let _: IdleKind = kinds[0];
}
