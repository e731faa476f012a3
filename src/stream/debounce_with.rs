//! [`DebounceWith`]: the latest item of each burst, with a window chosen by each item.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::access::delegate_access_inner;
use super::settle::{Latest, PerItem, Settle, delegate_flush_cancel};

pin_project! {
    /// Stream for [`debounce_with`](super::StreamDeadlineExt::debounce_with): yields the
    /// latest item of each burst once no item has arrived for the window that item chose.
    ///
    /// The rules of [`Debounce`](super::Debounce), with the window of the latest item in force
    /// (RxJS `debounce(selector)`, Kotlin `debounce { }`): each item sets the quiet time that
    /// must follow it, and an item whose window is shorter than the one before it is emitted
    /// when its own window ends. The burst closes when its latest item's window passes: the
    /// gap before an item is judged by the window of the item before it, so every item after
    /// that is a leading edge. Options as on `Debounce`: [`leading`](Self::leading),
    /// [`trailing`](Self::trailing) and [`max_wait`](Self::max_wait) (raised to the latest
    /// item's window if shorter).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{DebounceWith, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let settled: DebounceWith<_, _> = futures_util::stream::iter([1, 2, 3])
    ///     .debounce_with(|n: &u64| Duration::from_millis(10 * n));
    /// assert_eq!(settled.collect::<Vec<_>>().await, [3]);
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it with [`std::pin::pin!`] or
    /// [`tokio::pin!`] to call `StreamExt::next`, or hold it as `Pin<Box<DebounceWith<S, F>>>`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, once it needs its
    /// timer, and whatever the window function panics with. Building it needs no runtime. No
    /// `Duration` panics: windows saturate at about 30 years (effectively never).
    #[must_use = "streams do nothing unless polled"]
    pub struct DebounceWith<S: Stream, F> {
        #[pin]
        inner: Settle<S, Latest<S::Item>, PerItem<F>>,
    }
}

impl<S, F> DebounceWith<S, F>
where
    S: Stream,
    F: FnMut(&S::Item) -> Duration,
{
    pub(crate) fn new(stream: S, window_fn: F) -> Self {
        Self {
            inner: Settle::new(stream, Duration::ZERO, PerItem(window_fn)),
        }
    }

    /// Emit the first item of a burst at once (default `false`). With `trailing` also on, the
    /// trailing item follows only if the burst had more than one item.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let settled = futures_util::stream::iter([1, 2, 3])
    ///     .debounce_with(|_| Duration::from_millis(100))
    ///     .leading(true);
    /// assert_eq!(settled.collect::<Vec<_>>().await, [1, 3]);
    /// # }
    /// ```
    pub fn leading(mut self, on: bool) -> Self {
        self.inner.rules.set_leading(on);
        self
    }

    /// Emit the latest item once the burst settles (default `true`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let settled = futures_util::stream::iter([1, 2, 3])
    ///     .debounce_with(|_| Duration::from_millis(100))
    ///     .leading(true)
    ///     .trailing(false);
    /// assert_eq!(settled.collect::<Vec<_>>().await, [1]);
    /// # }
    /// ```
    pub fn trailing(mut self, on: bool) -> Self {
        self.inner.rules.set_trailing(on);
        self
    }

    /// Under continuous input, emit at least every `max_wait`, measured from the previous
    /// emission (or from the first item of the burst); raised to the latest item's window if
    /// it is shorter.
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
    /// let source = futures_util::stream::unfold(0, |n| async move {
    ///     sleep(Duration::from_millis(10)).await;
    ///     Some((n + 1, n + 1))
    /// });
    /// let settled = source
    ///     .debounce_with(|_| Duration::from_millis(50))
    ///     .max_wait(Duration::from_millis(200));
    /// let mut settled = std::pin::pin!(settled);
    /// settled.next().await;
    /// assert_eq!(start.elapsed(), Duration::from_millis(210));
    /// # }
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.inner.rules.set_max_wait(max_wait);
        self
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. An item
    /// whose window ends before the timer's instant pulls the timer in; otherwise it is
    /// re-set at most once a window.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let burst = futures_util::stream::iter(0..10_000).chain(futures_util::stream::pending());
    /// let mut settled = std::pin::pin!(burst.debounce_with(|_| Duration::from_millis(100)));
    /// assert_eq!(settled.next().await, Some(9_999));
    /// assert_eq!(settled.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.inner.timer_resets()
    }

    delegate_flush_cancel!(
        out: S::Item,
        build: ".debounce_with(|_| Duration::from_millis(100))",
        flushed: "Some(3)",
    );

    delegate_access_inner!(
        inner.stream: S,
        build: ".debounce_with(|_| Duration::from_millis(100))",
        get_mut: "Taking items from it directly bypasses the debounce.",
        into_inner: "A held item is dropped.",
    );
}

impl<S, F> Stream for DebounceWith<S, F>
where
    S: Stream,
    F: FnMut(&S::Item) -> Duration,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.project().inner.poll_next(cx)
    }

    /// At most one item per source item, and at most the held one once the source ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S, F> FusedStream for DebounceWith<S, F>
where
    S: Stream,
    F: FnMut(&S::Item) -> Duration,
{
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
    /// let settled = futures_util::stream::iter([1]).debounce_with(|_| Duration::from_millis(100));
    /// let mut settled = std::pin::pin!(settled);
    /// assert_eq!(settled.next().await, Some(1));
    /// assert!(settled.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<S: Stream, F> fmt::Debug for DebounceWith<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug("DebounceWith", f)
    }
}
