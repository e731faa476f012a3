//! [`Debounce`]: the latest item of each burst, once the burst has settled.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::access::delegate_access_inner;
use super::settle::{Fixed, Latest, Settle, delegate_flush_cancel};

pin_project! {
    /// Stream for [`debounce`](super::StreamDeadlineExt::debounce): yields the latest item of
    /// each burst once no item has arrived for a window, with lodash's `leading`, `trailing`
    /// and `max_wait` options.
    ///
    /// The timelines of every option are drawn on
    /// [`StreamDeadlineExt::debounce`](super::StreamDeadlineExt::debounce). The options are set
    /// by value, before the stream is pinned:
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{Debounce, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let throttled: Debounce<_> = futures_util::stream::iter([1, 2, 3])
    ///     .debounce(Duration::from_millis(100))
    ///     .leading(true)
    ///     .max_wait(Duration::from_millis(100));
    /// // The source is already ended: the leading item, then the held one at once.
    /// assert_eq!(throttled.collect::<Vec<_>>().await, [1, 3]);
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it with [`std::pin::pin!`] or
    /// [`tokio::pin!`] to call `StreamExt::next`, or hold it as `Pin<Box<Debounce<S>>>`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, once it needs its
    /// timer. Building it needs no runtime. No `Duration` panics: durations saturate at about
    /// 30 years (effectively never).
    #[must_use = "streams do nothing unless polled"]
    pub struct Debounce<S: Stream> {
        #[pin]
        inner: Settle<S, Latest<S::Item>, Fixed>,
    }
}

impl<S: Stream> Debounce<S> {
    pub(crate) fn new(stream: S, window: Duration) -> Self {
        Self {
            inner: Settle::new(stream, window, Fixed),
        }
    }

    /// Emit the first item of a burst at once (default `false`). With `trailing` also on, the
    /// trailing item follows only if the burst had more than one item.
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
    /// let source = futures_util::stream::iter(["a"]).chain(futures_util::stream::pending());
    /// let mut debounced = std::pin::pin!(source.debounce(Duration::from_millis(100)).leading(true));
    /// assert_eq!(debounced.next().await, Some("a"));
    /// assert_eq!(start.elapsed(), Duration::ZERO, "the leading edge does not wait");
    /// # }
    /// ```
    pub fn leading(mut self, on: bool) -> Self {
        self.inner.rules.set_leading(on);
        self
    }

    /// Emit the latest item once the burst settles (default `true`). With `trailing(false)`
    /// the items after a burst's leading one are dropped, and nothing is held when the source
    /// ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let debounced = futures_util::stream::iter(1..=5)
    ///     .debounce(Duration::from_millis(100))
    ///     .leading(true)
    ///     .trailing(false);
    /// assert_eq!(debounced.collect::<Vec<_>>().await, [1]);
    /// # }
    /// ```
    pub fn trailing(mut self, on: bool) -> Self {
        self.inner.rules.set_trailing(on);
        self
    }

    /// Under continuous input, emit at least every `max_wait`, measured from the previous
    /// emission (or from the first item of the burst). A `max_wait` shorter than the window
    /// is raised to the window. `debounce(p).leading(true).max_wait(p)` is a lossy throttle.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::{Instant, sleep};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = Instant::now();
    /// // An item every 10 ms, forever: a plain debounce would never settle.
    /// let source = futures_util::stream::unfold(0, |n| async move {
    ///     sleep(Duration::from_millis(10)).await;
    ///     Some((n + 1, n + 1))
    /// });
    /// let debounced = source
    ///     .debounce(Duration::from_millis(50))
    ///     .max_wait(Duration::from_millis(200));
    /// let mut debounced = std::pin::pin!(debounced);
    /// for expected_ms in [210, 410, 610] {
    ///     debounced.next().await;
    ///     assert_eq!(start.elapsed(), Duration::from_millis(expected_ms));
    /// }
    /// # }
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.inner.rules.set_max_wait(max_wait);
        self
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: a buffered burst of any length costs one, and steady input at most one a
    /// window, never one per item.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let burst = futures_util::stream::iter(0..10_000).chain(futures_util::stream::pending());
    /// let mut debounced = std::pin::pin!(burst.debounce(Duration::from_millis(100)));
    /// assert_eq!(debounced.next().await, Some(9_999));
    /// assert_eq!(debounced.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.inner.timer_resets()
    }

    delegate_flush_cancel!(
        out: S::Item,
        build: ".debounce(Duration::from_millis(100))",
        flushed: "Some(3)",
    );

    delegate_access_inner!(
        inner.stream: S,
        build: ".debounce(Duration::from_millis(100))",
        get_mut: "Taking items from it directly bypasses the debounce.",
        into_inner: "A held item is dropped.",
    );
}

impl<S: Stream> Stream for Debounce<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.project().inner.poll_next(cx)
    }

    /// At most one item per source item, and at most the held one once the source ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S: Stream> FusedStream for Debounce<S> {
    /// `true` once the source ended and nothing is held: the stream yields `None` from now on,
    /// and never polls the source again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let mut debounced = std::pin::pin!(futures_util::stream::iter([1]).debounce(Duration::from_millis(100)));
    /// assert!(!debounced.is_terminated());
    /// assert_eq!(debounced.next().await, Some(1));
    /// assert!(debounced.is_terminated());
    /// assert_eq!(debounced.next().await, None);
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<S: Stream> fmt::Debug for Debounce<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug("Debounce", f)
    }
}
