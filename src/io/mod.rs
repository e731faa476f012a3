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
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

use crate::clock::{instant_at, timer_instant};
use crate::timer::Timer;

mod events;
mod handle;

pub use events::{IdleEvent, IdleEvents, IdleKind};
pub use handle::IdleHandle;
use handle::{Shared, Side};

/// The error inside the [`io::Error`] of kind [`TimedOut`](io::ErrorKind::TimedOut) that an
/// [`IdleIo`] fails with once a threshold of [`time_out_on`](IdleIo::time_out_on) is reached.
///
/// Its `Display` is lowercase, without trailing punctuation, so it composes into larger
/// messages.
///
/// ```
/// use std::time::Duration;
/// use deadlines::io::{IdleIo, IdleKind, IdleTimedOut};
/// use tokio::io::AsyncReadExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (client, _server) = tokio::io::duplex(64);
/// let mut io = IdleIo::new(client)
///     .read_idle(Duration::from_secs(30))
///     .time_out_on(IdleKind::Read);
/// let error = io.read(&mut [0; 8]).await.unwrap_err();
/// let idle: &IdleTimedOut = error.get_ref().unwrap().downcast_ref().unwrap();
/// assert_eq!(idle.kind(), IdleKind::Read);
/// assert_eq!(idle.threshold(), Duration::from_secs(30));
/// assert_eq!(error.to_string(), "connection idle: no bytes read for 30s");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdleTimedOut {
    kind: IdleKind,
    threshold: Duration,
}

impl IdleTimedOut {
    /// The threshold that was reached.
    ///
    /// ```
    /// # use deadlines::io::{IdleKind, IdleTimedOut};
    /// # fn check(idle: IdleTimedOut) {
    /// if idle.kind() == IdleKind::Write {
    ///     // the peer stopped reading
    /// }
    /// # }
    /// ```
    pub fn kind(&self) -> IdleKind {
        self.kind
    }

    /// Finds the time-out in an error's chain: in `error` itself, or in the
    /// [`io::Error`] of any error its [`source`](std::error::Error::source)s lead to (hyper
    /// wraps the IO's error in its own). `io::Error::source` skips the error it wraps, so
    /// walking the sources alone never meets it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind, IdleTimedOut};
    /// use tokio::io::AsyncReadExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (client, _server) = tokio::io::duplex(64);
    /// let mut io = IdleIo::new(client)
    ///     .all_idle(Duration::from_secs(60))
    ///     .time_out_on(IdleKind::All);
    /// let error = io.read(&mut [0; 8]).await.unwrap_err();
    /// let idle = IdleTimedOut::find_in(&error).unwrap();
    /// assert_eq!(idle.kind(), IdleKind::All);
    /// assert_eq!(IdleTimedOut::find_in(&std::io::Error::other("reset")), None);
    /// # }
    /// ```
    pub fn find_in(error: &(dyn std::error::Error + 'static)) -> Option<IdleTimedOut> {
        std::iter::successors(Some(error), |error| error.source()).find_map(|error| {
            let inner = match error.downcast_ref::<io::Error>() {
                Some(io) => io
                    .get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static)),
                None => Some(error),
            };
            inner
                .and_then(|inner| inner.downcast_ref::<IdleTimedOut>())
                .copied()
        })
    }

    /// Its length, as it was when it was reached.
    ///
    /// ```
    /// # use deadlines::io::IdleTimedOut;
    /// # fn log(idle: IdleTimedOut) {
    /// eprintln!("closing after {:?} of silence", idle.threshold());
    /// # }
    /// ```
    pub fn threshold(&self) -> Duration {
        self.threshold
    }
}

impl fmt::Display for IdleTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let silence = self.kind.silence();
        write!(
            f,
            "connection idle: no bytes {silence} for {:?}",
            self.threshold
        )
    }
}

impl std::error::Error for IdleTimedOut {}

impl From<IdleTimedOut> for io::Error {
    fn from(idle: IdleTimedOut) -> Self {
        io::Error::new(io::ErrorKind::TimedOut, idle)
    }
}

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

/// The part of an `IdleIo` that does not depend on `T`, so its code is compiled once, as
/// tokio's `timeout.rs` keeps `poll_delay` apart.
struct Idle {
    // Wakes pending reads and writes at the earliest time-out. Boxed, so that an `IdleIo` is
    // `Unpin` when its IO is (hyper and `AsyncReadExt` need that), and made at the first
    // operation that waits for a time-out: an `IdleIo` without one never allocates it.
    timer: Option<Pin<Box<Timer>>>,
    // What the timer wakes: the shared state, which wakes the read side and the write side.
    // Made once, so a pending operation does not clone an `Arc` to poll the timer.
    timer_waker: Waker,
    // The waker last parked for each side, and the count of takings it was parked after: a
    // side polled again by the same task skips the lock.
    parked: [Option<(Waker, u64)>; 2],
    // The count of takings read before the timer's last poll, if that poll left the `Sleep`
    // waiting in Tokio's wheel: while no taking happened since (the `Sleep` firing, a
    // refusal by the coop budget and a threshold change each wake the shared state, which
    // takes), polling it again would change nothing, and a pending operation skips it.
    timer_quiet: Option<u64>,
    shared: Owner,
    // The kinds that fail the IO, as bits `1 << kind`.
    time_out_on: u8,
    timed_out: Option<IdleTimedOut>,
}

/// The `IdleIo`'s hold on the shared state: dropping it ends the event streams.
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.close();
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
        let shared = Shared::new();
        Self {
            io,
            idle: Idle {
                timer: None,
                timer_waker: Waker::from(shared.clone()),
                parked: [None, None],
                timer_quiet: None,
                shared: Owner(shared),
                time_out_on: 0,
                timed_out: None,
            },
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

impl Idle {
    /// The error of a time-out already reached, for an operation polled after it.
    fn refuse<R>(&self) -> Option<Poll<io::Result<R>>> {
        self.timed_out.map(|idle| Poll::Ready(Err(idle.into())))
    }

    fn moved(&self, side: Side) {
        self.shared.0.moved(side);
    }

    /// An operation on `side` went pending: wait for the earliest time-out along with it,
    /// and fail it if that has come.
    fn pending<R>(&mut self, cx: &mut Context<'_>, side: Side) -> Poll<io::Result<R>> {
        if self.time_out_on == 0 {
            return Poll::Pending;
        }
        let shared = &self.shared.0;
        // Parked before the thresholds are read: a threshold set or shortened from now on
        // wakes this operation. (Parked after, a change made between the reads and the park
        // found no waker to wake, and the operation waited for the old instant.) The park's
        // lock orders it: a change whose wake came before it is seen by the reads after it.
        // The same task parked since the last taking is still parked, and skips the lock: a
        // taking that this check misses has woken it, so it polls again and parks anew.
        let parked = &mut self.parked[side as usize];
        match parked {
            Some((waker, wakes)) if waker.will_wake(cx.waker()) && shared.parked_since(*wakes) => {}
            _ => *parked = Some((cx.waker().clone(), shared.park_io(side, cx.waker()))),
        }
        let mut earliest: Option<(u64, IdleKind)> = None;
        for kind in IdleKind::ALL {
            if self.time_out_on & 1 << kind as u8 == 0 {
                continue;
            }
            if let Some(threshold) = shared.threshold_ticks(kind) {
                let due = shared.activity(kind).saturating_add(threshold);
                if earliest.is_none_or(|(e, _)| due < e) {
                    earliest = Some((due, kind));
                }
            }
        }
        let Some((due, kind)) = earliest else {
            self.timer = None;
            self.timer_quiet = None;
            return Poll::Pending;
        };
        let at = instant_at(shared.origin, due);
        let timer = self.timer.get_or_insert_with(|| Box::pin(Timer::new()));
        let wakes = shared.io_wakes();
        if self.timer_quiet == Some(wakes)
            && timer.deadline().is_some_and(|set| set <= timer_instant(at))
        {
            // In the wheel with our waker, due no later than `at`, not fired since.
            return Poll::Pending;
        }
        let mut timer_cx = Context::from_waker(&self.timer_waker);
        if timer.as_mut().poll_until(&mut timer_cx, at).is_pending() {
            self.timer_quiet = Some(wakes);
            return Poll::Pending;
        }
        self.timer_quiet = None;
        let idle = IdleTimedOut {
            kind,
            threshold: shared.threshold(kind).unwrap_or_default(),
        };
        self.timed_out = Some(idle);
        shared.time_out(idle);
        Poll::Ready(Err(idle.into()))
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

impl Idle {
    fn written(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved(Side::Write);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.pending(cx, Side::Write),
            failed => failed,
        }
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
