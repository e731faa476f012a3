//! [`Keepalive`]: the source's items, with an item of one's own after each period of silence.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::access::delegate_access_inner;
use crate::clock::{FAR_FUTURE, saturating_after};
use crate::timer::Timer;

/// The shortest period: Tokio's timer granularity. A zero period would inject an item at
/// every poll, and a consumer looping on the stream would never yield to its runtime.
const MIN_PERIOD: Duration = Duration::from_millis(1);

pin_project! {
    /// Stream for [`keepalive`](super::StreamDeadlineExt::keepalive): the source's items, and
    /// `make_item()` after each period with no item.
    ///
    /// The first period starts at the first poll. Every item, the source's or an injected
    /// one, restarts the period, so under steady traffic nothing is injected, and in silence
    /// one item is injected every period (measured from the poll that yielded the last one).
    /// It ends when the source ends. A period shorter than a millisecond (Tokio's timer
    /// granularity) is raised to a millisecond, so a zero period cannot spin.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{Keepalive, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let events = futures_util::stream::iter(["data: 1"]).chain(futures_util::stream::pending());
    /// let sse: Keepalive<_, _> = events.keepalive(Duration::from_secs(15), || ": ping");
    /// let sse = std::pin::pin!(sse);
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
            period: period.clamp(MIN_PERIOD, FAR_FUTURE),
            deadline: None,
            source_done: false,
        }
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: steady traffic costs at most one a period, not one per item.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let items = futures_util::stream::iter(1..=1_000).chain(futures_util::stream::pending());
    /// let mut sse = std::pin::pin!(items.keepalive(Duration::from_secs(1), || 0));
    /// while sse.next().await != Some(0) {}
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
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
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
                return Poll::Ready(Some(item));
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
            return Poll::Ready(Some((this.make_item)()));
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
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let sse = futures_util::stream::iter([1]).keepalive(Duration::from_secs(1), || 0);
    /// let mut sse = std::pin::pin!(sse);
    /// assert_eq!(sse.next().await, Some(1));
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
