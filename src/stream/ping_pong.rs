//! [`PingPong`]: ping/pong liveness for a stream of inbound messages. After a silent interval
//! it asks for a ping ([`Liveness::Ping`]); if the peer still shows no sign of life within the
//! timeout, it yields [`PeerDead`] and ends.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::access::delegate_access_inner;
use crate::clock::{FAR_FUTURE, GRANULARITY, saturating_after};
use crate::timer::Timer;

/// An item of [`PingPong`]: an inbound item, passed through, or the request to ping the peer.
///
/// ```
/// use deadlines::stream::Liveness;
///
/// let message: Liveness<&str> = Liveness::Item("hello");
/// assert_eq!(message.into_item(), Some("hello"));
/// assert!(Liveness::<&str>::Ping.is_ping());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liveness<T> {
    /// An item of the source, passed through (whether or not it counted as a sign of life).
    Item(T),
    /// The peer was silent for the whole interval: send it a ping now. Its answer (or any item
    /// that counts as a sign of life) must arrive within the timeout.
    Ping,
}

impl<T> Liveness<T> {
    /// The item, or `None` for a [`Ping`](Self::Ping).
    ///
    /// ```
    /// use deadlines::stream::Liveness;
    ///
    /// assert_eq!(Liveness::Item(7).into_item(), Some(7));
    /// assert_eq!(Liveness::<u8>::Ping.into_item(), None);
    /// ```
    pub fn into_item(self) -> Option<T> {
        match self {
            Self::Item(item) => Some(item),
            Self::Ping => None,
        }
    }

    /// `true` for a [`Ping`](Self::Ping): the peer must be pinged now.
    ///
    /// ```
    /// use deadlines::stream::Liveness;
    ///
    /// assert!(Liveness::<u8>::Ping.is_ping());
    /// assert!(!Liveness::Item(7).is_ping());
    /// ```
    pub fn is_ping(&self) -> bool {
        matches!(self, Self::Ping)
    }
}

/// The error of [`PingPong`]: the peer showed no sign of life within the timeout after a ping.
/// The stream ends after it.
///
/// Its `Display` is lowercase, without trailing punctuation, so it composes into larger
/// messages; it converts into a [`std::io::Error`] of kind
/// [`TimedOut`](std::io::ErrorKind::TimedOut), for `?` in I/O code.
///
/// ```
/// use std::time::Duration;
/// use deadlines::stream::{Liveness, PeerDead, StreamDeadlineExt};
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let silent = futures_util::stream::pending::<u8>();
/// let silent = silent.ping_pong(Duration::from_secs(30), Duration::from_secs(10));
/// let mut silent = std::pin::pin!(silent);
/// assert_eq!(silent.next().await, Some(Ok(Liveness::Ping)));
/// let dead: PeerDead = silent.next().await.unwrap().unwrap_err();
/// assert_eq!(dead.to_string(), "peer did not answer a ping in time");
/// let io = std::io::Error::from(dead);
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// assert_eq!(silent.next().await, None);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerDead(());

impl fmt::Display for PeerDead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("peer did not answer a ping in time")
    }
}

impl std::error::Error for PeerDead {}

impl From<PeerDead> for std::io::Error {
    fn from(dead: PeerDead) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, dead)
    }
}

/// Where a [`PingPong`] stands. Nothing here depends on the source's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not polled yet: the first interval starts at the first poll.
    Unpolled,
    /// Counting an interval: a ping is due at this instant.
    PingAt(Instant),
    /// A ping was yielded: the peer is dead at this instant unless it shows a sign of life.
    DeadAt(Instant),
    /// The source ended, or the peer was declared dead: `None` from now on.
    Ended,
}

/// What a poll that found no item ready does.
enum Verdict {
    Ping,
    Dead,
    WaitUntil(Instant),
}

/// The interval and the timeout, as the adapter uses them (raised and saturated).
#[derive(Debug, Clone, Copy)]
struct Timing {
    interval: Duration,
    timeout: Duration,
}

impl Timing {
    fn new(interval: Duration, timeout: Duration) -> Self {
        Self {
            interval: interval.clamp(GRANULARITY, FAR_FUTURE),
            timeout: timeout.min(FAR_FUTURE),
        }
    }
}

impl State {
    /// Judges a poll at `now` that found no item ready, with the clock, not with the `Sleep`:
    /// a source that uses up the coop budget cannot hide an instant that has passed.
    fn judge(&mut self, now: Instant, timing: Timing) -> Verdict {
        match *self {
            State::PingAt(at) if at <= now => {
                // Measured from the poll that yields the ping: the ping goes out now.
                *self = State::DeadAt(saturating_after(now, timing.timeout));
                Verdict::Ping
            }
            State::DeadAt(at) if at <= now => {
                *self = State::Ended;
                Verdict::Dead
            }
            State::PingAt(at) | State::DeadAt(at) => Verdict::WaitUntil(at),
            State::Unpolled | State::Ended => unreachable!("judged only while watching"),
        }
    }
}

pin_project! {
    /// Stream for [`ping_pong`](super::StreamDeadlineExt::ping_pong): the source's items as
    /// `Ok(Liveness::Item(..))`, `Ok(Liveness::Ping)` after each silent interval, and
    /// `Err(PeerDead)` when a ping goes unanswered for the timeout, after which it ends.
    ///
    /// The first interval starts at the first poll. Every item that counts as a sign of life
    /// (by default every item; see [`pong_when`](Self::pong_when)) restarts it, and cancels a
    /// pending death. One ping per silent stretch: while it waits for the answer, it asks for
    /// no other. The stream ends when the source ends (then no death is reported), and after
    /// `Err(PeerDead)` (then the source is not polled again).
    ///
    /// The second type parameter is the sign-of-life predicate: by default the function
    /// pointer `fn(&S::Item) -> bool` that accepts every item, so the adapter can be named
    /// as `PingPong<S>` in a struct; [`pong_when`](Self::pong_when) replaces it with yours
    /// (a closure, or a `fn` to keep the type nameable).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{Liveness, PingPong, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let frames = futures_util::stream::iter(["hello"]).chain(futures_util::stream::pending());
    /// let watched: PingPong<_> = frames.ping_pong(Duration::from_secs(30), Duration::from_secs(10));
    /// let mut watched = std::pin::pin!(watched);
    /// assert_eq!(watched.next().await, Some(Ok(Liveness::Item("hello"))));
    /// assert_eq!(watched.next().await, Some(Ok(Liveness::Ping))); // 30 s later
    /// assert!(watched.next().await.unwrap().is_err()); // 10 s after the ping
    /// assert_eq!(watched.next().await, None);
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it to call `StreamExt::next`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, or if the predicate
    /// panics. No `Duration` panics: the interval and the timeout saturate at about 30 years.
    #[must_use = "streams do nothing unless polled"]
    pub struct PingPong<S: Stream, P = fn(&<S as Stream>::Item) -> bool> {
        #[pin]
        stream: S,
        #[pin]
        timer: Timer,
        is_pong: P,
        timing: Timing,
        state: State,
    }
}

/// The default predicate: every item is a sign of life.
fn every_item<T>(_: &T) -> bool {
    true
}

impl<S: Stream> PingPong<S> {
    pub(crate) fn new(stream: S, interval: Duration, timeout: Duration) -> Self {
        Self {
            stream,
            timer: Timer::new(),
            is_pong: every_item::<S::Item>,
            timing: Timing::new(interval, timeout),
            state: State::Unpolled,
        }
    }
}

impl<S: Stream, P> PingPong<S, P> {
    /// Counts only the items for which `is_pong` returns `true` as signs of life: the others
    /// pass through, but neither restart the interval nor answer a ping. Set it before the
    /// first poll (it takes and returns the adapter by value).
    ///
    /// For a peer whose data frames should not excuse a missing pong (a peer that keeps
    /// streaming while its control path is wedged), count only the pongs. By default every
    /// item counts, which is what most websocket servers want: traffic proves the peer alive.
    ///
    /// ```text
    /// ping_pong(100, 50); first poll at 0; d is data, p a pong; P is Ok(Ping), D Err(PeerDead)
    ///
    /// time (ms)           0    50   100  150  200  250  300  350  400  450
    ///                     |----|----|----|----|----|----|----|----|----|
    /// source                 d  d     p       d    d
    /// ping_pong(100, 50)     d  d     p       d    d         P    D
    /// .pong_when(is p)       d  d   P p       d P  d D
    /// ```
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{Liveness, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    /// use tokio::time::Instant;
    ///
    /// #[derive(Debug, PartialEq)]
    /// enum Message { Text(&'static str), Pong }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let chatty = futures_util::stream::iter([Message::Text("hi")]).chain(futures_util::stream::pending());
    /// let watched = chatty
    ///     .ping_pong(Duration::from_secs(30), Duration::from_secs(10))
    ///     .pong_when(|message| *message == Message::Pong);
    /// let mut watched = std::pin::pin!(watched);
    /// assert_eq!(watched.next().await, Some(Ok(Liveness::Item(Message::Text("hi")))));
    /// // The text did not count: the ping is due 30 s after the first poll, not after it.
    /// assert_eq!(watched.next().await, Some(Ok(Liveness::Ping)));
    /// assert_eq!(start.elapsed(), Duration::from_secs(30));
    /// # }
    /// ```
    pub fn pong_when<Q>(self, is_pong: Q) -> PingPong<S, Q>
    where
        Q: FnMut(&S::Item) -> bool,
    {
        PingPong {
            stream: self.stream,
            timer: self.timer,
            is_pong,
            timing: self.timing,
            state: self.state,
        }
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: steady traffic costs at most one an interval, not one per item.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{Liveness, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let items = futures_util::stream::iter(0..1_000).chain(futures_util::stream::pending());
    /// let watched = items.ping_pong(Duration::from_secs(1), Duration::from_secs(1));
    /// let mut watched = std::pin::pin!(watched);
    /// while let Some(Ok(Liveness::Item(_))) = watched.next().await {}
    /// assert_eq!(watched.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }

    delegate_access_inner!(
        stream: S,
        build: ".ping_pong(Duration::from_secs(1), Duration::from_secs(1))",
        get_mut: "Taking items from it directly does not count them as signs of life.",
    );
}

impl<S, P> Stream for PingPong<S, P>
where
    S: Stream,
    P: FnMut(&S::Item) -> bool,
{
    type Item = Result<Liveness<S::Item>, PeerDead>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.state == State::Ended {
            return Poll::Ready(None);
        }
        let now = Instant::now();
        let timing = *this.timing;
        if *this.state == State::Unpolled {
            *this.state = State::PingAt(saturating_after(now, timing.interval));
        }
        // The source first: an item ready when the instant is judged counts, even if the
        // instant has passed (it was not observed passed before the item came).
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => {
                if (this.is_pong)(&item) {
                    // A store: the timer is re-set at most once an interval, when it fires
                    // early. A pending death is cancelled.
                    *this.state = State::PingAt(saturating_after(now, timing.interval));
                }
                return Poll::Ready(Some(Ok(Liveness::Item(item))));
            }
            Poll::Ready(None) => {
                *this.state = State::Ended;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        match this.state.judge(now, timing) {
            Verdict::Ping => Poll::Ready(Some(Ok(Liveness::Ping))),
            Verdict::Dead => Poll::Ready(Some(Err(PeerDead(())))),
            Verdict::WaitUntil(at) => {
                this.timer.wake_at(cx, at);
                Poll::Pending
            }
        }
    }

    /// The source's items, at most one ping before each sign of life and after the last, and
    /// one `Err`; the lower bound is 0, since the peer can be declared dead at any time.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.state == State::Ended {
            return (0, Some(0));
        }
        let (_, upper) = self.stream.size_hint();
        let ping_due = usize::from(!matches!(self.state, State::DeadAt(_)));
        let upper = upper.and_then(|upper| upper.checked_mul(2)?.checked_add(ping_due + 1));
        (0, upper)
    }
}

impl<S, P> FusedStream for PingPong<S, P>
where
    S: Stream,
    P: FnMut(&S::Item) -> bool,
{
    /// `true` once the source ended or `Err(PeerDead)` was yielded: the stream yields `None`
    /// from now on, and never polls the source again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let silent = futures_util::stream::pending::<u8>();
    /// let silent = silent.ping_pong(Duration::from_secs(1), Duration::from_secs(1));
    /// let mut silent = std::pin::pin!(silent);
    /// assert!(silent.next().await.unwrap().is_ok()); // the ping
    /// assert!(!silent.is_terminated());
    /// assert!(silent.next().await.unwrap().is_err()); // dead
    /// assert!(silent.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.state == State::Ended
    }
}

impl<S: Stream, P> fmt::Debug for PingPong<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PingPong")
            .field("interval", &self.timing.interval)
            .field("timeout", &self.timing.timeout)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
