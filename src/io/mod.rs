//! Connection liveness on any Tokio IO: [`IdleIo`] notices when a connection goes quiet,
//! Netty's `IdleStateHandler` for Tokio (feature `io`).
//!
//! Wrap a socket in [`IdleIo`] and give it thresholds: read idle (no bytes read for `d`),
//! write idle (no bytes written for `d`), all idle (neither). It then does either or both of:
//!
//! - **Events.** [`IdleIo::events`] (or [`IdleHandle::events`], from another task) is a
//!   stream of [`IdleEvent`]s, each with its [`IdleKind`] and a `first` flag, for the code
//!   that sends a ping when the peer is quiet or logs a silence.
//! - **Time-outs.** [`IdleIo::time_out_on`] makes a threshold fail the IO: once it is
//!   reached, the pending read or write, and every later one, fails with
//!   [`io::ErrorKind::TimedOut`]. Hand such an `IdleIo` to hyper, tonic or any protocol
//!   loop and it drops the connection, with no code of yours in the loop.
//!
//! ```
//! use std::time::Duration;
//! use deadlines::io::{IdleIo, IdleKind};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::time::Instant;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let start = Instant::now();
//! let (socket, mut peer) = tokio::io::duplex(1024);
//! let mut conn = IdleIo::new(socket)
//!     .all_idle(Duration::from_secs(60))
//!     .time_out_on(IdleKind::All);
//! peer.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
//! let mut request = [0; 64];
//! let n = conn.read(&mut request).await.unwrap(); // bytes moved: the silence starts now
//! conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.unwrap();
//! // The peer keeps the connection open and says nothing more.
//! let error = conn.read(&mut request[n..]).await.unwrap_err();
//! assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
//! assert_eq!(start.elapsed(), Duration::from_secs(60));
//! # }
//! ```
//!
//! # What counts as activity
//!
//! A read that moved bytes into the buffer, a write (or vectored write) that the IO accepted
//! bytes of, and, for an [`AsyncBufRead`], a `consume` of bytes. Nothing else: a read that
//! returns no bytes (end of file, or a buffer with no room), a write of no bytes, a flush and
//! a shutdown leave the silence running, so a peer that closed its side is read idle from its
//! last byte. The `IdleIo`'s creation counts as activity both ways.
//!
//! Recording activity costs a clock read and a store, and no timer operation: the threshold
//! is judged lazily, as Netty's handler does, by a timer that fires at the earliest instant
//! it could be reached and is set again, once, if activity has moved that instant since.
//!
//! # Time-outs
//!
//! With [`time_out_on`](IdleIo::time_out_on) a threshold is reached at the first poll that
//! finds a read or write pending at or after one threshold after the last activity of its
//! kind: that poll fails with [`TimedOut`](io::ErrorKind::TimedOut), and so does every read,
//! write and flush after it (its error is an [`IdleTimedOut`], which says what was idle and
//! for how long). `poll_shutdown` still passes through, so the connection can be closed
//! cleanly. An operation that is ready when polled moves its bytes even after the instant,
//! since nothing was pending to time out: the decision is made when observed, as a
//! [`Watchdog`](crate::Watchdog)'s is.
//!
//! # Changing thresholds
//!
//! [`IdleHandle::set_threshold`] changes one while the connection runs, from any task: a
//! hyper service that streams a long response lifts the read threshold for its connection.
//! A changed threshold is measured from the last activity (or the last event) of its kind; one
//! set where none was counts from the moment it is set, if that is later. Code that does not
//! own the IO learns of a time-out from [`IdleHandle::timed_out`], and finds it in a wrapping
//! error (hyper's) with [`IdleTimedOut::find_in`].
//!
//! # Precision
//!
//! Tokio's timer counts whole milliseconds and rounds an instant up to the next one: an
//! event or a time-out comes at the first poll at or after its instant, at most about a
//! millisecond late when the timer wakes the task, never early. A threshold below a
//! millisecond is raised to one; one past about 30 years is cut to 30 years, as
//! `tokio::time::sleep` cuts its duration.
//!
//! # Comparison with other crates
//!
//! - tokio-io-timeout's `TimeoutStream` sets a read and a write timeout, each counted from
//!   when an operation becomes pending, and resets its `Sleep` on each operation after one
//!   was pending. A read timeout of it cuts a server-sent-event stream whose client sends
//!   nothing; [`IdleKind::All`] does not while bytes are written. It has no events.
//! - hyper's `header_read_timeout` bounds the reading of a request's head only; an idle
//!   keep-alive connection between requests is not covered by it.
//! - Netty's `IdleStateHandler` has the same three thresholds and the `first` flag; its
//!   `observeOutput` (a slow write in progress is not write idle) has no counterpart, since
//!   a Tokio write is not in progress until it returns: a write that stays pending is write
//!   idle, which is what catches a peer that stopped reading.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

mod error;
mod events;
mod handle;
mod idle;

pub use error::IdleTimedOut;
pub use events::{IdleEvent, IdleEvents, IdleKind};
pub use handle::IdleHandle;
use handle::Side;
use idle::Idle;

pin_project! {
    /// An IO (a socket, a TLS stream, a duplex) that knows how long it has been idle, each way:
    /// see the [module docs](self).
    ///
    /// It implements [`AsyncRead`], [`AsyncWrite`] and, when `T` does, [`AsyncBufRead`],
    /// passing each operation through and recording the ones that moved bytes. Build it with
    /// [`new`](Self::new) and the threshold methods; no runtime is needed until it is polled.
    ///
    /// ```text
    /// all_idle(100 ms).time_out_on(All); reads (r) and writes (w) that moved bytes
    ///
    /// time (ms)     0    50   100  150  200  250  300  350  400
    ///               |----|----|----|----|----|----|----|----|
    /// reads         r
    /// writes             w         w         w
    /// all idle                                         ^ pending read fails: TimedOut
    /// ```
    ///
    /// It is `Unpin` when `T` is, as a `TcpStream` is.
    ///
    /// # Panics
    ///
    /// Polling an operation that goes pending, with a time-out set, outside a Tokio runtime
    /// with the time driver enabled.
    #[must_use = "an IdleIo does nothing unless read or written"]
    pub struct IdleIo<T> {
        #[pin]
        io: T,
        idle: Idle,
    }
}

impl<T> IdleIo<T> {
    /// Wraps `io`, with no threshold set. Its creation counts as activity both ways.
    ///
    /// ```
    /// use deadlines::io::{IdleIo, IdleKind};
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client); // no runtime needed
    /// assert_eq!(io.threshold(IdleKind::All), None);
    /// ```
    pub fn new(io: T) -> Self {
        Self {
            io,
            idle: Idle::new(),
        }
    }

    /// Sets the read-idle threshold: no read moved bytes for `threshold`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client).read_idle(Duration::from_secs(30));
    /// assert_eq!(io.threshold(IdleKind::Read), Some(Duration::from_secs(30)));
    /// ```
    pub fn read_idle(self, threshold: Duration) -> Self {
        self.with(IdleKind::Read, threshold)
    }

    /// Sets the write-idle threshold: no write moved bytes for `threshold`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client).write_idle(Duration::from_secs(15));
    /// assert_eq!(io.threshold(IdleKind::Write), Some(Duration::from_secs(15)));
    /// ```
    pub fn write_idle(self, threshold: Duration) -> Self {
        self.with(IdleKind::Write, threshold)
    }

    /// Sets the all-idle threshold: neither a read nor a write moved bytes for `threshold`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client).all_idle(Duration::from_secs(60));
    /// assert_eq!(io.threshold(IdleKind::All), Some(Duration::from_secs(60)));
    /// ```
    pub fn all_idle(self, threshold: Duration) -> Self {
        self.with(IdleKind::All, threshold)
    }

    fn with(self, kind: IdleKind, threshold: Duration) -> Self {
        self.idle.shared.0.set_threshold(kind, Some(threshold));
        self
    }

    /// Makes the threshold of `kind` fail the IO: once it is reached, the pending operation
    /// and every later read, write and flush fail with [`io::ErrorKind::TimedOut`] (see
    /// [Time-outs](self#time-outs)). Call it once per kind; a kind with no threshold set
    /// times nothing out until one is set.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    /// use tokio::io::AsyncWriteExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// // A peer that stops reading: the write stays pending, and fails at the threshold.
    /// let (client, _server) = tokio::io::duplex(4);
    /// let mut io = IdleIo::new(client)
    ///     .write_idle(Duration::from_secs(10))
    ///     .time_out_on(IdleKind::Write);
    /// let error = io.write_all(b"more than four bytes").await.unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    /// # }
    /// ```
    pub fn time_out_on(mut self, kind: IdleKind) -> Self {
        self.idle.time_out_on |= 1 << kind as u8;
        self
    }

    /// The threshold of `kind`, if set.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client).read_idle(Duration::from_secs(3));
    /// assert_eq!(io.threshold(IdleKind::Read), Some(Duration::from_secs(3)));
    /// assert_eq!(io.threshold(IdleKind::Write), None);
    /// ```
    pub fn threshold(&self, kind: IdleKind) -> Option<Duration> {
        self.idle.shared.0.threshold(kind)
    }

    /// A handle to the thresholds and activity, for other tasks: see [`IdleHandle`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client);
    /// let handle = io.handle();
    /// handle.set_threshold(IdleKind::Read, Some(Duration::from_secs(5)));
    /// assert_eq!(io.threshold(IdleKind::Read), Some(Duration::from_secs(5)));
    /// ```
    pub fn handle(&self) -> IdleHandle {
        IdleHandle {
            shared: self.idle.shared.0.clone(),
        }
    }

    /// A stream of this connection's idle events: see [`IdleEvents`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    /// use futures_util::StreamExt;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client).read_idle(Duration::from_secs(30));
    /// let mut events = io.events();
    /// assert_eq!(events.next().await.unwrap().kind(), IdleKind::Read);
    /// assert_eq!(start.elapsed(), Duration::from_secs(30));
    /// # }
    /// ```
    pub fn events(&self) -> IdleEvents {
        self.handle().events()
    }

    /// The time-out this IO failed with, once one of [`time_out_on`](Self::time_out_on)'s
    /// thresholds was reached; `None` before.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    /// use tokio::io::AsyncReadExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (client, _server) = tokio::io::duplex(64);
    /// let mut io = IdleIo::new(client)
    ///     .all_idle(Duration::from_secs(1))
    ///     .time_out_on(IdleKind::All);
    /// assert_eq!(io.timed_out(), None);
    /// io.read(&mut [0; 8]).await.unwrap_err();
    /// assert_eq!(io.timed_out().unwrap().kind(), IdleKind::All);
    /// # }
    /// ```
    pub fn timed_out(&self) -> Option<IdleTimedOut> {
        self.idle.timed_out
    }

    /// How many times this IO has set its Tokio timer: created it or reset it. A diagnostic:
    /// a read or write that moves bytes sets none; pending operations set it at most once a
    /// threshold.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (client, mut server) = tokio::io::duplex(64);
    /// let mut io = IdleIo::new(client)
    ///     .all_idle(Duration::from_secs(1))
    ///     .time_out_on(IdleKind::All);
    /// for _ in 0..1_000 {
    ///     io.write_all(b"ping").await.unwrap();
    ///     server.read_exact(&mut [0; 4]).await.unwrap();
    /// }
    /// // None, or one if Tokio's cooperative budget made a write wait once.
    /// assert!(io.timer_resets() <= 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.idle.timer.as_ref().map_or(0, |timer| timer.sets())
    }

    /// The wrapped IO.
    ///
    /// ```
    /// use deadlines::io::IdleIo;
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client);
    /// let _client: &tokio::io::DuplexStream = io.get_ref();
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The wrapped IO, mutably. Bytes moved through it directly are not activity.
    ///
    /// ```
    /// use deadlines::io::IdleIo;
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let mut io = IdleIo::new(client);
    /// let _client: &mut tokio::io::DuplexStream = io.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The wrapped IO, pinned. Bytes moved through it directly are not activity.
    ///
    /// ```
    /// use deadlines::io::IdleIo;
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let mut io = std::pin::pin!(IdleIo::new(client));
    /// let _client = io.as_mut().get_pin_mut();
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().io
    }

    /// The wrapped IO. The handles see the connection as closed, and its event streams end.
    ///
    /// ```
    /// use deadlines::io::IdleIo;
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client);
    /// let handle = io.handle();
    /// let _client = io.into_inner();
    /// assert!(handle.is_closed());
    /// ```
    pub fn into_inner(self) -> T {
        self.io
    }
}

impl<T: AsyncRead> AsyncRead for IdleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if let Some(refused) = this.idle.refuse() {
            return refused;
        }
        let before = buf.filled().len();
        match this.io.poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.idle.moved(Side::Read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => this.idle.pending(cx, Side::Read),
            failed => failed,
        }
    }
}

impl<T: AsyncWrite> AsyncWrite for IdleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        if let Some(refused) = this.idle.refuse() {
            return refused;
        }
        let written = this.io.poll_write(cx, buf);
        this.idle.written(cx, written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        if let Some(refused) = this.idle.refuse() {
            return refused;
        }
        let written = this.io.poll_write_vectored(cx, bufs);
        this.idle.written(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        if let Some(refused) = this.idle.refuse() {
            return refused;
        }
        match this.io.poll_flush(cx) {
            Poll::Pending => this.idle.pending(cx, Side::Write),
            done => done,
        }
    }

    /// Passes through, even after a time-out, so the connection can be closed cleanly.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

impl<T: AsyncBufRead> AsyncBufRead for IdleIo<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.project();
        if let Some(refused) = this.idle.refuse() {
            return refused;
        }
        match this.io.poll_fill_buf(cx) {
            Poll::Pending => this.idle.pending(cx, Side::Read),
            filled => filled,
        }
    }

    /// Consuming bytes is read activity.
    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.project();
        this.io.consume(amt);
        if amt > 0 {
            this.idle.moved(Side::Read);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for IdleIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleIo")
            .field("io", &self.io)
            .field("handle", &self.handle())
            .field("time_out_on", &self.idle.time_out_on)
            .field("timed_out", &self.idle.timed_out)
            .field(
                "timer",
                &self.idle.timer.as_ref().and_then(|timer| timer.deadline()),
            )
            .finish()
    }
}
