//! [`Keepalive`]: the source's items, with an item of one's own after each period of silence,
//! each marked by a [`KeepaliveItem`] as the source's or injected.

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

/// An item of [`Keepalive`]: one of the source's, or one it injected after a silent period.
///
/// Both carry the same type, so a handler that writes every item the same way (a server-sent
/// events line, a websocket frame) calls [`into_inner`](Self::into_inner), and one that counts
/// or logs the keep-alives matches on the variant.
///
/// ```
/// use std::time::Duration;
/// use deadlines::stream::{KeepaliveItem, StreamDeadlineExt};
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let events = futures_util::stream::iter(["data: 1"]).chain(futures_util::stream::pending());
/// let sse = std::pin::pin!(events.keepalive(Duration::from_secs(15), || ": ping"));
/// let sent: Vec<_> = sse.take(2).collect().await;
/// assert_eq!(sent, [KeepaliveItem::Source("data: 1"), KeepaliveItem::Injected(": ping")]);
/// assert!(sent[1].is_injected());
/// assert_eq!(sent[0].get(), &"data: 1");
/// let lines: Vec<_> = sent.into_iter().map(KeepaliveItem::into_inner).collect();
/// assert_eq!(lines, ["data: 1", ": ping"]);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeepaliveItem<T> {
    /// An item of the source, passed through.
    Source(T),
    /// An item made by `make_item` after a period with no item.
    Injected(T),
}

impl<T> KeepaliveItem<T> {
    /// The item, whoever made it.
    ///
    /// ```
    /// use deadlines::stream::KeepaliveItem;
    ///
    /// assert_eq!(KeepaliveItem::Source(1).into_inner(), 1);
    /// assert_eq!(KeepaliveItem::Injected(0).into_inner(), 0);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Source(item) | Self::Injected(item) => item,
        }
    }

    /// The item, by reference, whoever made it.
    ///
    /// ```
    /// use deadlines::stream::KeepaliveItem;
    ///
    /// let line = KeepaliveItem::Injected(String::from(": ping"));
    /// assert_eq!(line.get(), ": ping");
    /// ```
    pub fn get(&self) -> &T {
        match self {
            Self::Source(item) | Self::Injected(item) => item,
        }
    }

    /// `true` for an item the adapter injected, `false` for one of the source's.
    ///
    /// ```
    /// use deadlines::stream::KeepaliveItem;
    ///
    /// assert!(KeepaliveItem::Injected(0).is_injected());
    /// assert!(!KeepaliveItem::Source(0).is_injected());
    /// ```
    pub fn is_injected(&self) -> bool {
        matches!(self, Self::Injected(_))
    }
}

pin_project! {
    /// Stream for [`keepalive`](super::StreamDeadlineExt::keepalive): the source's items as
    /// [`KeepaliveItem::Source`], and `make_item()` as [`KeepaliveItem::Injected`] after each
    /// period with no item.
    ///
    /// The first period starts at the first poll. Every item, the source's or an injected
    /// one, restarts the period, so under steady traffic nothing is injected, and in silence
    /// one item is injected every period (measured from the poll that yielded the last one).
    /// It ends when the source ends. A period shorter than a millisecond (Tokio's timer
    /// granularity) is raised to a millisecond, so a zero period cannot spin.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{Keepalive, KeepaliveItem, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let events = futures_util::stream::iter(["data: 1"]).chain(futures_util::stream::pending());
    /// let sse: Keepalive<_, _> = events.keepalive(Duration::from_secs(15), || ": ping");
    /// let sse = std::pin::pin!(sse.map(KeepaliveItem::into_inner));
    /// assert_eq!(sse.take(3).collect::<Vec<_>>().await, ["data: 1", ": ping", ": ping"]);
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it to call `StreamExt::next`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, or if `make_item`
    /// panics. No `Duration` panics: a period saturates at about 30 years.
    #[must_use = "streams do nothing unless polled"]
    pub struct Keepalive<S, F> {
        #[pin]
        stream: S,
        #[pin]
        timer: Timer,
        make_item: F,
        period: Duration,
        // The end of the current period; `None` before the first poll.
        deadline: Option<Instant>,
        source_done: bool,
    }
}

impl<S, F> Keepalive<S, F> {
    pub(crate) fn new(stream: S, period: Duration, make_item: F) -> Self {
        Self {
            stream,
            timer: Timer::new(),
            make_item,
            period: period.clamp(GRANULARITY, FAR_FUTURE),
            deadline: None,
            source_done: false,
        }
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: steady traffic costs at most one a period, not one per item.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{KeepaliveItem, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let items = futures_util::stream::iter(1..=1_000).chain(futures_util::stream::pending());
    /// let mut sse = std::pin::pin!(items.keepalive(Duration::from_secs(1), || 0));
    /// while let Some(KeepaliveItem::Source(_)) = sse.next().await {}
    /// assert_eq!(sse.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }

    delegate_access_inner!(
        stream: S,
        build: ".keepalive(Duration::from_secs(1), || 0)",
        get_mut: "Taking items from it directly does not restart the period.",
    );
}

impl<S, F> Stream for Keepalive<S, F>
where
    S: Stream,
    F: FnMut() -> S::Item,
{
    type Item = KeepaliveItem<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.source_done {
            return Poll::Ready(None);
        }
        let now = Instant::now();
        let next = saturating_after(now, *this.period);
        let deadline = *this.deadline.get_or_insert(next);
        // The source first: an item ready when the period is judged is sent instead.
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => {
                // A store: the timer is re-set at most once a period, when it fires early.
                *this.deadline = Some(next);
                return Poll::Ready(Some(KeepaliveItem::Source(item)));
            }
            Poll::Ready(None) => {
                *this.source_done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        // Decided with the clock, so a source that uses up the coop budget cannot hide it.
        if deadline <= now {
            *this.deadline = Some(next);
            return Poll::Ready(Some(KeepaliveItem::Injected((this.make_item)())));
        }
        this.timer.wake_at(cx, deadline);
        Poll::Pending
    }

    /// The source's items, and any number of injected ones.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.source_done {
            return (0, Some(0));
        }
        (self.stream.size_hint().0, None)
    }
}

impl<S, F> FusedStream for Keepalive<S, F>
where
    S: Stream,
    F: FnMut() -> S::Item,
{
    /// `true` once the source ended: the stream yields `None` from now on, and never polls the
    /// source again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{KeepaliveItem, StreamDeadlineExt};
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let sse = futures_util::stream::iter([1]).keepalive(Duration::from_secs(1), || 0);
    /// let mut sse = std::pin::pin!(sse);
    /// assert_eq!(sse.next().await, Some(KeepaliveItem::Source(1)));
    /// assert_eq!(sse.next().await, None);
    /// assert!(sse.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.source_done
    }
}

impl<S, F> fmt::Debug for Keepalive<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keepalive")
            .field("period", &self.period)
            .field("deadline", &self.deadline)
            .field("source_done", &self.source_done)
            .finish_non_exhaustive()
    }
}
