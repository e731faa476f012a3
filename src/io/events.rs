//! [`IdleEvents`]: a connection's idle events, Netty's `IdleStateEvent`s, as a stream.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};
use tokio::time::Instant;

use super::handle::Shared;
use crate::clock::{instant_at, tick};
use crate::timer::Timer;

/// Which silence an idle threshold measures: Netty's `IdleState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdleKind {
    /// No read moved bytes for the threshold (Netty's `READER_IDLE`).
    Read = 0,
    /// No write moved bytes for the threshold (Netty's `WRITER_IDLE`).
    Write = 1,
    /// Neither a read nor a write moved bytes for the threshold (Netty's `ALL_IDLE`).
    All = 2,
}

/// `read idle`, `write idle`, `all idle`.
///
/// ```
/// use deadlines::io::IdleKind;
///
/// assert_eq!(IdleKind::Write.to_string(), "write idle");
/// ```
impl fmt::Display for IdleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdleKind::Read => "read idle",
            IdleKind::Write => "write idle",
            IdleKind::All => "all idle",
        })
    }
}

impl IdleKind {
    /// The three kinds, in the order their events come when due at the same instant.
    pub(super) const ALL: [IdleKind; 3] = [IdleKind::Read, IdleKind::Write, IdleKind::All];

    /// What did not happen, for messages: "read", "written", "read or written".
    pub(super) fn silence(self) -> &'static str {
        match self {
            IdleKind::Read => "read",
            IdleKind::Write => "written",
            IdleKind::All => "read or written",
        }
    }
}

/// One idle event: which threshold was reached, and whether it is the first of its idle
/// stretch (Netty's `IdleStateEvent::isFirst`).
///
/// ```
/// use std::time::Duration;
/// use deadlines::io::{IdleEvent, IdleIo, IdleKind};
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let (client, _server) = tokio::io::duplex(64);
/// let io = IdleIo::new(client).read_idle(Duration::from_secs(10));
/// let mut events = io.events();
/// let event: IdleEvent = events.next().await.unwrap();
/// assert_eq!(event.kind(), IdleKind::Read);
/// assert!(event.is_first());
/// assert!(!events.next().await.unwrap().is_first()); // 10 s later, the same stretch
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdleEvent {
    kind: IdleKind,
    first: bool,
}

impl IdleEvent {
    /// Which threshold was reached.
    ///
    /// ```
    /// # use deadlines::io::{IdleEvent, IdleKind};
    /// # fn check(event: IdleEvent) {
    /// if event.kind() == IdleKind::Write {
    ///     // send a keep-alive frame
    /// }
    /// # }
    /// ```
    pub fn kind(&self) -> IdleKind {
        self.kind
    }

    /// `true` for the first event of an idle stretch: the threshold was reached since the
    /// last activity of that kind. Later events of the same stretch (one each threshold
    /// while the silence lasts) are not first.
    ///
    /// ```
    /// # use deadlines::io::IdleEvent;
    /// # fn check(event: IdleEvent) {
    /// if event.is_first() {
    ///     // log once per silence, not once per threshold
    /// }
    /// # }
    /// ```
    pub fn is_first(&self) -> bool {
        self.first
    }
}

/// What one event stream remembers of one kind's idle stretch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Stretch {
    /// The activity tick the stretch counts from.
    since: u64,
    /// The tick at which this stream last yielded an event of the stretch.
    last_event: Option<u64>,
}

impl Stretch {
    /// The tick the next event of the stretch is due, given the kind's last `activity` and
    /// its `threshold`: one threshold after the activity, then one after each event, as
    /// Netty reschedules its idle task from the moment it ran. New activity starts a new
    /// stretch, whose first event is `first`.
    pub(super) fn due(&mut self, activity: u64, threshold: u64) -> u64 {
        if activity != self.since {
            *self = Stretch {
                since: activity,
                last_event: None,
            };
        }
        self.last_event
            .unwrap_or(activity)
            .saturating_add(threshold)
    }

    /// Records an event yielded at `now`; returns whether it was the stretch's first.
    pub(super) fn fire(&mut self, now: u64) -> bool {
        self.last_event.replace(now).is_none()
    }
}

/// Judges each kind at `now` (in ticks): the first kind due, with whether it is the first of
/// its stretch, or else the earliest tick one will be due (`None`: no threshold is set).
/// Free of the stream's type, and of Tokio, so the model test can drive the same code.
pub(super) fn judge(
    stretches: &mut [Stretch; 3],
    now: u64,
    mut state: impl FnMut(IdleKind) -> Option<(u64, u64)>,
) -> Result<IdleEvent, Option<u64>> {
    let mut earliest = None;
    for kind in IdleKind::ALL {
        let stretch = &mut stretches[kind as usize];
        let Some((activity, threshold)) = state(kind) else {
            *stretch = Stretch::default();
            continue;
        };
        let due = stretch.due(activity, threshold);
        if due <= now {
            let first = stretch.fire(now);
            return Ok(IdleEvent { kind, first });
        }
        earliest = Some(earliest.map_or(due, |e: u64| e.min(due)));
    }
    Err(earliest)
}

/// A connection's idle events, made by [`IdleIo::events`](super::IdleIo::events) or
/// [`IdleHandle::events`](super::IdleHandle::events): a [`Stream`] of [`IdleEvent`].
///
/// For each threshold that is set, the first event of an idle stretch comes one threshold
/// after the last activity of its kind, then one event every threshold while the silence
/// lasts, each measured from the poll that yielded the one before (as Netty's
/// `IdleStateHandler` reschedules its task from the moment it ran, so a busy consumer gets
/// one late event, not a burst). Activity starts a new stretch. Events of different kinds
/// due at the same instant come in the order read, write, all.
///
/// ```text
/// read_idle(100 ms); bytes read at 0 and at 250 ms (r), nothing after
///
/// time (ms)     0    50   100  150  200  250  300  350  400  450
///               |----|----|----|----|----|----|----|----|----|
/// reads         r                        r
/// events                  R*        R              R*        R
///                         (* first of its stretch)
/// ```
///
/// The stream judges the clock when it is polled and keeps one lazy timer: activity on
/// the connection costs the stream nothing, and its timer is set again at most once a
/// threshold. It ends (`None`) once the `IdleIo` is dropped. Several streams of one
/// connection each see every event.
///
/// ```
/// use std::time::Duration;
/// use deadlines::io::{IdleIo, IdleKind};
/// use futures_util::StreamExt;
/// use tokio::io::AsyncWriteExt;
/// use tokio::time::Instant;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = Instant::now();
/// let (client, _server) = tokio::io::duplex(64);
/// let mut io = IdleIo::new(client).write_idle(Duration::from_secs(15));
/// let mut events = io.events();
/// let event = events.next().await.unwrap();
/// assert_eq!((event.kind(), start.elapsed()), (IdleKind::Write, Duration::from_secs(15)));
/// io.write_all(b": keep-alive\n\n").await.unwrap(); // what a server sends when write-idle
/// events.next().await.unwrap();
/// assert_eq!(start.elapsed(), Duration::from_secs(30));
/// drop(io);
/// assert!(events.next().await.is_none());
/// # }
/// ```
///
/// # Precision
///
/// Tokio's timer counts whole milliseconds and rounds an instant up to the next one: an
/// event comes at the first poll at or after its instant, at most about a millisecond
/// late when the timer wakes the task, never early.
///
/// # Panics
///
/// Polling it outside a Tokio runtime with the time driver enabled.
#[must_use = "streams do nothing unless polled"]
pub struct IdleEvents {
    // Boxed, so the stream is `Unpin` and `next()` needs no pinning; it holds no `Sleep`
    // until the first poll that must wait.
    timer: Pin<Box<Timer>>,
    shared: Arc<Shared>,
    slot: usize,
    stretches: [Stretch; 3],
    ended: bool,
}

impl Drop for IdleEvents {
    fn drop(&mut self) {
        self.shared.remove_events(self.slot);
    }
}

impl IdleEvents {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        let slot = shared.add_events();
        let since = shared_activity(&shared);
        Self {
            timer: Box::pin(Timer::new()),
            shared,
            slot,
            stretches: since.map(|since| Stretch {
                since,
                last_event: None,
            }),
            ended: false,
        }
    }

    /// How many times this stream has set its Tokio timer: created it or reset it. A
    /// diagnostic: traffic on the connection costs none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::io::IdleIo;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client).all_idle(Duration::from_secs(1));
    /// let mut events = io.events();
    /// events.next().await;
    /// assert_eq!(events.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }
}

/// Each kind's activity tick now, for a stream that starts its stretches from them.
fn shared_activity(shared: &Shared) -> [u64; 3] {
    IdleKind::ALL.map(|kind| shared.activity(kind))
}

impl Stream for IdleEvents {
    type Item = IdleEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<IdleEvent>> {
        let this = self.get_mut();
        if this.ended || this.shared.is_closed() {
            this.ended = true;
            return Poll::Ready(None);
        }
        // Parked before judging, so a threshold changed after the judgment wakes us.
        this.shared.park_events(this.slot, cx.waker());
        let shared = &*this.shared;
        let now = tick(shared.origin, Instant::now());
        let state = |kind| Some((shared.activity(kind), shared.threshold_ticks(kind)?));
        match judge(&mut this.stretches, now, state) {
            Ok(event) => Poll::Ready(Some(event)),
            Err(Some(due)) => {
                this.timer
                    .as_mut()
                    .wake_at(cx, instant_at(shared.origin, due));
                Poll::Pending
            }
            Err(None) => {
                // No threshold: nothing to wait for until one is set, which wakes us.
                this.timer.as_mut().clear();
                Poll::Pending
            }
        }
    }
}

impl FusedStream for IdleEvents {
    /// `true` once the stream has yielded `None` (its `IdleIo` was dropped).
    ///
    /// ```
    /// use deadlines::io::IdleIo;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (client, _server) = tokio::io::duplex(64);
    /// let io = IdleIo::new(client);
    /// let mut events = io.events();
    /// drop(io);
    /// assert!(!events.is_terminated());
    /// assert_eq!(events.next().await, None);
    /// assert!(events.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl fmt::Debug for IdleEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleEvents")
            .field("stretches", &self.stretches)
            .field("timer", &self.timer.deadline())
            .field("ended", &self.ended)
            .finish()
    }
}
