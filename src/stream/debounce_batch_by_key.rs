//! [`DebounceBatchByKey`]: every item of each key's burst, as one `Vec`, once that key's
//! burst has settled.

use std::fmt;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::access::delegate_access_inner;
use super::keyed::{Keyed, delegate_keyed_controls};
use super::settle::All;

pin_project! {
    /// Stream for
    /// [`debounce_batch_by_key`](super::StreamDeadlineExt::debounce_batch_by_key): a
    /// [`debounce_batch`](super::StreamDeadlineExt::debounce_batch) for each key, on one
    /// timer.
    ///
    /// Each batch holds the items of one key, in the order they came, and no item is ever
    /// dropped: each source item is in exactly one batch. Options as on
    /// [`DebounceBatch`](super::DebounceBatch): [`leading`](Self::leading),
    /// [`max_wait`](Self::max_wait) and [`max_items`](Self::max_items), each per key. It
    /// works as [`DebounceByKey`](super::DebounceByKey) does (one table, one heap, one timer).
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::{DebounceBatchByKey, StreamDeadlineExt};
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let events = futures_util::stream::iter([("a", "create"), ("b", "create"), ("a", "write")]);
    /// let batches: DebounceBatchByKey<_, _, _> =
    ///     events.debounce_batch_by_key(Duration::from_millis(100), |&(path, _)| path);
    /// assert_eq!(
    ///     batches.collect::<Vec<_>>().await,
    ///     [vec![("a", "create"), ("a", "write")], vec![("b", "create")]],
    /// );
    /// # }
    /// ```
    ///
    /// It is `!Unpin`, like [`tokio::time::Sleep`]: pin it with [`std::pin::pin!`] or
    /// [`tokio::pin!`] to call `StreamExt::next`, or hold it as
    /// `Pin<Box<DebounceBatchByKey<S, K, F>>>`.
    ///
    /// # Panics
    ///
    /// Polling it outside a Tokio runtime with the time driver enabled, once it needs its
    /// timer, and whatever the key function or the key's `Hash` panics with. With 2^32 keys
    /// tracked at once. Building it needs no runtime. No `Duration` panics.
    #[must_use = "streams do nothing unless polled"]
    pub struct DebounceBatchByKey<S: Stream, K, F> {
        #[pin]
        inner: Keyed<S, K, F, All<S::Item>>,
    }
}

impl<S, K, F> DebounceBatchByKey<S, K, F>
where
    S: Stream,
    K: Hash + Eq,
    F: FnMut(&S::Item) -> K,
{
    pub(crate) fn new(stream: S, window: Duration, key_fn: F) -> Self {
        Self {
            inner: Keyed::new(stream, window, key_fn),
        }
    }

    /// Yield the first item of each key's burst at once, as a batch of one (default
    /// `false`); the rest of that key's burst follows as one batch when it settles.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let events = futures_util::stream::iter([("a", 1), ("a", 2), ("a", 3)]);
    /// let batches = events
    ///     .debounce_batch_by_key(Duration::from_millis(100), |&(path, _)| path)
    ///     .leading(true);
    /// assert_eq!(batches.collect::<Vec<_>>().await, [vec![("a", 1)], vec![("a", 2), ("a", 3)]]);
    /// # }
    /// ```
    pub fn leading(mut self, on: bool) -> Self {
        self.inner.rules.set_leading(on);
        self
    }

    /// Under continuous input to one key, yield its batch so far at least every `max_wait`,
    /// measured from the key's previous batch (or from the first item of its burst). A
    /// `max_wait` shorter than the window is raised to the window.
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
    /// let appends = futures_util::stream::unfold(0, |n| async move {
    ///     sleep(Duration::from_millis(10)).await;
    ///     Some((("log.txt", n + 1), n + 1))
    /// });
    /// let batches = appends
    ///     .debounce_batch_by_key(Duration::from_millis(50), |&(path, _)| path)
    ///     .max_wait(Duration::from_millis(100));
    /// let mut batches = std::pin::pin!(batches);
    /// assert_eq!(batches.next().await.map(|batch| batch.len()), Some(11));
    /// assert_eq!(start.elapsed(), Duration::from_millis(110));
    /// # }
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.inner.rules.set_max_wait(max_wait);
        self
    }

    /// Yield a key's batch at once when it holds `n` items (`n = 0` counts as 1), as
    /// [`DebounceBatch::max_items`](super::DebounceBatch::max_items) does for its one batch.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// // The source ends after these: the held batches go out at once, "a" first (its
    /// // window started first).
    /// let events = futures_util::stream::iter([("a", 1), ("b", 1), ("a", 2), ("a", 3)]);
    /// let batches = events
    ///     .debounce_batch_by_key(Duration::from_millis(100), |&(path, _)| path)
    ///     .max_items(2);
    /// assert_eq!(
    ///     batches.collect::<Vec<_>>().await,
    ///     [vec![("a", 1), ("a", 2)], vec![("a", 3)], vec![("b", 1)]],
    /// );
    /// # }
    /// ```
    pub fn max_items(mut self, n: usize) -> Self {
        self.inner.max_items = n.max(1);
        self
    }

    /// How many times this adapter has set its Tokio timer: created it or reset it. A
    /// diagnostic: one timer for every key, so keys settling together cost one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let burst = futures_util::stream::iter(0..1_000).chain(futures_util::stream::pending());
    /// let batches = burst.debounce_batch_by_key(Duration::from_millis(100), |&n| n % 10);
    /// let mut batches = std::pin::pin!(batches);
    /// for key in 0..10 {
    ///     assert_eq!(batches.next().await.map(|batch| batch[0]), Some(key));
    /// }
    /// assert_eq!(batches.timer_resets(), 1);
    /// # }
    /// ```
    pub fn timer_resets(&self) -> u64 {
        self.inner.timer_resets()
    }

    delegate_keyed_controls!(
        out: Vec<S::Item>,
        build: ".debounce_batch_by_key(Duration::from_millis(100), |&(key, _)| key)",
        flushed: "[vec![(\"a\", 1), (\"a\", 2)], vec![(\"b\", 1)]]",
        flushed_a: "Some(vec![(\"a\", 1), (\"a\", 2)])",
    );

    delegate_access_inner!(
        inner.stream: S,
        build: ".debounce_batch_by_key(Duration::from_millis(100), |&n| n)",
        get_mut: "Taking items from it directly bypasses the batching.",
        into_inner: "The items of every unsettled batch are dropped.",
    );
}

impl<S, K, F> Stream for DebounceBatchByKey<S, K, F>
where
    S: Stream,
    K: Hash + Eq,
    F: FnMut(&S::Item) -> K,
{
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        self.project().inner.poll_next(cx)
    }

    /// At most one batch per source item, and at most one per tracked key once the source
    /// ended.
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S, K, F> FusedStream for DebounceBatchByKey<S, K, F>
where
    S: Stream,
    K: Hash + Eq,
    F: FnMut(&S::Item) -> K,
{
    /// `true` once the source ended and every held batch was yielded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::stream::StreamDeadlineExt;
    /// use futures_core::stream::FusedStream;
    /// use futures_util::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let batches = futures_util::stream::iter([1, 1])
    ///     .debounce_batch_by_key(Duration::from_millis(100), |&n| n);
    /// let mut batches = std::pin::pin!(batches);
    /// assert_eq!(batches.next().await, Some(vec![1, 1]));
    /// assert!(batches.is_terminated());
    /// # }
    /// ```
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<S: Stream, K: Hash + Eq, F> fmt::Debug for DebounceBatchByKey<S, K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug("DebounceBatchByKey", f)
    }
}
