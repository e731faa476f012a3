//! Test support for `deadlines::io`: an events stream and IO operations polled by hand, each
//! with a waker that counts its wakes since the last poll.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use deadlines::io::{IdleEvents, IdleKind, IdleTimedOut};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::{StreamProbe, advance_to, counting_waker, ms};

/// An events stream polled by hand, which knows how often it was woken since its last poll.
pub struct Watch {
    probe: StreamProbe<IdleEvents>,
    seen: usize,
}

impl Watch {
    pub fn new(events: IdleEvents) -> Self {
        Self {
            probe: StreamProbe::new(events),
            seen: 0,
        }
    }

    /// Polls once: `Some((kind, first))` for an event, `None` while it waits. Panics if the
    /// stream ended.
    pub fn poll(&mut self) -> Option<(IdleKind, bool)> {
        let polled = self.probe.poll();
        self.seen = self.probe.wakes();
        match polled {
            Poll::Ready(Some(event)) => Some((event.kind(), event.is_first())),
            Poll::Ready(None) => panic!("the events stream ended"),
            Poll::Pending => None,
        }
    }

    /// Polls once, for a stream that may have ended: `Ready(None)` once it has.
    pub fn poll_end(&mut self) -> Poll<Option<(IdleKind, bool)>> {
        let polled = self.probe.poll();
        self.seen = self.probe.wakes();
        polled.map(|event| event.map(|e| (e.kind(), e.is_first())))
    }

    /// Wakes since the last poll.
    pub fn woken(&self) -> usize {
        self.probe.wakes() - self.seen
    }

    /// Wakes in all, including any that came during a poll.
    pub fn wakes(&self) -> usize {
        self.probe.wakes()
    }

    pub fn get_ref(&self) -> &IdleEvents {
        self.probe.get_ref()
    }
}

/// One IO operation polled by hand with a waker of its own (a task of its own).
pub struct Op {
    waker: Waker,
    wakes: Box<dyn Fn() -> usize>,
    seen: usize,
}

impl Default for Op {
    fn default() -> Self {
        let (waker, wakes) = counting_waker();
        Self {
            waker,
            wakes: Box::new(wakes),
            seen: 0,
        }
    }
}

impl Op {
    /// Wakes since the last poll.
    pub fn woken(&self) -> usize {
        (self.wakes)() - self.seen
    }

    /// Wakes in all, including any that came during a poll.
    pub fn wakes(&self) -> usize {
        (self.wakes)()
    }

    fn polled<R>(&mut self, poll: impl FnOnce(&mut Context<'_>) -> R) -> R {
        let out = poll(&mut Context::from_waker(&self.waker));
        self.seen = (self.wakes)();
        out
    }

    /// A read into a buffer of `room` bytes: how many it filled.
    pub fn read<T: AsyncRead + Unpin>(
        &mut self,
        io: &mut T,
        room: usize,
    ) -> Poll<io::Result<usize>> {
        let mut bytes = vec![0; room];
        let mut buf = ReadBuf::new(&mut bytes);
        self.polled(|cx| Pin::new(io).poll_read(cx, &mut buf))
            .map_ok(|()| buf.filled().len())
    }

    pub fn write<T: AsyncWrite + Unpin>(
        &mut self,
        io: &mut T,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.polled(|cx| Pin::new(io).poll_write(cx, bytes))
    }

    pub fn write_vectored<T: AsyncWrite + Unpin>(
        &mut self,
        io: &mut T,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.polled(|cx| Pin::new(io).poll_write_vectored(cx, bufs))
    }

    pub fn flush<T: AsyncWrite + Unpin>(&mut self, io: &mut T) -> Poll<io::Result<()>> {
        self.polled(|cx| Pin::new(io).poll_flush(cx))
    }

    pub fn shutdown<T: AsyncWrite + Unpin>(&mut self, io: &mut T) -> Poll<io::Result<()>> {
        self.polled(|cx| Pin::new(io).poll_shutdown(cx))
    }

    /// `poll_fill_buf`: a copy of the bytes it offers.
    pub fn fill_buf<T: AsyncBufRead + Unpin>(&mut self, io: &mut T) -> Poll<io::Result<Vec<u8>>> {
        self.polled(|cx| Pin::new(io).poll_fill_buf(cx).map_ok(<[u8]>::to_vec))
    }
}

/// The `IdleTimedOut` inside the `TimedOut` error an operation failed with.
#[track_caller]
pub fn idle_error<T: std::fmt::Debug>(polled: Poll<io::Result<T>>) -> IdleTimedOut {
    match polled {
        Poll::Ready(Err(error)) => {
            assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
            *error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<IdleTimedOut>())
                .expect("the error holds an IdleTimedOut")
        }
        other => panic!("expected a time-out, got {other:?}"),
    }
}

/// `Ready(Ok(n))` of an operation that moved `n` bytes.
#[track_caller]
pub fn moved(polled: Poll<io::Result<usize>>) -> usize {
    match polled {
        Poll::Ready(Ok(n)) => n,
        other => panic!("expected bytes moved, got {other:?}"),
    }
}

/// At `at - 1` ms the stream has not been woken since its last poll and yields nothing; at
/// `at` it has been woken once and yields `expected`.
pub async fn event_at(start: Instant, w: &mut Watch, at: u64, expected: (IdleKind, bool)) {
    advance_to(start, ms(at - 1)).await;
    assert_eq!(w.woken(), 0, "woken before {at} ms");
    assert_eq!(w.poll(), None, "an event 1 ms before {at} ms");
    advance_to(start, ms(at)).await;
    assert_eq!(w.woken(), 1, "not woken once at {at} ms");
    assert_eq!(w.poll(), Some(expected), "at {at} ms");
}

/// At `at - 1` ms the read has not been woken since its last poll and is still pending; at
/// `at` it has been woken once and fails with the time-out, which is returned.
pub async fn read_fails_at<T: AsyncRead + Unpin>(
    start: Instant,
    io: &mut T,
    op: &mut Op,
    at: u64,
) -> IdleTimedOut {
    advance_to(start, ms(at - 1)).await;
    assert_eq!(op.woken(), 0, "the read was woken before {at} ms");
    assert!(op.read(io, 8).is_pending(), "1 ms before {at} ms");
    advance_to(start, ms(at)).await;
    assert_eq!(op.woken(), 1, "the read was not woken once at {at} ms");
    idle_error(op.read(io, 8))
}

/// `event_at` and `read_fails_at` at the same instant: the stream and the read each wait at
/// `at - 1` ms with no wake since their last poll, and at `at` each was woken once, the
/// stream yields `expected` and the read fails.
pub async fn both_at<T: AsyncRead + Unpin>(
    start: Instant,
    w: &mut Watch,
    io: &mut T,
    op: &mut Op,
    at: u64,
    expected: (IdleKind, bool),
) -> IdleTimedOut {
    advance_to(start, ms(at - 1)).await;
    assert_eq!((w.woken(), op.woken()), (0, 0), "woken before {at} ms");
    assert_eq!(w.poll(), None, "an event 1 ms before {at} ms");
    assert!(op.read(io, 8).is_pending(), "1 ms before {at} ms");
    advance_to(start, ms(at)).await;
    assert_eq!((w.woken(), op.woken()), (1, 1), "not woken once at {at} ms");
    assert_eq!(w.poll(), Some(expected), "at {at} ms");
    idle_error(op.read(io, 8))
}
