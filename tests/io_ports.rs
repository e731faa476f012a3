//! Upstream tests ported to `IdleIo`, each under its upstream name: tokio-io-timeout 1.2.1's
//! `src/lib.rs` tests (a read or write timeout on a wrapper) and Netty's
//! `IdleStateHandlerTest` (handler/src/test/java/io/netty/handler/timeout/), whose
//! `EmbeddedChannel` with a frozen ticker is our paused clock. Where `IdleIo`'s semantics
//! differ from upstream's, the comment says how, and the test asserts ours, at exact instants.
#![cfg(feature = "io")]

mod common;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::idle::{Op, Watch, event_at, moved};
use common::{advance_to, ms};
use deadlines::io::IdleIo;
use deadlines::io::IdleKind::{self, All, Read, Write};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep, sleep_until};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---- tokio-io-timeout 1.2.1 -------------------------------------------------------------
//
// tokio-io-timeout starts a timeout when an operation goes pending and resets it after each
// one that completes; a time-out fails that one operation, and the next may succeed. An
// `IdleIo` measures from the last bytes moved, and its time-out is sticky: once reached, every
// later read, write and flush fails too (it is what drops a connection), so each port asserts
// the later operation fails where upstream's succeeds.

/// tokio-io-timeout's `DelayStream`: each read and write waits until `until`, then succeeds
/// (a read that fills nothing, a write of the whole buffer).
struct DelayStream {
    sleep: Pin<Box<Sleep>>,
}

impl DelayStream {
    fn new(until: Instant) -> Self {
        Self {
            sleep: Box::pin(sleep_until(until)),
        }
    }
}

impl AsyncRead for DelayStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.sleep.as_mut().poll(cx).map(Ok)
    }
}

impl AsyncWrite for DelayStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.sleep.as_mut().poll(cx).map(|()| Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// tokio-io-timeout: read_timeout
#[tokio::test(start_paused = true)]
async fn read_timeout() {
    let start = Instant::now();
    let mut reader = IdleIo::new(DelayStream::new(start + ms(150)))
        .read_idle(ms(100))
        .time_out_on(Read);
    let error = reader.read(&mut [0]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(Instant::now(), start + ms(100));
    // Upstream, the next read succeeds at 150 ms. Here the time-out is sticky.
    advance_to(start, ms(150)).await;
    let error = reader.read(&mut [0]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
}

// tokio-io-timeout: read_ok
#[tokio::test(start_paused = true)]
async fn read_ok() {
    let start = Instant::now();
    let mut reader = IdleIo::new(DelayStream::new(start + ms(100)))
        .read_idle(ms(500))
        .time_out_on(Read);
    assert_eq!(reader.read(&mut [0]).await.unwrap(), 0);
    assert_eq!(Instant::now(), start + ms(100));
    // It filled no bytes: not activity. The read-idle silence still runs from the start.
    assert_eq!(reader.handle().last_read(), start);
}

// tokio-io-timeout: write_timeout
#[tokio::test(start_paused = true)]
async fn write_timeout() {
    let start = Instant::now();
    let mut writer = IdleIo::new(DelayStream::new(start + ms(150)))
        .write_idle(ms(100))
        .time_out_on(Write);
    let error = writer.write(&[0]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(Instant::now(), start + ms(100));
    // Upstream, the next write succeeds at 150 ms. Here the time-out is sticky.
    advance_to(start, ms(150)).await;
    let error = writer.write(&[0]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
}

// tokio-io-timeout: write_ok
#[tokio::test(start_paused = true)]
async fn write_ok() {
    let start = Instant::now();
    let mut writer = IdleIo::new(DelayStream::new(start + ms(100)))
        .write_idle(ms(500))
        .time_out_on(Write);
    assert_eq!(writer.write(&[0]).await.unwrap(), 1);
    assert_eq!(Instant::now(), start + ms(100));
    assert_eq!(
        writer.handle().last_write(),
        start + ms(100),
        "a byte accepted"
    );
}

// tokio-io-timeout: tcp_read
//
// Upstream, a std thread writes a byte after 10 ms of wall-clock sleep and the next 500 ms
// later. Here the peer is a Tokio socket on 127.0.0.1 and the paused clock stands still while
// the first byte travels (`peek` waits for it, with no timer running), so the second read's
// time-out comes at the exact instant; the peer's late byte changes nothing.
#[tokio::test(start_paused = true)]
async fn tcp_read() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (client, mut server) = (client.unwrap(), accepted.unwrap().0);
    server.write_all(b"f").await.unwrap();
    assert_eq!(client.peek(&mut [0]).await.unwrap(), 1);

    let start = Instant::now();
    let mut s = IdleIo::new(client).read_idle(ms(100)).time_out_on(Read);
    assert_eq!(s.read(&mut [0]).await.unwrap(), 1);
    let error = s.read(&mut [0]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(Instant::now(), start + ms(100));
    let _ = server.write_all(b"f").await; // this may hit a closed socket upstream
    assert_eq!(
        s.read(&mut [0]).await.unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
}

// ---- Netty IdleStateHandlerTest ---------------------------------------------------------
//
// `new IdleStateHandler(false, r, w, a, SECONDS)` is `IdleIo` with those thresholds; a
// `userEventTriggered` event is an item of `IdleIo::events`, its `IdleStateEvent` constant a
// (kind, first) pair; `advanceTimeBy` + `runPendingTasks` is an advance of the paused clock
// and a poll of the stream.

fn duplex() -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(1 << 16)
}

/// Netty's `anyIdle`: nothing is read or written; each second of silence yields the next
/// expected event, at exactly that second.
async fn any_idle(io: IdleIo<DuplexStream>, expected: [(IdleKind, bool); 3]) {
    let start = Instant::now();
    let mut events = Watch::new(io.events());
    assert_eq!(events.poll(), None);
    for (n, event) in (1..).zip(expected) {
        event_at(start, &mut events, n * 1_000, event).await;
        assert_eq!(events.poll(), None, "one event a second");
    }
}

// Netty IdleStateHandlerTest: testReaderIdle
#[tokio::test(start_paused = true)]
async fn test_reader_idle() {
    let io = IdleIo::new(duplex().0).read_idle(secs(1));
    any_idle(io, [(Read, true), (Read, false), (Read, false)]).await;
}

// Netty IdleStateHandlerTest: testWriterIdle
#[tokio::test(start_paused = true)]
async fn test_writer_idle() {
    let io = IdleIo::new(duplex().0).write_idle(secs(1));
    any_idle(io, [(Write, true), (Write, false), (Write, false)]).await;
}

// Netty IdleStateHandlerTest: testAllIdle
#[tokio::test(start_paused = true)]
async fn test_all_idle() {
    let io = IdleIo::new(duplex().0).all_idle(secs(1));
    any_idle(io, [(All, true), (All, false), (All, false)]).await;
}

// Netty IdleStateHandlerTest: testResetReader, testResetWriter
//
// Not ported as such: `resetReadTimeout()`/`resetWriteTimeout()` let Netty code mark activity
// that moved no bytes, and `IdleIo` has no such call (its activity is bytes moved, nothing
// else). Their timeline is that of testReaderNotIdle and testWriterNotIdle below, with the
// read or write as the reset.

/// What Netty's actions do to the connection.
#[derive(Clone, Copy)]
enum Action {
    /// `channel.writeInbound(..)`: bytes arrive and are read.
    Read,
    /// `channel.writeAndFlush(..)`: bytes are written and flushed.
    Write,
}

/// Netty's `anyNotIdle`: the action at 500 ms + 1 ns; at 1 s + 1 ns no event (only 500 ms of
/// silence); by 2 s + 1 ns exactly one, `expected`. It comes at exactly the action + 1 s:
/// 1 ns before it the stream yields nothing, at the instant it yields the event when polled,
/// though Tokio's timer, rounding up to the next millisecond, has not woken it yet.
async fn any_not_idle(io: IdleIo<DuplexStream>, mut peer: DuplexStream, action: Action) {
    let expected = (only_kind(&io), true);
    let mut io = io;
    let start = Instant::now();
    let mut events = Watch::new(io.events());
    let nanos = Duration::from_nanos;
    assert_eq!(events.poll(), None);
    advance_to(start, ms(500) + nanos(1)).await;
    match action {
        Action::Read => {
            peer.write_all(b"Hello, World!").await.unwrap();
            assert_eq!(moved(Op::default().read(&mut io, 64)), 13);
        }
        Action::Write => {
            io.write_all(b"Hello, World!").await.unwrap();
            io.flush().await.unwrap();
            peer.read_exact(&mut [0; 13]).await.unwrap();
        }
    }
    advance_to(start, ms(1_000) + nanos(1)).await;
    assert_eq!(events.poll(), None, "idle for 500 ms only");
    advance_to(start, ms(1_500)).await;
    assert_eq!(events.poll(), None, "1 ns early");
    advance_to(start, ms(1_500) + nanos(1)).await;
    assert_eq!(events.woken(), 0, "the timer wakes at 1.501 s");
    assert_eq!(events.poll(), Some(expected));
    advance_to(start, ms(2_000) + nanos(1)).await;
    assert_eq!(events.poll(), None, "exactly one event");
}

/// The one kind these tests' `IdleIo` has a threshold for.
fn only_kind<T>(io: &IdleIo<T>) -> IdleKind {
    let kinds = [Read, Write, All].into_iter();
    let mut set = kinds.filter(|&kind| io.threshold(kind).is_some());
    let kind = set.next().expect("a threshold");
    assert_eq!(set.next(), None, "one threshold");
    kind
}

// Netty IdleStateHandlerTest: testReaderNotIdle
#[tokio::test(start_paused = true)]
async fn test_reader_not_idle() {
    let (client, peer) = duplex();
    let io = IdleIo::new(client).read_idle(secs(1));
    any_not_idle(io, peer, Action::Read).await;
}

// Netty IdleStateHandlerTest: testWriterNotIdle
#[tokio::test(start_paused = true)]
async fn test_writer_not_idle() {
    let (client, peer) = duplex();
    let io = IdleIo::new(client).write_idle(secs(1));
    any_not_idle(io, peer, Action::Write).await;
}

// Netty IdleStateHandlerTest: testAllNotIdle
#[tokio::test(start_paused = true)]
async fn test_all_not_idle() {
    // Reader...
    let (client, peer) = duplex();
    let io = IdleIo::new(client).all_idle(secs(1));
    any_not_idle(io, peer, Action::Read).await;
    // Writer...
    let (client, peer) = duplex();
    let io = IdleIo::new(client).all_idle(secs(1));
    any_not_idle(io, peer, Action::Write).await;
}

// Netty IdleStateHandlerTest: testObserveWriterIdle, testObserveAllIdle
//
// What applies: a write that stays pending because the peer does not read is write idle (the
// baseline event at 5 s), and each time the peer reads, the pending write hands the IO more
// bytes, which is write activity, so the silence restarts there.
//
// What does not: `observeOutput` inspects Netty's `ChannelOutboundBuffer` (the current
// message, pending bytes, flush progress) at each run of the idle task, and suppresses that
// run's event if any changed since the last run; it never marks activity itself, and its
// `first` flag comes back only when a write completes. `IdleIo` has no outbound buffer to
// inspect (a Tokio write is done when it returns) and counts the peer's progress as activity
// when it happens. So Netty's verdict depends on when its task last ran and what the buffer
// looked like then, ours on the last bytes accepted: at 30 s Netty fires, while here the peer
// read 1 s before and nothing is due; and each event here is the first of its stretch, since
// bytes moved before it, where Netty's later events are not first.
async fn observe_output_idle(io: IdleIo<DuplexStream>, mut peer: DuplexStream) {
    let kind = only_kind(&io);
    let mut io = io;
    let start = Instant::now();
    let mut events = Watch::new(io.events());
    let mut write = Op::default();
    // 1 KiB of earlier bytes, then Netty's four messages (1, 2, 3, then 5 KiB), to a peer
    // that reads nothing yet: the duplex (1 KiB) takes the earlier bytes at once, and the
    // messages wait in a pending write, as in Netty's outbound buffer.
    let mut data = vec![1, 2, 3];
    data.extend([0; 5 * 1024]);
    data.splice(0..0, [9; 1024]);
    let mut sent = 0;
    // Polls the write (`write_all`, by hand) until it waits or is done.
    let pump = |io: &mut IdleIo<DuplexStream>, write: &mut Op, sent: &mut usize| {
        while *sent < data.len() {
            match write.write(io, &data[*sent..]) {
                Poll::Ready(Ok(n)) => *sent += n,
                Poll::Pending => break,
                Poll::Ready(Err(error)) => panic!("{error}"),
            }
        }
    };
    pump(&mut io, &mut write, &mut sent);
    assert_eq!(sent, 1024);
    // (Netty's run instant, bytes the peer consumes then (0: none), an event expected)
    let timeline: [(u64, usize, bool); 17] = [
        (5, 0, true), // the baseline: idle once
        (9, 1, false),
        (11, 0, false),
        (13, 1, false),
        (17, 0, false),
        (22, 0, true), // 5 s after the peer's last read at 13 s (Netty: not first)
        (24, 1, false),
        (25, 0, false),
        (27, 1024, false),
        (29, 1024, false),
        (30, 0, false), // Netty fires here: see above
        (32, 1024, false),
        (34, 1024, false),
        (35, 0, false),
        (37, 1024, false), // the last part: the write completes
        (40, 0, false),    // Netty's consume() finds nothing left
        (42, 0, true),     // 5 s after the last bytes moved
    ];
    for (at, consumed, event) in timeline {
        advance_to(start, secs(at)).await;
        let expected = event.then_some((kind, true));
        assert_eq!(events.poll(), expected, "at {at} s");
        assert_eq!(events.poll(), None, "one event at {at} s");
        if consumed > 0 {
            let mut buf = vec![0; consumed];
            peer.read_exact(&mut buf).await.unwrap();
            assert_eq!(write.woken(), 1, "the peer's read wakes the write");
            pump(&mut io, &mut write, &mut sent);
            assert_eq!(io.handle().last_write(), start + secs(at));
        }
    }
    assert_eq!(sent, data.len());
}

// Netty IdleStateHandlerTest: testObserveWriterIdle
#[tokio::test(start_paused = true)]
async fn test_observe_writer_idle() {
    let (client, peer) = tokio::io::duplex(1024);
    observe_output_idle(IdleIo::new(client).write_idle(secs(5)), peer).await;
}

// Netty IdleStateHandlerTest: testObserveAllIdle
#[tokio::test(start_paused = true)]
async fn test_observe_all_idle() {
    let (client, peer) = tokio::io::duplex(1024);
    observe_output_idle(IdleIo::new(client).all_idle(secs(5)), peer).await;
}
