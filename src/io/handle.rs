//! What an [`IdleIo`](super::IdleIo) shares with its handles: the instants of the last bytes
//! moved each way, the thresholds, and the wakers to call when a threshold changes.
//!
//! Every word is written with a plain atomic store and read with a plain load (`Relaxed`):
//! each holds one value on its own, and no decision reads two words that must agree. A
//! judgment that loads an activity tick while the IO stores a newer one may see either,
//! which is the race any timeout has with the byte that arrives as it fires; the decision is
//! then the one the value it saw implies, as a watchdog's expiry is decided when observed.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::task::{Wake, Waker};
use std::time::Duration;

use tokio::time::Instant;

use super::IdleTimedOut;
use super::events::{IdleEvents, IdleKind};
use crate::clock::{FAR_FUTURE, GRANULARITY, tick, ticks};
use crate::sync::{Mutex, lock};

/// A threshold not set.
pub(super) const UNSET: u64 = u64::MAX;

/// Which way bytes moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Read = 0,
    Write = 1,
}

pub(super) struct Shared {
    /// Tick zero: the instant the `IdleIo` was made, which counts as activity both ways.
    pub(super) origin: Instant,
    /// Ticks (nanoseconds after `origin`) of the last read and the last write that moved
    /// bytes, indexed by `Side`.
    last: [AtomicU64; 2],
    /// Thresholds in ticks, indexed by `IdleKind`; `UNSET` when not set.
    thresholds: [AtomicU64; 3],
    /// The tick each threshold was last set at from unset: a threshold counts from the later
    /// of this and the last activity of its kind, so one lifted and set again does not count
    /// the time it was lifted.
    armed: [AtomicU64; 3],
    /// The time-out the IO failed with, once it did: for the code that does not own the IO
    /// (hyper, which reads a failed read between requests as the peer hanging up).
    timed_out: OnceLock<IdleTimedOut>,
    /// The `IdleIo` was dropped: its event streams end.
    closed: AtomicBool,
    /// How many times the IO's parked wakers were taken to be woken: a pending operation
    /// whose waker is parked since the last taking need not take the lock to park it again.
    io_wakes: AtomicU64,
    wakers: Mutex<Wakers>,
}

/// Who waits on the shared state: the IO's pending read and write (woken when their
/// timeout may have moved earlier) and each event stream (slot per stream).
#[derive(Default)]
struct Wakers {
    io: [Option<Waker>; 2],
    /// A slot per live event stream: `Some(waker)` while it is parked, `Some(None)` while it
    /// is not; `None` once its stream is dropped, free for the next. A slot is free only then:
    /// a stream not parked yet (or just woken) keeps its slot, so no two streams share one.
    events: Vec<Option<Option<Waker>>>,
}

impl Shared {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            last: [AtomicU64::new(0), AtomicU64::new(0)],
            thresholds: [UNSET, UNSET, UNSET].map(AtomicU64::new),
            armed: [0, 0, 0].map(AtomicU64::new),
            timed_out: OnceLock::new(),
            closed: AtomicBool::new(false),
            io_wakes: AtomicU64::new(0),
            wakers: Mutex::default(),
        })
    }

    /// Bytes moved: a clock read and a store, no timer operation.
    #[inline]
    pub(super) fn moved(&self, side: Side) {
        self.last[side as usize].store(tick(self.origin, Instant::now()), Relaxed);
    }

    /// The tick the threshold of `kind` counts from: the last activity it counts (reads,
    /// writes, or either), or the moment the threshold was set, if that is later.
    pub(super) fn activity(&self, kind: IdleKind) -> u64 {
        let read = || self.last[Side::Read as usize].load(Relaxed);
        let write = || self.last[Side::Write as usize].load(Relaxed);
        let last = match kind {
            IdleKind::Read => read(),
            IdleKind::Write => write(),
            IdleKind::All => read().max(write()),
        };
        last.max(self.armed[kind as usize].load(Relaxed))
    }

    /// The threshold of `kind` in ticks, or `None`.
    pub(super) fn threshold_ticks(&self, kind: IdleKind) -> Option<u64> {
        let t = self.thresholds[kind as usize].load(Relaxed);
        (t != UNSET).then_some(t)
    }

    pub(super) fn threshold(&self, kind: IdleKind) -> Option<Duration> {
        self.threshold_ticks(kind).map(Duration::from_nanos)
    }

    /// Sets a threshold and wakes everyone who waits on one, so a shorter threshold is acted
    /// on at once instead of at the old instant.
    pub(super) fn set_threshold(&self, kind: IdleKind, threshold: Option<Duration>) {
        let t = threshold.map_or(UNSET, |d| ticks(d.clamp(GRANULARITY, FAR_FUTURE)));
        if t != UNSET {
            // Stored first: a judgment that sees the new threshold sees where it counts from,
            // or an earlier start, which only a setter racing its own first judgment can see.
            let now = tick(self.origin, Instant::now());
            if self.thresholds[kind as usize].load(Relaxed) == UNSET {
                self.armed[kind as usize].store(now, Relaxed);
            }
        }
        self.thresholds[kind as usize].store(t, Relaxed);
        self.wake_all();
    }

    /// Records the time-out the IO failed with; the first one stays.
    pub(super) fn time_out(&self, idle: IdleTimedOut) {
        let _ = self.timed_out.set(idle);
    }

    pub(super) fn timed_out(&self) -> Option<IdleTimedOut> {
        self.timed_out.get().copied()
    }

    pub(super) fn last(&self, side: Side) -> Instant {
        self.origin + Duration::from_nanos(self.last[side as usize].load(Relaxed))
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// The IO is gone: its event streams end.
    pub(super) fn close(&self) {
        self.closed.store(true, Relaxed);
        self.wake_all();
    }

    /// Remembers who waits on the IO's `side`, to wake it when the timeout moves. Returns
    /// the count of takings it was parked after, for [`parked_since`](Self::parked_since).
    pub(super) fn park_io(&self, side: Side, waker: &Waker) -> u64 {
        let mut wakers = lock(&self.wakers);
        park(&mut wakers.io[side as usize], waker);
        // Read under the lock, which every taking holds: no taking lies between the two.
        self.io_wakes.load(Relaxed)
    }

    /// Whether the wakers parked at `wakes` (a count `park_io` returned) are still parked.
    /// If a taking slipped in after this check, it also woke them, so the task polls again
    /// and parks anew: skipping the lock can delay a wakeup by nothing.
    pub(super) fn parked_since(&self, wakes: u64) -> bool {
        self.io_wakes.load(Relaxed) == wakes
    }

    /// The count of takings so far: what `parked_since` compares with.
    pub(super) fn io_wakes(&self) -> u64 {
        self.io_wakes.load(Relaxed)
    }

    /// A slot for one more event stream's waker.
    pub(super) fn add_events(&self) -> usize {
        let mut wakers = lock(&self.wakers);
        match wakers.events.iter().position(Option::is_none) {
            Some(free) => {
                wakers.events[free] = Some(None);
                free
            }
            None => {
                wakers.events.push(Some(None));
                wakers.events.len() - 1
            }
        }
    }

    pub(super) fn park_events(&self, slot: usize, waker: &Waker) {
        if let Some(Some(parked)) = lock(&self.wakers).events.get_mut(slot) {
            park(parked, waker);
        }
    }

    pub(super) fn remove_events(&self, slot: usize) {
        if let Some(parked) = lock(&self.wakers).events.get_mut(slot) {
            *parked = None;
        }
    }

    fn wake_io(&self) {
        let woken = self.take_io(&mut lock(&self.wakers));
        woken.into_iter().flatten().for_each(Waker::wake);
    }

    fn take_io(&self, wakers: &mut Wakers) -> [Option<Waker>; 2] {
        self.io_wakes.fetch_add(1, Relaxed);
        std::mem::take(&mut wakers.io)
    }

    fn wake_all(&self) {
        let woken: Vec<Waker> = {
            let mut wakers = lock(&self.wakers);
            let io = self.take_io(&mut wakers);
            let events = wakers.events.iter_mut().flatten().map(Option::take);
            io.into_iter().chain(events).flatten().collect()
        };
        // Outside the lock: a waker may run code that polls us again.
        woken.into_iter().for_each(Waker::wake);
    }
}

/// Stores `waker` unless the one stored already wakes the same task.
fn park(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(parked) if parked.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// The IO's timer wakes the shared state, which wakes whoever waits on the read side and on
/// the write side: one `Sleep` serves both, even when they are polled by different tasks.
impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_io();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_io();
    }
}

/// A handle to an [`IdleIo`](super::IdleIo)'s thresholds and activity, for the code that does
/// not own the connection: a hyper service that lifts the read threshold while it streams a
/// response, a task that logs idle events.
///
/// Cloning it is cheap (an `Arc`); it is `Send + Sync`. It does not keep the connection open:
/// once the `IdleIo` is dropped, [`is_closed`](Self::is_closed) is `true` and its event
/// streams end.
///
/// ```
/// use std::time::Duration;
/// use deadlines::io::{IdleIo, IdleKind};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (client, _server) = tokio::io::duplex(64);
/// let io = IdleIo::new(client).read_idle(Duration::from_secs(30));
/// let handle = io.handle();
/// handle.set_threshold(IdleKind::Read, None); // streaming: the peer sends nothing
/// assert_eq!(io.threshold(IdleKind::Read), None);
/// drop(io);
/// assert!(handle.is_closed());
/// # }
/// ```
#[derive(Clone)]
pub struct IdleHandle {
    pub(super) shared: Arc<Shared>,
}

impl IdleHandle {
    /// Sets (or, with `None`, removes) the threshold of `kind`, while the connection runs.
    ///
    /// A changed threshold applies to the current idle stretch: an event (or a time-out)
    /// comes at the last activity of that kind plus the new threshold, or at once if that
    /// has passed; in a stretch that already had events, the next comes one new threshold
    /// after the last. A threshold set where none was (at first, or after `None` lifted it)
    /// counts from now if that is later than the last activity: lifting the read threshold
    /// while a response streams and setting it again afterwards does not count the stream as
    /// silence. Pending reads and writes and the event streams are woken, so a shorter
    /// threshold is acted on at its instant. A threshold below a millisecond (Tokio's timer
    /// granularity) is raised to a millisecond; one past about 30 years is cut
    /// to 30 years, as `tokio::time::sleep` cuts its duration.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client);
    /// io.handle().set_threshold(IdleKind::All, Some(Duration::ZERO));
    /// assert_eq!(io.threshold(IdleKind::All), Some(Duration::from_millis(1)));
    /// ```
    pub fn set_threshold(&self, kind: IdleKind, threshold: Option<Duration>) {
        self.shared.set_threshold(kind, threshold);
    }

    /// The threshold of `kind`, if set.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::{IdleIo, IdleKind};
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client).write_idle(Duration::from_secs(5));
    /// assert_eq!(io.handle().threshold(IdleKind::Write), Some(Duration::from_secs(5)));
    /// assert_eq!(io.handle().threshold(IdleKind::Read), None);
    /// ```
    pub fn threshold(&self, kind: IdleKind) -> Option<Duration> {
        self.shared.threshold(kind)
    }

    /// When a read last moved bytes (the `IdleIo`'s creation if none has).
    ///
    /// ```
    /// use deadlines::io::IdleIo;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use tokio::time::{Duration, Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (client, mut server) = tokio::io::duplex(64);
    /// let mut io = IdleIo::new(client);
    /// sleep(Duration::from_secs(2)).await;
    /// server.write_all(b"hi").await.unwrap();
    /// io.read(&mut [0; 8]).await.unwrap();
    /// assert_eq!(io.handle().last_read(), Instant::now());
    /// # }
    /// ```
    pub fn last_read(&self) -> Instant {
        self.shared.last(Side::Read)
    }

    /// When a write last moved bytes (the `IdleIo`'s creation if none has).
    ///
    /// ```
    /// use deadlines::io::IdleIo;
    /// use tokio::io::AsyncWriteExt;
    /// use tokio::time::{Duration, Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (client, _server) = tokio::io::duplex(64);
    /// let mut io = IdleIo::new(client);
    /// let made = Instant::now();
    /// assert_eq!(io.handle().last_write(), made);
    /// sleep(Duration::from_secs(2)).await;
    /// io.write_all(b"hi").await.unwrap();
    /// assert_eq!(io.handle().last_write(), made + Duration::from_secs(2));
    /// # }
    /// ```
    pub fn last_write(&self) -> Instant {
        self.shared.last(Side::Write)
    }

    /// A new stream of this connection's idle events; see [`IdleEvents`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::IdleIo;
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client).all_idle(Duration::from_secs(60));
    /// let events = io.handle().events(); // no runtime needed to make it
    /// # drop(events);
    /// ```
    pub fn events(&self) -> IdleEvents {
        IdleEvents::new(self.shared.clone())
    }

    /// The time-out the IO failed with, once a threshold of
    /// [`time_out_on`](super::IdleIo::time_out_on) was reached; `None` before. For a server
    /// that handed the IO to hyper: hyper reads a failed read between requests as the peer
    /// hanging up, and returns no error for it.
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
    ///     .read_idle(Duration::from_secs(5))
    ///     .time_out_on(IdleKind::Read);
    /// let handle = io.handle();
    /// let connection = tokio::spawn(async move { io.read(&mut [0; 8]).await });
    /// assert!(connection.await.unwrap().is_err());
    /// assert_eq!(handle.timed_out().unwrap().kind(), IdleKind::Read);
    /// # }
    /// ```
    pub fn timed_out(&self) -> Option<IdleTimedOut> {
        self.shared.timed_out()
    }

    /// `true` once the `IdleIo` was dropped (or unwrapped with `into_inner`).
    ///
    /// ```
    /// use deadlines::io::IdleIo;
    ///
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client);
    /// let handle = io.handle();
    /// assert!(!handle.is_closed());
    /// let _client = io.into_inner();
    /// assert!(handle.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }
}

impl fmt::Debug for IdleHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleHandle")
            .field("read_idle", &self.threshold(IdleKind::Read))
            .field("write_idle", &self.threshold(IdleKind::Write))
            .field("all_idle", &self.threshold(IdleKind::All))
            .field("last_read", &self.last_read())
            .field("last_write", &self.last_write())
            .field("timed_out", &self.timed_out())
            .field("closed", &self.is_closed())
            .finish()
    }
}
