//! [`ThrottleWith`]: at most one item a period, with RxJS's `leading` and `trailing` options.

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

pin_project! {
    /// Stream for [`throttle_with`](super::StreamDeadlineExt::throttle_with): at most one
    /// item a period, RxJS's `throttleTime(period, { leading, trailing })`.
    ///
    /// An item that comes while the stream is not throttled starts a throttle of one period;
    /// with [`leading`](Self::leading) (the default) it is emitted at once. Items that come
    /// during the throttle are dropped, or, with [`trailing`](Self::trailing), the latest is
    /// held and emitted when the throttle ends, which starts a new one. So any two emissions
    /// are at least a period apart. The timelines are drawn on
    /// [`StreamDeadlineExt::throttle_with`](super::StreamDeadlineExt::throttle_with).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{StreamDeadlineExt, ThrottleWith};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let clicks = futures_util::stream::iter(1..=5);
    /// let throttled: ThrottleWith<_> = clicks.throttle_with(Duration::from_millis(100));
    /// assert_eq!(throttled.collect::<Vec<_>>().await, [1]);
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it to call `StreamExt::next`.
    ///
    /// The end of a throttle is decided when a poll observes it, after the items ready at
    /// that poll were taken: an item ready then still belongs to the throttle (as RxJS orders
    /// a source event before the operator's timer in one frame). The timer wakes the task at
    /// the end even with nothing held, so on time the next item is a leading one; a runtime
    /// that polls late counts the items that came before the poll as throttled.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, once it needs its
    /// timer. Building it needs no runtime. No `Duration` panics: a period saturates at about
    /// 30 years (effectively never).
    #[must_use = "streams do nothing unless polled"]
    pub struct ThrottleWith<S: Stream> {
        #[pin]
        stream: S,
        #[pin]
        timer: Timer,
        period: Duration,
        leading: bool,
        trailing: bool,
        // The end of the throttle; `None` while not throttled.
        until: Option<Instant>,
        // The latest item of the throttle, for its trailing edge.
        held: Option<S::Item>,
        source_done: bool,
    }
}

impl<S: Stream> ThrottleWith<S> {
    pub(crate) fn new(stream: S, period: Duration) -> Self {
        Self {
            stream,
            timer: Timer::new(),
            period: period.min(FAR_FUTURE),
            leading: true,
            trailing: false,
            until: None,
            held: None,
            source_done: false,
        }
    }

    /// Emit the item that starts a throttle at once (default `true`). Without it, the item
    /// is held for the trailing edge (with `trailing`), or dropped: with both `leading` and
    /// `trailing` off, nothing is ever emitted (as in RxJS).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let clicks = futures_util::stream::iter(1..=5).chain(futures_util::stream::pending());
    /// let throttled = clicks
    ///     .throttle_with(Duration::from_millis(100))
    ///     .leading(false)
    ///     .trailing(true);
    /// let mut throttled = std::pin::pin!(throttled);
    /// assert_eq!(throttled.next().await, Some(5));
    /// assert_eq!(start.elapsed(), Duration::from_millis(100));
    /// # }
    /// ```
    pub fn leading(mut self, on: bool) -> Self {
        self.leading = on;
        self
    }

    /// Hold the latest item of a throttle and emit it when the throttle ends, starting a new
    /// one (default `false`, as RxJS).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::Instant;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// let clicks = futures_util::stream::iter(1..=5).chain(futures_util::stream::pending());
    /// let throttled = clicks.throttle_with(Duration::from_millis(100)).trailing(true);
    /// let mut throttled = std::pin::pin!(throttled);
    /// assert_eq!(throttled.next().await, Some(1));
    /// assert_eq!(throttled.next().await, Some(5));
    /// assert_eq!(start.elapsed(), Duration::from_millis(100));
    /// # }
    /// ```
    pub fn trailing(mut self, on: bool) -> Self {
        self.trailing = on;
        self
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: at most one a throttle.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let burst = futures_util::stream::iter(0..10_000).chain(futures_util::stream::pending());
    /// let throttled = burst.throttle_with(Duration::from_millis(100)).trailing(true);
    /// let mut throttled = std::pin::pin!(throttled);
    /// assert_eq!(throttled.next().await, Some(0));
    /// assert_eq!(throttled.next().await, Some(9_999));
    /// assert_eq!(throttled.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.timer.sets()
    }

    delegate_access_inner!(
        stream: S,
        build: ".throttle_with(Duration::from_millis(100))",
        get_mut: "Taking items from it directly bypasses the throttle.",
        into_inner: "A held item is dropped.",
    );
}

impl<S: Stream> Stream for ThrottleWith<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if *this.source_done {
            return Poll::Ready(this.held.take());
        }
        let now = Instant::now();
        // Every ready item is taken before the throttle's end is judged: an item ready when
        // the end is observed still belongs to the throttle (the decision is made when it is
        // observed, as for `Deadline`).
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    let throttled = this.until.is_some();
                    if !throttled {
                        *this.until = Some(saturating_after(now, *this.period));
                    }
                    if !throttled && *this.leading {
                        return Poll::Ready(Some(item));
                    }
                    if *this.trailing {
                        *this.held = Some(item);
                    }
                }
                Poll::Ready(None) => {
                    *this.source_done = true;
                    return Poll::Ready(this.held.take());
                }
                // The source registered the waker for its next item.
                Poll::Pending => break,
            }
        }
        match *this.until {
            Some(until) if until <= now => {
                // The trailing edge: the held item goes out and starts a new throttle.
                let item = this.held.take();
                *this.until = item.as_ref().map(|_| saturating_after(now, *this.period));
                if item.is_some() {
                    return Poll::Ready(item);
                }
            }
            // Woken at the end even with nothing held, so that an item after it is seen as
            // the leading one.
            Some(until) => this.timer.wake_at(cx, until),
            // Not throttled: only the source can change that. The timer is dropped, so that it
            // cannot wake the task for an end already acted on.
            None => this.timer.clear(),
        }
        Poll::Pending
    }

    /// At most one item per source item, and at most the held one once the source ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = usize::from(self.held.is_some());
        if self.source_done {
            return (held, Some(held));
        }
        let (_, upper) = self.stream.size_hint();
        (0, upper.and_then(|upper| upper.checked_add(held)))
    }
}

impl<S: Stream> FusedStream for ThrottleWith<S> {
    /// `true` once the source ended and nothing is held.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let throttled = futures_util::stream::iter([1, 2]).throttle_with(Duration::from_millis(100));
    /// let mut throttled = std::pin::pin!(throttled);
    /// assert_eq!(throttled.next().await, Some(1));
    /// assert_eq!(throttled.next().await, None);
    /// assert!(throttled.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.source_done && self.held.is_none()
    }
}

impl<S: Stream> fmt::Debug for ThrottleWith<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThrottleWith")
            .field("period", &self.period)
            .field("leading", &self.leading)
            .field("trailing", &self.trailing)
            .field("until", &self.until)
            .field("holding", &self.held.is_some())
            .field("source_done", &self.source_done)
            .finish_non_exhaustive()
    }
}
