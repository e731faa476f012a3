//! [`DebounceBatch`]: every item of each burst, as one `Vec`, once the burst has settled.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::access::delegate_access_inner;
use super::settle::{All, Fixed, Settle, delegate_flush_cancel};

pin_project! {
    /// Stream for [`debounce_batch`](super::StreamDeadlineExt::debounce_batch): yields every
    /// item of each burst as one `Vec` once no item has arrived for a window.
    ///
    /// It follows the rules of [`Debounce`](super::Debounce), with the burst's items collected
    /// instead of replaced, and it never drops an item: each source item is in exactly one
    /// batch, in order, and no batch is empty. So it has [`leading`](Self::leading) (the first
    /// item alone, at once) and [`max_wait`](Self::max_wait), but no `trailing` switch.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{DebounceBatch, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let batches: DebounceBatch<_> = futures_util::stream::iter(["a", "b", "c"])
    ///     .debounce_batch(Duration::from_millis(100));
    /// assert_eq!(batches.collect::<Vec<_>>().await, [vec!["a", "b", "c"]]);
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it with [`std::pin::pin!`] or
    /// [`tokio::pin!`] to call `StreamExt::next`, or hold it as `Pin<Box<DebounceBatch<S>>>`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, once it needs its
    /// timer. Building it needs no runtime. No `Duration` panics.
    #[must_use = "streams do nothing unless polled"]
    pub struct DebounceBatch<S: Stream> {
        #[pin]
        inner: Settle<S, All<S::Item>, Fixed>,
    }
}

impl<S: Stream> DebounceBatch<S> {
    pub(crate) fn new(stream: S, window: Duration) -> Self {
        Self {
            inner: Settle::new(stream, window, Fixed),
        }
    }

    /// Yield the first item of a burst at once, as a batch of one (default `false`); the rest
    /// of the burst, if any, follows as one batch when it settles.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let batches = futures_util::stream::iter(1..=4)
    ///     .debounce_batch(Duration::from_millis(100))
    ///     .leading(true);
    /// assert_eq!(batches.collect::<Vec<_>>().await, [vec![1], vec![2, 3, 4]]);
    /// # }
    /// ```
    pub fn leading(mut self, on: bool) -> Self {
        self.inner.rules.set_leading(on);
        self
    }

    /// Under continuous input, yield the batch so far at least every `max_wait`, measured from
    /// the previous batch (or from the first item of the burst). A `max_wait` shorter than the
    /// window is raised to the window.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    /// use tokio::time::sleep;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// // An item every 10 ms, forever.
    /// let source = futures_util::stream::unfold(0, |n| async move {
    ///     sleep(Duration::from_millis(10)).await;
    ///     Some((n + 1, n + 1))
    /// });
    /// let batches = source
    ///     .debounce_batch(Duration::from_millis(50))
    ///     .max_wait(Duration::from_millis(100));
    /// let mut batches = std::pin::pin!(batches);
    /// assert_eq!(batches.next().await, Some((1..=11).collect())); // at 110 ms
    /// assert_eq!(batches.next().await, Some((12..=21).collect())); // at 210 ms
    /// # }
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.inner.rules.set_max_wait(max_wait);
        self
    }

    /// Yield the batch at once when it holds `n` items (`n = 0` counts as 1), as
    /// tokio-stream's `chunks_timeout` does when a chunk is full: an emission, so `max_wait`
    /// measures from it. The burst goes on: the items after a full batch gather into the next
    /// one, which goes out when it is full in turn or when the burst settles.
    ///
    /// ```text
    /// debounce_batch(100).max_items(2); a, b, c at 0, 10 and 20 ms
    ///
    /// time (ms)           0    50   100  150
    ///                     |----|----|----|
    /// source              abc
    /// batches              ^[a,b]      ^[c]
    /// ```
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let batches = futures_util::stream::iter(1..=5)
    ///     .debounce_batch(Duration::from_millis(100))
    ///     .max_items(2);
    /// assert_eq!(batches.collect::<Vec<_>>().await, [vec![1, 2], vec![3, 4], vec![5]]);
    /// # }
    /// ```
    pub fn max_items(mut self, n: usize) -> Self {
        self.inner.max_items = n.max(1);
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
    /// let mut batches = std::pin::pin!(burst.debounce_batch(Duration::from_millis(100)));
    /// assert_eq!(batches.next().await.map(|batch| batch.len()), Some(10_000));
    /// assert_eq!(batches.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.inner.timer_resets()
    }

    delegate_flush_cancel!(
        out: Vec<S::Item>,
        build: ".debounce_batch(Duration::from_millis(100))",
        flushed: "Some(vec![1, 2, 3])",
    );

    delegate_access_inner!(
        inner.stream: S,
        build: ".debounce_batch(Duration::from_millis(100))",
        get_mut: "Taking items from it directly bypasses the batching.",
        into_inner: "The items of an unsettled batch are dropped.",
    );
}

impl<S: Stream> Stream for DebounceBatch<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        self.project().inner.poll_next(cx)
    }

    /// At most one batch per source item, and at most the held one once the source ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S: Stream> FusedStream for DebounceBatch<S> {
    /// `true` once the source ended and no batch is held: the stream yields `None` from now
    /// on, and never polls the source again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let batches = futures_util::stream::iter([1, 2]).debounce_batch(Duration::from_millis(100));
    /// let mut batches = std::pin::pin!(batches);
    /// assert_eq!(batches.next().await, Some(vec![1, 2]));
    /// assert!(batches.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<S: Stream> fmt::Debug for DebounceBatch<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug("DebounceBatch", f)
    }
}
